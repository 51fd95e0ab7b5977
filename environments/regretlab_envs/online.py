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

NumPy only: this module imports neither regretlab nor numba.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import check_choice, check_float, check_int

__all__ = ["GENERATORS", "LossSequence", "loss_sequence"]

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
