"""Canonicalisations: batch vs reference loops, invariances, linearity, idempotence, closed forms vs
brute force and cvxpy (specs/starc-metrics.md §3, §10, §11.1-11.3, §11.6, §11.7, §11.10, §11.11)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starc_cases import instance, redistribution, shaping

import regretlab.starc as starc
from regretlab.core.mdp import policy_return
from regretlab.starc import reference as ref

EXACT = ["none", "epic", "dard", "val", "val_potential", "minimal", "minimal_w_l2", "minimal_l2",
         "minimal_potential", "minimal_potential_l2", "minimal_potential_w_l2"]
SHAPING_INVARIANT = [c for c in EXACT if c != "none"]
STARC_EXACT = ["val", "minimal", "minimal_l2"]  # linear canonicalisation functions
CVX = ["minimal_l1", "minimal_linf", "minimal_w_l1", "minimal_w_linf"]


def close(a, b, tol):
    scale = max(1.0, np.abs(a).max(), np.abs(b).max())
    np.testing.assert_allclose(a, b, rtol=0, atol=tol * scale)


# ---------------------------------------------------------------------------------------------------
# batch == reference loop (spec §11.10)


@pytest.mark.parametrize("canon", EXACT)
@pytest.mark.parametrize("S,A,gamma,branching", [(4, 3, 0.9, 2), (3, 2, 0.0, None), (1, 2, 0.5, None),
                                                 (5, 2, 0.99, 1)])
def test_batch_equals_reference(canon, S, A, gamma, branching):
    tau, gen = instance(S * 100 + A, S, A, gamma, branching)
    R = gen.standard_normal((4, S, A, S)) * gen.uniform(0.1, 10.0, size=(4, 1, 1, 1))
    C = starc.canonicalise(R, tau, gamma, canon)
    assert C.shape == R.shape and C.dtype == np.float64
    for b in range(4):
        close(C[b], ref.canonicalise(R[b], tau, gamma, canon), 1e-12)


def test_nonuniform_pi0_D_S_D_A_against_reference():
    tau, gen = instance(7)
    S, A = tau.shape[:2]
    R = gen.standard_normal((3, S, A, S))
    pi0 = gen.dirichlet(np.ones(A), size=S)
    D_S, D_A = gen.dirichlet(np.ones(S)), gen.dirichlet(np.ones(A))
    for b in range(3):
        close(starc.canon_val(R, tau, 0.8, pi0)[b], ref.canon_val(R[b], tau, 0.8, pi0), 1e-12)
        close(starc.canon_val_potential(R, tau, 0.8, pi0)[b], ref.canon_val_potential(R[b], tau, 0.8, pi0), 1e-12)
        close(starc.canon_epic(R, 0.8, D_S, D_A)[b], ref.canon_epic(R[b], 0.8, D_S, D_A), 1e-12)
        close(starc.canon_dard(R, tau, 0.8, D_A)[b], ref.canon_dard(R[b], tau, 0.8, D_A), 1e-12)
    # a deterministic pi0 given as integer actions equals its one-hot form
    acts = gen.integers(0, A, size=S)
    close(starc.canon_val(R, tau, 0.8, acts), starc.canon_val(R, tau, 0.8, np.eye(A)[acts]), 1e-14)


def test_single_reward_and_broadcast_forms():
    tau, gen = instance(3)
    S, A = tau.shape[:2]
    R = gen.standard_normal((S, A, S))
    assert starc.canon_val(R, tau, 0.9).shape == (S, A, S)
    assert starc.canon_val(R, tau, 0.9, compact=True).shape == (S, A)
    assert starc.canon_val(R[None], tau, 0.9, compact=True).shape == (1, S, A)
    r_sa, r_s = gen.standard_normal((S, A)), gen.standard_normal(S)
    # R[s, a] is broadcast over s'; R[s] is the reward of the current state (core.mdp convention)
    close(starc.canon_none(r_sa, tau), np.repeat(r_sa[:, :, None], S, axis=2), 0)
    close(starc.canon_none(r_s, tau), np.broadcast_to(r_s[:, None, None], (S, A, S)), 0)
    for canon in ("val", "minimal", "dard"):
        close(starc.canonicalise(r_sa, tau, 0.9, canon),
              starc.canonicalise(np.repeat(r_sa[:, :, None], S, axis=2), tau, 0.9, canon), 1e-14)
    close(starc.canon_epic(r_sa, 0.9), starc.canon_epic(np.repeat(r_sa[:, :, None], S, axis=2), 0.9), 1e-14)


def test_registry_dispatch_and_flags():
    tau, gen = instance(11, S=3, A=2)
    R = gen.standard_normal((2, 3, 2, 3))
    for name, spec in starc.CANONICALISATIONS.items():
        C = starc.canonicalise(R, tau, 0.9, name)
        assert C.shape == R.shape and np.all(np.isfinite(C)), name
        assert spec.name == name and spec.source and spec.summary
        if spec.is_canonicalisation:
            assert spec.linear and spec.shaping_only and not spec.uses_cvxpy
    assert starc.CANONICALISATIONS["dard"].shaping_only is False
    for name in CVX:
        assert starc.CANONICALISATIONS[name].uses_cvxpy and not starc.CANONICALISATIONS[name].linear
    with pytest.raises(TypeError):
        starc.CANONICALISATIONS["x"] = None  # read-only


# ---------------------------------------------------------------------------------------------------
# invariances (spec §11.1, §11.2), properties (§11.6)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), gamma=st.sampled_from([0.0, 0.5, 0.9, 0.99]), k=st.floats(-20, 20))
def test_shaping_and_constant_shift_invariance(seed, gamma, k):
    tau, gen = instance(seed, S=4, A=2, gamma=gamma)
    R = gen.standard_normal((4, 2, 4))
    R2 = R + shaping(gen, 4, 2, gamma) + k
    for canon in SHAPING_INVARIANT:
        close(starc.canonicalise(R2, tau, gamma, canon), starc.canonicalise(R, tau, gamma, canon), 1e-10)
    assert np.abs(starc.canonicalise(R2, tau, gamma, "none") - R).max() > 1e-3  # the test can fail


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_redistribution_kills_only_starc(seed):
    tau, gen = instance(seed, S=4, A=3, branching=3)
    R = gen.standard_normal((4, 3, 4))
    R2 = R + redistribution(gen, tau)
    for canon in STARC_EXACT:
        close(starc.canonicalise(R2, tau, 0.9, canon), starc.canonicalise(R, tau, 0.9, canon), 1e-10)
    for canon in ("epic", "dard", "val_potential", "minimal_potential"):
        diff = np.abs(starc.canonicalise(R2, tau, 0.9, canon) - starc.canonicalise(R, tau, 0.9, canon)).max()
        assert diff > 1e-3, canon


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31), a=st.floats(-5, 5), b=st.floats(-5, 5))
def test_linearity(seed, a, b):
    tau, gen = instance(seed)
    S, A = tau.shape[:2]
    R1, R2 = gen.standard_normal((2, S, A, S))
    for canon in EXACT:
        lhs = starc.canonicalise(a * R1 + b * R2, tau, 0.9, canon)
        rhs = a * starc.canonicalise(R1, tau, 0.9, canon) + b * starc.canonicalise(R2, tau, 0.9, canon)
        close(lhs, rhs, 1e-11)


@pytest.mark.parametrize("canon", ["val", "minimal", "minimal_l2", "minimal_potential", "minimal_potential_w_l2",
                                   "epic", "val_potential"])
def test_idempotent(canon):
    tau, gen = instance(5, S=5, A=3)
    R = gen.standard_normal((3, 5, 3, 5)) * 4
    C = starc.canonicalise(R, tau, 0.95, canon)
    close(starc.canonicalise(C, tau, 0.95, canon), C, 1e-11)


def test_dard_is_not_idempotent_but_shaping_invariant():
    # documents why DARD is excluded from the idempotence list: C_DARD(C_DARD(R)) != C_DARD(R) in general
    tau, gen = instance(6, S=4, A=2, branching=2)
    R = gen.standard_normal((4, 2, 4))
    C = starc.canon_dard(R, tau, 0.9)
    assert np.abs(starc.canon_dard(C, tau, 0.9) - C).max() > 1e-6


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31), k=st.floats(-10, 10))
def test_trivial_rewards_map_to_zero(seed, k):
    tau, gen = instance(seed)
    S, A = tau.shape[:2]
    T = shaping(gen, S, A, 0.9) + redistribution(gen, tau) + k
    for canon in STARC_EXACT:
        close(starc.canonicalise(T, tau, 0.9, canon), np.zeros_like(T), 1e-11)
    for canon in CVX:  # cvxpy: zero to solver accuracy
        assert np.abs(starc.canonicalise(T, tau, 0.9, canon)).max() <= 1e-7 * np.abs(T).max()
    assert np.abs(starc.canonicalise(T, tau, 0.9, "epic")).max() > 1e-3  # EPIC does not see redistribution


def test_val_structure():
    tau, gen = instance(9, S=5, A=3)
    R = gen.standard_normal((2, 5, 3, 5))
    pi0 = gen.dirichlet(np.ones(3), size=5)
    C = starc.canon_val(R, tau, 0.9, pi0)
    adv = starc.canon_val(R, tau, 0.9, pi0, compact=True)
    close(C, np.repeat(adv[..., None], 5, axis=-1), 0)  # broadcast fills every s', tau = 0 included
    close((pi0[None] * adv).sum(axis=-1), np.zeros((2, 5)), 1e-12)  # sum_a pi0 C_VAL = 0


# ---------------------------------------------------------------------------------------------------
# return identities (spec §11.7)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_return_identities(seed):
    tau, gen = instance(seed, S=4, A=3)
    S, A, g = 4, 3, 0.9
    R = gen.standard_normal((S, A, S)) + shaping(gen, S, A, g)
    mu0 = gen.dirichlet(np.ones(S))
    pi0 = gen.dirichlet(np.ones(A), size=S)
    pis = gen.dirichlet(np.ones(A), size=(6, S))
    r = (tau * R).sum(-1)

    def J(X, pi):
        return policy_return(tau, (tau * X).sum(-1), g, pi, mu0)

    Jr = J(R, pis)
    close(J(starc.canon_val(R, tau, g, pi0), pis), Jr - policy_return(tau, r, g, pi0, mu0), 1e-11)
    for canon in ["minimal", "minimal_l2"] + CVX:
        diff = J(starc.canonicalise(R, tau, g, canon), pis) - Jr
        tol = 1e-6 if canon in CVX else 1e-10
        assert np.ptp(diff) <= tol * max(1.0, np.abs(Jr).max()), canon


# ---------------------------------------------------------------------------------------------------
# minimal canonicalisation: closed form vs brute force, vs cvxpy, L1 / L-inf reductions (§3.2, §11.11)


@pytest.mark.parametrize("w_kind", ["tau", "uniform", "random"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_minimal_l2_equals_bruteforce_projection(w_kind, seed):
    tau, gen = instance(seed, S=4, A=2, gamma=0.95, branching=2)
    R = gen.standard_normal((3, 4, 2, 4)) * 3
    w = {"tau": tau, "uniform": np.ones_like(tau), "random": gen.uniform(0.2, 2.0, tau.shape)}[w_kind]
    C = starc.canon_minimal_l2(R, tau, 0.95, w=w)
    for b in range(3):
        close(C[b], ref.canon_minimal_l2_bruteforce(R[b], tau, 0.95, w), 1e-10)
    # minimality against the other representatives we know: C_VAL and R itself (same class)
    nw = np.sqrt((w * C**2).sum(axis=(1, 2, 3)))
    assert np.all(nw <= np.sqrt((w * starc.canon_val(R, tau, 0.95) ** 2).sum(axis=(1, 2, 3))) + 1e-12)
    assert np.all(nw <= np.sqrt((w * R**2).sum(axis=(1, 2, 3))) + 1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_minimal_l2_equals_cvxpy_projection(seed):
    # full problem (Phi and X free, E_tau X = 0) with SCS at eps 1e-10 (DESIGN §5); Clarabel's defaults
    # happen to agree to ~1e-14 on this small QP as well, checked below
    tau, gen = instance(seed, S=3, A=2, branching=2)
    R = gen.standard_normal((3, 2, 3))
    ones = np.ones_like(tau)
    C = starc.canon_minimal_l2(R, tau, 0.9, w="uniform")
    for solver, opts in (("SCS", {"eps": 1e-10}), ("CLARABEL", {})):
        val, Cc = ref.canon_minimal_full_cvxpy(R, tau, 0.9, "l2", ones, solver=solver, **opts)
        close(Cc, C, 1e-6)
        assert abs(val - starc.reward_norm(C, tau, "l2")) <= 1e-6
    # tau-weighted: the minimiser is unique on the support of tau only
    Ct = starc.canon_minimal_l2(R, tau, 0.9)
    val, Cc = ref.canon_minimal_full_cvxpy(R, tau, 0.9, "l2", tau, solver="SCS", eps=1e-10)
    close(np.where(tau > 0, Cc, 0.0), Ct, 1e-6)
    assert abs(val - starc.reward_norm(Ct, tau, "w_l2")) <= 1e-6


@pytest.mark.parametrize("p", ["l1", "linf"])
@pytest.mark.parametrize("w_kind", ["uniform", "tau"])
def test_minimal_l1_linf_reduction_equals_full_problem(p, w_kind):
    tau, gen = instance(21, S=3, A=2, branching=2)
    R = gen.standard_normal((3, 3, 2, 3)) * 2
    w = tau if w_kind == "tau" else np.ones_like(tau)
    name = ("w_" if w_kind == "tau" else "") + p
    C = starc.canon_minimal(R, tau, 0.9, norm=p, w=w_kind)
    assert np.array_equal(C, starc.canonicalise(R, tau, 0.9, f"minimal_{name}"))
    for b in range(3):
        full, _ = ref.canon_minimal_full_cvxpy(R[b], tau, 0.9, p, w)
        reduced = starc.reward_norm(C[b], tau, name)
        assert abs(reduced - full) <= 1e-6 * max(1.0, full)
        # c(R) is in R's class: R - c(R) in W (least-squares residual on the explicit basis of W)
        Bw = ref.zero_equivalent_basis(tau, 0.9)
        d = (R[b] - C[b]).reshape(-1)
        coef, *_ = np.linalg.lstsq(Bw, d, rcond=None)
        assert np.abs(Bw @ coef - d).max() <= 1e-7 * max(1.0, np.abs(d).max())
        # and minimal among representatives we know
        for other in ("val", "minimal", "minimal_l2", "none"):
            assert reduced <= starc.reward_norm(starc.canonicalise(R[b], tau, 0.9, other), tau, name) + 1e-7


def test_minimal_cvxpy_shaping_invariance_of_value():
    tau, gen = instance(4, S=4, A=2, branching=2)
    R = gen.standard_normal((4, 2, 4))
    R2 = 3.0 * (R + shaping(gen, 4, 2, 0.9)) + redistribution(gen, tau)
    for name in CVX:
        nm = name.removeprefix("minimal_")
        v1 = starc.reward_norm(starc.canonicalise(R, tau, 0.9, name), tau, nm)
        v2 = starc.reward_norm(starc.canonicalise(R2, tau, 0.9, name), tau, nm)
        assert abs(3.0 * v1 - v2) <= 1e-7 * v2


@pytest.mark.parametrize("norm", ["l1", "linf", "w_l1", "w_linf"])
def test_minimal_potential_cvxpy(norm):
    tau, gen = instance(8, S=3, A=2, branching=2)
    R = gen.standard_normal((2, 3, 2, 3))
    C = starc.canon_minimal_potential(R, tau, 0.9, norm=norm)
    for b in range(2):
        v = starc.reward_norm(C[b], tau, norm)
        v_ref = starc.reward_norm(ref.canon_minimal_potential(R[b], tau, 0.9, norm), tau, norm)
        assert abs(v - v_ref) <= 1e-6 * max(1.0, v_ref)
        for other in ("minimal_potential", "minimal_potential_w_l2", "val_potential", "none"):
            assert v <= starc.reward_norm(starc.canonicalise(R[b], tau, 0.9, other), tau, norm) + 1e-8
    # shaping only: C - R is a potential shaping (invariance of the optimal value)
    Cs = starc.canon_minimal_potential(R + shaping(gen, 3, 2, 0.9), tau, 0.9, norm=norm)
    for b in range(2):
        assert abs(starc.reward_norm(Cs[b], tau, norm) - starc.reward_norm(C[b], tau, norm)) <= 1e-7


def test_minimal_l1_tie_rule_w_tau_is_constant_on_support():
    # with w = tau every s' of the support ties in min w/tau: the mass is split to a constant on the support
    tau, gen = instance(2, S=4, A=2, branching=3)
    C = starc.canon_minimal(gen.standard_normal((4, 2, 4)), tau, 0.9, norm="l1")
    for s in range(4):
        for a in range(2):
            supp = tau[s, a] > 0
            assert np.ptp(C[s, a, supp]) <= 1e-12 and np.all(C[s, a, ~supp] == 0)


# ---------------------------------------------------------------------------------------------------
# validation at the API boundary: errors name the function and the parameter


def test_bad_inputs_name_the_parameter():
    tau, gen = instance(0)
    S, A = tau.shape[:2]
    R = gen.standard_normal((S, A, S))
    bad_tau = tau.copy()
    bad_tau[1, 0, :] *= 1.1
    with pytest.raises(ValueError, match=r"canon_val: tau\[1, 0, :\]"):
        starc.canon_val(R, bad_tau, 0.9)
    with pytest.raises(ValueError, match="canon_val: tau must be an array of shape"):
        starc.canon_val(R, tau[:, :, :2], 0.9)
    with pytest.raises(ValueError, match="gamma must be a finite number >= 0.0 and < 1.0"):
        starc.canon_val(R, tau, 1.0)
    with pytest.raises(ValueError, match="canon_minimal_l2: R must be an array of shape"):
        starc.canon_minimal_l2(R[:, :, :2], tau, 0.9)
    with pytest.raises(ValueError, match=r"canon_val: pi0\[0, :\]"):
        starc.canon_val(R, tau, 0.9, np.full((S, A), 0.5))
    with pytest.raises(ValueError, match="canon_val: pi0 must be integer actions"):
        starc.canon_val(R, tau, 0.9, np.full(S, A))
    w = tau.copy()
    w[tau > 0] = 0.0
    with pytest.raises(ValueError, match=r"canon_minimal_l2: w\["):
        starc.canon_minimal_l2(R, tau, 0.9, w=w)
    with pytest.raises(ValueError, match="did you mean 'minimal'"):
        starc.canonicalise(R, tau, 0.9, "minimall")
    with pytest.raises(ValueError, match="canon_epic: D_S must be a distribution"):
        starc.canon_epic(R, 0.9, D_S=np.ones(S))
    with pytest.raises(ValueError, match="canon_dard: D_A must be an array of shape"):
        starc.canon_dard(R, tau, 0.9, D_A=np.ones(A + 1) / (A + 1))
    with pytest.raises(ValueError, match="canon_minimal: norm must be one of"):
        starc.canon_minimal(R, tau, 0.9, norm="l3")
    with pytest.raises(ValueError, match="canonicalise: compact must be False"):
        starc.canonicalise(R, tau, 0.9, "minimal", compact=True)
    with pytest.raises(ValueError, match="backend must be one of"):
        starc.canon_val(R, tau, 0.9, backend="torch")
    with pytest.raises(ValueError, match="R must be finite"):
        starc.canon_val(np.full((S, A, S), np.nan), tau, 0.9)
    with pytest.raises(TypeError, match="canonicalise: canon must be one of"):
        starc.canonicalise(R, tau, 0.9, 3)


def test_cupy_backend_refuses_cvxpy_canonicalisations():
    tau, gen = instance(0)
    R = gen.standard_normal(tau.shape)
    with pytest.raises(ValueError, match="canon_minimal: backend must be 'numpy', 'numba' or 'auto'"):
        starc.canon_minimal(R, tau, 0.9, norm="l1", backend="cupy")
