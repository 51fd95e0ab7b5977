"""Numba kernels behind :mod:`regretlab.core.mdp`.

The kernels trust their inputs: :mod:`regretlab.core.mdp` validates everything and passes float64,
C-contiguous, writeable arrays of consistent shapes, with the output arrays already allocated. Nothing
here allocates results, checks arguments or draws random numbers.

Nothing is compiled at import (no eager signatures); a kernel compiles on its first call and is cached
on disk (``cache=True``). The ``*_one`` kernels are plain ``@njit`` functions so that other Numba
kernels (e.g. an area's simulator computing exact pseudo-regret per episode) can call them directly.

Shapes (time-dependent arrays carry a leading time axis of length 1 when stationary):
    P (S, A, S) discounted; P (HP, S, A, S) finite horizon with HP in {1, H}
    r (B, S, A) discounted; r (B, HR, S, A) finite horizon with HR in {1, H}
    pi (B, HPI, S, A) finite horizon with HPI in {1, H}

Reference: [Puterman94] M. L. Puterman, "Markov Decision Processes: Discrete Stochastic Dynamic
Programming", Wiley, 1994.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = [
    "backward_induction_batch",
    "backward_induction_one",
    "bellman_sweep",
    "forward_occupancy_batch",
    "forward_occupancy_one",
    "value_iteration_batch",
    "value_iteration_one",
]


@njit(cache=True)
def bellman_sweep(P, r, gamma, V, V_out):
    """One Bellman optimality update V_out = T V; returns (max, min) of V_out - V.

    (T V)(s) = max_a [ r(s, a) + gamma sum_s' P(s'|s, a) V(s') ]    [Puterman94, §6.2-6.3]
    P (S, A, S), r (S, A), V and V_out (S,) distinct arrays.
    """
    S, A = r.shape
    dmax = -np.inf
    dmin = np.inf
    for s in range(S):
        best = -np.inf
        for a in range(A):
            acc = 0.0
            for t in range(S):
                acc += P[s, a, t] * V[t]
            q = r[s, a] + gamma * acc
            best = max(best, q)
        V_out[s] = best
        d = best - V[s]
        dmax = max(dmax, d)
        dmin = min(dmin, d)
    return dmax, dmin


@njit(cache=True)
def value_iteration_one(P, r, gamma, threshold, max_iter, span, V):
    """Value iteration from V (overwritten with the last iterate v^n) [Puterman94, §6.3].

    Stops after the first update whose difference D = v^n - v^{n-1} has sup-norm (``span`` False) or
    span max D - min D (``span`` True) below ``threshold``, or after ``max_iter`` updates.
    Returns (n_iter, converged, max D, min D) of the last update.
    """
    S = V.shape[0]
    V_new = np.empty(S)
    n = 0
    converged = False
    dmax = 0.0
    dmin = 0.0
    while n < max_iter:
        dmax, dmin = bellman_sweep(P, r, gamma, V, V_new)
        for s in range(S):
            V[s] = V_new[s]
        n += 1
        if span:
            crit = dmax - dmin
        else:
            crit = max(abs(dmax), abs(dmin))
        if crit < threshold:
            converged = True
            break
    return n, converged, dmax, dmin


@njit(parallel=True, cache=True)
def value_iteration_batch(P, r, gamma, threshold, max_iter, span, V, n_iter, converged, dmax, dmin):
    """Value iteration for B rewards r (B, S, A) on one P; V (B, S) in/out, the rest (B,) out.

    Element b depends on r[b] and V[b] only (prange over the batch).
    """
    for b in prange(r.shape[0]):
        n, c, hi, lo = value_iteration_one(P, r[b], gamma, threshold, max_iter, span, V[b])
        n_iter[b] = n
        converged[b] = c
        dmax[b] = hi
        dmin[b] = lo


@njit(cache=True)
def backward_induction_one(P, r, terminal, maximize, V, Q, policy):
    """Finite-horizon backward induction [Puterman94, §4.5].

        Q_h(s, a) = r_h(s, a) + sum_s' P_h(s'|s, a) V_{h+1}(s'),   V_H = terminal
        V_h(s) = max_a Q_h(s, a)  (min_a when ``maximize`` is False),  policy_h(s) = first arg-opt

    P (HP, S, A, S), r (HR, S, A), terminal (S,); outputs V (H, S), Q (H, S, A), policy (H, S) int64.
    """
    H, S = V.shape
    A = Q.shape[2]
    HP = P.shape[0]
    HR = r.shape[0]
    for i in range(H):
        h = H - 1 - i
        ph = h if HP > 1 else 0
        rh = h if HR > 1 else 0
        for s in range(S):
            best = 0.0
            arg = -1
            for a in range(A):
                acc = 0.0
                if h == H - 1:
                    for t in range(S):
                        acc += P[ph, s, a, t] * terminal[t]
                else:
                    for t in range(S):
                        acc += P[ph, s, a, t] * V[h + 1, t]
                q = r[rh, s, a] + acc
                Q[h, s, a] = q
                if arg < 0 or (maximize and q > best) or ((not maximize) and q < best):
                    best = q
                    arg = a
            V[h, s] = best
            policy[h, s] = arg


@njit(parallel=True, cache=True)
def backward_induction_batch(P, r, terminal, maximize, V, Q, policy):
    """:func:`backward_induction_one` for r (B, HR, S, A), terminal (B, S); prange over the batch."""
    for b in prange(r.shape[0]):
        backward_induction_one(P, r[b], terminal[b], maximize, V[b], Q[b], policy[b])


@njit(cache=True)
def forward_occupancy_one(P, pi, mu0, q):
    """Per-step occupancy q_h(s, a) = Pr[s_h = s, a_h = a] by a forward pass [Puterman94, §4.2].

        mu_0 = mu0,   q_h(s, a) = mu_h(s) pi_h(a|s),   mu_{h+1}(s') = sum_{s,a} q_h(s, a) P_h(s'|s, a)

    P (HP, S, A, S), pi (HPI, S, A), mu0 (S,); output q (H, S, A).
    """
    H, S, A = q.shape
    HP = P.shape[0]
    HPI = pi.shape[0]
    mu = mu0.copy()
    nxt = np.empty(S)
    for h in range(H):
        ph = h if HP > 1 else 0
        hp = h if HPI > 1 else 0
        for s in range(S):
            for a in range(A):
                q[h, s, a] = mu[s] * pi[hp, s, a]
        if h < H - 1:
            for t in range(S):
                nxt[t] = 0.0
            for s in range(S):
                for a in range(A):
                    w = q[h, s, a]
                    if w != 0.0:
                        for t in range(S):
                            nxt[t] += w * P[ph, s, a, t]
            for t in range(S):
                mu[t] = nxt[t]


@njit(parallel=True, cache=True)
def forward_occupancy_batch(P, pi, mu0, q):
    """:func:`forward_occupancy_one` for pi (B, HPI, S, A), mu0 (B, S), q (B, H, S, A)."""
    for b in prange(q.shape[0]):
        forward_occupancy_one(P, pi[b], mu0[b], q[b])
