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


def _occupancy(P, ns, pi, H, A):
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
    return q


def _factor(M, gamma, h):
    """Cholesky factor of M + gamma I (M is modified); raises the kernel's error 10 + h if not definite."""
    for i in range(len(M)):
        M[i][i] += gamma
    Lc = _cholesky(M)
    if Lc is None:
        raise ReferenceError_(10 + h)
    return Lc


def _phi_dot(phi, ns, h, w):
    """[[phi(s, a)^T w]] over layer h's states (the kernel's summation order)."""
    A, d = len(phi[0][0]), len(phi[0][0][0])
    layer = []
    for s in range(ns[h]):
        row = []
        for a in range(A):
            acc = 0.0
            for j in range(d):
                acc += phi[h][s][a][j] * w[j]
            row.append(acc)
        layer.append(row)
    return layer


def _linear_estimate(phi, ns, h, w, diag):
    """[[phi(s, a)^T w]] over layer h's states; running min / max in diag[0], diag[1] (kernel twin)."""
    layer = _phi_dot(phi, ns, h, w)
    for row in layer:
        for v in row:
            diag[0] = min(diag[0], v)
            diag[1] = max(diag[1], v)
    return layer


def _bonus_layer(phi, ns, h, pi, Lc, beta):
    """beta (||phi(s, a)||^2 + sum_a' pi(a'|s) ||phi(s, a')||^2) in (Lc Lc^T)^{-1} over layer h (kernel twin)."""
    A = len(phi[0][0])
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
    return blayer


def _trajectory(P, ns, pol, ell, key, k, H, A):
    """Episode k's trajectory of pol: ([(s_h, a_h)], losses-to-go L_h) (kernel ``_trajectory``)."""
    s = 0
    traj, obs = [], []
    for h in range(H):
        a = _sample(pol[h][s], A, py_counter_uniform(key, (k * H + h) * 2))
        traj.append((s, a))
        obs.append(ell[h][s][a])
        if h < H - 1:
            s = _sample(P[h][s][a], ns[h + 1], py_counter_uniform(key, (k * H + h) * 2 + 1))
    Ls = [0.0] * H
    suf = 0.0
    for h in range(H - 1, -1, -1):
        suf += obs[h]
        Ls[h] = suf
    return traj, Ls


def _episode_losses(phi, ns, means, starts, bernoulli, lkey, k, blk, Gc, q):
    """Episode k's losses (kernel ``_episode_losses``): returns (block, ell, sum q ell); adds g to Gc."""
    H, A, d = len(phi), len(phi[0][0]), len(phi[0][0][0])
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
    return blk, ell, v


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
        q = _occupancy(P, ns, pi, H, A)
        # 3. losses of episode k and the exact expected loss of pi_k
        blk, ell, v = _episode_losses(phi, ns, means, starts, bernoulli, lkey, k, blk, Gc, q)
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
    traj, Ls = _trajectory(P, ns, pi, ell, key, k, H, A)
    Qh, b = [], []
    for h in range(H):
        M = [[0.0] * d for _ in range(d)]
        for s in range(ns[h]):
            for a in range(A):
                for i in range(d):
                    wi = q[h][s][a] * phi[h][s][a][i]
                    for j in range(d):
                        M[i][j] += wi * phi[h][s][a][j]
        Lc = _factor(M, gamma, h)
        st, at = traj[h]
        w = _backward(Lc, _forward(Lc, [phi[h][st][at][i] * Ls[h] for i in range(d)]))
        Qh.append(_linear_estimate(phi, ns, h, w, diag))
        if spec.use_bonus:
            b.append(_bonus_layer(phi, ns, h, pi, Lc, beta))
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


def run_alg3_replicate(phi, P, ns, means, starts, bernoulli, spec, K, ckpts, key, lkey):
    """One replicate of ``alg3_reconstructed`` (steps 1-6 of its description in
    :mod:`regretlab.adversarial_mdp.algorithms`); the operations of ``_kernels.run_alg3_replicate``."""
    H, A, d = len(phi), len(phi[0][0]), len(phi[0][0][0])
    ns = [int(x) for x in ns]
    eta, beta, gamma, W, delta, ridge = spec.eta, spec.beta, spec.gamma, spec.epoch, spec.mix, spec.ridge
    C = [[[0.0] * A for _ in range(ns[h])] for h in range(H)]
    piu = [[[1.0 / A] * A for _ in range(ns[h])] for h in range(H)]
    qu = _occupancy(P, ns, piu, H, A)
    pi, qm = None, None
    Gc = [[0.0] * d for _ in range(H)]
    dil = 1.0 + 1.0 / H
    diag = [math.inf, -math.inf, 0.0, 0.0, 0.0]
    cum, blk = 0.0, 0
    cum_ck, G_ck = [], []
    ck = [int(c) for c in ckpts]
    epoch = []
    for k in range(K):
        i_ep = k % W
        if i_ep == 0:
            # 1. policy of the epoch; occupancy of the executed mixture
            pi = [[log_barrier_row_py(C[h][s], eta) for s in range(ns[h])] for h in range(H)]
            q = _occupancy(P, ns, pi, H, A)
            qm = [[[(1.0 - delta) * q[h][s][a] + delta * qu[h][s][a] for a in range(A)] for s in range(ns[h])]
                  for h in range(H)]
            epoch = []
        # 2. losses of episode k; expected loss of the mixture
        blk, ell, v = _episode_losses(phi, ns, means, starts, bernoulli, lkey, k, blk, Gc, qm)
        cum += v
        # 3. trajectory of the cover (probability delta) or of pi_j
        play = piu if py_counter_uniform(key, (1 << 62) + k) < delta else pi
        epoch.append(_trajectory(P, ns, play, ell, key, k, H, A))
        if i_ep == W - 1 and k < K - 1:
            _alg3_epoch_update(phi, ns, pi, epoch, C, H, A, d, W, eta, beta, gamma, ridge, dil, diag)
        while ck and ck[0] == k + 1:
            cum_ck.append(cum)
            G_ck.append([list(r) for r in Gc])
            ck.pop(0)
    return cum_ck, G_ck, diag


def _alg3_epoch_update(phi, ns, pi, epoch, C, H, A, d, W, eta, beta, gamma, ridge, dil, diag):
    # 4. empirical covariance (even episodes), loss estimate (odd episodes), bonus b
    n_cov, n_est = (W + 1) // 2, W // 2
    Qh, b = [], []
    for h in range(H):
        M = [[0.0] * d for _ in range(d)]
        for e in range(0, W, 2):
            st, at = epoch[e][0][h]
            for i in range(d):
                wi = phi[h][st][at][i] / n_cov
                for j in range(d):
                    M[i][j] += wi * phi[h][st][at][j]
        Lc = _factor(M, gamma, h)
        x = [0.0] * d
        for e in range(1, W, 2):
            st, at = epoch[e][0][h]
            for i in range(d):
                x[i] += phi[h][st][at][i] * epoch[e][1][h] / n_est
        w = _backward(Lc, _forward(Lc, x))
        Qh.append(_linear_estimate(phi, ns, h, w, diag))
        b.append(_bonus_layer(phi, ns, h, pi, Lc, beta))
    # 5. dilated bonus by ridge regression of next-layer bonus values on the epoch's transitions
    Bd = regression_dilated_bonus(phi, ns, pi, b, [traj for traj, _ in epoch], ridge, dil)
    # 6. C += W (Qhat - B)
    for h in range(H):
        for s in range(ns[h]):
            for a in range(A):
                diag[3] = max(diag[3], eta * W * Bd[h][s][a])
                c = C[h][s][a] + W * (Qh[h][s][a] - Bd[h][s][a])
                if not abs(c) < math.inf:
                    raise ReferenceError_(2)
                C[h][s][a] = c
                diag[2] = max(diag[2], abs(eta * c))


def regression_dilated_bonus(phi, ns, pi, b, trajectories, ridge, dil):
    """The simulator-free dilated bonus of ``alg3_reconstructed``: B_{H-1} = b_{H-1} and, backwards,
    B_h(s, a) = b_h(s, a) + dil phi(s, a)^T w_h with w_h the ridge regression (ridge ``ridge``) of
    y = sum_a' pi(a'|s_{h+1}) B_{h+1}(s_{h+1}, a') on phi(s_h, a_h) over the trajectories (lists of (s, a)
    per layer). In a linear MDP E[y | s_h, a_h] is linear in phi, so with many trajectories that cover every
    direction B tends to the recursion with the true transitions (tested)."""
    H, d = len(phi), len(phi[0][0][0])
    A = len(phi[0][0])
    Bd = [None] * H
    Bd[H - 1] = [list(r) for r in b[H - 1]]
    for h in range(H - 2, -1, -1):
        M = [[ridge if i == j else 0.0 for j in range(d)] for i in range(d)]
        x = [0.0] * d
        for traj in trajectories:
            st, at = traj[h]
            sp = traj[h + 1][0]
            y = 0.0
            for a in range(A):
                y += pi[h + 1][sp][a] * Bd[h + 1][sp][a]
            for i in range(d):
                fi = phi[h][st][at][i]
                x[i] += fi * y
                for j in range(d):
                    M[i][j] += fi * phi[h][st][at][j]
        Lc = _cholesky(M)
        if Lc is None:
            raise ReferenceError_(10 + h)
        w = _backward(Lc, _forward(Lc, x))
        cont = _phi_dot(phi, ns, h, w)
        Bd[h] = [[b[h][s][a] + dil * cont[s][a] for a in range(A)] for s in range(ns[h])]
    return Bd
