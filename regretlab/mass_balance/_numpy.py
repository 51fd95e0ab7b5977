"""NumPy (and CuPy) backend of the mass-balance simulations, vectorised over trials x vocabulary.

The same operations as ``_kernels.py`` in the same order (sums as index-order ``cumsum``, the portable
``exp_array``, counter-based draws), so on the CPU it equals the Numba kernels and the reference bit for
bit. With ``xp = cupy`` it is the GPU path: the same uniforms (integer arithmetic, exact), while ``exp``
(FMA-contracted Horner steps) and the cumulative sums (parallel scans) agree with the CPU to rounding
(about 1e-16 relative), not bit for bit; a draw can differ only when a uniform lands within rounding
of a CDF boundary.
"""
from __future__ import annotations

import numpy as np

from regretlab.core.detmath import counter_uniforms, exp_array

from .reference import ONE_STEP_COLUMNS


def _rowsum(x, xp):
    """Index-order sums of each row (the order of the Numba loops)."""
    return xp.cumsum(x, axis=-1)[..., -1]


def softmax_cdf(z, xp=np):
    """(p, cdf, total, last) of logits z (..., V): the ``_kernels.softmax_cdf`` of each row."""
    e = exp_array(z - z.max(axis=-1, keepdims=True), xp)
    cdf = xp.cumsum(e, axis=-1)
    total = cdf[..., -1]
    p = e / total[..., None]
    if z.ndim == 1:
        last = int(xp.searchsorted(cdf, total, side="left"))
    else:
        last = xp.stack([xp.searchsorted(cdf[b], total[b], side="left") for b in range(z.shape[0])])
    return p, cdf, total, last


def _draw(cdf, total, last, keys, counters, xp):
    """Token indices (B, n) of the draws ``counters`` of streams ``keys`` (one cdf row per trial or shared)."""
    u = counter_uniforms(keys[:, None], counters[None, :] if counters.ndim == 1 else counters, xp)
    if cdf.ndim == 1:
        idx = xp.searchsorted(cdf, u * total, side="right")
        return xp.minimum(idx, last)
    rows = [xp.searchsorted(cdf[b], u[b] * total[b], side="right") for b in range(cdf.shape[0])]
    return xp.minimum(xp.stack(rows), last[:, None])


def one_step(z, is_c, N, eta, r_c, r_w, keys, xp=np, chunk_bytes=256 << 20):
    """(R, len(ONE_STEP_COLUMNS)) float64: the ``_kernels.one_step`` columns of each trial."""
    V = z.size
    p, cdf, total, last = softmax_cdf(z, xp)
    step = eta / N
    Q_c = _rowsum(xp.where(is_c, p, 0.0), xp)
    Q_w = _rowsum(xp.where(is_c, 0.0, p), xp)
    p2 = p * p
    R = keys.shape[0]
    out = xp.empty((R, len(ONE_STEP_COLUMNS)))
    B = max(1, min(R, chunk_bytes // (8 * max(V, N) * 6)))
    draws = xp.arange(N, dtype=xp.uint64)
    for lo in range(0, R, B):
        kb = keys[lo:lo + B]
        b = kb.shape[0]
        idx = _draw(cdf, total, last, kb, draws, xp)
        hit = xp.zeros((b, V), dtype=bool)
        hit[xp.arange(b)[:, None], idx] = True
        A, Bm = hit & is_c, hit & ~is_c
        P_A, P_B = _rowsum(xp.where(A, p, 0.0), xp), _rowsum(xp.where(Bm, p, 0.0), xp)
        a2, b2 = _rowsum(xp.where(A, p2, 0.0), xp), _rowsum(xp.where(Bm, p2, 0.0), xp)
        uc2 = _rowsum(xp.where(~hit & is_c, p2, 0.0), xp)
        uw2 = _rowsum(xp.where(~hit & ~is_c, p2, 0.0), xp)
        s = r_c * P_A + r_w * P_B
        rho = xp.where(hit, xp.where(is_c, r_c, r_w), 0.0)
        dz = p * (rho - s[:, None])
        mean = _rowsum(p * dz, xp)
        dp = p * (dz - mean[:, None])
        dq = _rowsum(xp.where(is_c, dp, 0.0), xp)
        min_dp = xp.where(is_c, dp, xp.inf).min(axis=1)
        zp = z + step * dz
        e = exp_array(zp - zp.max(axis=1, keepdims=True), xp)
        tot = _rowsum(e, xp)
        q_new = _rowsum(xp.where(is_c, e / tot[:, None], 0.0), xp)
        cols = [step * dq, dq, (r_c - s) * Q_w * a2, (s - r_w) * Q_c * b2, s * (Q_c * uw2 - Q_w * uc2), s, a2,
                b2, uc2, uw2, step * min_dp, (min_dp > 0.0).astype(xp.float64), q_new - Q_c,
                _rowsum(dp, xp), hit.sum(axis=1).astype(xp.float64)]
        out[lo:lo + b] = xp.stack(cols, axis=1)
    return out


def train(z0, is_c, cidx, N, r_c, r_w, center, lr_decay, b1, omb1, b2, omb2, eps, step_size, bc2_sqrt,
          freeze_anchor, ckpt, keys, xp=np):
    """The ``_kernels.train`` simulator with all trials as one (R, V) batch; returns its output arrays."""
    R, V = keys.shape[0], z0.size
    C = len(ckpt)
    steps = int(ckpt[-1])
    m = int(cidx.size)
    z = xp.tile(z0, (R, 1))
    mom = xp.zeros((R, V))
    vel = xp.zeros((R, V))
    q_pos, improved, worst = xp.zeros((R, C)), xp.zeros((R, C)), xp.zeros((R, C))
    worst_idx, ties = xp.zeros((R, C), dtype=xp.int64), xp.zeros((R, C), dtype=xp.int64)
    nzero = xp.zeros(R, dtype=xp.int64)
    rows = xp.arange(R)
    draws = xp.arange(N, dtype=xp.uint64)
    upd = xp.ones(V, dtype=bool)
    if freeze_anchor:
        upd[0] = False
    k = 0
    p0 = None
    for t in range(steps + 1):
        p, cdf, total, last = softmax_cdf(z, xp)
        if t == 0:
            p0 = p.copy()
        if t == ckpt[k]:
            pc = p[:, cidx]
            d = pc - p0[:, cidx]
            q_pos[:, k] = _rowsum(pc, xp) if m else 0.0
            improved[:, k] = 100.0 * (d > 0.0).sum(axis=1) / m if m else 0.0
            if m:
                w = d.min(axis=1)
                worst[:, k] = w
                worst_idx[:, k] = cidx[xp.argmin(d, axis=1)]
                ties[:, k] = (d == w[:, None]).sum(axis=1)
            else:
                worst_idx[:, k] = -1
            k += 1
        if t == steps:
            break
        idx = _draw(cdf, total, last, keys, draws + xp.uint64(t * N), xp)
        counts = xp.bincount((idx + rows[:, None] * V).ravel(), minlength=R * V).reshape(R, V)
        nc = is_c[idx].sum(axis=1)
        if center:
            b = (r_c * nc + r_w * (N - nc)) / N
            nzero += (nc == 0) | (nc == N)
        else:
            b = xp.zeros(R)
        g_class = xp.where(is_c, (r_c - b)[:, None], (r_w - b)[:, None])
        cg = counts * g_class
        S = _rowsum(cg * p, xp)
        g = (p * S[:, None] - cg * p) / N
        mom_new = b1 * mom + omb1 * g
        vel_new = b2 * vel + omb2 * (g * g)
        z_new = z * lr_decay - step_size[t] * (mom_new / (xp.sqrt(vel_new) / bc2_sqrt[t] + eps))
        mom = xp.where(upd, mom_new, mom)
        vel = xp.where(upd, vel_new, vel)
        z = xp.where(upd, z_new, z)
    zero_grad = nzero / steps if steps > 0 else xp.zeros(R)
    return q_pos, improved, worst, worst_idx, ties, zero_grad
