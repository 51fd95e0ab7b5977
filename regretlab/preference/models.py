"""The partial-return and regret preference models, and synthetic labels (specs/regret-preference.md §2).

Gammas, stated once for the whole area:

* partial return ``PR(sigma | r) = sum_{t<k} r_t`` is **undiscounted**, as in the delivery experiments of
  [KNOX-TMLR] (authors' code);
* regret always uses the gamma of V* (default 0.999), so that optimal segments have regret exactly 0
  (spec §2.2): deterministic form ``regret_d = V*(s_0) - sum_t gamma^t r_t - gamma^k V*(s_k)``, expected
  form ``regret = -sum_t gamma^t A*(s_t, a_t)``. They agree under deterministic transitions (a telescoping
  sum; tested). The authors' code drops the gammas (``V*(s_0) - PR - V*(s_k)`` with V* at 0.999), which
  gives optimal actions a regret of about -0.05 per step; regretlab does not reproduce that. With
  gamma = 1 both forms are the paper's undiscounted ones.

Preference probabilities (Boltzmann / Bradley-Terry, temperature 1 on the reward's scale, spec §2.1-2.2)::

    P_PR(s1 > s2)     = logistic(PR(s1) - PR(s2))
    P_regret(s1 > s2) = logistic(regret(s2) - regret(s1))

Labels (spec §2.3): ``noiseless`` prefers the larger statistic (PR, or minus regret), with ties (|diff| <=
``tie_tol``, default 1e-9, instead of the code's rounding of regrets to 2 decimals) labelled 0.5;
``stochastic`` draws segment 1 with probability P(s1 > s2), once per pair. Labels are soft targets
y = P(label says s1 preferred) in {0, 0.5, 1}.

References: [KNOX-TMLR] W. B. Knox, S. Hatgis-Kessell, S. Booth, S. Niekum, P. Stone, A. Allievi, "Models of
human preference for learning reward functions", TMLR 2024 (arXiv 2206.02231), §2-3 (regret model, eq.
numbering of the authors' code comments: eq. 3 deterministic, eq. 4 expected form).
"""
from __future__ import annotations

import numpy as np

from ..core.validate import ParamError, check_choice, check_float, check_rng
from .domain import Optimal, PreferenceMDP
from .segments import Segments

__all__ = ["LABEL_NOISE", "MODELS", "label_pairs", "logistic", "partial_return", "preference_logit",
           "preference_probability", "regret", "regret_expected", "segment_statistic"]

MODELS = ("regret", "partial_return")
LABEL_NOISE = ("noiseless", "stochastic")


def logistic(x):
    """1 / (1 + exp(-x)), evaluated without overflow."""
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def partial_return(segs: Segments, w) -> np.ndarray:
    """PR(sigma | r_w) = w . sum_t phi_t (undiscounted), (..., n) for w (..., F)."""
    return np.einsum("nf,...f->...n", segs.phi, np.asarray(w, dtype=float))


def regret(segs: Segments, w, mdp: PreferenceMDP, opt: Optimal | None = None) -> np.ndarray:
    """Deterministic-transition regret V*(s_0) - (sum_t gamma^t r_t + gamma^k V*(s_k)), (..., n).

    ``opt``: the optimal values of r_w if already computed (else solved exactly here).
    """
    w = np.asarray(w, dtype=float)
    opt = mdp.optimal(mdp.reward(w)) if opt is None else opt
    V = opt.V
    disc_ret = np.einsum("nf,...f->...n", segs.phi_disc, w)
    return V[..., segs.start] - disc_ret - segs.gamma**segs.k * V[..., segs.end]


def regret_expected(segs: Segments, w, mdp: PreferenceMDP, opt: Optimal | None = None) -> np.ndarray:
    """Expected-form regret -sum_t gamma^t A*(s_t, a_t) (any transitions; spec §2.2), (..., n)."""
    w = np.asarray(w, dtype=float)
    opt = mdp.optimal(mdp.reward(w)) if opt is None else opt
    adv = opt.advantage  # (..., S, A)
    disc = segs.gamma ** np.arange(segs.k)
    a = adv[..., segs.states[:, :-1], segs.actions]  # (..., n, k)
    return -np.sum(a * disc, axis=-1)


def segment_statistic(model: str, segs: Segments, w, mdp: PreferenceMDP, opt: Optimal | None = None):
    """The per-segment score each model compares: PR, or minus the expected-form regret."""
    model = check_choice("model", model, MODELS, where="segment_statistic")
    if model == "partial_return":
        return partial_return(segs, w)
    return -regret_expected(segs, w, mdp, opt)


def preference_logit(model, segs: Segments, pairs, w, mdp: PreferenceMDP, opt: Optimal | None = None):
    """z = statistic(s1) - statistic(s2) for pairs (..., 2) of segment indices."""
    stat = segment_statistic(model, segs, w, mdp, opt)
    pairs = np.asarray(pairs)
    return stat[..., pairs[..., 0]] - stat[..., pairs[..., 1]]


def preference_probability(model, segs, pairs, w, mdp, opt=None):
    """P(s1 > s2) = logistic(z) under ``model``."""
    return logistic(preference_logit(model, segs, pairs, w, mdp, opt))


def label_pairs(z, noise: str, rng=None, *, tie_tol: float = 1e-9, temperature: float = 1.0) -> np.ndarray:
    """Soft labels y = P(s1 preferred) in {0, 0.5, 1} from logits z (spec §2.3).

    ``noiseless``: 1 if z > tie_tol, 0 if z < -tie_tol, else 0.5 (tie). ``stochastic``: 1 with probability
    logistic(z / temperature), else 0 (one draw per pair from ``rng``). The temperature (default 1, the
    models' own, as in the authors' labeller) is a property of the labeller only: learning always uses
    temperature 1, whose scale the learned reward absorbs (spec §2).
    """
    where = "label_pairs"
    noise = check_choice("noise", noise, LABEL_NOISE, where=where)
    tie_tol = check_float("tie_tol", tie_tol, low=0.0, where=where)
    temperature = check_float("temperature", temperature, low=0.0, low_open=True, where=where)
    z = np.asarray(z, dtype=float)
    if not np.all(np.isfinite(z)):
        raise ParamError(where, "z", "finite logits", z)
    if noise == "noiseless":
        return np.where(z > tie_tol, 1.0, np.where(z < -tie_tol, 0.0, 0.5))
    gen = check_rng(rng, where=where)
    return (gen.random(z.shape) < logistic(z / temperature)).astype(float)
