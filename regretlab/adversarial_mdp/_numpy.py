"""NumPy / CuPy backend: the episode loop vectorised over replicates (leading axis R).

Same operations in the same order as ``_kernels.run_replicate`` for every replicate (sums over states,
actions and features are explicit loops, never ``xp.sum``, whose pairwise order differs), so NumPy returns
the kernel's doubles. The per-layer pieces (:func:`occupancy`, :func:`covariance`, :func:`cholesky`,
:func:`forward`, :func:`backward`, :func:`dilated_bonus`) also serve the estimator tests, vectorised over
Monte-Carlo samples instead of replicates. With CuPy (``xp=cupy``) the results agree with the CPU to
rounding (GPU FMA contraction), not bit for bit.
"""
from __future__ import annotations

import numpy as np

from regretlab.core.detmath import counter_uniforms
from regretlab.core.ftrl import hedge_rows_xp, log_barrier_rows_xp


class BatchError(RuntimeError):
    """A replicate hit a kernel error code (see ``_kernels``); ``code`` (R,) per replicate."""

    def __init__(self, code):
        super().__init__("error codes " + str(code))
        self.code = code


def occupancy(pi, P, ns, xp=np):
    """q (R, H, n, A) of policies pi (R, H, n, A) by the forward pass (padding states get 0)."""
    R, H, n, A = pi.shape
    q = xp.zeros_like(pi)
    mu = xp.zeros((R, n))
    mu[:, 0] = 1.0
    for h in range(H):
        m = int(ns[h])
        q[:, h, :m] = mu[:, :m, None] * pi[:, h, :m]
        if h < H - 1:
            nxt = xp.zeros((R, n))
            m1 = int(ns[h + 1])
            for s in range(m):
                for a in range(A):
                    nxt[:, :m1] += q[:, h, s, a, None] * P[h, s, a, :m1]
            mu = nxt
    return q


def sample_rows(p, u, n):
    """Vectorised ``_kernels._sample``: p (R, >= n) rows, u (R,) uniforms -> (R,) int64."""
    out = xp_full_like_int(u, n - 1)
    c = xp_zeros_like(u)
    open_ = u == u  # all True (u is finite)
    for i in range(n - 1):
        c = c + p[:, i]
        hit = open_ & (u < c)
        out[hit] = i
        open_ = open_ & ~hit
    return out


def xp_full_like_int(u, value):
    out = (u * 0).astype("int64")
    out[...] = value
    return out


def xp_zeros_like(u):
    return u * 0.0


def covariance(q_h, phi_h, ns_h, gamma, xp=np):
    """gamma I + sum_{s < ns_h, a} q_h[:, s, a] phi phi^T: q_h (R, n, A), phi_h (n, A, d) -> (R, d, d)."""
    R = q_h.shape[0]
    d = phi_h.shape[-1]
    M = xp.zeros((R, d, d))
    for s in range(int(ns_h)):
        for a in range(phi_h.shape[1]):
            wi = q_h[:, s, a, None] * phi_h[s, a]  # (R, d)
            M += wi[:, :, None] * phi_h[s, a][None, None, :]
    idx = xp.arange(d)
    M[:, idx, idx] += gamma
    return M


def cholesky(M, xp=np):
    """Lower Cholesky factors of M (R, d, d) by the kernel's column order; ok (R,) False where not PD."""
    R, d, _ = M.shape
    Lc = xp.zeros_like(M)
    ok = xp.ones(R, dtype=bool)
    for j in range(d):
        acc = M[:, j, j].copy()
        for t in range(j):
            acc = acc - Lc[:, j, t] * Lc[:, j, t]
        ok &= acc > 0.0
        Lc[:, j, j] = xp.sqrt(xp.where(acc > 0.0, acc, 1.0))
        for i in range(j + 1, d):
            acc = M[:, i, j].copy()
            for t in range(j):
                acc = acc - Lc[:, i, t] * Lc[:, j, t]
            Lc[:, i, j] = acc / Lc[:, j, j]
    return Lc, ok


def forward(Lc, x):
    """Solve Lc z = x: Lc (R, d, d), x (R, ..., d) with the middle axes broadcast -> z like x."""
    d = Lc.shape[-1]
    extra = x.ndim - 2
    shape = (Lc.shape[0],) + (1,) * extra
    z = x * 0.0
    for i in range(d):
        acc = x[..., i]
        for t in range(i):
            acc = acc - Lc[:, i, t].reshape(shape) * z[..., t]
        z[..., i] = acc / Lc[:, i, i].reshape(shape)
    return z


def backward(Lc, z):
    """Solve Lc^T w = z: Lc (R, d, d), z (R, d) -> (R, d)."""
    d = Lc.shape[-1]
    w = z * 0.0
    for i in range(d - 1, -1, -1):
        acc = z[:, i]
        for t in range(i + 1, d):
            acc = acc - Lc[:, t, i] * w[:, t]
        w[:, i] = acc / Lc[:, i, i]
    return w


def dot_last(phi_h, w):
    """phi_h (n, A, d) . w (R, d) -> (R, n, A), summed over d left to right."""
    acc = phi_h[None, :, :, 0] * w[:, None, None, 0]
    for j in range(1, phi_h.shape[-1]):
        acc = acc + phi_h[None, :, :, j] * w[:, None, None, j]
    return acc


def sq_norms(z):
    """sum_i z_i^2 over the last axis, left to right (z (..., d))."""
    acc = z[..., 0] * z[..., 0]
    for i in range(1, z.shape[-1]):
        acc = acc + z[..., i] * z[..., i]
    return acc


def weighted_actions(pi_h, x):
    """sum_a pi_h[..., a] x[..., a], left to right."""
    acc = pi_h[..., 0] * x[..., 0]
    for a in range(1, x.shape[-1]):
        acc = acc + pi_h[..., a] * x[..., a]
    return acc


def dilated_bonus(b, pi, P, ns, dil, xp=np):
    """B = b + dil P pi B backwards (spec §2.5): b, pi (R, H, n, A) -> B (R, H, n, A); with dil = 1 and b the
    losses this is Q^pi."""
    R, H, n, A = b.shape
    B = xp.zeros_like(b)
    VB = None
    for h in range(H - 1, -1, -1):
        m = int(ns[h])
        if h < H - 1:
            m1 = int(ns[h + 1])
            cont = P[None, h, :m, :, 0] * VB[:, None, None, 0]
            for sp in range(1, m1):
                cont = cont + P[None, h, :m, :, sp] * VB[:, None, None, sp]
            B[:, h, :m] = b[:, h, :m] + dil * cont
        else:
            B[:, h, :m] = b[:, h, :m] + dil * 0.0
        VB = weighted_actions(pi[:, h, :m], B[:, h, :m])
    return B


def run_batch(phi, P, ns, means, starts, bernoulli, spec, K, ckpts, keys, lkeys, xp=np):
    """All replicates at once; returns cum_ck (R, nc), G_ck (R, nc, H, d), diag (R, 5)."""
    H, n, A, d = phi.shape
    R = keys.shape[0]
    eta = spec.eta
    dil = 1.0 + 1.0 / H
    floor = -1.0 / (2.0 * eta)
    C = xp.zeros((R, H, n, A))
    pi = xp.zeros((R, H, n, A))
    for h in range(H):
        pi[:, h, :int(ns[h])] = 1.0 / A
    Gc = xp.zeros((R, H, d))
    cum = xp.zeros(R)
    nc = len(ckpts)
    cum_ck = xp.zeros((R, nc))
    G_ck = xp.zeros((R, nc, H, d))
    diag = xp.zeros((R, 5))
    diag[:, 0] = np.inf
    diag[:, 1] = -np.inf
    ck = [int(c) for c in ckpts]
    ci = 0
    blk = 0
    hh = np.arange(H)[:, None]
    jj = np.arange(d)[None, :]
    keys = xp.asarray(keys, dtype=xp.uint64)
    lkeys = xp.asarray(lkeys, dtype=xp.uint64)
    rows = [(h, s) for h in range(H) for s in range(int(ns[h]))]
    rh = xp.asarray(np.array([r[0] for r in rows]))  # device index arrays under CuPy
    rs = xp.asarray(np.array([r[1] for r in rows]))
    for k in range(K):
        if spec.reg != 0:
            Lrows = C[:, rh, rs].reshape(-1, A)
            if spec.reg == 1:
                p, _nu, _it, ok = log_barrier_rows_xp(Lrows, eta, xp)
                # rows that ran out of iterations, counted per replicate as the kernel does
                fails = ~ok.reshape(R, -1)
                for i in range(fails.shape[1]):
                    diag[:, 4] += xp.where(fails[:, i], 1.0, 0.0)
            else:
                p = hedge_rows_xp(Lrows, eta, xp)
            pi[:, rh, rs] = p.reshape(R, len(rows), A)
        q = occupancy(pi, P, ns, xp)
        while blk + 1 < len(starts) and starts[blk + 1] <= k:
            blk += 1
        ctr = (k * H + hh) * d + jj  # (H, d)
        u = counter_uniforms(lkeys[:, None, None], xp.asarray(ctr)[None], xp)
        g = xp.where(u < xp.asarray(means[blk])[None], 1.0, 0.0) if bernoulli else u
        Gc = Gc + g
        ell = xp.zeros((R, H, n, A))
        v = xp.zeros(R)
        for h in range(H):
            m = int(ns[h])
            acc = xp.zeros((R, m, A))
            for j in range(d):
                acc = acc + phi[None, h, :m, :, j] * g[:, h, None, None, j]
            ell[:, h, :m] = acc
            for s in range(m):
                for a in range(A):
                    v = v + q[:, h, s, a] * acc[:, s, a]
        cum = cum + v
        if spec.reg != 0:
            if spec.full_info:
                Qh = dilated_bonus(ell, pi, P, ns, 1.0, xp)  # Q^{pi_k}_k: the same backward recursion, dil = 1
                C = C + Qh
            else:
                C, e = _bandit_update(phi, P, ns, pi, q, ell, C, k, keys, spec, dil, floor, diag, xp)
                if np.any(e):
                    raise BatchError(e)
        while ci < nc and ck[ci] == k + 1:
            cum_ck[:, ci] = cum
            G_ck[:, ci] = Gc
            ci += 1
    return cum_ck, G_ck, diag


def _bandit_update(phi, P, ns, pi, q, ell, C, k, keys, spec, dil, floor, diag, xp):
    R, H, n, A = pi.shape
    d = phi.shape[-1]
    eta, beta, gamma = spec.eta, spec.beta, spec.gamma
    err = np.zeros(R, dtype=np.int64)
    ridx = xp.arange(R)
    s = xp.zeros(R, dtype=xp.int64)
    ts, ta, obs = [], [], []
    for h in range(H):
        u = counter_uniforms(keys, xp.full(R, (k * H + h) * 2, dtype=xp.int64), xp)
        a = sample_rows(pi[ridx, h, s], u, A)
        ts.append(s)
        ta.append(a)
        obs.append(ell[ridx, h, s, a])
        if h < H - 1:
            u2 = counter_uniforms(keys, xp.full(R, (k * H + h) * 2 + 1, dtype=xp.int64), xp)
            s = sample_rows(P[h][s, a], u2, int(ns[h + 1]))
    Ls = [None] * H
    suf = xp.zeros(R)
    for h in range(H - 1, -1, -1):
        suf = suf + obs[h]
        Ls[h] = suf
    Qh = xp.zeros((R, H, n, A))
    b = xp.zeros((R, H, n, A))
    for h in range(H):
        m = int(ns[h])
        M = covariance(q[:, h], phi[h], m, gamma, xp)
        Lc, ok = cholesky(M, xp)
        bad = ~np.asarray(ok if xp is np else ok.get())
        err = np.where((err == 0) & bad, 10 + h, err)
        x = phi[h][ts[h], ta[h]] * Ls[h][:, None]
        w = backward(Lc, forward(Lc, x))
        est = dot_last(phi[h, :m], w)
        Qh[:, h, :m] = est
        diag[:, 0] = xp.minimum(diag[:, 0], _min_over(est, xp))
        diag[:, 1] = xp.maximum(diag[:, 1], _max_over(est, xp))
        if spec.use_bonus:
            z = forward(Lc, xp.broadcast_to(phi[None, h, :m], (R, m, A, d)))
            nrm = sq_norms(z)
            avg = weighted_actions(pi[:, h, :m], nrm)
            b[:, h, :m] = beta * (nrm + avg[:, :, None])
    est = Qh
    if spec.truncate:
        est = xp.maximum(est, floor)
    if spec.use_bonus:
        B = dilated_bonus(b, pi, P, ns, dil, xp)
        for h in range(H):
            m = int(ns[h])
            diag[:, 3] = xp.maximum(diag[:, 3], _max_over(eta * B[:, h, :m], xp))
        est = est - B
    Cn = C + est
    if not bool(xp.all(xp.abs(Cn) < np.inf)):
        err = np.where((err == 0) & ~np.asarray(_finite_rows(Cn, xp)), 2, err)
    for h in range(H):
        m = int(ns[h])
        diag[:, 2] = xp.maximum(diag[:, 2], _max_over(xp.abs(eta * Cn[:, h, :m]), xp))
    return Cn, err


def _min_over(x, xp):
    return x.reshape(x.shape[0], -1).min(axis=1)


def _max_over(x, xp):
    return x.reshape(x.shape[0], -1).max(axis=1)


def _finite_rows(x, xp):
    out = xp.all(xp.abs(x.reshape(x.shape[0], -1)) < np.inf, axis=1)
    return out if xp is np else out.get()
