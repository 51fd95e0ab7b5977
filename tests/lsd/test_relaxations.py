"""LP relaxations: LP bound >= exact DP optimum >= every heuristic (greedy, round robin, the rho*-cycle schedule,
the best periodic schedule) on hundreds of random small instances;
the occupation LP equals the model LPs; the lift preserves LP*; single-arm closed form (spec §12.1-4, 10)."""
from __future__ import annotations

import numpy as np
import pytest

import regretlab.lsd as L
from regretlab.lsd.baselines import greedy_schedule, round_robin_best_j
from regretlab.lsd.periodic import best_periodic_exact, cycle_schedule
from regretlab.lsd.relaxations import lp_lsd_cycles, lp_occupation, lp_recharging, lp_upper_bound, lp_value
from regretlab.lsd.rounding import run_plan
from regretlab.lsd.simulate import max_mean_cycle


def test_lp_bound_dominates_dp_which_dominates_the_heuristics():
    """LP bound >= OPT(T) >= heuristics, with checks that the chain is not vacuous: with tau_max = 1 the payoffs
    are stationary, so LP* is the sum of the m best p_i(1) and OPT(T) = T LP* exactly (the bound is tight there);
    the heuristics attain OPT on many instances (an inflated DP would never be attained); m = 2 is covered."""
    rng = np.random.default_rng(6)
    stationary = attained = two_plays = 0
    for r in range(200):
        idle = bool(r % 2)
        if (r // 2) % 2 == 0:
            k = int(rng.integers(1, 4))
            inst = L.random_recharging(k, int(rng.integers(1, 4)), L.RECHARGING_FAMILIES[r % 3], rng=r,
                                       idle_allowed=idle, m=2 if (k >= 2 and r % 5 == 0) else 1)
        else:
            inst = L.random_lsd(int(rng.integers(1, 4)), int(rng.integers(1, 3)), L.LSD_FAMILIES[r % 3], rng=r,
                                idle_allowed=idle)
        T = int(rng.integers(1, 40))
        lp = lp_value(inst)
        opt = L.dp_opt(inst, T, schedule=False).value
        assert opt <= lp_upper_bound(inst, T, lp) + 1e-7, (r, opt, lp.value)
        if inst.kind == "recharging" and inst.tau_max == 1:                  # closed form, stationary payoffs
            best_m = np.sort(inst.payoff[:, 0])[::-1][:inst.m].sum()
            assert lp.value == pytest.approx(best_m, abs=1e-7) and opt == pytest.approx(T * best_m, abs=1e-7)
            stationary += 1
        heur = [greedy_schedule(inst, T)]
        if inst.m == 1:
            heur += [round_robin_best_j(inst, T)[0], cycle_schedule(inst, T),
                     run_plan(inst, best_periodic_exact(inst, T).plan(), T, store=True).masks[0]]
            assert max_mean_cycle(inst).rate <= lp.value + 1e-7          # rho* <= LP*
        vals = L.score(inst, np.stack(heur)).value
        assert np.all(vals <= opt + 1e-12)
        attained += bool(vals.max() >= opt - 1e-9)
        two_plays += inst.m == 2
    assert stationary >= 10 and attained >= 100 and two_plays >= 5, (stationary, attained, two_plays)  # 34, 172, 11


@pytest.mark.parametrize("kind", ["recharging", "lsd"])
def test_occupation_lp_equals_the_model_lp(kind):
    for r in range(15):
        inst = (L.random_recharging(3, 4, L.RECHARGING_FAMILIES[r % 3], rng=r, m=1 + r % 2) if kind == "recharging"
                else L.random_lsd(3, 3, L.LSD_FAMILIES[r % 3], rng=r))
        assert lp_occupation(inst).value == pytest.approx(lp_value(inst).value, abs=1e-7)


def test_lift_preserves_lp_value():
    for r in range(10):
        rec = L.random_recharging(3, 2 + r % 3, L.RECHARGING_FAMILIES[r % 3], rng=r)
        assert lp_lsd_cycles(L.lift_to_lsd(rec)).value == pytest.approx(lp_recharging(rec).value, abs=1e-7)


def test_single_arm_lp_is_the_best_period_rate():
    rng = np.random.default_rng(1)
    for _ in range(10):
        p = np.sort(rng.random(5))
        lp = lp_recharging(L.recharging([p]))
        assert lp.value == pytest.approx(np.max(p / np.arange(1, 6)), abs=1e-9)
        assert np.all(lp.x >= 0) and lp.x.sum() <= 1 + 1e-9


def test_lp_solutions_are_feasible():
    inst = L.random_recharging(4, 5, rng=3, m=2)
    x = lp_recharging(inst).x
    assert np.all(x.sum(axis=1) <= 1 + 1e-9) and (x / np.arange(1, 6)).sum() <= 2 + 1e-9
    y = lp_lsd_cycles(L.random_lsd(3, 3, rng=3)).x
    assert np.all(y.sum(axis=1) <= 1 + 1e-9)


@pytest.mark.parametrize("seed", range(30))
def test_vertex_solutions_have_at_most_k_plus_one_nonzeros_and_lp_fast_agrees(seed):
    """Spec §12.9: LP 6.1 / 6.2 have k + 1 constraints, so a vertex (HiGHS dual simplex, lp_fast) has at most
    k + 1 nonzeros: at most one arm is fractional. lp_fast and the cvxpy LP agree in value."""
    from regretlab.lsd.relaxations import lp_fast, lp_value

    inst = (L.random_recharging(2 + seed % 4, 2 + seed % 5, ("monotone", "concave", "blocking")[seed % 3], rng=seed)
            if seed % 2 else L.random_lsd(2 + seed % 3, 2 + seed % 3, ("monotone_full", "parametric",
                                                                           "seasonal")[seed % 3], rng=seed))
    fast = lp_fast(inst)
    assert np.count_nonzero(fast.x > 1e-9) <= inst.k + 1
    assert fast.value == pytest.approx(lp_value(inst).value, abs=1e-8)
