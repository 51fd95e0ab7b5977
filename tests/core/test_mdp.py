"""Tests for regretlab.core.mdp: closed forms, independent solvers (SciPy, brute force), kernel == NumPy,
theorem properties on random instances, and input validation."""
from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from regretlab.core import mdp

# ---------------------------------------------------------------------------------------------------
# Helpers (independent of the module under test)


def dense_value(P, r, gamma, pi):
    """V^pi by scipy.linalg.solve of (I - gamma P_pi) V = r_pi; pi (S, A) float."""
    S = P.shape[0]
    P_pi = np.einsum("sa,sat->st", pi, P)
    r_pi = np.einsum("sa,sa->s", pi, r)
    return scipy.linalg.solve(np.eye(S) - gamma * P_pi, r_pi)


def det_value(P, r, gamma, actions):
    return dense_value(P, r, gamma, np.eye(r.shape[1])[actions])


def random_policy(rng, S, A, size=()):
    return rng.dirichlet(np.ones(A), size=size + (S,))


def puterman_example():
    """The two-state example of [Puterman94, §3.1] (also QuantEcon's DiscreteDP docstring example).

    S = {0, 1}; at state 0: a=0 pays 5 and moves to 0 or 1 w.p. 1/2 each, a=1 pays 10 and moves to 1;
    at state 1 the only action pays -1 and stays (duplicated here as actions 0 and 1). gamma = 0.95.
    """
    P = np.array([[[0.5, 0.5], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]])
    r = np.array([[5.0, 10.0], [-1.0, -1.0]])
    return P, r, 0.95


# ---------------------------------------------------------------------------------------------------
# Closed forms


def test_puterman_two_state_closed_form():
    # Hand computation. State 1: V(1) = -1 + 0.95 V(1)  =>  V(1) = -1/0.05 = -20.
    # State 0, action 1: Q(0,1) = 10 + 0.95 * (-20) = -9.
    # State 0, action 0: V(0) = 5 + 0.95 (0.5 V(0) + 0.5 V(1))  =>  0.525 V(0) = 5 - 9.5  =>  V(0) = -60/7.
    # -60/7 = -8.571... > -9, so action 0 is optimal: V* = (-60/7, -20), Q*(0, .) = (-60/7, -9).
    P, r, gamma = puterman_example()
    V_star = np.array([-60 / 7, -20.0])
    Q_star = np.array([[-60 / 7, -9.0], [-20.0, -20.0]])
    for res in (mdp.policy_iteration(P, r, gamma), mdp.value_iteration(P, r, gamma, tol=1e-11)):
        np.testing.assert_allclose(res.V, V_star, rtol=0, atol=1e-10)
        np.testing.assert_allclose(res.Q, Q_star, rtol=0, atol=1e-10)
        assert res.policy[0] == 0 and res.converged
    V, Q = mdp.optimal_values(P, r, gamma)
    np.testing.assert_allclose(V, V_star, atol=1e-12)
    np.testing.assert_allclose(Q, Q_star, atol=1e-12)

    # Policy a=1 at state 0: V = (-9, -20). The 50/50 policy at state 0:
    # V(0) = 0.5 (5 + 0.95 (0.5 V(0) + 0.5 V(1))) + 0.5 (10 + 0.95 V(1)) = 7.5 + 0.2375 V(0) + 0.7125 V(1)
    # => 0.7625 V(0) = 7.5 - 14.25  =>  V(0) = -6.75 / 0.7625.
    V, _ = mdp.policy_evaluation(P, r, gamma, np.array([1, 0]))
    np.testing.assert_allclose(V, [-9.0, -20.0], atol=1e-12)
    V, _ = mdp.policy_evaluation(P, r, gamma, np.array([[0.5, 0.5], [1.0, 0.0]]))
    np.testing.assert_allclose(V, [-6.75 / 0.7625, -20.0], atol=1e-12)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_puterman_value_iteration_sup_rule_count(backend):
    # Sup-norm rule with tol = 0.01 from V0 = 0: threshold 0.01 * 0.05 / 1.9. In state 1,
    # v^n(1) = -20 (1 - 0.95^n), so |D_n(1)| = 0.95^(n-1), which drops below the threshold first at
    # n = 162 (0.95^160 = 2.7e-4 > 2.63e-4 > 0.95^161); QuantEcon's DiscreteDP docstring reports the same
    # 162 iterations and v = (-8.5665053, -19.99507673) for this example.
    P, r, gamma = puterman_example()
    res = mdp.value_iteration(P, r, gamma, tol=0.01, stopping="sup", backend=backend)
    assert res.n_iter == 162 and res.converged
    np.testing.assert_allclose(res.V[1], -20 * (1 - 0.95**162), rtol=1e-12)
    np.testing.assert_allclose(res.V, [-8.5665053, -19.99507673], atol=1e-7)
    # Puterman Thm 6.3.1: ||V - V*|| < tol/2.
    assert np.max(np.abs(res.V - [-60 / 7, -20])) < 0.005


def test_gamma_zero_is_one_step():
    rng = np.random.default_rng(3)
    m = mdp.random_mdp(5, 3, rng, gamma=0.0)
    res = mdp.value_iteration(m.P, m.r, 0.0)
    assert res.n_iter == 1
    np.testing.assert_allclose(res.V, m.r.max(axis=1), atol=1e-15)
    np.testing.assert_allclose(mdp.policy_iteration(m.P, m.r, 0.0).V, m.r.max(axis=1), atol=1e-15)


# ---------------------------------------------------------------------------------------------------
# Discounted planning vs independent solvers


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("branching", [None, 2])
def test_vi_pi_dense_solve_agree(seed, branching):
    rng = np.random.default_rng(seed)
    S, A, B, gamma = 7, 3, 5, [0.5, 0.9, 0.95, 0.99][seed]
    m = mdp.random_mdp(S, A, rng, gamma=gamma, branching=branching)
    r = np.concatenate([m.r[None], rng.standard_normal((B - 1, S, A))])
    vi = mdp.value_iteration(m.P, r, gamma, tol=1e-10)
    pi = mdp.policy_iteration(m.P, r, gamma)
    assert vi.V.shape == (B, S) and vi.policy.shape == (B, S) and vi.converged.all() and pi.converged.all()
    np.testing.assert_allclose(vi.V, pi.V, rtol=0, atol=1e-8)
    for b in range(B):
        # V* solves the Bellman equation of its greedy policy (dense scipy solve) ...
        np.testing.assert_allclose(det_value(m.P, r[b], gamma, pi.policy[b]), pi.V[b], rtol=0, atol=1e-9)
        np.testing.assert_allclose(det_value(m.P, r[b], gamma, vi.policy[b]), pi.V[b], rtol=0, atol=1e-8)
        # ... and the Bellman optimality equation V = max_a (r + gamma P V).
        TV = (r[b] + gamma * np.einsum("sat,t->sa", m.P, pi.V[b])).max(axis=1)
        np.testing.assert_allclose(TV, pi.V[b], rtol=0, atol=1e-9)


def test_optimum_is_max_over_all_deterministic_policies():
    rng = np.random.default_rng(11)
    S, A, gamma = 4, 3, 0.8
    m = mdp.random_mdp(S, A, rng, gamma=gamma, reward="uniform")
    pols = mdp.all_deterministic_policies(S, A)
    assert pols.shape == (A**S, S)
    assert [tuple(p) for p in pols] == list(itertools.product(range(A), repeat=S))
    V_all = np.stack([det_value(m.P, m.r, gamma, p) for p in pols])
    V_star, _ = mdp.optimal_values(m.P, m.r, gamma)
    np.testing.assert_allclose(V_all.max(axis=0), V_star, atol=1e-12)
    # the batched evaluation of all policies agrees with the loop
    V_b, _ = mdp.policy_evaluation(m.P, m.r, gamma, pols)
    np.testing.assert_allclose(V_b, V_all, atol=1e-12)


@pytest.mark.parametrize("stopping", ["span", "sup"])
@pytest.mark.parametrize("gamma", [0.3, 0.9, 0.99])
def test_value_iteration_guarantee(stopping, gamma):
    rng = np.random.default_rng(int(gamma * 100))
    S, A, B, tol = 6, 3, 8, 1e-4
    m = mdp.random_mdp(S, A, rng, gamma=gamma, branching=3)
    r = 3.0 * rng.standard_normal((B, S, A))
    V_star = mdp.optimal_values(m.P, r, gamma).V
    res = mdp.value_iteration(m.P, r, gamma, tol=tol, stopping=stopping)
    assert res.converged.all() and res.stopping == stopping
    err = np.abs(res.V - V_star).max(axis=1)
    assert np.all(err <= res.error_bound + 1e-12)
    assert np.all(res.error_bound < tol / 2)
    for b in range(B):  # the greedy policy is tol-optimal
        assert np.all(det_value(m.P, r[b], gamma, res.policy[b]) >= V_star[b] - tol)
    # stopped early: not converged, but the a-posteriori bound still holds
    early = mdp.value_iteration(m.P, r, gamma, tol=1e-12, max_iter=3, stopping=stopping)
    assert not early.converged.any() and np.all(early.n_iter == 3)
    assert np.all(np.abs(early.V - V_star).max(axis=1) <= early.error_bound + 1e-12)


def test_span_rule_is_faster_near_one():
    rng = np.random.default_rng(5)
    m = mdp.random_mdp(8, 2, rng, gamma=0.999)
    span = mdp.value_iteration(m.P, m.r, m.gamma, tol=1e-6, stopping="span")
    sup = mdp.value_iteration(m.P, m.r, m.gamma, tol=1e-6, stopping="sup")
    V_star = mdp.optimal_values(m.P, m.r, m.gamma).V
    assert span.n_iter < sup.n_iter / 10
    assert np.abs(span.V - V_star).max() < 5e-7 and np.abs(sup.V - V_star).max() < 5e-7


@pytest.mark.parametrize("stopping", ["span", "sup"])
def test_value_iteration_numba_equals_numpy(stopping):
    rng = np.random.default_rng(2)
    S, A = 9, 4
    m = mdp.random_mdp(S, A, rng, gamma=0.9, branching=4)
    r = rng.standard_normal((2, 3, S, A))  # two batch axes
    V0 = rng.standard_normal(S)
    a = mdp.value_iteration(m.P, r, 0.9, tol=1e-9, stopping=stopping, V0=V0, backend="numba")
    b = mdp.value_iteration(m.P, r, 0.9, tol=1e-9, stopping=stopping, V0=V0, backend="numpy")
    assert a.V.shape == (2, 3, S) and a.n_iter.shape == (2, 3)
    np.testing.assert_allclose(a.V, b.V, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.Q, b.Q, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(a.policy, b.policy)
    np.testing.assert_array_equal(a.n_iter, b.n_iter)
    # the bound is gamma/(1-gamma) times a difference of nearly equal iterates: equal to rounding of V
    np.testing.assert_allclose(a.error_bound, b.error_bound, rtol=0, atol=1e-12)


def test_unbatched_result_fields_are_scalars():
    P, r, gamma = puterman_example()
    res = mdp.value_iteration(P, r, gamma)
    assert isinstance(res, dict) and res["V"] is res.V
    assert np.ndim(res.n_iter) == 0 and np.ndim(res.converged) == 0 and np.ndim(res.error_bound) == 0
    assert res.V.shape == (2,) and res.policy.dtype == np.int64
    assert "V=" in repr(res)
    with pytest.raises(AttributeError):
        _ = res.nonexistent


# ---------------------------------------------------------------------------------------------------
# Policy evaluation


def test_policy_evaluation_matches_scipy_with_broadcasting():
    rng = np.random.default_rng(7)
    S, A, gamma = 6, 3, 0.9
    m = mdp.random_mdp(S, A, rng, gamma=gamma, reward="sparse")
    pis = random_policy(rng, S, A, (4,))
    rs = rng.standard_normal((4, S, A))

    V, Q = mdp.policy_evaluation(m.P, m.r, gamma, pis[0])  # unbatched
    np.testing.assert_allclose(V, dense_value(m.P, m.r, gamma, pis[0]), atol=1e-12)
    np.testing.assert_allclose(Q, m.r + gamma * np.einsum("sat,t->sa", m.P, V), atol=1e-12)
    np.testing.assert_allclose(mdp.q_from_v(m.P, m.r, gamma, V), Q, atol=1e-13)
    np.testing.assert_allclose((pis[0] * Q).sum(axis=1), V, atol=1e-12)  # V = sum_a pi Q

    cases = [  # (pi, r, expected V per batch element)
        (pis, m.r, [dense_value(m.P, m.r, gamma, p) for p in pis]),
        (pis[0], rs, [dense_value(m.P, x, gamma, pis[0]) for x in rs]),
        (pis, rs, [dense_value(m.P, x, gamma, p) for p, x in zip(pis, rs)]),
    ]
    for pi, r, want in cases:
        V, Q = mdp.policy_evaluation(m.P, r, gamma, pi)
        assert V.shape == (4, S) and Q.shape == (4, S, A)
        np.testing.assert_allclose(V, np.stack(want), atol=1e-12)
    # outer product of batches: pi (4, 1, S, A) x r (3, S, A) -> (4, 3, S)
    V, _ = mdp.policy_evaluation(m.P, rs[:3], gamma, pis[:, None])
    assert V.shape == (4, 3, S)
    np.testing.assert_allclose(V[2, 1], dense_value(m.P, rs[1], gamma, pis[2]), atol=1e-12)
    # integer (deterministic) policies equal their one-hot versions
    acts = rng.integers(0, A, size=(5, S))
    np.testing.assert_allclose(mdp.policy_evaluation(m.P, m.r, gamma, acts).V,
                               mdp.policy_evaluation(m.P, m.r, gamma, mdp.one_hot_policy(acts, A)).V)
    J = mdp.policy_return(m.P, m.r, gamma, pis, m.mu0)
    np.testing.assert_allclose(J, [m.mu0 @ dense_value(m.P, m.r, gamma, p) for p in pis], atol=1e-12)


def test_expected_reward_kinds():
    rng = np.random.default_rng(8)
    S, A = 4, 3
    P = mdp.random_mdp(S, A, rng, gamma=0.5).P
    R = rng.standard_normal((S, A, S))
    want = np.array([[sum(P[s, a, t] * R[s, a, t] for t in range(S)) for a in range(A)] for s in range(S)])
    np.testing.assert_allclose(mdp.expected_reward(P, R), want, atol=1e-14)
    Rb = rng.standard_normal((2, S, A, S))
    np.testing.assert_allclose(mdp.expected_reward(P, Rb)[1], mdp.expected_reward(P, Rb[1]))
    Rsa = rng.standard_normal((S, A))
    np.testing.assert_array_equal(mdp.expected_reward(P, Rsa), Rsa)
    Rs = rng.standard_normal(S)
    np.testing.assert_array_equal(mdp.expected_reward(P, Rs), np.repeat(Rs[:, None], A, axis=1))
    # S == A: a batch of S state rewards looks like one R[s, a]; kind= disambiguates
    P2 = mdp.random_mdp(3, 3, rng, gamma=0.5).P
    Rs_batch = rng.standard_normal((3, 3))
    np.testing.assert_array_equal(mdp.expected_reward(P2, Rs_batch), Rs_batch)
    out = mdp.expected_reward(P2, Rs_batch, kind="s")
    assert out.shape == (3, 3, 3)
    np.testing.assert_array_equal(out[1], np.repeat(Rs_batch[1][:, None], 3, axis=1))
    for kind, R_ in (("sas", R), ("sa", Rsa), ("s", Rs)):
        m = mdp.FiniteMDP(P, R_, 0.9)
        assert m.reward_kind == kind
        np.testing.assert_allclose(m.r, mdp.expected_reward(P, R_))


def test_greedy_helpers():
    Q = np.array([[1.0, 3.0, 3.0 - 1e-12], [0.0, -1.0, -2.0]])
    np.testing.assert_array_equal(mdp.greedy_policy(Q), [1, 0])
    np.testing.assert_allclose(mdp.uniform_greedy_policy(Q), [[0, 0.5, 0.5], [1, 0, 0]])
    np.testing.assert_allclose(mdp.uniform_greedy_policy(Q, atol=0.0), [[0, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(mdp.one_hot_policy(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])


# ---------------------------------------------------------------------------------------------------
# Occupancy measures


def test_discounted_occupancy_identities():
    rng = np.random.default_rng(9)
    S, A, gamma = 6, 3, 0.85
    m = mdp.random_mdp(S, A, rng, gamma=gamma, branching=3)
    mu0 = rng.dirichlet(np.ones(S))
    pis = random_policy(rng, S, A, (5,))
    d = mdp.discounted_occupancy(m.P, gamma, pis, mu0)
    assert d.shape == (5, S, A)
    np.testing.assert_allclose(d.sum(axis=(1, 2)), 1.0, atol=1e-12)
    assert d.min() >= 0
    V, _ = mdp.policy_evaluation(m.P, m.r, gamma, pis)
    np.testing.assert_allclose(mdp.value_from_occupancy(d, m.r, gamma), V @ mu0, atol=1e-11)
    # Bellman flow: sum_a d(s', a) = (1 - gamma) mu0(s') + gamma sum_{s,a} P[s, a, s'] d(s, a)
    np.testing.assert_allclose(d.sum(axis=2), (1 - gamma) * mu0 + gamma * np.einsum("sat,bsa->bt", m.P, d),
                               atol=1e-13)
    # against the truncated series (1 - gamma) sum_t gamma^t Pr[s_t = s, a_t = a]
    P_pi = np.einsum("sa,sat->st", pis[0], m.P)
    rho, x = np.zeros(S), mu0.copy()
    for t in range(400):
        rho += gamma**t * x
        x = x @ P_pi
    np.testing.assert_allclose(d[0], (1 - gamma) * rho[:, None] * pis[0], atol=1e-13)
    np.testing.assert_allclose(mdp.policy_from_occupancy(d), pis, atol=1e-12)


@pytest.mark.parametrize("time_dependent", [False, True])
def test_finite_horizon_occupancy(time_dependent):
    rng = np.random.default_rng(10)
    S, A, H = 5, 3, 4
    P = rng.dirichlet(np.ones(S), size=(H, S, A) if time_dependent else (S, A))
    r = rng.standard_normal((H, S, A))
    mu0 = rng.dirichlet(np.ones(S))
    pi = random_policy(rng, S, A, (2, H))  # a batch of 2 time-dependent policies
    q = mdp.finite_horizon_occupancy(P, pi, mu0, H if not time_dependent else None)
    q_nb = mdp.finite_horizon_occupancy(P, pi, mu0, H, backend="numba")
    q_np = mdp.finite_horizon_occupancy(P, pi, mu0, H, backend="numpy")
    np.testing.assert_allclose(q_nb, q_np, rtol=0, atol=1e-15)
    np.testing.assert_allclose(q, q_np, rtol=0, atol=1e-15)
    assert q.shape == (2, H, S, A)
    np.testing.assert_allclose(q.sum(axis=(2, 3)), 1.0, atol=1e-13)
    np.testing.assert_allclose(q[:, 0].sum(axis=2), np.broadcast_to(mu0, (2, S)), atol=1e-15)
    for h in range(H - 1):  # flow: next-step state marginal = q_h pushed through P_h
        Ph = P[h] if time_dependent else P
        np.testing.assert_allclose(q[:, h + 1].sum(axis=2), np.einsum("bsa,sat->bt", q[:, h], Ph), atol=1e-14)
    V, Q = mdp.finite_horizon_policy_evaluation(P, r, pi, H)
    np.testing.assert_allclose(mdp.value_from_occupancy(q, r), V[:, 0] @ mu0, atol=1e-12)
    np.testing.assert_allclose(V, (pi * Q).sum(axis=-1), atol=1e-13)
    # stationary reward broadcasts over h
    V2, _ = mdp.finite_horizon_policy_evaluation(P, r[0], pi, H)
    np.testing.assert_allclose(mdp.value_from_occupancy(q, r[0]), V2[:, 0] @ mu0, atol=1e-12)


# ---------------------------------------------------------------------------------------------------
# Finite horizon: backward induction vs brute force


def brute_force_finite_horizon(P, r, H, maximize):
    """Best value per start state over all (A^S)^H deterministic Markov policies, by forward recursion."""
    S, A = r.shape[-2:]
    Ph = (lambda h: P[h]) if P.ndim == 4 else (lambda h: P)
    rh = (lambda h: r[h]) if r.ndim == 3 else (lambda h: r)
    best = np.full(S, -np.inf if maximize else np.inf)
    for plan in itertools.product(itertools.product(range(A), repeat=S), repeat=H):
        for s0 in range(S):
            dist, total = np.eye(S)[s0], 0.0
            for h in range(H):
                acts = np.array(plan[h])
                total += dist @ rh(h)[np.arange(S), acts]
                dist = dist @ Ph(h)[np.arange(S), acts]
            best[s0] = max(best[s0], total) if maximize else min(best[s0], total)
    return best


@pytest.mark.parametrize("time_dependent", [False, True])
@pytest.mark.parametrize("maximize", [True, False])
def test_backward_induction_brute_force(time_dependent, maximize):
    rng = np.random.default_rng(12 + time_dependent)
    S, A, H = 3, 2, 3
    P = rng.dirichlet(np.ones(S), size=(H, S, A) if time_dependent else (S, A))
    r = rng.standard_normal((H, S, A) if time_dependent else (S, A))
    res = mdp.backward_induction(P, r, H, maximize=maximize)
    assert res.V.shape == (H, S) and res.Q.shape == (H, S, A) and res.policy.shape == (H, S)
    np.testing.assert_allclose(res.V[0], brute_force_finite_horizon(P, r, H, maximize), atol=1e-12)
    # its policy attains V (evaluation of the returned policy)
    V, _ = mdp.finite_horizon_policy_evaluation(P, r, res.policy, H)
    np.testing.assert_allclose(V, res.V, atol=1e-13)


def test_backward_induction_numba_equals_numpy_batched():
    rng = np.random.default_rng(14)
    S, A, H, B = 6, 3, 5, 4
    P = rng.dirichlet(np.ones(S), size=(H, S, A))
    r = rng.standard_normal((B, H, S, A))
    term = rng.standard_normal((B, S))
    for maximize in (True, False):
        a = mdp.backward_induction(P, r, maximize=maximize, terminal_value=term, backend="numba")
        b = mdp.backward_induction(P, r, maximize=maximize, terminal_value=term, backend="numpy")
        assert a.V.shape == (B, H, S)
        np.testing.assert_allclose(a.V, b.V, rtol=0, atol=1e-13)
        np.testing.assert_allclose(a.Q, b.Q, rtol=0, atol=1e-13)
        np.testing.assert_array_equal(a.policy, b.policy)
        one = mdp.backward_induction(P, r[2], maximize=maximize, terminal_value=term[2])
        np.testing.assert_allclose(one.V, a.V[2], atol=1e-14)
    # max of r equals -(min of -r)
    np.testing.assert_allclose(mdp.backward_induction(P, r).V,
                               -mdp.backward_induction(P, -r, maximize=False).V,
                               atol=1e-13)


def test_finite_horizon_matches_discounted_limit():
    # With r_h = gamma^h r and a long horizon, backward induction approaches V*.
    rng = np.random.default_rng(15)
    m = mdp.random_mdp(5, 2, rng, gamma=0.5)
    H = 80
    r_h = (m.gamma ** np.arange(H))[:, None, None] * m.r
    res = mdp.backward_induction(m.P, r_h)
    np.testing.assert_allclose(res.V[0], mdp.optimal_values(m.P, m.r, m.gamma).V, atol=1e-12)


def test_layered_mdp():
    L = mdp.random_layered_mdp([1, 3, 4, 2], 3, 21, branching=2)
    assert L.horizon == 4 and L.n_states == 10 and L.n_actions == 3
    np.testing.assert_array_equal(L.offsets, [0, 1, 4, 8, 10])
    np.testing.assert_array_equal(L.layer_of, [0, 1, 1, 1, 2, 2, 2, 2, 3, 3])
    assert L.layer(2) == slice(4, 8) and L.mu0[0] == 1.0
    for h in range(L.horizon - 1):  # transitions go to the next layer only, <= 2 successors
        rows = L.P[L.layer(h)]
        np.testing.assert_allclose(rows[..., L.layer(h + 1)].sum(-1), 1.0, atol=1e-14)
        assert ((rows > 0).sum(-1) <= 2).all()
    assert 0.0 <= L.r.min() and L.r.max() < 1.0
    res = mdp.backward_induction(L.P, L.r, L.horizon, maximize=False)
    q = mdp.finite_horizon_occupancy(L.P, res.policy, L.mu0, L.horizon)
    for h in range(L.horizon):
        np.testing.assert_allclose(q[h, L.layer(h)].sum(), 1.0, atol=1e-14)
    np.testing.assert_allclose(mdp.value_from_occupancy(q, L.r), res.V[0, 0], atol=1e-13)
    # the benchmark is at most the loss of any other policy (here: uniform)
    V_unif, _ = mdp.finite_horizon_policy_evaluation(L.P, L.r, np.full((10, 3), 1 / 3), L.horizon)
    assert res.V[0, 0] <= V_unif[0, 0] + 1e-12


# ---------------------------------------------------------------------------------------------------
# Properties on random instances (hypothesis)

mdp_params = st.tuples(st.integers(0, 2**32 - 1), st.integers(1, 5), st.integers(1, 4),
                       st.floats(0.0, 0.97))


@settings(max_examples=30, deadline=None)
@given(mdp_params, st.floats(-10, 10), st.floats(0.1, 10))
def test_affine_reward_transform(params, c, scale):
    seed, S, A, gamma = params
    m = mdp.random_mdp(S, A, seed, gamma=gamma)
    V, Q = mdp.optimal_values(m.P, m.r, gamma)
    V2, Q2 = mdp.optimal_values(m.P, scale * m.r + c, gamma)
    # V*(scale r + c) = scale V*(r) + c / (1 - gamma); the advantages scale, so the optimal set is unchanged
    np.testing.assert_allclose(V2, scale * V + c / (1 - gamma), rtol=1e-9, atol=1e-8)
    np.testing.assert_allclose(Q2 - V2[:, None], scale * (Q - V[:, None]), rtol=1e-9, atol=1e-8)


@settings(max_examples=30, deadline=None)
@given(mdp_params, st.integers(0, 2**32 - 1))
def test_potential_shaping_invariance(params, seed2):
    seed, S, A, gamma = params
    m = mdp.random_mdp(S, A, seed, gamma=gamma, reward_shape="sas")
    phi = 5 * np.random.default_rng(seed2).standard_normal(S)
    R2 = mdp.shaped_reward(m.R, phi, gamma)
    r2 = mdp.expected_reward(m.P, R2)
    V, Q = mdp.optimal_values(m.P, m.r, gamma)
    V2, Q2 = mdp.optimal_values(m.P, r2, gamma)
    # [NHR99]: Q*' = Q* - phi(s), so advantages and optimal policies are unchanged
    np.testing.assert_allclose(Q2, Q - phi[:, None], atol=1e-8)
    np.testing.assert_allclose(Q2 - V2[:, None], Q - V[:, None], atol=1e-8)
    gap = np.sort(Q, axis=1)
    clear = (gap[:, -1] - gap[:, -2] > 1e-6) if A > 1 else np.ones(S, bool)
    np.testing.assert_array_equal(mdp.greedy_policy(Q2)[clear], mdp.greedy_policy(Q)[clear])
    # and every policy's value moves by -phi: J'(pi) = J(pi) - mu0 . phi
    pi = np.full((S, A), 1 / A)
    np.testing.assert_allclose(mdp.policy_evaluation(m.P, r2, gamma, pi).V,
                               mdp.policy_evaluation(m.P, m.r, gamma, pi).V - phi, atol=1e-8)


@settings(max_examples=30, deadline=None)
@given(mdp_params)
def test_occupancy_and_vi_properties(params):
    seed, S, A, gamma = params
    rng = np.random.default_rng(seed)
    m = mdp.random_mdp(S, A, rng, gamma=gamma, branching=int(rng.integers(1, S + 1)), reward="uniform")
    pi = random_policy(rng, S, A)
    d = mdp.discounted_occupancy(m.P, gamma, pi, m.mu0)
    np.testing.assert_allclose(d.sum(), 1.0, atol=1e-12)
    np.testing.assert_allclose(mdp.value_from_occupancy(d, m.r, gamma),
                               mdp.policy_return(m.P, m.r, gamma, pi, m.mu0),
                               atol=1e-10)
    vi = mdp.value_iteration(m.P, m.r, gamma, tol=1e-9, backend="numpy")
    V_star = mdp.optimal_values(m.P, m.r, gamma).V
    assert vi.converged and np.abs(vi.V - V_star).max() <= vi.error_bound + 1e-12
    # rewards in [0, 1): values in [0, 1/(1 - gamma))
    assert V_star.min() >= -1e-12 and V_star.max() <= 1 / (1 - gamma) + 1e-12


# ---------------------------------------------------------------------------------------------------
# Generators


def test_generators_are_reproducible_and_shaped():
    a = mdp.random_mdp(5, 2, 123, gamma=0.9)
    b = mdp.random_mdp(5, 2, np.random.SeedSequence(123), gamma=0.9)
    c = mdp.random_mdp(5, 2, np.random.default_rng(123), gamma=0.9)
    for x in (b, c):
        np.testing.assert_array_equal(a.P, x.P)
        np.testing.assert_array_equal(a.R, x.R)
    assert not np.array_equal(a.P, mdp.random_mdp(5, 2, 124, gamma=0.9).P)
    rng = np.random.default_rng(0)
    for shape, want in (("sas", (5, 2, 5)), ("sa", (5, 2)), ("s", (5,))):
        for reward in ("gaussian", "uniform", "sparse"):
            m = mdp.random_mdp(5, 2, rng, gamma=0.5, reward=reward, reward_shape=shape)
            assert m.R.shape == want and m.reward_kind == shape
    sparse = mdp.random_mdp(20, 3, rng, gamma=0.5, reward="sparse", sparse_density=0.1).R
    assert 0 < np.count_nonzero(sparse) < 0.2 * sparse.size
    m = mdp.random_mdp(10, 3, rng, gamma=0.5, branching=3)
    assert ((m.P > 0).sum(axis=-1) == 3).all()
    np.testing.assert_allclose(m.mu0, 0.1)
    assert not m.P.flags.writeable


# ---------------------------------------------------------------------------------------------------
# Validation: bad input raises, naming the function, the parameter and the rule


def test_finite_mdp_validation():
    P, r, _ = puterman_example()
    bad = P.copy()
    bad[1, 0] = [0.0, 0.9]
    with pytest.raises(ValueError, match=r"FiniteMDP: P\[1, 0, :\] must be a distribution .* 1e-10.*0\.9"):
        mdp.FiniteMDP(bad, r, 0.9)
    bad = P.copy()
    bad[0, 0] = [1.5, -0.5]
    with pytest.raises(ValueError, match=r"FiniteMDP: P\[\(0, 0, 1\)\] must be >= 0"):
        mdp.FiniteMDP(bad, r, 0.9)
    with pytest.raises(ValueError, match=r"FiniteMDP: gamma must be a finite number >= 0.0 and < 1.0, got 1"):
        mdp.FiniteMDP(P, r, 1.0)
    with pytest.raises(ValueError, match=r"FiniteMDP: R must be an array of shape \(2, 2, 2\), \(2, 2\) or"):
        mdp.FiniteMDP(P, np.zeros((3, 2)), 0.9)
    with pytest.raises(ValueError, match=r"FiniteMDP: mu0 must be a distribution over states"):
        mdp.FiniteMDP(P, r, 0.9, mu0=[0.5, 0.6])
    with pytest.raises(ValueError, match=r"FiniteMDP: P must be an array of shape \(S, A, S\)"):
        mdp.FiniteMDP(P[:, :, :1], r, 0.9)
    with pytest.raises(ValueError, match=r"FiniteMDP: R must be finite"):
        mdp.FiniteMDP(P, np.array([[1.0, np.nan], [0.0, 0.0]]), 0.9)


def test_function_validation():
    P, r, gamma = puterman_example()
    with pytest.raises(ValueError, match=r"policy_evaluation: pi\[1, :\] must be a distribution over act"):
        mdp.policy_evaluation(P, r, gamma, np.array([[0.5, 0.5], [0.5, 0.4]]))
    with pytest.raises(ValueError, match=r"policy_evaluation: pi\[1\] must be an action index in 0..1, got"):
        mdp.policy_evaluation(P, r, gamma, np.array([0, 2]))
    with pytest.raises(ValueError, match=r"policy_evaluation: r must be an array of shape \(\.\.\., 2, 2\)"):
        mdp.policy_evaluation(P, r[:, :1], gamma, np.array([0, 0]))
    with pytest.raises(ValueError, match=r"policy_evaluation: batch axes must be broadcastable"):
        mdp.policy_evaluation(P, np.zeros((3, 2, 2)), gamma, np.full((4, 2, 2), 0.5))
    with pytest.raises(ValueError, match=r"value_iteration: tol must be a finite number > 0.0, got 0.0"):
        mdp.value_iteration(P, r, gamma, tol=0.0)
    with pytest.raises(ValueError, match=r"value_iteration: stopping must be one of 'span', 'sup' "
                                         r"\(did you mean 'span'\?\)"):
        mdp.value_iteration(P, r, gamma, stopping="spam")
    with pytest.raises(ValueError, match=r"value_iteration: max_iter must be an integer >= 1, got 0"):
        mdp.value_iteration(P, r, gamma, max_iter=0)
    with pytest.raises(ValueError, match=r"value_iteration: backend must be one of"):
        mdp.value_iteration(P, r, gamma, backend="gpu")
    with pytest.raises(ValueError, match=r"value_iteration: gamma must be a finite number >= 0.0 and < 1.0"):
        mdp.value_iteration(P, r, -0.1)
    with pytest.raises(ValueError, match=r"backward_induction: horizon must be an integer >= 1 when neither"):
        mdp.backward_induction(P, r)
    with pytest.raises(ValueError, match=r"backward_induction: horizon must be the same in every argument "
                                         r"\(horizon = 3, r.shape\[-3\] = 4\)"):
        mdp.backward_induction(P, np.zeros((4, 2, 2)), 3)
    with pytest.raises(TypeError, match=r"backward_induction: maximize must be true or false"):
        mdp.backward_induction(P, r, 2, maximize="yes")
    with pytest.raises(ValueError, match=r"discounted_occupancy: mu0 must be a distribution over states"):
        mdp.discounted_occupancy(P, gamma, np.array([0, 0]), [0.7, 0.7])
    with pytest.raises(ValueError, match=r"shaped_reward: R must be an array of shape \(\.\.\., 3, A, 3\)"):
        mdp.shaped_reward(np.zeros((2, 2, 2)), np.zeros(3), 0.9)
    with pytest.raises(ValueError, match=r"expected_reward: R must be an array of shape \(\.\.\., 2, 2, 2\), "
                                         r"\(\.\.\., 2, 2\) or \(\.\.\., 2\)"):
        mdp.expected_reward(P, np.zeros(3))
    with pytest.raises(ValueError, match=r"expected_reward: kind must be one of 'sas', 'sa', 's'"):
        mdp.expected_reward(P, r, kind="as")
    with pytest.raises(ValueError, match=r"all_deterministic_policies: n_actions\*\*n_states must be <= "
                                         r"max_count = 1048576"):
        mdp.all_deterministic_policies(30, 2)


def test_generator_validation():
    with pytest.raises(TypeError, match=r"random_mdp: rng must be a numpy.random.Generator, SeedSequence or "
                                        r"int seed >= 0 \(no default and never the global random state.*\), got None"):
        mdp.random_mdp(3, 2, None, gamma=0.9)
    with pytest.raises(ValueError, match=r"random_mdp: branching must be an integer >= 1 and <= 3, got 4"):
        mdp.random_mdp(3, 2, 0, gamma=0.9, branching=4)
    with pytest.raises(ValueError, match=r"random_mdp: reward must be one of .*did you mean 'gaussian'"):
        mdp.random_mdp(3, 2, 0, gamma=0.9, reward="gausian")
    with pytest.raises(ValueError, match=r"random_mdp: dirichlet_alpha must be a finite number > 0.0"):
        mdp.random_mdp(3, 2, 0, gamma=0.9, dirichlet_alpha=0)
    with pytest.raises(ValueError, match=r"random_layered_mdp: layer_sizes\[1\] must be an integer >= 1"):
        mdp.random_layered_mdp([1, 0], 2, 0)
    L = mdp.random_layered_mdp([1, 2, 2], 2, 0)
    P = np.array(L.P)
    P[0, 1] = 0.0
    P[0, 1, 4] = 1.0  # layer 0 -> layer 2: not layered
    with pytest.raises(ValueError, match=r"LayeredMDP: P\[0, 1, :\] must be supported on layer 1 \(states 1"):
        mdp.LayeredMDP(P, L.r, L.layer_sizes)


# ---------------------------------------------------------------------------------------------------
# Lazy compilation


def test_import_compiles_nothing():
    code = (
        "import sys, regretlab.core.mdp\n"
        "assert 'regretlab.core._mdp_kernels' not in sys.modules\n"
        "import regretlab.core._mdp_kernels as k\n"
        "assert all(not f.signatures for f in (k.value_iteration_batch, k.backward_induction_batch,\n"
        "           k.forward_occupancy_batch, k.bellman_sweep))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_uniform_greedy_policy_relative_tolerance():
    Q = np.array([[[1000.0, 1000.0 - 5e-7, 0.0]], [[1.0, 1.0 - 5e-7, 0.0]]])
    np.testing.assert_allclose(mdp.uniform_greedy_policy(Q, relative=True), [[[0.5, 0.5, 0]], [[1, 0, 0]]])
    np.testing.assert_allclose(mdp.uniform_greedy_policy(Q), [[[1, 0, 0]], [[1, 0, 0]]])
