"""Throughput of reward learning from preferences: (rows x Adam iterations) per second.

Workload: the 10x10 delivery board of [KNOX-TMLR] (92 start states, 2574 distinct length-3 segments), B
datasets of N labelled pairs (stochastic regret labels), learned with

- ``regret``: the regret model's logit with V_w by successor features over a 100-policy Pi_SF (soft max,
  T = 0.001) -- per iteration the soft max over (policies x states named by the rows) plus the rows;
- ``partial_return``: plain logistic regression on feature differences (identical rows merged first, so N
  rows shrink to a few hundred; the unit counts the rows before merging, as a user sees them).

Entries: ``numba`` (prange over datasets, every core), ``numpy`` (datasets batched, the same operations in
the same order: bit-identical), ``cupy`` (the NumPy code on a GPU, only when one is present), and
``reference`` (plain Python, the oracle; a few iterations, scaled). Ratios are measured in the same
process; best of 3 after a warm-up call (compilation excluded, cached on disk). No PyPI package fits
these models (the authors' code is PyTorch research code): no peer row.

Hardware floor (stated, not measured): a row costs F + J = 10 multiply-adds for the logit, one exp, one
log1p and ~10 multiply-adds for the gradient; vectorised (AVX-512, 8 doubles) that is ~2-4 ns per row
and iteration per core. Our loops are scalar on purpose: the portable exp/log1p of
:mod:`regretlab.core.detmath` and the left-to-right sums are what make the three backends agree bit for
bit.

Run from the repository root::

    python benchmarks/preference.py [--quick] [--out bench-results/preference.json]
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
from _common import best_of, cpu_backends, machine, write_json


def _problem(N, B):
    from regretlab.preference import learning as L
    from regretlab.preference.domain import delivery_mdp
    from regretlab.preference.models import label_pairs, preference_logit
    from regretlab.preference.segments import enumerate_segments, sample_pairs

    m = delivery_mdp()
    segs = enumerate_segments(m, 3)
    rng = np.random.default_rng(0)
    psi = L.successor_features(m, L.policy_set(m, rng, values=L.SF_VALUES_DELIVERY))
    data = []
    for _ in range(B):
        pairs = sample_pairs(segs.n, N, rng)
        data.append((pairs, label_pairs(preference_logit("regret", segs, pairs, m.w_true, m), "stochastic", rng)))
    return segs, psi, data, L.init_weights(rng, B, 6)


def _fit(model, segs, psi, data, w0, iters, backend):
    from regretlab.preference import learning as L

    rows = [L.preference_rows(model, segs, p, y) for p, y in data]
    return lambda: L.fit(rows, psi if model == "regret" else None, w0=w0, iterations=iters, backend=backend)



def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    ap.add_argument("--out", default="bench-results/preference.json", help="JSON output file")
    args = ap.parse_args(argv)
    backends, sync = cpu_backends()
    sizes = [(300, 2, 200), (3000, 2, 100)] if args.quick else [(300, 8, 500), (3000, 8, 200), (30000, 2, 50)]
    rows = []
    for model in ("regret", "partial_return"):
        for N, B, iters in sizes:
            segs, psi, data, w0 = _problem(N, B)
            res = {}
            for be in backends:
                t = best_of(_fit(model, segs, psi, data, w0, iters, be), sync=sync if be == "cupy" else None)
                res[be] = N * B * iters / t
            it_ref = 2
            t = best_of(_fit(model, segs, psi, data[:1], w0[:1], it_ref, "python"), repeat=1)
            res["reference"] = N * it_ref / t
            rows.append({"model": model, "N": N, "datasets": B, "iterations": iters,
                         "unit": "row x iteration", "per_second": res})
    names = backends + ["reference"]
    cores = machine()["numba_threads"]
    print(f"{'model':15} {'N':>6} {'B':>3} " + " ".join(f"{n:>12}" for n in names)
          + "  numba/numpy  numba/ref  ns/row-iter/core")
    for r in rows:
        ps = r["per_second"]
        print(f"{r['model']:15} {r['N']:>6} {r['datasets']:>3} " + " ".join(f"{ps[n]:>12.3e}" for n in names)
              + f"  {ps['numba'] / ps['numpy']:>11.1f}  {ps['numba'] / ps['reference']:>9.0f}"
              + f"  {1e9 * cores / ps['numba']:>16.1f}")
    payload = {"benchmark": "preference", "quick": args.quick, "machine": machine(), "rows": rows}
    write_json(payload, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
