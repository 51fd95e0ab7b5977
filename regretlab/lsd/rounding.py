"""LP-rounding planners for recharging and LSD bandits (spec §7.1-§7.4); m = 1, and m > 1 for the offset rounding.

Every planner here is a *plan*: per seed row a small parameter set drawn once from the LP solution (periods,
offsets, request probabilities), run for any horizon by one Numba kernel (:func:`run_plan`) that also scores
it, with a plain-Python twin in :func:`regretlab.lsd.reference.run_requests` (bit-identical, tested). The
planners, with the guarantee each implementation actually has (proved in the spec, checked by the tests):

- ``pcs_offset_rounding_reconstructed`` (recharging; our reconstruction of [PCS22]'s "randomized LP rounding
  with interleaved scheduling", their exact procedure UNCONFIRMED). From LP 6.1's x with q_i = sum_d x[i, d] /
  d: independently per arm draw a period tau_i = d with probability x[i, d] (none with the remaining mass) and
  an offset r_i uniform in {0..tau_i - 1}; arm i requests round t iff (t - r_i) mod tau_i == 0; one requester
  plays, chosen by the contention rule (``fair`` or ``uniform``, :mod:`regretlab.lsd.contention`).
  Guarantee (``fair``, idling allowed, start at delay tau_max, non-decreasing p): for every T,
  E[ALG(T)] >= (1 - prod_j (1 - q_j)) / sum_j q_j * T * LP* >= (1 - 1/e) T LP*.
  With m > 1 plays per round (LP 6.1 with sum x / d <= m) a uniformly random subset of min(m, |R_t|)
  requesters plays (``crs="uniform"`` is required: the fair rule selects one arm). No proved bound: the
  correlation-gap constant c_m = 1 - e^-m m^m / m! bounds the expected number of served requests, not each
  arm's share ([PCS22]'s m > 1 constant UNCONFIRMED); :func:`c_m` gives it for the plots, and ratios are
  reported as measured.
- ``lsd_mirroring_rounding_reconstructed`` (LSD; the spec's rendering of [FGPZ23]'s "mirroring the evolution
  of virtual states", the paper's exact algorithm and constant UNCONFIRMED). From LP 6.2's x over block types:
  per arm draw a type (a, b) with probability x[i, (a, b)] (play-forever with x[i, inf], none with the rest)
  and an offset r_i uniform in {0..a + b - 1}; the arm's *virtual* schedule wants round t iff (t - r_i) mod
  (a + b) < a (every round for play-forever), q_i = sum x[i, (a, b)] a / (a + b) + x[i, inf]; the wanting arms
  contend as above. Mirroring lemma: actual plays are a subset of virtual plays, so the actual state stays at
  least the virtual one in the signed order (tested round by round). Guarantee (``fair``, idling allowed,
  start +tau_max, ``monotone_full`` payoffs): E[ALG(T)] >= (1 - 1/e) T LP* for every T.
- ``ki_independent_rounding`` (recharging, [KI18]-style; that [KI18] present exactly this is UNCONFIRMED): with
  z_i = sum_d x[i, d] / d, every round plays arm i with probability z_i (one categorical draw, idle with
  1 - sum z). For concave p with p(0) = 0, E f(G) >= f(1/z) E min(1, zG) >= (1 - 1/e) f(1/z): rate >= (1 - 1/e)
  LP*.
- ``ki_interleaved_rounding_reconstructed`` (our rendering of [KI18]'s "interleaved rounding"; their exact
  procedure and PTAS UNCONFIRMED): due times u_i = U_i / z_i, U_i uniform in [0, 1); each round the earliest
  due arm among those with u_i <= t plays and moves 1 / z_i later. No proved bound.
- ``pow2_periodic`` (recharging; our heuristic, not from the papers, spec §7.4): from the vertex LP solution,
  each arm with sum_d x[i, d] >= 1/2 gets the period 2^ceil(log2 argmax_d x[i, d]); while sum 1/P_i > 1 the arm
  with the smallest p_i(P_i) / P_i is dropped; offsets are assigned greedily in increasing period order
  (powers of two with density <= 1 never collide). Deterministic; no bound.

Without idling (``idle_allowed=False``) a round nobody requested plays a filler: an arm inactive in the plan
first, then the highest current mean, then the lowest index. Filler plays are outside the proofs (no
guarantee; reported as a variant).

Randomness: row b's plan draws come from ``SeedSequence(seed, spawn_key=(cell, b, 1))`` and its per-round
selection uniforms and reward noise from the counter key of ``SeedSequence(seed, spawn_key=(cell, b))``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from regretlab.core.validate import ParamError, check_array, check_choice, check_float, check_int

from .contention import RULES
from .models import Instance
from .relaxations import block_types
from .simulate import NOISES, Scores

__all__ = ["PLANNERS", "Plan", "c_m", "RunResult", "plan_rounding", "run_plan", "request_probabilities",
           "pcs_offset_rounding_reconstructed", "lsd_mirroring_rounding_reconstructed", "ki_independent_rounding",
           "ki_interleaved_rounding_reconstructed", "pow2_periodic", "virtual_lsd_states"]

#: planner -> the model it applies to
PLANNERS = {
    "pcs_offset_rounding_reconstructed": "recharging",
    "lsd_mirroring_rounding_reconstructed": "lsd",
    "ki_independent_rounding": "recharging",
    "ki_interleaved_rounding_reconstructed": "recharging",
    "pow2_periodic": "recharging",
}
_MODE_FAIR, _MODE_UNIFORM, _MODE_INDEPENDENT, _MODE_INTERLEAVED = 0, 1, 2, 3


@dataclass(frozen=True)
class Plan:
    """A planner's per-row parameters (n_rows, k): requests ``period`` > 0 / ``width`` / ``offset`` (modes 0-1),
    probabilities ``q`` (request probabilities, or the frequencies z of modes 2-3), ``phase`` (mode 3)."""

    method: str
    mode: int
    period: np.ndarray
    width: np.ndarray
    offset: np.ndarray
    q: np.ndarray
    phase: np.ndarray

    @property
    def n_rows(self) -> int:
        return int(self.q.shape[0])


@dataclass(frozen=True)
class RunResult:
    """scores: as :func:`regretlab.lsd.score` returns; final_cols: (B, k) final state columns; masks: (B, T, k)
    when stored; stats: (counts, sums) (B, k, n_states) of the realised rewards when collected."""

    scores: Scores
    final_cols: np.ndarray
    masks: np.ndarray | None = None
    stats: tuple | None = None


def c_m(m: int) -> float:
    """1 - e^{-m} m^m / m! = E[min(1, m / (1 + N))], N ~ Poisson(m): the correlation gap of the m-uniform
    matroid (spec §7.1; c_1 = 1 - 1/e)."""
    m = check_int("m", m, low=1, where="c_m")
    return 1.0 - math.exp(-m + m * math.log(m) - math.lgamma(m + 1))


def request_probabilities(x) -> np.ndarray:
    """q_i = sum_d x[i, d] / d for an LP 6.1 solution x (k, tau_max)."""
    x = np.asarray(x, float)
    return (x / np.arange(1, x.shape[1] + 1)).sum(axis=1)


def _rng(seed, cell, b):
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(cell, b, 1)))


def _type_probs(x, where):
    mass = x.sum(axis=1)
    if np.any(mass > 1 + 1e-7):
        raise ParamError(where, "x", "an LP point with sum_c x[i, c] <= 1 for every arm", mass)
    probs = np.concatenate([x, np.maximum(1.0 - mass, 0.0)[:, None]], axis=1)
    return probs / probs.sum(axis=1, keepdims=True)


def _zeros(n, k):
    return np.zeros((n, k), np.int64), np.ones((n, k), np.int64), np.zeros((n, k), np.int64), np.zeros((n, k))


def plan_rounding(inst: Instance, method: str, n_rows: int, *, x=None, crs: str = "fair", seed: int = 0,
                  cell: int = 0) -> Plan:
    """Draw the plans of ``n_rows`` seed rows of a planner (module docstring) from the LP solution x (solved
    here when not given: LP 6.1 for recharging, 6.2 for LSD)."""
    where = "plan_rounding"
    method = check_choice("method", method, tuple(PLANNERS), where=where)
    if inst.kind != PLANNERS[method]:
        raise ParamError(where, "inst", f"a {PLANNERS[method]} instance for {method}", inst.kind)
    n = check_int("n_rows", n_rows, low=1, where=where)
    crs = check_choice("crs", crs, RULES, where=where)
    if inst.m != 1 and method != "pcs_offset_rounding_reconstructed":
        raise ParamError(where, "inst.m", f"1 for {method} (only pcs_offset_rounding_reconstructed takes m > 1)",
                         inst.m)
    if inst.m != 1 and crs != "uniform":
        raise ParamError(where, "crs", "uniform for m > 1 (fair contention resolution picks one arm; with m > 1 "
                         "a uniformly random m-subset of the requesters plays)", crs)
    k, tau = inst.k, inst.tau_max
    if x is None:
        from .relaxations import lp_value

        x = lp_value(inst).x
    ncol = tau if inst.kind == "recharging" else tau * tau + 1
    x = check_array("x", x, shape=(k, ncol), low=0.0, where=where)
    period, width, offset, phase = _zeros(n, k)
    mode = RULES.index(crs)
    if method in ("pcs_offset_rounding_reconstructed", "lsd_mirroring_rounding_reconstructed"):
        probs = _type_probs(x, where)
        if inst.kind == "recharging":
            lengths = np.arange(1, tau + 1)
            wid = np.ones(tau, np.int64)
            q = request_probabilities(x)
        else:
            types = block_types(tau)
            lengths = np.array([a + b if a else 1 for a, b in types])
            wid = np.array([a if a else 1 for a, _ in types])
            q = x @ (wid / lengths)
        for b in range(n):
            rng = _rng(seed, cell, b)
            c = np.array([rng.choice(ncol + 1, p=probs[i]) for i in range(k)])
            active = c < ncol
            cc = np.minimum(c, ncol - 1)
            period[b] = np.where(active, lengths[cc], 0)
            width[b] = wid[cc]
            offset[b] = np.where(active, np.floor(rng.random(k) * lengths[cc]).astype(np.int64), 0)
        return Plan(method, mode, period, width, offset, np.tile(q, (n, 1)), phase.astype(float))
    if method == "pow2_periodic":
        P, off = _pow2(inst, x)
        period[:] = P
        offset[:] = off
        return Plan(method, _MODE_FAIR, period, width, offset, np.tile((P > 0).astype(float), (n, 1)), phase)
    z = request_probabilities(x)
    if z.sum() > 1 + 1e-7:
        raise ParamError(where, "x", "an LP 6.1 point with sum_i z_i = sum_{i,d} x[i, d] / d <= 1", z.sum())
    z = z / max(1.0, z.sum())
    if method == "ki_independent_rounding":
        return Plan(method, _MODE_INDEPENDENT, period, width, offset, np.tile(z, (n, 1)), phase)
    ph = np.stack([_rng(seed, cell, b).random(k) for b in range(n)])
    return Plan(method, _MODE_INTERLEAVED, period, width, offset, np.tile(z, (n, 1)), ph)


def _pow2(inst: Instance, x):
    """Periods and offsets of :func:`pow2_periodic` (module docstring); period 0 = never played."""
    k, tau = inst.k, inst.tau_max
    P = np.zeros(k, np.int64)
    for i in range(k):
        if x[i].sum() >= 0.5:
            d = int(np.argmax(x[i])) + 1
            P[i] = 1 << math.ceil(math.log2(d))
    rate = lambda i: inst.payoff[i, min(P[i], tau) - 1] / P[i]     # noqa: E731  (capped delay)
    while (P > 0).any() and sum(1.0 / P[P > 0]) > 1 + 1e-12:
        act = np.flatnonzero(P > 0)
        P[act[np.argmin([rate(i) for i in act])]] = 0
    off = np.zeros(k, np.int64)
    taken: list[tuple[int, int]] = []
    for i in sorted(np.flatnonzero(P > 0), key=lambda i: (P[i], i)):
        o = next(o for o in range(P[i]) if all(o % Pj != oj for Pj, oj in taken))
        off[i] = o
        taken.append((int(P[i]), o))
    return P, off


def run_plan(inst: Instance, plan: Plan, T: int, *, noise: str = "none", sigma: float = 0.1, seed: int = 0,
             cell: int = 0, checkpoints=None, store: bool = False, t0: int = 0, start=None, payoff=None,
             collect: bool = False, keys=None) -> RunResult:
    """Run and score a plan's rows for rounds t0 .. t0 + T - 1 (the Numba kernel
    :func:`regretlab.lsd._kernels.run_requests`).

    start: (B, k) start columns (default the instance's); payoff: (k, n_states) the means the rewards are
    drawn from (default the instance's; a learner's plan is drawn from estimates but earns the true means).
    checkpoints: round counts in 1..T after t0. collect: also return per-(arm, state) counts and reward sums.
    keys: (B,) uint64 counter keys of the rows (default those of ``(seed, cell)``, rows 0..B-1).
    """
    where = "run_plan"
    T = check_int("T", T, low=1, where=where)
    t0 = check_int("t0", t0, low=0, where=where)
    noise = check_choice("noise", noise, NOISES, where=where)
    sigma = check_float("sigma", sigma, low=0.0, where=where)
    B, k = plan.q.shape
    if k != inst.k:
        raise ParamError(where, "plan", f"a plan for k = {inst.k} arms", k)
    start = np.tile(inst.init, (B, 1)) if start is None else start
    start = check_array("start", start, shape=(B, k), dtype=np.int64, low=0, high=inst.n_states - 1, where=where)
    pay = inst.payoff if payoff is None else check_array("payoff", payoff, shape=inst.payoff.shape, low=0.0,
                                                          high=1.0, where=where)
    ck = np.array([T]) if checkpoints is None else checkpoints
    ck = check_array("checkpoints", ck, ndim=1, dtype=np.int64, low=1, high=T, where=where)
    if ck.size == 0 or np.any(np.diff(ck) <= 0):
        raise ParamError(where, "checkpoints", "a non-empty strictly increasing list of rounds in [1, T]", ck)
    from regretlab.core.seeding import counter_keys

    from ._kernels import run_requests

    if keys is None:
        keys = counter_keys(check_int("seed", seed, low=0, where=where), check_int("cell", cell, low=0, where=where),
                            B)
    keys = check_array("keys", keys, shape=(B,), dtype=np.uint64, where=where)
    shape = (B, k, inst.n_states) if collect else (0, 0, 0)
    cnt, sums = np.zeros(shape), np.zeros(shape)
    mc, oc, fin, masks = run_requests(pay[None], np.zeros(B, np.int64), start, inst.next_play, inst.next_idle,
                                      plan.mode, plan.period, plan.width, plan.offset, plan.q, plan.phase,
                                      inst.idle_allowed, inst.m, t0, T, NOISES.index(noise), sigma, keys, ck, store,
                                      collect, cnt, sums)
    return RunResult(Scores(mc, oc, inst.labels(fin), ck), fin, masks if store else None,
                     (cnt, sums) if collect else None)


def _schedules(method, inst, T, n_seeds, x, crs, seed, cell):
    T = check_int("T", T, low=1, where=method)
    plan = plan_rounding(inst, method, n_seeds, x=x, crs=crs, seed=seed, cell=cell)
    return run_plan(inst, plan, T, seed=seed, cell=cell, store=True).masks


def pcs_offset_rounding_reconstructed(inst: Instance, T: int, n_seeds: int, *, x=None, crs: str = "fair",
                                      seed: int = 0, cell: int = 0) -> np.ndarray:
    """(n_seeds, T, k) schedules of the [PCS22]-style offset rounding (module docstring)."""
    return _schedules("pcs_offset_rounding_reconstructed", inst, T, n_seeds, x, crs, seed, cell)


def lsd_mirroring_rounding_reconstructed(inst: Instance, T: int, n_seeds: int, *, x=None, crs: str = "fair",
                                         seed: int = 0, cell: int = 0) -> np.ndarray:
    """(n_seeds, T, k) schedules of the mirroring rounding for LSD instances (module docstring)."""
    return _schedules("lsd_mirroring_rounding_reconstructed", inst, T, n_seeds, x, crs, seed, cell)


def ki_independent_rounding(inst: Instance, T: int, n_seeds: int, *, x=None, seed: int = 0,
                            cell: int = 0) -> np.ndarray:
    """(n_seeds, T, k) schedules of independent rounding (module docstring)."""
    return _schedules("ki_independent_rounding", inst, T, n_seeds, x, "fair", seed, cell)


def ki_interleaved_rounding_reconstructed(inst: Instance, T: int, n_seeds: int, *, x=None, seed: int = 0,
                                          cell: int = 0) -> np.ndarray:
    """(n_seeds, T, k) schedules of interleaved rounding (module docstring)."""
    return _schedules("ki_interleaved_rounding_reconstructed", inst, T, n_seeds, x, "fair", seed, cell)


def pow2_periodic(inst: Instance, T: int, *, x=None) -> np.ndarray:
    """(T, k) schedule of the power-of-two periodic heuristic (module docstring)."""
    return _schedules("pow2_periodic", inst, T, 1, x, "fair", 0, 0)[0]


def virtual_lsd_states(plan: Plan, tau_max: int, T: int) -> np.ndarray:
    """(B, T, k) virtual signed states of a mirroring plan at the start of each round (spec §7.2): in phase
    ph = (t - r) mod (a + b) of type (a, b) the state is +b at ph = 0, -min(ph, tau) for 1 <= ph <= a, and
    +(ph - a) during the rest; play-forever arms -tau_max; 0 marks an arm without a type."""
    t = np.arange(T)[None, :, None]
    per, wid, off = (v[:, None, :] for v in (plan.period, plan.width, plan.offset))
    ph = (t - off) % np.maximum(per, 1)
    b = per - wid
    out = np.where(ph == 0, b, np.where(ph <= wid, -np.minimum(ph, tau_max), ph - wid))
    out = np.where(per == 1, -tau_max, out)
    return np.where(per == 0, 0, out)
