"""Numba kernel: policy optimisation in an adversarial linear MDP, one replicate per ``prange`` iteration.

The episode loop of ``regretlab.adversarial_mdp.simulate`` (see its docstring for the algorithms and the
papers). The NumPy backend (``_numpy.py``) and the plain-Python reference (``reference.py``) perform the same
floating-point operations in the same order, so all three return identical doubles. Inputs are validated by
the caller. Compiled on first use and cached on disk (``cache=True``); nothing compiles at import.

Error codes returned per replicate (the caller raises a clear error): 0 ok; 10 + h: the regularised
covariance gamma I + Sigma of layer h is not positive definite (gamma = 0 with a singular Sigma); 2: a
cumulative estimated loss became non-finite.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from regretlab.core._detmath_kernels import ctr_uniform
from regretlab.core._ftrl_kernels import hedge_row_det, log_barrier_row

REG_UNIFORM, REG_LOG_BARRIER, REG_HEDGE = 0, 1, 2


@njit(cache=True)
def _sample(p, n, u):
    """Inverse-CDF draw from p[:n] with u in [0, 1): the first index whose cumulative sum exceeds u."""
    c = 0.0
    for i in range(n - 1):
        c += p[i]
        if u < c:
            return i
    return n - 1


@njit(cache=True)
def _cholesky(M, Lc, d):
    """Lower Cholesky factor of M[:d, :d] into Lc; False if M is not positive definite."""
    for j in range(d):
        acc = M[j, j]
        for t in range(j):
            acc -= Lc[j, t] * Lc[j, t]
        if not acc > 0.0:
            return False
        Lc[j, j] = math.sqrt(acc)
        for i in range(j + 1, d):
            acc = M[i, j]
            for t in range(j):
                acc -= Lc[i, t] * Lc[j, t]
            Lc[i, j] = acc / Lc[j, j]
    return True


@njit(cache=True)
def _solve(Lc, x, z, w, d):
    """w = (Lc Lc^T)^{-1} x by forward then backward substitution (z scratch)."""
    for i in range(d):
        acc = x[i]
        for t in range(i):
            acc -= Lc[i, t] * z[t]
        z[i] = acc / Lc[i, i]
    for i in range(d - 1, -1, -1):
        acc = z[i]
        for t in range(i + 1, d):
            acc -= Lc[t, i] * w[t]
        w[i] = acc / Lc[i, i]


@njit(cache=True)
def _inv_norm2(Lc, x, z, d):
    """x^T (Lc Lc^T)^{-1} x = ||Lc^{-1} x||^2 by forward substitution (z scratch)."""
    nr = 0.0
    for i in range(d):
        acc = x[i]
        for t in range(i):
            acc -= Lc[i, t] * z[t]
        z[i] = acc / Lc[i, i]
        nr += z[i] * z[i]
    return nr


@njit(cache=True)
def _backward_values(P, ns, pi, r, dil, out, V):
    """out[h, s, a] = r[h, s, a] + dil sum_s' P[h, s, a, s'] V[h + 1, s'], V[h, s] = sum_a pi out, backwards
    (Q^pi with dil = 1; the dilated bonus with dil = 1 + 1/H). V (H, n) is scratch."""
    H, _, A = r.shape
    for h in range(H - 1, -1, -1):
        for s in range(ns[h]):
            for a in range(A):
                cont = 0.0
                if h < H - 1:
                    for sp in range(ns[h + 1]):
                        cont += P[h, s, a, sp] * V[h + 1, sp]
                out[h, s, a] = r[h, s, a] + dil * cont
        for s in range(ns[h]):
            acc = 0.0
            for a in range(A):
                acc += pi[h, s, a] * out[h, s, a]
            V[h, s] = acc


#: counter offset of the per-episode mixture coin of the simulator-free algorithm (trajectories use 2 (k H + h))
MIX_CTR = 1 << 62


@njit(cache=True)
def _forward_occupancy(P, ns, pi, q, mu):
    """q[h, s, a] = occupancy of pi from s_0 (forward pass); mu (H, n) scratch."""
    H, _, A = pi.shape
    mu[0, 0] = 1.0
    for h in range(H):
        for s in range(ns[h]):
            for a in range(A):
                q[h, s, a] = mu[h, s] * pi[h, s, a]
        if h < H - 1:
            for sp in range(ns[h + 1]):
                mu[h + 1, sp] = 0.0
            for s in range(ns[h]):
                for a in range(A):
                    for sp in range(ns[h + 1]):
                        mu[h + 1, sp] += q[h, s, a] * P[h, s, a, sp]


@njit(cache=True)
def _episode_losses(phi, ns, means, starts, bernoulli, lkey, k, blk, g, Gc, ell, q):
    """The adversary's loss vectors g of episode k (block of the means table advanced to k; counter
    (k H + h) d + j of lkey), added to Gc; ell[h, s, a] = phi^T g; returns (block, sum q ell), the exact
    expected loss of the policy with occupancy q."""
    H, _, A, d = phi.shape
    while blk + 1 < means.shape[0] and starts[blk + 1] <= k:
        blk += 1
    for h in range(H):
        for j in range(d):
            u = ctr_uniform(lkey, np.uint64((k * H + h) * d + j))
            if bernoulli:
                g[h, j] = 1.0 if u < means[blk, h, j] else 0.0
            else:
                g[h, j] = u
            Gc[h, j] += g[h, j]
    v = 0.0
    for h in range(H):
        for s in range(ns[h]):
            for a in range(A):
                acc = 0.0
                for j in range(d):
                    acc += phi[h, s, a, j] * g[h, j]
                ell[h, s, a] = acc
                v += q[h, s, a] * acc
    return blk, v


@njit(cache=True)
def _linear_estimate(phi, ns, h, w, Qh, diag):
    """Qh[h, s, a] = phi(s, a)^T w for the states of layer h; running min / max in diag[0], diag[1]."""
    A, d = phi.shape[2], phi.shape[3]
    for s in range(ns[h]):
        for a in range(A):
            acc = 0.0
            for j in range(d):
                acc += phi[h, s, a, j] * w[j]
            Qh[h, s, a] = acc
            diag[0] = min(diag[0], acc)
            diag[1] = max(diag[1], acc)


@njit(cache=True)
def _bonus_layer(phi, ns, h, pi, Lc, z, beta, nrm, b):
    """b[h, s, a] = beta (||phi(s, a)||^2 + sum_a' pi(a'|s) ||phi(s, a')||^2) in the inverse (Lc Lc^T)^{-1}."""
    A, d = phi.shape[2], phi.shape[3]
    for s in range(ns[h]):
        for a in range(A):
            nrm[s, a] = _inv_norm2(Lc, phi[h, s, a], z, d)
    for s in range(ns[h]):
        avg = 0.0
        for a in range(A):
            avg += pi[h, s, a] * nrm[s, a]
        for a in range(A):
            b[h, s, a] = beta * (nrm[s, a] + avg)


@njit(cache=True)
def _init_diag(diag):
    diag[0] = np.inf
    diag[1] = -np.inf
    diag[2] = 0.0
    diag[3] = 0.0
    diag[4] = 0.0


@njit(cache=True)
def _record(ckpts, ci, k, cum, Gc, cum_ck, G_ck):
    """Store cum and Gc at every checkpoint equal to k + 1; returns the next checkpoint index."""
    while ci < ckpts.shape[0] and ckpts[ci] == k + 1:
        cum_ck[ci] = cum
        G_ck[ci, :, :] = Gc
        ci += 1
    return ci


@njit(cache=True)
def _trajectory(P, ns, pol, ell, key, k, ts, ta, obs, Ls):
    """Episode k's trajectory of the policy pol (action counter 2 (k H + h), transition counter + 1 of key):
    states ts, actions ta, observed losses obs and losses-to-go Ls, each (H,)."""
    H, _, A = pol.shape
    s = 0
    for h in range(H):
        a = _sample(pol[h, s], A, ctr_uniform(key, np.uint64((k * H + h) * 2)))
        ts[h] = s
        ta[h] = a
        obs[h] = ell[h, s, a]
        if h < H - 1:
            s = _sample(P[h, s, a], ns[h + 1], ctr_uniform(key, np.uint64((k * H + h) * 2 + 1)))
    suf = 0.0
    for h in range(H - 1, -1, -1):
        suf += obs[h]
        Ls[h] = suf


@njit(cache=True)
def run_replicate(phi, P, ns, means, starts, bernoulli, reg, full_info, truncate, use_bonus, eta, beta, gamma,
                  K, ckpts, key, lkey, cum_ck, G_ck, diag):
    """One replicate; fills cum_ck (nc,), G_ck (nc, H, d), diag (5,); returns an error code (module doc)."""
    H, n, A, d = phi.shape
    C = np.zeros((H, n, A))
    pi = np.zeros((H, n, A))
    q = np.zeros((H, n, A))
    mu = np.zeros((H, n))
    ell = np.zeros((H, n, A))
    g = np.zeros((H, d))
    Gc = np.zeros((H, d))
    Qh = np.zeros((H, n, A))
    b = np.zeros((H, n, A))
    Bd = np.zeros((H, n, A))
    VB = np.zeros((H, n))
    nrm = np.zeros((n, A))
    M = np.zeros((d, d))
    Lc = np.zeros((d, d))
    x = np.zeros(d)
    z = np.zeros(d)
    w = np.zeros(d)
    ts = np.zeros(H, dtype=np.int64)
    ta = np.zeros(H, dtype=np.int64)
    obs = np.zeros(H)
    Ls = np.zeros(H)
    dil = 1.0 + 1.0 / H
    floor = -1.0 / (2.0 * eta)
    cum = 0.0
    ci = 0
    blk = 0
    _init_diag(diag)
    for h in range(H):
        for s in range(ns[h]):
            for a in range(A):
                pi[h, s, a] = 1.0 / A
    for k in range(K):
        # 1. policy of every state from its cumulative loss estimates
        if reg != REG_UNIFORM:
            for h in range(H):
                for s in range(ns[h]):
                    if reg == REG_LOG_BARRIER:
                        _nu, _it, ok = log_barrier_row(C[h, s], eta, 1e-14, 100, pi[h, s])
                        if not ok:
                            diag[4] += 1.0
                    else:
                        hedge_row_det(C[h, s], eta, pi[h, s])
        # 2. occupancy (forward pass)
        _forward_occupancy(P, ns, pi, q, mu)
        # 3. the adversary's losses of episode k, and the exact expected loss of pi_k
        blk, v = _episode_losses(phi, ns, means, starts, bernoulli, lkey, k, blk, g, Gc, ell, q)
        cum += v
        if reg != REG_UNIFORM:
            if full_info:
                # 4a. full information: the learner sees Q^{pi_k}_k (backward evaluation)
                _backward_values(P, ns, pi, ell, 1.0, Qh, VB)
                for h in range(H):
                    for s in range(ns[h]):
                        for a in range(A):
                            C[h, s, a] += Qh[h, s, a]
            else:
                # 4b. one trajectory of pi_k; bandit feedback
                _trajectory(P, ns, pi, ell, key, k, ts, ta, obs, Ls)
                for h in range(H):
                    # covariance gamma I + sum_{s,a} q phi phi^T and its Cholesky factor
                    for i in range(d):
                        for j in range(d):
                            M[i, j] = 0.0
                    for s in range(ns[h]):
                        for a in range(A):
                            for i in range(d):
                                wi = q[h, s, a] * phi[h, s, a, i]
                                for j in range(d):
                                    M[i, j] += wi * phi[h, s, a, j]
                    for i in range(d):
                        M[i, i] += gamma
                    if not _cholesky(M, Lc, d):
                        return 10 + h
                    # w = (gamma I + Sigma)^{-1} phi(s_h, a_h) L_h
                    for i in range(d):
                        x[i] = phi[h, ts[h], ta[h], i] * Ls[h]
                    _solve(Lc, x, z, w, d)
                    _linear_estimate(phi, ns, h, w, Qh, diag)
                    if use_bonus:
                        _bonus_layer(phi, ns, h, pi, Lc, z, beta, nrm, b)
                if use_bonus:
                    # dilated bonus B = b + (1 + 1/H) P pi B (backward)
                    _backward_values(P, ns, pi, b, dil, Bd, VB)
                    for h in range(H):
                        for s in range(ns[h]):
                            for a in range(A):
                                diag[3] = max(diag[3], eta * Bd[h, s, a])
                for h in range(H):
                    for s in range(ns[h]):
                        for a in range(A):
                            est = Qh[h, s, a]
                            if truncate:
                                est = max(est, floor)
                            if use_bonus:
                                est = est - Bd[h, s, a]
                            c = C[h, s, a] + est
                            if not abs(c) < np.inf:
                                return 2
                            C[h, s, a] = c
                            diag[2] = max(diag[2], abs(eta * c))
        ci = _record(ckpts, ci, k, cum, Gc, cum_ck, G_ck)
    return 0


@njit(parallel=True, cache=True)
def simulate_batch(phi, P, ns, means, starts, bernoulli, reg, full_info, truncate, use_bonus, eta, beta, gamma, K,
                   ckpts, keys, lkeys, cum_ck, G_ck, diag, err):
    """All replicates: keys/lkeys (R,) uint64; cum_ck (R, nc); G_ck (R, nc, H, d); diag (R, 5); err (R,)."""
    for r in prange(keys.shape[0]):
        err[r] = run_replicate(phi, P, ns, means, starts, bernoulli, reg, full_info, truncate, use_bonus, eta, beta,
                               gamma, K, ckpts, keys[r], lkeys[r], cum_ck[r], G_ck[r], diag[r])


@njit(cache=True)
def run_alg3_replicate(phi, P, ns, means, starts, bernoulli, eta, beta, gamma, W, delta, ridge, K, ckpts, key, lkey,
                       cum_ck, G_ck, diag):
    """One replicate of ``alg3_reconstructed`` (simulator-free; :mod:`regretlab.adversarial_mdp.algorithms`).

    Epochs of W episodes; the learner uses the trajectories only (P appears in the occupancy used for the
    exact *expected* loss of the regret accounting, and in sampling the trajectories). Returns an error code.
    """
    H, n, A, d = phi.shape
    C = np.zeros((H, n, A))
    pi = np.zeros((H, n, A))
    piu = np.zeros((H, n, A))
    q = np.zeros((H, n, A))
    qu = np.zeros((H, n, A))
    qm = np.zeros((H, n, A))
    mu = np.zeros((H, n))
    ell = np.zeros((H, n, A))
    g = np.zeros((H, d))
    Gc = np.zeros((H, d))
    Qh = np.zeros((H, n, A))
    b = np.zeros((H, n, A))
    Bd = np.zeros((H, n, A))
    nrm = np.zeros((n, A))
    M = np.zeros((d, d))
    Lc = np.zeros((d, d))
    x = np.zeros(d)
    z = np.zeros(d)
    w = np.zeros(d)
    ES = np.zeros((W, H), dtype=np.int64)
    EA = np.zeros((W, H), dtype=np.int64)
    EL = np.zeros((W, H))
    obs = np.zeros(H)
    dil = 1.0 + 1.0 / H
    cum = 0.0
    ci = 0
    blk = 0
    _init_diag(diag)
    for h in range(H):
        for s in range(ns[h]):
            for a in range(A):
                piu[h, s, a] = 1.0 / A
    _forward_occupancy(P, ns, piu, qu, mu)
    for k in range(K):
        i_ep = k % W
        if i_ep == 0:
            # 1. the epoch's policy from the cumulative estimates; the executed mixture's occupancy
            for h in range(H):
                for s in range(ns[h]):
                    _nu, _it, ok = log_barrier_row(C[h, s], eta, 1e-14, 100, pi[h, s])
                    if not ok:
                        diag[4] += 1.0
            _forward_occupancy(P, ns, pi, q, mu)
            for h in range(H):
                for s in range(ns[h]):
                    for a in range(A):
                        qm[h, s, a] = (1.0 - delta) * q[h, s, a] + delta * qu[h, s, a]
        # 2. the adversary's losses of episode k and the exact expected loss of the mixture
        blk, v = _episode_losses(phi, ns, means, starts, bernoulli, lkey, k, blk, g, Gc, ell, qm)
        cum += v
        # 3. one trajectory of the cover (uniform) with probability delta, else of pi_j
        if ctr_uniform(key, np.uint64(MIX_CTR + k)) < delta:
            _trajectory(P, ns, piu, ell, key, k, ES[i_ep], EA[i_ep], obs, EL[i_ep])
        else:
            _trajectory(P, ns, pi, ell, key, k, ES[i_ep], EA[i_ep], obs, EL[i_ep])
        if i_ep == W - 1 and k < K - 1:
            # 4. epoch end: even episodes estimate the covariance, odd ones the loss; all feed the regression
            n_cov = (W + 1) // 2
            n_est = W // 2
            for h in range(H):
                for i in range(d):
                    for j in range(d):
                        M[i, j] = 0.0
                for e in range(0, W, 2):
                    for i in range(d):
                        wi = phi[h, ES[e, h], EA[e, h], i] / n_cov
                        for j in range(d):
                            M[i, j] += wi * phi[h, ES[e, h], EA[e, h], j]
                for i in range(d):
                    M[i, i] += gamma
                if not _cholesky(M, Lc, d):
                    return 10 + h
                for i in range(d):
                    x[i] = 0.0
                for e in range(1, W, 2):
                    for i in range(d):
                        x[i] += phi[h, ES[e, h], EA[e, h], i] * EL[e, h] / n_est
                _solve(Lc, x, z, w, d)
                _linear_estimate(phi, ns, h, w, Qh, diag)
                _bonus_layer(phi, ns, h, pi, Lc, z, beta, nrm, b)
            # 5. dilated bonus by least squares on the epoch's transitions (no simulator)
            for h in range(H - 1, -1, -1):
                if h == H - 1:
                    for s in range(ns[h]):
                        for a in range(A):
                            Bd[h, s, a] = b[h, s, a]
                    continue
                for i in range(d):
                    x[i] = 0.0
                    for j in range(d):
                        M[i, j] = 0.0
                    M[i, i] = ridge
                for e in range(W):
                    sp = ES[e, h + 1]
                    y = 0.0
                    for a in range(A):
                        y += pi[h + 1, sp, a] * Bd[h + 1, sp, a]
                    for i in range(d):
                        fi = phi[h, ES[e, h], EA[e, h], i]
                        x[i] += fi * y
                        for j in range(d):
                            M[i, j] += fi * phi[h, ES[e, h], EA[e, h], j]
                if not _cholesky(M, Lc, d):
                    return 10 + h
                _solve(Lc, x, z, w, d)
                for s in range(ns[h]):
                    for a in range(A):
                        acc = 0.0
                        for j in range(d):
                            acc += phi[h, s, a, j] * w[j]
                        Bd[h, s, a] = b[h, s, a] + dil * acc
            # 6. C += W (Qhat - B)
            for h in range(H):
                for s in range(ns[h]):
                    for a in range(A):
                        diag[3] = max(diag[3], eta * W * Bd[h, s, a])
                        c = C[h, s, a] + W * (Qh[h, s, a] - Bd[h, s, a])
                        if not abs(c) < np.inf:
                            return 2
                        C[h, s, a] = c
                        diag[2] = max(diag[2], abs(eta * c))
        ci = _record(ckpts, ci, k, cum, Gc, cum_ck, G_ck)
    return 0


@njit(parallel=True, cache=True)
def simulate_alg3_batch(phi, P, ns, means, starts, bernoulli, eta, beta, gamma, W, delta, ridge, K, ckpts, keys,
                        lkeys, cum_ck, G_ck, diag, err):
    """All replicates of ``alg3_reconstructed`` (same arrays as :func:`simulate_batch`)."""
    for r in prange(keys.shape[0]):
        err[r] = run_alg3_replicate(phi, P, ns, means, starts, bernoulli, eta, beta, gamma, W, delta, ridge, K,
                                    ckpts, keys[r], lkeys[r], cum_ck[r], G_ck[r], diag[r])
