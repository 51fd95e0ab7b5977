"""Exact rho* (Karp's maximum mean cycle), the cycle schedule that attains it, and the best periodic schedule
(spec §5, §7.4, §7.5): checked against a brute-force enumeration of simple cycles, against value iteration,
against the exact DP, against an independent enumeration of periodic schedules, and against the periodic
baselines it must dominate (pow2_periodic, round robin)."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import regretlab.lsd as L
from regretlab.lsd import reference as R
from regretlab.lsd.baselines import round_robin_candidates
from regretlab.lsd.periodic import best_periodic_exact, cycle_schedule, pattern_rates, patterns
from regretlab.lsd.rounding import plan_rounding, run_plan
from regretlab.lsd.simulate import check_schedule, joint_cols, joint_index, long_run_rate, max_mean_cycle

TINY = [
    lambda s: L.random_recharging(2, 3, ("monotone", "concave", "blocking")[s % 3], rng=s, idle_allowed=bool(s % 2)),
    lambda s: L.random_recharging(3, 2, "monotone", rng=s, idle_allowed=bool(s % 2)),
    lambda s: L.random_lsd(2, 2, ("monotone_full", "parametric", "seasonal")[s % 3], rng=s, idle_allowed=bool(s % 2)),
    lambda s: L.random_recharging(1, 5, "monotone", rng=s),
]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("make", range(len(TINY)))
def test_karp_equals_the_best_simple_cycle_and_value_iteration(make, seed):
    inst = TINY[make](seed)
    cyc = max_mean_cycle(inst)
    assert cyc.rate == pytest.approx(R.brute_force_max_mean_cycle(inst), abs=1e-12)
    lo, hi = long_run_rate(inst)
    assert lo - 1e-9 <= cyc.rate <= hi + 1e-9
    # the returned cycle is a cycle of the graph and its mean reward is rho*
    tot = 0.0
    for j, (x, mask) in enumerate(zip(cyc.states, cyc.masks)):
        cols = joint_cols(inst, x)
        tot += inst.payoff[np.arange(inst.k), cols][mask.astype(bool)].sum()
        assert joint_index(inst, inst.advance(cols, mask)) == cyc.states[(j + 1) % cyc.length]
    assert tot / cyc.length == pytest.approx(cyc.rate, abs=1e-12)
    assert len(set(cyc.states.tolist())) == cyc.length                 # simple


@pytest.mark.parametrize("seed", range(6))
def test_cycle_schedule_attains_rho_star_and_stays_below_opt(seed):
    inst = (L.random_recharging(3, 3, rng=seed, idle_allowed=bool(seed % 2)) if seed < 3 else
            L.random_lsd(3, 2, rng=seed, idle_allowed=bool(seed % 2)))
    cyc = max_mean_cycle(inst)
    T = 97
    sched = cycle_schedule(inst, T, cyc)
    check_schedule(inst, sched)
    val = L.score(inst, sched).value[0]
    assert val <= L.dp_opt(inst, T, schedule=False).value + 1e-9
    # after the prefix (at most n_states^k - 1 rounds) every whole cycle earns length * rho*
    ck = L.score(inst, sched, checkpoints=list(range(1, T + 1))).mean_cum[0]
    entered = next(t for t in range(T) if joint_index(inst, _state_at(inst, sched, t)) in set(cyc.states.tolist()))
    n_whole = (T - entered) // cyc.length
    gain = ck[entered + n_whole * cyc.length - 1] - (ck[entered - 1] if entered else 0.0)
    assert gain == pytest.approx(n_whole * cyc.length * cyc.rate, abs=1e-9)


def _state_at(inst, sched, t):
    cols = inst.init.copy()
    for row in sched[:t]:
        cols = inst.advance(cols, row)
    return cols


def _enumerated_best_rate(inst, P_max, warm, span):
    """Independent enumeration: every assignment of (width, period, offset) or none to each arm, as explicit
    masks; feasible if each round has at most one play (exactly one without idling); long-run rate measured as
    the reward of rounds warm..warm + span - 1 over span (span a multiple of every period)."""
    opts = [None] + [(a, P, o) for a, P in patterns(inst, P_max) for o in range(P)]
    t = np.arange(warm + span)
    best = -1.0
    for combo in itertools.product(opts, repeat=inst.k):
        masks = np.zeros((len(t), inst.k), np.uint8)
        for i, c in enumerate(combo):
            if c is not None:
                a, P, o = c
                masks[:, i] = (t - o) % P < a
        n = masks.sum(axis=1)
        if n.max() > 1 or (not inst.idle_allowed and n.min() < 1):
            continue
        ck = L.score(inst, masks, checkpoints=[warm, warm + span]).mean_cum[0]
        best = max(best, (ck[1] - ck[0]) / span)
    return best


@pytest.mark.parametrize("seed", range(4))
def test_best_periodic_rate_matches_an_independent_enumeration(seed):
    inst = (L.random_recharging(2, 3, ("monotone", "blocking")[seed % 2], rng=seed, idle_allowed=bool(seed % 2))
            if seed < 2 else L.random_lsd(2, 2, rng=seed, idle_allowed=bool(seed % 2)))
    P_max = 4
    res = best_periodic_exact(inst, 40, P_max=P_max)
    span = math.lcm(*range(1, P_max + 1))
    assert res.rate == pytest.approx(_enumerated_best_rate(inst, P_max, 4 * inst.tau_max + span, span), abs=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_best_periodic_between_its_peers_and_the_optimum(seed):
    idle = seed % 3 != 0
    inst = (L.random_recharging(3, 3, ("monotone", "concave", "blocking")[seed % 3], rng=seed, idle_allowed=idle)
            if seed < 6 else L.random_lsd(3, 2, rng=seed, idle_allowed=idle))
    T = 120
    res = best_periodic_exact(inst, T)
    sched = run_plan(inst, res.plan(), T, store=True).masks[0]
    check_schedule(inst, sched)                                    # collision-free; an exact cover without idling
    assert res.value == pytest.approx(L.score(inst, sched).value[0], abs=1e-9)
    assert res.value <= L.dp_opt(inst, T, schedule=False).value + 1e-9
    assert res.rate <= max_mean_cycle(inst).rate + 1e-12
    pats = patterns(inst, 2 * inst.tau_max)
    rates = pattern_rates(inst, pats)
    # round robin over the top j arms is a periodic pattern set (period j; LSD play-forever for j = 1)
    for j, cand in enumerate(round_robin_candidates(inst, T), start=1):
        pat = (1, 1) if j == 1 else (1, j)
        rr = sum(rates[i, pats.index(pat)] for i in np.flatnonzero(cand[:j].any(axis=0)))
        assert res.rate >= rr - 1e-12
    if inst.kind == "recharging" and idle:                       # pow2_periodic's periods are <= 2 tau_max
        plan = plan_rounding(inst, "pow2_periodic", 1)
        per = plan.period[0]
        pow2 = sum(rates[i, pats.index((1, int(per[i])))] for i in np.flatnonzero(per))
        assert res.rate >= pow2 - 1e-12


def test_without_idling_every_round_is_covered():
    inst = L.recharging([[0.2, 0.9], [0.1, 0.5], [0.3, 0.3]], idle_allowed=False)
    res = best_periodic_exact(inst, 30)
    masks = run_plan(inst, res.plan(), 30, store=True).masks[0]
    assert (masks.sum(axis=1) == 1).all()
    # with idling the best set may leave rounds empty: two arms worth 0.9 / 0.5 every other round
    res_idle = best_periodic_exact(inst.with_(idle_allowed=True), 30)
    assert res_idle.rate >= res.rate


def test_bad_input():
    with pytest.raises(L.models.ParamError, match="inst.m"):
        best_periodic_exact(L.random_recharging(3, 2, rng=0, m=2), 10)
    with pytest.raises(L.models.ParamError, match="P_max"):
        best_periodic_exact(L.random_recharging(7, 4, rng=0), 10, P_max=12)
    with pytest.raises(L.models.ParamError, match="inst"):
        max_mean_cycle(L.random_recharging(5, 6, rng=0))
    with pytest.raises(L.models.ParamError, match="T"):
        cycle_schedule(L.random_recharging(2, 2, rng=0), 0)
