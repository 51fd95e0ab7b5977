"""Throughput of the stochastic-bandit simulator: pulls per second against its NumPy baseline and PyPI peers.

Problem (the same for every entry): K = 10 Bernoulli arms with means ``np.linspace(0.1, 0.9, 10)``,
horizon T = 10,000, policies UCB1 and Beta-Bernoulli Thompson sampling. Entries:

- regretlab, Numba kernel, 1 and 2 threads (``numba.set_num_threads``), 100 replicates, compiled by a
  warm-up call before timing, best of 3;
- regretlab, NumPy backend (one Python loop over rounds, every operation vectorised over the 100
  replicates; ``backend="numpy"``), the "NumPy reference" of DESIGN.md section 8;
- peers installed from PyPI, run the way their documentation runs a simulation: ``pymab`` (Rust core,
  ``Experiment(...).run()``), ``mabwiser`` (``MAB.predict`` / ``partial_fit`` per round, one ``MAB`` per
  replicate) and ``SMPyBandits`` (``Evaluator.startOneEnv``), the last one with two compatibility shims
  applied in this process only (see :func:`_smpybandits_shims`). Slow peers run fewer replicates; every
  throughput is per pull (replicates x T), so the figures compare.

Every timing is end to end, as a user runs it: from the call that starts the simulation to its result,
including each library's own set-up, bookkeeping and result objects (the peers' imports are done
before). Entries other than our Numba kernel are timed once, or best of 3 when one run takes under
2 s. The mean final pseudo-regret of each entry is printed next to it, to show that every
implementation solves the same problem (the policies' constants differ slightly; see README.md).

Run from the repository root::

    python benchmarks/bandits.py [--quick] [--out bench-results/bandits.json] [--skip-peers]

or ``regretlab bench bandits [--quick]``. The table goes to stdout, the numbers to a JSON file.
"""
# No ``from __future__ import annotations``: ``regretlab bench`` executes this file as a module that is not
# in ``sys.modules``, where dataclasses cannot resolve string annotations.
import argparse
import contextlib
import importlib.metadata
import importlib.util
import io
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

K = 10
MEANS = np.linspace(0.1, 0.9, K)
POLICIES = ("ucb1", "ts_beta")
INSTALL_HINT = "not installed (pip install regretlab[bench])"


@dataclass
class Entry:
    """One timed implementation x policy."""

    name: str
    policy: str
    replicates: int
    horizon: int
    seconds: float | None = None  # best wall-clock time of one run
    runs: int = 0
    regret: float | None = None  # mean pseudo-regret at the horizon
    status: str = "ok"
    note: str = ""
    peer: bool = False
    pulls_per_s: float | None = None
    ns_per_pull: float | None = None
    ours_numba2_over_this: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def pulls(self) -> int:
        return self.replicates * self.horizon


def _timed(fn, min_runs=1, max_runs=3, quick_s=2.0):
    """Best wall-clock time of ``fn()`` over ``min_runs`` runs, or up to ``max_runs`` while runs are quick."""
    best, out, runs = float("inf"), None, 0
    while runs < max_runs:
        t0 = time.perf_counter()
        res = fn()
        dt = time.perf_counter() - t0
        runs += 1
        if dt < best:
            best, out = dt, res
        if runs >= min_runs and dt >= quick_s:
            break
    return best, out, runs


# ---------------------------------------------------------------------------------------------------
# ours


def _ours(policy, R, T, backend, threads=None, seed=0):
    import numba

    from regretlab.bandits import simulate

    def run():
        out = simulate(MEANS, policy, T, R, seed=seed, backend=backend)
        return float(out["final_regret"].mean())

    if threads is None:
        return _timed(run, min_runs=1)
    old = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        simulate(MEANS, policy, 50, 2 * threads, seed=seed, backend="numba")  # compile / load the cache
        return _timed(run, min_runs=3)
    finally:
        numba.set_num_threads(old)


# ---------------------------------------------------------------------------------------------------
# peers


def _have(module):
    return importlib.util.find_spec(module) is not None


def _version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _pymab(policy, R, T, core_only=False, seed=0):
    from pymab import BanditEnvironment, BernoulliReward, Experiment, ExperimentConfig
    from pymab.policies import BernoulliThompsonSamplingPolicy, UCBPolicy

    def make():
        env = BanditEnvironment(means=MEANS.copy(), reward_model=BernoulliReward())
        # pymab's UCB index is mean + reward_scale * sqrt(c ln(t + 1) / N): c = 2 is UCB1
        pol = UCBPolicy(n_arms=K, c=2.0) if policy == "ucb1" else BernoulliThompsonSamplingPolicy(n_arms=K)
        cfg = ExperimentConfig(horizon=T, n_replicates=R, seed=seed, backend="rust")
        return Experiment(environment=env, policies={policy: pol}, config=cfg)

    if not core_only:
        def run():
            res = make().run()
            return float(res.cumulative_regret[-1, 0])

        return _timed(run, min_runs=1)

    from pymab._backend import run_native_experiment  # private: the Rust loop without the result object

    def run_core():
        ex = make()
        return run_native_experiment(environment=ex.environment, policies=ex.policies, horizon=T,
                                     n_replicates=R, seed=seed, reward_coupling=ex.config.reward_coupling,
                                     record_contexts=False)

    best, out, runs = _timed(run_core, min_runs=1)
    arm_means = np.asarray(out.arm_means, dtype=float)
    expected = np.asarray(out.expected_rewards, dtype=float)
    regret = (arm_means.max(axis=2)[..., None] - expected).sum(axis=1).mean()
    return best, float(regret), runs


def _mabwiser(policy, R, T, seed=0):
    from mabwiser.mab import MAB, LearningPolicy

    def run():
        regrets = []
        gaps = MEANS.max() - MEANS
        for r in range(R):
            env = np.random.default_rng([seed, r])
            if policy == "ucb1":  # mean + alpha sqrt(2 ln N / n_a); fitted on one pull of each arm first
                mab = MAB(arms=list(range(K)), learning_policy=LearningPolicy.UCB1(alpha=1.0), seed=r)
                first = list(range(K))
            else:  # Beta(1 + successes, 1 + failures) posteriors
                mab = MAB(arms=list(range(K)), learning_policy=LearningPolicy.ThompsonSampling(), seed=r)
                first = []
            mab.fit(decisions=first, rewards=[float(env.random() < MEANS[a]) for a in first])
            counts = np.zeros(K, dtype=np.int64)
            counts[first] += 1
            for _ in range(T - len(first)):
                a = mab.predict()
                mab.partial_fit(decisions=[a], rewards=[float(env.random() < MEANS[a])])
                counts[a] += 1
            regrets.append(counts @ gaps)
        return float(np.mean(regrets))

    return _timed(run, min_runs=1)


def _smpybandits_shims():
    """Compatibility shims SMPyBandits 0.9.7 needs on current SciPy/NumPy, applied in this process only.

    ``scipy.special.btdtri`` (Beta quantile, removed in SciPy 1.14) is ``scipy.special.betaincinv`` with
    the same arguments; ``np.in1d`` (deprecated in NumPy 2.0, absent from 2.4) is ``np.isin`` on the flattened
    first argument.
    Returns the names of the shims applied (none where the functions still exist).
    """
    import scipy.special

    applied = []
    if not hasattr(scipy.special, "btdtri"):
        scipy.special.btdtri = scipy.special.betaincinv
        applied.append("scipy.special.btdtri := scipy.special.betaincinv")
    if not hasattr(np, "in1d"):
        def in1d(ar1, ar2, assume_unique=False, invert=False):
            return np.isin(np.ravel(ar1), ar2, assume_unique=assume_unique, invert=invert)

        np.in1d = in1d
        applied.append("numpy.in1d := numpy.isin(numpy.ravel(a), b)")
    return applied


def _smpybandits(policy, R, T):
    sink = io.StringIO()  # SMPyBandits prints its progress and configuration; keep stdout for the table
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        from SMPyBandits.Arms import Bernoulli
        from SMPyBandits.Environment import Evaluator
        from SMPyBandits.Policies import UCB, Thompson

    cfg = {
        "horizon": T,
        "repetitions": R,
        "n_jobs": 1,
        "verbosity": 0,
        "environment": [{"arm_type": Bernoulli, "params": list(map(float, MEANS))}],
        # UCB: mean + sqrt(2 ln t / N_a); Thompson: Beta(1, 1) prior
        "policies": [{"archtype": UCB if policy == "ucb1" else Thompson, "params": {}}],
    }

    def run():
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            ev = Evaluator(cfg)
            for env_id, env in enumerate(ev.envs):
                ev.startOneEnv(env_id, env)
        return float(ev.getCumulatedRegret(0, 0)[-1])

    return _timed(run, min_runs=1)


# ---------------------------------------------------------------------------------------------------
# driver


def _machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "logical_cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}


def _fmt(x, spec):
    return "-" if x is None else format(x, spec)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="benchmarks/bandits.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="small sizes (T = 2,000, fewer replicates): a smoke run, not a measurement")
    ap.add_argument("--out", default="bench-results/bandits.json", help="JSON output file")
    ap.add_argument("--skip-peers", action="store_true", help="time regretlab only")
    args = ap.parse_args(argv)

    import numba

    import regretlab

    T = 2_000 if args.quick else 10_000
    R_ours = 20 if args.quick else 100
    R_peer = {"pymab": 10 if args.quick else 20, "mabwiser": 1 if args.quick else 2,
              "SMPyBandits": 2 if args.quick else 5}
    max_threads = numba.config.NUMBA_NUM_THREADS
    print(f"bandits benchmark: Bernoulli K={K}, means linspace(0.1, 0.9, {K}), T={T:,}; "
          f"{_machine()['cpu']}, {os.cpu_count()} logical CPUs, Numba up to {max_threads} threads"
          + ("  [--quick: smoke sizes]" if args.quick else ""), flush=True)

    entries: list[Entry] = []
    shims: list[str] = []

    def record(entry, fn, *a, **kw):
        print(f"  timing {entry.name} / {entry.policy} ({entry.replicates} x {entry.horizon:,} pulls) ...",
              end="", flush=True)
        try:
            entry.seconds, entry.regret, entry.runs = fn(*a, **kw)
            print(f" {entry.seconds:.3f} s", flush=True)
        except Exception as exc:  # a peer that fails must not stop the benchmark
            entry.status = f"failed: {type(exc).__name__}: {exc}"
            print(f" {entry.status}", flush=True)
        entries.append(entry)

    for policy in POLICIES:
        for threads in (1, 2):
            e = Entry(f"regretlab numba, {threads} thread{'s' if threads > 1 else ''}", policy, R_ours, T,
                      note="best of 3 after a warm-up call")
            if threads > max_threads:
                e.status = f"skipped: Numba has {max_threads} thread(s) here"
                entries.append(e)
                continue
            record(e, _ours, policy, R_ours, T, "numba", threads=threads)
        record(Entry("regretlab numpy (vectorised over replicates)", policy, R_ours, T), _ours, policy,
               R_ours, T, "numpy")

    if not args.skip_peers:
        peers = [
            ("pymab", lambda p: [
                (Entry("pymab (Rust core), Experiment.run", p, R_peer["pymab"], T, peer=True,
                       note="end to end, incl. pymab's result validation"), _pymab, {}),
                (Entry("pymab (Rust core), native loop only", p, R_peer["pymab"], T, peer=True,
                       note="private pymab._backend.run_native_experiment, no result object; for reference"),
                 _pymab, {"core_only": True}),
            ]),
            ("mabwiser", lambda p: [
                (Entry("mabwiser, predict/partial_fit loop", p, R_peer["mabwiser"], T, peer=True),
                 _mabwiser, {}),
            ]),
            ("SMPyBandits", lambda p: [
                (Entry("SMPyBandits, Evaluator", p, R_peer["SMPyBandits"], T, peer=True,
                       note="pure Python (its numba hook targets an old numba API)"), _smpybandits, {}),
            ]),
        ]
        for module, make in peers:
            if not _have(module):
                hint = INSTALL_HINT if module != "SMPyBandits" else "not installed (pip install SMPyBandits)"
                print(f"  {module}: {hint}", flush=True)
                for policy in POLICIES:
                    for e, _, _ in make(policy):
                        e.status = hint
                        entries.append(e)
                continue
            if module == "SMPyBandits":
                shims = _smpybandits_shims()
                if shims:
                    print("  SMPyBandits shims (this process only): " + "; ".join(shims), flush=True)
            for policy in POLICIES:
                for e, fn, kw in make(policy):
                    record(e, fn, policy, e.replicates, T, **kw)

    # throughput and ratios
    for e in entries:
        if e.seconds:
            e.pulls_per_s = e.pulls / e.seconds
            e.ns_per_pull = 1e9 * e.seconds / e.pulls
    for policy in POLICIES:
        ours = [e for e in entries
                if e.policy == policy and e.name.startswith("regretlab numba") and e.pulls_per_s]
        two = [e for e in ours if "2 threads" in e.name]
        if not ours:
            continue
        base = two[0] if two else max(ours, key=lambda e: e.pulls_per_s)
        for e in entries:
            if e.policy == policy and e.pulls_per_s:
                e.ours_numba2_over_this = base.pulls_per_s / e.pulls_per_s
                if not two:
                    e.extra["ratio_base"] = base.name  # no 2-thread run here: the ratio uses this entry

    # table
    w = max(len(e.name) for e in entries) + 2
    head = (f"{'implementation':<{w}}{'policy':<9}{'reps':>5}{'pulls/s':>12}{'ns/pull':>10}"
            f"{'ours(numba,2T)/this':>21}{'mean regret':>13}")
    print()
    print(head)
    print("-" * len(head))
    for e in entries:
        if e.status != "ok":
            print(f"{e.name:<{w}}{e.policy:<9}{e.replicates:>5}   {e.status}")
            continue
        print(f"{e.name:<{w}}{e.policy:<9}{e.replicates:>5}{_fmt(e.pulls_per_s, '12.3e')}"
              f"{_fmt(e.ns_per_pull, '10.1f')}{_fmt(e.ours_numba2_over_this, '20.1f')}x"
              f"{_fmt(e.regret, '13.1f')}")
    print()
    print(f"Pulls = replicates x T (T = {T:,}); peers with fewer replicates are compared per pull.")
    print("Regret: mean pseudo-regret sum_t (mu* - mu_a_t) at T over the entry's replicates (few: noisy).")
    if shims:
        print("SMPyBandits ran with shims: " + "; ".join(shims) + ".")

    result = {
        "benchmark": "bandits",
        "problem": {"family": "bernoulli", "K": K, "means": MEANS.tolist(), "horizon": T,
                    "policies": list(POLICIES), "quick": args.quick},
        "machine": _machine() | {"numba_threads_max": max_threads},
        "versions": {"regretlab": regretlab.__version__, "numpy": np.__version__, "numba": numba.__version__,
                     "pymab": _version("pymab"), "mabwiser": _version("mabwiser"),
                     "SMPyBandits": _version("SMPyBandits")},
        "shims": shims,
        "ratio": "ours_numba2_over_this = pulls/s of regretlab numba with 2 threads / pulls/s of the entry",
        "entries": [asdict(e) | {"pulls": e.pulls} for e in entries],
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(result, indent=2))
    tmp.replace(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
