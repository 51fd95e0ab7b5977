"""Sweeps: TOML config -> validated cells -> executors (inline, process pool, Dask) -> results dir.

A config (parsed with :mod:`tomllib`)::

    experiment = "bandits.compare"     # a registered experiment (regretlab list)
    replicates = 100
    seed = 20261124
    [params]                           # fixed parameters
    horizon = 10_000
    [grid]                             # cartesian product of these axes
    policy = ["ucb1", "ts_beta"]
    [zip]                              # axes that move together (equal lengths); one axis of the grid
    gap = [0.1, 0.2]
    K = [5, 10]
    [[plots]]                          # plots drawn from the results directory afterwards
    kind = "curves"
    y = "regret"

In ``[grid]`` and ``[zip]`` the string ``"default"`` leaves a parameter at its default in that cell, so a
zip can mix cells that set a parameter with cells that do not (TOML has no null)::

    [zip]
    policy = ["ucb1", "eps_greedy", "eps_greedy"]
    eps = ["default", 0.05, 0.1]

Every value is validated against the experiment's parameter specs before any cell runs; an error
names the file, the key (``grid.policy[2]``) and the allowed values. Cell ``i`` is the i-th element of
the product in the order the axes are written (zip group as one axis, last axis fastest); replicate r
of cell i draws from ``SeedSequence(seed, spawn_key=(i, r))``, so numbers do not depend on the
executor, the number of workers or the order in which cells finish.
"""
from __future__ import annotations

import difflib
import itertools
import json
import math
import os
import time
import tomllib
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import registry
from .validate import ParamError, check_int

__all__ = ["ConfigError", "Sweep", "execute", "load_config", "parse_overrides", "run_cell"]

TOP_KEYS = {"experiment", "replicates", "seed", "params", "grid", "zip", "plot", "plots", "description",
            "backend", "title", "reproduce"}


#: In [grid]/[zip], this value leaves the parameter at its default in that cell.
DEFAULT = "default"


class ConfigError(ValueError):
    """A config error found before any work starts; the message names the file and the key."""


@dataclass
class Sweep:
    experiment: str
    replicates: int
    seed: int
    params: dict
    grid: dict
    zip: dict
    plots: list
    source: str = "<config>"
    description: str = ""
    title: str = ""
    cells: list = field(default_factory=list)  # list of dicts of resolved parameters
    axes: list = field(default_factory=list)  # names of the varying parameters, in cell order

    def to_config(self) -> dict:
        """The config as resolved (overrides applied), as stored in the manifest."""
        out = {"experiment": self.experiment, "replicates": self.replicates, "seed": self.seed,
               "params": self.params, "grid": self.grid, "zip": self.zip, "plots": self.plots}
        if self.description:
            out["description"] = self.description
        if self.title:
            out["title"] = self.title
        return out


def _fail(source: str, msg: str):
    raise ConfigError(f"{source}: {msg}")


def parse_overrides(items: Sequence[str] | None) -> dict:
    """``["replicates=10", "params.horizon=100", "grid.policy=['ucb1']", "horizon=5"]`` -> nested dict.

    Values are parsed as TOML values (so ``[1, 2]``, ``true``, ``"x"`` work); a bare word that is not
    valid TOML is taken as a string. A key without a section that is not a top-level key goes to
    ``params`` (and replaces a grid/zip axis of the same name).
    """
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
        key, raw = item.split("=", 1)
        key = key.strip()
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        parts = key.split(".")
        if len(parts) == 1 and parts[0] not in TOP_KEYS:
            parts = ["params", parts[0]]
        d = out
        for p in parts[:-1]:
            d = d.setdefault(p, {})
        d[parts[-1]] = value
    return out


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


#: ``load_config`` refuses a sweep of more cells than this unless told otherwise (``--yes``).
MAX_CELLS = 100_000


def load_config(path: str | os.PathLike | None = None, overrides: Sequence[str] | dict | None = None,
                config: Mapping | None = None, max_cells: int | None = MAX_CELLS, on_count=None) -> Sweep:
    """Read, merge overrides, validate and expand a sweep config into cells (no work is done).

    A sweep of more than ``max_cells`` cells is refused before its grid is expanded (``None``: no limit);
    ``on_count(n, replicates)`` is called with the number of cells once the axes are validated, before the expansion.
    """
    source = str(path) if path is not None else "<config>"
    if config is None:
        try:
            with open(path, "rb") as fh:
                config = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"{source}: no such config file") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{source}: invalid TOML: {e}") from None
    over = overrides if isinstance(overrides, dict) else parse_overrides(overrides)
    # a --set on a parameter replaces a grid/zip axis of the same name
    for name in over.get("params", {}):
        for sec in ("grid", "zip"):
            if name in config.get(sec, {}):
                config = dict(config)
                config[sec] = {k: v for k, v in config[sec].items() if k != name}
    cfg = _merge(dict(config), over)

    unknown = set(cfg) - TOP_KEYS
    if unknown:
        _fail(source, f"unknown top-level key {sorted(unknown)[0]!r}; allowed: {', '.join(sorted(TOP_KEYS))}")
    if "experiment" not in cfg:
        _fail(source, "missing key 'experiment' (see `regretlab list`)")
    try:
        exp = registry.get(cfg["experiment"])
        replicates = check_int("replicates", cfg.get("replicates", 1), low=1)
        seed = check_int("seed", cfg.get("seed", 0), low=0)
    except (ParamError, TypeError) as e:
        _fail(source, str(e))
    params = dict(cfg.get("params", {}))
    grid = dict(cfg.get("grid", {}))
    zipped = dict(cfg.get("zip", {}))
    for sec, d in (("params", params), ("grid", grid), ("zip", zipped)):
        if not isinstance(d, dict):
            _fail(source, f"[{sec}] must be a table")
    # every named parameter must exist; each axis value validated on its own, with its key path
    for sec, d in (("params", params), ("grid", grid), ("zip", zipped)):
        for k, v in d.items():
            if k not in exp.params:
                close = difflib.get_close_matches(k, list(exp.params), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                _fail(source, f"{sec}.{k}: unknown parameter of {exp.name}{hint}; allowed: {', '.join(exp.params)}")
            if sec != "params":
                if not isinstance(v, list) or len(v) == 0:
                    _fail(source, f"{sec}.{k} must be a non-empty list of values, got {v!r}")
                vals = [(f"{sec}.{k}[{i}]", x) for i, x in enumerate(v)]
            else:
                vals = [(f"{sec}.{k}", v)]
            for path_key, x in vals:
                if x is None or (sec != "params" and x == DEFAULT):
                    continue
                try:
                    exp.params[k].check(k, x)
                except (ParamError, TypeError) as e:
                    _fail(source, f"{path_key} = {x!r}: {e}")
    lens = {k: len(v) for k, v in zipped.items()}
    if len(set(lens.values())) > 1:
        got = ", ".join(f"{k}: {n}" for k, n in lens.items())
        _fail(source, f"all [zip] axes must have the same length, got {got}")
    both = (set(grid) | set(zipped)) & set(params)
    if both:
        _fail(source, f"parameter {sorted(both)[0]!r} is both fixed in [params] and varied in [grid]/[zip]")
    if set(grid) & set(zipped):
        _fail(source, f"parameter {sorted(set(grid) & set(zipped))[0]!r} is in both [grid] and [zip]")

    # counted from the axis lengths, before the grid is expanded
    sizes = {k: len(v) for k, v in grid.items()} | ({"[zip]": next(iter(lens.values()))} if zipped else {})
    n_cells = math.prod(sizes.values())
    if on_count is not None:
        on_count(n_cells, replicates)
    if max_cells is not None and n_cells > max_cells:
        axes_desc = " x ".join(f"{k} {n}" for k, n in sizes.items())
        _fail(source, f"the sweep has {n_cells:,} cells ({axes_desc}), more than the limit of {max_cells:,}; "
                      "check the grid, or pass --yes (Python: max_cells=None) to run it anyway")

    plots = cfg.get("plots", [])
    if "plot" in cfg:
        plots = [cfg["plot"]] + list(plots)
    if not isinstance(plots, list) or not all(isinstance(p, dict) for p in plots):
        _fail(source, "plots must be a list of tables ([[plots]]) or one [plot] table")

    # expand cells: axes in written order, zip group as one axis (at the position of its first key)
    axes: list[tuple[list[str], list[tuple]]] = []
    for k, v in grid.items():
        axes.append(([k], [(x,) for x in v]))
    if zipped:
        keys = list(zipped)
        n = lens[keys[0]]
        axes.append((keys, [tuple(zipped[k][i] for k in keys) for i in range(n)]))
    cells = []
    for i, combo in enumerate(itertools.product(*[vals for _, vals in axes])):
        given = dict(params)
        for (keys, _), values in zip(axes, combo):
            given.update({k: exp.params[k].default if x == DEFAULT else x for k, x in zip(keys, values)})
        try:
            resolved = exp.resolve(given)
        except (ParamError, TypeError, ValueError) as e:
            desc = ", ".join(f"{k}={given[k]!r}" for keys, _ in axes for k in keys)
            _fail(source, f"cell {i} ({desc}): {e}")
        cells.append(resolved)
    names = [k for keys, _ in axes for k in keys]
    return Sweep(exp.name, replicates, seed, params, grid, zipped, plots, source,
                 str(cfg.get("description", "")), str(cfg.get("title", "")), cells, names)


# ---------------------------------------------------------------------------------------------------
# Running one cell (in any process)


def _set_threads(n: int | None) -> None:
    if n:
        os.environ["NUMBA_NUM_THREADS"] = str(n)


class FileProgress:
    """A cell's progress callback in another process: writes ``{"done", "total", "unit"}`` to a JSON file
    (atomically, at most every ``every`` seconds, always the last step), which the sweep's process polls."""

    def __init__(self, path: str, every: float = 0.25):
        self.path, self.every, self.last = path, every, 0.0

    def __call__(self, done: int, total: int, unit: str) -> None:
        now = time.monotonic()
        if done < total and now - self.last < self.every:
            return
        self.last = now
        from pathlib import Path

        from .results import _atomic_write_json

        try:
            _atomic_write_json(Path(self.path), {"done": done, "total": total, "unit": unit})
        except OSError:  # progress display only: never fail a cell for it
            pass


def read_progress(path: str | os.PathLike) -> tuple[int, int, str] | None:
    """The last ``(done, total, unit)`` a :class:`FileProgress` wrote, or None."""
    try:
        with open(path) as fh:
            d = json.load(fh)
        return int(d["done"]), int(d["total"]), str(d["unit"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def run_cell(experiment: str, params: dict, seed: int, cell: int, replicates: int, backend: str,
             workdir: str | None = None, threads: int | None = None, progress=None) -> dict:
    """Run one cell; returns ``{"ok": True, "arrays": {...}, "seconds": s}`` or the error and traceback.

    Never raises for a failure inside the experiment: a failing cell is recorded, the sweep goes on.
    ``workdir`` is handed to the experiment as ``Seeds.workdir`` (its scratch directory for resuming).
    ``progress``: a callable ``(done, total, unit)`` or the path of a :class:`FileProgress` file; the
    experiment reaches it through ``Seeds.report``.
    """
    _set_threads(threads)
    t0 = time.perf_counter()
    if isinstance(progress, str):
        progress = FileProgress(progress)
    try:
        exp = registry.get(experiment)
        out = exp.func(params, registry.Seeds(seed, cell, replicates, workdir=workdir, progress=progress), backend)
        arrays = {k: np.asarray(v) for k, v in out.items()}
        for k, v in arrays.items():
            if v.dtype == object:
                raise TypeError(f"experiment {experiment} returned an object array for {k!r}")
        return {"ok": True, "arrays": arrays, "seconds": time.perf_counter() - t0}
    except Exception as e:  # recorded, not raised
        return {"ok": False, "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc(),
                "seconds": time.perf_counter() - t0}


def _worker_init(threads: int) -> None:
    _set_threads(threads)


def execute(sweep: Sweep, todo: Iterable[int], on_done, *, workers: int = 1, backend: str = "auto",
            scheduler: str | None = None, dask_local: int | None = None,
            workdir: str | os.PathLike | None = None, on_progress=None) -> None:
    """Run cells ``todo`` and call ``on_done(index, result)`` as each finishes (in the calling process).

    ``workers == 1`` runs in-process with every core for Numba; ``workers > 1`` uses a local process
    pool with ``NUMBA_NUM_THREADS = cores // workers`` per worker; ``scheduler`` (an address such as
    ``tcp://host:8786``) or ``dask_local`` (a LocalCluster of that many workers) uses Dask distributed.
    ``workdir``: the folder holding the cells' scratch directories (``<workdir>/c00007``; see
    :class:`regretlab.core.registry.Seeds`). ``on_progress(index, done, total, unit)``: called with what a
    running cell reports through ``Seeds.report`` (in-process directly; from other processes through
    :class:`FileProgress` files under ``<workdir>/.progress``, polled here, which needs a shared filesystem).
    """
    from .results import cell_name

    todo = list(todo)
    cores = os.cpu_count() or 1
    pdir = None if workdir is None or on_progress is None else os.path.join(os.fspath(workdir), ".progress")
    ppath = {i: None if pdir is None else os.path.join(pdir, f"{cell_name(i)}.json") for i in todo}
    args = [(sweep.experiment, sweep.cells[i], sweep.seed, i, sweep.replicates, backend,
             None if workdir is None else os.path.join(os.fspath(workdir), cell_name(i))) for i in todo]

    def poll(running):
        for i in running:
            got = read_progress(ppath[i]) if ppath[i] else None
            if got is not None:
                on_progress(i, *got)

    def finished(i, result):
        if ppath[i]:
            try:
                os.unlink(ppath[i])
            except OSError:
                pass
        on_done(i, result)

    if scheduler or dask_local:
        _execute_dask(todo, args, finished, scheduler, dask_local, cores, ppath, poll)
    elif workers <= 1:
        for i, a in zip(todo, args):
            cb = None if on_progress is None else (lambda d, t, u, i=i: on_progress(i, d, t, u))
            finished(i, run_cell(*a, progress=cb))
    else:
        import multiprocessing as mp
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        threads = max(1, cores // workers)
        ctx = mp.get_context("spawn")  # no fork after Numba started its thread pool
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                                   initargs=(threads,))
        try:
            futs = {pool.submit(run_cell, *a, threads, ppath[i]): i for i, a in zip(todo, args)}
            pending = set(futs)
            while pending:
                ready, pending = wait(pending, timeout=0.5 if pdir else None, return_when=FIRST_COMPLETED)
                for f in ready:
                    finished(futs[f], f.result())
                if pdir:
                    poll([futs[f] for f in pending if f.running()])
        except BaseException:
            # Ctrl-C or an error while writing: drop the queued cells instead of waiting for them all;
            # finished cells are already on disk and `regretlab resume` continues
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()


def _execute_dask(todo, args, on_done, scheduler, dask_local, cores, ppath, poll):
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise RuntimeError("Dask executors need the dask extra: pip install 'regretlab[dask]'") from None
    cluster = None
    if scheduler:
        client = Client(scheduler)
        threads = None  # the cluster's workers set NUMBA_NUM_THREADS themselves
    else:
        threads = max(1, cores // dask_local)
        cluster = LocalCluster(n_workers=dask_local, threads_per_worker=1, processes=True,
                               dashboard_address=None, env={"NUMBA_NUM_THREADS": str(threads)})
        client = Client(cluster)
    try:
        futs = {client.submit(run_cell, *a, threads, ppath[i], pure=False,
                              key=f"cell-{i}-{os.getpid()}-{time.time_ns()}"): i
                for i, a in zip(todo, args)}
        done = as_completed(list(futs))
        while not done.is_empty():
            if not done.has_ready() and any(ppath.values()):
                poll([futs[f] for f in futs if not f.done()])
                time.sleep(0.25)
                continue
            for f in done.next_batch(block=True):
                on_done(futs[f], f.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

