"""Regret and regret bounds of STARC metrics (specs/starc-metrics.md §7, §11.9)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import regretlab.starc as starc
from regretlab.core.mdp import random_mdp, shaped_reward
from regretlab.starc import reference as ref

BOUND_CANONS = ["val", "minimal", "minimal_l2", "epic", "none", "val_potential", "minimal_potential"]
BOUND_NORMS = ["w_l2", "l1", "linf", "w_linf", "none"]


def instance(seed, S=3, A=2, gamma=0.9, branching=2):
    gen = np.random.default_rng(seed)
    tau = random_mdp(S, A, gen, gamma=gamma, branching=branching).P
    mu0 = gen.dirichlet(np.ones(S))  # full support
    return tau, mu0, gen


def equivalent(gen, R, tau, gamma):
    S, A = tau.shape[:2]
    X = gen.standard_normal(tau.shape)
    X -= (tau * X).sum(axis=-1, keepdims=True)
    return gen.uniform(0.1, 10) * shaped_reward(R, 5 * gen.standard_normal(S), gamma) + X + 2.0


def test_hand_computed_one_state_bandit():
    # S = 1, A = 2, tau = 1: J(a) = r(a) / (1 - gamma). R1 = (1, 0), R2 = (0, 1): the optimum of R2 is the worst
    # action of R1, so every regret is 1. C_VAL(R1) = r - mean(r) = (1/2, -1/2) = -C_VAL(R2): d = 2 (m = n = w_l2).
    # Bound: 2/(1-g) n(c(R1)) max|s1 - s2| = 2/(1-g) (1/sqrt 2) sqrt 2 = 2/(1-g) >= regret 1/(1-g).
    g = 0.8
    tau = np.ones((1, 2, 1))
    R1, R2 = np.array([[[1.0], [0.0]]]), np.array([[[0.0], [1.0]]])
    mu0 = np.ones(1)
    assert abs(starc.starc_distance(R1, R2, tau, g) - 2.0) < 1e-14
    assert starc.normalised_regret(R1, R2, tau, g, mu0) == 1.0
    assert starc.worst_case_regret(R1, R2, tau, g, mu0) == 1.0
    assert abs(starc.worst_case_regret(R1, R2, tau, g, mu0, method="lp") - 1.0) < 1e-9
    assert abs(starc.regret_upper_bound(R1, R2, tau, g) - 2.0 / (1 - g)) < 1e-12
    J, pols = starc.deterministic_returns(R1, tau, g, mu0)
    np.testing.assert_allclose(J, [1.0 / (1 - g), 0.0], atol=1e-14)
    np.testing.assert_array_equal(pols, [[0], [1]])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), gamma=st.sampled_from([0.5, 0.9, 0.97]), lam=st.floats(0.0, 1.0))
def test_upper_bound_holds_on_random_instances(seed, gamma, lam):
    """spec §7 / §11.9: J1(pi1) - J1(pi2) <= bound for every pi1 and pi2 optimal for R2 (and for the worst
    stochastic pair, found by the LP)."""
    tau, mu0, gen = instance(seed, S=3, A=2, gamma=gamma)
    R1 = gen.standard_normal((3, 2, 3))
    R2 = (1 - lam) * R1 + lam * gen.standard_normal((3, 2, 3))
    J1, _ = starc.deterministic_returns(R1, tau, gamma, mu0)
    rng1 = np.ptp(J1)
    regret_opt = starc.normalised_regret(R1, R2, tau, gamma, mu0) * rng1
    regret_worst = starc.worst_case_regret(R1, R2, tau, gamma, mu0, method="lp") * rng1
    assert regret_opt <= regret_worst + 1e-9 * max(1.0, rng1)
    for canon in BOUND_CANONS:
        for norm in BOUND_NORMS:
            b = starc.regret_upper_bound(R1, R2, tau, gamma, canon=canon, norm=norm)
            assert regret_worst <= b * (1 + 1e-9) + 1e-9, (canon, norm, regret_worst, b)


def test_upper_bound_cvxpy_canons_and_batches():
    tau, mu0, gen = instance(3, S=3, A=2)
    R1, R2 = gen.standard_normal((2, 4, 3, 2, 3))
    worst = starc.worst_case_regret(R1, R2, tau, 0.9, mu0, method="lp")
    J1, _ = starc.deterministic_returns(R1, tau, 0.9, mu0)
    for canon, norm in [("minimal_l1", "l1"), ("minimal_w_linf", "w_linf"), ("minimal_potential_l1", "l1")]:
        b = starc.regret_upper_bound(R1, R2, tau, 0.9, canon=canon, norm=norm)
        assert b.shape == (4,)
        assert np.all(worst * np.ptp(J1, axis=1) <= b * (1 + 1e-7))
    b = starc.regret_upper_bound(R1[0], R2, tau, 0.9)
    np.testing.assert_allclose(b, [starc.regret_upper_bound(R1[0], R2[i], tau, 0.9) for i in range(4)], atol=1e-13)


def test_upper_bound_refuses_dard_and_can_fail_there():
    tau, mu0, gen = instance(0)
    R = gen.standard_normal((3, 2, 3))
    with pytest.raises(ValueError, match="regret_upper_bound: canon must be a canonicalisation with R - c"):
        starc.regret_upper_bound(R, -R, tau, 0.9, canon="dard")


def test_regret_zero_when_equivalent_one_when_negated():
    for seed in range(5):
        tau, mu0, gen = instance(seed, S=4, A=2)
        R = gen.standard_normal((4, 2, 4))
        R2 = equivalent(gen, R, tau, 0.9)
        assert starc.starc_distance(R, R2, tau, 0.9) < 1e-9
        assert starc.normalised_regret(R, R2, tau, 0.9, mu0) < 1e-9
        assert starc.worst_case_regret(R, R2, tau, 0.9, mu0) < 1e-9
        assert starc.worst_case_regret(R, R2, tau, 0.9, mu0, method="lp") < 1e-7
        assert starc.regret_upper_bound(R, R2, tau, 0.9) < 1e-8
        assert abs(starc.normalised_regret(R, -R, tau, 0.9, mu0) - 1.0) < 1e-12
        assert abs(starc.worst_case_regret(R, -R, tau, 0.9, mu0) - 1.0) < 1e-12


def test_worst_case_methods_and_reference_returns():
    tau, mu0, gen = instance(7, S=3, A=3, branching=2)
    R1, R2 = gen.standard_normal((2, 6, 3, 3, 3))
    R2 = 0.8 * R1 + 0.2 * R2  # close pairs: the regret is not always the maximal 1
    enum = starc.worst_case_regret(R1, R2, tau, 0.9, mu0)
    lp = starc.worst_case_regret(R1, R2, tau, 0.9, mu0, method="lp")
    opt = starc.normalised_regret(R1, R2, tau, 0.9, mu0)
    assert np.all(opt <= enum + 1e-12) and np.all(enum <= lp + 1e-9)
    assert np.all((0 <= opt) & (lp <= 1 + 1e-9))
    J, _ = starc.deterministic_returns(R1, tau, 0.9, mu0)
    for b in range(6):
        np.testing.assert_allclose(J[b], ref.deterministic_returns(R1[b], tau, 0.9, mu0), rtol=0, atol=1e-12)
        # enumeration by brute force over all pairs of deterministic policies
        J2 = ref.deterministic_returns(R2[b], tau, 0.9, mu0)
        ok = J2[None, :] >= J2[:, None] - 1e-12  # [i, j]: pi2 = j allowed against pi1 = i
        brute = np.max(np.where(ok, J[b][:, None] - J[b][None, :], -np.inf)) / np.ptp(J[b])
        assert abs(brute - enum[b]) < 1e-12


def test_trivial_truth_has_zero_regret():
    tau, mu0, gen = instance(2)
    T = shaped_reward(np.zeros((3, 2, 3)), gen.standard_normal(3), 0.9) + 1.0
    R = gen.standard_normal((3, 2, 3))
    assert starc.normalised_regret(T, R, tau, 0.9, mu0) == 0.0
    assert starc.worst_case_regret(T, R, tau, 0.9, mu0) == 0.0
    assert starc.worst_case_regret(T, R, tau, 0.9, mu0, method="lp") == 0.0
    assert starc.regret_upper_bound(T, R, tau, 0.9) == 0.0


def test_empirical_bound_constants():
    """The estimates against the pairs rebuilt here from the documented sampling (seed 5: R1 ~ N(0, 1), lam ~
    U(0, 1), R2 = (1 - lam) R1 + lam R'), with d from the plain-Python reference and the deterministic-policy
    WCR by brute force over all pairs of deterministic policies."""
    tau, mu0, _ = instance(11, S=3, A=2)
    n = 24
    res = starc.empirical_bound_constants(tau, 0.9, mu0, n_samples=n, rng=5)
    enum = starc.empirical_bound_constants(tau, 0.9, mu0, n_samples=n, rng=5, method="enumerate")
    gen = np.random.default_rng(5)
    R1 = gen.standard_normal((n,) + tau.shape)
    lam = gen.random(n)[:, None, None, None]
    R2 = (1 - lam) * R1 + lam * gen.standard_normal((n,) + tau.shape)
    d = np.array([ref.starc_distance(R1[b], R2[b], tau, 0.9) for b in range(n)])
    brute = np.empty(n)
    for b in range(n):
        J1, J2 = ref.deterministic_returns(R1[b], tau, 0.9, mu0), ref.deterministic_returns(R2[b], tau, 0.9, mu0)
        ok = J2[None, :] >= J2[:, None] - 1e-12  # [i, j]: pi2 = j allowed against pi1 = i
        brute[b] = np.max(np.where(ok, J1[:, None] - J1[None, :], -np.inf)) / np.ptp(J1)
    assert np.all(d > 1e-8)                              # no pair skipped at this seed
    np.testing.assert_allclose(res.d, d, rtol=0, atol=1e-12)
    np.testing.assert_allclose(enum.wcr, brute, rtol=0, atol=1e-12)
    np.testing.assert_allclose(enum.ratio, brute / d, rtol=1e-10)
    assert enum.L_hat == pytest.approx(np.min(brute / d), rel=1e-10)
    assert enum.U_hat == pytest.approx(np.max(brute / d), rel=1e-10)
    # stochastic policy pairs include the deterministic ones: the LP's WCR is at least the brute force, at most 1
    assert np.all(res.wcr >= brute - 1e-9) and np.all(res.wcr <= 1 + 1e-9)
    np.testing.assert_allclose(res.ratio, res.wcr / d, rtol=1e-12)
    assert 0 < res.L_hat <= res.U_hat < np.inf


def test_policy_ordering_equivalent_against_reference_returns():
    tau, mu0, gen = instance(13, S=3, A=2)
    R = gen.standard_normal((3, 2, 3))
    R2 = equivalent(gen, R, tau, 0.9)
    assert starc.policy_ordering_equivalent(R, R2, tau, 0.9, mu0) is True
    assert starc.policy_ordering_equivalent(R, -R, tau, 0.9, mu0) is False
    J1, J2 = ref.deterministic_returns(R, tau, 0.9, mu0), ref.deterministic_returns(R2, tau, 0.9, mu0)
    a, c = np.polyfit(J1, J2, 1)
    assert a > 0 and np.abs(a * J1 + c - J2).max() < 1e-9 * np.ptp(J2)
    both = starc.policy_ordering_equivalent(np.stack([R, R]), np.stack([R2, -R]), tau, 0.9, mu0)
    np.testing.assert_array_equal(both, [True, False])
    T1 = shaped_reward(np.zeros((3, 2, 3)), gen.standard_normal(3), 0.9)
    assert starc.policy_ordering_equivalent(T1, 3.0 + 0 * T1, tau, 0.9, mu0) is True  # both trivial
    assert starc.policy_ordering_equivalent(T1, R, tau, 0.9, mu0) is False


def test_bad_inputs_name_the_parameter():
    tau, mu0, gen = instance(0)
    R = gen.standard_normal((3, 2, 3))
    with pytest.raises(ValueError, match="worst_case_regret: mu0 must be a distribution"):
        starc.worst_case_regret(R, R, tau, 0.9, np.ones(3))
    with pytest.raises(ValueError, match="worst_case_regret: method must be one of 'enumerate', 'lp'"):
        starc.worst_case_regret(R, R, tau, 0.9, mu0, method="brute")
    with pytest.raises(ValueError, match="normalised_regret: R2 must be an array of shape"):
        starc.normalised_regret(R, R[:2], tau, 0.9, mu0)
    with pytest.raises(ValueError, match="deterministic_returns: max_policies must be >= A\\*\\*S = 2\\*\\*3 = 8"):
        starc.deterministic_returns(R, tau, 0.9, mu0, max_policies=4)
    with pytest.raises(ValueError, match="regret_upper_bound: norm must be one of"):
        starc.regret_upper_bound(R, R, tau, 0.9, norm="l3")
    with pytest.raises(TypeError, match="empirical_bound_constants: rng must be"):
        starc.empirical_bound_constants(tau, 0.9, mu0, rng="seed")
    with pytest.raises(ValueError, match="empirical_bound_constants: n_samples must be an integer >= 1"):
        starc.empirical_bound_constants(tau, 0.9, mu0, n_samples=0)
