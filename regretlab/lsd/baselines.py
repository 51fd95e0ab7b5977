"""Simple planning baselines for recharging / LSD bandits with known payoffs (spec §7.5).

Each returns a feasible (T, k) play-mask schedule (states evolve deterministically from the actions, so an
open-loop schedule is a policy). Written as plain loops over the T rounds: the per-round work is O(k log k)
and these serve small planning comparisons, not the learning sweeps.

- ``greedy_schedule``: play the m arms with the largest current mean payoff, ties to the lowest index. With
  idling allowed an arm whose current payoff is 0 is not played (otherwise greedy fails even on blocking
  instances); without idling, exactly m arms are played. [BSSS19] show greedy is asymptotically
  (1 - 1/e)-optimal for blocking bandits; for general monotone recharging payoffs it can be arbitrarily bad
  ([LCCG22]'s instances, tested).
- ``round_robin_best_j``: [CC20]-style ranking policy (exact [CC20] definition UNCONFIRMED, so this is the
  spec's version): sort arms by their payoff in the rested state (delay tau_max, LSD state +tau_max), for each
  j = 1..k cycle through the top j arms, keep the j with the highest exact value. m = 1 only.
- ``random_schedule``: uniformly random allowed mask each round (a sanity floor).

The periodic baselines (the best periodic schedule, the rho*-cycle schedule) are in
:mod:`regretlab.lsd.periodic`.

References: [CC20] Cella, Cesa-Bianchi, "Stochastic Bandits with Delay-Dependent Payoffs", AISTATS 2020;
[BSSS19] Basu, Sen, Sanghavi, Shakkottai, "Blocking Bandits", NeurIPS 2019; others in
:mod:`regretlab.lsd.models`.
"""
from __future__ import annotations

import numpy as np

from regretlab.core.validate import ParamError, check_int

from .models import Instance, action_masks

__all__ = ["greedy_schedule", "round_robin_best_j", "round_robin_candidates", "random_schedule"]


def greedy_schedule(inst: Instance, T: int) -> np.ndarray:
    """The greedy schedule (module docstring), shape (T, k) uint8."""
    T = check_int("T", T, low=1, where="greedy_schedule")
    st = inst.init.copy()
    out = np.zeros((T, inst.k), np.uint8)
    idx = np.arange(inst.k)
    for t in range(T):
        cur = inst.payoff[idx, st]
        order = np.lexsort((idx, -cur))          # largest payoff first, then lowest index
        chosen = order[: inst.m]
        if inst.idle_allowed:
            chosen = chosen[cur[chosen] > 0.0]
        out[t, chosen] = 1
        st = inst.advance(st, out[t])
    return out


def round_robin_best_j(inst: Instance, T: int) -> tuple[np.ndarray, int]:
    """(schedule, j): the best of the k round-robin schedules over the top-j rested arms (m = 1)."""
    where = "round_robin_best_j"
    T = check_int("T", T, low=1, where=where)
    if inst.m != 1:
        raise ParamError(where, "inst.m", "1 (one play per round)", inst.m)
    from .simulate import score

    cands = round_robin_candidates(inst, T)
    vals = score(inst, cands).value
    best = int(np.argmax(vals))
    return cands[best], best + 1


def round_robin_candidates(inst: Instance, T: int) -> np.ndarray:
    """(k, T, k): candidate j - 1 cycles through the j arms with the best rested payoff (ties: lower index)."""
    rested = inst.payoff[:, -1]
    ranking = np.lexsort((np.arange(inst.k), -rested))
    cands = np.zeros((inst.k, T, inst.k), np.uint8)
    for j in range(1, inst.k + 1):
        cands[j - 1, np.arange(T), ranking[np.arange(T) % j]] = 1
    return cands


def random_schedule(inst: Instance, T: int, rng=None) -> np.ndarray:
    """A uniformly random allowed play mask in each of T rounds."""
    T = check_int("T", T, low=1, where="random_schedule")
    masks = np.array(action_masks(inst), np.uint8)
    return masks[np.random.default_rng(rng).integers(0, len(masks), T)]
