"""Text view of the stochastic bandits for LLM agents (layer 2 of specs/llm-bandit-envs.md: §3 rendering, §4 parsing).

``TextBanditWrapper(env, scenario=..., framing=..., history=..., answer=..., cot=..., ...)`` turns a
:class:`regretlab_envs.bandits.BernoulliBanditEnv` or ``GaussianBanditEnv`` into a ``gymnasium.Env`` whose
observation is a prompt and whose action is the agent's free-text reply. Registered as
``regretlab/TextBandit-v0`` (``gymnasium.make("regretlab/TextBandit-v0", base_id="regretlab/K24Hard-v0",
history="raw")``; render options as keywords, ``base_kwargs`` for the bandit).

Spaces
------
* observation: ``Text(max_length=L, min_length=0, charset=PRINTABLE)``, the *user message* of the current
  round. ``L`` is an upper bound on every prompt the wrapper can render for this K and horizon (computed from
  the longest name, the number of rounds shown and the widest number), so observations never leave the space.
  The full chat for an OpenAI-style agent, ``[{"role": "system", ...}, {"role": "user", ...}]``, is
  :meth:`TextBanditWrapper.messages` and ``info["messages"]``; the system message does not change within an
  episode (it names the arms in their permuted order).
* action: ``Text(max_length=MAX_REPLY, min_length=0, charset=PRINTABLE)``. Any ``str`` is accepted by
  ``step`` (also one longer than the space or with non-printable characters: the parser folds it); a
  non-string is parsed as an empty reply. ``step`` never raises on the agent's text.

Rendering (§3; every template is ours, pure ASCII; deterministic given the history and the seed)
-----------------------------------------------------------------------------------------------
* ``scenario``: ``buttons`` (colour names, "press"), ``ads`` ("Ad A", "Ad B", ..., "show"; the reward is a
  click), ``videos`` ("Video A", ..., [N24]'s letter titles), ``clothes`` (item names, [N24]'s semantic names),
  ``arms`` ("Arm 0", ..., [C25]). Names are permuted per episode by the presentation stream and truncated to K;
  the best arm's position among the names is therefore uniformly random ([K24] does not say where it sits).
* ``framing``: ``neutral`` or ``suggestive`` (one added sentence on balancing trying options with using the
  best-looking one).
* ``history``: ``raw`` (one line per past round), ``raw_window`` (the last ``window`` rounds, [N24]
  ``history_context_len``), ``summary`` (per arm: times chosen and average reward, or "not chosen yet"),
  ``summary_guided`` ([N24] "AG": the summary plus, per arm, an exploitation value (the average) and an
  exploration bonus sqrt(alpha ln(n) / n_a), n the rounds played, alpha = ``guide_alpha`` = 0.5 as in the
  ``banditbench`` code; "inf" for an arm not chosen yet).
* ``answer``: ``single`` (one name inside ``<Answer>...</Answer>``) or ``distribution`` ("name: probability"
  pairs for every arm; the arm is then sampled from the agent-side stream). ``cot``: ``none``, ``cot`` (the
  system message asks to think step by step before the tagged answer) or ``reinforced`` (the request is
  repeated at the end of the user message, as [K24] needed for GPT-4).
* Numbers: Bernoulli rewards as integers 0/1; Gaussian rewards and all averages with ``decimals`` (2) decimals.
  The horizon is stated when ``disclose_horizon`` (default True, as [K24]).
* :meth:`config_code` gives [K24]'s configuration code (L1 scenario B/A, ours V/C/M for videos/clothes/arms;
  L2 N/S; L3 R/S, ours W/G for raw_window/summary_guided; L4 N/C/eC for none/cot/reinforced; L5 the
  temperature or D for a distribution answer), e.g. ``BSSeC0``.

Parsing and fallback (§4)
-------------------------
The reply is parsed by :func:`regretlab_envs.parsing.parse_answer` (rules in that module). A reply whose status
is not ``ok*`` is malformed; the wrapper then applies ``fallback``:

* ``uniform`` (default, [N24]'s behaviour): a uniformly random arm from the agent-side stream;
* ``previous``: the last arm played (round 1: uniform);
* ``abort_episode``: the episode ends at once (``terminated=True``, reward 0, the bandit is not stepped) with
  ``info["aborted"] = True`` and the reason; the runner keeps the replicate and marks it invalid.

Never is a "good" arm substituted. Re-prompting is the runner's job (it can call the agent again before calling
``step``). ``info["parse"]`` = {``status``, ``raw`` (the reply; a longer one than ``MAX_REPLY`` keeps its head and tail,
``parsing.clip_reply``), ``extracted``,
``fallback`` (None or the rule used), ``distribution`` (list or None), ``truncated`` (characters of a long reply
the parser did not read: it reads the last :data:`regretlab_envs.parsing.MAX_PARSED` once ``<think>`` blocks are
removed, so a reply of any length costs bounded time)}, plus the bandit's keys (``t``,
``action`` after parsing/fallback, ``means``, ``best_arm``, ``inst_regret``, ``cum_regret``, ``reward``) and
``expected_inst_regret`` = max(means) - <pi, means> for a distribution answer (= ``inst_regret`` otherwise).

Randomness: ``reset(seed=s)`` spawns three streams from ``numpy.random.SeedSequence(s)``: the bandit's rewards
(the inner env is reset with a seed drawn from the first), the presentation (name permutation) and the
agent side (sampling a distribution, fallback arms). ``reset()`` without a seed continues the streams.
"""
from __future__ import annotations

import math
import string
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from regretlab_envs._validate import check_choice, check_float, check_int
from regretlab_envs.parsing import OK_STATUSES, clip_reply, parse_answer

__all__ = ["ANSWERS", "COTS", "FALLBACKS", "FRAMINGS", "HISTORIES", "MAX_REPLY", "NAMES", "PRINTABLE", "SCENARIOS",
           "TextBanditWrapper", "TextEnvBase", "make_text_bandit"]

#: Printable ASCII with newline and tab: the charset of both Text spaces.
PRINTABLE = frozenset(string.printable) - {"\r", "\x0b", "\x0c"}
#: Longest reply kept in ``info`` (and the action space's max_length).
MAX_REPLY = 8192

_LETTERS = string.ascii_uppercase
#: Name pools per scenario (ASCII; in the colour and clothes pools no name is a substring of another).
NAMES: dict[str, tuple[str, ...]] = {
    "buttons": ("blue", "green", "red", "yellow", "purple", "orange", "pink", "brown", "black", "white", "gray",
                "cyan", "magenta", "violet", "indigo", "maroon", "olive", "teal", "navy", "beige", "coral", "gold",
                "silver", "lime", "crimson", "turquoise"),
    "ads": tuple(f"Ad {c}" for c in _LETTERS),
    "videos": tuple(f"Video {c}" for c in _LETTERS),
    "clothes": ("shirt", "jacket", "scarf", "boots", "sweater", "jeans", "hat", "gloves", "skirt", "dress", "coat",
                "socks", "belt", "vest", "hoodie", "sandals", "blazer", "necktie", "cardigan", "shorts", "sneakers",
                "poncho", "tunic", "leggings", "overalls", "kimono"),
    "arms": tuple(f"Arm {i}" for i in range(100)),
}
SCENARIOS = tuple(NAMES)
FRAMINGS = ("neutral", "suggestive")
HISTORIES = ("raw", "raw_window", "summary", "summary_guided")
ANSWERS = ("single", "distribution")
COTS = ("none", "cot", "reinforced")
FALLBACKS = ("uniform", "previous", "abort_episode")

# scenario -> (thing, things, verb past, verb present, reward sentence)
_WORDS = {
    "buttons": ("button", "buttons", "pressed", "press",
                "Each press of a button gives a reward drawn at random from a distribution that belongs to that "
                "button and does not change over time."),
    "ads": ("ad", "ads", "shown", "show",
            "Each time you show an ad to a new visitor you get a reward (for a click: 1 if the visitor clicks, "
            "0 if not), drawn at random from a distribution that belongs to that ad and does not change."),
    "videos": ("video", "videos", "recommended", "recommend",
               "Each recommendation of a video gives a reward drawn at random from a distribution that belongs "
               "to that video and does not change over time."),
    "clothes": ("item", "items", "recommended", "recommend",
                "Each recommendation of an item gives a reward drawn at random from a distribution that belongs "
                "to that item and does not change over time."),
    "arms": ("arm", "arms", "pulled", "pull",
             "Each pull of an arm gives a reward drawn at random from a distribution that belongs to that arm "
             "and does not change over time."),
}
_SETTING = {
    "buttons": "You are in a room with {K} buttons: {names}.",
    "ads": "You run an advertising campaign with {K} ads: {names}. Every round one visitor arrives and you "
           "choose which ad to show.",
    "videos": "You run a video platform with {K} videos: {names}. Every round one user arrives and you choose "
              "which video to recommend.",
    "clothes": "You run an online shop with {K} items: {names}. Every round one customer arrives and you choose "
               "which item to recommend.",
    "arms": "You face a slot machine with {K} arms: {names}.",
}
_SUGGESTIVE = ("A good strategy balances trying {things} you know little about with choosing the {thing} that "
               "has looked best so far.")
_COT = "Think step by step before you answer, then give your final answer inside the answer tags."
_FALLBACK_INFO = {"uniform": "uniform", "previous": "previous", "abort_episode": "abort_episode"}


class TextEnvBase(gym.Env):
    """What the text views share: ``self.env`` holds the inner env; subclasses define the two prompts."""

    env: gym.Env

    def system_prompt(self) -> str:
        raise NotImplementedError

    def user_prompt(self) -> str:
        raise NotImplementedError

    def _check_view_options(self, owner: str, cot, fallback, disclose_horizon, window, decimals) -> None:
        """The options every text view has: chain of thought, fallback rule, horizon disclosure, window, decimals."""
        self.cot = check_choice(owner, "cot", cot, COTS)
        self.fallback = check_choice(owner, "fallback", fallback, FALLBACKS)
        self.disclose_horizon = bool(disclose_horizon)
        self.window = check_int(owner, "window", window, low=1)
        self.decimals = check_int(owner, "decimals", decimals, low=0)
        if self.decimals > 6:
            raise ValueError(f"{owner}: decimals must be an integer in [0, 6], got {self.decimals}")

    def messages(self) -> list[dict[str, str]]:
        """The chat of the current round: system and user messages (OpenAI format)."""
        return [{"role": "system", "content": self.system_prompt()}, {"role": "user", "content": self.user_prompt()}]

    def close(self) -> None:
        self.env.close()

    def render(self) -> str:
        return self.system_prompt() + "\n\n" + self.user_prompt()

    @classmethod
    def make(cls, base_id: str, base_kwargs: dict | None = None, **options) -> gym.Env:
        """``cls(gymnasium.make(base_id, **base_kwargs).unwrapped, **options)``."""
        return cls(gym.make(base_id, disable_env_checker=True, **(base_kwargs or {})).unwrapped, **options)


class TextBanditWrapper(TextEnvBase):
    """Prompts as observations, free-text replies as actions (module docstring).

    A ``gymnasium.Env`` holding the bandit as ``self.env`` (not a ``gymnasium.Wrapper``): ``unwrapped`` is the
    text environment itself, so ``check_env(env.unwrapped)`` checks the text layer.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        env: gym.Env,
        *,
        scenario: str = "buttons",
        framing: str = "neutral",
        history: str = "summary",
        answer: str = "single",
        cot: str = "none",
        disclose_horizon: bool = True,
        window: int = 20,
        decimals: int = 2,
        guide_alpha: float = 0.5,
        fallback: str = "uniform",
        render_mode: str | None = None,
    ):
        self.env = env
        owner = "TextBanditWrapper"
        self.render_mode = check_choice(owner, "render_mode", render_mode, (None, "ansi"))
        base = env.unwrapped
        if not hasattr(base, "n_arms") or not hasattr(base, "horizon") or not hasattr(base, "means"):
            raise TypeError(f"{owner}: env must be a regretlab_envs stochastic bandit, got {type(base).__name__}")
        self.scenario = check_choice(owner, "scenario", scenario, SCENARIOS)
        self.framing = check_choice(owner, "framing", framing, FRAMINGS)
        self.history = check_choice(owner, "history", history, HISTORIES)
        self.answer = check_choice(owner, "answer", answer, ANSWERS)
        self._check_view_options(owner, cot, fallback, disclose_horizon, window, decimals)
        self.guide_alpha = check_float(owner, "guide_alpha", guide_alpha, low=0.0, low_open=True)
        self.K = int(base.n_arms)
        self.T = int(base.horizon)
        pool = NAMES[self.scenario]
        if self.K > len(pool):
            raise ValueError(f"{owner}: the {self.scenario!r} scenario has {len(pool)} names, so K must be <= "
                             f"{len(pool)}, got K = {self.K}")
        self.bernoulli = getattr(base, "family", "") == "bernoulli"
        self._pool = pool
        self.names: tuple[str, ...] = tuple(pool[: self.K])
        self.observation_space = spaces.Text(max_length=self._max_prompt(), min_length=0, charset=PRINTABLE)
        self.action_space = spaces.Text(max_length=MAX_REPLY, min_length=0, charset=PRINTABLE)
        self._streams: tuple[np.random.Generator, np.random.Generator] | None = None
        self._hist: list[tuple[int, float]] = []
        self._last_valid: int | None = None
        self._done = True

    # ------------------------------------------------------------------ rendering
    def _fmt(self, x: float) -> str:
        return f"{x:.{self.decimals}f}"

    def _fmt_reward(self, y: float) -> str:
        return str(int(y)) if self.bernoulli else self._fmt(y)

    def system_prompt(self) -> str:
        thing, things, _, verb, reward_sentence = _WORDS[self.scenario]
        parts = [_SETTING[self.scenario].format(K=self.K, names=", ".join(self.names)), reward_sentence]
        if self.disclose_horizon:
            parts.append(f"You will make {self.T} choices in total, one per round.")
        parts.append("Your goal is to maximise the total reward over all rounds.")
        if self.framing == "suggestive":
            parts.append(_SUGGESTIVE.format(thing=thing, things=things))
        parts.append(self._format_rule())
        if self.cot != "none":
            parts.append(_COT)
        return " ".join(parts)

    def _format_rule(self) -> str:
        thing = _WORDS[self.scenario][0]
        if self.answer == "single":
            return (f"Answer with the name of exactly one {thing} inside answer tags, as in <Answer>NAME</Answer>, "
                    f"where NAME is one of: {', '.join(self.names)}.")
        return (f"Answer with a probability for every {thing} inside answer tags, as in "
                "<Answer>NAME: P, NAME: P, ...</Answer>, with probabilities that sum to 1; your "
                f"{thing} is then drawn from this distribution.")

    def _history_block(self) -> str:
        _, _, done, _, _ = _WORDS[self.scenario]
        t = len(self._hist)
        if self.history in ("raw", "raw_window"):
            if t == 0:
                return "No rounds have been played yet."
            first = 0 if self.history == "raw" else max(0, t - self.window)
            head = "History of past rounds" if first == 0 else f"History of the last {t - first} of {t} rounds"
            lines = [f"{head}:"]
            lines += [f"Round {s + 1}: {self.names[a]} {done}, reward {self._fmt_reward(y)}"
                      for s, (a, y) in enumerate(self._hist[first:], start=first)]
            return "\n".join(lines)
        counts = [0] * self.K
        sums = [0.0] * self.K
        for a, y in self._hist:
            counts[a] += 1
            sums[a] += y
        lines = [f"Summary of the {t} rounds played so far:" if t else "No rounds have been played yet."]
        for a, name in enumerate(self.names):
            if counts[a] == 0:
                line = f"{name}: not {done} yet"
                if self.history == "summary_guided":
                    line += ", exploitation value not available, exploration bonus inf"
            else:
                avg = sums[a] / counts[a]
                times = "time" if counts[a] == 1 else "times"
                line = f"{name}: {done} {counts[a]} {times}, average reward {self._fmt(avg)}"
                if self.history == "summary_guided":
                    bonus = math.sqrt(self.guide_alpha * math.log(t) / counts[a])
                    line += f", exploitation value {self._fmt(avg)}, exploration bonus {self._fmt(bonus)}"
            lines.append(line)
        return "\n".join(lines)

    def user_prompt(self) -> str:
        thing, _, _, verb, _ = _WORDS[self.scenario]
        t = len(self._hist) + 1
        when = f"round {t} of {self.T}" if self.disclose_horizon else f"round {t}"
        question = (f"Which {thing} do you {verb} now ({when})?" if self.answer == "single"
                    else f"Which distribution over the {_WORDS[self.scenario][1]} do you choose now ({when})?")
        if t > self.T:
            return self._history_block() + f"\n\nAll {self.T} rounds have been played."
        parts = [self._history_block(), question]
        if self.cot == "reinforced":
            parts.append(_COT)
        else:
            parts.append("Give your answer inside <Answer></Answer> tags.")
        return "\n\n".join(parts)

    def config_code(self, temperature: float | None = None) -> str:
        """[K24]'s configuration code of this wrapper (module docstring); L5 from ``temperature``."""
        l1 = {"buttons": "B", "ads": "A", "videos": "V", "clothes": "C", "arms": "M"}[self.scenario]
        l2 = "N" if self.framing == "neutral" else "S"
        l3 = {"raw": "R", "summary": "S", "raw_window": "W", "summary_guided": "G"}[self.history]
        l4 = {"none": "N", "cot": "C", "reinforced": "eC"}[self.cot]
        if self.answer == "distribution":
            l5 = "D"
        elif temperature is None:
            l5 = ""
        else:
            l5 = f"{temperature:g}"
        return l1 + l2 + l3 + l4 + l5

    def _max_prompt(self) -> int:
        """An upper bound on the user message's length for this K, T and these options."""
        name = max(len(n) for n in self._pool[: max(self.K, 1)])
        # widest rendered number: rewards of a Gaussian can be any float64; "%.{d}f" of it has <= 309 + d + 2
        num = 3 if self.bernoulli else 309 + self.decimals + 2
        rounds = self.T if self.history == "raw" else min(self.T, self.window)
        raw = 80 + rounds * (40 + name + num + 2 * len(str(self.T)))
        summary = 80 + self.K * (120 + name + 2 * num + len(str(self.T)))
        tail = 400 + len(_COT) + 2 * len(str(self.T))
        return int(max(raw, summary) + tail)

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if seed is not None or self._streams is None:
            ss = np.random.SeedSequence(seed)
            env_ss, pres_ss, agent_ss = ss.spawn(3)
            env_seed = int(env_ss.generate_state(1, dtype=np.uint32)[0])
            self._streams = (np.random.default_rng(pres_ss), np.random.default_rng(agent_ss))
        else:
            env_seed = None
        pres, _ = self._streams
        perm = pres.permutation(self.K)
        self.names = tuple(self._pool[i] for i in perm)
        self._hist = []
        self._last_valid = None
        self._done = False
        _, info = self.env.reset(seed=env_seed, options=options)
        info = dict(info)
        info["names"] = self.names
        info["messages"] = self.messages()
        return self.user_prompt(), info

    def step(self, action: Any):
        if self._done:
            raise RuntimeError("TextBanditWrapper.step: the episode has ended; call reset() first")
        _, agent_rng = self._streams
        raw = action if isinstance(action, str) else ""
        res = parse_answer(raw, self.names, self.answer, cot=self.cot != "none")
        parse = {"status": res.status, "raw": clip_reply(raw, MAX_REPLY), "extracted": res.extracted, "fallback": None,
                 "distribution": None if res.distribution is None else list(res.distribution),
                 "truncated": res.truncated}
        means = np.asarray(self.env.unwrapped.means, dtype=float)
        pi = None
        if res.status in OK_STATUSES:
            if self.answer == "distribution":
                pi = np.asarray(res.distribution, dtype=float)
                arm = int(agent_rng.choice(self.K, p=pi))
            else:
                arm = int(res.arm)
            self._last_valid = arm
        elif self.fallback == "abort_episode":
            parse["fallback"] = "abort_episode"
            self._done = True
            info = {"t": len(self._hist), "parse": parse, "aborted": True,
                    "abort_reason": f"malformed reply (status {res.status})", "means": means.copy(),
                    "cum_regret": float(self.env.unwrapped.cum_regret), "messages": self.messages()}
            return self.user_prompt(), 0.0, True, False, info
        elif self.fallback == "previous" and self._last_valid is not None:
            parse["fallback"] = "previous"
            arm = self._last_valid
        else:
            parse["fallback"] = "uniform"
            arm = int(agent_rng.integers(self.K))
        _, reward, terminated, truncated, info = self.env.step(arm)
        self._hist.append((arm, float(reward)))
        self._done = terminated or truncated
        info = dict(info)
        info["parse"] = parse
        info["aborted"] = False
        best = float(means.max())
        info["expected_inst_regret"] = float(best - pi @ means) if pi is not None else info["inst_regret"]
        info["messages"] = self.messages()
        return self.user_prompt(), float(reward), terminated, truncated, info


def make_text_bandit(base_id: str = "regretlab/K24Hard-v0", base_kwargs: dict | None = None, **options) -> gym.Env:
    """``TextBanditWrapper(gymnasium.make(base_id, **base_kwargs).unwrapped, **options)`` (the registered factory)."""
    return TextBanditWrapper.make(base_id, base_kwargs, **options)
