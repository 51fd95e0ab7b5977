"""Backend resolution: ``"auto" | "numpy" | "numba" | "cupy"`` (and ``"python"``, the reference).

The only place CuPy is imported, lazily. ``"auto"`` picks CuPy when it imports and a CUDA device is
present, else Numba. Importing regretlab never imports CuPy or compiles a kernel.
"""
from __future__ import annotations

import functools
import os

from .validate import ParamError

BACKENDS = ("auto", "numba", "numpy", "cupy", "python")


class BackendUnavailable(RuntimeError):
    """The requested backend cannot run here (e.g. ``cupy`` without CuPy or a CUDA device)."""


@functools.lru_cache(maxsize=1)
def cupy_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device (``REGRETLAB_NO_GPU=1`` forces False)."""
    if os.environ.get("REGRETLAB_NO_GPU"):
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # ImportError, CUDA driver errors: no usable GPU
        return False


def get_cupy():
    """Import and return the ``cupy`` module, or raise a clear error."""
    if not cupy_available():
        raise BackendUnavailable(
            "backend 'cupy' needs CuPy and a CUDA device: pip install 'regretlab[gpu]' on a GPU machine "
            "(cupy-cuda13x; 'regretlab[gpu-cuda12]' for CUDA 12 drivers)"
        )
    import cupy

    return cupy


def resolve(backend: str, where: str | None = None, supported=("numba", "numpy", "cupy", "python")) -> str:
    """Map a requested backend to a concrete one among ``supported`` (``auto`` -> cupy or numba)."""
    if backend not in BACKENDS:
        raise ParamError(where, "backend", "one of " + ", ".join(repr(b) for b in BACKENDS), backend)
    if backend == "auto":
        backend = "cupy" if ("cupy" in supported and cupy_available()) else "numba"
    if backend not in supported:
        raise ParamError(where, "backend", "one of " + ", ".join(repr(b) for b in supported), backend)
    if backend == "cupy":
        get_cupy()
    return backend
