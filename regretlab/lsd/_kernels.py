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

from regretlab.bandits._kernels import _argmax_random
from regretlab.core._detmath_kernels import ctr_uniform
from regretlab.core.rng import load_state, xo_beta


@njit(cache=True)
def _reward(mu, noise, sigma, key, t, k, a):
    """The realised reward of arm a played in round t with mean mu (noise codes in the module docstring)."""
    if noise == 0:
        return mu
    ctr = np.uint64(2 * (t * k + a))
    u1 = ctr_uniform(key, ctr)
    if noise == 1:
        return 1.0 if u1 < mu else 0.0
    u2 = ctr_uniform(key, ctr + np.uint64(1))
    return mu + sigma * math.sqrt(-2.0 * math.log1p(-u1)) * math.cos(2.0 * math.pi * u2)


@njit(cache=True, parallel=True)
def score_schedules(payoff, init, next_play, next_idle, inst_of, masks, noise, sigma, keys, ckpts, collect,
                    stat_n, stat_s):
    """Score B schedules. payoff (n_inst, k, nS); init (n_inst, k) columns; masks (B, T, k) uint8 play masks;
    ckpts (n_ck,) increasing round counts in 1..T. With ``collect`` every play's realised reward is added to
    stat_s[b, a, col] and counted in stat_n[b, a, col] (in place). Returns (mean_cum (B, n_ck), obs_cum
    (B, n_ck), final (B, k) columns)."""
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
                    r = _reward(mu, noise, sigma, key, t, k, a)
                    co += r
                    if collect:
                        stat_n[b, a, st[a]] += 1.0
                        stat_s[b, a, st[a]] += r
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
def _radix_powers(k, nS):
    """nS^a for a = 0..k-1: the digit weights of the joint-state index."""
    pw = np.empty(k, np.int64)
    p = 1
    for a in range(k):
        pw[a] = p
        p *= nS
    return pw


@njit(cache=True)
def dp_backward(payoff, next_play, next_idle, actions, T, store):
    """Backward induction over joint states (mixed radix nS^k, arm a the digit of weight nS^a).

    V_{T+1} = 0; V_t(x) = max_A r(x, A) + V_{t+1}(next(x, A)); ties go to the lowest action index.
    Returns (V_1 over all joint states, argmax table (T, |X|) int32 if store else (0, 0)).
    """
    k, nS = payoff.shape
    nX = nS ** k
    pw = _radix_powers(k, nS)
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
    pw = _radix_powers(k, nS)
    out = np.zeros((T, k), np.uint8)
    x = x0
    for t in range(T):
        j = pol[t, x]
        out[t] = actions[j]
        _, x = _step_joint(x, actions[j], k, nS, next_play, next_idle, payoff, pw)
    return out


#: Counter offset of the per-round selection uniform of :func:`run_requests` (reward noise uses 2 (t k + a)).
CHOICE_CTR = 1 << 62


@njit(cache=True)
def _filler(payoff_i, st, inactive, chosen, k):
    """The filler arm of a round with fewer plays than m when idling is not allowed: among the arms not chosen
    yet, an arm inactive in the rounding first, then the highest current mean, then the lowest index."""
    best = -1
    for a in range(k):
        if chosen[a]:
            continue
        if best < 0:
            best = a
            continue
        if inactive[a] != inactive[best]:
            if inactive[a]:
                best = a
            continue
        if payoff_i[a, st[a]] > payoff_i[best, st[best]]:
            best = a
    return best


@njit(cache=True, parallel=True)
def run_requests(payoff, inst_of, start, next_play, next_idle, mode, period, width, offset, q, phase,
                 idle_allowed, m, t0, T, noise, sigma, keys, ckpts, store, collect, stat_n, stat_s):
    """Run B rounding plans for rounds t0 .. t0 + T - 1, scoring them as :func:`score_schedules` does.

    Modes: 0 / 1 periodic requests (arm a requests round t iff period[b, a] > 0 and (t - offset) mod period <
    width) resolved by the fair (0) or uniform (1) contention rule with request probabilities q; 2 independent
    rounding (one categorical draw over q, idle with the rest); 3 interleaved due times (next due time
    t0 + phase / q, the earliest due arm plays and moves 1 / q later). One selection uniform per round, counter
    ``CHOICE_CTR + t`` of the row's key. With m > 1 (modes 0-1 only) at most m requesters play: all of them if
    there are at most m, else a uniformly random m-subset (partial Fisher-Yates over the requesters in index
    order with the uniforms of counters ``CHOICE_CTR + t m + j``, j < m; j = 0 is the m = 1 counter). Without
    idling a round with fewer than m plays is filled by :func:`_filler`, one arm at a time. With ``collect``
    the realised rewards are added to stat_s[b, a, col] and the plays to stat_n (in place).
    Returns (mean_cum, obs_cum, final columns, masks (B, T, k) if store else (0, 0, 0)).
    """
    B, k = start.shape
    nck = ckpts.shape[0]
    mean_cum = np.zeros((B, nck))
    obs_cum = np.zeros((B, nck))
    final = np.zeros((B, k), np.int64)
    masks = np.zeros((B if store else 0, T if store else 0, k if store else 0), np.uint8)
    for b in prange(B):
        inst = inst_of[b]
        st = start[b].copy()
        key = np.uint64(keys[b])
        inactive = np.zeros(k, np.bool_)
        due = np.zeros(k)
        for a in range(k):
            if mode >= 2:
                inactive[a] = q[b, a] <= 0.0
                if not inactive[a]:
                    due[a] = t0 + phase[b, a] / q[b, a]
            else:
                inactive[a] = period[b, a] <= 0
        Qall = 0.0
        for a in range(k):
            Qall += q[b, a]
        cm = 0.0
        co = 0.0
        c = 0
        chosen = np.zeros(k, np.bool_)
        req = np.zeros(k, np.int64)
        for tt in range(T):
            t = t0 + tt
            u = ctr_uniform(key, np.uint64(CHOICE_CTR + t * m))
            pick = -1
            chosen[:] = False
            n_chosen = 0
            if mode <= 1:
                n = 0
                inside = 0.0
                outside = 0.0
                for a in range(k):          # the requesters of round t, in index order
                    if (not inactive[a]) and (t - offset[b, a]) % period[b, a] < width[b, a]:
                        req[n] = a
                        n += 1
                        inside += q[b, a]
                    else:
                        outside += q[b, a]
                if m > 1:
                    if n <= m:
                        for j in range(n):
                            chosen[req[j]] = True
                        n_chosen = n
                    else:
                        for j in range(m):
                            uj = u if j == 0 else ctr_uniform(key, np.uint64(CHOICE_CTR + t * m + j))
                            i = j + min(int(uj * (n - j)), n - j - 1)
                            tmp = req[j]
                            req[j] = req[i]
                            req[i] = tmp
                            chosen[req[j]] = True
                        n_chosen = m
                elif n == 1 or (n >= 2 and (mode == 1 or Qall <= 0.0)):
                    pick = req[min(int(u * n), n - 1)]
                elif n >= 2:
                    wsum = 0.0
                    for j in range(n):
                        wsum += ((inside - q[b, req[j]]) / (n - 1) + outside / n) / Qall
                    target = u * wsum
                    acc = 0.0
                    for j in range(n):
                        acc += ((inside - q[b, req[j]]) / (n - 1) + outside / n) / Qall
                        pick = req[j]
                        if target < acc:
                            break
            elif mode == 2:
                acc = 0.0
                for a in range(k):
                    acc += q[b, a]
                    if u < acc:
                        pick = a
                        break
            else:
                for a in range(k):
                    if (not inactive[a]) and due[a] <= t + 1 and (pick < 0 or due[a] < due[pick]):
                        pick = a
                if pick >= 0:
                    due[pick] += 1.0 / q[b, pick]
            if pick >= 0:
                chosen[pick] = True
                n_chosen = 1
            if not idle_allowed:
                while n_chosen < m:
                    chosen[_filler(payoff[inst], st, inactive, chosen, k)] = True
                    n_chosen += 1
            for a in range(k):
                if chosen[a]:
                    mu = payoff[inst, a, st[a]]
                    cm += mu
                    r = _reward(mu, noise, sigma, key, t, k, a)
                    co += r
                    if collect:
                        stat_n[b, a, st[a]] += 1.0
                        stat_s[b, a, st[a]] += r
                    if store:
                        masks[b, tt, a] = 1
                    st[a] = next_play[st[a]]
                else:
                    st[a] = next_idle[st[a]]
            while c < nck and ckpts[c] == tt + 1:
                mean_cum[b, c] = cm
                obs_cum[b, c] = co
                c += 1
        final[b] = st
    return mean_cum, obs_cum, final, masks


@njit(cache=True)
def _agnostic_row(payoff, st, next_play, next_idle, policy, T, state, key, noise, sigma, ckpts, zx, zf, mean_cum,
                  obs_cum):
    """One replicate of :func:`agnostic_index` (a plain function: Numba's parfor pass rejects the generator
    state tuple inside the prange body)."""
    k = st.shape[0]
    nck = ckpts.shape[0]
    s = load_state(state)
    n = np.zeros(k)
    sm = np.zeros(k)
    idx = np.zeros(k)
    cm = 0.0
    co = 0.0
    c = 0
    for t in range(T):
        arm = -1
        if policy == 0:
            for a in range(k):
                if n[a] == 0.0:
                    arm = a
                    break
            if arm < 0:
                lt = math.log(t)
                for a in range(k):
                    idx[a] = sm[a] / n[a] + math.sqrt(2.0 * lt / n[a])
                s, arm = _argmax_random(idx, k, s)
        else:
            for a in range(k):
                s, idx[a] = xo_beta(s, 1.0 + sm[a], 1.0 + n[a] - sm[a], zx, zf)
            s, arm = _argmax_random(idx, k, s)
        mu = payoff[arm, st[arm]]
        cm += mu
        r = _reward(mu, noise, sigma, key, t, k, arm)
        co += r
        n[arm] += 1.0
        sm[arm] += r
        for a in range(k):
            st[a] = next_play[st[a]] if a == arm else next_idle[st[a]]
        while c < nck and ckpts[c] == t + 1:
            mean_cum[c] = cm
            obs_cum[c] = co
            c += 1


@njit(cache=True, parallel=True)
def agnostic_index(payoff, start, next_play, next_idle, policy, T, states, keys, noise, sigma, ckpts, zx, zf):
    """State-agnostic UCB1 (policy 0) and Bernoulli Thompson sampling (policy 1) on recharging / LSD arms:
    one play per round, statistics per arm ignoring states, the reward drawn at the arm's actual state.

    UCB1: each arm once (lowest index first), then argmax mean + sqrt(2 ln t / n_a) with t the rounds played;
    Thompson: argmax of Beta(1 + S_a, 1 + F_a) draws with S_a / F_a the counts of rewards 1 / 0 (a reward r in
    [0, 1] counts as S += r, F += 1 - r). Ties go uniformly at random (xoshiro stream ``states[b]``); reward
    noise from the counter key as in :func:`score_schedules`. Returns (mean_cum, obs_cum, final columns).
    """
    B, k = start.shape
    nck = ckpts.shape[0]
    mean_cum = np.zeros((B, nck))
    obs_cum = np.zeros((B, nck))
    final = start.copy()
    for b in prange(B):
        _agnostic_row(payoff, final[b], next_play, next_idle, policy, T, states[b], np.uint64(keys[b]), noise,
                      sigma, ckpts, zx, zf, mean_cum[b], obs_cum[b])
    return mean_cum, obs_cum, final


@njit(cache=True)
def gain_bounds(payoff, next_play, next_idle, actions, iters, mix, tol):
    """Bounds on the optimal long-run reward per round rho* by value iteration on the aperiodic transform
    (W_{n+1}(x) = (1 - mix) W_n(x) + mix max_A [r(x, A) + W_n(next(x, A))], whose gain is mix rho*): after
    each sweep, min_x / max_x of (W_{n+1} - W_n) / mix bracket rho* (the span bounds of undiscounted value
    iteration). Stops when upper - lower <= tol or after ``iters`` sweeps. Returns (lower, upper, sweeps)."""
    k, nS = payoff.shape
    nX = nS ** k
    pw = _radix_powers(k, nS)
    W = np.zeros(nX)
    Wn = np.zeros(nX)
    nA = actions.shape[0]
    lo = 0.0
    hi = 0.0
    done = 0
    for _ in range(iters):
        done += 1
        lo = np.inf
        hi = -np.inf
        for x in range(nX):
            best = -1.0
            for j in range(nA):
                r, y = _step_joint(x, actions[j], k, nS, next_play, next_idle, payoff, pw)
                v = r + W[y]
                if v > best:
                    best = v
            Wn[x] = (1.0 - mix) * W[x] + mix * best
            diff = Wn[x] - W[x]
            lo = min(lo, diff)
            hi = max(hi, diff)
        base = Wn[0]
        for x in range(nX):          # relative values: keeps the numbers bounded, the differences unchanged
            W[x] = Wn[x] - base
        if (hi - lo) / mix <= tol:
            break
    return lo / mix, hi / mix, done


@njit(cache=True)
def karp_tables(payoff, next_play, next_idle, actions):
    """Karp's maximum-mean-cycle recursion on the joint-state graph (R. M. Karp, "A characterization of the
    minimum cycle mean in a digraph", Discrete Mathematics 23, 1978, Theorem 1, written for a maximum).

    D[j, x] = the largest reward of a walk of exactly j edges ending in x, started anywhere (D[0] = 0, which
    is Karp's source joined to every node; -inf where no such walk exists); pred[j, x] = y * nA + action of
    the last edge of that walk (first maximiser in (y, action) order). Then
    rho* = max_x min_{0 <= j < n} (D[n, x] - D[j, x]) / (n - j) over the x with D[n, x] finite. Returns
    (rho*, the maximising x, D, pred). Memory (n + 1) n (8 + 4) bytes.
    """
    k, nS = payoff.shape
    n = nS ** k
    pw = _radix_powers(k, nS)
    nA = actions.shape[0]
    D = np.full((n + 1, n), -np.inf)
    pred = np.full((n + 1, n), -1, np.int32)
    D[0, :] = 0.0
    for j in range(1, n + 1):
        for x in range(n):
            d = D[j - 1, x]
            if d == -np.inf:
                continue
            for a in range(nA):
                r, y = _step_joint(x, actions[a], k, nS, next_play, next_idle, payoff, pw)
                if d + r > D[j, y]:
                    D[j, y] = d + r
                    pred[j, y] = x * nA + a
    best = -np.inf
    arg = -1
    for x in range(n):
        if D[n, x] == -np.inf:
            continue
        worst = np.inf
        for j in range(n):
            if D[j, x] == -np.inf:
                continue
            worst = min(worst, (D[n, x] - D[j, x]) / (n - j))
        if worst > best:
            best = worst
            arg = x
    return best, arg, D, pred
