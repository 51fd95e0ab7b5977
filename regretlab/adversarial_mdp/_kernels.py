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


@njit(cache=True)
def run_replicate(phi, P, ns, means, starts, bernoulli, reg, full_info, truncate, use_bonus, eta, beta, gamma,
                  K, ckpts, key, lkey, cum_ck, G_ck, diag):
    """One replicate; fills cum_ck (nc,), G_ck (nc, H, d), diag (5,); returns an error code (module doc)."""
    H, n, A, d = phi.shape
    nb = means.shape[0]
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
    diag[0] = np.inf
    diag[1] = -np.inf
    diag[2] = 0.0
    diag[3] = 0.0
    diag[4] = 0.0
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
        # 3. the adversary's losses of episode k, and the exact expected loss of pi_k
        while blk + 1 < nb and starts[blk + 1] <= k:
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
                s = 0
                for h in range(H):
                    a = _sample(pi[h, s], A, ctr_uniform(key, np.uint64((k * H + h) * 2)))
                    ts[h] = s
                    ta[h] = a
                    obs[h] = ell[h, s, a]
                    if h < H - 1:
                        s = _sample(P[h, s, a], ns[h + 1], ctr_uniform(key, np.uint64((k * H + h) * 2 + 1)))
                suf = 0.0
                for h in range(H - 1, -1, -1):
                    suf += obs[h]
                    Ls[h] = suf
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
                    for j in range(d):
                        acc = M[j, j]
                        for t in range(j):
                            acc -= Lc[j, t] * Lc[j, t]
                        if not acc > 0.0:
                            return 10 + h
                        Lc[j, j] = math.sqrt(acc)
                        for i in range(j + 1, d):
                            acc = M[i, j]
                            for t in range(j):
                                acc -= Lc[i, t] * Lc[j, t]
                            Lc[i, j] = acc / Lc[j, j]
                    # w = (gamma I + Sigma)^{-1} phi(s_h, a_h) L_h
                    for i in range(d):
                        x[i] = phi[h, ts[h], ta[h], i] * Ls[h]
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
                    for s in range(ns[h]):
                        for a in range(A):
                            acc = 0.0
                            for j in range(d):
                                acc += phi[h, s, a, j] * w[j]
                            Qh[h, s, a] = acc
                            diag[0] = min(diag[0], acc)
                            diag[1] = max(diag[1], acc)
                    if use_bonus:
                        # ||phi(s, a)||^2 in the inverse covariance, by forward substitution
                        for s in range(ns[h]):
                            for a in range(A):
                                nr = 0.0
                                for i in range(d):
                                    acc = phi[h, s, a, i]
                                    for t in range(i):
                                        acc -= Lc[i, t] * z[t]
                                    z[i] = acc / Lc[i, i]
                                    nr += z[i] * z[i]
                                nrm[s, a] = nr
                            for s in range(ns[h]):
                                avg = 0.0
                                for a in range(A):
                                    avg += pi[h, s, a] * nrm[s, a]
                                for a in range(A):
                                    b[h, s, a] = beta * (nrm[s, a] + avg)
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
        while ci < ckpts.shape[0] and ckpts[ci] == k + 1:
            cum_ck[ci] = cum
            for h in range(H):
                for j in range(d):
                    G_ck[ci, h, j] = Gc[h, j]
            ci += 1
    return 0


@njit(parallel=True, cache=True)
def simulate_batch(phi, P, ns, means, starts, bernoulli, reg, full_info, truncate, use_bonus, eta, beta, gamma, K,
                   ckpts, keys, lkeys, cum_ck, G_ck, diag, err):
    """All replicates: keys/lkeys (R,) uint64; cum_ck (R, nc); G_ck (R, nc, H, d); diag (R, 5); err (R,)."""
    for r in prange(keys.shape[0]):
        err[r] = run_replicate(phi, P, ns, means, starts, bernoulli, reg, full_info, truncate, use_bonus, eta, beta,
                               gamma, K, ckpts, keys[r], lkeys[r], cum_ck[r], G_ck[r], diag[r])
