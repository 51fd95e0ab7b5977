"""Throughput of the STARC / EPIC / DARD distances: reward pairs per second, batched against per pair.

Workload (the same for every entry): for |S| in {16, 64, 256}, |A| = 4, gamma = 0.95, one random
environment of the STARC protocol (:func:`regretlab.starc.protocol.random_env`, sparse transitions) and
B random reward pairs from the protocol's mixture (:func:`regretlab.starc.protocol.random_reward`).
Distances timed:

- ``STARC-VAL``: C_VAL (uniform pi0), tau-weighted L2 norm and metric (the spec's default, §6);
- ``minimal L2``: the minimal canonicalisation for the unweighted L2 norm (closed form), L2 norm and metric;
- ``EPIC``: the Pearson distance of C_EPIC; ``DARD``: the Pearson distance of C_DARD.

Entries:

- ``pairwise_distances`` (:mod:`regretlab.starc.distances`), one batched call for all B pairs, NumPy
  (the CPU path; backend "numba" is the same code), and CuPy when a GPU is present (timer stops after
  a device synchronisation; a warm-up call first);
- ``per-pair API loop``: a Python loop over the pairs calling the single-pair functions
  (``starc_distance`` / ``epic_distance`` / ``dard_distance``) -- what a user without the batch
  function writes;
- ``reference`` (:mod:`regretlab.starc.reference`): the plain-loop NumPy oracle, pair by pair. Its
  loops are O(S^3)-O(S^5) in Python, so it runs only where one pair is estimated (from |S| = 16) to fit
  the time budget; elsewhere the row says so.

Every entry is the best of 3 runs (one run when a run exceeds the budget); loops time as many pairs as
fit the budget in 3 runs (at least one pair) and report pairs per second. The EPIC / DARD batched calls
also compute one STARC-style distance of C_EPIC / C_DARD (``pairwise_distances`` returns the Pearson
distances alongside a (canon, norm, metric) grid; norm "none", metric L2 is the cheapest). Ratios are
against the per-pair loop and the reference measured in the same run. No PyPI package implements these
tabular distances (EPIC's code, HumanCompatibleAI/evaluating-rewards, is not on PyPI): no peer row.

Run from the repository root::

    python benchmarks/starc.py [--quick] [--out bench-results/starc.json] [--sizes 16 64 256]

or ``regretlab bench starc [--quick]``. The table goes to stdout, the numbers to a JSON file.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

GAMMA = 0.95
N_ACTIONS = 4
METRICS = {  # name -> (pairwise_distances keywords, result key, single-pair call)
    "STARC-VAL": (dict(canons=["val"], norms=["w_l2"], metrics=["w_l2"]), ("val", "w_l2", "w_l2")),
    "minimal L2": (dict(canons=["minimal_l2"], norms=["l2"], metrics=["l2"]), ("minimal_l2", "l2", "l2")),
    "EPIC": (dict(canons=["epic"], norms=["none"], metrics=["l2"]), ("epic_pearson", None, None)),
    "DARD": (dict(canons=["dard"], norms=["none"], metrics=["l2"]), ("dard_pearson", None, None)),
}
# reference cost per pair ~ t(16) * (S / 16)**k, measured: val ~S^3, EPIC / DARD ~S^4, minimal L2 ~S^5.5
REF_EXPONENT = {"STARC-VAL": 3.0, "minimal L2": 5.5, "EPIC": 4.0, "DARD": 4.0}


def _pairs(S, B, seed=0):
    from regretlab.starc.protocol import random_env, random_reward

    rng = np.random.default_rng([seed, S])
    env = random_env(S, N_ACTIONS, GAMMA, rng)
    R1 = np.stack([random_reward(S, N_ACTIONS, rng, gamma=GAMMA) for _ in range(B)])
    R2 = np.stack([random_reward(S, N_ACTIONS, rng, gamma=GAMMA) for _ in range(B)])
    return env.tau, R1, R2


def _single(metric):
    from regretlab.starc.distances import dard_distance, epic_distance, starc_distance

    if metric == "EPIC":
        return lambda r1, r2, tau: epic_distance(r1, r2, GAMMA, backend="numpy")
    if metric == "DARD":
        return lambda r1, r2, tau: dard_distance(r1, r2, tau, GAMMA, backend="numpy")
    kw, key = METRICS[metric]
    return lambda r1, r2, tau: starc_distance(r1, r2, tau, GAMMA, canon=key[0], norm=key[1], metric=key[2],
                                              backend="numpy")


def _reference(metric):
    from regretlab.starc import reference as ref

    if metric == "EPIC":
        return lambda r1, r2, tau: ref.epic_distance(r1, r2, GAMMA)
    if metric == "DARD":
        return lambda r1, r2, tau: ref.dard_distance(r1, r2, tau, GAMMA)
    _, key = METRICS[metric]
    return lambda r1, r2, tau: ref.starc_distance(r1, r2, tau, GAMMA, key[0], key[1], key[2])


def _near_trivial(tau, R1, R2):
    """Pairs with a near-trivial reward (protocol.ordering_ratio < NEAR_TRIVIAL): their distances depend
    on each implementation's zero threshold for trivial rewards."""
    from regretlab.starc.protocol import NEAR_TRIVIAL, ordering_ratio

    return (ordering_ratio(R1, tau, GAMMA) < NEAR_TRIVIAL) | (ordering_ratio(R2, tau, GAMMA) < NEAR_TRIVIAL)


def _best_of(fn, repeat, budget, sync=None):
    """Best wall-clock time of fn() over ``repeat`` runs (fewer when a run exceeds ``budget``)."""
    best, out, runs = float("inf"), None, 0
    for _ in range(repeat):
        if sync:
            sync()
        t0 = time.perf_counter()
        out = fn()
        if sync:
            sync()
        dt = time.perf_counter() - t0
        best, runs = min(best, dt), runs + 1
        if dt > budget:
            break
    return best, out, runs


def _batched(tau, R1, R2, kw, key, backend):
    """A zero-argument call of pairwise_distances returning the distances of ``key``."""
    from regretlab.starc.distances import pairwise_distances

    return lambda: pairwise_distances(R1, R2, tau, GAMMA, backend=backend, **kw)[key]


def _loop_entry(call, tau, R1, R2, budget, repeat):
    """Time a per-pair loop on as many pairs as fit ``budget`` in ``repeat`` runs (>= 1 pair);
    returns (seconds of the best run, pairs, runs, distances)."""
    t0 = time.perf_counter()
    first = call(R1[0], R2[0], tau)
    t1 = time.perf_counter() - t0
    n = int(max(1, min(R1.shape[0], budget / repeat / max(t1, 1e-9))))

    def run():
        return np.array([call(R1[b], R2[b], tau) for b in range(n)])

    if n == 1 and t1 > budget:
        return t1, 1, 1, np.array([first])
    sec, d, runs = _best_of(run, repeat, budget)
    return sec, n, runs, d


def _row(S, metric, impl, pairs, seconds, runs, note="", status="ok"):
    return {"n_states": S, "n_actions": N_ACTIONS, "metric": metric, "implementation": impl, "pairs": pairs,
            "seconds": seconds, "runs": runs, "pairs_per_s": (pairs / seconds) if seconds else None,
            "status": status, "note": note}


def _machine():
    import numpy

    try:
        import scipy

        sp = scipy.__version__
    except ImportError:  # pragma: no cover
        sp = None
    return {"cpu": platform.processor() or platform.machine(), "logical_cpus": os.cpu_count(),
            "python": platform.python_version(), "numpy": numpy.__version__, "scipy": sp,
            "platform": platform.platform()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="benchmarks/starc.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small batches and budgets: a smoke run, not a measurement")
    ap.add_argument("--out", default="bench-results/starc.json", help="JSON output file")
    ap.add_argument("--sizes", type=int, nargs="+", default=[16, 64, 256], help="numbers of states |S|")
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds per loop entry (default 2 with --quick, else 15)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per entry; the fastest is reported")
    args = ap.parse_args(argv)

    from regretlab.core.backends import cupy_available
    from regretlab.starc.distances import pairwise_distances

    try:
        import regretlab.starc.reference  # noqa: F401

        have_ref = True
    except ImportError:
        have_ref = False
    budget = args.budget if args.budget is not None else (2.0 if args.quick else 15.0)
    batch = {16: 256, 64: 64, 256: 8} if args.quick else {16: 4096, 64: 1024, 256: 64}
    gpu = cupy_available()
    print(f"starc benchmark: |A| = {N_ACTIONS}, gamma = {GAMMA}, protocol rewards; {_machine()['cpu']}, "
          f"{os.cpu_count()} logical CPUs; GPU: {'yes' if gpu else 'no'}; loop budget {budget:g} s"
          + ("  [--quick: smoke sizes]" if args.quick else ""), flush=True)

    rows = []
    ref16 = {}
    for S in args.sizes:
        B = batch.get(S, max(8, 2**20 // (S * S * N_ACTIONS)))
        tau, R1, R2 = _pairs(S, B)
        for metric, (kw, key) in METRICS.items():
            print(f"  |S| = {S:4d}  {metric:10s} B = {B:5d} ...", end="", flush=True)
            pairwise_distances(R1[:2], R2[:2], tau, GAMMA, backend="numpy", **kw)  # imports, first-call setup
            sec, out, runs = _best_of(_batched(tau, R1, R2, kw, key, "numpy"), args.repeat, 10 * budget)
            batched = out
            rows.append(_row(S, metric, "pairwise_distances (numpy)", B, sec, runs))
            print(f" batched {B / sec:10.0f} pairs/s", end="", flush=True)
            if gpu:
                from regretlab.core.backends import get_cupy

                cp = get_cupy()
                sync = cp.cuda.Stream.null.synchronize
                pairwise_distances(R1[:2], R2[:2], tau, GAMMA, backend="cupy", **kw)
                sec, out, runs = _best_of(_batched(tau, R1, R2, kw, key, "cupy"), args.repeat, 10 * budget,
                                          sync=sync)
                err = float(np.max(np.abs(np.asarray(out) - batched)))
                rows.append(_row(S, metric, "pairwise_distances (cupy)", B, sec, runs,
                                 note=f"max |cupy - numpy| = {err:.1e}"))
                print(f" | cupy {B / sec:10.0f}", end="", flush=True)
            sec, n, runs, d = _loop_entry(_single(metric), tau, R1, R2, budget, args.repeat)
            err = float(np.max(np.abs(d - batched[:n])))
            rows.append(_row(S, metric, "per-pair API loop", n, sec, runs, note=f"max |loop - batched| = {err:.1e}"))
            print(f" | loop {n / sec:9.1f}", end="", flush=True)
            if not have_ref:
                rows.append(_row(S, metric, "reference (plain loops)", 0, None, 0, status="regretlab.starc.reference "
                                 "not available"))
            else:
                est = ref16.get(metric, 0.0) * (S / 16) ** REF_EXPONENT[metric] if S > 16 else 0.0
                if S > 16 and (metric not in ref16 or est > budget):
                    why = (f"skipped: about {est:.0f} s per pair (Python loops ~S^{REF_EXPONENT[metric]:g})"
                           if metric in ref16 else "skipped: no |S| = 16 calibration")
                    rows.append(_row(S, metric, "reference (plain loops)", 0, None, 0, status=why))
                    print(" | reference skipped", flush=True)
                else:
                    sec, n, runs, d = _loop_entry(_reference(metric), tau, R1, R2, budget, 1)
                    if S == 16:
                        ref16[metric] = sec / n
                    gap = np.abs(d - batched[:n])
                    note = f"max |reference - batched| = {float(gap.max()):.1e}"
                    near = _near_trivial(tau, R1[:n], R2[:n])
                    if near.any():  # zero-threshold conventions differ on near-trivial rewards
                        rest = float(gap[~near].max()) if (~near).any() else 0.0
                        note += f" ({rest:.1e} without the {int(near.sum())} pairs with a near-trivial reward)"
                    rows.append(_row(S, metric, "reference (plain loops)", n, sec, runs, note=note))
                    print(f" | reference {n / sec:9.2f}", flush=True)

    # ratios against the per-pair loop and the reference of the same size and metric
    baselines = (("per-pair API loop", "speedup_vs_loop"), ("reference (plain loops)", "speedup_vs_reference"))
    for r in rows:
        peers = {x["implementation"]: x for x in rows if (x["n_states"], x["metric"]) == (r["n_states"], r["metric"])}
        for name, tag in baselines:
            p = peers.get(name)
            ok = r["pairs_per_s"] and p and p["pairs_per_s"]
            r[tag] = (r["pairs_per_s"] / p["pairs_per_s"]) if ok else None

    print()
    head = (f"{'|S|':>5} {'metric':10} {'implementation':28} {'pairs':>6} {'pairs/s':>12} {'x loop':>9} "
            f"{'x ref':>9}  note")
    print(head)
    print("-" * len(head))
    for r in rows:
        pps = f"{r['pairs_per_s']:12.1f}" if r["pairs_per_s"] else f"{'-':>12}"
        xl = f"{r['speedup_vs_loop']:9.1f}" if r["speedup_vs_loop"] else f"{'-':>9}"
        xr = f"{r['speedup_vs_reference']:9.1f}" if r["speedup_vs_reference"] else f"{'-':>9}"
        note = r["note"] if r["status"] == "ok" else r["status"]
        print(f"{r['n_states']:5d} {r['metric']:10} {r['implementation']:28} {r['pairs']:6d} {pps} {xl} {xr}  {note}")

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": "starc", "unit": "reward pairs per second", "gamma": GAMMA, "n_actions": N_ACTIONS,
               "quick": args.quick, "budget_s": budget, "repeat": args.repeat, "gpu": gpu, "machine": _machine(),
               "argv": sys.argv[1:] if argv is None else list(argv), "rows": rows}
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
