"""Text view of full-information online learning and repeated games for LLM agents (spec §2.2, §2.4, §3, §4).

``TextOnlineWrapper(env, history=..., answer=..., cot=..., ...)`` turns an :class:`regretlab_envs.online.ExpertsEnv`
(losses), an :class:`regretlab_envs.online.AdversarialBanditEnv` (losses under bandit feedback) or a
:class:`regretlab_envs.games.RepeatedGameEnv` (payoffs of the row player) into a ``gymnasium.Env``
whose observation is a prompt and whose action is the agent's free-text reply, as
:class:`regretlab_envs.text.TextBanditWrapper` does for bandits. Registered as ``regretlab/TextOnline-v0``
(``gymnasium.make("regretlab/TextOnline-v0", base_id="regretlab/Experts-v0", base_kwargs={...})``;
``base_id="regretlab/RepeatedGame-v0"`` for a game).

[P25] (Park, Liu, Ozdaglar, Zhang, "Do LLM agents have regret?", ICLR 2025) asks for a distribution over the
actions each round and shows the past loss vectors; the prompts here are ours (ASCII, deterministic given the
history and the seed), the protocol is theirs:

* ``names="neutral"`` (default): actions are named "Action A", "Action B", ... (in order: the names carry no
  information, so no permutation is needed; the whole-word parser cannot confuse "Action A" with another
  name). ``names="game"`` (repeated games only): the game's own action names
  (:data:`regretlab_envs.games.ACTION_NAMES`: Cooperate/Defect, Rock/Paper/Scissors, ...), the other player's
  names listed in the rules, and, with realized feedback, the other player's action in each history line and
  its action counts in the summary. Meaningful names let a language model bring what it knows of the game,
  which is what a study of LLMs in games may want to measure or to avoid; the option keeps it explicit.
* ``history`` with full information (experts, games): ``loss_vectors`` (the spec's name; one line per past
  round with the whole revealed vector and the agent's expected loss or payoff that round), ``raw_window``
  (the last ``window`` such lines) or ``summary`` (per action: the total and the average of its revealed
  losses or payoffs, plus the agent's own total).
* ``history`` under bandit feedback: ``raw`` (one line per round: the action drawn and its loss),
  ``importance_weighted`` ([P25]'s bandit history, as [K24] describes it: the raw line plus the probability the
  action had and the importance-weighted estimates l^_t(i) = l_t(a_t) 1[i = a_t] / pi_t(a_t) of every action)
  or ``summary`` (per action: times drawn, average observed loss and the total of its estimates). The default
  is ``importance_weighted`` for bandit feedback, ``loss_vectors`` otherwise.
* ``answer``: ``distribution`` (default, [P25]: "name: probability" pairs; missing actions get 0, the rest is
  renormalised by the parser) or ``single`` (one action name, played as a point mass). ``cot``: ``none``,
  ``cot``, ``reinforced`` as for bandits.
* Numbers: losses and payoffs are in [0, 1] (the envs rescale them) and shown with ``decimals`` (2) decimals;
  totals too. The horizon is stated when ``disclose_horizon``.

Parsing and fallback (§4) follow the bandit wrapper: the reply goes through
:func:`regretlab_envs.parsing.parse_answer`; a malformed reply gets ``fallback`` = ``uniform`` (the uniform
distribution, default), ``previous`` (the last valid distribution; round 1: uniform) or ``abort_episode``
(``terminated=True``, reward 0, the inner env not stepped, ``info["aborted"] = True``). The inner env's own
``info`` (``pi``, ``regret``, ``loss`` or ``payoff_vector``, ...) is passed through, with ``info["parse"]``
(``status``, ``raw``, ``extracted``, ``fallback``, ``distribution``, ``truncated``: the characters of a long reply
the parser did not read, as in :mod:`regretlab_envs.text`) and ``info["messages"]`` added. The reward
is the inner env's (minus the expected loss for experts; the realised payoff for games).

Randomness: ``reset(seed=s)`` seeds the inner env with a seed drawn from ``SeedSequence(s)``'s first child; no
other stream is needed (a distribution is played as such, not sampled here).

Two text agents against each other ([P25]'s LLM-vs-LLM repeated games): :func:`play_text_game` seats each agent
behind its own view of the game (:class:`TextGameSeat`, the row or the column seat) and plays them with
:func:`regretlab_envs.games.play_repeated_game`, so the sampling, the feedback and the returned record are those
of numeric self-play, plus each seat's replies, parse statuses and re-prompts.
"""
from __future__ import annotations

import string
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from regretlab_envs._validate import check_choice, check_int
from regretlab_envs.parsing import OK_STATUSES, clip_reply, parse_answer
from regretlab_envs.text import _COT, MAX_REPLY, PRINTABLE, TextEnvBase

__all__ = ["BANDIT_HISTORIES", "NAMINGS", "ONLINE_ANSWERS", "ONLINE_HISTORIES", "TextGameSeat", "TextOnlineWrapper",
           "inner_seed", "make_text_online", "play_text_game"]

ONLINE_HISTORIES = ("loss_vectors", "raw_window", "summary")
BANDIT_HISTORIES = ("raw", "importance_weighted", "summary")
ONLINE_ANSWERS = ("distribution", "single")
NAMINGS = ("neutral", "game")


def inner_seed(seed: int) -> int:
    """The inner env's seed for ``reset(seed)``: a draw from ``SeedSequence(seed)``'s first child."""
    return int(np.random.SeedSequence(seed).spawn(1)[0].generate_state(1, dtype=np.uint32)[0])


class TextOnlineWrapper(TextEnvBase):
    """Prompts as observations, free-text replies as actions, for experts and repeated games (module docstring)."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, env: gym.Env, *, history: str | None = None, answer: str = "distribution",
                 cot: str = "none", disclose_horizon: bool = True, window: int = 20, decimals: int = 2,
                 fallback: str = "uniform", names: str = "neutral", render_mode: str | None = None):
        owner = "TextOnlineWrapper"
        self.env = env
        base = env.unwrapped
        from regretlab_envs.online import AdversarialBanditEnv, ExpertsEnv

        if hasattr(base, "U1"):
            self.kind, self.d = "game", int(base.n1)
        elif isinstance(base, AdversarialBanditEnv):
            self.kind, self.d = "bandit", int(base.d)
        elif isinstance(base, ExpertsEnv):
            self.kind, self.d = "experts", int(base.d)
        else:
            raise TypeError(f"{owner}: env must be a regretlab_envs ExpertsEnv, AdversarialBanditEnv or "
                            f"RepeatedGameEnv, got {type(base).__name__}")
        if self.d > 26:
            raise ValueError(f"{owner}: at most 26 actions can be named (Action A..Z), got {self.d}")
        self.render_mode = check_choice(owner, "render_mode", render_mode, (None, "ansi"))
        allowed = BANDIT_HISTORIES if self.kind == "bandit" else ONLINE_HISTORIES
        self.history = check_choice(owner, "history", allowed[1 if self.kind == "bandit" else 0]
                                    if history is None else history, allowed)
        self.answer = check_choice(owner, "answer", answer, ONLINE_ANSWERS)
        self._check_view_options(owner, cot, fallback, disclose_horizon, window, decimals)
        self.T = int(base.horizon)
        self.naming = check_choice(owner, "names", names, NAMINGS)
        if self.naming == "game" and self.kind != "game":
            raise ValueError(f"{owner}: names='game' applies to repeated games only (this env is {self.kind}); "
                             "use names='neutral'")
        if self.naming == "game":
            self.names, self.opponent_names = tuple(base.action_names), tuple(base.opponent_names)
        else:
            self.names = tuple(f"Action {c}" for c in string.ascii_uppercase[: self.d])
            self.opponent_names = ()
        self.observation_space = spaces.Text(max_length=self._max_prompt(), min_length=0, charset=PRINTABLE)
        self.action_space = spaces.Text(max_length=MAX_REPLY, min_length=0, charset=PRINTABLE)
        self._hist: list[tuple] = []
        self._last_valid: np.ndarray | None = None
        self._done = True

    # ------------------------------------------------------------------ rendering
    @property
    def _word(self) -> str:
        return "loss" if self.kind == "experts" else "payoff"

    def _fmt(self, x: float) -> str:
        return f"{x:.{self.decimals}f}"

    def system_prompt(self) -> str:
        names = ", ".join(self.names)
        if self.kind == "experts":
            parts = [f"You repeatedly choose among {self.d} actions: {names}.",
                     "Each round you choose a probability distribution over the actions. Then the loss of every "
                     "action in that round is revealed, a number between 0 and 1, and your loss is the expected "
                     "loss under your distribution. The losses may change from round to round."]
            goal = "Your goal is to make your total loss as small as possible."
        elif self.kind == "bandit":
            parts = [f"You repeatedly choose among {self.d} actions: {names}.",
                     "Each round you choose a probability distribution over the actions and one action is drawn "
                     "from it. You then see the loss of the drawn action only, a number between 0 and 1; the "
                     "losses of the other actions stay hidden. The losses may change from round to round."]
            goal = "Your goal is to make your total loss as small as possible."
        else:
            what = "the action the other player chose" if self.env.unwrapped.feedback == "realized" else \
                "the other player's mixed strategy"
            parts = [f"You play a repeated game against another player. You choose among {self.d} actions: {names}."]
            if self.opponent_names:
                parts.append(f"The other player chooses among: {', '.join(self.opponent_names)}.")
            parts += ["Each round you choose a probability distribution over your actions and the other player "
                      "chooses too. Then you see the payoff, between 0 and 1, that each of your actions would "
                      f"have earned against {what}; your payoff is the expected payoff under your distribution."]
            goal = "Your goal is to make your total payoff as large as possible."
        if self.disclose_horizon:
            parts.append(f"There are {self.T} rounds in total.")
        parts.append(goal)
        if self.answer == "distribution":
            parts.append("Answer with a probability for every action inside answer tags, as in "
                         "<Answer>NAME: P, NAME: P, ...</Answer>, with probabilities that sum to 1.")
        else:
            parts.append(f"Answer with the name of exactly one action inside answer tags, as in <Answer>NAME</Answer>, "
                         f"where NAME is one of: {names}.")
        if self.cot != "none":
            parts.append(_COT)
        return " ".join(parts)

    def _bandit_block(self) -> str:
        t = len(self._hist)
        if self.history == "summary":
            n, tot, est = np.zeros(self.d, dtype=int), np.zeros(self.d), np.zeros(self.d)
            for a, y, _, e in self._hist:
                n[a] += 1
                tot[a] += y
                est += e
            lines = [f"Summary of the {t} rounds played so far:"]
            for i, name in enumerate(self.names):
                seen = (f"drawn {n[i]} {'time' if n[i] == 1 else 'times'}, average loss {self._fmt(tot[i] / n[i])}"
                        if n[i] else "not drawn yet")
                lines.append(f"{name}: {seen}, total estimated loss {self._fmt(est[i])}")
            lines.append(f"Your total loss: {self._fmt(float(tot.sum()))}")
            return "\n".join(lines)
        lines = ["Past rounds:"]
        for s, (a, y, p, e) in enumerate(self._hist, start=1):
            line = f"Round {s}: {self.names[a]} drawn"
            if self.history == "importance_weighted":
                vec = ", ".join(f"{n} {self._fmt(e[i])}" for i, n in enumerate(self.names))
                line += f" (probability {self._fmt(p)}), loss {self._fmt(y)}; estimated losses: {vec}"
            else:
                line += f", loss {self._fmt(y)}"
            lines.append(line)
        return "\n".join(lines)

    def _history_block(self) -> str:
        t = len(self._hist)
        if t == 0:
            return "No rounds have been played yet."
        if self.kind == "bandit":
            return self._bandit_block()
        w = self._word
        show_opp = bool(self.opponent_names) and self.env.unwrapped.feedback == "realized"
        if self.history == "summary":
            tot = np.sum([v for v, _, _ in self._hist], axis=0)
            mine = sum(x for _, x, _ in self._hist)
            lines = [f"Summary of the {t} rounds played so far:"]
            lines += [f"{n}: total {w} {self._fmt(tot[i])}, average {w} {self._fmt(tot[i] / t)}"
                      for i, n in enumerate(self.names)]
            if show_opp:
                n_opp = np.bincount([j for _, _, j in self._hist], minlength=len(self.opponent_names))
                lines.append("The other player chose: " + ", ".join(
                    f"{n} {c} {'time' if c == 1 else 'times'}" for n, c in zip(self.opponent_names, n_opp)))
            lines.append(f"Your total {w}: {self._fmt(mine)}")
            return "\n".join(lines)
        first = 0 if self.history == "loss_vectors" else max(0, t - self.window)
        plural = "Losses" if w == "loss" else "Payoffs"
        head = f"{plural} of past rounds" if first == 0 else f"{plural} of the last {t - first} of {t} rounds"
        lines = [f"{head}:"]
        for s in range(first, t):
            v, x, j = self._hist[s]
            vec = ", ".join(f"{n} {self._fmt(v[i])}" for i, n in enumerate(self.names))
            opp = f"the other player chose {self.opponent_names[j]}; payoffs " if show_opp else ""
            lines.append(f"Round {s + 1}: {opp}{vec}; your {w} {self._fmt(x)}")
        return "\n".join(lines)

    def user_prompt(self) -> str:
        t = len(self._hist) + 1
        if t > self.T:
            return self._history_block() + f"\n\nAll {self.T} rounds have been played."
        when = f"round {t} of {self.T}" if self.disclose_horizon else f"round {t}"
        q = (f"Which distribution over the actions do you choose now ({when})?" if self.answer == "distribution"
             else f"Which action do you choose now ({when})?")
        tail = _COT if self.cot == "reinforced" else "Give your answer inside <Answer></Answer> tags."
        return "\n\n".join([self._history_block(), q, tail])

    def _max_prompt(self) -> int:
        num = 8 + len(str(self.T)) + self.decimals  # a total <= T with the decimals, and its sign/point
        if self.kind == "bandit":  # an estimate l / pi can be as large as 1 / min pi: any float64
            num = 309 + self.decimals + 2
        line = 80 + self.d * (12 + num) + num + (60 if self.opponent_names else 0)
        rounds = min(self.T, self.window) if self.history == "raw_window" else self.T
        summary = 80 + self.d * (90 + 2 * num) + 40 + num + 40 * (1 + len(self.opponent_names))
        return int(max(80 + rounds * line, summary) + 400 + len(_COT) + 2 * len(str(self.T)))

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.env.reset(seed=None if seed is None else inner_seed(seed), options=options)
        self._hist = []
        self._last_valid = None
        self._done = False
        return self.user_prompt(), {"t": 0, "names": self.names, "messages": self.messages()}

    def decide(self, action: Any) -> tuple[np.ndarray | None, dict]:
        """Parse a reply and apply the fallback rule: (distribution to play or None to abort, parse record)."""
        raw = action if isinstance(action, str) else ""
        res = parse_answer(raw, self.names, self.answer, cot=self.cot != "none")
        parse = {"status": res.status, "raw": clip_reply(raw, MAX_REPLY), "extracted": res.extracted, "fallback": None,
                 "distribution": None if res.distribution is None else list(res.distribution),
                 "truncated": res.truncated}
        if res.status in OK_STATUSES:
            if self.answer == "distribution":
                pi = np.asarray(res.distribution, dtype=float)
            else:
                pi = np.zeros(self.d)
                pi[int(res.arm)] = 1.0
            self._last_valid = pi
        elif self.fallback == "abort_episode":
            parse["fallback"] = "abort_episode"
            return None, parse
        elif self.fallback == "previous" and self._last_valid is not None:
            parse["fallback"] = "previous"
            pi = self._last_valid
        else:
            parse["fallback"] = "uniform"
            pi = np.full(self.d, 1.0 / self.d)
        return pi, parse

    def record(self, info: dict) -> None:
        """Append one round's outcome (the inner env's ``info``, or a seat's outcome) to the shown history."""
        if self.kind == "bandit":
            a = int(info["action"])
            self._hist.append((a, float(info["observed_loss"]), float(info["pi"][a]), info["iw_estimate"].copy()))
        else:
            vec = np.asarray(info["loss"] if self.kind == "experts" else info["payoff_vector"], dtype=float).copy()
            opp = int(info["actions"][1]) if self.kind == "game" else None
            self._hist.append((vec, float(info["pi"] @ vec), opp))

    def step(self, action: Any):
        if self._done:
            raise RuntimeError("TextOnlineWrapper.step: the episode has ended; call reset() first")
        pi, parse = self.decide(action)
        if pi is None:
            self._done = True
            info = {"t": len(self._hist), "parse": parse, "aborted": True,
                    "abort_reason": f"malformed reply (status {parse['status']})", "messages": self.messages()}
            return self.user_prompt(), 0.0, True, False, info
        _, reward, terminated, truncated, info = self.env.step(pi)
        info = dict(info)
        self.record(info)
        self._done = terminated or truncated
        info["parse"] = parse
        info["aborted"] = False
        info["messages"] = self.messages()
        return self.user_prompt(), float(reward), terminated, truncated, info


def make_text_online(base_id: str = "regretlab/Experts-v0", base_kwargs: dict | None = None, **options) -> gym.Env:
    """``TextOnlineWrapper(gymnasium.make(base_id, **base_kwargs).unwrapped, **options)`` (the registered factory)."""
    return TextOnlineWrapper.make(base_id, base_kwargs, **options)


class TextGameSeat:
    """One seat of a repeated game played through the text view, as an agent of ``play_repeated_game``.

    ``TextGameSeat(agent, game, player, horizon, ...)`` holds a :class:`TextOnlineWrapper` over the seat's
    :class:`regretlab_envs.games.RepeatedGameEnv` (``player`` 0 = row, 1 = column); that inner env is only read
    for the game's matrices and names, never stepped. Called with the numeric state it asks ``agent`` (a text
    agent: ``agent(messages) -> str``) with the re-prompting rule of :func:`regretlab_envs.runner.ask`, parses the
    reply and returns the distribution (the view's fallback rule for malformed replies; ``abort_episode`` is
    refused: a game cannot go on with one seat gone). ``update`` appends the round's payoff vector to the history
    the next prompt shows. ``record`` lists, per round, the first and final parse status, the fallback, the
    re-prompts and the final reply. The agent protocol is that of :func:`regretlab_envs.runner.run_online_episode`:
    optional ``reset(task_info)``, ``begin(view, rng)`` (``rng`` from the ``rng`` argument) and ``feedback(info)``
    with ``info`` = {"t", "pi", "payoff_vector", "actions": (own, opponent's)}.
    """

    def __init__(self, agent, game: str, player: int, horizon: int, *, feedback: str = "realized",
                 random_size: int = 3, game_seed: int = 0, max_reprompts: int = 2, rng=None, **text_options):
        from regretlab_envs.games import RepeatedGameEnv

        owner = "TextGameSeat"
        if not callable(agent):
            raise TypeError(f"{owner}: agent must be a text agent, a callable messages -> str, got {agent!r}")
        if text_options.get("fallback") == "abort_episode":
            raise ValueError(f"{owner}: fallback must be 'uniform' or 'previous' in a two-player game "
                             "(abort_episode would end the game for both seats)")
        self.max_reprompts = check_int(owner, "max_reprompts", max_reprompts, low=0)
        env = RepeatedGameEnv(game, horizon, opponent="fixed", feedback=feedback, random_size=random_size,
                              game_seed=game_seed, player=player)
        self.agent = agent
        self.view = TextOnlineWrapper(env, **text_options)
        self.view.reset()
        if hasattr(agent, "reset"):
            agent.reset({"K": self.view.d, "T": self.view.T, "names": self.view.names, "player": player,
                         "game": game})
        if hasattr(agent, "begin"):
            agent.begin(self.view, np.random.default_rng(rng))
        self.record: dict[str, list] = {k: [] for k in ("first_status", "status", "fallback", "reprompts",
                                                        "replies")}

    def __call__(self, state: dict) -> np.ndarray:
        from regretlab_envs.runner import ask

        v = self.view
        reply, first, status, tries = ask(self.agent, v.messages(), v.names, v.answer, v.cot != "none",
                                          self.max_reprompts)
        pi, parse = v.decide(reply)
        for k, x in (("first_status", first), ("status", status), ("fallback", parse["fallback"]),
                     ("reprompts", tries), ("replies", reply)):
            self.record[k].append(x)
        return pi

    def update(self, outcome: dict) -> None:
        info = {"t": outcome["t"], "pi": outcome["pi"], "payoff_vector": outcome["payoff_vector"],
                "actions": (outcome["action"], outcome["opponent_action"])}
        self.view.record(info)
        if hasattr(self.agent, "feedback"):
            self.agent.feedback(info)


def play_text_game(agents, game: str = "prisoners_dilemma", horizon: int = 50, seed: int | None = None, *,
                   feedback: str = "realized", random_size: int = 3, game_seed: int = 0, max_reprompts: int = 2,
                   **text_options) -> dict[str, Any]:
    """Two text agents (LLMs, scripted agents, or one of each) play ``game`` for ``horizon`` rounds.

    Each agent answers the prompts of its own :class:`TextGameSeat` (``text_options`` are
    :class:`TextOnlineWrapper`'s: history, answer, cot, names, fallback, ...; both seats get the same). The
    play itself is :func:`regretlab_envs.games.play_repeated_game` with ``seed``, so two numeric agents that
    answer what the seats' agents answer give the same actions; the agents' own generators (``begin``) come
    from ``SeedSequence(seed).spawn(2)``. Returns that function's record plus
    ``"seats"``: for each player, its per-round parse record and ``malformed_rate`` (share of rounds whose
    first reply did not parse) and ``fallback_rate``.
    """
    from regretlab_envs.games import play_repeated_game

    if len(agents) != 2:
        raise ValueError(f"play_text_game: agents must be two text agents (row, column), got {len(agents)}")
    rngs = np.random.SeedSequence(seed).spawn(2) if seed is not None else (None, None)
    seats = [TextGameSeat(a, game, p, horizon, feedback=feedback, random_size=random_size, game_seed=game_seed,
                          max_reprompts=max_reprompts, rng=rngs[p], **text_options) for p, a in enumerate(agents)]
    out = play_repeated_game(seats, game, horizon, seed, random_size=random_size, game_seed=game_seed,
                             feedback=feedback)
    out["seats"] = []
    for seat in seats:
        rec = dict(seat.record)
        n = max(len(rec["status"]), 1)
        rec["names"] = list(seat.view.names)
        rec["malformed_rate"] = sum(x not in OK_STATUSES for x in rec["first_status"]) / n
        rec["fallback_rate"] = sum(x is not None for x in rec["fallback"]) / n
        out["seats"].append(rec)
    return out
