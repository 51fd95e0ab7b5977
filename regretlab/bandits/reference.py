"""Plain-Python reference of the stochastic-bandit simulator: slow, per replicate, per round.

It defines the semantics that the Numba kernel (``_kernels.py``), the NumPy backend and the CuPy path
must reproduce *exactly* for the same replicate states: the same arm choices, rewards and statistics.
Every round of replicate r, in this order:

1. the policy chooses an arm, drawing from the replicate's generator only when it needs to (an
   epsilon coin, a uniform arm, posterior samples in arm order, tie-breaks);
2. the exploration statistics are updated from the history *before* the pull (greedy set);
3. the reward is drawn (Bernoulli: ``uniform < mu``; Gaussian: ``mu + sigma * normal``);
4. counts, sums, empirical means and the pseudo-regret ``sum_t (mu* - mu_{a_t})`` are updated and
   recorded at the checkpoints.

Ties among maximal indices are broken uniformly at random by reservoir sampling while scanning arms
0..K-1: on the c-th exact tie, the new arm replaces the incumbent when ``uniform() * c < 1``. A draw is
made only on a tie. Policies that need every arm once (greedy, epsilon-greedy's greedy step, ETC, UCB1,
KL-UCB) first pull the lowest-index arm not yet pulled.

The conventions of each policy (which ``t``, which constants) are in :mod:`regretlab.bandits.policies`.
"""
from __future__ import annotations

import math

import numpy as np

from regretlab.core.rng import PyRandom

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


def argmax_random(values, rng: PyRandom) -> int:
    """Argmax with uniformly random tie-breaking by reservoir sampling: one draw from ``rng`` per tie only
    (the twin of the kernels' ``_argmax_random``)."""
    best = -math.inf
    arm = -1
    cnt = 0
    for a, v in enumerate(values):
        if v > best:
            best, arm, cnt = v, a, 1
        elif v == best:
            cnt += 1
            if rng.uniform() * cnt < 1.0:
                arm = a
    return arm


def kl_bernoulli(p: float, q: float) -> float:
    """kl(p, q) for Bernoulli means, with 0 log 0 = 0 (q strictly inside (0, 1) unless p equals it)."""
    out = 0.0
    if p > 0.0:
        out += p * math.log(p / q)
    if p < 1.0:
        out += (1.0 - p) * math.log((1.0 - p) / (1.0 - q))
    return out


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


class ReferencePolicy:
    """One replicate's policy state, stepped round by round: :meth:`choose` then :meth:`update`.

    ``rng`` is the replicate's generator (a :class:`regretlab.core.rng.PyRandom`): the policy draws from it
    only when it needs to (module docstring), so a caller that draws rewards from the same generator between
    the calls reproduces :func:`simulate_one` exactly. Also the step rule of the agent adapters of
    :mod:`regretlab.llm_bandits.agents`.
    """

    def __init__(self, policy: int, pparams, family: int, sigma: float, K: int, rng: PyRandom):
        self.policy, self.pparams, self.family, self.sigma, self.K, self.rng = policy, pparams, family, sigma, K, rng
        self.n = [0] * K
        self.s = [0.0] * K
        self.mean = [0.0] * K
        self.rsn = [0.0] * K  # sqrt(1 / n_a), refreshed when arm a is pulled
        self.untried = K
        self.commit = -1

    def argmax_random(self, values) -> int:
        return argmax_random(values, self.rng)

    def first_untried(self) -> int:
        for a in range(self.K):
            if self.n[a] == 0:
                return a
        return -1

    def choose(self, t: int) -> int:
        """The arm of round ``t`` (1-based)."""
        policy, pparams, K, rng = self.policy, self.pparams, self.K, self.rng
        n, s, mean, rsn = self.n, self.s, self.mean, self.rsn
        if policy == UNIFORM:
            return rng.randint(K)
        if policy in (GREEDY, EPS_GREEDY, EPS_DECAY):
            eps = 0.0
            if policy == EPS_GREEDY:
                eps = pparams[0]
            elif policy == EPS_DECAY:
                eps = min(1.0, pparams[0] * K / (pparams[1] * pparams[1] * t))
            if policy != GREEDY and rng.uniform() < eps:
                return rng.randint(K)
            if self.untried > 0:
                return self.first_untried()
            return self.argmax_random(mean)
        if policy == ETC:
            m = int(pparams[0])
            if t <= m * K:
                return (t - 1) % K
            if self.commit < 0:
                self.commit = self.argmax_random(mean)
            return self.commit
        if policy == UCB1 or policy == UCB_K24 or policy == UCB_C or policy == UCB_ALPHA:
            if self.untried > 0:
                return self.first_untried()
            if policy == UCB1:
                sc = pparams[0] * math.sqrt(2.0 * math.log(t - 1))
            elif policy == UCB_C:
                sc = pparams[0] * math.sqrt(math.log(t))
            elif policy == UCB_ALPHA:
                sc = math.sqrt(pparams[0] * math.log(t - 1))
            else:
                sc = math.sqrt(pparams[0])
            return self.argmax_random([mean[a] + sc * rsn[a] for a in range(K)])
        if policy == KL_UCB:
            if self.untried > 0:
                return self.first_untried()
            lt = math.log(t - 1)
            rhs = lt + pparams[0] * math.log(lt) if pparams[0] != 0.0 else lt
            if self.family == BERNOULLI:
                idx = [klucb_bernoulli_index(mean[a], rhs / n[a]) for a in range(K)]
            else:
                idx = [mean[a] + self.sigma * math.sqrt(max(2.0 * rhs / n[a], 0.0)) for a in range(K)]
            return self.argmax_random(idx)
        init = pparams[0] if policy == TS_BETA else pparams[3] if policy == TS_GAUSS else 0.0
        if init != 0.0 and self.untried > 0:  # Thompson sampling with init_each_arm
            return self.first_untried()
        if policy == TS_BETA:
            return self.argmax_random([rng.beta(1.0 + s[a], 1.0 + n[a] - s[a]) for a in range(K)])
        if policy == TS_GAUSS:
            prior_mean, prior_var = pparams[0], pparams[1]
            noise_var = pparams[2] * pparams[2]
            theta = []
            for a in range(K):
                prec = 1.0 / prior_var + n[a] / noise_var
                v = 1.0 / prec
                m = v * (prior_mean / prior_var + s[a] / noise_var)
                theta.append(m + math.sqrt(v) * rng.normal())
            return self.argmax_random(theta)
        raise ValueError(f"unknown policy code {policy}")

    def update(self, arm: int, y: float) -> None:
        """Record reward ``y`` of ``arm``."""
        if self.n[arm] == 0:
            self.untried -= 1
        self.n[arm] += 1
        self.s[arm] += y
        self.mean[arm] = self.s[arm] / self.n[arm]
        self.rsn[arm] = math.sqrt(1.0 / self.n[arm])


def simulate_one(
    policy: int,
    pparams,
    family: int,
    sigma: float,
    means,
    horizon: int,
    state,
    checkpoints,
):
    """Run one replicate; returns a dict of its outputs (see ``regretlab.bandits.simulate``)."""
    rng = PyRandom(state)
    mu = [float(m) for m in means]
    K = len(mu)
    mu_star = max(mu)
    gaps = [mu_star - m for m in mu]
    pol = ReferencePolicy(policy, pparams, family, sigma, K, rng)
    regret = 0.0
    reward_sum = 0.0
    greedy_rounds = 0
    last_best = 0
    ckpt = list(int(c) for c in checkpoints)
    out_regret = []
    ci = 0

    for t in range(1, horizon + 1):
        # 1. choose
        arm = pol.choose(t)
        # 2. exploration statistics from the history before the pull (optimistic greedy set)
        if pol.untried > 0:
            greedy_rounds += pol.n[arm] == 0
        else:
            greedy_rounds += pol.mean[arm] == max(pol.mean)
        if gaps[arm] == 0.0:
            last_best = t

        # 3. reward
        if family == BERNOULLI:
            y = 1.0 if rng.uniform() < mu[arm] else 0.0
        else:
            y = mu[arm] + sigma * rng.normal()

        # 4. update and record
        pol.update(arm, y)
        reward_sum += y
        regret += gaps[arm]
        while ci < len(ckpt) and ckpt[ci] == t:
            out_regret.append(regret)
            ci += 1

    return {
        "regret": np.array(out_regret),
        "counts": np.array(pol.n, dtype=np.int64),
        "reward_sum": reward_sum,
        "greedy_rounds": greedy_rounds,
        "last_best": last_best,
    }


def simulate(policy, pparams, family, sigma, means, horizon, states, checkpoints):
    """All replicates, stacked like the kernel's outputs. ``means`` is (R, K); ``states`` (R, 4)."""
    outs = [
        simulate_one(policy, pparams, family, sigma, means[r], horizon, states[r], checkpoints)
        for r in range(states.shape[0])
    ]
    return {
        "regret": np.stack([o["regret"] for o in outs]),
        "counts": np.stack([o["counts"] for o in outs]),
        "reward_sum": np.array([o["reward_sum"] for o in outs]),
        "greedy_rounds": np.array([o["greedy_rounds"] for o in outs], dtype=np.int64),
        "last_best": np.array([o["last_best"] for o in outs], dtype=np.int64),
    }
