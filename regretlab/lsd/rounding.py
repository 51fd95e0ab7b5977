"""LP-rounding planners for recharging bandits (spec §7.1).

``pcs_offset_rounding_reconstructed``: our reconstruction of [PCS22]'s "randomized LP rounding with
interleaved scheduling" (their exact procedure is UNCONFIRMED; the guarantee below is the one this
implementation has, proved in the spec and checked by the tests). Given a solution x of LP 6.1 (solved here
unless passed), with q_i = sum_d x[i, d] / d:

1. independently per arm, draw a period tau_i = d with probability x[i, d] (none with the remaining mass) and
   an offset r_i uniform in {0, ..., tau_i - 1};
2. in round t the arms with (t - r_i) mod tau_i == 0 request it; one requester is played, chosen by the
   contention rule of :mod:`regretlab.lsd.contention` (``fair`` or ``uniform``);
3. without idling, an empty round is filled with an unselected arm: arms without a period first, then the
   highest current mean, then the lowest index (no guarantee for filler plays).

Guarantee (m = 1, ``fair``, idling allowed, every arm starting at delay tau_max, monotone p): for every T,
E[ALG(T)] >= (1 - prod_j (1 - q_j)) / sum_j q_j * T * LP* >= (1 - 1/e) T LP*. m > 1 is not implemented yet.

Randomness: the draws of seed row b come from ``SeedSequence(seed, spawn_key=(cell, b))``.
"""
from __future__ import annotations

import numpy as np

from regretlab.core.validate import ParamError, check_array, check_choice, check_int

from .contention import RULES, selection_probabilities
from .models import Instance

__all__ = ["pcs_offset_rounding_reconstructed", "request_probabilities"]


def request_probabilities(x) -> np.ndarray:
    """q_i = sum_d x[i, d] / d for an LP 6.1 solution x (k, tau_max)."""
    x = np.asarray(x, float)
    return (x / np.arange(1, x.shape[1] + 1)).sum(axis=1)


def pcs_offset_rounding_reconstructed(inst: Instance, T: int, n_seeds: int, *, x=None, crs: str = "fair",
                                      seed: int = 0, cell: int = 0) -> np.ndarray:
    """(n_seeds, T, k) schedules of the rounding (module docstring)."""
    where = "pcs_offset_rounding_reconstructed"
    if inst.kind != "recharging":
        raise ParamError(where, "inst", "a recharging instance", inst.kind)
    if inst.m != 1:
        raise ParamError(where, "inst.m", "1 (m > 1 is not implemented yet)", inst.m)
    T = check_int("T", T, low=1, where=where)
    n_seeds = check_int("n_seeds", n_seeds, low=1, where=where)
    crs = check_choice("crs", crs, RULES, where=where)
    if x is None:
        from .relaxations import lp_recharging

        x = lp_recharging(inst).x
    x = check_array("x", x, shape=(inst.k, inst.tau_max), low=0.0, where=where)
    mass = x.sum(axis=1)
    if np.any(mass > 1 + 1e-7):
        raise ParamError(where, "x", "an LP 6.1 point with sum_d x[i, d] <= 1 for every arm", mass)
    q = request_probabilities(x)
    k = inst.k
    probs = np.concatenate([x, np.maximum(1.0 - mass, 0.0)[:, None]], axis=1)
    probs /= probs.sum(axis=1, keepdims=True)
    out = np.zeros((n_seeds, T, k), np.uint8)
    idx = np.arange(k)
    for b in range(n_seeds):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(cell, b)))
        tau = np.array([rng.choice(inst.tau_max + 1, p=probs[i]) + 1 for i in range(k)])   # tau_max+1: none
        active = tau <= inst.tau_max
        off = np.where(active, np.floor(rng.random(k) * np.where(active, tau, 1)).astype(np.int64), 0)
        st = inst.init.copy()
        for t in range(T):
            req = active & ((t - off) % np.where(active, tau, 1) == 0)
            if req.any():
                w = selection_probabilities(req, q, crs)
                a = int(np.searchsorted(np.cumsum(w), rng.random() * w.sum(), side="right"))
                a = min(a, k - 1)
                while not req[a]:         # guard against round-off at the cumulative-sum boundary
                    a -= 1
                out[b, t, a] = 1
            elif not inst.idle_allowed:
                cur = inst.payoff[idx, st]
                a = int(np.lexsort((idx, -cur, active))[0])
                out[b, t, a] = 1
            st = inst.advance(st, out[b, t])
    return out
