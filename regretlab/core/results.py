"""Results directories: manifest, one atomically written file per finished cell, tidy summaries.

Layout of ``DIR``::

    manifest.json        config as resolved, cells, seeds, versions, git revision, backend, times
    cells/c00007.npz     arrays of finished cell 7 (temp file + rename: present means complete)
    cells/c00007.json    its status, parameters, seconds (written after the .npz)
    cells/c00007.error.json   a failed cell: error and traceback (removed when it later succeeds)
    summary.csv          one row per cell: parameters, status, mean/std/se of every per-replicate scalar
    curves.csv           one row per cell x checkpoint: mean and 95% t-band of every curve output
    work/c00007/         scratch of cell 7 while it runs (``Seeds.workdir``: per-replicate results and
                         response caches of experiments that resume inside a cell, e.g. LLM agents)
    plots/               PNG + PDF

No pickle anywhere: arrays are ``.npz`` loaded with ``allow_pickle=False``; tables are CSV.
``summary.csv`` and ``curves.csv`` hold no timings, so they are bit-identical across executors.
"""
from __future__ import annotations

import csv
import io
import json
import os
import platform
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

__all__ = ["Results", "ResultsDir", "Table", "cell_name", "load"]


def cell_name(i: int) -> str:
    """File stem of cell ``i`` (``c00007``)."""
    return f"c{i:05d}"


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _atomic_write_json(path: Path, obj) -> None:
    _atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n").encode())


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("regretlab", "numpy", "scipy", "numba", "cupy-cuda13x", "cupy-cuda12x", "dask", "distributed"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def _git_revision() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5)
        if rev.returncode == 0:
            return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return None


def now() -> str:
    """UTC time stamp, ISO 8601, seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class ResultsDir:
    """Writer/reader of one results directory."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.cells_dir = self.path / "cells"
        self.plots_dir = self.path / "plots"

    # manifest -------------------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    def exists(self) -> bool:
        return self.manifest_path.exists()

    def write_manifest(self, sweep, backend: str, cite=(), extra: dict | None = None) -> dict:
        m = {
            "regretlab_results": 1,
            "source": sweep.source,
            "config": sweep.to_config(),
            "experiment": sweep.experiment,
            "axes": sweep.axes,
            "cells": [{"index": i, "name": cell_name(i), "params": c} for i, c in enumerate(sweep.cells)],
            "seed": sweep.seed,
            "replicates": sweep.replicates,
            "seeding": "replicate r of cell i: numpy.random.SeedSequence(seed, spawn_key=(i, r))",
            "backend": backend,
            "cite": list(cite),
            "versions": _versions(),
            "git_revision": _git_revision(),
            "host": platform.node(),
            "started": now(),
            "finished": None,
            "runs": [],
        }
        if extra:
            m.update(extra)
        self.path.mkdir(parents=True, exist_ok=True)
        _atomic_write_json(self.manifest_path, m)
        return m

    def read_manifest(self) -> dict:
        with open(self.manifest_path) as fh:
            return json.load(fh)

    def update_manifest(self, **fields) -> dict:
        m = self.read_manifest()
        m.update(fields)
        _atomic_write_json(self.manifest_path, m)
        return m

    # cells ----------------------------------------------------------------------------------------
    def npz_path(self, i: int) -> Path:
        return self.cells_dir / f"{cell_name(i)}.npz"

    def done(self, n_cells: int) -> set[int]:
        return {i for i in range(n_cells) if self.npz_path(i).exists()}

    def failed(self, n_cells: int) -> set[int]:
        return {i for i in range(n_cells)
                if (self.cells_dir / f"{cell_name(i)}.error.json").exists() and not self.npz_path(i).exists()}

    def write_cell(self, i: int, params: dict, result: dict) -> None:
        name = cell_name(i)
        if result["ok"]:
            buf = io.BytesIO()
            np.savez(buf, **result["arrays"])
            _atomic_write_bytes(self.npz_path(i), buf.getvalue())
            _atomic_write_json(self.cells_dir / f"{name}.json",
                               {"index": i, "status": "ok", "params": params, "seconds": result["seconds"],
                                "finished": now()})
            err = self.cells_dir / f"{name}.error.json"
            if err.exists():
                err.unlink()
        else:
            _atomic_write_json(self.cells_dir / f"{name}.error.json",
                               {"index": i, "status": "failed", "params": params, "error": result["error"],
                                "traceback": result["traceback"], "seconds": result["seconds"], "finished": now()})

    def read_cell(self, i: int) -> dict:
        with np.load(self.npz_path(i), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    def read_error(self, i: int) -> dict | None:
        p = self.cells_dir / f"{cell_name(i)}.error.json"
        if not p.exists():
            return None
        with open(p) as fh:
            return json.load(fh)

    # summaries ------------------------------------------------------------------------------------
    def write_summaries(self, curves_of: dict | None = None, outputs: dict | None = None) -> None:
        """Aggregate every finished cell into summary.csv and curves.csv (deterministic content).

        Per-replicate scalars are the outputs documented with shape ``(R,)`` (or, for experiments that
        document none, the 1-D arrays of length ``replicates``); curves are ``curves_of`` (name -> x axis).
        """
        m = self.read_manifest()
        outputs = outputs or {}
        declared = {k for k, v in outputs.items() if v.replace(" ", "").startswith("(R,)")}
        axes = m["axes"]
        curves_of = curves_of or {}
        rows, crows = [], []
        for c in m["cells"]:
            i, params = c["index"], c["params"]
            base = {"cell": i, **{k: params.get(k) for k in axes}}
            if not self.npz_path(i).exists():
                err = self.read_error(i)
                rows.append({**base, "status": "failed" if err else "missing",
                             "error": err["error"].splitlines()[0] if err else ""})
                continue
            arrs = self.read_cell(i)
            row = {**base, "status": "ok", "error": ""}
            R = None
            for name, a in arrs.items():
                per_replicate = name in declared if declared else (a.ndim == 1 and a.size == m["replicates"])
                if not per_replicate or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
                    continue
                a = a.astype(np.float64)
                R = a.size
                row[f"{name}_mean"] = float(a.mean())
                row[f"{name}_std"] = float(a.std(ddof=1)) if a.size > 1 else 0.0
                row[f"{name}_se"] = row[f"{name}_std"] / np.sqrt(a.size)
            row["replicates"] = R if R is not None else m["replicates"]
            rows.append(row)
            for name, xname in curves_of.items():
                if name not in arrs or xname not in arrs:
                    continue
                y, x = arrs[name].astype(np.float64), arrs[xname]
                mean, lo, hi = _t_band(y)
                for j in range(x.size):
                    crows.append({**base, "output": name, xname if xname != "output" else "x": x[j].item(),
                                  "mean": float(mean[j]), "lo": float(lo[j]), "hi": float(hi[j])})
        _atomic_write_bytes(self.path / "summary.csv", _csv_bytes(rows))
        _atomic_write_bytes(self.path / "curves.csv", _csv_bytes(crows))


def _t_band(y: np.ndarray, level: float = 0.95):
    from scipy import stats as st

    R = y.shape[0]
    mean = y.mean(axis=0)
    if R < 2:
        return mean, mean.copy(), mean.copy()
    se = y.std(axis=0, ddof=1) / np.sqrt(R)
    q = st.t.ppf(0.5 + level / 2, R - 1)
    return mean, mean - q * se, mean + q * se


def _csv_bytes(rows: list[dict]) -> bytes:
    cols: list[str] = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: _fmt(r.get(k, "")) for k in cols})
    return buf.getvalue().encode()


def _fmt(v):
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return json.dumps(v)
    if v is None:
        return ""
    return v


# ---------------------------------------------------------------------------------------------------
# Loading


class Table:
    """A tidy table as a dict of equal-length NumPy columns (pandas: ``pd.DataFrame(t.columns)``)."""

    def __init__(self, columns: dict[str, np.ndarray]):
        self.columns = columns

    @classmethod
    def from_csv(cls, path: Path) -> Table:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        if not rows:
            return cls({})
        return cls({k: _column([r[k] for r in rows]) for k in rows[0]})

    def __getitem__(self, key):
        return self.columns[key]

    def __contains__(self, key):
        return key in self.columns

    def __len__(self):
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def keys(self):
        return self.columns.keys()

    def where(self, **eq) -> Table:
        """Rows whose columns equal the given values, e.g. ``t.where(policy="ucb1")``."""
        mask = np.ones(len(self), dtype=bool)
        for k, v in eq.items():
            mask &= self.columns[k] == v
        return Table({k: v[mask] for k, v in self.columns.items()})

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.columns)

    def __repr__(self):
        return f"Table({len(self)} rows: {', '.join(self.columns)})"


def _column(values: list[str]) -> np.ndarray:
    for conv in (int, float):
        try:
            return np.array([conv(v) for v in values])
        except ValueError:
            continue
    if all(v in ("True", "False") for v in values):
        return np.array([v == "True" for v in values])
    return np.array(values, dtype=object)


class Results:
    """A results directory opened for analysis: ``manifest``, ``summary``, ``curves``, ``cell(i)``."""

    def __init__(self, path: str | os.PathLike):
        self.dir = ResultsDir(path)
        if not self.dir.exists():
            raise FileNotFoundError(f"{path}: not a regretlab results directory (no manifest.json)")
        self.path = self.dir.path
        self.manifest = self.dir.read_manifest()

    @property
    def summary(self) -> Table:
        return Table.from_csv(self.path / "summary.csv")

    @property
    def curves(self) -> Table:
        return Table.from_csv(self.path / "curves.csv")

    @property
    def cells(self) -> list[dict]:
        return self.manifest["cells"]

    def cell(self, i: int) -> dict:
        """The raw arrays of cell ``i`` (per replicate)."""
        return self.dir.read_cell(i)

    def finished(self) -> list[int]:
        return sorted(self.dir.done(len(self.cells)))

    def __repr__(self):
        return f"Results({str(self.path)!r}, experiment={self.manifest['experiment']!r}, cells={len(self.cells)})"


def load(path: str | os.PathLike) -> Results:
    """Open a results directory: ``regretlab.load("results/quickstart").summary.to_pandas()``."""
    return Results(path)
