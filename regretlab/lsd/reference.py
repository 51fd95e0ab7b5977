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


def score_schedule(inst: Instance, sched, noise: str = "none", sigma: float = 0.1, key: int = 0):
    """(sum of means, realised sum, final states as labels) of one schedule, a (T, k) sequence of 0/1 masks."""
    st = [inst.state_label(int(c)) for c in inst.init]
    cm = co = 0.0
    for t, row in enumerate(sched):
        for a in range(inst.k):
            if row[a]:
                mu = float(inst.payoff[a, _col(inst, st[a])])
                cm += mu
                if noise == "none":
                    co += mu
                else:
                    u1 = py_counter_uniform(key, 2 * (t * inst.k + a))
                    if noise == "bernoulli":
                        co += 1.0 if u1 < mu else 0.0
                    else:
                        u2 = py_counter_uniform(key, 2 * (t * inst.k + a) + 1)
                        co += mu + sigma * math.sqrt(-2.0 * math.log1p(-u1)) * math.cos(2.0 * math.pi * u2)
            st[a] = next_state(inst.kind, st[a], bool(row[a]), inst.tau_max)
    return cm, co, st


def brute_force_opt(inst: Instance, T: int):
    """max over every sequence of T allowed masks of the sum of means, and one maximiser (tiny cases)."""
    best, arg = -1.0, None
    for seq in itertools.product(action_masks(inst), repeat=T):
        v = score_schedule(inst, seq)[0]
        if v > best + 1e-15:
            best, arg = v, seq
    return best, arg


__all__ = ["action_masks", "brute_force_opt", "next_state", "score_schedule", "lsd_state"]
