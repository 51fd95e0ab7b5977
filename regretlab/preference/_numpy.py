"""NumPy / CuPy twin of :mod:`regretlab.preference._kernels` (``xp`` is either module).

Operations, in this order, per dataset b and iteration t (the Numba kernel and the plain-Python
reference perform the same ones; sums run left to right, which NumPy's ``cumsum`` and ``bincount`` do and
its pairwise ``sum`` would not):

1. if the logit has value terms: ``v[p, s] = psi[p, s, 0] w_0 + ... + psi[p, s, F-1] w_{F-1}``;
   hard max: ``V = max_p v``, ``dV = psi[first argmax]``; soft (the authors' softmax-weighted mean,
   temperature T): ``e_p = exp((v_p - max v) / T)``, ``p = e / sum e``, ``V = sum_p p_p v_p``,
   ``dV = sum_p p_p (1 + (v_p - V) / T) psi_p`` (the exact derivative of that mean);
2. per row: ``z = X_0 w_0 + ... + X_{F-1} w_{F-1} + c_0 V[i_0] + ... + c_{J-1} V[i_{J-1}]``,
   ``e = exp(-|z|)``, ``softplus(z) = max(z, 0) + log1p(e)``, ``sigma = 1/(1+e)`` (z >= 0) or ``e/(1+e)``;
   loss ``sum_i wt_i (softplus(z_i) - y_i z_i) / sum wt``; residual ``r_i = wt_i (sigma_i - y_i)``;
3. gradient ``g_f = (sum_i r_i X_if + sum_s u_s dV[s, f]) / sum wt`` with ``u_s = sum_{(i,j): i_j = s} r_i c_ij``;
4. Adam (PyTorch's form): ``m = b1 m + (1-b1) g``, ``v = b2 v + (1-b2) g^2``,
   ``w -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)``, with b^t as running products.

exp and log1p are :mod:`regretlab.core.detmath`'s portable versions.
"""
from __future__ import annotations

import math

import numpy as np

from ..core.detmath import exp_array, log1p_unit_array


def _seqsum(x, axis, xp):
    """Left-to-right sum along ``axis`` (cumsum is sequential; sum is pairwise)."""
    if x.shape[axis] == 0:
        return xp.zeros(x.shape[:axis] + x.shape[axis + 1:])
    return xp.take(xp.cumsum(x, axis=axis), -1, axis=axis)


def values(psi, w, hard, inv_temp, xp=np):
    """V (B, S) and dV (B, S, F) for weights w (B, F) (step 1)."""
    F = psi.shape[2]
    v = psi[None, :, :, 0] * w[:, None, None, 0]  # (B, n_pi, S)
    for f in range(1, F):
        v = v + psi[None, :, :, f] * w[:, None, None, f]
    if hard:
        best = xp.argmax(v, axis=1)  # (B, S): first maximiser
        V = xp.max(v, axis=1)
        dV = psi[best, xp.arange(psi.shape[1])[None, :]]  # (B, S, F)
        return V, dV
    vmax = xp.max(v, axis=1, keepdims=True)
    e = exp_array((v - vmax) * inv_temp, xp=xp)
    p = e / _seqsum(e, 1, xp)[:, None]
    V = _seqsum(p * v, 1, xp)
    c = p * (1.0 + inv_temp * (v - V[:, None]))
    dV = _seqsum(c[..., None] * psi[None], 1, xp)
    return V, dV


def loss_grad(X, idx, coef, y, wt, wsum, V, dV, w, xp=np):
    """Loss (B,) and gradient (B, F) at w (steps 2-3); padded rows have wt = 0."""
    B, N, F = X.shape
    S = V.shape[1]
    J = idx.shape[2]
    z = X[..., 0] * w[:, None, 0]
    for f in range(1, F):
        z = z + X[..., f] * w[:, None, f]
    rows = xp.arange(B)[:, None]
    for j in range(J):
        z = z + coef[..., j] * V[rows, idx[..., j]]
    e = exp_array(-xp.abs(z), xp=xp)
    sp = xp.maximum(z, 0.0) + log1p_unit_array(e, xp=xp)
    sig = xp.where(z >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))
    loss = _seqsum(wt * (sp - y * z), 1, xp) / wsum
    r = wt * (sig - y)
    g = _seqsum(r[..., None] * X, 1, xp)
    if J:
        contrib = (r[..., None] * coef).reshape(B, N * J)
        flat = idx.reshape(B, N * J)
        u = xp.stack([xp.bincount(flat[b], weights=contrib[b], minlength=S) for b in range(B)])
    else:
        u = xp.zeros((B, S))
    gv = _seqsum(u[..., None] * dV, 1, xp)
    return loss, (g + gv) / wsum[:, None]


def fit_batch(X, idx, coef, y, wt, n_rows, psi, use_v, hard, inv_temp, w0, iters, lr, b1, b2, eps, keep_best,
              xp=np):
    """The NumPy/CuPy twin of ``_kernels.fit_batch``: returns (W (B, F), trace (B, iters + 1))."""
    B, N, F = X.shape
    S = psi.shape[1]
    wsum = _seqsum(wt, 1, xp)
    w = w0.copy()
    best_w = w0.copy()
    best = xp.full(B, xp.inf)
    m = xp.zeros((B, F))
    v2 = xp.zeros((B, F))
    V = xp.zeros((B, S))
    dV = xp.zeros((B, S, F))
    trace = xp.empty((B, iters + 1))
    pb1 = pb2 = 1.0
    for t in range(iters + 1):
        if use_v:
            V, dV = values(psi, w, hard, inv_temp, xp=xp)
        loss, g = loss_grad(X, idx, coef, y, wt, wsum, V, dV, w, xp=xp)
        trace[:, t] = loss
        better = loss < best
        best = xp.where(better, loss, best)
        best_w = xp.where(better[:, None], w, best_w)
        if t == iters:
            break
        pb1 = pb1 * b1
        pb2 = pb2 * b2
        step = lr / (1.0 - pb1)
        sq2 = math.sqrt(1.0 - pb2)
        m = b1 * m + (1.0 - b1) * g
        v2 = b2 * v2 + (1.0 - b2) * (g * g)
        w = w - step * (m / (xp.sqrt(v2) / sq2 + eps))
    return (best_w if keep_best else w), trace
