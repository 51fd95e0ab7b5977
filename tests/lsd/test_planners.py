"""The rounding planners of regretlab.lsd.rounding: the kernel against the plain-Python twin for every mode,
the mirroring lemma and the mirroring / independent-rounding guarantees (spec §7.2, §7.3, §12.8, §12.11), the
collision-free power-of-two schedules, and that every planner's schedule is feasible and below the DP."""
from __future__ import annotations

import math

import numpy as np
import pytest

import regretlab.lsd as L
from regretlab.core.seeding import counter_keys
from regretlab.lsd import reference
from regretlab.lsd.relaxations import lp_value
from regretlab.lsd.rounding import PLANNERS, c_m, plan_rounding, run_plan, virtual_lsd_states
from regretlab.lsd.simulate import check_schedule

E = 1 - 1 / math.e


def _instance(kind, idle, seed, k=3, tau=3):
    if kind == "recharging":
        return L.random_recharging(k, tau, ("monotone", "concave", "blocking")[seed % 3], rng=seed,
                                   idle_allowed=idle)
    return L.random_lsd(k, tau, ("monotone_full", "parametric", "seasonal")[seed % 3], rng=seed, idle_allowed=idle)


@pytest.mark.parametrize("method", sorted(PLANNERS))
@pytest.mark.parametrize("idle", [True, False])
@pytest.mark.parametrize("crs", ["fair", "uniform"])
def test_kernel_matches_the_plain_python_twin(method, idle, crs):
    T, n = 40, 6
    for seed in range(3):
        inst = _instance(PLANNERS[method], idle, seed)
        plan = plan_rounding(inst, method, n, crs=crs, seed=seed, cell=2)
        res = run_plan(inst, plan, T, seed=seed, cell=2, store=True)
        keys = counter_keys(seed, 2, n)
        for b in range(n):
            ref = reference.run_requests(inst, plan.mode, plan.period[b], plan.width[b], plan.offset[b], plan.q[b],
                                         plan.phase[b], T, int(keys[b]))
            assert np.array_equal(res.masks[b], np.array(ref, np.uint8)), (method, seed, b)
        check_schedule(inst, res.masks)
        assert np.allclose(res.scores.value, L.score(inst, res.masks).value)
        if not idle:
            assert np.all(res.masks.sum(axis=2) == 1)


def test_run_plan_continues_where_a_shorter_run_stopped():
    inst = _instance("lsd", False, 1)
    plan = plan_rounding(inst, "lsd_mirroring_rounding_reconstructed", 4, seed=3)
    whole = run_plan(inst, plan, 50, noise="bernoulli", seed=3, checkpoints=[20, 50], store=True)
    first = run_plan(inst, plan, 20, noise="bernoulli", seed=3)
    rest = run_plan(inst, plan, 30, noise="bernoulli", seed=3, t0=20, start=first.final_cols)
    assert np.allclose(first.scores.value + rest.scores.value, whole.scores.value)
    assert np.allclose(first.scores.obs_cum[:, -1] + rest.scores.obs_cum[:, -1], whole.scores.obs_cum[:, -1])
    assert np.array_equal(rest.final_cols, whole.final_cols)


def test_collected_statistics_count_every_play_under_its_actual_state():
    inst = _instance("recharging", True, 0)
    plan = plan_rounding(inst, "pcs_offset_rounding_reconstructed", 3, seed=1)
    res = run_plan(inst, plan, 60, noise="bernoulli", seed=1, store=True, collect=True)
    cnt, sums = res.stats
    for b in range(3):
        st = inst.init.copy()
        want = np.zeros_like(cnt[b])
        for row in res.masks[b]:
            want[np.flatnonzero(row), st[row == 1]] += 1
            st = inst.advance(st, row)
        assert np.array_equal(cnt[b], want)
    assert np.allclose(sums.sum(axis=(1, 2)), res.scores.obs_cum[:, -1])


def _signed_order(s, tau):
    return np.where(s < 0, s + tau, s + tau - 1)


@pytest.mark.parametrize("seed", range(6))
def test_mirroring_lemma_actual_state_never_below_the_virtual_one(seed):
    """Spec §12.8: with a +tau_max start and idling allowed, actual plays are virtual plays and the actual state
    is at least the virtual state in the signed order, every round, every arm that has a type."""
    tau, T, n = 3, 80, 40
    inst = L.random_lsd(3 + seed % 2, tau, rng=seed, idle_allowed=True)
    plan = plan_rounding(inst, "lsd_mirroring_rounding_reconstructed", n, crs=("fair", "uniform")[seed % 2],
                         seed=seed)
    masks = run_plan(inst, plan, T, seed=seed, store=True).masks
    virt = virtual_lsd_states(plan, tau, T)
    t = np.arange(T)[None, :, None]
    wants = (plan.period[:, None] > 0) & ((t - plan.offset[:, None]) % np.maximum(plan.period[:, None], 1)
                                          < plan.width[:, None])
    assert not np.any((masks == 1) & ~wants)
    for b in range(n):
        st = inst.init.copy()
        for tt in range(T):
            act = inst.labels(st)
            has = plan.period[b] > 0
            assert np.all(_signed_order(act[has], tau) >= _signed_order(virt[b, tt, has], tau)), (b, tt)
            st = inst.advance(st, masks[b, tt])


@pytest.mark.parametrize("seed", range(4))
def test_mirroring_meets_one_minus_one_over_e_of_the_lp_on_monotone_full_instances(seed):
    """Spec §12.11 for 7.2: monotone_full payoffs, +tau_max start, idling allowed, the fair rule."""
    T, n = 60, 300
    inst = L.random_lsd(2 + seed % 3, 3, ("monotone_full", "parametric")[seed % 2], rng=seed, idle_allowed=True)
    assert L.is_monotone_full(inst)
    lp = lp_value(inst)
    plan = plan_rounding(inst, "lsd_mirroring_rounding_reconstructed", n, x=lp.x, seed=seed)
    v = run_plan(inst, plan, T, seed=seed).scores.value
    assert v.mean() >= E * T * lp.value - 4 * v.std(ddof=1) / math.sqrt(n), (v.mean(), E * T * lp.value)
    assert v.max() <= L.dp_opt(inst, T, schedule=False).value + 1e-9


@pytest.mark.parametrize("seed", range(4))
def test_independent_rounding_meets_one_minus_one_over_e_on_concave_instances(seed):
    """Spec §7.3: concave p with p(0) = 0 and a rested start: E[ALG(T)] >= (1 - 1/e) T LP*."""
    T, n = 80, 300
    inst = L.random_recharging(2 + seed % 3, 5, "concave", rng=seed)
    assert L.is_concave_recharging(inst)
    lp = lp_value(inst)
    for method in ("ki_independent_rounding", "ki_interleaved_rounding_reconstructed"):
        v = run_plan(inst, plan_rounding(inst, method, n, x=lp.x, seed=seed), T, seed=seed).scores.value
        bound = E * T * lp.value - 4 * v.std(ddof=1) / math.sqrt(n)
        if method == "ki_independent_rounding":
            assert v.mean() >= bound, (v.mean(), E * T * lp.value)
        assert v.max() <= L.dp_opt(inst, T, schedule=False).value + 1e-9


def test_geometric_gap_bound_of_independent_rounding():
    """E min(1, zG) = 1 - (1 - z)^(1/z) for z = 1/n and >= 1 - 1/e on a grid of z (spec §7.3)."""
    for z in np.linspace(0.01, 1.0, 100):
        g = np.arange(1, 20000)
        pmf = z * (1 - z) ** (g - 1)
        val = float(np.sum(pmf * np.minimum(1.0, z * g)))
        assert val >= E - 1e-9
    for n in range(1, 30):
        g = np.arange(1, 50000)
        pmf = (1 / n) * (1 - 1 / n) ** (g - 1)
        assert math.isclose(float(np.sum(pmf * np.minimum(1.0, g / n))), 1 - (1 - 1 / n) ** n, abs_tol=1e-9)


@pytest.mark.parametrize("seed", range(20))
def test_pow2_periodic_is_collision_free_and_periodic(seed):
    inst = L.random_recharging(2 + seed % 4, 6, ("monotone", "concave", "blocking")[seed % 3], rng=seed)
    plan = plan_rounding(inst, "pow2_periodic", 1)
    P, off = plan.period[0], plan.offset[0]
    act = P > 0
    assert np.sum(1.0 / P[act]) <= 1 + 1e-12
    assert np.all((P[act] & (P[act] - 1)) == 0)                 # powers of two
    T = 64
    req = [(t - off[act]) % P[act] == 0 for t in range(T)]
    assert all(r.sum() <= 1 for r in req)                        # never two requests in a round
    sched = L.rounding.pow2_periodic(inst, T)
    check_schedule(inst, sched)
    assert np.array_equal(sched[:, act].T, np.array(req).T.astype(np.uint8))


def test_planners_refuse_the_wrong_model_and_m():
    with pytest.raises(L.models.ParamError, match="lsd instance"):
        plan_rounding(L.random_recharging(2, 3, rng=0), "lsd_mirroring_rounding_reconstructed", 2)
    with pytest.raises(L.models.ParamError, match="crs"):
        plan_rounding(L.random_recharging(3, 3, rng=0, m=2), "pcs_offset_rounding_reconstructed", 2)
    for method in ("ki_independent_rounding", "ki_interleaved_rounding_reconstructed", "pow2_periodic"):
        with pytest.raises(L.models.ParamError, match="inst.m"):
            plan_rounding(L.random_recharging(3, 3, rng=0, m=2), method, 2, crs="uniform")
    with pytest.raises(L.models.ParamError, match="method"):
        plan_rounding(L.random_recharging(3, 3, rng=0), "nope", 2)


@pytest.mark.parametrize("m", [2, 3])
@pytest.mark.parametrize("idle", [True, False])
def test_offset_rounding_with_m_plays_matches_its_twin_and_the_play_rule(m, idle):
    T, n = 50, 6
    for seed in range(3):
        inst = L.random_recharging(4, 3, ("monotone", "blocking", "concave")[seed], rng=seed, m=m, idle_allowed=idle)
        plan = plan_rounding(inst, "pcs_offset_rounding_reconstructed", n, crs="uniform", seed=seed)
        res = run_plan(inst, plan, T, seed=seed, store=True)
        keys = counter_keys(seed, 0, n)
        for b in range(n):
            ref = reference.run_requests(inst, plan.mode, plan.period[b], plan.width[b], plan.offset[b], plan.q[b],
                                         plan.phase[b], T, int(keys[b]))
            assert np.array_equal(res.masks[b], np.array(ref, np.uint8)), (seed, b)
        check_schedule(inst, res.masks)               # at most m plays, exactly m without idling
        assert res.scores.value.max() <= L.dp_opt(inst, T, schedule=False).value + 1e-9
        if idle:                                      # with idling only requesters play
            per, off = plan.period[:, None, :], plan.offset[:, None, :]
            t = np.arange(T)[None, :, None]
            asked = (per > 0) & ((t - off) % np.maximum(per, 1) == 0)
            assert not np.any(res.masks.astype(bool) & ~asked)
            assert np.array_equal(res.masks.sum(axis=2), np.minimum(asked.sum(axis=2), m))


def test_m_subset_is_uniform_and_serves_at_least_c_m_of_the_requests():
    """All 5 arms request every round (x passed explicitly): each is served m / 5 of the rounds. With random
    periods and offsets the requests of a round are independent Bernoulli(q_i) with sum q = m, so the expected
    number served, E min(M, m), is at least c_m E M (correlation gap of the m-uniform matroid)."""
    k, T = 5, 4000
    for m in (2, 3):
        inst = L.random_recharging(k, 3, rng=m, m=m)
        x = np.zeros((k, 3))
        x[:, 0] = 1.0
        plan = plan_rounding(inst, "pcs_offset_rounding_reconstructed", 4, x=x, crs="uniform", seed=1)
        freq = run_plan(inst, plan, T, store=True).masks.mean(axis=(0, 1))
        assert np.allclose(freq, m / k, atol=4 * math.sqrt(m / k * (1 - m / k) / (4 * T)))
        lp = lp_value(inst)
        plan = plan_rounding(inst, "pcs_offset_rounding_reconstructed", 400, x=lp.x, crs="uniform", seed=2)
        plays = run_plan(inst, plan, 60, store=True).masks.sum(axis=2).mean()
        q = (lp.x / np.arange(1, 4)).sum()
        assert q == pytest.approx(m, abs=1e-7) or q < m
        assert plays >= c_m(m) * q - 0.05


def test_c_m_closed_form():
    from scipy.stats import poisson

    for m in range(1, 7):
        N = np.arange(0, 200)
        assert c_m(m) == pytest.approx(float(np.sum(poisson.pmf(N, m) * np.minimum(1.0, m / (1.0 + N)))), abs=1e-12)
    assert c_m(1) == pytest.approx(1 - 1 / math.e, abs=1e-15)
