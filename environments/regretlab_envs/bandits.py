"""Stochastic K-armed bandits as Gymnasium environments (numeric layer 1 of specs/llm-bandit-envs.md §1).

``BernoulliBanditEnv(means, horizon)`` and ``GaussianBanditEnv(means, sigma, horizon)``; registered as
``regretlab/BernoulliBandit-v0`` and ``regretlab/GaussianBandit-v0`` (see ``regretlab_envs/__init__.py``).

Conventions shared by both environments
---------------------------------------
* Action space ``Discrete(K)``: the index of the arm to pull. Anything else raises ``TypeError`` or
  ``ValueError`` (the text wrapper, not this layer, turns malformed answers into a fallback arm).
* Observation: the sufficient statistics of the history, a ``Dict`` space with keys

  - ``"counts"``: ``Box(0, T, (K,), int64)``, pulls of each arm so far, N_a(t);
  - ``"reward_sums"``: ``Box(lo, hi, (K,), float64)``, summed rewards of each arm so far;
    Bernoulli: ``lo, hi = 0, T``. Gaussian rewards are unbounded, so the Gaussian bounds are
    ``-/+ numpy.finfo(float64).max`` (the largest finite float64): finite, so ``check_env`` stays
    warning-free, and wide enough to hold every representable sum, so no observation ever leaves the
    space and no reward is clipped;
  - ``"t"``: ``Discrete(T + 1)``, rounds played so far (0 after ``reset``, T at the end).

* Episodes end at ``t == horizon`` with ``terminated=True`` and ``truncated=False``: the horizon is part
  of the task (it is disclosed to the agent, as in [K24]), not an external time limit, so no ``TimeLimit``
  wrapper is registered. ``step`` after the last round raises ``RuntimeError``; call ``reset``.
* Randomness: ``reset`` begins with ``super().reset(seed=seed)``; every reward is drawn from
  ``self.np_random``. Same seed and same actions give the same rewards.
* Common random numbers (``reward_tape=True``, spec §1): ``reset`` pre-draws a tape of shape ``(K, T)``
  from ``self.np_random`` and the n-th pull of arm a (n = 0, 1, ...) returns ``tape[a, n]`` whatever the
  other actions were, so two agents run with the same seed see the same reward on their n-th pull of
  each arm (paired comparisons). Rewards have the same distribution with or without a tape; the streams
  differ, so a taped and an untaped run with the same seed see different rewards.
* Ground truth, in every ``info`` and on ``env.unwrapped``: ``means`` (float64 array; a fresh copy in each
  ``info``, as Gymnasium requires returned data not to be shared; read-only on ``unwrapped``),
  ``best_arm`` (int, the smallest index of a best arm), ``best_arms`` (tuple of every arm whose mean equals
  max(means) exactly; "the best arm was chosen" means any of them, spec §6), ``cum_regret``
  (pseudo-regret, spec §6.1: sum over rounds of max(means) - means[a_t]).

``info`` after ``reset``: ``t`` (= 0), ``means``, ``best_arm``, ``best_arms``, ``cum_regret`` (= 0.0).
``info`` after ``step``: those keys plus ``action`` (int), ``reward`` (float), ``inst_regret``
(float, max(means) - means[action]); ``t`` is then the number of rounds played including this one.

``render_mode="ansi"``: ``render()`` returns a text table of the history statistics (t, pulls, reward
sums, empirical means, last action and reward). The true means are deliberately left out so the text
can be shown to an agent; they are on ``env.unwrapped``.

References: [K24] Krishnamurthy et al., "Can large language models explore in-context?", NeurIPS 2024;
[N24] Nie et al., "EVOLvE: Evaluating and Optimizing LLMs For In-Context Exploration", ICML 2025.
"""

from __future__ import annotations

import numbers
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from regretlab_envs._validate import check_bool, check_choice, check_float, check_int, check_vector

__all__ = ["BernoulliBanditEnv", "GaussianBanditEnv"]

_FLOAT_MAX = float(np.finfo(np.float64).max)


class _StochasticBanditEnv(gym.Env):
    """Shared state, spaces, regret book-keeping and rendering of the stochastic K-armed bandits.

    Subclasses set ``family``, the reward-sum bounds, and implement ``_draw`` (one reward) and
    ``_draw_tape`` (a ``(K, T)`` reward tape), both from ``self.np_random``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}
    family = "stochastic"

    def __init__(
        self,
        means: np.ndarray,
        horizon: int,
        *,
        reward_bounds: tuple[float, float],
        reward_tape: bool = False,
        render_mode: str | None = None,
    ) -> None:
        owner = type(self).__name__
        self.horizon = check_int(owner, "horizon", horizon, low=1)
        self.use_reward_tape = check_bool(owner, "reward_tape", reward_tape)
        self.render_mode = check_choice(owner, "render_mode", render_mode, (None, *self.metadata["render_modes"]))

        self._means = means
        self.n_arms = int(means.shape[0])
        self._best_mean = float(means.max())
        self._gaps = self._best_mean - means
        self._gaps.setflags(write=False)
        self.best_arms = tuple(int(i) for i in np.flatnonzero(means == self._best_mean))
        self.best_arm = self.best_arms[0]

        k, t_max = self.n_arms, self.horizon
        lo, hi = reward_bounds
        self.action_space = spaces.Discrete(k)
        self.observation_space = spaces.Dict(
            {
                "counts": spaces.Box(low=0, high=t_max, shape=(k,), dtype=np.int64),
                "reward_sums": spaces.Box(low=lo, high=hi, shape=(k,), dtype=np.float64),
                "t": spaces.Discrete(t_max + 1),
            }
        )

        self._counts: np.ndarray | None = None
        self._sums: np.ndarray | None = None
        self._tape: np.ndarray | None = None
        self._t = 0
        self._cum_regret = 0.0
        self._last: tuple[int, float] | None = None

    # ----------------------------------------------------------------- ground truth on ``unwrapped``
    @property
    def means(self) -> np.ndarray:
        """True mean reward of each arm, shape (K,), read-only float64."""
        return self._means

    @property
    def gaps(self) -> np.ndarray:
        """max(means) - means, shape (K,), read-only float64."""
        return self._gaps

    @property
    def cum_regret(self) -> float:
        """Pseudo-regret so far: sum over played rounds of max(means) - means[a_t]."""
        return self._cum_regret

    @property
    def t(self) -> int:
        """Rounds played since the last ``reset``."""
        return self._t

    @property
    def counts(self) -> np.ndarray:
        """Pulls of each arm so far (a copy), shape (K,) int64."""
        return np.zeros(self.n_arms, np.int64) if self._counts is None else self._counts.copy()

    @property
    def reward_sums(self) -> np.ndarray:
        """Summed rewards of each arm so far (a copy), shape (K,) float64."""
        return np.zeros(self.n_arms) if self._sums is None else self._sums.copy()

    @property
    def reward_tape(self) -> np.ndarray | None:
        """The ``(K, T)`` common-random-numbers tape of this episode (read-only), or None without one."""
        if self._tape is None:
            return None
        view = self._tape.view()
        view.setflags(write=False)
        return view

    # ----------------------------------------------------------------- randomness (subclasses)
    def _draw(self, arm: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def _draw_tape(self) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    # ----------------------------------------------------------------- gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start a new episode; ``seed`` reseeds ``self.np_random``. No ``options`` are accepted."""
        super().reset(seed=seed)
        if options:
            raise ValueError(
                f"{type(self).__name__}.reset: options are not used by this environment, got {options!r}"
            )
        self._counts = np.zeros(self.n_arms, dtype=np.int64)
        self._sums = np.zeros(self.n_arms, dtype=np.float64)
        self._t = 0
        self._cum_regret = 0.0
        self._last = None
        self._tape = self._draw_tape() if self.use_reward_tape else None
        info = {
            "t": 0,
            "means": self._means.copy(),
            "best_arm": self.best_arm,
            "best_arms": self.best_arms,
            "cum_regret": 0.0,
        }
        return self._obs(), info

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        """Pull arm ``action``; returns ``(obs, reward, terminated, truncated, info)``."""
        owner = type(self).__name__
        if self._counts is None:
            raise RuntimeError(f"{owner}.step: call reset() before step()")
        if self._t >= self.horizon:
            raise RuntimeError(
                f"{owner}.step: the episode ended at t = horizon = {self.horizon}; call reset() first"
            )
        arm = self._check_action(action)
        if self._tape is not None:
            reward = float(self._tape[arm, self._counts[arm]])
        else:
            reward = self._draw(arm)
        self._counts[arm] += 1
        self._sums[arm] += reward
        self._t += 1
        inst_regret = float(self._gaps[arm])
        self._cum_regret += inst_regret
        self._last = (arm, reward)
        terminated = self._t == self.horizon
        info = {
            "t": self._t,
            "action": arm,
            "means": self._means.copy(),
            "best_arm": self.best_arm,
            "best_arms": self.best_arms,
            "inst_regret": inst_regret,
            "cum_regret": self._cum_regret,
            "reward": reward,
        }
        return self._obs(), reward, terminated, False, info

    def render(self) -> str | None:
        """``"ansi"``: a text table of the history statistics (no ground truth); otherwise None."""
        if self.render_mode is None:
            gym.logger.warn(
                f"{type(self).__name__}.render: no render_mode was given at construction; "
                f"pass render_mode='ansi' (e.g. gymnasium.make(id, render_mode='ansi'))"
            )
            return None
        return self._render_text()

    # ----------------------------------------------------------------- helpers
    def _check_action(self, action: Any) -> int:
        owner = type(self).__name__
        if isinstance(action, np.ndarray) and action.shape == () and np.issubdtype(action.dtype, np.integer):
            action = action.item()
        if isinstance(action, (bool, np.bool_)) or not isinstance(action, numbers.Integral):
            raise TypeError(
                f"{owner}.step: action must be an integer arm index in [0, {self.n_arms}), "
                f"got {action!r} ({type(action).__name__})"
            )
        arm = int(action)
        if not 0 <= arm < self.n_arms:
            raise ValueError(f"{owner}.step: action must be an arm index in [0, {self.n_arms}), got {arm}")
        return arm

    def _obs(self) -> dict[str, Any]:
        return {
            "counts": self._counts.copy(),
            "reward_sums": self._sums.copy(),
            "t": np.int64(self._t),
        }

    def _render_text(self) -> str:
        name = type(self).__name__
        if self._counts is None:
            return f"{name}: K = {self.n_arms}, horizon = {self.horizon}; not reset yet\n"
        lines = [f"{name}: t = {self._t}/{self.horizon}, K = {self.n_arms}", "arm  pulls  reward_sum  mean"]
        for a in range(self.n_arms):
            n = int(self._counts[a])
            mean = f"{self._sums[a] / n:.3f}" if n else "-"
            lines.append(f"{a:>3}  {n:>5}  {self._sums[a]:>10.3f}  {mean}")
        if self._last is not None:
            lines.append(f"last: arm {self._last[0]}, reward {self._last[1]:.3f}")
        return "\n".join(lines) + "\n"


class BernoulliBanditEnv(_StochasticBanditEnv):
    """K-armed Bernoulli bandit: pulling arm a pays 1 with probability ``means[a]``, else 0.

    Parameters:
        means: (K,) success probabilities, each in [0, 1], K >= 2.
        horizon: T >= 1, the number of rounds; the episode terminates after round T.
        reward_tape: if True, pre-draw a (K, T) common-random-numbers tape at each reset (module docstring).
        render_mode: None or "ansi".

    Observation bounds: counts in [0, T], reward sums in [0, T]. See the module docstring for the
    observation, ``info`` keys and termination rule ([K24], [N24] Bernoulli instances: see ``presets``).
    """

    family = "bernoulli"

    def __init__(
        self,
        means: Any,
        horizon: int,
        *,
        reward_tape: bool = False,
        render_mode: str | None = None,
    ) -> None:
        owner = type(self).__name__
        means = check_vector(owner, "means", means, min_len=2, low=0.0, high=1.0)
        horizon = check_int(owner, "horizon", horizon, low=1)
        super().__init__(
            means,
            horizon,
            reward_bounds=(0.0, float(horizon)),
            reward_tape=reward_tape,
            render_mode=render_mode,
        )

    def _draw(self, arm: int) -> float:
        return 1.0 if self.np_random.random() < self._means[arm] else 0.0

    def _draw_tape(self) -> np.ndarray:
        u = self.np_random.random((self.n_arms, self.horizon))
        return (u < self._means[:, None]).astype(np.float64)


class GaussianBanditEnv(_StochasticBanditEnv):
    """K-armed Gaussian bandit: pulling arm a pays a draw from N(means[a], sigma**2).

    Parameters:
        means: (K,) finite real means, K >= 2.
        sigma: the reward standard deviation, shared by all arms, finite and > 0. ([N24]'s code calls this
            parameter a "variance" but uses it as the standard deviation; so do we.)
        horizon: T >= 1, the number of rounds; the episode terminates after round T.
        reward_tape: if True, pre-draw a (K, T) common-random-numbers tape at each reset (module docstring).
        render_mode: None or "ansi".

    Observation bounds: counts in [0, T]; reward sums in [-finfo(float64).max, +finfo(float64).max]
    because Gaussian rewards are unbounded (finite bounds keep ``check_env`` warning-free; no reward is
    ever clipped). See the module docstring for the observation, ``info`` keys and termination rule.
    """

    family = "gaussian"

    def __init__(
        self,
        means: Any,
        sigma: float,
        horizon: int,
        *,
        reward_tape: bool = False,
        render_mode: str | None = None,
    ) -> None:
        owner = type(self).__name__
        means = check_vector(owner, "means", means, min_len=2)
        self.sigma = check_float(owner, "sigma", sigma, low=0.0, low_open=True)
        super().__init__(
            means,
            horizon,
            reward_bounds=(-_FLOAT_MAX, _FLOAT_MAX),
            reward_tape=reward_tape,
            render_mode=render_mode,
        )

    def _draw(self, arm: int) -> float:
        return float(self._means[arm] + self.sigma * self.np_random.standard_normal())

    def _draw_tape(self) -> np.ndarray:
        z = self.np_random.standard_normal((self.n_arms, self.horizon))
        return self._means[:, None] + self.sigma * z
