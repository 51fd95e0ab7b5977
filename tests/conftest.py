"""Shared fixtures: the gpu marker and the backend matrix."""
import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


def _gpu() -> bool:
    from regretlab.core.backends import cupy_available

    return cupy_available()


def pytest_collection_modifyitems(config, items):
    if _gpu():
        return
    skip = pytest.mark.skip(reason="needs CuPy and a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def _backends():
    out = ["numba", "numpy"]
    if _gpu():
        out.append("cupy")
    return out


@pytest.fixture(params=_backends())
def backend(request):
    """Every backend present on this machine (CuPy only with a GPU)."""
    return request.param
