"""Tests for regretlab.core.ftrl (FTRL/OMD steps over the simplex).

Truth layers (STYLE §3.3): closed forms computed by hand (golden ratio, 1/sqrt 2, 1/8 stability limit);
independent solvers (cvxpy with SCS at eps 1e-10, scipy brentq, a duality-gap certificate); a plain NumPy
reference of the Newton solve; and the theorem-level properties of specs/adversarial-linear-mdp.md §2.1-2.2
on random instances (hypothesis).

cvxpy and solver accuracy. SCS at eps 1e-10 on the plain log-barrier program (``min eta L@p - sum log p``)
agrees with us to ~1e-10 while |eta L| <= 1e4 but returns "optimal_inaccurate" answers off by ~1e-3 at
|eta L| ~ 1e5-1e6: coordinates of size 1e-6 sit at the edge of the exponential cone where its tolerances
are absolute. For large |eta L| we therefore hand SCS the *same* program after a fixed diagonal change of
variables p_a = s_a q_a, s_a = 1/(1 + y_a), y = eta (L - min L) (the shift and the scaling come from the
data alone, never from our solution). Then q_a = p_a (1 + y_a) lies in [1/A, 1] for every a, SCS's
tolerances are meaningful for every coordinate, and it reaches ~1e-11 even at |eta L| = 1e8. The
duality-gap test needs no external solver at all.
"""
from __future__ import annotations

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from regretlab.core import ftrl
from regretlab.core.ftrl import FTRL, ftrl_stability, hedge_step, log_barrier_step, tsallis_step

cp = pytest.importorskip("cvxpy")

EPS = np.finfo(np.float64).eps
HYP = settings(max_examples=60, deadline=None)


# ------------------------------------------------------------------------------------------------------
# helpers


def random_losses(rng, A, scale, eta):
    """Random L (A,) with |eta L| ~ scale and one large negative entry (the [DLWZ23] regime)."""
    L = rng.normal(size=A) * scale / (3.0 * eta)
    L[rng.integers(A)] = -scale / eta * rng.uniform(0.5, 1.0)
    return L


def scs(prob):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prob.solve(solver=cp.SCS, eps=1e-10, max_iters=200_000)
    assert prob.status == "optimal", prob.status
    return prob


def cvxpy_log_barrier(L, eta, precondition):
    """SCS (eps 1e-10) solution of min_p eta <L - min L, p> - sum log p, sum p = 1 (see module docstring)."""
    y = eta * (L - L.min())
    s = 1.0 / (1.0 + y) if precondition else np.ones_like(y)
    q = cp.Variable(L.size)
    scs(cp.Problem(cp.Minimize((y * s) @ q - cp.sum(cp.log(q))), [s @ q == 1]))
    return s * q.value


def reference_log_barrier(L, eta, tol=1e-14, max_iter=100):
    """Plain NumPy transcription of spec §2.1: shift, monotone Newton from nu = 1, clamp to [1, A],
    bisection on [1, A] if a step fails to increase nu, stop at |sum p - 1| <= tol, renormalise."""
    L = np.asarray(L, dtype=float)
    A = L.size
    y = eta * (L - L.min())
    lo, hi, nu = 1.0, float(A), 1.0
    for _ in range(max_iter):
        p = 1.0 / (y + nu)
        g = p.sum() - 1.0
        if abs(g) <= tol:
            break
        if g > 0:
            lo = nu
        else:
            hi = nu
        new = min(max(nu + g / np.sum(p * p), 1.0), float(A))
        if not (lo < new < hi):
            new = 0.5 * (lo + hi)
        if new == nu:
            break
        nu = new
    p = 1.0 / (y + nu)
    return p / p.sum(), nu


finite_losses = hnp.arrays(
    np.float64, st.integers(2, 8),
    elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
)
etas = st.floats(1e-3, 1e3)


# ------------------------------------------------------------------------------------------------------
# log-barrier: closed forms, independent solvers, KKT


def test_log_barrier_closed_forms_A2():
    # L = (0, 1): p_0 = 1/nu, p_1 = 1/(eta + nu), p_0 + p_1 = 1 => nu^2 + (eta - 2) nu - eta = 0.
    # eta = 1: nu = (1 + sqrt 5)/2, p_0 = (sqrt 5 - 1)/2.  eta = 2: nu = sqrt 2, p_0 = 1/sqrt 2.
    r1 = log_barrier_step([0.0, 1.0], 1.0)
    np.testing.assert_allclose(r1.p, [(math.sqrt(5) - 1) / 2, (3 - math.sqrt(5)) / 2], rtol=0, atol=1e-12)
    assert abs(r1.nu - (1 + math.sqrt(5)) / 2) <= 1e-12 and r1.converged
    r2 = log_barrier_step([0.0, 1.0], 2.0)
    np.testing.assert_allclose(r2.p, [1 / math.sqrt(2), 1 - 1 / math.sqrt(2)], rtol=0, atol=1e-12)
    assert abs(r2.nu - math.sqrt(2)) <= 1e-12
    # multiplier in the original scale: p_a = 1/(eta (L_a + lambda))
    np.testing.assert_allclose(1.0 / (2.0 * (np.array([0.0, 1.0]) + r2.multiplier)), r2.p, atol=1e-14)
    # ties: uniform, nu = A exactly
    r3 = log_barrier_step(np.full(5, -3.7), 0.3)
    np.testing.assert_allclose(r3.p, 0.2, atol=1e-15)
    assert abs(r3.nu - 5.0) <= 1e-13


@pytest.mark.parametrize("log_scale", [-2, 0, 2, 4, 6])
def test_log_barrier_matches_cvxpy_scs(log_scale):
    """Agreement to 1e-6 with cvxpy/SCS (eps 1e-10), random A <= 8, |eta L| up to 1e6.

    Plain program where SCS is reliable (|eta L| <= 1e4); the diagonally preconditioned program everywhere
    (module docstring says why). Both compare p to 1e-6 absolute; the preconditioned one also compares
    q = p (1 + y) to 1e-6, i.e. relative accuracy of the tiny coordinates."""
    rng = np.random.default_rng(100 + log_scale)
    for _ in range(6):
        A = int(rng.integers(2, 9))
        eta = 10 ** rng.uniform(-2, 2)
        L = random_losses(rng, A, 10.0**log_scale, eta)
        ours = log_barrier_step(L, eta)
        assert ours.converged
        theirs = cvxpy_log_barrier(L, eta, precondition=True)
        np.testing.assert_allclose(ours.p, theirs, rtol=0, atol=1e-6)
        one_plus_y = 1.0 + eta * (L - L.min())
        np.testing.assert_allclose(ours.p * one_plus_y, theirs * one_plus_y, rtol=0, atol=1e-6)
        if log_scale <= 4:
            np.testing.assert_allclose(ours.p, cvxpy_log_barrier(L, eta, precondition=False), rtol=0, atol=1e-6)


def test_log_barrier_duality_gap_certificate():
    """Solver-free accuracy certificate. F(p) = <y, p> - sum log p is 1-strongly convex on the simplex
    (Hessian diag(1/p^2) >= I), so |p - p*|_2^2 <= 2 (F(p) - D(mu)) for any mu with y + mu > 0, where
    D(mu) = sum_a (1 + log(y_a + mu)) - mu is the Lagrange dual (weak duality)."""
    rng = np.random.default_rng(7)
    for scale in [1e-3, 1.0, 1e2, 1e4, 1e6, 1e8]:
        for _ in range(20):
            A = int(rng.integers(2, 9))
            eta = 10 ** rng.uniform(-2, 2)
            L = random_losses(rng, A, scale, eta)
            r = log_barrier_step(L, eta)
            y = eta * (L - L.min())
            mu = r.nu
            F = np.sum(y * r.p) - np.sum(np.log(r.p))
            D = np.sum(1.0 + np.log(y + mu)) - mu
            gap = F - D
            assert gap >= -1e-12
            assert math.sqrt(2.0 * max(gap, 0.0)) <= 1e-6


def test_log_barrier_kkt_residual_shifted():
    # spec §2.1: max_a |p_a (y_a + nu) - 1| <= 1e-13 in shifted variables, even for |eta L| ~ 1e6
    rng = np.random.default_rng(3)
    for A in (2, 3, 8, 50):
        for log_scale in (-3, 0, 3, 6):
            eta = 10 ** rng.uniform(-2, 2, size=200)
            L = rng.normal(size=(200, A)) * 10.0**log_scale / eta[:, None]
            L[np.arange(200), rng.integers(A, size=200)] -= 10.0**log_scale / eta
            r = log_barrier_step(L, eta)
            y = eta[:, None] * (L - L.min(axis=1, keepdims=True))
            assert np.all(r.converged) and np.all(r.n_iter <= 100)
            assert np.max(np.abs(r.p * (y + r.nu[:, None]) - 1.0)) <= 1e-13
            assert np.max(np.abs(r.p.sum(axis=1) - 1.0)) <= 1e-12
            assert np.all((r.nu >= 1.0) & (r.nu <= A))
            # original scale, scaled by 1/(1 + eta max|L|) as the spec advises
            resid = np.abs(eta[:, None] * r.p * (L + r.multiplier[:, None]) - 1.0)
            assert np.max(resid / (1.0 + eta[:, None] * np.abs(L).max(axis=1, keepdims=True))) <= 1e-13


def test_log_barrier_matches_numpy_reference():
    """Numba kernel == plain NumPy transcription of the spec's Newton solve (and == the kernel run as
    plain Python via .py_func)."""
    from regretlab.core import _ftrl_kernels as K

    rng = np.random.default_rng(11)
    for log_scale in (-4, -1, 0, 2, 4, 6, 9):
        for _ in range(15):
            A = int(rng.integers(2, 12))
            eta = 10 ** rng.uniform(-2, 2)
            L = random_losses(rng, A, 10.0**log_scale, eta)
            r = log_barrier_step(L, eta)
            p_ref, nu_ref = reference_log_barrier(L, eta)
            np.testing.assert_allclose(r.p, p_ref, rtol=1e-13, atol=0)
            assert abs(r.nu - nu_ref) <= 1e-14 * nu_ref
            out = np.empty(A)
            nu_py, _, ok_py = K._newton_simplex_row.py_func(L, eta, 1.0, 1e-14, 100, out)
            np.testing.assert_allclose(r.p, out, rtol=1e-15, atol=0)
            assert (abs(nu_py - r.nu) <= 4 * EPS * nu_py) and ok_py == r.converged


def test_log_barrier_batching_and_broadcast():
    rng = np.random.default_rng(5)
    L = rng.normal(size=(3, 4, 6)) * 100
    eta = 10 ** rng.uniform(-1, 1, size=(3, 1))
    r = log_barrier_step(L, eta)
    assert r.p.shape == (3, 4, 6) and r.nu.shape == (3, 4) and r.n_iter.dtype == np.int64
    assert r.converged.dtype == bool
    for i in range(3):
        for j in range(4):
            s = log_barrier_step(L[i, j], float(eta[i, 0]))
            np.testing.assert_array_equal(r.p[i, j], s.p)
            assert r.nu[i, j] == s.nu and isinstance(s.nu, float) and isinstance(s.converged, bool)


def test_log_barrier_max_iter_reports_nonconvergence():
    r = log_barrier_step(np.arange(8.0), 1.0, max_iter=1)
    assert r.converged is False and r.n_iter == 1
    assert abs(r.p.sum() - 1.0) <= 1e-15  # still a distribution (final renormalisation)


def test_log_barrier_large_A():
    # A = 1e5: a naive sum of p has rounding ~1e-12 > tol = 1e-14; the kernel's compensated sums keep
    # the stopping test meaningful (nu = A exactly for ties, ~log2(A) doubling steps then quadratic).
    r = log_barrier_step(np.zeros(100_000), 1.0)
    assert r.converged and r.n_iter <= 40 and abs(r.nu - 1e5) <= 1e-12 * 1e5
    np.testing.assert_allclose(r.p, 1e-5, rtol=1e-14)
    assert abs(r.p.sum() - 1) <= 1e-13
    L = np.random.default_rng(6).normal(size=20_000) * 1e3
    r = log_barrier_step(L, 1.0)
    y = L - L.min()
    assert r.converged and np.max(np.abs(r.p * (y + r.nu) - 1)) <= 1e-13


def test_kernel_row_callable_from_njit():
    """The per-row kernels are meant to be called from other @njit loops (areas' kernels)."""
    from numba import njit

    from regretlab.core import _ftrl_kernels as K

    @njit
    def all_rows(L, eta):
        P = np.empty_like(L)
        H = np.empty_like(L)
        T = np.empty_like(L)
        for i in range(L.shape[0]):
            K.log_barrier_row(L[i], eta, 1e-14, 100, P[i])
            K.hedge_row(L[i], eta, H[i])
            K.tsallis_row(L[i], eta, 0.5, 1e-14, 100, T[i])
        return P, H, T

    L = np.random.default_rng(0).normal(size=(5, 4)) * 10
    P, H, T = all_rows(L, 0.7)
    np.testing.assert_array_equal(P, log_barrier_step(L, 0.7).p)
    np.testing.assert_array_equal(H, hedge_step(L, 0.7))
    np.testing.assert_array_equal(T, tsallis_step(L, 0.7).p)


# ------------------------------------------------------------------------------------------------------
# log-barrier: properties (hypothesis)


@HYP
@given(L=finite_losses, eta=etas, c=st.floats(-1e6, 1e6))
def test_log_barrier_shift_invariance(L, eta, c):
    # L + c rounds to a different shifted y by up to ~eps eta (|L| + |c|); |dp/dy| <= 1.
    tol = 1e-13 + 8 * EPS * eta * (np.abs(L).max() + abs(c))
    np.testing.assert_allclose(log_barrier_step(L + c, eta).p, log_barrier_step(L, eta).p, rtol=0, atol=tol)


@HYP
@given(L=finite_losses, eta=etas)
def test_log_barrier_eta_scaling(L, eta):
    tol = 1e-13 + 8 * EPS * eta * np.abs(L).max()
    np.testing.assert_allclose(log_barrier_step(L, eta).p, log_barrier_step(eta * L, 1.0).p, rtol=0, atol=tol)


@HYP
@given(L=finite_losses, eta=etas)
def test_log_barrier_strict_order_and_positivity(L, eta):
    r = log_barrier_step(L, eta)
    A = L.size
    y = eta * (L - L.min())
    assert np.all(r.p > 0) and np.all(r.p >= (1 - 1e-12) / (y + A))
    assert abs(r.p.sum() - 1) <= 1e-12 and r.converged
    scale = 1.0 + np.abs(L).max()
    for a in range(A):
        for b in range(A):
            if L[a] < L[b]:
                assert r.p[a] >= r.p[b]
                if L[b] - L[a] >= 1e-6 * scale:  # resolvable after rounding: strict
                    assert r.p[a] > r.p[b]


# ------------------------------------------------------------------------------------------------------
# Hedge


def test_hedge_matches_softmax():
    from scipy.special import logsumexp, softmax

    rng = np.random.default_rng(2)
    L = rng.normal(size=(50, 7)) * 30
    eta = 10 ** rng.uniform(-2, 1, size=50)
    p = hedge_step(L, eta)
    z = -eta[:, None] * L
    # exp carries the rounding of its argument: relative error ~ eps (|z| + max |z|), |z| up to ~1e3 here
    rtol = 8 * EPS * (1 + np.abs(z) + np.abs(z).max(axis=1, keepdims=True))
    assert np.all(np.abs(p - softmax(z, axis=1)) <= rtol * p + 1e-300)
    assert np.all(np.abs(p - np.exp(z - logsumexp(z, axis=1, keepdims=True))) <= rtol * p + 1e-300)
    # huge magnitudes: the shift keeps it finite where naive exp overflows
    p = hedge_step([-1e300, -1e300 + 1e290, 0.0], 1.0)
    np.testing.assert_array_equal(p, [1.0, 0.0, 0.0])
    np.testing.assert_allclose(hedge_step([0.0, math.log(3.0)], 1.0), [0.75, 0.25], rtol=1e-15)


# ------------------------------------------------------------------------------------------------------
# Tsallis


def cvxpy_tsallis(L, eta, alpha):
    """SCS (eps 1e-10) solution of the Tsallis step, shifted and multiplied by (1 - alpha):
    min <y, p> - (1/alpha) sum p^alpha, sum p = 1, y = (1 - alpha) eta (L - min L).

    For alpha < 1/2 (towards the log-barrier, alpha -> 0) SCS needs the same fixed diagonal scaling as the
    log-barrier at |eta L| ~ 1e6: p = s q, s_a = (1 + y_a)^(-1/(1-alpha)), so q_a is in [1/A, 1]. For
    alpha >= 1/2 the plain program is what SCS solves reliably (the scaling then spans too many orders)."""
    y = (1 - alpha) * eta * (L - L.min())
    s = (1.0 + y) ** (-1.0 / (1.0 - alpha)) if alpha < 0.5 else np.ones_like(y)
    q = cp.Variable(L.size)
    obj = (y * s) @ q - cp.sum(cp.multiply(s**alpha, cp.power(q, alpha))) / alpha
    scs(cp.Problem(cp.Minimize(obj), [s @ q == 1]))
    return s * q.value


@pytest.mark.parametrize(("alpha", "log_scales"), [(0.5, (-2, 0, 2, 4, 6)), (0.25, (-2, 0, 3, 6)),
                                                   (0.75, (-2, 0, 2))])
def test_tsallis_matches_cvxpy_scs(alpha, log_scales):
    rng = np.random.default_rng(int(alpha * 100))
    for log_scale in log_scales:
        for _ in range(4):
            A = int(rng.integers(2, 9))
            eta = 10 ** rng.uniform(-2, 2)
            L = random_losses(rng, A, 10.0**log_scale, eta)
            r = tsallis_step(L, eta, alpha)
            assert r.converged
            np.testing.assert_allclose(r.p, cvxpy_tsallis(L, eta, alpha), rtol=0, atol=1e-6)


def test_tsallis_half_matches_scipy_brentq_original_scale():
    """[ZS21, Alg. 1]: p_a = 4 / (eta (L_a - x))^2 with sum p = 1, x found by brentq in the original scale
    on [min L - 2 sqrt(A)/eta, min L - 2/eta] (sum >= 1 at the right end, <= 1 at the left)."""
    from scipy.optimize import brentq

    rng = np.random.default_rng(9)
    for _ in range(40):
        A = int(rng.integers(2, 9))
        eta = 10 ** rng.uniform(-1, 1)
        L = rng.normal(size=A) * 5
        m = L.min()
        x = brentq(lambda x, L=L, eta=eta: np.sum(4.0 / (eta * (L - x)) ** 2) - 1.0,
                   m - 2 * math.sqrt(A) / eta, m - 2 / eta, xtol=1e-15, rtol=4 * EPS)
        r = tsallis_step(L, eta)
        np.testing.assert_allclose(r.p, 4.0 / (eta * (L - x)) ** 2, rtol=1e-10)
        assert abs(r.multiplier - x) <= 1e-10 * (1 + abs(x))
        y = eta * (L - m) / 2  # shifted KKT: p_a (y_a + nu)^2 = 1
        assert np.max(np.abs(r.p * (y + r.nu) ** 2 - 1)) <= 1e-13


def test_tsallis_closed_form_and_limits():
    # ties: uniform, nu = sqrt(A) (alpha = 1/2); A = 2, L = (0, l): nu = 1/sqrt(p_0), sqrt(p_1) = 1/(y + nu)
    r = tsallis_step([1.0, 1.0, 1.0, 1.0], 3.0)
    np.testing.assert_allclose(r.p, 0.25, atol=1e-15)
    assert abs(r.nu - 2.0) <= 1e-14
    # hand: eta = 2, L = (0, 1) => y = (0, 1); p_0 = 1/nu^2, p_1 = 1/(1+nu)^2 ; nu solves
    # 1/nu^2 + 1/(1+nu)^2 = 1, i.e. nu^4 + 2 nu^3 - nu^2 - 2 nu - 1 = 0
    nu = max(z.real for z in np.roots([1, 2, -1, -2, -1]) if abs(z.imag) < 1e-12)
    r = tsallis_step([0.0, 1.0], 2.0)
    np.testing.assert_allclose(r.p, [1 / nu**2, 1 / (1 + nu) ** 2], rtol=1e-13)
    # alpha -> 0: log-barrier; alpha -> 1: negative entropy (the docstring's regulariser convention)
    rng = np.random.default_rng(4)
    L = rng.normal(size=(20, 5)) * 3
    np.testing.assert_allclose(tsallis_step(L, 0.8, alpha=1e-9).p, log_barrier_step(L, 0.8).p, atol=1e-7)
    np.testing.assert_allclose(tsallis_step(L, 0.8, alpha=1 - 1e-7).p, hedge_step(L, 0.8), atol=1e-5)


@HYP
@given(L=finite_losses, eta=etas, alpha=st.floats(0.05, 0.95))
def test_tsallis_simplex_invariants(L, eta, alpha):
    r = tsallis_step(L, eta, alpha)
    assert r.converged and abs(r.p.sum() - 1) <= 1e-12 and np.all(r.p >= 0)
    i = np.argmin(L)
    assert r.p[i] == r.p.max()


# ------------------------------------------------------------------------------------------------------
# stability (spec §2.2)


def test_log_barrier_stability_bound_large_negative_losses():
    """stability <= 2 eta sum_a x_a l_a^2 for every real loss vector (spec §2.2, DERIVED), ratio <= 1."""
    rng = np.random.default_rng(21)
    n = 4000
    A = rng.integers(2, 7, size=n)
    ratios = []
    for a in range(2, 7):
        idx = A == a
        k = int(idx.sum())
        x = rng.dirichlet(np.full(a, 0.5), size=k)
        x = np.maximum(x, 1e-12)
        x /= x.sum(axis=1, keepdims=True)
        eta = 10 ** rng.uniform(-3, 1, size=k)
        loss = rng.normal(size=(k, a)) * 10 ** rng.uniform(-3, 4, size=(k, 1))
        neg = rng.random(size=(k, a)) < 0.5
        loss = np.where(neg, -np.abs(loss) * 10 ** rng.uniform(0, 2, size=(k, a)), loss)  # down to -1e6
        stab = ftrl_stability(x, loss, eta, "log_barrier")
        bound = 2 * eta * np.sum(x * loss**2, axis=1)
        ratios.append(stab / bound)
        assert np.all(stab >= -1e-12 * bound)  # x = x_t is feasible: stability >= 0
        small = np.all(eta[:, None] * x * np.abs(loss) <= 0.5, axis=1)  # sharper bound in that regime
        sharper = eta * np.sum(x**2 * loss**2, axis=1)
        assert np.all(stab[small] <= sharper[small] * (1 + 1e-9) + 1e-300)
    ratios = np.concatenate(ratios)
    assert np.all(np.isfinite(ratios)) and ratios.max() <= 1.0


def test_log_barrier_stability_one_eighth_limit():
    # Hand computation: x = (1/2, 1/2), l = (l, -l). Second order: stability ~ eta l^2 / 4 as eta l -> 0
    # (maximise -2 d l - 4 d^2/eta over d), bound 2 eta l^2 => ratio -> 1/8, the supremum of spec §2.2.
    for eta, ell in [(1.0, 1e-3), (0.01, 1e-2), (100.0, 1e-6)]:
        r = ftrl_stability([0.5, 0.5], [ell, -ell], eta) / (2 * eta * ell**2)
        assert abs(r - 0.125) <= 2e-3 and r <= 0.125


def test_hedge_stability_needs_lower_bounded_losses():
    # entropy: <= eta sum x l^2 when eta l >= -1 [FS97]; fails badly for large negative losses where the
    # log-barrier bound still holds (spec §2.2: why log-barrier helps).
    rng = np.random.default_rng(8)
    x = rng.dirichlet(np.ones(5), size=500)
    eta = 10 ** rng.uniform(-2, 1, size=500)
    loss = rng.uniform(-1, 5, size=(500, 5)) / eta[:, None]
    stab = ftrl_stability(x, loss, eta, "entropy")
    assert np.all(stab <= eta * np.sum(x * loss**2, axis=1) * (1 + 1e-12))
    x_t, l_t = np.array([1 - 1e-6, 1e-6]), np.array([0.0, -50.0])
    bound = 2 * np.sum(x_t * l_t**2)
    assert ftrl_stability(x_t, l_t, 1.0, "entropy") > 1000 * bound
    assert ftrl_stability(x_t, l_t, 1.0, "log_barrier") <= bound


def cvxpy_stability(x_t, loss, eta, reg, alpha=0.5):
    x = cp.Variable(x_t.size)
    lin = (x_t - x) @ loss
    if reg == "log_barrier":  # in u = x / x_t (well scaled): D = (1/eta) sum (u - 1 - log u)
        u = cp.Variable(x_t.size)
        obj = x_t @ loss - (x_t * loss) @ u - cp.sum(u - 1 - cp.log(u)) / eta
        prob = cp.Problem(cp.Maximize(obj), [x_t @ u == 1])
    elif reg == "entropy":
        prob = cp.Problem(cp.Maximize(lin - cp.sum(cp.rel_entr(x, x_t)) / eta), [cp.sum(x) == 1])
    else:
        c = 1.0 / (eta * alpha * (1 - alpha))
        D = c * cp.sum(x_t**alpha - cp.power(x, alpha) + alpha * cp.multiply(x_t ** (alpha - 1), x - x_t))
        prob = cp.Problem(cp.Maximize(lin - D), [cp.sum(x) == 1])
    return scs(prob).value


@pytest.mark.parametrize(("reg", "alpha"), [("log_barrier", 0.5), ("entropy", 0.5), ("tsallis", 0.5),
                                            ("tsallis", 0.3)])
def test_stability_matches_cvxpy(reg, alpha):
    rng = np.random.default_rng(31)
    for _ in range(6):
        A = int(rng.integers(2, 7))
        x_t = rng.dirichlet(np.ones(A))
        eta = 10 ** rng.uniform(-1, 1)
        loss = rng.normal(size=A) * 3 / eta
        ours = ftrl_stability(x_t, loss, eta, reg, alpha=alpha)
        theirs = cvxpy_stability(x_t, loss, eta, reg, alpha)
        assert abs(ours - theirs) <= 1e-6 * max(1.0, abs(theirs))
        # solver-free: it is a maximum, so it dominates the objective at any feasible point
        for z in rng.dirichlet(np.ones(A), size=50):
            if reg == "log_barrier":
                D = np.sum(z / x_t - 1 - np.log(z / x_t)) / eta
            elif reg == "entropy":
                D = np.sum(z * np.log(z / x_t)) / eta
            else:
                D = np.sum(x_t**alpha - z**alpha + alpha * x_t ** (alpha - 1) * (z - x_t)) / (
                    eta * alpha * (1 - alpha))
            assert ours >= (x_t - z) @ loss - D - 1e-12


# ------------------------------------------------------------------------------------------------------
# FTRL convenience


@pytest.mark.parametrize("reg", ["log_barrier", "entropy", "tsallis"])
def test_ftrl_recomputes_from_cumulative_sums(reg):
    rng = np.random.default_rng(12)
    f = FTRL(4, reg, eta=[0.3, 1.0, 3.0], batch_shape=(3,), alpha=0.4)
    total = np.zeros((3, 4))
    for _ in range(50):
        loss = rng.normal(size=(3, 4)) * 10
        f.update(loss)
        total += loss
    step = {"log_barrier": lambda L, e: log_barrier_step(L, e).p, "entropy": hedge_step,
            "tsallis": lambda L, e: tsallis_step(L, e, 0.4).p}[reg]
    eta = np.array([0.3, 1.0, 3.0])
    np.testing.assert_array_equal(f.cumulative_loss, total)
    np.testing.assert_array_equal(f.policy(), step(total, eta))
    np.testing.assert_array_equal(f.policy(eta=0.1), step(total, 0.1))
    assert f.t == 50
    f.reset()
    np.testing.assert_allclose(f.policy(), 0.25, atol=1e-15)
    assert f.t == 0


def test_ftrl_update_errors():
    f = FTRL(3, "entropy", eta=1.0)
    with pytest.raises(ValueError, match=r"FTRL\.update: loss must be an array broadcastable"):
        f.update(np.zeros(4))
    with pytest.raises(ValueError, match=r"FTRL\.update: loss must be finite"):
        f.update([0.0, np.nan, 1.0])
    f.update([1e308, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"FTRL\.update: loss must be such that the cumulative loss stays"):
        f.update([1e308, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"FTRL: regularizer must be one of .*did you mean 'log_barrier'"):
        FTRL(3, "log_bariers")
    with pytest.raises(ValueError, match=r"FTRL: n_actions must be an integer >= 2, got 1"):
        FTRL(1)
    with pytest.raises(ValueError, match=r"FTRL: eta must be a scalar or an array broadcastable to \(2,\)"):
        FTRL(3, eta=[1.0, 2.0, 3.0], batch_shape=(2,))


# ------------------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize("fn", [log_barrier_step, hedge_step, tsallis_step])
def test_bad_input_raises_naming_parameter(fn):
    name = fn.__name__
    with pytest.raises(ValueError, match=rf"{name}: L must be finite"):
        fn([0.0, np.nan], 1.0)
    with pytest.raises(ValueError, match=rf"{name}: L must be finite"):
        fn([[0.0, 1.0], [np.inf, 0.0]], 1.0)
    with pytest.raises(ValueError, match=rf"{name}: eta must be a finite number > 0.0, got 0.0"):
        fn([0.0, 1.0], 0.0)
    with pytest.raises(ValueError, match=rf"{name}: eta must be a finite number > 0.0, got -1.0"):
        fn([0.0, 1.0], -1.0)
    with pytest.raises(ValueError, match=rf"{name}: eta must be a finite number > 0.0, got nan"):
        fn([0.0, 1.0], float("nan"))
    with pytest.raises(ValueError, match=rf"{name}: eta\[1\] must be > 0, got -2.0"):
        fn([[0.0, 1.0], [0.0, 1.0]], np.array([1.0, -2.0]))
    with pytest.raises(ValueError, match=rf"{name}: eta\[0\] must be > 0, got 0.0"):
        fn([[0.0, 1.0], [0.0, 1.0]], [0.0, 1.0])
    with pytest.raises(ValueError, match=rf"{name}: eta must be finite"):
        fn([[0.0, 1.0], [0.0, 1.0]], np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match=rf"{name}: L.shape\[-1\] \(number of actions A\) must be an integer >= 2"):
        fn([0.5], 1.0)
    with pytest.raises(ValueError, match=rf"{name}: L must be an array of shape \(\.\.\., A\)"):
        fn(0.5, 1.0)
    with pytest.raises(ValueError, match=rf"{name}: eta must be a scalar or an array broadcastable to \(2,\)"):
        fn(np.zeros((2, 3)), np.ones(3))
    with pytest.raises(TypeError, match=rf"{name}: eta must be a finite number"):
        fn([0.0, 1.0], "1")


def test_bad_input_solver_options_alpha_and_stability():
    with pytest.raises(ValueError, match=r"tsallis_step: alpha must be a finite number > 0.0 and < 1.0, got 1.0"):
        tsallis_step([0.0, 1.0], 1.0, alpha=1.0)
    with pytest.raises(ValueError, match=r"log_barrier_step: tol must be a finite number > 0.0"):
        log_barrier_step([0.0, 1.0], 1.0, tol=0.0)
    with pytest.raises(ValueError, match=r"log_barrier_step: max_iter must be an integer >= 0"):
        log_barrier_step([0.0, 1.0], 1.0, max_iter=-1)
    with pytest.raises(ValueError, match=r"ftrl_stability: x_t must be a probability vector summing to 1"):
        ftrl_stability([0.5, 0.6], [1.0, 0.0], 1.0)
    with pytest.raises(ValueError, match=r"ftrl_stability: x_t must be strictly positive"):
        ftrl_stability([1.0, 0.0], [1.0, 0.0], 1.0, "log_barrier")
    assert ftrl_stability([1.0, 0.0], [1.0, 0.0], 1.0, "entropy") == pytest.approx(0.0, abs=1e-15)
    with pytest.raises(ValueError, match=r"ftrl_stability: loss must be finite"):
        ftrl_stability([0.5, 0.5], [-np.inf, 0.0], 1.0)
    with pytest.raises(ValueError, match=r"ftrl_stability: loss must be an array of the shape of x_t"):
        ftrl_stability([0.5, 0.5], [1.0, 0.0, 0.0], 1.0)
    with pytest.raises(ValueError, match=r"ftrl_stability: eta must be a finite number > 0.0"):
        ftrl_stability([0.5, 0.5], [1.0, 0.0], 0.0)


# ------------------------------------------------------------------------------------------------------
# packaging


def test_import_compiles_nothing():
    code = "import sys, regretlab.core.ftrl; assert 'numba' not in sys.modules, 'numba imported at import'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_api_documented_with_references():
    for name in ftrl.__all__:
        obj = getattr(ftrl, name)
        if name in ("REFERENCES",):
            continue
        assert obj.__doc__ and len(obj.__doc__) > 80, name
    for name in ("log_barrier_step", "hedge_step", "tsallis_step", "FTRL", "ftrl_stability"):
        assert "Reference" in getattr(ftrl, name).__doc__, name
    assert {"FLLST16", "WL18", "FS97", "ZS21"} <= set(ftrl.REFERENCES)


# ---------------------------------------------------------------------------------------------------
# The NumPy and plain-Python twins of the per-row kernels agree bit for bit (used by area backends).


def _rows_for_twins(n=400, A=5, seed=3):
    gen = np.random.default_rng(seed)
    L = gen.normal(size=(n, A)) * 10.0 ** gen.integers(-3, 7, size=(n, 1))
    L[::7, 0] = -1e9  # one hugely negative estimated loss
    L[::11] = 0.0  # all equal: root exactly nu = A
    eta = 10.0 ** gen.uniform(-4, 1, size=n)
    return L, eta


def test_log_barrier_row_twins_are_bit_identical():
    from regretlab.core import _ftrl_kernels as K
    from regretlab.core.ftrl import log_barrier_row_py, log_barrier_rows_xp

    L, eta = _rows_for_twins()
    p_xp, nu_xp, it_xp, ok_xp = log_barrier_rows_xp(L, eta)
    assert ok_xp.all()
    for i in range(L.shape[0]):
        out = np.empty(L.shape[1])
        nu, it, ok = K.log_barrier_row(L[i], eta[i], 1e-14, 100, out)
        assert ok
        np.testing.assert_array_equal(p_xp[i], out)
        assert nu_xp[i] == nu and it_xp[i] == it
        np.testing.assert_array_equal(np.array(log_barrier_row_py(list(L[i]), float(eta[i]))), out)
    assert np.all(p_xp > 0) and np.all(np.abs(p_xp.sum(axis=1) - 1) <= 1e-12)


def test_hedge_row_twins_are_bit_identical_and_match_softmax():
    from scipy.special import softmax

    from regretlab.core import _ftrl_kernels as K
    from regretlab.core.ftrl import hedge_row_py, hedge_rows_xp

    L, eta = _rows_for_twins(A=4)
    L = np.clip(L, -1e3, 1e3)
    p_xp = hedge_rows_xp(L, eta)
    for i in range(L.shape[0]):
        out = np.empty(L.shape[1])
        K.hedge_row_det(L[i], eta[i], out)
        np.testing.assert_array_equal(p_xp[i], out)
        np.testing.assert_array_equal(np.array(hedge_row_py(list(L[i]), float(eta[i]))), out)
    np.testing.assert_allclose(p_xp, softmax(-eta[:, None] * L, axis=1), rtol=1e-12, atol=1e-300)
