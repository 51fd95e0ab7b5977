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

* Actions are named "Action A", "Action B", ... (in order: the action names carry no information, so no
  permutation is needed; the whole-word parser cannot confuse "Action A" with another name).
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
(``status``, ``raw``, ``extracted``, ``fallback``, ``distribution``) and ``info["messages"]`` added. The reward
is the inner env's (minus the expected loss for experts; the realised payoff for games).

Randomness: ``reset(seed=s)`` seeds the inner env with a seed drawn from ``SeedSequence(s)``'s first child; no
other stream is needed (a distribution is played as such, not sampled here).
"""
from __future__ import annotations

import string
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from regretlab_envs._validate import check_choice, check_int
from regretlab_envs.parsing import OK_STATUSES, parse_answer
from regretlab_envs.text import _COT, COTS, FALLBACKS, MAX_REPLY, PRINTABLE, TextEnvBase

__all__ = ["BANDIT_HISTORIES", "ONLINE_ANSWERS", "ONLINE_HISTORIES", "TextOnlineWrapper", "make_text_online"]

ONLINE_HISTORIES = ("loss_vectors", "raw_window", "summary")
BANDIT_HISTORIES = ("raw", "importance_weighted", "summary")
ONLINE_ANSWERS = ("distribution", "single")


class TextOnlineWrapper(TextEnvBase):
    """Prompts as observations, free-text replies as actions, for experts and repeated games (module docstring)."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, env: gym.Env, *, history: str | None = None, answer: str = "distribution",
                 cot: str = "none", disclose_horizon: bool = True, window: int = 20, decimals: int = 2,
                 fallback: str = "uniform", render_mode: str | None = None):
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
        self.cot = check_choice(owner, "cot", cot, COTS)
        self.fallback = check_choice(owner, "fallback", fallback, FALLBACKS)
        self.disclose_horizon = bool(disclose_horizon)
        self.window = check_int(owner, "window", window, low=1)
        self.decimals = check_int(owner, "decimals", decimals, low=0)
        if self.decimals > 6:
            raise ValueError(f"{owner}: decimals must be an integer in [0, 6], got {self.decimals}")
        self.T = int(base.horizon)
        self.names = tuple(f"Action {c}" for c in string.ascii_uppercase[: self.d])
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
            parts = [f"You play a repeated game against another player. You choose among {self.d} actions: {names}.",
                     "Each round you choose a probability distribution over your actions and the other player "
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
        if self.history == "summary":
            tot = np.sum([v for v, _ in self._hist], axis=0)
            mine = sum(x for _, x in self._hist)
            lines = [f"Summary of the {t} rounds played so far:"]
            lines += [f"{n}: total {w} {self._fmt(tot[i])}, average {w} {self._fmt(tot[i] / t)}"
                      for i, n in enumerate(self.names)]
            lines.append(f"Your total {w}: {self._fmt(mine)}")
            return "\n".join(lines)
        first = 0 if self.history == "loss_vectors" else max(0, t - self.window)
        plural = "Losses" if w == "loss" else "Payoffs"
        head = f"{plural} of past rounds" if first == 0 else f"{plural} of the last {t - first} of {t} rounds"
        lines = [f"{head}:"]
        for s in range(first, t):
            v, x = self._hist[s]
            vec = ", ".join(f"{n} {self._fmt(v[i])}" for i, n in enumerate(self.names))
            lines.append(f"Round {s + 1}: {vec}; your {w} {self._fmt(x)}")
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
        line = 80 + self.d * (12 + num) + num
        rounds = min(self.T, self.window) if self.history == "raw_window" else self.T
        summary = 80 + self.d * (90 + 2 * num) + 40 + num
        return int(max(80 + rounds * line, summary) + 400 + len(_COT) + 2 * len(str(self.T)))

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        inner = None
        if seed is not None:
            inner = int(np.random.SeedSequence(seed).spawn(1)[0].generate_state(1, dtype=np.uint32)[0])
        self.env.reset(seed=inner, options=options)
        self._hist = []
        self._last_valid = None
        self._done = False
        return self.user_prompt(), {"t": 0, "names": self.names, "messages": self.messages()}

    def step(self, action: Any):
        if self._done:
            raise RuntimeError("TextOnlineWrapper.step: the episode has ended; call reset() first")
        raw = action if isinstance(action, str) else ""
        res = parse_answer(raw, self.names, self.answer, cot=self.cot != "none")
        parse = {"status": res.status, "raw": raw[:MAX_REPLY], "extracted": res.extracted, "fallback": None,
                 "distribution": None if res.distribution is None else list(res.distribution)}
        if res.status in OK_STATUSES:
            if self.answer == "distribution":
                pi = np.asarray(res.distribution, dtype=float)
            else:
                pi = np.zeros(self.d)
                pi[int(res.arm)] = 1.0
            self._last_valid = pi
        elif self.fallback == "abort_episode":
            parse["fallback"] = "abort_episode"
            self._done = True
            info = {"t": len(self._hist), "parse": parse, "aborted": True,
                    "abort_reason": f"malformed reply (status {res.status})", "messages": self.messages()}
            return self.user_prompt(), 0.0, True, False, info
        elif self.fallback == "previous" and self._last_valid is not None:
            parse["fallback"] = "previous"
            pi = self._last_valid
        else:
            parse["fallback"] = "uniform"
            pi = np.full(self.d, 1.0 / self.d)
        _, reward, terminated, truncated, info = self.env.step(pi)
        info = dict(info)
        if self.kind == "bandit":
            a = int(info["action"])
            self._hist.append((a, float(info["observed_loss"]), float(info["pi"][a]), info["iw_estimate"].copy()))
        else:
            vec = info["loss"] if self.kind == "experts" else info["payoff_vector"]
            self._hist.append((np.asarray(vec, dtype=float).copy(), float(info["pi"] @ vec)))
        self._done = terminated or truncated
        info["parse"] = parse
        info["aborted"] = False
        info["messages"] = self.messages()
        return self.user_prompt(), float(reward), terminated, truncated, info


def make_text_online(base_id: str = "regretlab/Experts-v0", base_kwargs: dict | None = None, **options) -> gym.Env:
    """``TextOnlineWrapper(gymnasium.make(base_id, **base_kwargs).unwrapped, **options)`` (the registered factory)."""
    return TextOnlineWrapper.make(base_id, base_kwargs, **options)
