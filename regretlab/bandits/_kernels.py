"""Numba kernels of the stochastic-bandit simulator (semantics: :mod:`regretlab.bandits.reference`).

One kernel serves every policy; ``prange`` runs over replicates and replicate ``r`` reads only its own
generator state ``states[r]``, so results do not depend on the number of threads. Indices are computed
in one loop over arms and the argmax taken in a second loop (the first loop vectorises). Nothing here
validates: the public API in ``bandits.py`` does that once.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from regretlab.core.rng import gamma_consts, xo_gamma_dc, xo_normal, xo_randint, xo_uniform

from .policies import (
    BERNOULLI,
    EPS_DECAY,
    EPS_GREEDY,
    ETC,
    GREEDY,
    KL_UCB,
    TS_BETA,
    TS_GAUSS,
    UCB1,
    UCB_ALPHA,
    UCB_C,
    UCB_K24,
    UNIFORM,
)


@njit(cache=True, inline="always")
def _argmax_random(values, K, s):
    """(state, argmax) with uniformly random tie-breaking by reservoir sampling (a draw only on a tie)."""
    best = -np.inf
    arm = -1
    cnt = 0
    for a in range(K):
        v = values[a]
        if v > best:
            best = v
            arm = a
            cnt = 1
        elif v == best:
            cnt += 1
            s, u = xo_uniform(s)
            if u * cnt < 1.0:
                arm = a
    return s, arm


@njit(cache=True, inline="always")
def _first_untried(n, K):
    for a in range(K):
        if n[a] == 0.0:
            return a
    return -1


@njit(cache=True)
def klucb_bernoulli_index(p, delta):
    """max{q in [p, 1] : kl(p, q) <= delta} for Bernoulli kl, to about 1e-12 relative in 1 - q.

    Newton in x = -ln(1 - q) (q = -expm1(-x)): h(x) = kl(p, q(x)) - delta is convex and increasing
    for q > p, with h'(x) = (q - p) / q in (0, 1], so Newton started right of the root decreases
    monotonically to it, also when q is within 1e-15 of 1 (where Newton in q stalls). Start: the smaller
    of two upper bounds on the root, Pinsker (q <= p + sqrt(delta / 2)) and kl >= -H(p) + (1 - p) x.
    """
    if delta <= 0.0:
        return p
    if p >= 1.0:
        return 1.0
    if p <= 0.0:
        return -math.expm1(-delta)  # kl(0, q) = -ln(1 - q): closed form
    ent = -(p * math.log(p) + (1.0 - p) * math.log1p(-p))
    x = (delta + ent) / (1.0 - p)
    qp = p + math.sqrt(0.5 * delta)
    if qp < 1.0:
        xp = -math.log1p(-qp)
        x = min(x, xp)
    lp = math.log1p(-p)
    for _ in range(100):
        q = -math.expm1(-x)
        h = p * math.log(p / q) + (1.0 - p) * (lp + x) - delta
        step = h * q / (q - p)
        x -= step
        if step < 1e-12 * x:
            break
    return -math.expm1(-x)


@njit(cache=True)
def _run_one(policy, pp, family, sigma, mu, horizon, s, ckpt, zx, zf,
             out_regret, out_counts, n, sm, mean, idx, gaps, rsn, ga):
    """One replicate from state tuple ``s``; returns (reward_sum, greedy_rounds, last_best).

    Scratch arrays are passed in; the generator state lives in registers (a tuple threaded through).
    """
    K = mu.shape[0]
    mu_star = -np.inf
    for a in range(K):
        mu_star = max(mu_star, mu[a])
    for a in range(K):
        gaps[a] = mu_star - mu[a]
        n[a] = 0.0
        sm[a] = 0.0
        mean[a] = 0.0
        rsn[a] = 0.0
        ga[a, 0], ga[a, 1] = gamma_consts(1.0)
        ga[a, 2], ga[a, 3] = gamma_consts(1.0)
    untried = K
    regret = 0.0
    reward_sum = 0.0
    greedy_rounds = 0
    last_best = 0
    commit = -1
    ci = 0
    nck = ckpt.shape[0]
    for t in range(1, horizon + 1):
        # 1. choose
        if policy == UNIFORM:
            s, arm = xo_randint(s, K)
        elif policy == GREEDY or policy == EPS_GREEDY or policy == EPS_DECAY:
            eps = 0.0
            if policy == EPS_GREEDY:
                eps = pp[0]
            elif policy == EPS_DECAY:
                eps = min(1.0, pp[0] * K / (pp[1] * pp[1] * t))
            explore = False
            if policy != GREEDY:
                s, u = xo_uniform(s)
                explore = u < eps
            if explore:
                s, arm = xo_randint(s, K)
            elif untried > 0:
                arm = _first_untried(n, K)
            else:
                s, arm = _argmax_random(mean, K, s)
        elif policy == ETC:
            m = int(pp[0])
            if t <= m * K:
                arm = (t - 1) % K
            else:
                if commit < 0:
                    s, commit = _argmax_random(mean, K, s)
                arm = commit
        elif policy == UCB1 or policy == UCB_K24 or policy == UCB_C or policy == UCB_ALPHA:
            if untried > 0:
                arm = _first_untried(n, K)
            else:
                if policy == UCB1:
                    sc = pp[0] * math.sqrt(2.0 * math.log(t - 1))
                elif policy == UCB_C:
                    sc = pp[0] * math.sqrt(math.log(t))
                elif policy == UCB_ALPHA:
                    sc = math.sqrt(pp[0] * math.log(t - 1))
                else:
                    sc = math.sqrt(pp[0])
                for a in range(K):
                    idx[a] = mean[a] + sc * rsn[a]
                s, arm = _argmax_random(idx, K, s)
        elif policy == KL_UCB:
            if untried > 0:
                arm = _first_untried(n, K)
            else:
                lt = math.log(t - 1)
                rhs = lt + pp[0] * math.log(lt) if pp[0] != 0.0 else lt
                if family == BERNOULLI:
                    for a in range(K):
                        idx[a] = klucb_bernoulli_index(mean[a], rhs / n[a])
                else:
                    for a in range(K):
                        idx[a] = mean[a] + sigma * math.sqrt(max(2.0 * rhs / n[a], 0.0))
                s, arm = _argmax_random(idx, K, s)
        elif (policy == TS_BETA and pp[0] != 0.0 or policy == TS_GAUSS and pp[3] != 0.0) and untried > 0:
            arm = _first_untried(n, K)  # init_each_arm
        elif policy == TS_BETA:
            for a in range(K):
                s, x = xo_gamma_dc(s, ga[a, 0], ga[a, 1], zx, zf)
                s, y = xo_gamma_dc(s, ga[a, 2], ga[a, 3], zx, zf)
                idx[a] = x / (x + y)
            s, arm = _argmax_random(idx, K, s)
        else:  # TS_GAUSS
            prior_mean = pp[0]
            prior_var = pp[1]
            noise_var = pp[2] * pp[2]
            for a in range(K):
                prec = 1.0 / prior_var + n[a] / noise_var
                v = 1.0 / prec
                m = v * (prior_mean / prior_var + sm[a] / noise_var)
                s, z = xo_normal(s, zx, zf)
                idx[a] = m + math.sqrt(v) * z
            s, arm = _argmax_random(idx, K, s)

        # 2. exploration statistics (history before the pull; untried arms count as +inf)
        if untried > 0:
            if n[arm] == 0.0:
                greedy_rounds += 1
        else:
            mx = mean[0]
            for a in range(1, K):
                mx = max(mx, mean[a])
            if mean[arm] == mx:
                greedy_rounds += 1
        if gaps[arm] == 0.0:
            last_best = t

        # 3. reward
        if family == BERNOULLI:
            s, u = xo_uniform(s)
            y = 1.0 if u < mu[arm] else 0.0
        else:
            s, z = xo_normal(s, zx, zf)
            y = mu[arm] + sigma * z

        # 4. update and record
        if n[arm] == 0.0:
            untried -= 1
        n[arm] += 1.0
        sm[arm] += y
        mean[arm] = sm[arm] / n[arm]
        rsn[arm] = math.sqrt(1.0 / n[arm])
        if policy == TS_BETA:
            ga[arm, 0], ga[arm, 1] = gamma_consts(1.0 + sm[arm])
            ga[arm, 2], ga[arm, 3] = gamma_consts(1.0 + n[arm] - sm[arm])
        reward_sum += y
        regret += gaps[arm]
        while ci < nck and ckpt[ci] == t:
            out_regret[ci] = regret
            ci += 1
    for a in range(K):
        out_counts[a] = int(n[a])
    return reward_sum, greedy_rounds, last_best


@njit(cache=True, parallel=True)
def simulate_bandit(policy, pp, family, sigma, means, horizon, states, ckpt, zx, zf,
                    out_regret, out_counts, out_reward, out_greedy, out_last_best):
    """All replicates in parallel. ``means`` (R, K); ``states`` (R, 4) uint64 (not modified)."""
    R = states.shape[0]
    K = means.shape[1]
    for r in prange(R):
        s0 = (states[r, 0], states[r, 1], states[r, 2], states[r, 3])
        n = np.empty(K)
        sm = np.empty(K)
        mean = np.empty(K)
        idx = np.empty(K)
        gaps = np.empty(K)
        rsn = np.empty(K)
        ga = np.empty((K, 4))  # Marsaglia-Tsang (d, c) of the two Beta gammas, refreshed on a pull
        rs, g, lb = _run_one(policy, pp, family, sigma, means[r], horizon, s0, ckpt, zx, zf,
                             out_regret[r], out_counts[r], n, sm, mean, idx, gaps, rsn, ga)
        out_reward[r] = rs
        out_greedy[r] = g
        out_last_best[r] = lb
