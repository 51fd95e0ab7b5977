"""Argument validation shared by the environments of ``regretlab_envs``.

One message format, as in ``regretlab.core.validate`` (which this package must not import):
``"<Owner>: <name> must be <rule>, got <value>"``. ``TypeError`` for a wrong kind, ``ValueError``
for a bad value; every check returns the argument in one canonical form (Python ``int``/``float``,
read-only float64 arrays).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["as_distribution", "check_choice", "check_float", "check_int", "check_vector"]


def check_int(owner: str, name: str, value: object, *, low: int | None = None) -> int:
    """Return ``value`` as a Python int; reject bools, non-integral numbers and values below ``low``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an integer, got {value!r} ({type(value).__name__})")
    out = int(value)
    if low is not None and out < low:
        raise ValueError(f"{owner}: {name} must be an integer >= {low}, got {out}")
    return out


def check_float(
    owner: str,
    name: str,
    value: object,
    *,
    low: float | None = None,
    low_open: bool = False,
) -> float:
    """Return ``value`` as a finite Python float, optionally ``> low`` (``low_open``) or ``>= low``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r} ({type(value).__name__})")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{owner}: {name} must be finite, got {out}")
    if low is not None:
        if low_open and not out > low:
            raise ValueError(f"{owner}: {name} must be > {low}, got {out}")
        if not low_open and not out >= low:
            raise ValueError(f"{owner}: {name} must be >= {low}, got {out}")
    return out


def check_vector(
    owner: str,
    name: str,
    value: object,
    *,
    min_len: int = 1,
    low: float | None = None,
    high: float | None = None,
) -> np.ndarray:
    """Return ``value`` as a read-only 1-D float64 array of finite entries in ``[low, high]``.

    ``min_len`` is the smallest accepted length (for a mean vector: the number of arms K).
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{owner}: {name} must be a 1-D sequence of numbers, got {value!r}")
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{owner}: {name} must be a 1-D sequence of numbers, got {value!r}") from exc
    if arr.ndim != 1:
        raise ValueError(f"{owner}: {name} must be 1-D, got an array of shape {arr.shape}")
    if arr.shape[0] < min_len:
        raise ValueError(f"{owner}: {name} must have at least {min_len} entries, got {arr.shape[0]}: {value!r}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{owner}: {name} must be finite, got {name}[{i}] = {arr[i]}")
    if low is not None or high is not None:
        lo = -np.inf if low is None else low
        hi = np.inf if high is None else high
        bad = np.flatnonzero((arr < lo) | (arr > hi))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{owner}: {name} must lie in [{lo}, {hi}], got {name}[{i}] = {arr[i]}")
    arr.setflags(write=False)
    return arr


def check_bool(owner: str, name: str, value: object) -> bool:
    """``value`` as a bool; only True / False (Python or NumPy) are accepted."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(owner: str, name: str, value: object, choices: tuple) -> object:
    """Return ``value`` if it is one of ``choices``; otherwise list the accepted values."""
    if value not in choices:
        raise ValueError(f"{owner}: {name} must be one of {list(choices)}, got {value!r}")
    return value


def as_distribution(action: object, n: int) -> tuple[np.ndarray, bool]:
    """An agent's distribution action over ``n`` choices, renormalised, and whether it was replaced.

    A vector of the wrong length, with a negative or non-finite entry, or with sum 0 is not a distribution:
    the uniform distribution is returned with ``True`` (the fallback rule of the online-learning and game
    environments; never an error, never a better action).
    """
    try:
        pi = np.asarray(action, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return np.full(n, 1.0 / n), True
    if pi.shape != (n,) or not np.all(np.isfinite(pi)) or pi.min() < 0 or not pi.sum() > 0:
        return np.full(n, 1.0 / n), True
    return pi / pi.sum(), False
