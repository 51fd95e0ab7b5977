"""Run and resume sweeps into results directories, with a progress bar.

``run_sweep`` validates everything first (config, backend, output directory), takes the directory's
writer lock, writes the manifest, then runs the cells not yet finished; each finished cell is written
atomically as it arrives, with its fingerprint and checksum, so a killed run loses at most the cells in
flight. ``resume`` takes the lock, reloads the manifest's resolved config, checks every cell on disk
(a foreign or corrupt one is reported and recomputed) and runs only what is missing (and, by default,
what failed). See :mod:`regretlab.core.results` for the rules that make a cell a result.
"""
from __future__ import annotations

import os
from pathlib import Path

from . import registry
from .backends import resolve
from .results import ResultsDir, ResultsDirError, cell_name, now
from .sweep import MAX_CELLS, Sweep, execute, load_config

__all__ = ["RunReport", "resume", "run_sweep"]


class RunReport(dict):
    """``{"out", "cells", "ran", "skipped", "failed": [indices], "rejected": [(index, status, reason)]}``.

    ``rejected``: cells found foreign or corrupt on disk by :func:`resume`, discarded and recomputed.
    """

    __getattr__ = dict.__getitem__

    @property
    def ok(self) -> bool:
        return not self["failed"]


class _Display:
    """The sweep's progress display: a bar of cells, and one bar per running cell that reports its progress."""

    def __init__(self, total: int, done: int, quiet: bool):
        self.prog = None
        self.failed = 0
        self.inner: dict[int, int] = {}
        if quiet:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.prog = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[note]}"), TimeElapsedColumn(), TextColumn("ETA"),
                             TimeRemainingColumn())
        self.prog.start()
        self.cells = self.prog.add_task("[bold]cells", total=total, completed=done, note="")

    def cell_progress(self, i: int, done: int, total: int, unit: str) -> None:
        if self.prog is None:
            return
        if i not in self.inner:
            self.inner[i] = self.prog.add_task(f"  {cell_name(i)}", total=total, note=unit)
        self.prog.update(self.inner[i], completed=done, total=total, note=unit)

    def cell_done(self, i: int, ok: bool) -> None:
        self.failed += not ok
        if self.prog is None:
            return
        if i in self.inner:
            self.prog.remove_task(self.inner.pop(i))
        self.prog.update(self.cells, advance=1, note=f"[red]{self.failed} failed" if self.failed else "")

    def stop(self) -> None:
        if self.prog is not None:
            self.prog.stop()


def _run(sweep: Sweep, rd: ResultsDir, todo: list[int], *, workers, backend, scheduler, dask_local, quiet,
         plots: bool, rejected=()) -> RunReport:
    exp = registry.get(sweep.experiment)
    n = len(sweep.cells)
    failed: list[int] = []
    done0 = n - len(todo)
    manifest = rd.read_manifest()
    display = _Display(n, done0, quiet)

    def on_done(i, result):
        rd.write_cell(i, sweep.cells[i], result, manifest=manifest)
        if not result["ok"]:
            failed.append(i)
        display.cell_done(i, result["ok"])

    try:
        execute(sweep, todo, on_done, workers=workers, backend=backend, scheduler=scheduler, dask_local=dask_local,
                workdir=rd.path / "work", on_progress=None if quiet else display.cell_progress)
    finally:
        display.stop()
    m = rd.read_manifest()
    runs = m.get("runs", []) + [{"finished": now(), "ran": len(todo), "failed": len(failed), "workers": workers,
                                 "scheduler": scheduler, "dask_local": dask_local}]
    rd.update_manifest(finished=now(), runs=runs)
    rd.write_summaries(curves_of=exp.curves, outputs=exp.outputs)
    if plots:
        from .plots import draw_all

        draw_all(rd.path, quiet=quiet)
    return RunReport(out=str(rd.path), cells=n, ran=len(todo), skipped=done0, failed=sorted(failed),
                     rejected=list(rejected))


def run_sweep(config: str | os.PathLike | dict, *, overrides=None, out: str | os.PathLike | None = None,
              workers: int | None = None, backend: str = "auto", scheduler: str | None = None,
              dask_local: int | None = None, overwrite: bool = False, quiet: bool = False,
              plots: bool = True, source: str | None = None, max_cells: int | None = MAX_CELLS) -> RunReport:
    """Validate ``config`` (a TOML path or a dict), then run every cell into ``out``.

    ``out`` defaults to ``results/<config stem>``. ``source`` names the file a dict config came from
    (recorded in the manifest). An existing results directory is an error unless
    ``overwrite`` (which deletes it); use :func:`resume` to continue one. A sweep of more than
    ``max_cells`` cells (default 100,000) is refused before its grid is expanded; ``None`` lifts the limit.
    """
    name = str(source) if source else ("<config>" if isinstance(config, dict) else str(config))

    def announce(n, replicates):
        if not quiet:
            print(f"{name}: {n:,} cells x {replicates:,} replicates", flush=True)

    if isinstance(config, dict):
        sweep = load_config(source, overrides, config=config, max_cells=max_cells, on_count=announce)
        stem = Path(source).stem if source else sweep.experiment.replace(".", "_")
    else:
        sweep = load_config(config, overrides, max_cells=max_cells, on_count=announce)
        stem = Path(config).stem
    exp = registry.get(sweep.experiment)
    be = resolve(backend, where="run", supported=exp.backends)
    out = Path(out) if out is not None else Path("results") / stem
    rd = ResultsDir(out)
    workers = _workers(workers)
    exists = FileExistsError(f"{out} already exists: `regretlab resume {out}` continues it, --overwrite replaces it")
    if not overwrite and not rd.is_empty():  # before taking the lock: leave a foreign directory untouched
        raise exists
    with rd.writer("run"):
        if not rd.is_empty():  # re-checked under the lock: another run may have started meanwhile
            if not overwrite:
                raise exists
            rd.clear()
        rd.write_manifest(sweep, be, cite=exp.cite)
        return _run(sweep, rd, list(range(len(sweep.cells))), workers=workers, backend=be, scheduler=scheduler,
                    dask_local=dask_local, quiet=quiet, plots=plots)


def resume(out: str | os.PathLike, *, workers: int | None = None, scheduler: str | None = None,
           dask_local: int | None = None, retry_failed: bool = True, quiet: bool = False,
           plots: bool = True) -> RunReport:
    """Continue an interrupted sweep: verified cells are kept, never recomputed.

    Under the directory's writer lock, every cell on disk is checked: a cell made by another config
    (fingerprint) or not whole (checksum, or an ``.npz`` without its record) is discarded, reported in
    ``RunReport.rejected`` and recomputed. A directory made by another regretlab version is refused, so cells
    of two versions never mix.
    """
    rd = ResultsDir(out)
    if not rd.exists():
        raise FileNotFoundError(f"{out}: not a regretlab results directory (no manifest.json)")
    workers = _workers(workers)
    with rd.writer("resume"):
        m = rd.read_manifest()
        made, here = m.get("versions", {}).get("regretlab"), _version()
        if made != here:
            raise ResultsDirError(f"{out} was made by regretlab {made}, this is {here}: resuming would mix cells "
                                  f"of two versions; rerun it with `regretlab run CONFIG --out {out} --overwrite`")
        sweep = load_config(m["source"], None, config=m["config"])
        if [c["params"] for c in m["cells"]] != [_jsonable(c) for c in sweep.cells]:
            raise ResultsDirError(f"{out}: the stored config no longer expands to the same cells "
                                  "(experiment defaults changed?); rerun into a new directory")
        states = rd.scan(m)
        rejected = [(c.index, c.status, c.reason) for c in states if c.status in ("foreign", "corrupt")]
        for i, _, _ in rejected:
            rd.discard(i)
        todo = [c.index for c in states if not c.ok and (retry_failed or c.status != "failed")]
        return _run(sweep, rd, todo, workers=workers, backend=m["backend"], scheduler=scheduler,
                    dask_local=dask_local, quiet=quiet, plots=plots, rejected=rejected)


def _version() -> str | None:
    from .results import _versions

    return _versions().get("regretlab")


def describe_rejected(rejected) -> list[str]:
    """One line per rejected cell: what was wrong and that it was recomputed."""
    return [f"{cell_name(i)}: {status} ({reason}); discarded and recomputed" for i, status, reason in rejected]


def _jsonable(d: dict) -> dict:
    import json

    return json.loads(json.dumps(d))


def _workers(workers: int | None) -> int:
    from .validate import check_int

    if workers is None:
        return os.cpu_count() or 1
    return check_int("workers", workers, low=1, where="run")
