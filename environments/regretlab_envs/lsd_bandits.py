"""Recharging and last-switch-dependent (LSD) bandits as Gymnasium environments (specs/lsd-recharging-bandits.md).

``RechargingBanditEnv(p, horizon, d0, idle_allowed, noise, sigma)`` and ``LSDBanditEnv(mu, horizon, s0,
idle_allowed, noise, sigma)``; registered as ``regretlab/RechargingBandit-v0`` and ``regretlab/LSDBandit-v0``,
and the two [LCCG22] instances as ``regretlab/LCCG22Section4-v0`` and ``regretlab/LCCG22Supplementary-v0``
(``make_lccg22``; see ``regretlab_envs/__init__.py``). NumPy and gymnasium only: this module imports neither
regretlab nor numba nor torch; the dynamics below are written out here in NumPy, and the tests check them
against ``regretlab.lsd``.

The models (spec §2, §3; one play per round, m = 1)
---------------------------------------------------
Every arm carries a small deterministic state that moves with the actions only, never with the reward noise;
playing arm i in state s pays a draw with mean ``payoff(i, s)`` in [0, 1].

* Recharging (delay-dependent) bandit, [KI18], [PCS22], [SZZ21]: the state of arm i is its **delay** d in
  1..tau_max, the rounds since it was last played, capped at tau_max. Playing arm i at delay d pays mean
  ``p[i, d - 1]``, so the table ``p`` has shape (k, tau_max) and tau_max is its number of columns. After a
  round the played arm goes to delay 1 and every other arm to ``min(d + 1, tau_max)``. Default start
  ``d0 = tau_max`` for every arm ("fully recharged").
* LSD bandit, [FGPZ23], [LCCG22]: the state of arm i is a **signed** integer s in {-tau_max..-1, 1..tau_max}:
  ``s = -j`` after a streak of j consecutive plays, ``s = +j`` after j idle rounds (both capped; there is no
  state 0). The table ``mu`` has shape (k, 2 tau_max), columns in the signed order -tau_max, ..., -1, 1, ...,
  tau_max: state s is column ``s + tau_max`` if ``s < 0`` else ``s + tau_max - 1``. Transitions: the played
  arm goes from ``s > 0`` to -1 and from ``s < 0`` to ``max(s - 1, -tau_max)``; an arm not played goes from
  ``s < 0`` to 1 and from ``s > 0`` to ``min(s + 1, tau_max)``. Default start ``s0 = +tau_max`` ("fully
  rested"). (The [LCCG22] code's unused signed helper sends an idle arm from -3 to -2; not copied, spec §3.)

Conventions shared by both environments
---------------------------------------
* Action space: ``Discrete(k)``, the arm to play, or ``Discrete(k + 1)`` with ``idle_allowed=True``, where
  action ``k`` (``env.unwrapped.idle_action``) plays no arm: reward 0, no draw, every arm ages as unplayed.
  Default ``idle_allowed``: True for recharging (the [PCS22] setting), False for LSD (the usual bandit
  protocol and the [LCCG22] code). Anything else raises ``TypeError`` or ``ValueError``.
* Observation: every arm's current **state label**, ``Box(lo, tau_max, (k,), int64)``: the delays
  (``lo = 1``) or the signed LSD states (``lo = -tau_max``; 0 lies inside the box but never occurs). The
  learner knows the states, not the payoff table. A ``Box`` rather than ``MultiDiscrete`` keeps the labels as
  they are (``MultiDiscrete`` would need a shifted, gap-free encoding for the signed states).
* Rewards, ``noise``: ``"bernoulli"`` (default; 1 with probability equal to the mean, else 0; as in the
  [LCCG22] code), ``"gaussian"`` (``mean + sigma * Z``, default ``sigma = 0.1``, spec §1) or ``"none"``
  (reward = mean, the planning setting). ``sigma > 0`` is checked whatever the noise and only used by
  ``"gaussian"``.
* Episodes: ``horizon`` T rounds, then ``truncated=True`` (``terminated`` is always False). Unlike
  ``regretlab_envs.bandits``, the observation does not contain t and the state chain has no terminal state,
  so the horizon is a time limit that the environment applies itself (as ``DeliveryGridworldEnv`` does with
  ``max_steps``); no ``TimeLimit`` wrapper is registered. ``step`` after round T raises ``RuntimeError``.
* Randomness: ``reset`` begins with ``super().reset(seed=seed)``; every draw comes from ``self.np_random``,
  so the same seed and the same actions give the same rewards. The states never depend on the seed.
* Common random numbers (``reward_tape=True``, as in ``regretlab_envs.bandits``): ``reset`` pre-draws a
  ``(k, T)`` **noise** tape from ``self.np_random`` (uniforms for Bernoulli, standard normals for Gaussian)
  and the n-th play of arm a (n = 0, 1, ...) pays ``1[tape[a, n] < mean]`` or ``mean + sigma * tape[a, n]``,
  whatever the other actions and whatever the arm's state, so two agents run with the same seed share their
  noise arm by arm. The means depend on the states, so the tape holds noise, not rewards. With
  ``noise="none"`` there is nothing to draw and the tape is None.

``info`` after ``reset``: ``t`` (= 0), ``states`` (the observation, a fresh int64 array), ``means`` (the mean
each arm would pay if played now, a fresh (k,) float64 array), ``best_mean`` (the best mean available now,
``max(means)``; idling earns 0, never more) and ``cum_mean_reward`` (= 0.0).
``info`` after ``step``: those keys for the new state, plus ``action`` (int, as given; ``k`` for idle),
``arm`` (the arm played, -1 for idle), ``reward`` (float, realised), ``mean_reward`` (the mean of the action
taken in the state it was taken in; 0.0 for idle), ``round_best_mean`` (``best_mean`` of the round just
played, so ``mean_reward <= round_best_mean``, with equality iff the action was greedy) and
``cum_mean_reward`` (sum of ``mean_reward`` so far: the pseudo-reward the planners of ``regretlab.lsd``
maximise; there is no regret key because the myopic gap is not regret in these models). ``t`` is the number
of rounds played, this one included.

Ground truth on ``env.unwrapped``: ``payoff`` (the table, read-only), ``tau_max``, ``n_arms``, ``idle_allowed``,
``idle_action`` (k, or None without idling), ``noise``, ``sigma``, ``horizon``, ``t``, ``states``, ``counts``,
``current_means``, ``cum_mean_reward``, ``reward_tape``.

``render_mode="ansi"``: ``render()`` returns a text table of t, each arm's state and plays, and the last
action and reward. The payoff table is deliberately left out so the text can be shown to an agent.

References: [FGPZ23] Foussoul, Goyal, Papadigenopoulos, Zeevi, "Last Switch Dependent Bandits with Monotone
Payoff Functions", ICML 2023; [LCCG22] Laforgue, Clerici, Cesa-Bianchi, Gilad-Bachrach, "A Last Switch
Dependent Analysis of Satiation and Seasonality in Bandits", AISTATS 2022 (code: GiuliaClerici/LSD_bandits);
[KI18] Kleinberg, Immorlica, "Recharging Bandits", FOCS 2018; [PCS22] Papadigenopoulos, Caramanis, Shakkottai,
"Non-Stationary Bandits under Recharging Payoffs", NeurIPS 2022; [SZZ21] Simchi-Levi, Zheng, Zhu, "Dynamic
Planning and Learning under Recovering Rewards", ICML 2021.
"""

from __future__ import annotations

import numbers
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from regretlab_envs._validate import check_bool, check_choice, check_float, check_int

__all__ = [
    "DEFAULT_LSD_MU",
    "DEFAULT_RECHARGING_P",
    "LCCG22",
    "LSDBanditEnv",
    "NOISES",
    "RechargingBanditEnv",
    "lccg22_section4_payoffs",
    "lccg22_supplementary_payoffs",
    "make_lccg22",
]

NOISES = ("bernoulli", "gaussian", "none")

#: Default table of ``regretlab/RechargingBandit-v0`` (k = 3, tau_max = 4, columns = delays 1..4): a steady
#: arm, a blocking-like arm that pays 0.9 after two idle rounds, and a concave recovering arm.
DEFAULT_RECHARGING_P = (
    (0.5, 0.5, 0.5, 0.5),
    (0.0, 0.1, 0.9, 0.9),
    (0.3, 0.55, 0.7, 0.75),
)
#: Default table of ``regretlab/LSDBandit-v0`` (k = 3, tau_max = 3, columns = states -3, -2, -1, 1, 2, 3): a
#: satiating arm, a steady arm and a deprivation arm; all monotone along the signed order (spec §3).
DEFAULT_LSD_MU = (
    (0.3, 0.5, 0.8, 0.8, 0.8, 0.8),
    (0.5, 0.5, 0.5, 0.5, 0.5, 0.5),
    (0.1, 0.1, 0.1, 0.2, 0.6, 0.95),
)


# --------------------------------------------------------------------------------------- validation helpers
def _check_table(owner: str, name: str, value: object, shape_rule: str) -> np.ndarray:
    """A read-only (k, n) float64 table of finite means in [0, 1], k >= 1 and n >= 1."""
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{owner}: {name} must be a {shape_rule} table of numbers, got {value!r}")
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{owner}: {name} must be a {shape_rule} table of numbers, got {value!r}") from exc
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{owner}: {name} must be a {shape_rule} table, got an array of shape {arr.shape}")
    bad = np.argwhere(~np.isfinite(arr) | (arr < 0.0) | (arr > 1.0))
    if bad.size:
        i, j = (int(v) for v in bad[0])
        raise ValueError(f"{owner}: {name} must lie in [0.0, 1.0], got {name}[{i}, {j}] = {arr[i, j]}")
    arr.setflags(write=False)
    return arr


def _check_labels(owner: str, name: str, value: object, k: int, low: int, high: int, rule: str) -> np.ndarray:
    """A (k,) int64 vector of state labels in [low, high] (the caller rejects 0 for LSD)."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{owner}: {name} must be a sequence of {k} integers, got {value!r}")
    # object dtype keeps each entry's own type, so bools and floats are refused below, not converted
    raw = value if isinstance(value, np.ndarray) else np.array(value, dtype=object)
    if raw.dtype == np.bool_ or not (np.issubdtype(raw.dtype, np.integer) or raw.dtype == object):
        raise TypeError(f"{owner}: {name} must be a sequence of {k} integers, got {value!r}")
    if raw.shape != (k,):
        raise ValueError(f"{owner}: {name} must have shape ({k},) (one state per arm), got shape {raw.shape}")
    for i, v in enumerate(raw.tolist()):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{owner}: {name} must be a sequence of {k} integers, got {name}[{i}] = {v!r}")
    out = raw.astype(np.int64)
    bad = np.flatnonzero((out < low) | (out > high))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{owner}: {name} must be {rule}, got {name}[{i}] = {int(out[i])}")
    return out


# --------------------------------------------------------------------------------------- environments
class _StateBanditEnv(gym.Env):
    """Shared spaces, dynamics, noise, book-keeping and rendering of the recharging and LSD environments.

    Subclasses pass the payoff table over state columns, the start columns and the two column maps
    ``next_play`` / ``next_idle`` (shape (n_cols,)), and implement ``_labels`` (columns -> state labels).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}
    kind = "state"
    state_name = "state"

    def __init__(
        self,
        payoff: np.ndarray,
        tau_max: int,
        init_cols: np.ndarray,
        next_play: np.ndarray,
        next_idle: np.ndarray,
        label_low: int,
        horizon: int,
        *,
        idle_allowed: bool,
        noise: str,
        sigma: float,
        reward_tape: bool,
        render_mode: str | None,
    ) -> None:
        owner = type(self).__name__
        self.horizon = check_int(owner, "horizon", horizon, low=1)
        self.noise = check_choice(owner, "noise", noise, NOISES)
        self.sigma = check_float(owner, "sigma", sigma, low=0.0, low_open=True)
        self.idle_allowed = check_bool(owner, "idle_allowed", idle_allowed)
        self.use_reward_tape = check_bool(owner, "reward_tape", reward_tape)
        self.render_mode = check_choice(owner, "render_mode", render_mode, (None, *self.metadata["render_modes"]))

        self._payoff = payoff
        self.tau_max = int(tau_max)
        self.n_arms = int(payoff.shape[0])
        self._init_cols = init_cols
        self._next_play = next_play
        self._next_idle = next_idle
        self.idle_action: int | None = self.n_arms if self.idle_allowed else None
        self._arange = np.arange(self.n_arms)

        self.action_space = spaces.Discrete(self.n_arms + 1 if self.idle_allowed else self.n_arms)
        self.observation_space = spaces.Box(low=label_low, high=self.tau_max, shape=(self.n_arms,), dtype=np.int64)

        self._cols: np.ndarray | None = None
        self._counts: np.ndarray | None = None
        self._tape: np.ndarray | None = None
        self._t = 0
        self._cum_mean = 0.0
        self._last: tuple[int, float] | None = None

    # ----------------------------------------------------------------- ground truth on ``unwrapped``
    @property
    def payoff(self) -> np.ndarray:
        """The mean payoff table over state columns (module docstring), read-only float64."""
        return self._payoff

    @property
    def t(self) -> int:
        """Rounds played since the last ``reset``."""
        return self._t

    @property
    def states(self) -> np.ndarray:
        """Every arm's current state label (a copy), (k,) int64; the start states before the first ``reset``."""
        return self._labels(self._init_cols if self._cols is None else self._cols)

    @property
    def current_means(self) -> np.ndarray:
        """The mean each arm would pay if played now (a copy), (k,) float64."""
        cols = self._init_cols if self._cols is None else self._cols
        return self._payoff[self._arange, cols].copy()

    @property
    def counts(self) -> np.ndarray:
        """Plays of each arm so far (a copy), (k,) int64."""
        return np.zeros(self.n_arms, np.int64) if self._counts is None else self._counts.copy()

    @property
    def cum_mean_reward(self) -> float:
        """Sum over played rounds of the mean of the action taken (the pseudo-reward)."""
        return self._cum_mean

    @property
    def reward_tape(self) -> np.ndarray | None:
        """The ``(k, T)`` noise tape of this episode (read-only), or None without one (module docstring)."""
        if self._tape is None:
            return None
        view = self._tape.view()
        view.setflags(write=False)
        return view

    # ----------------------------------------------------------------- state encoding (subclasses)
    def _labels(self, cols: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    # ----------------------------------------------------------------- gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new episode from the start states; ``seed`` reseeds ``self.np_random``. No ``options``."""
        super().reset(seed=seed)
        if options:
            raise ValueError(
                f"{type(self).__name__}.reset: options are not used by this environment, got {options!r}"
            )
        self._cols = self._init_cols.copy()
        self._counts = np.zeros(self.n_arms, dtype=np.int64)
        self._t = 0
        self._cum_mean = 0.0
        self._last = None
        self._tape = None
        if self.use_reward_tape and self.noise == "bernoulli":
            self._tape = self.np_random.random((self.n_arms, self.horizon))
        elif self.use_reward_tape and self.noise == "gaussian":
            self._tape = self.np_random.standard_normal((self.n_arms, self.horizon))
        obs = self._labels(self._cols)
        means = self._payoff[self._arange, self._cols]
        info = {
            "t": 0,
            "states": obs.copy(),
            "means": means.copy(),
            "best_mean": float(means.max()),
            "cum_mean_reward": 0.0,
        }
        return obs, info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Play arm ``action`` (or idle, action ``k``); returns ``(obs, reward, terminated, truncated, info)``."""
        owner = type(self).__name__
        if self._cols is None:
            raise RuntimeError(f"{owner}.step: call reset() before step()")
        if self._t >= self.horizon:
            raise RuntimeError(
                f"{owner}.step: the episode was truncated at t = horizon = {self.horizon}; call reset() first"
            )
        action = self._check_action(action)
        arm = -1 if action == self.idle_action else action
        cols = self._cols
        means_now = self._payoff[self._arange, cols]
        round_best = float(means_now.max())
        new_cols = self._next_idle[cols]
        if arm < 0:
            mean = reward = 0.0
        else:
            mean = float(means_now[arm])
            reward = self._draw(arm, mean)
            self._counts[arm] += 1
            new_cols[arm] = self._next_play[cols[arm]]
        self._cols = new_cols
        self._t += 1
        self._cum_mean += mean
        self._last = (arm, reward)
        obs = self._labels(new_cols)
        means = self._payoff[self._arange, new_cols]
        info = {
            "t": self._t,
            "action": action,
            "arm": arm,
            "reward": reward,
            "mean_reward": mean,
            "round_best_mean": round_best,
            "cum_mean_reward": self._cum_mean,
            "states": obs.copy(),
            "means": means.copy(),
            "best_mean": float(means.max()),
        }
        return obs, reward, False, self._t == self.horizon, info

    def render(self) -> str | None:
        """``"ansi"``: a text table of the states and plays (no payoff table); otherwise None."""
        if self.render_mode is None:
            gym.logger.warn(
                f"{type(self).__name__}.render: no render_mode was given at construction; "
                f"pass render_mode='ansi' (e.g. gymnasium.make(id, render_mode='ansi'))"
            )
            return None
        return self._render_text()

    # ----------------------------------------------------------------- helpers
    def _draw(self, arm: int, mean: float) -> float:
        """One reward of ``arm`` with the given mean, from the tape (its next entry) or ``self.np_random``."""
        if self.noise == "none":
            return mean
        if self._tape is not None:
            e = float(self._tape[arm, self._counts[arm]])
        elif self.noise == "bernoulli":
            e = float(self.np_random.random())
        else:
            e = float(self.np_random.standard_normal())
        if self.noise == "bernoulli":
            return 1.0 if e < mean else 0.0
        return mean + self.sigma * e

    def _check_action(self, action: Any) -> int:
        owner = type(self).__name__
        n = int(self.action_space.n)
        allowed = f"[0, {n})" + (f" (action {self.idle_action} = idle)" if self.idle_allowed else "")
        if isinstance(action, np.ndarray) and action.shape == () and np.issubdtype(action.dtype, np.integer):
            action = action.item()
        if isinstance(action, (bool, np.bool_)) or not isinstance(action, numbers.Integral):
            raise TypeError(
                f"{owner}.step: action must be an integer in {allowed}, got {action!r} ({type(action).__name__})"
            )
        a = int(action)
        if not 0 <= a < n:
            hint = "" if self.idle_allowed or a != self.n_arms else "; idling is not allowed (idle_allowed=False)"
            raise ValueError(f"{owner}.step: action must be an integer in {allowed}, got {a}{hint}")
        return a

    def _render_text(self) -> str:
        name = type(self).__name__
        rule = "idle allowed" if self.idle_allowed else "no idling"
        head = f"{name}: k = {self.n_arms}, tau_max = {self.tau_max}, {rule}"
        if self._cols is None:
            return f"{head}, horizon = {self.horizon}; not reset yet\n"
        labels = self._labels(self._cols)
        lines = [f"{head}, t = {self._t}/{self.horizon}", f"arm  {self.state_name:>5}  plays"]
        for a in range(self.n_arms):
            lines.append(f"{a:>3}  {int(labels[a]):>5}  {int(self._counts[a]):>5}")
        if self._last is not None:
            arm, reward = self._last
            lines.append("last: idle, reward 0.000" if arm < 0 else f"last: arm {arm}, reward {reward:.3f}")
        return "\n".join(lines) + "\n"


class RechargingBanditEnv(_StateBanditEnv):
    """Recharging (delay-dependent) bandit: arm i played at delay d pays a draw with mean ``p[i, d - 1]``.

    Parameters:
        p: (k, tau_max) table of means in [0, 1], k >= 1, tau_max >= 1; column d - 1 is delay d.
        horizon: T >= 1, the number of rounds; the episode is truncated after round T.
        d0: start delays, k integers in [1, tau_max]; None (default) starts every arm at tau_max.
        idle_allowed: True (default) adds the idle action k (reward 0).
        noise: "bernoulli" (default), "gaussian" or "none".
        sigma: standard deviation of the Gaussian noise, > 0 (default 0.1).
        reward_tape: if True, pre-draw a (k, T) noise tape at each reset (module docstring).
        render_mode: None or "ansi".

    Observation: the delays, ``Box(1, tau_max, (k,), int64)``. See the module docstring for the dynamics,
    ``info`` keys and truncation rule.
    """

    kind = "recharging"
    state_name = "delay"

    def __init__(
        self,
        p: Any,
        horizon: int,
        *,
        d0: Any = None,
        idle_allowed: bool = True,
        noise: str = "bernoulli",
        sigma: float = 0.1,
        reward_tape: bool = False,
        render_mode: str | None = None,
    ) -> None:
        owner = type(self).__name__
        p = _check_table(owner, "p", p, "(k, tau_max)")
        k, tau = (int(n) for n in p.shape)
        d0 = np.full(k, tau, np.int64) if d0 is None else d0
        d0 = _check_labels(owner, "d0", d0, k, 1, tau, f"a delay in [1, {tau}] (tau_max = {tau})")
        cols = np.arange(tau)
        next_play = np.zeros(tau, np.int64)
        next_idle = np.minimum(cols + 1, tau - 1).astype(np.int64)
        super().__init__(
            p,
            tau,
            d0 - 1,
            next_play,
            next_idle,
            1,
            horizon,
            idle_allowed=idle_allowed,
            noise=noise,
            sigma=sigma,
            reward_tape=reward_tape,
            render_mode=render_mode,
        )

    def _labels(self, cols: np.ndarray) -> np.ndarray:
        return (np.asarray(cols, dtype=np.int64) + 1).astype(np.int64)


class LSDBanditEnv(_StateBanditEnv):
    """Last-switch-dependent bandit: arm i in signed state s pays a draw with mean ``mu[i, col(s)]``.

    Parameters:
        mu: (k, 2 tau_max) table of means in [0, 1], k >= 1, tau_max >= 1; columns are the states -tau_max,
            ..., -1, 1, ..., tau_max (``col = s + tau_max`` if s < 0 else ``s + tau_max - 1``).
        horizon: T >= 1, the number of rounds; the episode is truncated after round T.
        s0: start states, k non-zero integers in [-tau_max, tau_max]; None (default) starts every arm at
            +tau_max.
        idle_allowed: False (default); True adds the idle action k (reward 0).
        noise: "bernoulli" (default), "gaussian" or "none".
        sigma: standard deviation of the Gaussian noise, > 0 (default 0.1).
        reward_tape: if True, pre-draw a (k, T) noise tape at each reset (module docstring).
        render_mode: None or "ansi".

    Observation: the signed states, ``Box(-tau_max, tau_max, (k,), int64)`` (0 never occurs). See the module
    docstring for the dynamics, ``info`` keys and truncation rule.
    """

    kind = "lsd"
    state_name = "state"

    def __init__(
        self,
        mu: Any,
        horizon: int,
        *,
        s0: Any = None,
        idle_allowed: bool = False,
        noise: str = "bernoulli",
        sigma: float = 0.1,
        reward_tape: bool = False,
        render_mode: str | None = None,
    ) -> None:
        owner = type(self).__name__
        mu = _check_table(owner, "mu", mu, "(k, 2 tau_max)")
        k, n = (int(v) for v in mu.shape)
        if n % 2:
            raise ValueError(
                f"{owner}: mu must be a (k, 2 tau_max) table (an even number of state columns), "
                f"got an array of shape {mu.shape}"
            )
        tau = n // 2
        s0 = np.full(k, tau, np.int64) if s0 is None else s0
        rule = f"a non-zero signed state in [-{tau}, {tau}] (tau_max = {tau}; there is no state 0)"
        s0 = _check_labels(owner, "s0", s0, k, -tau, tau, rule)
        zero = np.flatnonzero(s0 == 0)
        if zero.size:
            raise ValueError(f"{owner}: s0 must be {rule}, got s0[{int(zero[0])}] = 0")
        cols = np.arange(n)
        next_play = np.where(cols < tau, np.maximum(cols - 1, 0), tau - 1).astype(np.int64)
        next_idle = np.where(cols < tau, tau, np.minimum(cols + 1, n - 1)).astype(np.int64)
        init = np.where(s0 < 0, s0 + tau, s0 + tau - 1).astype(np.int64)
        super().__init__(
            mu,
            tau,
            init,
            next_play,
            next_idle,
            -tau,
            horizon,
            idle_allowed=idle_allowed,
            noise=noise,
            sigma=sigma,
            reward_tape=reward_tape,
            render_mode=render_mode,
        )

    def _labels(self, cols: np.ndarray) -> np.ndarray:
        cols = np.asarray(cols, dtype=np.int64)
        tau = self.tau_max
        return np.where(cols < tau, cols - tau, cols - tau + 1).astype(np.int64)


# --------------------------------------------------------------------------------------- [LCCG22] presets
def lccg22_section4_payoffs() -> np.ndarray:
    """The [LCCG22] "Section 4" table (spec §10), (5, 10), columns = delays 1..10: arms 0, 3, 4 pay 0.15 at
    every delay; arm 1 pays 0.95 at delay exactly 3, else 0; arm 2 pays 0.96 at delays >= 9, 0.16 at delay 6,
    else 0.14. A fresh array."""
    p = np.full((5, 10), 0.15)
    p[1] = 0.0
    p[1, 2] = 0.95
    p[2] = 0.14
    p[2, 5] = 0.16
    p[2, 8:] = 0.96
    return p


def lccg22_supplementary_payoffs() -> np.ndarray:
    """The [LCCG22] supplementary table (spec §10), (2, 11), columns = delays 1..11: arm 0 pays 0.05 at every
    delay; arm 1 pays 0.06 at delay 1 and 0.95 at delays >= 2. A fresh array."""
    p = np.full((2, 11), 0.05)
    p[1] = 0.95
    p[1, 0] = 0.06
    return p


#: name -> (payoff-table function, default horizon). Horizons are the [LCCG22] code's defaults (its comments
#: say the paper used 5112 and 5060; spec §11).
LCCG22: dict[str, tuple[Any, int]] = {
    "section4": (lccg22_section4_payoffs, 3600),
    "supplementary": (lccg22_supplementary_payoffs, 3300),
}


def make_lccg22(name: str, **env_kwargs: Any) -> RechargingBanditEnv:
    """The ``RechargingBanditEnv`` of the [LCCG22] instance ``name`` ("section4" or "supplementary").

    Defaults as in their code (spec §10, §11): every arm starts at delay 1, no idling, Bernoulli rewards, the
    horizon of ``LCCG22[name]``. ``env_kwargs`` (``horizon``, ``d0``, ``idle_allowed``, ``noise``, ``sigma``,
    ``reward_tape``, ``render_mode``) override them; passing ``p`` is rejected, since that would no longer be
    the preset (use ``regretlab/RechargingBandit-v0``).
    """
    name = check_choice("make_lccg22", "name", name, tuple(LCCG22))
    if "p" in env_kwargs:
        raise ValueError(
            f"make_lccg22: p is fixed by preset {name!r}, got p={env_kwargs['p']!r}; "
            f"use regretlab/RechargingBandit-v0 for custom tables"
        )
    table, horizon = LCCG22[name]
    p = table()
    kwargs: dict[str, Any] = {
        "horizon": horizon,
        "d0": np.ones(p.shape[0], np.int64),
        "idle_allowed": False,
        "noise": "bernoulli",
        **env_kwargs,
    }
    return RechargingBanditEnv(p, **kwargs)
