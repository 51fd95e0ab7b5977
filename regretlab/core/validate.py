"""Parameter validation with one message format.

Every public function validates its inputs once, at the API boundary, into a canonical form (float64
arrays, Python ints), and raises ``TypeError`` for a wrong kind and ``ValueError`` for a bad value. The
message always names the function (``where``), the parameter and the allowed range, e.g.::

    simulate_bandit: horizon must be an integer >= 1, got 0

Nothing is clipped or renormalised silently: a probability vector must sum to 1 within the documented
tolerance or it is rejected.
"""
from __future__ import annotations

import numbers
import operator
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "ParamError",
    "check_array",
    "check_bool",
    "check_choice",
    "check_float",
    "check_int",
    "check_prob",
    "check_probs_in_unit",
    "check_rng",
]


class ParamError(ValueError):
    """A bad parameter value; ``key`` is the parameter name, ``allowed`` a human description."""

    def __init__(self, where: str | None, key: str, allowed: str, got, kind: str = "value"):
        self.where, self.key, self.allowed, self.got = where, key, allowed, got
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}{key} must be {allowed}, got {_show(got)}")


class ParamTypeError(TypeError):
    """A parameter of the wrong kind (e.g. a string where an integer is expected)."""

    def __init__(self, where: str | None, key: str, allowed: str, got):
        self.where, self.key, self.allowed, self.got = where, key, allowed, got
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}{key} must be {allowed}, got {_show(got)} ({type(got).__name__})")


def _show(x) -> str:
    if isinstance(x, np.ndarray) and x.size > 8:
        return f"array of shape {x.shape}"
    if isinstance(x, float):
        return repr(x)
    return repr(x) if not isinstance(x, np.ndarray) else np.array2string(x, precision=6)


def _range_text(low, high, low_open=False, high_open=False) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high}")
    return " and ".join(parts)


def check_int(name: str, value, low: int | None = None, high: int | None = None, where: str | None = None) -> int:
    """Return ``value`` as a Python int, checking ``low <= value <= high``. Bools are rejected."""
    rng = _range_text(low, high)
    allowed = "an integer" + (f" {rng}" if rng else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ParamTypeError(where, name, allowed, value)
    value = operator.index(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ParamError(where, name, allowed, value)
    return int(value)


def check_float(
    name: str,
    value,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    where: str | None = None,
) -> float:
    """Return ``value`` as a finite Python float in the given (closed or open) range."""
    rng = _range_text(low, high, low_open, high_open)
    allowed = "a finite number" + (f" {rng}" if rng else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParamTypeError(where, name, allowed, value)
    value = float(value)
    bad = not np.isfinite(value)
    if low is not None:
        bad |= value <= low if low_open else value < low
    if high is not None:
        bad |= value >= high if high_open else value > high
    if bad:
        raise ParamError(where, name, allowed, value)
    return value


def check_bool(name: str, value, where: str | None = None) -> bool:
    """Return ``value`` as a bool; only true booleans are accepted (not 0/1 or strings)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ParamTypeError(where, name, "true or false", value)
    return bool(value)


def check_choice(name: str, value, choices: Iterable[str], where: str | None = None) -> str:
    """Return ``value`` if it is one of ``choices``; the error suggests the closest choice."""
    choices = list(choices)
    allowed = "one of " + ", ".join(repr(c) for c in choices)
    if not isinstance(value, str):
        raise ParamTypeError(where, name, allowed, value)
    if value not in choices:
        import difflib

        close = difflib.get_close_matches(value, choices, n=1)
        if close:
            allowed += f" (did you mean {close[0]!r}?)"
        raise ParamError(where, name, allowed, value)
    return value


def check_array(
    name: str,
    x,
    ndim: int | None = None,
    shape: Sequence[int | None] | None = None,
    dtype=np.float64,
    finite: bool = True,
    low: float | None = None,
    high: float | None = None,
    where: str | None = None,
) -> np.ndarray:
    """Convert ``x`` to a C-contiguous array of ``dtype`` and check rank, shape, finiteness and range.

    ``shape`` may hold ``None`` for free axes. ``low``/``high`` are inclusive bounds on every entry.
    """
    try:
        arr = np.asarray(x, dtype=dtype)
        if arr.ndim:
            arr = np.ascontiguousarray(arr)
    except (TypeError, ValueError):
        raise ParamTypeError(where, name, f"an array of {np.dtype(dtype).name}", x) from None
    if ndim is not None and arr.ndim != ndim:
        raise ParamError(where, name, f"a {ndim}-D array", f"an array of shape {arr.shape}")
    if shape is not None:
        ok = arr.ndim == len(shape) and all(s is None or s == d for s, d in zip(shape, arr.shape))
        if not ok:
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ParamError(where, name, f"an array of shape {want}", f"an array of shape {arr.shape}")
    if finite and np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
        raise ParamError(where, name, "finite (no inf or nan)", arr)
    if low is not None or high is not None:
        rng = _range_text(low, high)
        bad = np.zeros(arr.shape, dtype=bool)
        if low is not None:
            bad |= arr < low
        if high is not None:
            bad |= arr > high
        if np.any(bad):
            i = tuple(int(j) for j in np.argwhere(bad)[0])
            idx = i[0] if len(i) == 1 else i
            raise ParamError(where, f"{name}[{idx}]" if arr.ndim else name, f"{rng}", arr[i].item())
    return arr


def check_prob(name: str, p, atol: float = 1e-12, where: str | None = None, axis: int = -1) -> np.ndarray:
    """A probability vector (or a stack of them along ``axis``): entries >= 0, sums equal 1 within ``atol``.

    Not renormalised: a vector off by more than ``atol`` is rejected.
    """
    arr = check_array(name, p, low=0.0, where=where)
    if arr.ndim == 0:
        raise ParamError(where, name, "a probability vector", arr)
    s = arr.sum(axis=axis)
    dev = np.abs(s - 1.0)
    if np.any(dev > atol):
        raise ParamError(where, name, f"a probability vector summing to 1 within {atol:g}",
                         f"sum {np.atleast_1d(s).flat[int(np.argmax(dev))]!r}")
    return arr


def check_probs_in_unit(name: str, x, where: str | None = None) -> np.ndarray:
    """Every entry in [0, 1] (e.g. Bernoulli means); not a distribution."""
    return check_array(name, x, low=0.0, high=1.0, where=where)


def check_rng(rng, where: str | None = None, name: str = "rng") -> np.random.Generator:
    """An explicit ``numpy.random.Generator``: a Generator (used as is, and advanced), a SeedSequence or
    BitGenerator, or an int seed >= 0. There is no default (``None`` is rejected) and the global random
    state is never used, so results are reproducible.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (np.random.SeedSequence, np.random.BitGenerator)):
        return np.random.default_rng(rng)
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(check_int(name, rng, low=0, where=where))
    raise ParamTypeError(where, name, "a numpy.random.Generator, SeedSequence or int seed >= 0 (no default and "
                         "never the global random state: results must be reproducible)", rng)
