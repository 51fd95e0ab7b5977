"""Periodic-schedule baselines for recharging / LSD bandits with known payoffs (spec §7.4, §7.5).

- :func:`best_periodic_exact` (tiny k): the best collision-free periodic schedule found by enumeration. Each
  arm is either never played or gets a *pattern* (width a, period P, offset o): it is played in the rounds t
  with (t - o) mod P < a. Recharging uses purely periodic patterns (a = 1, [SZZ21]'s "purely periodic
  policies"), LSD uses block patterns (a consecutive plays, then P - a idle rounds; a = P is "play forever"),
  so that every simple cycle of one arm's state graph is a pattern. A pattern set is feasible when no round
  holds two plays (m = 1) and, without idling, when every round holds one (an exact cover, so no filler is
  needed). "Best" is in two stages: (1) the pattern set (widths and periods) with the highest long-run rate,
  which does not depend on the offsets (each arm's states repeat with its own period once it has been
  played and rested once); (2) among the feasible offsets of the pattern sets tied at that rate (to 1e-12),
  the highest exact T-round value from the instance's start, ties to the first in enumeration order. The
  enumeration covers periods 1..P_max (default 2 tau_max, the longest simple cycle of an LSD arm).
  The long-run rate is at most rho* (:func:`regretlab.lsd.simulate.max_mean_cycle`), with a gap where the best
  schedule needs non-constant gaps (spec §7.4), and at least that of :func:`regretlab.lsd.rounding.pow2_periodic`
  when P_max covers its periods (tested).
- :func:`cycle_schedule`: the periodic schedule that attains rho*: the shortest prefix from the start to the
  maximum-mean cycle of the joint-state graph (breadth-first search), then the cycle repeated. Its value is
  T rho* up to a start-up term bounded by the prefix and one cycle.

m = 1 only, like the rounding planners. References: [SZZ21] Simchi-Levi, Zheng, Zhu, "Dynamic planning and
learning under recovering rewards", ICML 2021; others in :mod:`regretlab.lsd.models`.
"""
from __future__ import annotations

import dataclasses
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from regretlab.core.validate import ParamError, check_int

from .models import Instance, action_masks

__all__ = ["PeriodicResult", "patterns", "n_pattern_sets", "pattern_rates", "best_periodic_exact", "cycle_schedule",
           "GRID_MAX", "OFFSETS_MAX"]

#: stage-1 enumeration limit (pattern sets) and stage-2 limit (offset vectors per tied pattern set)
GRID_MAX = 5_000_000
OFFSETS_MAX = 200_000


@dataclass(frozen=True)
class PeriodicResult:
    """The best periodic schedule: per arm ``width``, ``period`` (0 = never played) and ``offset``; ``rate`` its
    long-run reward per round; ``value`` its exact T-round value from the start; ``n_feasible`` the number of
    feasible offset vectors scored in stage 2."""

    width: np.ndarray
    period: np.ndarray
    offset: np.ndarray
    rate: float
    value: float
    n_feasible: int

    def plan(self):
        """The schedule as a one-row plan of :func:`regretlab.lsd.rounding.run_plan` (collision-free)."""
        return _periodic_plan(self.period, np.maximum(self.width, 1), self.offset[None])


def _periodic_plan(period, width, offsets):
    """A collision-free periodic plan (request mode, every active arm requesting with q = 1): one row per
    offset vector (rows of ``offsets``), the same periods and widths in each."""
    from .rounding import _MODE_FAIR, Plan

    n = len(offsets)
    return Plan("best_periodic_exact", _MODE_FAIR, np.tile(np.asarray(period, np.int64), (n, 1)),
                np.tile(np.asarray(width, np.int64), (n, 1)), np.asarray(offsets, np.int64).copy(),
                np.tile((np.asarray(period) > 0).astype(float), (n, 1)), np.zeros((n, len(period))))


def patterns(inst: Instance, P_max: int) -> list[tuple[int, int]]:
    """The (width, period) patterns of the enumeration: recharging (1, P) for P = 1..P_max; LSD (1, 1) (play
    forever) and (a, P) for 1 <= a < P <= P_max."""
    if inst.kind == "recharging":
        return [(1, P) for P in range(1, P_max + 1)]
    return [(1, 1)] + [(a, P) for P in range(2, P_max + 1) for a in range(1, P)]


def n_pattern_sets(kind: str, k: int, P_max: int) -> int:
    """The stage-1 enumeration size (#patterns + 1)^k of :func:`best_periodic_exact`."""
    n = P_max if kind == "recharging" else 1 + P_max * (P_max - 1) // 2
    return (n + 1) ** k


def pattern_rates(inst: Instance, pats) -> np.ndarray:
    """(k, len(pats)) long-run reward per round of arm i under each pattern: the arm alone follows the
    pattern for enough whole periods to forget its start (2 tau_max rounds at least), then one period is
    averaged."""
    out = np.zeros((inst.k, len(pats)))
    for c, (a, P) in enumerate(pats):
        warm = P * (2 * inst.tau_max // P + 2)
        for i in range(inst.k):
            col, tot = int(inst.init[i]), 0.0
            for t in range(warm + P):
                play = t % P < a
                if play and t >= warm:
                    tot += inst.payoff[i, col]
                col = int(inst.next_play[col] if play else inst.next_idle[col])
            out[i, c] = tot / P
    return out


def _occupancy(a: int, P: int, o: int, L: int) -> np.ndarray:
    return ((np.arange(L) - o) % P < a).astype(np.int8)


def _offset_vectors(pats, choice, exact_cover: bool, first_fixed: bool, limit: int):
    """Feasible offset vectors of one pattern set (depth-first, arms in index order; inactive arms offset 0).
    With first_fixed the first active arm's offset is 0 (enough to decide feasibility: a common shift of all
    offsets keeps a set feasible). Yields int64 arrays; stops after ``limit``."""
    act = [i for i, c in enumerate(choice) if c >= 0]
    L = math.lcm(*[pats[choice[i]][1] for i in act]) if act else 1
    occ = np.zeros(L, np.int8)
    off = np.zeros(len(choice), np.int64)
    found = 0

    def rec(j):
        nonlocal found
        if found >= limit:
            return
        if j == len(act):
            if not exact_cover or occ.min() == 1:
                found += 1
                yield off.copy()
            return
        i = act[j]
        a, P = pats[choice[i]]
        for o in (range(1) if first_fixed and j == 0 else range(P)):
            row = _occupancy(a, P, o, L)
            if np.any(occ + row > 1):
                continue
            occ[:] += row
            off[i] = o
            yield from rec(j + 1)
            occ[:] -= row

    yield from rec(0)


def best_periodic_exact(inst: Instance, T: int, *, P_max: int | None = None) -> PeriodicResult:
    """The best collision-free periodic schedule over periods 1..P_max (module docstring), m = 1."""
    where = "best_periodic_exact"
    T = check_int("T", T, low=1, where=where)
    if inst.m != 1:
        raise ParamError(where, "inst.m", "1 (one play per round)", inst.m)
    P_max = check_int("P_max", 2 * inst.tau_max if P_max is None else P_max, low=1, high=24, where=where)
    pats = patterns(inst, P_max)
    n_grid = n_pattern_sets(inst.kind, inst.k, P_max)
    if n_grid > GRID_MAX:
        raise ParamError(where, "P_max", f"a P_max with (#patterns + 1)^k <= {GRID_MAX} pattern sets (tiny k)",
                         f"P_max = {P_max}: ({len(pats)} + 1)^{inst.k} = {n_grid}")
    rates = np.concatenate([np.zeros((inst.k, 1)), pattern_rates(inst, pats)], axis=1)   # column 0: inactive
    L = math.lcm(*range(1, P_max + 1))
    dens = np.array([0] + [a * (L // P) for a, P in pats], np.int64)                      # density * L
    grid = np.stack(np.unravel_index(np.arange(n_grid), (len(pats) + 1,) * inst.k), axis=1)   # odometer order
    tot_rate = rates[np.arange(inst.k), grid].sum(axis=1)
    tot_dens = dens[grid].sum(axis=1)
    cover = not inst.idle_allowed
    ok = (tot_dens == L) if cover else (tot_dens <= L)
    order = np.flatnonzero(ok)[np.argsort(-tot_rate[ok], kind="stable")]
    best_rate, tied = None, []
    for g in order:
        if best_rate is not None and tot_rate[g] < best_rate - 1e-12:
            break
        choice = grid[g] - 1
        if next(_offset_vectors(pats, choice, cover, True, 1), None) is not None:
            best_rate = float(tot_rate[g]) if best_rate is None else best_rate
            tied.append(choice)
    if best_rate is None:          # unreachable: one arm played every round is always feasible
        raise RuntimeError(f"{where}: no feasible periodic schedule")
    from .rounding import run_plan

    best, n_feas = None, 0
    for choice in tied:
        offs = np.array(list(_offset_vectors(pats, choice, cover, False, OFFSETS_MAX)), np.int64)
        n_feas += len(offs)
        wid = np.array([pats[c][0] if c >= 0 else 1 for c in choice], np.int64)
        per = np.array([pats[c][1] if c >= 0 else 0 for c in choice], np.int64)
        vals = run_plan(inst, _periodic_plan(per, wid, offs), T).scores.value
        j = int(np.argmax(vals))
        if best is None or vals[j] > best.value + 1e-12:
            best = PeriodicResult(np.where(per > 0, wid, 0), per, offs[j], best_rate, float(vals[j]), 0)
    return dataclasses.replace(best, n_feasible=n_feas)


def cycle_schedule(inst: Instance, T: int, cycle=None) -> np.ndarray:
    """(T, k) uint8: the shortest prefix from the start to the maximum-mean cycle (``cycle`` from
    :func:`regretlab.lsd.simulate.max_mean_cycle`, computed when not given), then the cycle repeated."""
    from .simulate import joint_cols, joint_index, max_mean_cycle

    T = check_int("T", T, low=1, where="cycle_schedule")
    cycle = max_mean_cycle(inst) if cycle is None else cycle
    where_in = {int(s): j for j, s in enumerate(cycle.states)}
    acts = np.array(action_masks(inst), np.uint8)
    x0 = joint_index(inst)
    back = {x0: None}
    queue = deque([x0])
    target = x0
    while queue:                            # breadth-first search to the nearest cycle state
        x = queue.popleft()
        if x in where_in:
            target = x
            break
        cols = joint_cols(inst, x)
        for a in acts:
            y = joint_index(inst, inst.advance(cols, a))
            if y not in back:
                back[y] = (x, a)
                queue.append(y)
    prefix, x = [], target
    while back[x] is not None:
        x, a = back[x]
        prefix.append(a)
    prefix = prefix[::-1]
    entry, L = where_in[target], cycle.length
    rest = [cycle.masks[(entry + j) % L] for j in range(max(0, T - len(prefix)))]
    return np.array((prefix + rest)[:T], np.uint8).reshape(T, inst.k)
