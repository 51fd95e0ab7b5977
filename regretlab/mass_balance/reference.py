"""Plain-Python reference of the mass-balance Monte Carlo (the oracle the fast backends must equal).

One trial at a time, one token at a time, with ``bisect`` for the inverse-CDF draws, the portable
:func:`~regretlab.core.detmath.exp_scalar` and the counter-based uniforms
:func:`~regretlab.core.detmath.py_counter_uniform`. Every sum runs in index order, so the Numba kernels
(``_kernels.py``) and the NumPy backend (``_numpy.py``) equal this module bit for bit.

Models: the one-step theorem update (U)-(P) [BroRL, App. C.1, Thm. 1] and the token-level simulator of
[BroRL, Sec. 4.1] (AdamW in the PyTorch form on L = -(1/N) sum_n (R(x_n) - b) p_{x_n}); see
:mod:`regretlab.mass_balance.theory` and :mod:`regretlab.mass_balance.simulate`.

Also here: :func:`prob_increase_exact`, P(dQ_c > 0) by enumeration of all draw multisets (tiny V, N).
"""
from __future__ import annotations

import bisect
import itertools
import math

import numpy as np

from regretlab.core.detmath import exp_scalar, py_counter_uniform

__all__ = ["ONE_STEP_COLUMNS", "one_step", "prob_increase_exact", "softmax_cdf", "train"]

#: Columns of the one-step output (one row per trial). ``dq`` is the first-order change of correct mass
#: (eqs. U-P); ``dq_scaled`` = N dq / eta; ``t1``..``t3`` the Theorem-1 terms scaled by N/eta (so
#: t1 + t2 + t3 = dq_scaled); ``s`` the batch mood; ``a2, b2, uc2, uw2`` the second moments;
#: ``min_dp`` the smallest first-order change of a correct token; ``all_gain`` 1 if every correct token
#: gains; ``exact_change`` = softmax(z + dz)[C].sum() - Q_c (not linearised); ``sum_dp_scaled`` =
#: (N/eta) sum_i dp_i (zero up to rounding); ``distinct`` the number of distinct sampled tokens.
ONE_STEP_COLUMNS = ("dq", "dq_scaled", "t1", "t2", "t3", "s", "a2", "b2", "uc2", "uw2", "min_dp",
                    "all_gain", "exact_change", "sum_dp_scaled", "distinct")


def softmax_cdf(z):
    """(p, cdf, total, last) of logits z as Python lists: cdf the running sum of exp(z - max z)."""
    zmax = max(z)
    e = [exp_scalar(x - zmax) for x in z]
    cdf, acc = [], 0.0
    for x in e:
        acc += x
        cdf.append(acc)
    p = [x / acc for x in e]
    last = bisect.bisect_left(cdf, acc)
    return p, cdf, acc, last


def _draw(cdf, total, last, key, counter):
    return min(bisect.bisect_right(cdf, py_counter_uniform(key, counter) * total), last)


def one_step(z, is_c, N, eta, r_c, r_w, keys):
    """(R, 15) float64 array of :data:`ONE_STEP_COLUMNS`, trial r using the counters 0..N-1 of keys[r]."""
    z = [float(x) for x in z]
    c = [bool(x) for x in is_c]
    V = len(z)
    p, cdf, total, last = softmax_cdf(z)
    step = eta / N
    Q_c = Q_w = 0.0
    for j in range(V):
        if c[j]:
            Q_c += p[j]
        else:
            Q_w += p[j]
    rows = []
    for key in (int(k) for k in keys):
        hit = [False] * V
        for n in range(N):
            hit[_draw(cdf, total, last, key, n)] = True
        P_A = P_B = a2 = b2 = uc2 = uw2 = 0.0
        for j in range(V):
            pj2 = p[j] * p[j]
            if hit[j] and c[j]:
                P_A += p[j]
                a2 += pj2
            elif hit[j]:
                P_B += p[j]
                b2 += pj2
            elif c[j]:
                uc2 += pj2
            else:
                uw2 += pj2
        s = r_c * P_A + r_w * P_B
        rho = [(r_c if c[j] else r_w) if hit[j] else 0.0 for j in range(V)]
        dz = [p[j] * (rho[j] - s) for j in range(V)]  # eq. (U) scaled by N/eta
        mean = 0.0
        for j in range(V):
            mean += p[j] * dz[j]
        dq = sum_dp = 0.0
        min_dp = math.inf
        for j in range(V):
            dp = p[j] * (dz[j] - mean)  # eq. (P)
            sum_dp += dp
            if c[j]:
                dq += dp
                min_dp = min(min_dp, dp)
        zp = [z[j] + step * dz[j] for j in range(V)]
        p_new, _, _, _ = softmax_cdf(zp)
        q_new = 0.0
        for j in range(V):
            if c[j]:
                q_new += p_new[j]
        rows.append([step * dq, dq, (r_c - s) * Q_w * a2, (s - r_w) * Q_c * b2,
                     s * (Q_c * uw2 - Q_w * uc2), s, a2, b2, uc2, uw2, step * min_dp,
                     1.0 if min_dp > 0.0 else 0.0, q_new - Q_c, sum_dp, float(sum(hit))])
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(ONE_STEP_COLUMNS))


def train(z0, is_c, cidx, N, r_c, r_w, center, lr_decay, b1, omb1, b2, omb2, eps, step_size, bc2_sqrt,
          freeze_anchor, ckpt, keys):
    """The token-level simulator, one trial and one token at a time (arguments as ``_kernels.train``).

    Returns (q_pos, improved, worst, worst_idx, ties, zero_grad) as arrays (R, C), ..., (R,).
    """
    V = len(z0)
    c = [bool(x) for x in is_c]
    cidx = [int(j) for j in cidx]
    ckpt = [int(t) for t in ckpt]
    m, steps, C = len(cidx), ckpt[-1], len(ckpt)
    R = len(keys)
    q_pos, improved, worst = np.zeros((R, C)), np.zeros((R, C)), np.zeros((R, C))
    worst_idx, ties = np.zeros((R, C), dtype=np.int64), np.zeros((R, C), dtype=np.int64)
    zero_grad = np.zeros(R)
    for r, key in enumerate(int(k) for k in keys):
        z = [float(x) for x in z0]
        mom, vel = [0.0] * V, [0.0] * V
        k = nzero = 0
        p0 = None
        for t in range(steps + 1):
            p, cdf, total, last = softmax_cdf(z)
            if t == 0:
                p0 = list(p)
            if t == ckpt[k]:
                d = [p[j] - p0[j] for j in cidx]
                q = 0.0
                for j in cidx:
                    q += p[j]
                q_pos[r, k] = q
                improved[r, k] = 100.0 * sum(x > 0.0 for x in d) / m if m else 0.0
                if m:
                    w = min(d)
                    worst[r, k] = w
                    worst_idx[r, k] = cidx[d.index(w)]
                    ties[r, k] = d.count(w)
                else:
                    worst_idx[r, k] = -1
                k += 1
            if t == steps:
                break
            counts = [0] * V
            nc = 0
            for n in range(N):
                i = _draw(cdf, total, last, key, t * N + n)
                counts[i] += 1
                nc += c[i]
            b = (r_c * nc + r_w * (N - nc)) / N if center else 0.0
            nzero += bool(center and nc in (0, N))
            g_cls = [(r_c - b) if c[j] else (r_w - b) for j in range(V)]
            S = 0.0
            for j in range(V):
                S += (counts[j] * g_cls[j]) * p[j]
            for j in range(V):
                if freeze_anchor and j == 0:
                    continue
                cg = counts[j] * g_cls[j]
                g = (p[j] * S - cg * p[j]) / N  # dL/dz_j
                mom[j] = b1 * mom[j] + omb1 * g
                vel[j] = b2 * vel[j] + omb2 * (g * g)
                z[j] = z[j] * lr_decay - step_size[t] * (mom[j] / (math.sqrt(vel[j]) / bc2_sqrt[t] + eps))
        zero_grad[r] = nzero / steps if steps else 0.0
    return q_pos, improved, worst, worst_idx, ties, zero_grad


def prob_increase_exact(p, is_c, N, r_c=1.0, r_w=-1.0):
    """(P(dQ_c > 0), P(dQ_c >= 0)) after one step with N draws, by enumerating every draw multiset.

    Uses decompose's first-order change through the indicator form N dQ_c / eta = sum_{j in S} w_j
    (spec §3.1; its equality with Theorem 1 is tested separately). Cost C(V + N - 1, N) multisets:
    keep V <= 60 and N <= 4.
    """
    p = np.asarray(p, dtype=np.float64)
    c = np.asarray(is_c, dtype=bool)
    V = p.size
    if math.comb(V + N - 1, N) > 2_000_000:
        raise ValueError(f"prob_increase_exact: C(V + N - 1, N) = {math.comb(V + N - 1, N)} multisets is too "
                         "many (keep it <= 2,000,000)")
    Q_c = p[c].sum()
    kappa = c.astype(float) - Q_c
    K2 = float(np.dot(kappa, p * p))
    w = (np.where(c, r_c, r_w) * p * (kappa * p - K2)).tolist()
    pl = p.tolist()
    pos = nonneg = 0.0
    fact_n = math.factorial(N)
    for ms in itertools.combinations_with_replacement(range(V), N):
        prob = float(fact_n)
        tot = 0.0
        prev = -1
        run = 0
        for i in ms:
            prob *= pl[i]
            if i != prev:
                tot += w[i]
                run = 1
            else:
                run += 1
                prob /= run
            prev = i
        if tot > 0.0:
            pos += prob
        if tot >= 0.0:
            nonneg += prob
    return pos, nonneg
