"""Results directories: manifest, one atomically written file per finished cell, tidy summaries.

Layout of ``DIR``::

    .regretlab.lock      the writer's lock (``flock``; holder pid, host and start time inside)
    manifest.json        config as resolved, cells, seeds, versions, git revision, backend, times
    cells/c00007.npz     arrays of finished cell 7 (temp file + rename)
    cells/c00007.json    its record, written after the .npz: status, parameters, seconds, the fingerprint
                         of what made it and the SHA-256 of the .npz
    cells/c00007.error.json   a failed cell: error and traceback (removed when it later succeeds)
    summary.csv          one row per cell: parameters, status, mean/std/se of every per-replicate scalar
    curves.csv           one row per cell x checkpoint: mean and 95% t-band of every curve output
    work/c00007/         scratch of cell 7 while it runs (``Seeds.workdir``: per-replicate results and
                         response caches of experiments that resume inside a cell, e.g. LLM agents)
    plots/               PNG + PDF

No pickle anywhere: arrays are ``.npz`` loaded with ``allow_pickle=False``; tables are CSV.
``summary.csv`` and ``curves.csv`` hold no timings, so they are bit-identical across executors.

Trust rules (what makes a cell a result):

* **One writer.** ``run`` and ``resume`` hold an exclusive ``flock`` on ``.regretlab.lock`` for their whole
  life; a second writer is refused at once (:class:`ResultsLocked`, naming the holder). The kernel drops the
  lock when its process dies, so the lock of a killed run never blocks.
* **Fingerprints.** Every cell record carries the fingerprint of what made it: SHA-256 of the experiment, the
  cell's index and resolved parameters, replicates, seed, backend and regretlab version, as recorded in the
  manifest. A cell counts as finished only if its record exists, its fingerprint is the one this directory's
  manifest gives for that cell, and the ``.npz`` hashes to the recorded SHA-256 (it reads back whole).
  Anything else is ``foreign`` (made by another config) or ``corrupt`` (truncated, edited, or an ``.npz``
  without its record): never shown as a result, recomputed by ``resume``.
* **Temp files** (``*.tmp``) belong to a writer; the next writer, holding the lock, removes those of
  dead writers.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import platform
import socket
import subprocess
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

__all__ = ["CellState", "Results", "ResultsDir", "ResultsDirError", "ResultsLocked", "Table", "cell_fingerprint",
           "cell_name", "load"]


def cell_name(i: int) -> str:
    """File stem of cell ``i`` (``c00007``)."""
    return f"c{i:05d}"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # what open() would give: results are as readable as any file the user writes


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _FILE_MODE)  # mkstemp's 0600 would hide results from the user's group
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


class ResultsDirError(Exception):
    """The results directory cannot be used (not a directory, not writable, ...); raised before any cell runs."""


class ResultsLocked(ResultsDirError):
    """Another live process is writing this results directory."""


LOCK_NAME = ".regretlab.lock"
TMP_GLOB = "*.tmp"  # what writers (cells, tables, replicate files) leave behind when they die mid-write


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cell_fingerprint(made_by: dict) -> str:
    """SHA-256 of the canonical JSON of what makes a cell (see :meth:`ResultsDir.made_by`)."""
    blob = json.dumps(made_by, sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class CellState:
    """What is on disk for one cell: ``status`` is ok | failed | missing | foreign | corrupt."""

    index: int
    status: str
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


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

    # the writer's lock -----------------------------------------------------------------------------
    @contextmanager
    def writer(self, command: str = "run"):
        """Hold the directory's exclusive writer lock for the ``with`` block (creating the directory).

        Raises :class:`ResultsLocked` at once, naming the holder, when a live process holds it, and
        :class:`ResultsDirError` when the directory cannot be created or written. The lock is an ``flock`` on
        ``.regretlab.lock``: the kernel releases it when its holder dies, so a killed run never leaves a stale
        lock. On entry, the temp files of dead writers are removed (no live writer can own them).
        """
        import fcntl

        if self.path.exists() and not self.path.is_dir():
            raise ResultsDirError(f"{self.path}: exists and is not a directory")
        lock = self.path / LOCK_NAME
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise ResultsDirError(f"{self.path}: cannot write the results directory: {e.strerror or e}") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                raise ResultsLocked(f"{self.path}: another regretlab process is writing it ({holder}); wait for "
                                    "it to finish or stop it (a killed process releases the lock)") from None
            except OSError as e:  # a filesystem without flock (some network mounts)
                raise ResultsDirError(f"{self.path}: cannot lock the results directory ({e.strerror or e}); use a "
                                      "local filesystem") from None
            info = {"pid": os.getpid(), "host": socket.gethostname(), "started": now(), "command": command}
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
                self._remove_dead_temp_files()
                probe = self.path / f".{LOCK_NAME}.probe.tmp"
                probe.write_bytes(b"")
                probe.unlink()
            except OSError as e:
                raise ResultsDirError(f"{self.path}: cannot write the results directory: {e.strerror or e}") \
                    from None
            try:
                yield self
            finally:
                try:
                    os.ftruncate(fd, 0)
                except OSError:
                    pass
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _remove_dead_temp_files(self) -> None:
        """Remove ``*.tmp`` files anywhere in the directory (only call while holding the lock)."""
        for p in self.path.rglob(TMP_GLOB):
            if p.is_file():
                p.unlink(missing_ok=True)

    def clear(self) -> None:
        """Delete everything in the directory except the lock file (only call while holding the lock)."""
        import shutil

        for p in self.path.iterdir():
            if p.name == LOCK_NAME:
                continue
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()

    def is_empty(self) -> bool:
        """True if the directory is absent or holds nothing but the lock file."""
        if not self.path.exists():
            return True
        if not self.path.is_dir():
            raise ResultsDirError(f"{self.path}: exists and is not a directory")
        try:
            return not any(p.name != LOCK_NAME for p in self.path.iterdir())
        except OSError as e:
            raise ResultsDirError(f"{self.path}: cannot read the results directory: {e.strerror or e}") from None

    # cells ----------------------------------------------------------------------------------------
    def npz_path(self, i: int) -> Path:
        return self.cells_dir / f"{cell_name(i)}.npz"

    def record_path(self, i: int) -> Path:
        return self.cells_dir / f"{cell_name(i)}.json"

    def error_path(self, i: int) -> Path:
        return self.cells_dir / f"{cell_name(i)}.error.json"

    @staticmethod
    def made_by(manifest: dict, i: int) -> dict:
        """What makes cell ``i`` of the directory described by ``manifest`` (hashed into its fingerprint)."""
        return {"experiment": manifest["experiment"], "cell": i, "params": manifest["cells"][i]["params"],
                "replicates": manifest["replicates"], "seed": manifest["seed"], "backend": manifest["backend"],
                "regretlab": manifest.get("versions", {}).get("regretlab")}

    def scan(self, manifest: dict | None = None) -> list[CellState]:
        """The state of every cell of the manifest, each checked (fingerprint and checksum); reads every .npz."""
        m = manifest if manifest is not None else self.read_manifest()
        return [self.check_cell(m, i) for i in range(len(m["cells"]))]

    def check_cell(self, manifest: dict, i: int) -> CellState:
        """Is cell ``i`` a whole result made by this directory's config? See the module docstring."""
        npz, rec_path = self.npz_path(i), self.record_path(i)
        want = self.made_by(manifest, i)
        if not npz.exists():
            err = self.read_error(i)
            if err is not None and err.get("fingerprint") == cell_fingerprint(want):
                return CellState(i, "failed", err["error"].splitlines()[0] if err.get("error") else "")
            return CellState(i, "missing")
        try:
            with open(rec_path) as fh:
                rec = json.load(fh)
        except FileNotFoundError:
            return CellState(i, "corrupt", f"{npz.name} has no record {rec_path.name} (an interrupted write, or "
                                           "copied from elsewhere)")
        except (OSError, ValueError) as e:
            return CellState(i, "corrupt", f"{rec_path.name} is unreadable: {e}")
        if not isinstance(rec, dict) or rec.get("fingerprint") != cell_fingerprint(want):
            return CellState(i, "foreign", _foreign_reason(rec, want))
        if _sha256_file(npz) != rec.get("sha256"):
            return CellState(i, "corrupt", f"{npz.name} does not match the SHA-256 in its record (truncated or "
                                           "modified)")
        return CellState(i, "ok")

    def done(self, manifest: dict | None = None) -> set[int]:
        """Indices of the cells that are whole results of this directory's config."""
        return {c.index for c in self.scan(manifest) if c.ok}

    def discard(self, i: int) -> None:
        """Remove every file of cell ``i`` (a foreign or corrupt cell about to be recomputed)."""
        for p in (self.npz_path(i), self.record_path(i), self.error_path(i)):
            p.unlink(missing_ok=True)

    def write_cell(self, i: int, params: dict, result: dict, manifest: dict | None = None) -> None:
        """Write cell ``i``'s result: arrays, then the record that makes them count (fingerprint + SHA-256)."""
        m = manifest if manifest is not None else self.read_manifest()
        made_by = self.made_by(m, i)
        fp = cell_fingerprint(made_by)
        if result["ok"]:
            buf = io.BytesIO()
            np.savez(buf, **result["arrays"])
            data = buf.getvalue()
            _atomic_write_bytes(self.npz_path(i), data)
            _atomic_write_json(self.record_path(i),
                               {"index": i, "status": "ok", "params": params, "seconds": result["seconds"],
                                "finished": now(), "fingerprint": fp, "made_by": made_by,
                                "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
            self.error_path(i).unlink(missing_ok=True)
        else:
            _atomic_write_json(self.error_path(i),
                               {"index": i, "status": "failed", "params": params, "error": result["error"],
                                "traceback": result["traceback"], "seconds": result["seconds"], "finished": now(),
                                "fingerprint": fp, "made_by": made_by})

    def read_cell(self, i: int) -> dict:
        with np.load(self.npz_path(i), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    def read_error(self, i: int) -> dict | None:
        try:
            with open(self.error_path(i)) as fh:
                err = json.load(fh)
        except (OSError, ValueError):
            return None
        return err if isinstance(err, dict) else None

    # summaries ------------------------------------------------------------------------------------
    def write_summaries(self, curves_of: dict | None = None, outputs: dict | None = None,
                        states: list[CellState] | None = None) -> None:
        """Aggregate every verified cell into summary.csv and curves.csv (deterministic content).

        Per-replicate scalars are the outputs documented with shape ``(R,)`` (or, for experiments that
        document none, the 1-D arrays of length ``replicates``); curves are ``curves_of`` (name -> x axis).
        The SHA-256 of both files goes into the manifest, so :func:`load` can tell a stale table.
        """
        m = self.read_manifest()
        states = states if states is not None else self.scan(m)
        summary, curves = _summary_bytes(self, m, states, curves_of or {}, outputs or {})
        _atomic_write_bytes(self.path / "summary.csv", summary)
        _atomic_write_bytes(self.path / "curves.csv", curves)
        self.update_manifest(tables={"summary.csv": hashlib.sha256(summary).hexdigest(),
                                     "curves.csv": hashlib.sha256(curves).hexdigest()})


def _read_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        return f"pid {info['pid']} on {info['host']}, `regretlab {info.get('command', 'run')}` since {info['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown"


def _foreign_reason(rec, want: dict) -> str:
    made = rec.get("made_by") if isinstance(rec, dict) else None
    if not isinstance(made, dict):
        return "its record has no fingerprint (written by another program or an older regretlab)"
    diff = []
    for k in want:
        if k == "params":
            a, b = made.get("params") or {}, want["params"]
            diff += [f"{p}={a.get(p)!r} (here {b.get(p)!r})" for p in sorted(set(a) | set(b)) if a.get(p) != b.get(p)]
        elif made.get(k) != want[k]:
            diff.append(f"{k}={made.get(k)!r} (here {want[k]!r})")
    return "made by another config: " + (", ".join(diff) if diff else "fingerprint differs")


def _summary_bytes(rd: ResultsDir, m: dict, states: list[CellState], curves_of: dict, outputs: dict):
    declared = {k for k, v in outputs.items() if v.replace(" ", "").startswith("(R,)")}
    axes = m["axes"]
    rows, crows = [], []
    for c, st in zip(m["cells"], states):
        i, params = c["index"], c["params"]
        base = {"cell": i, **{k: params.get(k) for k in axes}}
        if not st.ok:
            rows.append({**base, "status": st.status, "error": st.reason})
            continue
        arrs = rd.read_cell(i)
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
    return _csv_bytes(rows), _csv_bytes(crows)


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


class ResultsWarning(UserWarning):
    """A results directory holds cells that are not results of its config (left out of every table)."""


class Table:
    """A tidy table as a dict of equal-length NumPy columns; ``to_pandas()`` gives a pandas DataFrame.

    Column types are stable whatever the cells' status: ``*_mean``, ``*_std`` and ``*_se`` are always float64
    (NaN where a cell failed or is missing), a column of integers stays int64 (float64 with NaN if some rows
    are empty), ``True``/``False`` columns are bool, anything else is an object array of strings.
    """

    def __init__(self, columns: dict[str, np.ndarray]):
        self.columns = columns

    @classmethod
    def from_csv(cls, path: Path) -> Table:
        with open(path, newline="") as fh:
            return cls.from_csv_text(fh.read())

    @classmethod
    def from_csv_text(cls, text: str) -> Table:
        reader = csv.DictReader(io.StringIO(text))
        rows = list(reader)
        names = reader.fieldnames or []
        return cls({k: _column(k, [r[k] for r in rows]) for k in names})

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
        """The table as a ``pandas.DataFrame`` (same columns, same dtypes)."""
        import pandas as pd

        return pd.DataFrame(self.columns)

    def __repr__(self):
        return f"Table({len(self)} rows: {', '.join(self.columns)})"


_FLOAT_SUFFIXES = ("_mean", "_std", "_se")


def _column(name: str, values: list[str]) -> np.ndarray:
    """One CSV column as a typed array: an empty field is NaN in a numeric column, never a string."""
    present = [v for v in values if v != ""]
    if name.endswith(_FLOAT_SUFFIXES):
        return np.array([float(v) if v != "" else np.nan for v in values], dtype=np.float64)
    if present and len(present) == len(values):
        try:
            return np.array([int(v) for v in values], dtype=np.int64)
        except ValueError:
            pass
        if all(v in ("True", "False") for v in values):
            return np.array([v == "True" for v in values])
    if present:
        try:
            return np.array([float(v) if v != "" else np.nan for v in values], dtype=np.float64)
        except ValueError:
            pass
    return np.array(values, dtype=object)


class Results:
    """A results directory opened for analysis: ``manifest``, ``summary``, ``curves``, ``cell(i)``.

    Opening it checks every cell (fingerprint and SHA-256, see the module docstring): ``states`` holds what
    was found, a foreign or corrupt cell is left out of every table with a :class:`ResultsWarning`, and
    ``cell(i)`` refuses it. If ``summary.csv`` / ``curves.csv`` are not the tables of the verified cells
    (edited, stale, or written before a cell went bad), the tables are rebuilt in memory from the cells.
    """

    def __init__(self, path: str | os.PathLike):
        self.dir = ResultsDir(path)
        if not self.dir.exists():
            raise FileNotFoundError(f"{path}: not a regretlab results directory (no manifest.json)")
        self.path = self.dir.path
        self.manifest = self.dir.read_manifest()
        self.states = self.dir.scan(self.manifest)
        self._ok = {c.index for c in self.states if c.ok}
        bad = [c for c in self.states if c.status in ("foreign", "corrupt")]
        if bad:
            listed = "; ".join(f"{cell_name(c.index)} {c.status}: {c.reason}" for c in bad[:5])
            more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
            warnings.warn(f"{self.path}: {len(bad)} cell(s) are not whole results of this directory's config and are "
                          f"left out: {listed}{more}; `regretlab resume {self.path}` recomputes them",
                          ResultsWarning, stacklevel=2)
        self._tables: dict[str, Table] = {}

    def _table(self, name: str) -> Table:
        if not self._tables:
            self._tables = {k: Table.from_csv_text(v.decode()) for k, v in self._verified_tables().items()}
        return self._tables[name]

    def _verified_tables(self) -> dict[str, bytes]:
        """summary.csv and curves.csv as stored if both hash to the manifest's SHA-256 and the stored statuses
        are those of the verified cells; else both rebuilt from the verified cells (in memory)."""
        want = self.manifest.get("tables", {})
        stored = {}
        for name in ("summary.csv", "curves.csv"):
            path = self.path / name
            data = path.read_bytes() if path.exists() else None
            if data is None or want.get(name) != hashlib.sha256(data).hexdigest():
                break
            stored[name] = data
        else:
            t = Table.from_csv_text(stored["summary.csv"].decode())
            if "status" in t and list(t["status"]) == [c.status for c in self.states]:
                return stored
        from . import registry

        exp = registry.get(self.manifest["experiment"])
        summary, curves = _summary_bytes(self.dir, self.manifest, self.states, exp.curves, exp.outputs)
        return {"summary.csv": summary, "curves.csv": curves}

    @property
    def summary(self) -> Table:
        """One row per cell: parameters, status, error, mean/std/se of every per-replicate output."""
        return self._table("summary.csv")

    @property
    def curves(self) -> Table:
        """One row per cell x checkpoint of every curve output: mean and 95% t-band."""
        return self._table("curves.csv")

    @property
    def cells(self) -> list[dict]:
        return self.manifest["cells"]

    def ok(self, i: int) -> bool:
        """Is cell ``i`` a whole result of this directory's config?"""
        return i in self._ok

    def cell(self, i: int) -> dict:
        """The raw arrays of cell ``i`` (per replicate); refuses a cell that is not a verified result."""
        if i not in self._ok:
            st = self.states[i]
            raise ValueError(f"{self.path}: cell {i} ({cell_name(i)}) is {st.status}" +
                             (f": {st.reason}" if st.reason else ""))
        return self.dir.read_cell(i)

    def finished(self) -> list[int]:
        """Indices of the verified cells."""
        return sorted(self._ok)

    def __repr__(self):
        return f"Results({str(self.path)!r}, experiment={self.manifest['experiment']!r}, cells={len(self.cells)})"


def load(path: str | os.PathLike) -> Results:
    """Open a results directory (every cell checked): ``regretlab.load("results/quickstart").summary``.

    ``summary`` and ``curves`` are :class:`Table` objects (``.to_pandas()`` gives DataFrames).
    """
    return Results(path)
