"""Throughput of the mass-balance simulations: (trials x vocabulary x steps) token updates per second.

Workloads (seeded logits of [BroRL] Sec. 4.1, m = V / 12.8 correct tokens as at the paper's size):

- ``one_step``: the Theorem-1 kernel (:func:`regretlab.mass_balance.one_step`): per trial N draws, the
  three terms, eqs. (U)-(P) and the exact softmax change -- about 6 passes over V. Unit: trial x token.
- ``train``: the Figure-3 simulator (:func:`regretlab.mass_balance.simulate_training`): per step and trial
  a softmax with its CDF, N draws, the counts-form gradient and a fused AdamW update. Unit: trial x
  token x step.

Entries: ``numba`` (parallel over trials, every core), ``numpy`` (trials x vocabulary batches, same
operations and order, bit-identical), ``cupy`` (the NumPy code on the GPU, only when one is present;
timed after a device synchronisation), ``reference`` (plain Python, the oracle; a small workload,
scaled). Ratios are against NumPy measured in the same process. No PyPI package simulates this model
(the paper's simulator is not public): no peer row. Best of 3 runs after a warm-up call (compilation
excluded; the numba kernels are cached on disk).

Hardware floor (stated, not measured): the inner loops are compute-bound (8 float64 arrays of V per
trial stay in L2/L3 up to V ~ 30k, L3 at 128k). A vectorised AVX-512 loop would spend ~1 ns per token on
exp and ~1-2 ns on the AdamW divide / sqrt, i.e. ~2-3 ns per token-step per core. Our kernels are
scalar on purpose: the portable exp (:mod:`regretlab.core.detmath`) and index-order sums are what make
Numba, NumPy and the reference agree bit for bit, and LLVM does not vectorise an ordered float sum.

Run from the repository root::

    python benchmarks/mass_balance.py [--quick] [--out bench-results/mass_balance.json]

or ``regretlab bench mass_balance [--quick]``.
"""
from __future__ import annotations

import argparse
import sys

from _common import best_of, cpu_backends, machine, write_json


def _instance(V):
    from regretlab.mass_balance import logits_instance

    return logits_instance("seeded", V, max(1, int(V / 12.8)))


def _run_one_step(backend, V, N, R):
    from regretlab.mass_balance import one_step

    z, c = _instance(V)
    return lambda: one_step(z, c, N, trials=R, seed=0, backend=backend)


def _run_train(backend, V, N, R, steps):
    from regretlab.mass_balance import simulate_training

    z, c = _instance(V)
    return lambda: simulate_training(z, c, N, steps, trials=R, seed=0, record_every=steps, backend=backend)



def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    ap.add_argument("--out", default="bench-results/mass_balance.json", help="JSON output file")
    args = ap.parse_args(argv)
    backends, sync = cpu_backends()
    if args.quick:
        one = [(2000, 8, 200), (20000, 512, 50)]
        train = [(20000, 16, 2, 10), (20000, 4096, 2, 10)]
    else:
        one = [(2000, 8, 2000), (128000, 8, 200), (128000, 512, 200), (128000, 51200, 50)]
        train = [(20000, 16, 8, 20), (128000, 16, 8, 20), (128000, 512, 8, 20), (128000, 51200, 8, 20)]
    rows = []
    for V, N, R in one:
        res = {}
        for be in backends:
            res[be] = R * V / best_of(_run_one_step(be, V, N, R), sync=sync if be == "cupy" else None)
        r_ref = max(1, min(R, 4))
        res["reference"] = r_ref * V / best_of(_run_one_step("python", V, N, r_ref), repeat=1)
        rows.append({"workload": "one_step", "V": V, "N": N, "trials": R, "steps": 1, "unit": "trial x token",
                     "per_second": res})
    for V, N, R, steps in train:
        res = {}
        for be in backends:
            res[be] = R * V * steps / best_of(_run_train(be, V, N, R, steps), sync=sync if be == "cupy" else None)
        s_ref = 2
        res["reference"] = V * s_ref / best_of(_run_train("python", V, N, 1, s_ref), repeat=1)
        rows.append({"workload": "train", "V": V, "N": N, "trials": R, "steps": steps,
                     "unit": "trial x token x step", "per_second": res})

    names = backends + ["reference"]
    print(f"{'workload':9} {'V':>7} {'N':>6} {'trials':>6} " + " ".join(f"{n:>14}" for n in names)
          + "  numba/numpy  numba/ref" + ("  cupy/numpy" if "cupy" in backends else "")
          + "  ns/update/core")
    cores = machine()["numba_threads"]
    for r in rows:
        ps = r["per_second"]
        line = f"{r['workload']:9} {r['V']:>7} {r['N']:>6} {r['trials']:>6} " + \
            " ".join(f"{ps[n]:>14.3e}" for n in names)
        line += f"  {ps['numba'] / ps['numpy']:>11.1f}  {ps['numba'] / ps['reference']:>9.0f}"
        if "cupy" in backends:
            line += f"  {ps['cupy'] / ps['numpy']:>10.1f}"
        line += f"  {1e9 * cores / ps['numba']:>14.1f}"
        print(line)
    payload = {"benchmark": "mass_balance", "quick": args.quick, "machine": machine(), "rows": rows}
    write_json(payload, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
