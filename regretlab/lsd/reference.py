"""Plain-Python oracles for recharging / LSD bandits: the transition rules written out, schedule scoring, and
brute-force optimum over every action sequence (tiny instances only).

The transition rules are spelled in the models' own terms (delays, signed states), not through the column
maps the kernels use, so a test comparing the two checks the maps as well.
"""
from __future__ import annotations

import itertools
import math

from regretlab.core.detmath import py_counter_uniform

from .models import Instance, action_masks, lsd_column, lsd_state


def next_state(kind: str, s: int, played: bool, tau_max: int) -> int:
    """One arm's next state: the delay (recharging, spec §2) or the signed state (LSD, spec §3)."""
    if kind == "recharging":
        return 1 if played else min(s + 1, tau_max)
    if played:
        return -1 if s > 0 else max(s - 1, -tau_max)
    return 1 if s < 0 else min(s + 1, tau_max)


def _col(inst: Instance, s: int) -> int:
    return s - 1 if inst.kind == "recharging" else lsd_column(s, inst.tau_max)


def _realised(mu: float, noise: str, sigma: float, key: int, t: int, k: int, a: int) -> float:
    """The realised reward of arm a in round t (counter 2 (t k + a) of the row's key; kernel ``_reward``)."""
    if noise == "none":
        return mu
    u1 = py_counter_uniform(key, 2 * (t * k + a))
    if noise == "bernoulli":
        return 1.0 if u1 < mu else 0.0
    u2 = py_counter_uniform(key, 2 * (t * k + a) + 1)
    return mu + sigma * math.sqrt(-2.0 * math.log1p(-u1)) * math.cos(2.0 * math.pi * u2)


def score_schedule(inst: Instance, sched, noise: str = "none", sigma: float = 0.1, key: int = 0):
    """(sum of means, realised sum, final states as labels) of one schedule, a (T, k) sequence of 0/1 masks."""
    st = [inst.state_label(int(c)) for c in inst.init]
    cm = co = 0.0
    for t, row in enumerate(sched):
        for a in range(inst.k):
            if row[a]:
                mu = float(inst.payoff[a, _col(inst, st[a])])
                cm += mu
                co += _realised(mu, noise, sigma, key, t, inst.k, a)
            st[a] = next_state(inst.kind, st[a], bool(row[a]), inst.tau_max)
    return cm, co, st


def _filler(inst: Instance, st, inactive, chosen) -> int:
    """Filler rule: among the arms not chosen, inactive first, then the highest current mean, lowest index."""
    free = [a for a in range(inst.k) if not chosen[a]]
    return min(free, key=lambda a: (not inactive[a], -inst.payoff[a, st[a]], a))


def run_requests(inst: Instance, mode: int, period, width, offset, q, phase, T: int, key: int, t0: int = 0):
    """One row of a rounding plan (:mod:`regretlab.lsd.rounding`) played for rounds t0 .. t0 + T - 1, written
    as plain loops: (T, k) play masks. Same selection uniforms (counter 2**62 + t m + j) and the same float
    operations in the same order as the kernel, so the schedules agree exactly. With m > 1 (modes 0-1) a
    uniformly random m-subset of the requesters plays (partial Fisher-Yates); without idling fillers complete
    the round to m plays."""
    k, m = inst.k, inst.m
    st = [int(c) for c in inst.init]
    inactive = [(q[a] <= 0.0) if mode >= 2 else (period[a] <= 0) for a in range(k)]
    due = [t0 + phase[a] / q[a] if mode >= 2 and not inactive[a] else 0.0 for a in range(k)]
    Q = 0.0
    for a in range(k):
        Q += q[a]
    out = []
    for t in range(t0, t0 + T):
        u = py_counter_uniform(key, (1 << 62) + t * m)
        pick = -1
        chosen = [False] * k
        if mode <= 1:
            req = [a for a in range(k) if not inactive[a] and (t - offset[a]) % period[a] < width[a]]
            n = len(req)
        if mode <= 1 and m > 1:
            if n <= m:
                for a in req:
                    chosen[a] = True
            else:
                for j in range(m):
                    uj = u if j == 0 else py_counter_uniform(key, (1 << 62) + t * m + j)
                    i = j + min(int(uj * (n - j)), n - j - 1)
                    req[j], req[i] = req[i], req[j]
                    chosen[req[j]] = True
        elif mode <= 1:
            if n == 1 or (n >= 2 and (mode == 1 or Q <= 0.0)):
                pick = req[min(int(u * n), n - 1)]
            elif n >= 2:
                inside = outside = 0.0
                for a in range(k):
                    if a in req:
                        inside += q[a]
                    else:
                        outside += q[a]
                w = [((inside - q[a]) / (n - 1) + outside / n) / Q for a in req]
                wsum = 0.0
                for v in w:
                    wsum += v
                acc = 0.0
                for a, v in zip(req, w):
                    acc += v
                    pick = a
                    if u * wsum < acc:
                        break
        elif mode == 2:
            acc = 0.0
            for a in range(k):
                acc += q[a]
                if u < acc:
                    pick = a
                    break
        else:
            for a in range(k):
                if not inactive[a] and due[a] <= t + 1 and (pick < 0 or due[a] < due[pick]):
                    pick = a
            if pick >= 0:
                due[pick] += 1.0 / q[pick]
        if pick >= 0:
            chosen[pick] = True
        while not inst.idle_allowed and sum(chosen) < m:
            chosen[_filler(inst, st, inactive, chosen)] = True
        row = [1 if c else 0 for c in chosen]
        out.append(row)
        st = [int(inst.next_play[c]) if row[a] else int(inst.next_idle[c]) for a, c in enumerate(st)]
    return out


def agnostic_index(inst: Instance, policy: str, T: int, state, key: int, noise: str = "bernoulli",
                   sigma: float = 0.1):
    """State-agnostic ``ucb1`` / ``thompson`` on one replicate (semantics of the kernel
    :func:`regretlab.lsd._kernels.agnostic_index`): (cumulative sums of means per round, cumulative realised
    sums per round, played arms)."""
    from regretlab.bandits.reference import argmax_random
    from regretlab.core.rng import PyRandom

    rng = PyRandom(state)
    k = inst.k
    n, sm = [0.0] * k, [0.0] * k
    st = [int(c) for c in inst.init]
    cm = co = 0.0
    arms, cms, cos = [], [], []
    for t in range(T):
        if policy == "ucb1" and 0.0 in n:
            arm = n.index(0.0)
        elif policy == "ucb1":
            lt = math.log(t)
            arm = argmax_random([sm[a] / n[a] + math.sqrt(2.0 * lt / n[a]) for a in range(k)], rng)
        else:
            arm = argmax_random([rng.beta(1.0 + sm[a], 1.0 + n[a] - sm[a]) for a in range(k)], rng)
        mu = float(inst.payoff[arm, st[arm]])
        cm += mu
        r = _realised(mu, noise, sigma, key, t, k, arm)
        co += r
        n[arm] += 1.0
        sm[arm] += r
        st = [int(inst.next_play[c]) if a == arm else int(inst.next_idle[c]) for a, c in enumerate(st)]
        arms.append(arm)
        cms.append(cm)
        cos.append(co)
    return cms, cos, arms


def dp_value(inst: Instance, T: int) -> float:
    """OPT(T) by backward induction over the joint states written as plain loops, in the kernel's order (arm a
    the digit of weight n_states^a; actions in :func:`action_masks` order; rewards summed over arms in index
    order), so the value agrees with :func:`regretlab.lsd.dp_opt` exactly."""
    k, n = inst.k, inst.n_states
    acts = action_masks(inst)
    nX = n ** k
    V = [0.0] * nX
    for _ in range(T):
        W = [0.0] * nX
        for x in range(nX):
            best = -1.0
            for act in acts:
                r, y, w = 0.0, 0, 1
                for a in range(k):
                    col = (x // w) % n
                    if act[a]:
                        r += float(inst.payoff[a, col])
                        y += int(inst.next_play[col]) * w
                    else:
                        y += int(inst.next_idle[col]) * w
                    w *= n
                v = r + V[y]
                if v > best:
                    best = v
            W[x] = best
        V = W
    x0 = sum(int(c) * n ** a for a, c in enumerate(inst.init))
    return V[x0]


def brute_force_opt(inst: Instance, T: int):
    """max over every sequence of T allowed masks of the sum of means, and one maximiser (tiny cases)."""
    best, arg = -1.0, None
    for seq in itertools.product(action_masks(inst), repeat=T):
        v = score_schedule(inst, seq)[0]
        if v > best + 1e-15:
            best, arg = v, seq
    return best, arg


def brute_force_max_mean_cycle(inst: Instance) -> float:
    """rho* as the best mean reward over every simple cycle of the joint-state graph, the states written as
    tuples of delays / signed states and enumerated by depth-first search from each cycle's smallest state
    (tiny cases: the number of simple cycles grows very fast)."""
    tau = inst.tau_max
    one = list(range(1, tau + 1)) if inst.kind == "recharging" else list(range(-tau, 0)) + list(range(1, tau + 1))
    nodes = list(itertools.product(one, repeat=inst.k))
    rank = {x: j for j, x in enumerate(nodes)}
    edges = {}
    for x in nodes:
        for act in action_masks(inst):
            r = sum(float(inst.payoff[a, _col(inst, x[a])]) for a in range(inst.k) if act[a])
            y = tuple(next_state(inst.kind, x[a], bool(act[a]), tau) for a in range(inst.k))
            edges.setdefault(x, {})
            edges[x][y] = max(edges[x].get(y, -1.0), r)
    best = -1.0
    for s in nodes:
        stack = [(s, 0.0, 0, {s})]
        while stack:
            x, tot, n, seen = stack.pop()
            for y, r in edges[x].items():
                if y == s:
                    best = max(best, (tot + r) / (n + 1))
                elif rank[y] > rank[s] and y not in seen:
                    stack.append((y, tot + r, n + 1, seen | {y}))
    return best


__all__ = ["action_masks", "agnostic_index", "brute_force_max_mean_cycle", "brute_force_opt", "dp_value",
           "next_state", "run_requests", "score_schedule", "lsd_state"]
