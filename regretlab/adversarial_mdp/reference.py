"""Plain-Python reference of the episode loop (backend ``"python"``): the oracle the kernels must match.

One replicate at a time, Python floats and lists, written for reading: each numbered step is the
corresponding step of :mod:`regretlab.adversarial_mdp.algorithms`' docstring. The operations and their
order are those of the Numba kernel (``_kernels.run_replicate``), so the results are the same doubles.
The per-state FTRL steps are the plain-Python twins in ``regretlab.core.ftrl``; uniforms are
``regretlab.core.detmath.py_counter_uniform``.
"""
from __future__ import annotations

import math

from regretlab.core.detmath import py_counter_uniform
from regretlab.core.ftrl import hedge_row_py, log_barrier_row_py


class ReferenceError_(RuntimeError):
    """Carries the kernel's error code (see ``_kernels``)."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def _sample(p, n, u):
    c = 0.0
    for i in range(n - 1):
        c += p[i]
        if u < c:
            return i
    return n - 1


def _cholesky(M):
    d = len(M)
    Lc = [[0.0] * d for _ in range(d)]
    for j in range(d):
        acc = M[j][j]
        for t in range(j):
            acc -= Lc[j][t] * Lc[j][t]
        if not acc > 0.0:
            return None
        Lc[j][j] = math.sqrt(acc)
        for i in range(j + 1, d):
            acc = M[i][j]
            for t in range(j):
                acc -= Lc[i][t] * Lc[j][t]
            Lc[i][j] = acc / Lc[j][j]
    return Lc


def _forward(Lc, x):
    z = []
    for i in range(len(x)):
        acc = x[i]
        for t in range(i):
            acc -= Lc[i][t] * z[t]
        z.append(acc / Lc[i][i])
    return z


def _backward(Lc, z):
    d = len(z)
    w = [0.0] * d
    for i in range(d - 1, -1, -1):
        acc = z[i]
        for t in range(i + 1, d):
            acc -= Lc[t][i] * w[t]
        w[i] = acc / Lc[i][i]
    return w


def run_replicate(phi, P, ns, means, starts, bernoulli, spec, K, ckpts, key, lkey):
    """One replicate. phi, P, means nested lists (or arrays); returns (cum_ck, G_ck, diag) as lists."""
    H, A, d = len(phi), len(phi[0][0]), len(phi[0][0][0])
    ns = [int(x) for x in ns]
    eta, beta, gamma = spec.eta, spec.beta, spec.gamma
    C = [[[0.0] * A for _ in range(ns[h])] for h in range(H)]
    pi = [[[1.0 / A] * A for _ in range(ns[h])] for h in range(H)]
    Gc = [[0.0] * d for _ in range(H)]
    dil = 1.0 + 1.0 / H
    floor = -1.0 / (2.0 * eta)
    diag = [math.inf, -math.inf, 0.0, 0.0, 0.0]
    cum, blk = 0.0, 0
    cum_ck, G_ck = [], []
    ck = [int(c) for c in ckpts]
    for k in range(K):
        # 1. per-state FTRL policies
        if spec.reg == 1:
            pi = [[log_barrier_row_py(C[h][s], eta) for s in range(ns[h])] for h in range(H)]
        elif spec.reg == 2:
            pi = [[hedge_row_py(C[h][s], eta) for s in range(ns[h])] for h in range(H)]
        # 2. occupancy
        q = []
        mu = [1.0]
        for h in range(H):
            q.append([[mu[s] * pi[h][s][a] for a in range(A)] for s in range(ns[h])])
            if h < H - 1:
                nxt = [0.0] * ns[h + 1]
                for s in range(ns[h]):
                    for a in range(A):
                        for sp in range(ns[h + 1]):
                            nxt[sp] += q[h][s][a] * P[h][s][a][sp]
                mu = nxt
        # 3. losses of episode k and the exact expected loss of pi_k
        while blk + 1 < len(starts) and starts[blk + 1] <= k:
            blk += 1
        g = []
        for h in range(H):
            row = []
            for j in range(d):
                u = py_counter_uniform(lkey, (k * H + h) * d + j)
                row.append((1.0 if u < means[blk][h][j] else 0.0) if bernoulli else u)
                Gc[h][j] += row[j]
            g.append(row)
        ell = []
        v = 0.0
        for h in range(H):
            layer = []
            for s in range(ns[h]):
                vals = []
                for a in range(A):
                    acc = 0.0
                    for j in range(d):
                        acc += phi[h][s][a][j] * g[h][j]
                    vals.append(acc)
                    v += q[h][s][a] * acc
                layer.append(vals)
            ell.append(layer)
        cum += v
        if spec.reg != 0:
            if spec.full_info:
                _full_information_update(P, ns, pi, ell, C, H, A)
            else:
                _bandit_update(phi, P, ns, pi, q, ell, C, H, A, d, k, key, eta, beta, gamma, dil, floor, spec, diag)
        while ck and ck[0] == k + 1:
            cum_ck.append(cum)
            G_ck.append([list(r) for r in Gc])
            ck.pop(0)
    return cum_ck, G_ck, diag


def _backward_values(P, ns, pi, r, dil, H, A):
    """out_h(s, a) = r_h(s, a) + dil sum_s' P(s'|s, a) sum_a' pi(a'|s') out_{h+1}(s', a'), backwards
    (Q^pi with dil = 1; the dilated bonus with dil = 1 + 1/H)."""
    out = [None] * H
    V = []
    for h in range(H - 1, -1, -1):
        out[h] = []
        for s in range(ns[h]):
            row = []
            for a in range(A):
                cont = 0.0
                if h < H - 1:
                    for sp in range(ns[h + 1]):
                        cont += P[h][s][a][sp] * V[sp]
                row.append(r[h][s][a] + dil * cont)
            out[h].append(row)
        V = []
        for s in range(ns[h]):
            acc = 0.0
            for a in range(A):
                acc += pi[h][s][a] * out[h][s][a]
            V.append(acc)
    return out


def _full_information_update(P, ns, pi, ell, C, H, A):
    # 4a. Q^{pi_k}_k by backward evaluation; C += Q
    Qh = _backward_values(P, ns, pi, ell, 1.0, H, A)
    for h in range(H):
        for s in range(ns[h]):
            for a in range(A):
                C[h][s][a] += Qh[h][s][a]


def _bandit_update(phi, P, ns, pi, q, ell, C, H, A, d, k, key, eta, beta, gamma, dil, floor, spec, diag):
    # 4b. trajectory, observed losses-to-go, linear-Q estimates, bonuses
    s = 0
    traj, obs = [], []
    for h in range(H):
        a = _sample(pi[h][s], A, py_counter_uniform(key, (k * H + h) * 2))
        traj.append((s, a))
        obs.append(ell[h][s][a])
        if h < H - 1:
            s = _sample(P[h][s][a], ns[h + 1], py_counter_uniform(key, (k * H + h) * 2 + 1))
    Ls = [0.0] * H
    suf = 0.0
    for h in range(H - 1, -1, -1):
        suf += obs[h]
        Ls[h] = suf
    Qh, b = [], []
    for h in range(H):
        M = [[0.0] * d for _ in range(d)]
        for s in range(ns[h]):
            for a in range(A):
                for i in range(d):
                    wi = q[h][s][a] * phi[h][s][a][i]
                    for j in range(d):
                        M[i][j] += wi * phi[h][s][a][j]
        for i in range(d):
            M[i][i] += gamma
        Lc = _cholesky(M)
        if Lc is None:
            raise ReferenceError_(10 + h)
        st, at = traj[h]
        w = _backward(Lc, _forward(Lc, [phi[h][st][at][i] * Ls[h] for i in range(d)]))
        layer = []
        for s in range(ns[h]):
            row = []
            for a in range(A):
                acc = 0.0
                for j in range(d):
                    acc += phi[h][s][a][j] * w[j]
                row.append(acc)
                diag[0] = min(diag[0], acc)
                diag[1] = max(diag[1], acc)
            layer.append(row)
        Qh.append(layer)
        if spec.use_bonus:
            blayer = []
            for s in range(ns[h]):
                nrm = []
                for a in range(A):
                    nr = 0.0
                    for zi in _forward(Lc, list(phi[h][s][a])):
                        nr += zi * zi
                    nrm.append(nr)
                avg = 0.0
                for a in range(A):
                    avg += pi[h][s][a] * nrm[a]
                blayer.append([beta * (nrm[a] + avg) for a in range(A)])
            b.append(blayer)
    Bd = [None] * H
    if spec.use_bonus:
        Bd = _backward_values(P, ns, pi, b, dil, H, A)
        for h in range(H):
            for s in range(ns[h]):
                for a in range(A):
                    diag[3] = max(diag[3], eta * Bd[h][s][a])
    for h in range(H):
        for s in range(ns[h]):
            for a in range(A):
                est = Qh[h][s][a]
                if spec.truncate:
                    est = max(est, floor)
                if spec.use_bonus:
                    est = est - Bd[h][s][a]
                c = C[h][s][a] + est
                if not abs(c) < math.inf:
                    raise ReferenceError_(2)
                C[h][s][a] = c
                diag[2] = max(diag[2], abs(eta * c))
