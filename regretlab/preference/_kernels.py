"""Numba kernel of reward learning from preferences: full-batch Adam on the logistic loss, prange over datasets.

The operations and their order are those of :mod:`regretlab.preference._numpy` (its docstring states
them) and of :func:`regretlab.preference.reference.fit_reference`, so the three agree bit for bit.
Imported only when the Numba backend first runs (``cache=True``).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..core._detmath_kernels import exp_det, log1p_unit_det


@njit(cache=True, inline="always")
def _values(psi, w, hard, inv_temp, V, dV, v, c):
    """V_w(s) and dV_w(s)/dw from successor features psi (n_pi, S, F) (generalised policy improvement)."""
    n_pi, S, F = psi.shape
    for s in range(S):
        vmax = -np.inf
        best = 0
        for p in range(n_pi):
            z = psi[p, s, 0] * w[0]
            for f in range(1, F):
                z = z + psi[p, s, f] * w[f]
            v[p] = z
            if z > vmax:
                vmax = z
                best = p
        if hard:
            V[s] = vmax
            for f in range(F):
                dV[s, f] = psi[best, s, f]
            continue
        Z = 0.0
        for p in range(n_pi):
            c[p] = exp_det((v[p] - vmax) * inv_temp)
            Z = Z + c[p]
        Vs = 0.0
        for p in range(n_pi):
            c[p] = c[p] / Z
            if c[p] != 0.0:  # a zero weight adds an exact zero: skipping it changes no bit
                Vs = Vs + c[p] * v[p]
        V[s] = Vs
        for f in range(F):
            dV[s, f] = 0.0
        for p in range(n_pi):
            if c[p] != 0.0:
                cp = c[p] * (1.0 + inv_temp * (v[p] - Vs))
                for f in range(F):
                    dV[s, f] = dV[s, f] + cp * psi[p, s, f]


@njit(cache=True, inline="always")
def _loss_grad(X, idx, coef, y, wt, n, wsum, V, dV, w, u, g):
    """Mean logistic loss at w and its gradient (into g); V, dV already hold V_w and its Jacobian."""
    F = X.shape[1]
    J = idx.shape[1]
    S = V.shape[0]
    for s in range(S):
        u[s] = 0.0
    for f in range(F):
        g[f] = 0.0
    loss = 0.0
    for i in range(n):
        z = X[i, 0] * w[0]
        for f in range(1, F):
            z = z + X[i, f] * w[f]
        for j in range(J):
            z = z + coef[i, j] * V[idx[i, j]]
        a = abs(z)
        e = exp_det(-a)
        sp = (z if z > 0.0 else 0.0) + log1p_unit_det(e)
        sig = 1.0 / (1.0 + e) if z >= 0.0 else e / (1.0 + e)
        loss = loss + wt[i] * (sp - y[i] * z)
        r = wt[i] * (sig - y[i])
        for f in range(F):
            g[f] = g[f] + r * X[i, f]
        for j in range(J):
            u[idx[i, j]] = u[idx[i, j]] + r * coef[i, j]
    for f in range(F):
        gv = 0.0
        for s in range(S):
            gv = gv + u[s] * dV[s, f]
        g[f] = (g[f] + gv) / wsum
    return loss / wsum


@njit(parallel=True, cache=True)
def fit_batch(X, idx, coef, y, wt, n_rows, psi, use_v, hard, inv_temp, w0, iters, lr, b1, b2, eps, keep_best,
              W_out, trace):
    """Adam on each dataset b (prange); see :func:`regretlab.preference.learning.fit`."""
    B, _, F = X.shape
    n_pi, S, _ = psi.shape
    for b in prange(B):
        n = n_rows[b]
        wsum = 0.0
        for i in range(n):
            wsum = wsum + wt[b, i]
        w = w0[b].copy()
        best_w = w0[b].copy()
        best = np.inf
        m = np.zeros(F)
        v2 = np.zeros(F)
        g = np.zeros(F)
        V = np.zeros(S)
        dV = np.zeros((S, F))
        u = np.zeros(S)
        vbuf = np.zeros(n_pi)
        cbuf = np.zeros(n_pi)
        pb1 = 1.0
        pb2 = 1.0
        for t in range(iters + 1):
            if use_v:
                _values(psi, w, hard, inv_temp, V, dV, vbuf, cbuf)
            loss = _loss_grad(X[b], idx[b], coef[b], y[b], wt[b], n, wsum, V, dV, w, u, g)
            trace[b, t] = loss
            if loss < best:
                best = loss
                for f in range(F):
                    best_w[f] = w[f]
            if t == iters:
                break
            pb1 = pb1 * b1
            pb2 = pb2 * b2
            step = lr / (1.0 - pb1)
            sq2 = math.sqrt(1.0 - pb2)
            for f in range(F):
                m[f] = b1 * m[f] + (1.0 - b1) * g[f]
                v2[f] = b2 * v2[f] + (1.0 - b2) * (g[f] * g[f])
                w[f] = w[f] - step * (m[f] / (math.sqrt(v2[f]) / sq2 + eps))
        for f in range(F):
            W_out[b, f] = best_w[f] if keep_best else w[f]
