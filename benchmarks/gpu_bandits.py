"""GPU throughput of the stochastic-bandit simulator: pulls per second, CuPy kernel vs Numba on all cores.

Workload: K = 10 Bernoulli arms with means linspace(0.1, 0.9, 10), horizon T = 10,000, policies ucb1
and ts_beta; the GPU runs 1e3, 1e4 and 1e5 replicates, the Numba kernel (all CPU cores, same process)
a smaller replicate count; both are normalised per pull (replicates x T). Compilation is warmed up
before timing, generator states are drawn outside the timers, and the GPU timer stops only after
``cupy.cuda.Stream.null.synchronize()``. Each row is the best of ``--repeat`` runs.

Run from the repository root::

    PYTHONPATH=. python benchmarks/gpu_bandits.py --out gpu_bandits.json

Without CuPy or a CUDA device it prints why and exits with status 0.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import numpy as np


def _best_time(fn, repeat, sync=None):
    best = float("inf")
    out = None
    for _ in range(repeat):
        if sync is not None:
            sync()
        t0 = time.perf_counter()
        out = fn()
        if sync is not None:
            sync()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=None, help="write the results as JSON to this file")
    ap.add_argument("--horizon", type=int, default=10_000)
    ap.add_argument("--arms", type=int, default=10)
    ap.add_argument("--replicates", type=int, nargs="+", default=[1_000, 10_000, 100_000],
                    help="GPU replicate counts")
    ap.add_argument("--cpu-replicates", type=int, default=None,
                    help="Numba replicate count (default: 32 per CPU thread)")
    ap.add_argument("--policies", nargs="+", default=["ucb1", "ts_beta"])
    ap.add_argument("--repeat", type=int, default=2, help="runs per row; the fastest is reported")
    args = ap.parse_args(argv)

    from regretlab.core.backends import cupy_available

    if not cupy_available():
        print("gpu_bandits: no GPU (CuPy missing or no CUDA device); nothing to measure.")
        return 0

    import numba

    from regretlab.bandits import simulate
    from regretlab.core import rng
    from regretlab.core.backends import get_cupy

    cp = get_cupy()
    sync = cp.cuda.Stream.null.synchronize
    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    device = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    threads = numba.get_num_threads()
    cpu_R = args.cpu_replicates or 32 * threads
    K, T = args.arms, args.horizon
    means = np.linspace(0.1, 0.9, K)
    max_R = max(args.replicates + [cpu_R])
    print(f"device: {device}; CPU: {platform.processor() or platform.machine()}, {threads} Numba threads")
    print(f"drawing {max_R} generator states ...", flush=True)
    states = rng.replicate_states(0, 0, max_R)

    def run(policy, backend, R, horizon=T):
        return simulate(means, policy, horizon, states=states[:R], backend=backend)

    for policy in args.policies:  # warm-up: Numba compilation and NVRTC compilation, not timed
        run(policy, "numba", min(cpu_R, 64), 50)
        run(policy, "cupy", 256, 50)
        sync()

    rows = []
    for policy in args.policies:
        sec, out = _best_time(lambda p=policy: run(p, "numba", cpu_R), args.repeat)
        assert out["counts"].sum() == cpu_R * T
        cpu_rate = cpu_R * T / sec
        rows.append({"policy": policy, "backend": "numba", "device": f"{threads} CPU threads",
                     "replicates": cpu_R, "horizon": T, "arms": K, "seconds": sec,
                     "pulls_per_s": cpu_rate, "ratio_vs_numba": 1.0})
        for R in args.replicates:
            sec, out = _best_time(lambda p=policy, r=R: run(p, "cupy", r), args.repeat, sync=sync)
            assert out["counts"].sum() == R * T
            rate = R * T / sec
            rows.append({"policy": policy, "backend": "cupy", "device": device, "replicates": R,
                         "horizon": T, "arms": K, "seconds": sec, "pulls_per_s": rate,
                         "ratio_vs_numba": rate / cpu_rate})

    head = f"{'policy':<8} {'backend':<7} {'replicates':>10} {'seconds':>9} {'pulls/s':>11} {'vs numba':>9}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['policy']:<8} {r['backend']:<7} {r['replicates']:>10d} {r['seconds']:>9.3f} "
              f"{r['pulls_per_s']:>11.3e} {r['ratio_vs_numba']:>8.1f}x")

    if args.out:
        meta = {"benchmark": "gpu_bandits", "gpu": device, "cpu_threads": threads,
                "python": platform.python_version(), "numpy": np.__version__, "numba": numba.__version__,
                "cupy": cp.__version__, "means": means.tolist(), "family": "bernoulli",
                "repeat": args.repeat, "rows": rows}
        with open(args.out, "w") as f:
            json.dump(meta, f, indent=2)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
