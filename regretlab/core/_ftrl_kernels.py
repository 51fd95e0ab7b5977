"""Numba kernels for FTRL steps over the probability simplex (see ``regretlab.core.ftrl``).

The kernels trust their inputs: the public API in ``ftrl.py`` validates (finite losses, eta > 0, A >= 2,
float64, C-contiguous) before calling them. Nothing here compiles at import; each kernel is compiled on
its first call and cached on disk (``cache=True``).

The per-row functions (``log_barrier_row``, ``tsallis_row``, ``hedge_row``) allocate nothing and may be
called from other ``@njit`` kernels (e.g. a per-state policy update inside a ``prange`` over replicates);
the ``*_batch`` functions loop over a flattened batch of rows.

Solver (specs/adversarial-linear-mdp.md §2.1, extended to Tsallis). With m = min_a L_a and
beta = 1 / (1 - alpha) (beta = 1: log-barrier; beta = 2: 1/2-Tsallis) the step is

    y_a = c (L_a - m) >= 0,   p_a = (y_a + nu)^(-beta),   g(nu) = sum_a p_a - 1 = 0,   nu in [1, A^(1/beta)]

where c = eta (log-barrier) or c = (1 - alpha) eta (Tsallis). g is strictly decreasing and convex, g(1) >= 0
(the term with y_a = 0 alone is 1) and g(A^(1/beta)) <= 0 (every term is <= 1/A). Newton from nu = 1,

    nu <- nu + (sum_a p_a - 1) / (beta sum_a p_a r_a),   r_a = 1 / (y_a + nu),

increases monotonically and never overshoots (convex decreasing g started where g >= 0). Sums of p use
Kahan compensation, so |sum p - 1| is resolved to ~1 ulp whatever A is. Safeguard: a
bracket [lo, hi] is kept from the signs of g; a Newton candidate outside (lo, hi) is replaced by the
midpoint (bisection). Stop when |sum p - 1| <= tol, when the bracket has shrunk to a few ulps (the root is
then located to machine precision), or after max_iter updates; finally p <- p / sum p.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._detmath_kernels import exp_det

_EPS = np.finfo(np.float64).eps


@njit(cache=True)
def _pow_neg_beta(r, beta):
    # p = r ** beta with exact fast paths for the log-barrier (beta = 1) and 1/2-Tsallis (beta = 2).
    if beta == 1.0:
        return r
    if beta == 2.0:
        return r * r
    return r**beta


@njit(cache=True)
def _newton_simplex_row(L, c, beta, tol, max_iter, out):
    """Solve one row in place. ``out`` (A,) receives p. Returns (nu, n_iter, converged).

    L (A,) finite float64, c > 0, beta >= 1, tol > 0, max_iter >= 0. ``out`` first holds the shifted
    losses y and is overwritten with p at the end, so nothing is allocated.
    """
    A = L.shape[0]
    m = L[0]
    for a in range(1, A):
        m = min(m, L[a])
    for a in range(A):
        out[a] = c * (L[a] - m)
    lo = 1.0
    # Upper end of the bracket, inflated by a few ulps so that rounding of A^(1/beta) cannot cut off the
    # root when all y_a = 0 (root exactly A^(1/beta)).
    if beta == 1.0:
        hi = float(A)
    else:
        hi = float(A) ** (1.0 / beta) * (1.0 + 8.0 * _EPS)
    nu = 1.0
    n_iter = 0
    converged = False
    while True:
        s = 0.0
        comp = 0.0  # Kahan compensation: sum p to ~1 ulp for any A, so tol = 1e-14 stays reachable
        d = 0.0
        for a in range(A):
            r = 1.0 / (out[a] + nu)
            pa = _pow_neg_beta(r, beta)
            yk = pa - comp
            t = s + yk
            comp = (t - s) - yk
            s = t
            d += pa * r
        g = s - 1.0
        if abs(g) <= tol:
            converged = True
            break
        if g > 0.0:
            lo = nu
        else:
            hi = nu
        if hi - lo <= 4.0 * _EPS * hi:
            converged = True  # root bracketed to a few ulps: machine precision reached
            break
        if n_iter >= max_iter:
            break
        cand = nu + g / (beta * d)
        if not (lo < cand < hi):
            cand = 0.5 * (lo + hi)
        nu = cand
        n_iter += 1
    s = 0.0
    comp = 0.0
    for a in range(A):
        pa = _pow_neg_beta(1.0 / (out[a] + nu), beta)
        out[a] = pa
        yk = pa - comp
        t = s + yk
        comp = (t - s) - yk
        s = t
    for a in range(A):
        out[a] /= s
    return nu, n_iter, converged


@njit(cache=True)
def log_barrier_row(L, eta, tol, max_iter, out):
    """argmin_{p in simplex} <p, L> - (1/eta) sum_a ln p_a for one row; returns (nu, n_iter, converged).

    nu is the shifted multiplier: p_a = 1 / (eta (L_a - min L) + nu) before the final renormalisation.
    """
    return _newton_simplex_row(L, eta, 1.0, tol, max_iter, out)


@njit(cache=True)
def tsallis_row(L, eta, alpha, tol, max_iter, out):
    """alpha-Tsallis FTRL step for one row (0 < alpha < 1); returns (nu, n_iter, converged).

    p_a = ((1 - alpha) eta (L_a - min L) + nu)^(-1/(1 - alpha)); alpha = 1/2 gives
    p_a = 1 / (eta (L_a - min L) / 2 + nu)^2 = 4 / (eta (L_a - x))^2 with x = min L - 2 nu / eta.
    """
    return _newton_simplex_row(L, (1.0 - alpha) * eta, 1.0 / (1.0 - alpha), tol, max_iter, out)


@njit(cache=True)
def hedge_row(L, eta, out):
    """Negative-entropy step for one row: out_a = exp(-eta (L_a - m)) / sum_b exp(-eta (L_b - m))."""
    A = L.shape[0]
    m = L[0]
    for a in range(1, A):
        m = min(m, L[a])
    s = 0.0
    for a in range(A):
        w = np.exp(-eta * (L[a] - m))
        out[a] = w
        s += w
    for a in range(A):
        out[a] /= s


@njit(cache=True)
def hedge_row_det(L, eta, out):
    """:func:`hedge_row` with the portable exponential ``exp_det`` (bit-identical to
    :func:`regretlab.core.ftrl.hedge_rows_xp` and its plain-Python twin); the weights are summed left to
    right."""
    A = L.shape[0]
    m = L[0]
    for a in range(1, A):
        m = min(m, L[a])
    s = 0.0
    for a in range(A):
        w = exp_det(-eta * (L[a] - m))
        out[a] = w
        s += w
    for a in range(A):
        out[a] /= s


@njit(cache=True)
def newton_simplex_batch(L, c, beta, tol, max_iter, p, nu, n_iter, converged):
    """Rows of L (n, A) with per-row scale c (n,); fills p (n, A), nu (n,), n_iter (n,), converged (n,)."""
    for i in range(L.shape[0]):
        v, k, ok = _newton_simplex_row(L[i], c[i], beta, tol, max_iter, p[i])
        nu[i] = v
        n_iter[i] = k
        converged[i] = ok


@njit(cache=True)
def hedge_batch(L, eta, p):
    """Rows of L (n, A) with per-row eta (n,); fills p (n, A)."""
    for i in range(L.shape[0]):
        hedge_row(L[i], eta[i], p[i])
