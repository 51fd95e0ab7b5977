"""Plain-Python oracles of the preference area (loops over Python floats; slow, for tests and benchmarks).

* :func:`fit_reference`: the Adam fit of :func:`regretlab.preference.learning.fit`, operation for
  operation (the order stated in :mod:`regretlab.preference._numpy`), so it agrees bit for bit with the
  Numba and NumPy backends.
* :func:`likelihood_reference`: the mean cross-entropy of labelled segment pairs computed from the
  definitions (spec §2, §5.2): per pair, the model's statistic of each segment from its rollout, the
  logistic probability, ``-[y log P + (1 - y) log(1 - P)]`` with ``math.log``; no row merging, and the
  swapped copies of the authors' augmentation included explicitly.
* :func:`regret_from_rollout`: regret by stepping through the segment with the definition of spec §2.2.
"""
from __future__ import annotations

import math

import numpy as np

from ..core.detmath import exp_scalar, log1p_unit_scalar

__all__ = ["fit_reference", "likelihood_reference", "regret_from_rollout"]


def _values(psi, w, hard, inv_temp):
    n_pi, S, F = len(psi), len(psi[0]), len(w)
    V = [0.0] * S
    dV = [[0.0] * F for _ in range(S)]
    for s in range(S):
        v = []
        for p in range(n_pi):
            z = psi[p][s][0] * w[0]
            for f in range(1, F):
                z = z + psi[p][s][f] * w[f]
            v.append(z)
        vmax = -math.inf
        best = 0
        for p in range(n_pi):
            if v[p] > vmax:
                vmax, best = v[p], p
        if hard:
            V[s] = vmax
            dV[s] = list(psi[best][s])
            continue
        e = [exp_scalar((v[p] - vmax) * inv_temp) for p in range(n_pi)]
        Z = 0.0
        for p in range(n_pi):
            Z = Z + e[p]
        c = [e[p] / Z for p in range(n_pi)]
        Vs = 0.0
        for p in range(n_pi):
            Vs = Vs + c[p] * v[p]
        V[s] = Vs
        c = [c[p] * (1.0 + inv_temp * (v[p] - Vs)) for p in range(n_pi)]
        for f in range(F):
            g = 0.0
            for p in range(n_pi):
                g = g + c[p] * psi[p][s][f]
            dV[s][f] = g
    return V, dV


def _loss_grad(X, idx, coef, y, wt, n, wsum, V, dV, w):
    F = len(w)
    S = len(V)
    u = [0.0] * S
    g = [0.0] * F
    loss = 0.0
    for i in range(n):
        z = X[i][0] * w[0]
        for f in range(1, F):
            z = z + X[i][f] * w[f]
        for j in range(len(idx[i])):
            z = z + coef[i][j] * V[idx[i][j]]
        e = exp_scalar(-abs(z))
        sp = (z if z > 0.0 else 0.0) + log1p_unit_scalar(e)
        sig = 1.0 / (1.0 + e) if z >= 0.0 else e / (1.0 + e)
        loss = loss + wt[i] * (sp - y[i] * z)
        r = wt[i] * (sig - y[i])
        for f in range(F):
            g[f] = g[f] + r * X[i][f]
        for j in range(len(idx[i])):
            u[idx[i][j]] = u[idx[i][j]] + r * coef[i][j]
    for f in range(F):
        gv = 0.0
        for s in range(S):
            gv = gv + u[s] * dV[s][f]
        g[f] = (g[f] + gv) / wsum
    return loss / wsum, g


def fit_reference(X, idx, coef, y, wt, n_rows, psi, use_v, hard, inv_temp, w0, iters, lr, b1, b2, eps, keep_best):
    """Adam on each dataset, plain Python; same arguments and results as ``_kernels.fit_batch``."""
    B, _, F = X.shape
    S = psi.shape[1]
    W = np.empty((B, F))
    trace = np.empty((B, iters + 1))
    psi_l = psi.tolist()
    for b in range(B):
        n = int(n_rows[b])
        Xb, ib, cb, yb, wb = X[b].tolist(), idx[b].tolist(), coef[b].tolist(), y[b].tolist(), wt[b].tolist()
        wsum = 0.0
        for i in range(n):
            wsum = wsum + wb[i]
        w = [float(x) for x in w0[b]]
        best_w, best = list(w), math.inf
        m = [0.0] * F
        v2 = [0.0] * F
        V, dV = [0.0] * S, [[0.0] * F for _ in range(S)]
        pb1 = pb2 = 1.0
        for t in range(iters + 1):
            if use_v:
                V, dV = _values(psi_l, w, hard, inv_temp)
            loss, g = _loss_grad(Xb, ib, cb, yb, wb, n, wsum, V, dV, w)
            trace[b, t] = loss
            if loss < best:
                best, best_w = loss, list(w)
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
        W[b] = best_w if keep_best else w
    return W, trace


def regret_from_rollout(mdp, states, actions, w, V):
    """Regret of one deterministic segment from its definition: V(s_0) - sum_t g^t r_t - g^k V(s_k).

    ``V`` is the optimal value table of r_w; rewards are recomputed from the MDP's features step by step.
    """
    g = mdp.gamma
    ret, disc = 0.0, 1.0
    for t, a in enumerate(actions):
        s = int(states[t])
        r = sum(float(wf) * float(ff) for wf, ff in zip(w, mdp.features[s, int(a), 0]))
        ret += disc * r
        disc *= g
    return float(V[int(states[0])]) - ret - disc * float(V[int(states[-1])])


def likelihood_reference(model, segs, pairs, y, w, mdp, V=None, *, augment: bool = True):
    """Mean cross-entropy of the labelled pairs at weights w, from the definitions (module docstring).

    ``V``: the value table the regret model uses (default: exact V*_w). Returns a Python float.
    """
    if model == "regret" and V is None:
        V = mdp.optimal(mdp.reward(w)).V
    rows = []
    for (a, b), lab in zip(np.asarray(pairs).tolist(), np.asarray(y).tolist()):
        stats = []
        for i in (a, b):
            if model == "partial_return":
                stats.append(sum(float(x) * float(wf) for x, wf in zip(segs.phi[i], w)))
            else:
                stats.append(-regret_from_rollout(mdp, segs.states[i], segs.actions[i], w, V))
        rows.append((stats[0] - stats[1], lab))
        if augment:
            rows.append((stats[1] - stats[0], 1.0 - lab))
    total = 0.0
    for z, lab in rows:
        # log P = log logistic(z) and log(1 - P) = log logistic(-z), written to stay finite for large |z|
        lp = -(math.log1p(math.exp(-z)) if z >= 0 else -z + math.log1p(math.exp(z)))
        lq = -(math.log1p(math.exp(z)) if z <= 0 else z + math.log1p(math.exp(-z)))
        total -= lab * lp + (1.0 - lab) * lq
    return total / len(rows)
