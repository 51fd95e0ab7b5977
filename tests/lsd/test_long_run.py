"""rho*, the optimal long-run rate (spec §5, §12 items 2, 10, 13): its bounds bracket it tightly, rho* <= LP*,
rho* <= OPT(T)/T for monotone payoffs from a rested start, LP* = rho* for a single arm, and greedy's long-run
rate is below half of rho* on the [LCCG22] supplementary instance."""
from __future__ import annotations

import numpy as np
import pytest

import regretlab.lsd as L
from regretlab.lsd.baselines import greedy_schedule
from regretlab.lsd.relaxations import lp_value
from regretlab.lsd.simulate import long_run_rate, max_mean_cycle


@pytest.mark.parametrize("seed", range(12))
def test_rho_star_below_lp_and_below_every_finite_horizon_rate(seed):
    idle = bool(seed % 2)
    inst = (L.random_recharging(2 + seed % 2, 3, ("monotone", "concave", "blocking")[seed % 3], rng=seed,
                                idle_allowed=idle) if seed < 6 else
            L.random_lsd(2, 2 + seed % 2, ("monotone_full", "parametric")[seed % 2], rng=seed, idle_allowed=idle))
    lo, hi = long_run_rate(inst)
    assert 0 <= hi - lo <= 1e-9
    assert hi <= lp_value(inst).value + 1e-7
    for T in (5, 17, 60):     # monotone payoffs and a rested start: OPT is subadditive, OPT(T) >= T rho*
        assert L.dp_opt(inst, T, schedule=False).value >= T * lo - 1e-7


@pytest.mark.parametrize("seed", range(5))
def test_single_arm_lp_equals_rho_star(seed):
    inst = L.random_recharging(1, 6, ("monotone", "concave", "blocking")[seed % 3], rng=seed)
    lo, hi = long_run_rate(inst)
    assert abs(lp_value(inst).value - lo) < 1e-8
    assert abs(lo - max(inst.payoff[0] / np.arange(1, 7))) < 1e-8


def test_greedy_is_trapped_below_half_of_rho_star():
    inst = L.lccg22_supplementary()
    lo, hi = long_run_rate(inst)
    assert abs(lo - 0.5) < 1e-9                                  # alternate: 0.95 every other round
    cyc = max_mean_cycle(inst)                                   # exact (121 joint states)
    assert cyc.rate == pytest.approx(0.5, abs=1e-12) and lo - 1e-9 <= cyc.rate <= hi + 1e-9
    T = 2000
    g = L.score(inst, greedy_schedule(inst, T), checkpoints=[T // 2, T]).mean_cum[0]
    assert (g[1] - g[0]) / (T // 2) < 0.5 * lo


def test_bad_input():
    with pytest.raises(L.models.ParamError, match="mix"):
        long_run_rate(L.random_recharging(2, 2, rng=0), mix=1.0)
