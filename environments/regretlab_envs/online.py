"""Loss sequences for full-information online learning ("experts", specs/llm-bandit-envs.md §2.2, after [P25]).

Each generator returns a :class:`LossSequence`: losses (T, d) in the stated range [low, high] and that range,
so that a learner can rescale to [0, 1] by (l - low) / (high - low). Which generators and ranges Park et al.
used is UNCONFIRMED (spec); the library is kept broad:

- ``iid_uniform``: l_t(i) ~ U[low, high] independently (defaults low = 0, high = 10).
- ``iid_gaussian``: per-action means m_i ~ U[low, high] drawn once, l_t(i) = m_i + std (high - low) z, then
  clipped to [low, high] (the clipping is part of the generator's definition, as in the spec).
- ``linear_trend``: l_t(i) = a_i + b_i t / T + noise (high - low) z with a_i ~ U[low, high],
  b_i ~ U[-(high - low), high - low], clipped to [low, high].
- ``sine_trend``: l_t(i) = mid + (high - low)/2 sin(2 pi t / p_i + phase_i) + noise (high - low) z, periods
  p_i ~ U[T/4, T], phases ~ U[0, 2 pi), clipped.
- ``alternating``: d = 2, losses (1/2, 0), (0, 1), (1, 0), (0, 1), ... (the half-step start makes follow-
  the-leader switch to the wrong action every round: linear regret; Hedge is not fooled). Range [0, 1].

Adaptive adversaries depend on the learner and are applied by the runner, not pre-generated.

References: [P25] Park, Liu, Ozdaglar, Zhang, "Do LLM Agents Have Regret? A Case Study in Online Learning and
Games", ICLR 2025, arXiv 2403.16843. The alternating sequence is the classic follow-the-leader counterexample
(Cesa-Bianchi and Lugosi, "Prediction, Learning, and Games", 2006, Sec. 3.2; Shalev-Shwartz 2012, Ex. 2.2).

NumPy and gymnasium only: this module imports neither regretlab nor numba.

:class:`ExpertsEnv` is the Gymnasium environment of the setting (``regretlab/Experts-v0``);
:class:`AdversarialBanditEnv` (``regretlab/AdversarialBandit-v0``) is the same loss sequences under bandit
feedback (spec §2.3).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from ._validate import as_distribution, check_choice, check_float, check_int

__all__ = ["ADVERSARIES", "GENERATORS", "AdversarialBanditEnv", "ExpertsEnv", "LossSequence", "loss_sequence"]

GENERATORS = ("iid_uniform", "iid_gaussian", "linear_trend", "sine_trend", "alternating")
_OWNER = "loss_sequence"


@dataclass(frozen=True)
class LossSequence:
    """losses (T, d) float64 in [low, high]; name of the generator."""

    losses: np.ndarray
    low: float
    high: float
    name: str

    def rescaled(self) -> np.ndarray:
        """(losses - low) / (high - low), in [0, 1]."""
        return (self.losses - self.low) / (self.high - self.low)


def loss_sequence(name: str, d: int, T: int, rng=None, *, low: float = 0.0, high: float = 10.0, std: float = 0.1,
                  noise: float = 0.05) -> LossSequence:
    """The loss sequence ``name`` (module docstring) for d actions and T rounds.

    Parameters: name in ``GENERATORS``; d >= 2 actions (exactly 2 for ``alternating``); T >= 1; rng a
        ``numpy.random.Generator`` or seed; low < high the loss range (``alternating`` is always [0, 1]);
        std >= 0 (``iid_gaussian``) and noise >= 0 (trends), as fractions of high - low.
    """
    name = check_choice(_OWNER, "name", name, GENERATORS)
    d = check_int(_OWNER, "d", d, low=2)
    T = check_int(_OWNER, "T", T, low=1)
    low = check_float(_OWNER, "low", low)
    high = check_float(_OWNER, "high", high)
    if not high > low:
        raise ValueError(f"{_OWNER}: high must be > low = {low}, got {high}")
    std = check_float(_OWNER, "std", std, low=0.0)
    noise = check_float(_OWNER, "noise", noise, low=0.0)
    gen = np.random.default_rng(rng)
    width = high - low
    t = np.arange(1, T + 1)[:, None]
    if name == "alternating":
        if d != 2:
            raise ValueError(f"{_OWNER}: d must be 2 for the alternating sequence, got {d}")
        out = np.where((t % 2 == 0), [[0.0, 1.0]], [[1.0, 0.0]]).astype(float)
        out[0] = (0.5, 0.0)
        return LossSequence(out, 0.0, 1.0, name)
    if name == "iid_uniform":
        out = gen.uniform(low, high, size=(T, d))
    elif name == "iid_gaussian":
        m = gen.uniform(low, high, size=d)
        out = m[None, :] + std * width * gen.standard_normal((T, d))
    elif name == "linear_trend":
        a = gen.uniform(low, high, size=d)
        b = gen.uniform(-width, width, size=d)
        out = a[None, :] + b[None, :] * t / T + noise * width * gen.standard_normal((T, d))
    else:  # sine_trend
        period = gen.uniform(T / 4.0, T, size=d) if T >= 4 else np.full(d, float(T))
        phase = gen.uniform(0.0, 2 * np.pi, size=d)
        out = ((low + high) / 2 + width / 2 * np.sin(2 * np.pi * t / period[None, :] + phase[None, :])
               + noise * width * gen.standard_normal((T, d)))
    return LossSequence(np.clip(out, low, high), low, high, name)


ADVERSARIES = ("adaptive_adversary",)


class ExpertsEnv(gym.Env):
    """Full-information online learning with d actions ("experts", spec §2.2), registered as ``regretlab/Experts-v0``.

    Each round the agent plays a distribution pi_t over the d actions; then the whole rescaled loss vector
    l_t in [0, 1]^d is revealed and the reward is -<l_t, pi_t> (expected loss, no sampling).

    * ``generator``: one of ``GENERATORS`` (the sequence is drawn at ``reset`` from ``self.np_random`` with the
      generator keywords ``gen_kwargs``, then rescaled by its range) or ``adaptive_adversary``: l_t(i) = 1 on the
      action with the largest probability in pi_t (the lowest index among ties), 0 elsewhere, so it depends on
      the learner (one of the "regrettable" sequences of the spec; its exact form in [P25] is UNCONFIRMED).
    * action: ``Box(0, 1, (d,), float64)``, renormalised to sum 1. A vector with a negative or non-finite entry
      or with sum 0 is not a distribution: the uniform distribution is played instead and ``info["fallback"]``
      is True (never an error, never a better action).
    * observation: ``Dict(cum_losses = Box(0, T, (d,)), last_loss = Box(0, 1, (d,)), t = Discrete(T + 1))``.
    * ``info``: ``t``, ``pi`` (played), ``loss`` (l_t), ``agent_loss``, ``regret`` (external regret so far:
      sum_s <l_s, pi_s> - min_i sum_s l_s(i)), ``dynamic_regret`` (sum_s (<l_s, pi_s> - min_i l_s(i))),
      ``fallback``. Episodes end at t = T with ``terminated=True``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": [], "render_fps": 4}

    def __init__(self, generator: str = "iid_uniform", d: int = 3, horizon: int = 50, gen_kwargs: dict | None = None,
                 render_mode: str | None = None):
        owner = "ExpertsEnv"
        self.generator = check_choice(owner, "generator", generator, GENERATORS + ADVERSARIES)
        self.d = check_int(owner, "d", d, low=2)
        self.horizon = check_int(owner, "horizon", horizon, low=1)
        self.gen_kwargs = dict(gen_kwargs or {})
        if render_mode is not None:
            raise ValueError(f"{owner}: render_mode must be None (no rendering), got {render_mode!r}")
        self.render_mode = None
        if self.generator != "adaptive_adversary":  # fail at construction, not at reset
            loss_sequence(self.generator, self.d, 1, 0, **self.gen_kwargs)
        self.action_space = spaces.Box(0.0, 1.0, (self.d,), np.float64)
        self.observation_space = spaces.Dict({
            "cum_losses": spaces.Box(0.0, float(self.horizon), (self.d,), np.float64),
            "last_loss": spaces.Box(0.0, 1.0, (self.d,), np.float64),
            "t": spaces.Discrete(self.horizon + 1),
        })
        self._losses = None

    def _obs(self):
        return {"cum_losses": self._cum.copy(), "last_loss": self._last.copy(), "t": np.int64(self._t)}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if self.generator == "adaptive_adversary":
            self._losses = None
        else:
            seq = loss_sequence(self.generator, self.d, self.horizon, self.np_random, **self.gen_kwargs)
            self._losses = np.clip(seq.rescaled(), 0.0, 1.0)
        self._t = 0
        self._cum = np.zeros(self.d)
        self._last = np.zeros(self.d)
        self._agent_cum = 0.0
        self._dyn = 0.0
        return self._obs(), {"t": 0}

    def _round(self, action) -> tuple[np.ndarray, bool, np.ndarray, float]:
        """(pi, fallback, l_t, <l_t, pi>) of the current round, and the bookkeeping of both envs."""
        if self._losses is None and self.generator != "adaptive_adversary" or self._t >= self.horizon:
            raise RuntimeError(f"{type(self).__name__}.step: call reset() first (the episode ended or never began)")
        pi, fallback = as_distribution(action, self.d)
        if self._losses is None:
            loss = np.zeros(self.d)
            loss[int(np.argmax(pi))] = 1.0
        else:
            loss = self._losses[self._t]
        agent_loss = float(pi @ loss)
        self._t += 1
        self._cum = self._cum + loss
        self._last = loss.copy()
        self._agent_cum += agent_loss
        self._dyn += agent_loss - float(loss.min())
        return pi, fallback, loss, agent_loss

    def step(self, action):
        pi, fallback, loss, agent_loss = self._round(action)
        info = {"t": self._t, "pi": pi, "loss": loss.copy(), "agent_loss": agent_loss,
                "regret": self._agent_cum - float(self._cum.min()), "dynamic_regret": self._dyn,
                "fallback": bool(fallback)}
        return self._obs(), -agent_loss, self._t == self.horizon, False, info


class AdversarialBanditEnv(ExpertsEnv):
    """The loss sequences of :class:`ExpertsEnv` under bandit feedback (spec §2.3), ``regretlab/AdversarialBandit-v0``.

    Each round the agent plays a distribution pi_t over the d actions; the env draws a_t ~ pi_t from its
    ``np_random`` and reveals only l_t(a_t). Reward: -l_t(a_t) (the realised loss).

    * action: as :class:`ExpertsEnv` (``Box(0, 1, (d,))``, renormalised; not a distribution -> uniform,
      ``info["fallback"]``).
    * observation: ``Dict(last_action = Discrete(d + 1), last_loss = Box(0, 1, (1,)), t = Discrete(T + 1))``;
      ``last_action`` is d before the first round.
    * ``info``: ``t``, ``pi``, ``action`` (a_t), ``observed_loss`` (l_t(a_t)), ``iw_estimate`` (the
      importance-weighted estimate l^_t(i) = l_t(i) 1[a_t = i] / pi_t(i), unbiased for l_t given the past;
      the history [P25] shows to a bandit-feedback agent), ``agent_loss`` (<l_t, pi_t>, the expected loss),
      ``regret`` (expected-play external regret sum_s <l_s, pi_s> - min_i sum_s l_s(i)),
      ``realized_regret`` (sum_s l_s(a_s) - min_i sum_s l_s(i)), ``dynamic_regret``, ``fallback``. The full
      vector l_t is *not* in ``info``: a step-wise agent receives ``info`` in ``update``.
    """

    def __init__(self, generator: str = "iid_uniform", d: int = 3, horizon: int = 50, gen_kwargs: dict | None = None,
                 render_mode: str | None = None):
        super().__init__(generator, d, horizon, gen_kwargs, render_mode)
        self.observation_space = spaces.Dict({
            "last_action": spaces.Discrete(self.d + 1),
            "last_loss": spaces.Box(0.0, 1.0, (1,), np.float64),
            "t": spaces.Discrete(self.horizon + 1),
        })

    def _obs(self):
        return {"last_action": np.int64(self._a), "last_loss": np.array([self._last_obs]), "t": np.int64(self._t)}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self._a, self._last_obs, self._realized = self.d, 0.0, 0.0
        return super().reset(seed=seed, options=options)

    def step(self, action):
        pi, fallback, loss, agent_loss = self._round(action)
        a = int(self.np_random.choice(self.d, p=pi))
        y = float(loss[a])
        est = np.zeros(self.d)
        est[a] = y / pi[a]
        self._a, self._last_obs = a, y
        self._realized += y
        best = float(self._cum.min())
        info = {"t": self._t, "pi": pi, "action": a, "observed_loss": y, "iw_estimate": est,
                "agent_loss": agent_loss, "regret": self._agent_cum - best, "realized_regret": self._realized - best,
                "dynamic_regret": self._dyn, "fallback": bool(fallback)}
        return self._obs(), -y, self._t == self.horizon, False, info
