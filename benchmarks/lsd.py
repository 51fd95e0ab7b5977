"""Throughput of the recharging / LSD bandit tools: schedule scoring, the LP relaxations and the exact DP.

Workloads (:mod:`regretlab.lsd`, spec specs/lsd-recharging-bandits.md):

- ``score``: schedule evaluations. B random feasible schedules of T rounds (uniform actions, -1 = idle,
  through :func:`regretlab.lsd.as_masks`) on one random instance, ``random_recharging(k, 10, "monotone")``
  (idling allowed, 10 states) or ``random_lsd(k, 10, "monotone_full")`` (exactly one play a round, 20
  states), k in {3, 5, 10}, T = 1000, B = 2000, noise ``none`` and ``bernoulli``. Unit: schedule x round.
- ``lp``: the spec-§6 relaxations in cvxpy + HiGHS (:mod:`regretlab.lsd.relaxations`): ``lp_recharging``
  (k tau variables), ``lp_occupation`` on both models (2 k n_states variables) and ``lp_lsd_cycles`` (k
  (tau^2 + 1) variables) for k in {2, 5, 10, 20, 50}, tau_max = 10. Unit: seconds per solve, median of 3
  after a warm-up, problem construction and cvxpy canonicalisation included; the HiGHS share is
  ``prob.solver_stats.solve_time``, read by wrapping ``cvxpy.Problem.solve`` inside this process (no
  change to regretlab).
- ``dp``: :func:`regretlab.lsd.dp_opt` (backward induction over the n_states^k joint states, optimal
  schedule kept) for a few tiny instances, T = 200. Unit: joint state x round.
- ``rounding``: the planners' kernel, :func:`regretlab.lsd.rounding.run_plan` (B plan rows of the offset
  rounding on the recharging instance, of the mirroring rounding on the LSD one, idling allowed; requests,
  fair or uniform contention and scoring per round, rows in ``prange``) vs its plain-Python twin
  :func:`regretlab.lsd.reference.run_requests` (a few rows; the schedules are checked equal first). This is
  the hot loop of the ratio and learning experiments. Unit: plan row x round.
- ``lp_fast``: the model LP through scipy's HiGHS dual simplex directly (:func:`regretlab.lsd.relaxations.
  lp_fast`, used by the learners that re-solve it per replicate and epoch) vs the cvxpy formulation
  (:func:`~regretlab.lsd.relaxations.lp_value`); equal values checked first. Unit: seconds per solve.

Entries of ``score``: ``numba`` (:func:`regretlab.lsd.score`, end to end: schedule validation, per-row
counter keys, the kernel with schedules in ``prange``, every core), ``numpy`` (written here: a loop over
the rounds, vectorised over the B schedules through the instance's payoff table and ``next_play`` /
``next_idle`` column maps, the same counter-based Bernoulli uniforms; checked against ``score`` before
timing: equal values to 1e-9, in practice bit for bit), ``reference`` (the plain-Python oracle
:func:`regretlab.lsd.reference.score_schedule`, a few schedules), and, as columns, ``kernel ns`` (the
private Numba kernel behind ``score`` called alone on the validated masks, per schedule-round and core;
``n/a`` if its signature has changed) and ``outside %``, the share of ``score``'s time spent outside it
(schedule validation, ``SeedSequence`` keys). Ratios are against NumPy measured in the same process. The
DP and the LPs have no second implementation here. No PyPI package implements recharging or LSD bandits
(the papers' code, where public, is not packaged): no peer row. There is no GPU path in
:mod:`regretlab.lsd`: no CuPy entry. Best of 3 runs after a warm-up call (compilation excluded; the numba
kernels are cached on disk), except the LPs (median of 3).

Hardware floor (stated, not measured): per schedule-round the kernel reads k mask bytes and does k
column-map lookups (``next_play`` / ``next_idle``, L1-resident) and, per play (at most one here), one
payoff lookup and two adds; under Bernoulli noise one SplitMix64 counter uniform per play (3 multiplies,
~15 cycles of latency, overlapped with the next round). Counted as ~5 instructions per arm at ~3-4 per
cycle, that is ~1.5 k cycles, plus about one mispredicted branch per round (~15 cycles: which arm plays is
random): ~20 cycles (~7 ns at 2.8 GHz) for k = 3, ~30 (~11 ns) for k = 10, per core. Measured
(``kernel ns``, T = 1000, B = 2000): ~15, 18 and 24 ns per schedule-round for k = 3, 5 and 10 on one
thread, i.e. ~31 cycles a round plus ~3.6 an arm, 2-2.5x the count; on 2 threads ~16-22, 20-28 and 27-37
ns per core on this shared 2-core VM (another process took part of a core during the runs), 2-3.5x the
count. The gap: the per-arm ``if mask`` branch and the state array ``st`` (a heap array of runtime length
k, so every update is a store and a reload), the checkpoint test and the noise switch every round. On an
idle machine the 2 threads scale per core (``prange`` over schedules, nothing shared). ``score`` end to
end is 5-10x slower than its kernel at B = 2000, T = 1000 (``outside %`` 80-90): validating the (B, T, k)
masks (an int64 copy, a sum over arms, range checks) and deriving B counter keys from ``SeedSequence``
(~15-30 us a row) cost more than the scoring, which is why the NumPy loop, unvalidated, beats ``score``
without noise. The DP does 2 k 64-bit integer divisions per (joint state, action) (the mixed-radix digits
``x // n^a % n`` are recomputed for every action), ~10 cycles each at throughput: ~60-100 cycles, 22-35
ns, which is what ``ns/state-action`` shows; it runs on one thread.

Run from the repository root::

    python benchmarks/lsd.py [--quick] [--out bench-results/lsd.json]

or ``regretlab bench lsd [--quick]``.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import time

import numpy as np
from _common import best_of, machine, write_json

TAU = 10


def _instance(kind, k, tau=TAU, seed=None):
    from regretlab.lsd import random_lsd, random_recharging

    seed = k if seed is None else seed
    if kind == "recharging":
        return random_recharging(k, tau, "monotone", rng=seed)
    return random_lsd(k, tau, "monotone_full", rng=seed)


def _schedules(inst, B, T, seed):
    from regretlab.lsd import as_masks

    low = -1 if inst.idle_allowed else 0
    acts = np.random.default_rng(seed).integers(low, inst.k, (B, T))
    return as_masks(inst, acts)


def numpy_score(inst, masks, noise="none", seed=0, cell=0):
    """(sum of means, realised sum, final columns) of B schedules (B, T, k): a loop over rounds, vectorised
    over schedules; the same counter-based uniforms as :func:`regretlab.lsd.score` (counter 2 (t k + a)),
    keys derived only under noise."""
    from regretlab.core.detmath import counter_uniforms
    from regretlab.core.seeding import counter_keys

    B, T, k = masks.shape
    nS = inst.n_states
    mt = np.ascontiguousarray(masks.transpose(1, 0, 2)).view(np.bool_)   # (T, B, k), one round contiguous
    flat_pay = inst.payoff.ravel()
    arm_off = np.arange(k) * nS
    nxt = np.concatenate([inst.next_idle, inst.next_play])              # [idle | play] column map
    st = np.repeat(inst.init[None].astype(np.int64), B, axis=0)         # (B, k) state columns
    cm = np.zeros(B)
    co = np.zeros(B)
    keys = counter_keys(seed, cell, B) if noise == "bernoulli" else None
    for t in range(T):
        mk = mt[t]
        mu = flat_pay.take(st + arm_off)
        cm += np.where(mk, mu, 0.0).sum(axis=1)   # m = 1: one non-zero term, so the same sum as the kernel
        if keys is not None:
            b, a = np.nonzero(mk)
            u = counter_uniforms(keys[b], 2 * (t * k + a))
            co += np.bincount(b, weights=(u < mu[b, a]).astype(np.float64), minlength=B)
        st = nxt.take(st + nS * mk)
    if keys is None:
        co = cm.copy()
    return cm, co, st


def _kernel(inst, masks, noise, keys):
    """(a call of the private Numba kernel behind ``score`` on already validated inputs, its values), with the
    arguments ``score`` passes at the time of writing; None when that call fails (the kernel changed)."""
    try:
        from regretlab.lsd._kernels import score_schedules
        from regretlab.lsd.simulate import NOISES

        B, T, _ = masks.shape
        empty = np.zeros((0, 0, 0))
        args = (inst.payoff[None], inst.init[None].astype(np.int64), inst.next_play, inst.next_idle,
                np.zeros(B, np.int64), masks, NOISES.index(noise), 0.1, keys, np.array([T]), False, empty, empty)
        return (lambda: score_schedules(*args)), score_schedules(*args)[0][:, -1]
    except Exception:   # any mismatch just drops the kernel column
        return None


def _score_row(kind, k, noise, B, T, n_ref):
    from regretlab.core.seeding import counter_keys
    from regretlab.lsd import score
    from regretlab.lsd.reference import score_schedule

    inst = _instance(kind, k)
    masks = _schedules(inst, B, T, 100 + k)
    got = score(inst, masks, noise=noise)
    cm, co, st = numpy_score(inst, masks, noise)
    diff = float(max(np.abs(cm - got.value).max(), np.abs(co - got.obs_cum[:, -1]).max()))
    if diff > 1e-9 or not np.array_equal(inst.labels(st), got.final):
        raise RuntimeError(f"numpy_score disagrees with score ({kind}, k = {k}, {noise}): {diff:.3g}")
    keys = counter_keys(0, 0, B)
    for b in range(n_ref):
        rm, ro, _ = score_schedule(inst, masks[b], noise, key=int(keys[b]))
        if abs(rm - got.value[b]) > 1e-9 or abs(ro - got.obs_cum[b, -1]) > 1e-9:
            raise RuntimeError(f"reference disagrees with score ({kind}, k = {k}, {noise}, row {b})")

    sec = {"numba": best_of(lambda: score(inst, masks, noise=noise)),
           "numpy": best_of(lambda: numpy_score(inst, masks, noise)),
           "reference": best_of(lambda: [score_schedule(inst, masks[b], noise, key=int(keys[b]))
                                         for b in range(n_ref)], repeat=1)}
    kern = _kernel(inst, masks, noise, keys)
    kernel_s = best_of(kern[0]) if kern is not None and np.array_equal(kern[1], got.value) else None
    work = {"numba": B * T, "numpy": B * T, "reference": n_ref * T}
    return {"workload": "score", "kind": kind, "k": k, "n_states": inst.n_states, "T": T, "B": B,
            "noise": noise, "reference_schedules": n_ref, "unit": "schedule x round",
            "per_second": {n: work[n] / sec[n] for n in sec}, "score_s": sec["numba"],
            "kernel_s": kernel_s, "max_abs_diff_numpy": diff}


@contextlib.contextmanager
def _highs_times():
    """Collects ``solver_stats.solve_time`` of every ``cvxpy.Problem.solve`` call made inside the block."""
    import cvxpy as cp

    times = []
    orig = cp.Problem.solve

    def solve(self, *a, **kw):
        out = orig(self, *a, **kw)
        times.append(self.solver_stats.solve_time)
        return out

    cp.Problem.solve = solve
    try:
        yield times
    finally:
        cp.Problem.solve = orig


def _lp_row(name, kind, k, repeat=3):
    from regretlab.lsd import relaxations

    fn = getattr(relaxations, name)
    inst = _instance(kind, k)
    res = fn(inst)   # warm-up (imports, cvxpy caches)
    total = []
    with _highs_times() as highs:
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn(inst)
            total.append(time.perf_counter() - t0)
    solve = [t for t in highs if t is not None]
    return {"workload": "lp", "lp": name, "kind": kind, "k": k, "tau_max": inst.tau_max,
            "variables": int(res.x.size), "value": res.value, "unit": "seconds per solve",
            "total_s": float(np.median(total)), "highs_s": float(np.median(solve)) if solve else None}


def _rounding_row(kind, k, crs, B, T, n_ref):
    """The rounding kernel (run_plan: plan rows in prange, contention, scoring) vs its plain-Python twin."""
    from regretlab.core.seeding import counter_keys
    from regretlab.lsd import reference
    from regretlab.lsd.relaxations import lp_value
    from regretlab.lsd.rounding import plan_rounding, run_plan

    inst = _instance(kind, k).with_(idle_allowed=True)
    method = "pcs_offset_rounding_reconstructed" if kind == "recharging" else "lsd_mirroring_rounding_reconstructed"
    plan = plan_rounding(inst, method, B, x=lp_value(inst).x, crs=crs, seed=1)
    keys = counter_keys(1, 0, B)
    got = run_plan(inst, plan, T, keys=keys, store=True)

    def ref():
        return [reference.run_requests(inst, plan.mode, plan.period[b], plan.width[b], plan.offset[b], plan.q[b],
                                       plan.phase[b], T, int(keys[b])) for b in range(n_ref)]

    if not np.array_equal(np.array(ref(), np.uint8), got.masks[:n_ref]):
        raise RuntimeError(f"reference.run_requests disagrees with run_plan ({kind}, k = {k}, {crs})")
    sec = {"numba": best_of(lambda: run_plan(inst, plan, T, keys=keys)), "reference": best_of(ref, repeat=1)}
    work = {"numba": B * T, "reference": n_ref * T}
    return {"workload": "rounding", "method": method, "crs": crs, "kind": kind, "k": k, "T": T, "B": B,
            "reference_rows": n_ref, "unit": "plan row x round", "per_second": {n: work[n] / sec[n] for n in sec}}


def _lp_fast_row(kind, k, repeat=5):
    """lp_fast (scipy HiGHS dual simplex on the same LP, no cvxpy) vs lp_value (cvxpy + HiGHS)."""
    from regretlab.lsd.relaxations import lp_fast, lp_value

    inst = _instance(kind, k)
    a, b = lp_fast(inst), lp_value(inst)
    if abs(a.value - b.value) > 1e-7:
        raise RuntimeError(f"lp_fast disagrees with lp_value ({kind}, k = {k}): {a.value} vs {b.value}")
    t_fast = [best_of(lambda: lp_fast(inst), repeat=1) for _ in range(repeat)]
    t_cvx = [best_of(lambda: lp_value(inst), repeat=1) for _ in range(repeat)]
    return {"workload": "lp_fast", "kind": kind, "k": k, "unit": "seconds per solve",
            "lp_fast_s": float(np.median(t_fast)), "cvxpy_s": float(np.median(t_cvx))}


def _dp_row(kind, k, tau, T):
    from regretlab.lsd import action_masks, dp_opt

    inst = _instance(kind, k, tau, seed=0)
    n_x, n_a = inst.n_states ** k, len(action_masks(inst))
    sec = best_of(lambda: dp_opt(inst, T))
    return {"workload": "dp", "kind": kind, "k": k, "tau_max": tau, "joint_states": n_x, "actions": n_a, "T": T,
            "unit": "joint state x round", "seconds": sec, "per_second": n_x * T / sec}


def _karp_row(kind, k, tau):
    """rho* by Karp's maximum mean cycle (exact) against value iteration to a bracket of width 1e-9."""
    from regretlab.lsd import action_masks
    from regretlab.lsd.simulate import long_run_rate, max_mean_cycle

    inst = _instance(kind, k, tau, seed=0)
    n_x, n_a = inst.n_states ** k, len(action_masks(inst))
    sec = best_of(lambda: max_mean_cycle(inst), repeat=2)
    vi = best_of(lambda: long_run_rate(inst), repeat=2)
    return {"workload": "karp", "kind": kind, "k": k, "tau_max": tau, "joint_states": n_x, "actions": n_a,
            "unit": "seconds per rho*", "karp_s": sec, "value_iteration_s": vi,
            "ns_per_edge_step": 1e9 * sec / (n_x * n_x * n_a)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    ap.add_argument("--out", default="bench-results/lsd.json", help="JSON output file")
    args = ap.parse_args(argv)
    if args.quick:
        ks, B, T, n_ref = (3, 10), 500, 200, 2
        lp_ks = (2, 10)
        dps, T_dp = [("recharging", 3, 6), ("lsd", 3, 6)], 50
        karps = [("recharging", 3, 4), ("lsd", 2, 6)]
    else:
        ks, B, T, n_ref = (3, 5, 10), 2000, 1000, 5
        lp_ks = (2, 5, 10, 20, 50)
        dps, T_dp = [("recharging", 3, 6), ("recharging", 4, 5), ("recharging", 5, 8), ("lsd", 3, 6),
                     ("lsd", 4, 5), ("lsd", 4, 8)], 200
        karps = [("recharging", 3, 6), ("recharging", 5, 4), ("lsd", 3, 5), ("lsd", 4, 4)]
    rows = []
    for kind in ("recharging", "lsd"):
        for k in ks:
            for noise in ("none", "bernoulli"):
                rows.append(_score_row(kind, k, noise, B, T, n_ref))
    for name, kind in (("lp_recharging", "recharging"), ("lp_occupation", "recharging"),
                       ("lp_lsd_cycles", "lsd"), ("lp_occupation", "lsd")):
        for k in lp_ks:
            rows.append(_lp_row(name, kind, k))
    for kind, k, tau in dps:
        rows.append(_dp_row(kind, k, tau, T_dp))
    for kind, k, tau in karps:
        rows.append(_karp_row(kind, k, tau))
    for kind in ("recharging", "lsd"):
        for k in ks:
            for crs in ("fair", "uniform"):
                rows.append(_rounding_row(kind, k, crs, B, T, n_ref))
        for k in lp_ks:
            rows.append(_lp_fast_row(kind, k))

    cores = machine()["numba_threads"]
    names = ["numba", "numpy", "reference"]
    print(f"score: schedule x round per second (B = {B}, T = {T}; reference {n_ref} schedules)")
    print(f"{'kind':10} {'k':>3} {'nS':>3} {'noise':9} " + " ".join(f"{n:>10}" for n in names)
          + "  numba/numpy  numba/ref  outside %  ns/sr/core  kernel ns/sr/core")
    for r in (r for r in rows if r["workload"] == "score"):
        ps = r["per_second"]
        kern_s = r["kernel_s"]
        line = f"{r['kind']:10} {r['k']:>3} {r['n_states']:>3} {r['noise']:9} " + \
            " ".join(f"{ps[n]:>10.3e}" for n in names)
        line += f"  {ps['numba'] / ps['numpy']:>11.2f}  {ps['numba'] / ps['reference']:>9.0f}"
        line += f"  {100 * (1 - kern_s / r['score_s']):>9.0f}" if kern_s is not None else f"  {'n/a':>9}"
        line += f"  {1e9 * cores / ps['numba']:>10.1f}"
        line += f"  {1e9 * cores * kern_s / (r['B'] * r['T']):>17.1f}" if kern_s is not None else f"  {'n/a':>17}"
        print(line)
    print("\nlp: seconds per solve (median of 3; total = construction + cvxpy + HiGHS)")
    print(f"{'lp':14} {'kind':10} {'k':>3} {'vars':>6} {'total s':>9} {'HiGHS s':>9} {'HiGHS %':>8}")
    for r in (r for r in rows if r["workload"] == "lp"):
        hs = r["highs_s"]
        h = f"{hs:>9.4f} {100 * hs / r['total_s']:>8.0f}" if hs is not None else f"{'n/a':>9} {'':>8}"
        print(f"{r['lp']:14} {r['kind']:10} {r['k']:>3} {r['variables']:>6} {r['total_s']:>9.4f} {h}")
    print(f"\ndp: joint state x round per second (T = {T_dp}, one thread)")
    print(f"{'kind':10} {'k':>3} {'tau':>3} {'states':>7} {'|A|':>3} {'seconds':>9} {'per second':>11}"
          f" {'ns/state-action':>15}")
    for r in (r for r in rows if r["workload"] == "dp"):
        ns = 1e9 / (r["per_second"] * r["actions"])
        print(f"{r['kind']:10} {r['k']:>3} {r['tau_max']:>3} {r['joint_states']:>7} {r['actions']:>3}"
              f" {r['seconds']:>9.4f} {r['per_second']:>11.3e} {ns:>15.1f}")
    print("\nrho*: seconds, Karp's maximum mean cycle (exact; O(|X|^2 |A| k)) vs value iteration (bracket 1e-9)")
    print(f"{'kind':10} {'k':>3} {'tau':>3} {'states':>7} {'|A|':>3} {'karp s':>9} {'VI s':>9} {'ns/edge-step':>12}")
    for r in (r for r in rows if r["workload"] == "karp"):
        print(f"{r['kind']:10} {r['k']:>3} {r['tau_max']:>3} {r['joint_states']:>7} {r['actions']:>3}"
              f" {r['karp_s']:>9.4f} {r['value_iteration_s']:>9.4f} {r['ns_per_edge_step']:>12.2f}")
    print(f"\nrounding: plan row x round per second (run_plan, B = {B}, T = {T}; reference {n_ref} rows)")
    print(f"{'kind':10} {'k':>3} {'crs':8} {'numba':>10} {'reference':>10} {'numba/ref':>9} {'ns/row-round/core':>18}")
    for r in (r for r in rows if r["workload"] == "rounding"):
        ps = r["per_second"]
        print(f"{r['kind']:10} {r['k']:>3} {r['crs']:8} {ps['numba']:>10.3e} {ps['reference']:>10.3e}"
              f" {ps['numba'] / ps['reference']:>9.0f} {1e9 * cores / ps['numba']:>18.1f}")
    print("\nlp_fast: seconds per solve of the model LP (median of 5): scipy HiGHS dual simplex vs cvxpy + HiGHS")
    print(f"{'kind':10} {'k':>3} {'lp_fast s':>10} {'cvxpy s':>10} {'speed-up':>9}")
    for r in (r for r in rows if r["workload"] == "lp_fast"):
        print(f"{r['kind']:10} {r['k']:>3} {r['lp_fast_s']:>10.5f} {r['cvxpy_s']:>10.5f}"
              f" {r['cvxpy_s'] / r['lp_fast_s']:>9.1f}")
    payload = {"benchmark": "lsd", "quick": args.quick, "machine": machine(), "rows": rows}
    write_json(payload, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
