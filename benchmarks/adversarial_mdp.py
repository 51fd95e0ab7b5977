"""Throughput of the adversarial-linear-MDP simulator: episodes per second of Algorithm 1 vs d and A.

Workload: [DLWZ23] Algorithm 1 (``alg1``: per-state log-barrier FTRL, exact-simulator covariance, loss
estimator, dilated bonus; :func:`regretlab.adversarial_mdp.simulate`) on the spec's random linear MDP with
H = 3 layers and 3 states per layer, ``stochastic_gap`` losses, R = 16 replicates, sweeping the feature
dimension d (A = 3) and the number of actions A (d = 6). Unit: replicate x episode.

Entries: ``numba`` (replicates in ``prange``, every core), ``numpy`` (vectorised over the replicates, the
same operations in the same order: bit-identical), ``cupy`` (the NumPy code on the GPU, only when one is
present; timed after a device synchronisation), ``reference`` (plain Python, the oracle; one replicate,
few episodes). Ratios are against NumPy measured in the same process. No PyPI package implements these
algorithms (the papers publish no code): no peer row. Best of 3 runs after a warm-up call (compilation
excluded; the numba kernels are cached on disk).

Hardware floor (stated, not measured): per episode and layer the work is the covariance (n A d^2
multiply-adds), its Cholesky factor (d^3 / 3), the estimator and bonus solves (n A d^2) and the per-state
log-barrier Newton solves (~5-10 iterations of O(A)); printed as ``flops/ep``. At d = 6, A = 3 that is
~3e3 flops per episode, i.e. ~1 us per episode per core at a few scalar GFlop/s, which is where the
Numba kernel is; at large d the d^2 / d^3 terms dominate and the floor is the FMA rate of a core
(~16-32 GFlop/s with AVX2/AVX-512). The kernel's loops are scalar and index-ordered on purpose, the
price of bit-identical backends; a BLAS call per layer would not pay off at d <= 32 per replicate.

A second table times the simulator-free ``alg3_reconstructed`` (Numba epoch kernel vs its plain-Python
reference; it has no NumPy path): per episode one trajectory and the mixture's expected loss, per epoch the
empirical covariance, the estimator and the bonus regression.

Run from the repository root::

    python benchmarks/adversarial_mdp.py [--quick] [--out bench-results/adversarial_mdp.json]

or ``regretlab bench adversarial_mdp [--quick]``.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
from _common import best_of, cpu_backends, machine, write_json

H, WIDTH, R = 3, 3, 16



def _runner(backend, A, d, K, reps, alg="alg1"):
    from regretlab.adversarial_mdp import adversary, algorithm_spec, linear_mdp, simulate
    from regretlab.adversarial_mdp.instances import loss_key

    mdp = linear_mdp(H, WIDTH, A, d, 0)
    adv = adversary("stochastic_gap", H, d, K, 1)
    spec = algorithm_spec(alg, K, A, d, H, c_eta=4.0, c_beta=1e-3)
    keys = np.arange(reps, dtype=np.uint64) + np.uint64(1)
    lk = np.array([loss_key(0, r) for r in range(reps)], dtype=np.uint64)
    return lambda: simulate(mdp, adv, spec, K, [K], keys, lk, backend=backend)


def _flops(A, d):
    n = WIDTH
    return H * (2 * n * A * d * d + d**3 / 3 + 2 * n * A * d * d + 8 * 4 * n * A)



def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    ap.add_argument("--out", default="bench-results/adversarial_mdp.json", help="JSON output file")
    args = ap.parse_args(argv)
    backends, sync = cpu_backends()
    if args.quick:
        sizes = [(3, 6), (3, 16), (8, 6)]
        k_fast, k_np, k_ref = 500, 40, 5
    else:
        sizes = [(3, 4), (3, 6), (3, 10), (3, 16), (3, 32), (2, 6), (4, 6), (8, 6), (16, 6)]
        k_fast, k_np, k_ref = 5000, 200, 20
    rows = []
    for A, d in sizes:
        res = {}
        for be in backends:
            K = k_fast if be == "numba" else k_np
            res[be] = R * K / best_of(_runner(be, A, d, K, R), sync=sync if be == "cupy" else None)
        res["reference"] = k_ref / best_of(_runner("python", A, d, k_ref, 1), repeat=1)
        rows.append({"A": A, "d": d, "H": H, "width": WIDTH, "replicates": R, "unit": "replicate x episode",
                     "flops_per_episode": _flops(A, d), "per_second": res})

    names = backends + ["reference"]
    cores = machine()["numba_threads"]
    print(f"{'A':>3} {'d':>3} " + " ".join(f"{n:>12}" for n in names) + "  numba/numpy  numba/ref"
          + ("  cupy/numpy" if "cupy" in backends else "") + "  us/ep/core  flops/ep  GFlop/s/core")
    for r in rows:
        ps = r["per_second"]
        line = f"{r['A']:>3} {r['d']:>3} " + " ".join(f"{ps[n]:>12.3e}" for n in names)
        line += f"  {ps['numba'] / ps['numpy']:>11.1f}  {ps['numba'] / ps['reference']:>9.0f}"
        if "cupy" in backends:
            line += f"  {ps['cupy'] / ps['numpy']:>10.1f}"
        us = 1e6 * cores / ps["numba"]
        line += f"  {us:>10.2f}  {r['flops_per_episode']:>8.0f}  {r['flops_per_episode'] / us / 1e3:>12.2f}"
        print(line)
    # the simulator-free alg3_reconstructed: its own epoch kernel (Numba) and Python reference, no NumPy path
    alg3 = []
    for A, d in sizes[:2] if args.quick else [(3, 6), (3, 16), (8, 6)]:
        fast = R * k_fast / best_of(_runner("numba", A, d, k_fast, R, "alg3_reconstructed"))
        slow = 4 * k_ref / best_of(_runner("python", A, d, 4 * k_ref, 1, "alg3_reconstructed"), repeat=1)
        alg3.append({"A": A, "d": d, "H": H, "width": WIDTH, "replicates": R, "unit": "replicate x episode",
                     "algorithm": "alg3_reconstructed", "per_second": {"numba": fast, "reference": slow}})
    print("\nalg3_reconstructed (simulator-free: trajectories, and per epoch of ceil(K^(1/3)) episodes the "
          "empirical covariance and the bonus regression)")
    print(f"{'A':>3} {'d':>3} {'numba':>12} {'reference':>12}  numba/ref  us/ep/core  vs alg1 numba")
    for r in alg3:
        ps = r["per_second"]
        a1 = next(x["per_second"]["numba"] for x in rows if (x["A"], x["d"]) == (r["A"], r["d"]))
        print(f"{r['A']:>3} {r['d']:>3} {ps['numba']:>12.3e} {ps['reference']:>12.3e}"
              f"  {ps['numba'] / ps['reference']:>9.0f}  {1e6 * cores / ps['numba']:>10.2f}"
              f"  {ps['numba'] / a1:>13.1f}x")
    rows += alg3
    payload = {"benchmark": "adversarial_mdp", "quick": args.quick, "machine": machine(), "rows": rows}
    write_json(payload, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
