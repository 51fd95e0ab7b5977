"""Evaluation of learned rewards (specs/regret-preference.md §6).

For learned weights w_hat: plan on r_{w_hat} (exact policy iteration, gamma of the MDP), act greedily with
ties split uniformly (tolerance 1e-9 max(1, |Q|), where the authors' code uses exact float equality),
and evaluate that policy under the **true** reward:

    Vbar(pi)      = mean over start states of V^pi_true(s)
    scaled return = (Vbar(pi_hat) - Vbar(uniform)) / (Vbar(pi*) - Vbar(uniform))

1 is optimal, 0 is as good as the uniformly random policy (an all-zero w_hat gives exactly that policy),
negative is worse than random. *Near-optimal* means scaled return >= 0.9 (the authors' plotting code; the
AAAI README writes "> 0.9"). The reward distance is the STARC distance (C_VAL with uniform pi0, weighted
L2 norm and metric, :func:`regretlab.starc.starc_distance`) between r_{w_hat} and r_true, in [0, 2].
"""
from __future__ import annotations

import dataclasses
import weakref

import numpy as np

from ..starc import starc_distance
from .domain import PreferenceMDP
from .learning import greedy_uniform

__all__ = ["NEAR_OPTIMAL", "Evaluation", "evaluate", "policy_gap", "scaled_return"]

NEAR_OPTIMAL = 0.9


_REFERENCE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _reference_values(mdp: PreferenceMDP) -> tuple[float, float]:
    """(Vbar(pi*), Vbar(uniform)) under the true reward, computed once per MDP object."""
    if mdp not in _REFERENCE:
        r = mdp.r_true
        ref = np.stack([greedy_uniform(mdp.optimal(r).Q), np.full((mdp.n_states, mdp.n_actions), 1.0 / mdp.n_actions)])
        v = mdp.mean_start_value(r, ref)
        _REFERENCE[mdp] = (float(v[0]), float(v[1]))
    return _REFERENCE[mdp]


def policy_gap(mdp: PreferenceMDP) -> float:
    """Vbar(pi*) - Vbar(uniform) under the true reward: the scaled return's denominator."""
    vstar, vunif = _reference_values(mdp)
    return vstar - vunif


def scaled_return(mdp: PreferenceMDP, w_hat) -> np.ndarray:
    """Scaled return of the greedy (tie-splitting) policy of r_{w_hat}, (B,) for w_hat (B, F) (or a float)."""
    w = np.asarray(w_hat, dtype=float)
    single = w.ndim == 1
    W = np.atleast_2d(w)
    pis = greedy_uniform(mdp.optimal(mdp.reward(W)).Q)  # (B, S, A)
    vhat = mdp.mean_start_value(mdp.r_true, pis)
    vstar, vunif = _reference_values(mdp)
    out = (vhat - vunif) / (vstar - vunif)
    return float(out[0]) if single else out


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """Per learned reward: scaled_return, near_optimal (scaled >= 0.9), starc (distance to the truth)."""

    scaled_return: np.ndarray
    near_optimal: np.ndarray
    starc: np.ndarray


def evaluate(mdp: PreferenceMDP, w_hat, *, distance: bool = True) -> Evaluation:
    """Scaled return, near-optimality and (with ``distance``) the STARC distance of learned weights (B, F)."""
    W = np.atleast_2d(np.asarray(w_hat, dtype=float))
    sr = np.atleast_1d(scaled_return(mdp, W))
    if distance:
        # C_VAL reads only the expected reward r(s, a), so R(s, a, s') = r(s, a) loses nothing
        S = mdp.n_states
        R = np.broadcast_to(mdp.reward(W)[..., None], W.shape[:1] + (S, mdp.n_actions, S))
        d = np.atleast_1d(starc_distance(mdp.r_true, R, mdp.P, min(mdp.gamma, 1.0 - 1e-12), backend="numpy"))
    else:
        d = np.full(W.shape[0], np.nan)
    return Evaluation(sr, sr >= NEAR_OPTIMAL, d)
