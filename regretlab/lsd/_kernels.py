"""Numba kernels for recharging / LSD bandits: batched schedule scoring and exact dynamic programming.

Both work on the shared column form of :mod:`regretlab.lsd.models` (payoff table, ``next_play`` and
``next_idle`` column maps), so they serve recharging and LSD alike. Inputs are validated by the callers in
:mod:`regretlab.lsd.simulate`; the plain-Python twins are in :mod:`regretlab.lsd.reference`. Compiled on first
use and cached on disk (``cache=True``); nothing compiles at import.

Noise codes: 0 none (reward = mean), 1 Bernoulli(mean), 2 Gaussian mean + sigma Z. The uniforms are the
counter-based SplitMix64 stream of ``regretlab.core.detmath`` keyed per batch row, counter ``2 (t k + a)``
(and ``+ 1``), so results do not depend on threads or on which rows share a call. Gaussian draws use
Box-Muller on those two uniforms.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from regretlab.core._detmath_kernels import ctr_uniform


@njit(cache=True, parallel=True)
def score_schedules(payoff, init, next_play, next_idle, inst_of, masks, noise, sigma, keys, ckpts):
    """Score B schedules. payoff (n_inst, k, nS); init (n_inst, k) columns; sched (B, T, k) uint8 play masks;
    ckpts (n_ck,) increasing round counts in 1..T. Returns (mean_cum (B, n_ck), obs_cum (B, n_ck), final
    (B, k) columns)."""
    B, T, k = masks.shape
    nck = ckpts.shape[0]
    mean_cum = np.zeros((B, nck))
    obs_cum = np.zeros((B, nck))
    final = np.zeros((B, k), np.int64)
    for b in prange(B):
        inst = inst_of[b]
        st = init[inst].copy()
        key = np.uint64(keys[b])
        cm = 0.0
        co = 0.0
        c = 0
        for t in range(T):
            for a in range(k):
                if masks[b, t, a]:
                    mu = payoff[inst, a, st[a]]
                    cm += mu
                    if noise == 0:
                        co += mu
                    else:
                        ctr = np.uint64(2 * (t * k + a))
                        u1 = ctr_uniform(key, ctr)
                        if noise == 1:
                            co += 1.0 if u1 < mu else 0.0
                        else:
                            u2 = ctr_uniform(key, ctr + np.uint64(1))
                            z = math.sqrt(-2.0 * math.log1p(-u1)) * math.cos(2.0 * math.pi * u2)
                            co += mu + sigma * z
                    st[a] = next_play[st[a]]
                else:
                    st[a] = next_idle[st[a]]
            while c < nck and ckpts[c] == t + 1:
                mean_cum[b, c] = cm
                obs_cum[b, c] = co
                c += 1
        final[b] = st
    return mean_cum, obs_cum, final


@njit(cache=True)
def _step_joint(x, act, k, nS, next_play, next_idle, payoff, pw):
    """Reward and next joint index of joint state x under the play mask act."""
    r = 0.0
    y = 0
    for a in range(k):
        col = (x // pw[a]) % nS
        if act[a]:
            r += payoff[a, col]
            y += next_play[col] * pw[a]
        else:
            y += next_idle[col] * pw[a]
    return r, y


@njit(cache=True)
def dp_backward(payoff, next_play, next_idle, actions, T, store):
    """Backward induction over joint states (mixed radix nS^k, arm a the digit of weight nS^a).

    V_{T+1} = 0; V_t(x) = max_A r(x, A) + V_{t+1}(next(x, A)); ties go to the lowest action index.
    Returns (V_1 over all joint states, argmax table (T, |X|) int32 if store else (0, 0)).
    """
    k, nS = payoff.shape
    nX = nS ** k
    pw = np.empty(k, np.int64)
    p = 1
    for a in range(k):
        pw[a] = p
        p *= nS
    V = np.zeros(nX)
    Vn = np.empty(nX)
    pol = np.zeros((T if store else 0, nX if store else 0), np.int32)
    nA = actions.shape[0]
    for t in range(T - 1, -1, -1):
        for x in range(nX):
            best = -1.0
            arg = 0
            for j in range(nA):
                r, y = _step_joint(x, actions[j], k, nS, next_play, next_idle, payoff, pw)
                v = r + V[y]
                if v > best:
                    best = v
                    arg = j
            Vn[x] = best
            if store:
                pol[t, x] = arg
        V, Vn = Vn, V
    return V, pol


@njit(cache=True)
def dp_schedule(payoff, next_play, next_idle, actions, pol, x0):
    """Forward pass through the argmax table: the optimal play masks (T, k) from joint state x0."""
    k, nS = payoff.shape
    T = pol.shape[0]
    pw = np.empty(k, np.int64)
    p = 1
    for a in range(k):
        pw[a] = p
        p *= nS
    out = np.zeros((T, k), np.uint8)
    x = x0
    for t in range(T):
        j = pol[t, x]
        out[t] = actions[j]
        _, x = _step_joint(x, actions[j], k, nS, next_play, next_idle, payoff, pw)
    return out
