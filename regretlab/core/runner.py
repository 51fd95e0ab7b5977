"""Run and resume sweeps into results directories, with a progress bar.

``run_sweep`` validates everything first (config, backend, output directory), writes the manifest,
then runs the cells not yet finished; each finished cell is written atomically as it arrives, so a
killed run loses at most the cells in flight. ``resume`` reloads the manifest's resolved config and
runs only what is missing (and, by default, what failed).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from . import registry
from .backends import resolve
from .results import ResultsDir, now
from .sweep import Sweep, execute, load_config

__all__ = ["RunReport", "resume", "run_sweep"]


class RunReport(dict):
    """``{"out", "cells", "ran", "skipped", "failed": [indices]}`` with attribute access."""

    __getattr__ = dict.__getitem__

    @property
    def ok(self) -> bool:
        return not self["failed"]


def _progress(total: int, done: int, quiet: bool):
    if quiet:
        return None
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    prog = Progress(TextColumn("[bold]cells"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[failed]}"),
                    TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    prog.start()
    task = prog.add_task("cells", total=total, completed=done, failed="")
    return prog, task


def _run(sweep: Sweep, rd: ResultsDir, todo: list[int], *, workers, backend, scheduler, dask_local, quiet,
         plots: bool) -> RunReport:
    exp = registry.get(sweep.experiment)
    n = len(sweep.cells)
    failed: list[int] = []
    done0 = n - len(todo)
    bar = _progress(n, done0, quiet)

    def on_done(i, result):
        rd.write_cell(i, sweep.cells[i], result)
        if not result["ok"]:
            failed.append(i)
        if bar:
            prog, task = bar
            prog.update(task, advance=1, failed=f"[red]{len(failed)} failed" if failed else "")

    try:
        execute(sweep, todo, on_done, workers=workers, backend=backend, scheduler=scheduler, dask_local=dask_local,
                workdir=rd.path / "work")
    finally:
        if bar:
            bar[0].stop()
    m = rd.read_manifest()
    runs = m.get("runs", []) + [{"finished": now(), "ran": len(todo), "failed": len(failed), "workers": workers,
                                 "scheduler": scheduler, "dask_local": dask_local}]
    rd.update_manifest(finished=now(), runs=runs)
    rd.write_summaries(curves_of=exp.curves, outputs=exp.outputs)
    if plots:
        from .plots import draw_all

        draw_all(rd.path, quiet=quiet)
    return RunReport(out=str(rd.path), cells=n, ran=len(todo), skipped=done0, failed=sorted(failed))


def run_sweep(config: str | os.PathLike | dict, *, overrides=None, out: str | os.PathLike | None = None,
              workers: int | None = None, backend: str = "auto", scheduler: str | None = None,
              dask_local: int | None = None, overwrite: bool = False, quiet: bool = False,
              plots: bool = True, source: str | None = None) -> RunReport:
    """Validate ``config`` (a TOML path or a dict), then run every cell into ``out``.

    ``out`` defaults to ``results/<config stem>``. ``source`` names the file a dict config came from
    (recorded in the manifest). An existing results directory is an error unless
    ``overwrite`` (which deletes it); use :func:`resume` to continue one.
    """
    if isinstance(config, dict):
        sweep = load_config(source, overrides, config=config)
        stem = Path(source).stem if source else sweep.experiment.replace(".", "_")
    else:
        sweep = load_config(config, overrides)
        stem = Path(config).stem
    exp = registry.get(sweep.experiment)
    be = resolve(backend, where="run", supported=exp.backends)
    out = Path(out) if out is not None else Path("results") / stem
    rd = ResultsDir(out)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{out} already exists: `regretlab resume {out}` continues it, "
                                  "--overwrite replaces it")
        shutil.rmtree(out)
    workers = _workers(workers)
    rd.write_manifest(sweep, be, cite=exp.cite)
    return _run(sweep, rd, list(range(len(sweep.cells))), workers=workers, backend=be, scheduler=scheduler,
                dask_local=dask_local, quiet=quiet, plots=plots)


def resume(out: str | os.PathLike, *, workers: int | None = None, scheduler: str | None = None,
           dask_local: int | None = None, retry_failed: bool = True, quiet: bool = False,
           plots: bool = True) -> RunReport:
    """Continue an interrupted sweep: finished cells are kept, never recomputed."""
    rd = ResultsDir(out)
    if not rd.exists():
        raise FileNotFoundError(f"{out}: not a regretlab results directory (no manifest.json)")
    m = rd.read_manifest()
    sweep = load_config(m["source"], None, config=m["config"])
    if [c["params"] for c in m["cells"]] != [_jsonable(c) for c in sweep.cells]:
        raise RuntimeError(f"{out}: the stored config no longer expands to the same cells "
                           "(experiment defaults changed?); rerun into a new directory")
    n = len(sweep.cells)
    done = rd.done(n)
    failed = rd.failed(n)
    todo = [i for i in range(n) if i not in done and (retry_failed or i not in failed)]
    return _run(sweep, rd, todo, workers=_workers(workers), backend=m["backend"], scheduler=scheduler,
                dask_local=dask_local, quiet=quiet, plots=plots)


def _jsonable(d: dict) -> dict:
    import json

    return json.loads(json.dumps(d))


def _workers(workers: int | None) -> int:
    from .validate import check_int

    if workers is None:
        return os.cpu_count() or 1
    return check_int("workers", workers, low=1, where="run")
