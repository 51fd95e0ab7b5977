"""Helpers shared by the benchmark scripts: timing, machine description, CuPy synchronisation, JSON output.

Imported as ``from _common import ...``: the scripts' folder is on ``sys.path`` when run as
``python benchmarks/<name>.py`` and ``regretlab bench`` puts it there.
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np


def best_of(fn, repeat=3, sync=None):
    """Best wall time of ``repeat`` calls after one warm-up call (compilation, allocations); ``sync`` is
    called before each clock read (a GPU device synchronisation)."""
    fn()
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        best = min(best, time.perf_counter() - t0)
    return best


def machine() -> dict:
    import numba

    return {"python": platform.python_version(), "numpy": np.__version__, "numba": numba.__version__,
            "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "numba_threads": numba.config.NUMBA_NUM_THREADS}


def cpu_backends():
    """(["numba", "numpy"] + ["cupy"] when a CUDA device is usable, the CuPy synchronise function or None)."""
    from regretlab.core.backends import cupy_available

    if not cupy_available():
        return ["numba", "numpy"], None
    import cupy

    return ["numba", "numpy", "cupy"], cupy.cuda.Device().synchronize


def write_json(payload: dict, out) -> None:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"written: {out}", file=sys.stderr)
