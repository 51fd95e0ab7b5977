"""Numba kernels of the mass-balance simulations (semantics: :mod:`regretlab.mass_balance.reference`).

``prange`` runs over trials; trial r reads only its counter-based stream ``keys[r]``
(:mod:`regretlab.core.detmath`), so results do not depend on the number of threads. Every sum runs in
index order and ``exp`` is the portable ``exp_det``, so the kernels equal the NumPy backend and the
plain-Python reference bit for bit. Nothing here validates: ``simulate.py`` does that once.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from regretlab.core._detmath_kernels import ctr_uniform, exp_det


@njit(inline="always", cache=True)
def search_right(cdf, x, last):
    """Smallest i with cdf[i] > x (numpy.searchsorted side='right'), capped at ``last``."""
    lo = 0
    hi = cdf.size
    while lo < hi:
        mid = (lo + hi) >> 1
        if cdf[mid] > x:
            hi = mid
        else:
            lo = mid + 1
    return lo if lo < last else last


@njit(inline="always", cache=True)
def softmax_cdf(z, e, cdf, p):
    """p = softmax(z), cdf = cumsum(exp(z - max z)); returns (total, last sampled-able index)."""
    V = z.size
    zmax = z[0]
    for i in range(1, V):
        if z[i] > zmax:
            zmax = z[i]
    acc = 0.0
    for i in range(V):
        ei = exp_det(z[i] - zmax)
        e[i] = ei
        acc += ei
        cdf[i] = acc
    for i in range(V):
        p[i] = e[i] / acc
    # first index where the cumulative sum reaches the total (searchsorted side='left')
    lo = 0
    hi = V
    while lo < hi:
        mid = (lo + hi) >> 1
        if cdf[mid] < acc:
            lo = mid + 1
        else:
            hi = mid
    return acc, lo


@njit(parallel=True, cache=True)
def one_step(z, p, cdf, total, last, is_c, N, eta, r_c, r_w, keys, out):
    """One RL step per trial: N draws, the three terms, eqs. (U)-(P), the exact softmax change.

    ``out`` (R, 15) receives the columns ``reference.ONE_STEP_COLUMNS`` in that order.
    """
    V = p.size
    step = eta / N
    Q_c = 0.0
    Q_w = 0.0
    for j in range(V):
        if is_c[j]:
            Q_c += p[j]
        else:
            Q_w += p[j]
    for r in prange(keys.shape[0]):
        key = keys[r]
        hit = np.zeros(V, dtype=np.bool_)
        for n in range(N):
            u = ctr_uniform(key, np.uint64(n))
            hit[search_right(cdf, u * total, last)] = True
        P_A = 0.0
        P_B = 0.0
        a2 = 0.0
        b2 = 0.0
        uc2 = 0.0
        uw2 = 0.0
        distinct = 0
        for j in range(V):
            pj = p[j]
            pj2 = pj * pj
            if hit[j]:
                distinct += 1
                if is_c[j]:
                    P_A += pj
                    a2 += pj2
                else:
                    P_B += pj
                    b2 += pj2
            elif is_c[j]:
                uc2 += pj2
            else:
                uw2 += pj2
        s = r_c * P_A + r_w * P_B
        t1 = (r_c - s) * Q_w * a2
        t2 = (s - r_w) * Q_c * b2
        t3 = s * (Q_c * uw2 - Q_w * uc2)
        # eqs. (U)-(P), scaled by N/eta
        mean = 0.0
        for j in range(V):
            rho = (r_c if is_c[j] else r_w) if hit[j] else 0.0
            mean += p[j] * (p[j] * (rho - s))
        dq = 0.0
        sum_dp = 0.0
        min_dp = np.inf
        zmax = -np.inf
        zp = np.empty(V)
        for j in range(V):
            rho = (r_c if is_c[j] else r_w) if hit[j] else 0.0
            dz = p[j] * (rho - s)
            dp = p[j] * (dz - mean)
            sum_dp += dp
            if is_c[j]:
                dq += dp
                if dp < min_dp:
                    min_dp = dp
            zj = z[j] + step * dz
            zp[j] = zj
            if zj > zmax:
                zmax = zj
        # exact change: softmax(z + dz)[C].sum() - Q_c
        tot = 0.0
        for j in range(V):
            ej = exp_det(zp[j] - zmax)
            zp[j] = ej
            tot += ej
        q_new = 0.0
        for j in range(V):
            if is_c[j]:
                q_new += zp[j] / tot
        o = out[r]
        o[0] = step * dq
        o[1] = dq
        o[2] = t1
        o[3] = t2
        o[4] = t3
        o[5] = s
        o[6] = a2
        o[7] = b2
        o[8] = uc2
        o[9] = uw2
        o[10] = step * min_dp
        o[11] = 1.0 if min_dp > 0.0 else 0.0
        o[12] = q_new - Q_c
        o[13] = sum_dp
        o[14] = distinct


@njit(parallel=True, cache=True)
def train(z0, is_c, cidx, N, r_c, r_w, center, lr_decay, b1, omb1, b2, omb2, eps, step_size, bc2_sqrt,
          freeze_anchor, ckpt, keys, q_pos, improved, worst, worst_idx, ties, zero_grad):
    """The token-level simulator [BroRL, Sec. 4.1]: AdamW on L = -(1/N) sum_n (R(x_n) - b) p_{x_n}.

    Checkpoint k records the state after ckpt[k] updates; ckpt is increasing with ckpt[-1] = steps.
    """
    V = z0.size
    steps = ckpt[ckpt.size - 1]
    m = cidx.size
    for r in prange(keys.shape[0]):
        key = keys[r]
        z = z0.copy()
        mom = np.zeros(V)
        vel = np.zeros(V)
        e = np.empty(V)
        cdf = np.empty(V)
        p = np.empty(V)
        p0 = np.empty(V)
        counts = np.zeros(V, dtype=np.int64)
        k = 0
        nzero = 0
        for t in range(steps + 1):
            total, last = softmax_cdf(z, e, cdf, p)
            if t == 0:
                for j in range(V):
                    p0[j] = p[j]
            if t == ckpt[k]:
                q = 0.0
                up = 0
                w = np.inf
                wi = -1
                nt = 0
                for a in range(m):
                    j = cidx[a]
                    q += p[j]
                    d = p[j] - p0[j]
                    if d > 0.0:
                        up += 1
                    if d < w:
                        w = d
                        wi = j
                        nt = 1
                    elif d == w:
                        nt += 1
                q_pos[r, k] = q
                improved[r, k] = 100.0 * up / m if m > 0 else 0.0
                worst[r, k] = w if m > 0 else 0.0
                worst_idx[r, k] = wi
                ties[r, k] = nt
                k += 1
            if t == steps:
                break
            for j in range(V):
                counts[j] = 0
            nc = 0
            base = np.uint64(t) * np.uint64(N)
            for n in range(N):
                u = ctr_uniform(key, base + np.uint64(n))
                i = search_right(cdf, u * total, last)
                counts[i] += 1
                if is_c[i]:
                    nc += 1
            b = (r_c * nc + r_w * (N - nc)) / N if center else 0.0
            if center and (nc == 0 or nc == N):
                nzero += 1
            gc = r_c - b
            gw = r_w - b
            S = 0.0
            for j in range(V):
                S += (counts[j] * (gc if is_c[j] else gw)) * p[j]
            ss = step_size[t]
            bc = bc2_sqrt[t]
            for j in range(V):
                if freeze_anchor and j == 0:
                    continue
                cg = counts[j] * (gc if is_c[j] else gw)
                g = (p[j] * S - cg * p[j]) / N
                mj = b1 * mom[j] + omb1 * g
                vj = b2 * vel[j] + omb2 * (g * g)
                mom[j] = mj
                vel[j] = vj
                z[j] = z[j] * lr_decay - ss * (mj / (np.sqrt(vj) / bc + eps))
        zero_grad[r] = nzero / steps if steps > 0 else 0.0
