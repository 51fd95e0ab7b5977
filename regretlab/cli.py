"""The ``regretlab`` command line: list | run | resume | plot | show | reproduce | bench.

The one room above the core and the areas. Exit codes: 0 success; 1 some cells failed; 2 bad
command line or config (reported before any cell runs); 130 interrupted.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

EPILOG = """examples:
  regretlab list
  regretlab run experiments/quickstart.toml --workers 2
  regretlab run experiments/quickstart.toml --set replicates=20 --set horizon=1000 --out results/small
  regretlab resume results/quickstart
  regretlab show results/quickstart
  regretlab plot results/quickstart
  regretlab reproduce --list
  regretlab reproduce mass_balance --quick
"""


def _add_exec_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default: all cores; 1 = in-process). Each worker gets "
                        "NUMBA_NUM_THREADS = cores // workers")
    p.add_argument("--scheduler", metavar="ADDR", default=None,
                   help="run cells on an existing Dask distributed cluster, e.g. tcp://host:8786 "
                        "(needs regretlab[dask])")
    p.add_argument("--dask-local", type=int, metavar="N", default=None,
                   help="start a local Dask cluster of N worker processes for this run")
    p.add_argument("--no-plot", action="store_true", help="skip drawing plots at the end")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="regretlab",
        description="Sweeps, theorem plots and benchmarks for bandit and RL theory experiments.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    from regretlab import __version__

    ap.add_argument("--version", action="version", version=f"regretlab {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("list", help="list experiments, policies and environments",
                       description="List registered experiments (with their parameters: -v), bandit "
                                   "policies and gymnasium environment ids.")
    p.add_argument("-v", "--verbose", action="store_true", help="show every parameter with its range and default")
    p.add_argument("name", nargs="?", help="show one experiment in detail")

    p = sub.add_parser("run", help="run a sweep config into a results directory",
                       description="Validate a TOML sweep config, then run every cell with a progress bar, "
                                   "writing manifest.json, one file per finished cell, summary.csv, "
                                   "curves.csv and plots/ under --out.",
                       epilog="--set KEY=VALUE overrides any config key: replicates=20, seed=3, horizon=500 "
                              "(a parameter; replaces a grid axis of that name), grid.policy=['ucb1','greedy'].",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", help="TOML sweep config (e.g. experiments/quickstart.toml)")
    p.add_argument("--set", dest="overrides", action="append", metavar="KEY=VALUE", default=[],
                   help="override a config key (repeatable)")
    p.add_argument("--out", default=None, help="results directory (default results/<config name>)")
    p.add_argument("--backend", default="auto", choices=["auto", "numba", "numpy", "cupy", "python"],
                   help="simulation backend (auto: cupy if a GPU is present, else numba)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing results directory")
    p.add_argument("--yes", action="store_true",
                   help="run a sweep of more than 100,000 cells (refused otherwise, before the grid is expanded)")
    _add_exec_args(p)

    p = sub.add_parser("resume", help="continue an interrupted sweep",
                       description="Run the cells of a results directory that have not finished; finished "
                                   "cells are kept and never recomputed. Failed cells are retried unless "
                                   "--keep-failed.")
    p.add_argument("dir", help="results directory")
    p.add_argument("--keep-failed", action="store_true", help="do not retry cells that failed")
    _add_exec_args(p)

    p = sub.add_parser("plot", help="redraw the plots of a results directory",
                       description="Redraw every plot of a results directory from its stored results "
                                   "(no simulation). Writes PNG and PDF under DIR/plots.")
    p.add_argument("dir", help="results directory")

    p = sub.add_parser("show", help="print a results summary table",
                       description="Print the summary of a results directory: one row per cell with its "
                                   "parameters, status and the mean (+- standard error) of each output.")
    p.add_argument("dir", help="results directory")
    p.add_argument("--columns", default=None, help="comma-separated outputs to show (default: a few main ones)")

    p = sub.add_parser("reproduce", help="redraw the theorem plots of some or all areas",
                       description="Run (or resume) every config experiments/<area>/*.toml that has a "
                                   "[reproduce] table and redraw its figures, each stamped with its "
                                   "parameters and git revision (plots/*.provenance.json, PNG text chunk; "
                                   "index in OUT/FIGURES.md). Lists what will run with estimated times "
                                   "first. Interrupted runs resume: finished cells are kept.",
                       epilog="examples:\n  regretlab reproduce --list\n  regretlab reproduce --quick\n"
                              "  regretlab reproduce mass_balance bandits --workers 2",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("areas", nargs="*", metavar="AREA", help="areas to reproduce (default: all)")
    p.add_argument("--quick", action="store_true",
                   help="test size: each config's [reproduce.quick] overrides (seconds, not the paper's size)")
    p.add_argument("--list", "--dry-run", dest="dry_run", action="store_true",
                   help="only list the theorem plots, their status and estimated times")
    p.add_argument("--out", default=None,
                   help="root of the results (default results/reproduce, or results/reproduce-quick)")
    p.add_argument("--configs", default=None, help="experiments directory (default ./experiments or the source tree's)")
    p.add_argument("--backend", default="auto", choices=["auto", "numba", "numpy", "cupy", "python"],
                   help="simulation backend for new runs (auto: cupy if a GPU is present, else numba)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace results made from a different (edited) config")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: all cores)")
    p.add_argument("--quiet", "-q", action="store_true", help="no tables or progress bars")

    p = sub.add_parser("bench", help="run the benchmarks and print throughput ratios",
                       description="Run benchmarks/<area>.py (from a source checkout): throughput of the "
                                   "Numba kernels against the NumPy reference and PyPI peers, as a table "
                                   "and JSON under bench-results/.")
    p.add_argument("area", nargs="?", default="bandits", help="benchmark to run (default: bandits)")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the benchmark (e.g. --quick)")
    return ap


def cmd_list(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from regretlab.core import registry

    con = Console(width=None if sys.stdout.isatty() else 120)
    exps = registry.list_experiments()
    if args.name:
        exp = registry.get(args.name)
        con.print(f"[bold]{exp.name}[/bold]: {exp.summary}")
        doc = (exp.func.__module__ and sys.modules[exp.func.__module__].__doc__) or ""
        if doc:
            con.print(doc.strip())
        _param_table(con, exp)
        con.print("outputs: " + "; ".join(f"{k} {v}" for k, v in exp.outputs.items()))
        return 0
    t = Table(title="experiments", show_lines=False)
    t.add_column("name")
    t.add_column("summary")
    for e in exps:
        t.add_row(e.name, e.summary)
    con.print(t)
    if args.verbose:
        for e in exps:
            _param_table(con, e)
    from regretlab.bandits.policies import POLICIES

    t = Table(title="bandit policies (bandits.run: policy = ...)")
    t.add_column("policy")
    t.add_column("parameters (default)")
    t.add_column("rule [paper]")
    for p in POLICIES.values():
        t.add_row(p.name, ", ".join(f"{k}={v[0]}" for k, v in p.params.items()) or "-", p.summary)
    con.print(t)
    try:
        import regretlab_envs

        con.print("environments (gymnasium.make after `import regretlab_envs`): " + ", ".join(regretlab_envs.ENV_IDS))
    except ImportError:
        pass
    con.print("details: regretlab list NAME")
    return 0


def _param_table(con, exp) -> None:
    from rich.table import Table

    t = Table(title=f"{exp.name} parameters")
    for c in ("parameter", "type / range", "default", "meaning"):
        t.add_column(c)
    for k, p in exp.params.items():
        t.add_row(k, p.describe(), "-" if p.default is None else repr(p.default), p.doc)
    con.print(t)


def cmd_run(args) -> int:
    from regretlab.core.runner import run_sweep
    from regretlab.core.sweep import MAX_CELLS

    rep = run_sweep(args.config, overrides=args.overrides, out=args.out, workers=args.workers,
                    backend=args.backend, scheduler=args.scheduler, dask_local=args.dask_local,
                    overwrite=args.overwrite, quiet=args.quiet, plots=not args.no_plot,
                    max_cells=None if args.yes else MAX_CELLS)
    return _report(rep)


def cmd_resume(args) -> int:
    from regretlab.core.runner import resume

    rep = resume(args.dir, workers=args.workers, scheduler=args.scheduler, dask_local=args.dask_local,
                 retry_failed=not args.keep_failed, quiet=args.quiet, plots=not args.no_plot)
    return _report(rep)


def _report(rep) -> int:
    from regretlab.core.runner import describe_rejected

    for line in describe_rejected(rep.get("rejected", ())):
        print(line)
    print(f"{rep.out}: {rep.cells} cells, {rep.ran} run now, {rep.skipped} already finished, "
          f"{len(rep.failed)} failed")
    if rep.failed:
        print(f"failed cells: {rep.failed} (tracebacks in {rep.out}/cells/*.error.json; "
              f"`regretlab resume {rep.out}` retries them)")
        return 1
    return 0


def cmd_plot(args) -> int:
    from regretlab.core.plots import draw_all
    from regretlab.core.results import ResultsDir

    rd = ResultsDir(args.dir)
    if not rd.exists():
        raise FileNotFoundError(f"{args.dir}: not a regretlab results directory (no manifest.json)")
    with rd.writer("plot"):
        paths = draw_all(args.dir)
    for p in paths:
        print(p)
    return 0 if paths else 1


def cmd_show(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from regretlab.core.results import load

    res = load(args.dir)
    tab = res.summary
    m = res.manifest
    con = Console(width=None if sys.stdout.isatty() else 160)
    con.print(f"[bold]{m['experiment']}[/bold]  {m.get('source')}  seed={m['seed']} replicates={m['replicates']} "
              f"backend={m['backend']}  git={m.get('git_revision')}")
    have = [c[:-5] for c in tab.keys() if c.endswith("_mean")]
    preferred = [o for o in ("final_regret", "best_frac", "greedy_frac", "reward_mean") if o in have]
    outputs = [c.strip() for c in args.columns.split(",")] if args.columns else (preferred or have[:4])
    t = Table()
    for k in ["cell", *m["axes"], "status", *outputs]:
        t.add_column(k, justify="right")
    for i in range(len(tab)):
        row = [str(tab["cell"][i]), *[_shown(tab[a][i]) for a in m["axes"]], str(tab["status"][i])]
        for o in outputs:
            if f"{o}_mean" in tab and tab["status"][i] == "ok":
                row.append(f"{float(tab[f'{o}_mean'][i]):.4g} ± {float(tab[f'{o}_se'][i]):.2g}")
            else:
                row.append("-")
        t.add_row(*row)
    con.print(t)
    failed = [i for i in range(len(tab)) if tab["status"][i] != "ok"]
    if failed:
        con.print(f"[red]{len(failed)} cells not ok[/red]: {failed}")
    return 0


def _shown(v) -> str:
    """A parameter value in the show table: '-' for a parameter left unset (an empty CSV field, read as NaN)."""
    return "-" if v == "" or (isinstance(v, float) and v != v) else str(v)


def cmd_bench(args) -> int:
    import importlib.util

    root = Path(__file__).resolve().parent.parent / "benchmarks"
    path = root / f"{args.area}.py"
    if not path.exists():
        have = sorted(p.stem for p in root.glob("*.py") if not p.stem.startswith("_")) if root.exists() else []
        names = ", ".join(have) or "none: run from a source checkout"
        print(f"regretlab bench: no benchmark {args.area!r} (have: {names})",
              file=sys.stderr)
        return 2
    if str(root) not in sys.path:  # the scripts share benchmarks/_common.py
        sys.path.insert(0, str(root))
    spec = importlib.util.spec_from_file_location(f"regretlab_bench_{args.area}", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses and pickling look the module up by name
    spec.loader.exec_module(mod)
    return int(mod.main(args.args) or 0)


def cmd_reproduce(args) -> int:
    from regretlab.core.reproduce import reproduce

    targets = reproduce(args.areas, quick=args.quick, out=args.out, root=args.configs, workers=args.workers,
                        backend=args.backend, overwrite=args.overwrite, dry_run=args.dry_run, quiet=args.quiet)
    return 1 if any(t.status == "failed" for t in targets) else 0


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"warning: {message}", file=sys.stderr)


COMMANDS = {"list": cmd_list, "run": cmd_run, "resume": cmd_resume, "plot": cmd_plot, "show": cmd_show,
            "reproduce": cmd_reproduce, "bench": cmd_bench}


def main(argv=None) -> int:
    import warnings

    from regretlab.core.backends import BackendUnavailable
    from regretlab.core.results import ResultsDirError, ResultsWarning
    from regretlab.core.sweep import ConfigError
    from regretlab.core.validate import ParamError

    ap = build_parser()
    args = ap.parse_args(argv)
    if not args.command:
        ap.print_help()
        return 2
    warnings.filterwarnings("always", category=ResultsWarning)
    warnings.showwarning = _one_line_warning
    try:
        return COMMANDS[args.command](args)
    except (ConfigError, ParamError, FileExistsError, FileNotFoundError, BackendUnavailable, ResultsDirError) as e:
        print(f"regretlab {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: `regretlab resume DIR` continues", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
