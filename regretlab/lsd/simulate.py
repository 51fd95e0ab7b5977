"""Scoring schedules and exact optima for recharging / LSD bandits (the Numba kernels behind a checked API).

- :func:`score`: the value of B schedules (play masks), vectorised over schedules and over instances of the
  same kind, shape and cap, with ``none`` / ``bernoulli`` / ``gaussian`` reward noise (spec §9). Seeds flow
  from ``SeedSequence`` through :func:`regretlab.core.seeding.counter_keys`, one key per row, so a row's
  realised rewards do not depend on the batch it is scored in.
- :func:`dp_opt`: OPT(T) by backward induction over the capped joint states (spec §5) and an optimal schedule;
  the exact ground truth for tiny instances (|X| = n_states^k joint states).
- :func:`max_mean_cycle`: rho* exactly, with a cycle of joint states that attains it (Karp 1978), for
  |X| <= KARP_MAX_STATES; :func:`long_run_rate` brackets rho* by value iteration for larger |X|.

A schedule that plays more than m arms in a round (or fewer than m when idling is not allowed) is refused
with the first offending round named; nothing is clipped.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from regretlab.core.validate import ParamError, check_array, check_choice, check_float, check_int

from .models import Instance, action_masks

__all__ = ["NOISES", "Scores", "OptResult", "as_masks", "score", "score_rows", "dp_opt", "check_schedule",
           "long_run_rate", "Cycle", "max_mean_cycle", "joint_cols"]

NOISES = ("none", "bernoulli", "gaussian")
DP_MAX_STATES = 2_000_000
#: Karp's tables take (|X| + 1) |X| 12 bytes: 200 MB at this size
KARP_MAX_STATES = 4096


@dataclass(frozen=True)
class Scores:
    """mean_cum / obs_cum: (B, n_ck) cumulative sum of means / realised rewards at the checkpoints;
    final: (B, k) final state labels (delays or signed states)."""

    mean_cum: np.ndarray
    obs_cum: np.ndarray
    final: np.ndarray
    checkpoints: np.ndarray

    @property
    def value(self) -> np.ndarray:
        """Sum of means over the whole horizon, per schedule (the pseudo-reward the planners maximise)."""
        return self.mean_cum[:, -1]


@dataclass(frozen=True)
class OptResult:
    """value: OPT(T); schedule: (T, k) optimal play masks (None unless asked); values: V_1 over all joint
    states (the mixed-radix index of :func:`joint_index`)."""

    value: float
    schedule: np.ndarray | None
    values: np.ndarray


def as_masks(inst: Instance, actions, where: str = "as_masks") -> np.ndarray:
    """Play masks (..., T, k) from an m = 1 action sequence (..., T) with -1 for an idle round."""
    acts = check_array("actions", actions, dtype=np.int64, low=-1, high=inst.k - 1, where=where)
    out = np.zeros(acts.shape + (inst.k,), np.uint8)
    idx = np.nonzero(acts >= 0)
    out[idx + (acts[idx],)] = 1
    return out


def check_schedule(inst: Instance, sched, where: str = "score") -> np.ndarray:
    """A (B, T, k) or (T, k) 0/1 play-mask array that respects the play rule, as uint8 (B, T, k)."""
    raw = np.asarray(sched) if isinstance(sched, np.ndarray) else None
    if raw is not None and raw.dtype in (np.uint8, np.bool_) and (raw.size == 0 or int(raw.max()) <= 1):
        s = raw.view(np.uint8)          # the kernels' own layout: checked in place, no int64 copy
    else:
        s = check_array("schedule", sched, dtype=np.int64, low=0, high=1, where=where)
    if s.ndim == 2:
        s = s[None]
    if s.ndim != 3 or s.shape[2] != inst.k or s.shape[1] < 1:
        raise ParamError(where, "schedule", f"a (B, T, k = {inst.k}) or (T, k) array of 0/1 play masks, T >= 1",
                         f"shape {np.shape(sched)}")
    n = s.sum(axis=2, dtype=np.int64)
    lo = 0 if inst.idle_allowed else inst.m
    bad = np.argwhere((n < lo) | (n > inst.m))
    if bad.size:
        b, t = (int(v) for v in bad[0])
        rule = f"at most {inst.m}" if inst.idle_allowed else f"exactly {inst.m}"
        raise ParamError(where, f"schedule[{b}, {t}]", f"a round with {rule} plays (idle_allowed = "
                         f"{inst.idle_allowed})", f"{int(n[b, t])} plays")
    return np.ascontiguousarray(s, dtype=np.uint8)


def _stack(insts, where):
    if isinstance(insts, Instance):
        insts = [insts]
    insts = list(insts)
    if not insts:
        raise ParamError(where, "instances", "at least one instance", insts)
    first = insts[0]
    for i in insts[1:]:
        if (i.kind, i.payoff.shape, i.tau_max, i.m, i.idle_allowed) != (first.kind, first.payoff.shape,
                                                                     first.tau_max, first.m, first.idle_allowed):
            raise ParamError(where, "instances", "instances of one kind, shape, cap, m and play rule", i)
    return insts


def score(instances, schedules, *, inst_of=None, noise: str = "none", sigma: float = 0.1, seed: int = 0,
          cell: int = 0, checkpoints=None) -> Scores:
    """Score schedules (B, T, k) (or (T, k)) on one instance or a list of like instances.

    inst_of: (B,) which instance each row uses (default: all rows on instance 0, or row b on instance b when
    there are as many instances as rows). checkpoints: round counts in 1..T (default [T]).
    """
    where = "score"
    insts = _stack(instances, where)
    first = insts[0]
    s = check_schedule(first, schedules, where)
    B, T, _ = s.shape
    noise = check_choice("noise", noise, NOISES, where=where)
    sigma = check_float("sigma", sigma, low=0.0, where=where)
    if inst_of is None:
        inst_of = np.arange(B) if len(insts) == B else np.zeros(B, np.int64)
    inst_of = check_array("inst_of", inst_of, shape=(B,), dtype=np.int64, low=0, high=len(insts) - 1, where=where)
    ck = np.array([T]) if checkpoints is None else checkpoints
    ck = check_array("checkpoints", ck, ndim=1, dtype=np.int64, low=1, high=T, where=where)
    if ck.size == 0 or np.any(np.diff(ck) <= 0):
        raise ParamError(where, "checkpoints", "a non-empty strictly increasing list of rounds in [1, T]", ck)
    from regretlab.core.seeding import counter_keys

    from ._kernels import score_schedules

    keys = counter_keys(check_int("seed", seed, low=0, where=where), check_int("cell", cell, low=0, where=where), B)
    payoff = np.stack([i.payoff for i in insts])
    init = np.stack([i.init for i in insts]).astype(np.int64)
    empty = np.zeros((0, 0, 0))
    mc, oc, fin = score_schedules(payoff, init, first.next_play, first.next_idle, inst_of, s,
                                  NOISES.index(noise), sigma, keys, ck, False, empty, empty)
    return Scores(mc, oc, first.labels(fin), ck)


def score_rows(inst: Instance, schedules, keys, checkpoints, *, noise: str = "none", sigma: float = 0.1,
               collect: bool = False, start=None):
    """Score (B, T, k) schedules on one instance with explicit per-row counter keys (B,) and start columns
    (B, k) (default the instance's); returns (Scores, final columns (B, k), (counts, sums) (B, k, n_states) of
    the realised rewards per (arm, state) when ``collect``, else None). Used by the learners, whose rows are
    replicates keyed by their own SeedSequence."""
    where = "score_rows"
    s = check_schedule(inst, schedules, where)
    B = s.shape[0]
    keys = check_array("keys", keys, shape=(B,), dtype=np.uint64, where=where)
    ck = check_array("checkpoints", checkpoints, ndim=1, dtype=np.int64, low=1, high=s.shape[1], where=where)
    start = np.tile(inst.init, (B, 1)) if start is None else start
    start = check_array("start", start, shape=(B, inst.k), dtype=np.int64, low=0, high=inst.n_states - 1,
                        where=where)
    from ._kernels import score_schedules

    shape = (B, inst.k, inst.n_states) if collect else (0, 0, 0)
    cnt, sums = np.zeros(shape), np.zeros(shape)
    payoff = np.repeat(inst.payoff[None], B, axis=0)     # one start per row: row b is 'instance' b
    mc, oc, fin = score_schedules(payoff, start, inst.next_play, inst.next_idle, np.arange(B), s,
                                  NOISES.index(check_choice("noise", noise, NOISES, where=where)), sigma, keys, ck,
                                  collect, cnt, sums)
    return Scores(mc, oc, inst.labels(fin), ck), fin, ((cnt, sums) if collect else None)


def joint_index(inst: Instance, cols=None) -> int:
    """Mixed-radix index of a joint state (arm a the digit of weight n_states^a); default the start state."""
    cols = inst.init if cols is None else np.asarray(cols, np.int64)
    return int(sum(int(c) * inst.n_states ** a for a, c in enumerate(cols)))


def joint_cols(inst: Instance, x: int) -> np.ndarray:
    """The per-arm columns of joint state x (inverse of :func:`joint_index`)."""
    return np.array([(int(x) // inst.n_states ** a) % inst.n_states for a in range(inst.k)], np.int64)


def dp_opt(inst: Instance, T: int, *, schedule: bool = True) -> OptResult:
    """OPT(T) = V_1(x0) by backward induction over the n_states^k capped joint states (spec §5), with an
    optimal schedule (ties to the first allowed mask in :func:`regretlab.lsd.models.action_masks` order)."""
    where = "dp_opt"
    T = check_int("T", T, low=1, where=where)
    nX = inst.n_states ** inst.k
    if nX > DP_MAX_STATES:
        raise ParamError(where, "inst", f"an instance with n_states^k <= {DP_MAX_STATES} joint states (exact DP "
                         "is for tiny instances)", f"{inst.n_states}^{inst.k} = {nX}")
    from ._kernels import dp_backward, dp_schedule

    acts = np.array(action_masks(inst), np.uint8)
    V, pol = dp_backward(inst.payoff, inst.next_play, inst.next_idle, acts, T, schedule)
    x0 = joint_index(inst)
    sched = dp_schedule(inst.payoff, inst.next_play, inst.next_idle, acts, pol, x0) if schedule else None
    return OptResult(float(V[x0]), sched, V)


def long_run_rate(inst: Instance, *, tol: float = 1e-9, max_iters: int = 100_000, mix: float = 0.5):
    """Bounds (lower, upper) on rho*, the optimal long-run reward per round (spec §5: the maximum mean cycle of
    the joint-state graph), by value iteration on the aperiodic transform with span bounds (kernel
    :func:`regretlab.lsd._kernels.gain_bounds`); iterates until upper - lower <= tol or max_iters. rho* does
    not depend on the start (every joint state is reachable from every other within tau_max rounds)."""
    where = "long_run_rate"
    tol = check_float("tol", tol, low=0.0, low_open=True, where=where)
    max_iters = check_int("max_iters", max_iters, low=1, where=where)
    mix = check_float("mix", mix, low=0.0, high=1.0, low_open=True, high_open=True, where=where)
    nX = inst.n_states ** inst.k
    if nX > DP_MAX_STATES:
        raise ParamError(where, "inst", f"an instance with n_states^k <= {DP_MAX_STATES} joint states",
                         f"{inst.n_states}^{inst.k} = {nX}")
    from ._kernels import gain_bounds

    acts = np.array(action_masks(inst), np.uint8)
    lo, hi, _ = gain_bounds(inst.payoff, inst.next_play, inst.next_idle, acts, max_iters, mix, tol)
    return float(lo), float(hi)


@dataclass(frozen=True)
class Cycle:
    """A cycle of the joint-state graph: ``masks[j]`` (uint8, (L, k)) is played in joint state ``states[j]``
    and leads to ``states[(j + 1) % L]``; ``rate`` = its mean reward per round (= rho* from
    :func:`max_mean_cycle`)."""

    rate: float
    states: np.ndarray
    masks: np.ndarray

    @property
    def length(self) -> int:
        return int(len(self.states))


def _edge_reward(inst: Instance, x: int, mask: np.ndarray) -> float:
    """Sum of the means of the arms that ``mask`` plays in joint state x."""
    return float(inst.payoff[np.arange(inst.k), joint_cols(inst, x)][mask.astype(bool)].sum())


def max_mean_cycle(inst: Instance) -> Cycle:
    """rho*, the optimal long-run reward per round, exactly, and a simple cycle of joint states attaining it
    (spec §5, §7.5 ``max_mean_cycle``): Karp's theorem (R. M. Karp, "A characterization of the minimum cycle
    mean in a digraph", Discrete Math. 23, 1978, Thm 1) on the joint-state graph, every state included (after
    tau_max rounds, 2 tau_max for LSD, every state is reachable, spec §13). The cycle is read off the walk
    of |X| edges that attains Karp's maximum: that walk is split into simple cycles and the best is kept, whose
    mean equals rho* (Chaturvedi and McConnell, "A note on finding minimum mean cycle", IPL 127, 2017; the
    code checks it and raises if not). Repeating the cycle gives a periodic schedule with long-run rate rho*
    (:func:`regretlab.lsd.periodic.cycle_schedule`). For |X| <= KARP_MAX_STATES; O(|X|^2 #actions k) time."""
    where = "max_mean_cycle"
    nX = inst.n_states ** inst.k
    if nX > KARP_MAX_STATES:
        raise ParamError(where, "inst", f"an instance with n_states^k <= {KARP_MAX_STATES} joint states (use "
                         "long_run_rate for bounds on larger ones)", f"{inst.n_states}^{inst.k} = {nX}")
    from ._kernels import karp_tables

    acts = np.array(action_masks(inst), np.uint8)
    rho, x, _, pred = karp_tables(inst.payoff, inst.next_play, inst.next_idle, acts)
    nA = len(acts)
    nodes = np.empty(nX + 1, np.int64)
    edge = np.empty(nX, np.int64)
    nodes[nX] = x
    for j in range(nX, 0, -1):
        nodes[j - 1], edge[j - 1] = divmod(int(pred[j, nodes[j]]), nA)
    best = None
    stack, stack_edges, pos = [int(nodes[0])], [], {int(nodes[0]): 0}
    for j in range(1, nX + 1):
        stack_edges.append(int(edge[j - 1]))
        v = int(nodes[j])
        if v not in pos:
            pos[v] = len(stack)
            stack.append(v)
            continue
        p = pos[v]
        states, masks = stack[p:], acts[stack_edges[p:]]
        mean = sum(_edge_reward(inst, s, m) for s, m in zip(states, masks)) / len(states)
        if best is None or mean > best.rate:
            best = Cycle(mean, np.array(states, np.int64), masks.copy())
        for u in stack[p + 1:]:
            del pos[u]
        del stack[p + 1:], stack_edges[p:]
    if best is None or best.rate < rho - 1e-9 * max(1.0, abs(rho)):
        raise RuntimeError(f"max_mean_cycle: no cycle on Karp's walk reaches rho* = {rho!r} (best "
                           f"{None if best is None else best.rate!r}); please report this instance")
    return Cycle(float(rho), best.states, best.masks)
