"""Registry of named experiments and their parameter specifications.

An experiment is a pure function ``simulate(params, seeds, backend) -> dict of NumPy arrays``
registered with :func:`experiment`. Its parameter specs (:class:`Int`, :class:`Float`, :class:`Choice`,
...) validate TOML values before any work starts, with messages naming the key and the allowed values.

The registry does not name any research area: areas are listed in :mod:`regretlab.areas` (and
third-party plugins in the ``regretlab.areas`` entry-point group) and imported only when asked.
"""
from __future__ import annotations

import difflib
import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .seeding import counter_keys, instance_seed, replicate_states
from .validate import ParamError, ParamTypeError, check_bool, check_choice, check_float, check_int

__all__ = [
    "Bool",
    "Choice",
    "Experiment",
    "Float",
    "FloatList",
    "Int",
    "Param",
    "Seeds",
    "Str",
    "experiment",
    "get",
    "get_plotter",
    "list_experiments",
    "load_areas",
    "plotter",
]


# ---------------------------------------------------------------------------------------------------
# Parameter specs


@dataclass(frozen=True)
class Param:
    default: Any = None
    doc: str = ""

    def check(self, key: str, value, where: str | None = None):  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Int(Param):
    low: int | None = None
    high: int | None = None

    def check(self, key, value, where=None):
        return check_int(key, value, low=self.low, high=self.high, where=where)

    def describe(self):
        rng = " ".join(s for s in [f">= {self.low}" if self.low is not None else "",
                                   f"<= {self.high}" if self.high is not None else ""] if s)
        return f"int {rng}".strip()


@dataclass(frozen=True)
class Float(Param):
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def check(self, key, value, where=None):
        return check_float(key, value, self.low, self.high, self.low_open, self.high_open, where=where)

    def describe(self):
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low}")
        if self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {self.high}")
        return "float " + " ".join(parts) if parts else "float"


@dataclass(frozen=True)
class Choice(Param):
    choices: tuple = ()

    def check(self, key, value, where=None):
        return check_choice(key, value, self.choices, where=where)

    def describe(self):
        return "one of " + "|".join(self.choices)


@dataclass(frozen=True)
class Bool(Param):
    def check(self, key, value, where=None):
        return check_bool(key, value, where=where)

    def describe(self):
        return "bool"


@dataclass(frozen=True)
class Str(Param):
    def check(self, key, value, where=None):
        if not isinstance(value, str):
            raise ParamTypeError(where, key, "a string", value)
        return value

    def describe(self):
        return "str"


@dataclass(frozen=True)
class FloatList(Param):
    """A list of floats (e.g. arm means), each checked against [low, high]; length >= min_len."""

    low: float | None = None
    high: float | None = None
    min_len: int = 1

    def check(self, key, value, where=None):
        if not isinstance(value, (list, tuple, np.ndarray)):
            raise ParamTypeError(where, key, "a list of numbers", value)
        if len(value) < self.min_len:
            raise ParamError(where, key, f"a list of at least {self.min_len} numbers", list(value))
        return [check_float(f"{key}[{i}]", v, self.low, self.high, where=where) for i, v in enumerate(value)]

    def describe(self):
        rng = f" in [{self.low}, {self.high}]" if self.low is not None and self.high is not None else ""
        return f"list of >= {self.min_len} floats{rng}"


# ---------------------------------------------------------------------------------------------------
# Seeds handed to an experiment


@dataclass(frozen=True)
class Seeds:
    """The randomness of one cell: replicate generator states and an instance-level SeedSequence.

    ``states`` holds replicates ``start .. start + replicates - 1`` of the cell; replicate r's state
    depends on (seed, cell, r) only, so any chunking of replicates gives the same numbers.

    ``workdir``: a scratch directory of this cell inside the results directory
    (``<out>/work/c00007``, not created until an experiment asks), set when the cell runs in a sweep and
    None otherwise. Experiments whose replicates are expensive (LLM agents) keep per-replicate results and
    response caches there, so that a killed sweep resumes inside a cell; it is never read for the numbers
    of a finished cell, and results must not depend on whether it is set.

    ``progress``: set by the sweep; experiments call :meth:`report`, never ``progress`` directly.
    """

    seed: int
    cell: int
    replicates: int
    start: int = 0
    workdir: str | None = None
    progress: Callable[[int, int, str], None] | None = field(default=None, compare=False, repr=False)

    def report(self, done: int, total: int, unit: str = "replicates") -> None:
        """Tell the sweep how far this cell has come (``done`` of ``total`` ``unit``); a no-op outside a sweep.

        Long cells call it from their loops (replicates, MDPs, policies, chunks), so that ``regretlab run``
        shows a bar with an ETA for each running cell instead of a silent ``0/1``. It must never change
        the numbers; the sweep throttles what it displays, so calling it once per loop step is fine.
        """
        if self.progress is not None:
            self.progress(int(done), int(total), unit)

    def in_blocks(self, fn: Callable[[Seeds], dict], outputs: Mapping[str, str], *, size: int) -> dict:
        """``fn(self)``, computed over blocks of at most ``size`` replicates, reporting each block done.

        For experiments whose replicates run inside one compiled kernel: the cell's replicates are split into
        consecutive blocks (``start`` offsets), each run by ``fn`` on its own :class:`Seeds`, and the outputs
        documented as per-replicate (``"(R, ..."`` in ``outputs``) are concatenated in replicate order; every
        other output must be the same in every block (checked). Replicate r's streams depend on (seed, cell, r)
        only, so the result is bit-identical to one call whatever ``size`` is (tested).
        """
        from dataclasses import replace

        size = int(size)
        if size < 1:
            raise ValueError(f"in_blocks: size must be an integer >= 1, got {size}")
        # at least two replicates per kernel thread, so that a block never starves the kernel's prange
        size = max(size, 2 * _kernel_threads())
        if size >= self.replicates:
            out = fn(self)
            self.report(self.replicates, self.replicates)
            return out
        per_rep = {k for k, v in outputs.items() if v.replace(" ", "").startswith(("(R,", "(R)"))}
        parts = []
        for a in range(0, self.replicates, size):
            b = min(self.replicates, a + size)
            parts.append(fn(replace(self, start=self.start + a, replicates=b - a, progress=None)))
            self.report(b, self.replicates)
        out = {}
        for k, v in parts[0].items():
            if k in per_rep:
                out[k] = np.concatenate([np.asarray(p[k]) for p in parts], axis=0)
            else:
                if not all(np.array_equal(np.asarray(p[k]), np.asarray(v)) for p in parts[1:]):
                    raise ValueError(f"in_blocks: output {k!r} differs between blocks; document it as '(R, ...)' "
                                     "if it is per replicate")
                out[k] = v
        return out

    @property
    def states(self) -> np.ndarray:
        return replicate_states(self.seed, self.cell, self.replicates, self.start)

    @property
    def keys(self) -> np.ndarray:
        """uint64 (replicates,) keys of the replicates' counter-based streams (:mod:`regretlab.core.detmath`)."""
        return counter_keys(self.seed, self.cell, self.replicates, self.start)

    @property
    def instance(self) -> np.random.SeedSequence:
        return instance_seed(self.seed, self.cell)

    def instance_rng(self) -> np.random.Generator:
        return np.random.default_rng(self.instance)


def _kernel_threads() -> int:
    """The threads a compiled kernel runs on (Numba's: ``NUMBA_NUM_THREADS``, else every core)."""
    return int(os.environ.get("NUMBA_NUM_THREADS") or os.cpu_count() or 1)


# ---------------------------------------------------------------------------------------------------
# Experiments


@dataclass(frozen=True)
class Experiment:
    name: str
    func: Callable[[dict, Seeds, str], dict]
    summary: str
    params: Mapping[str, Param]
    small: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, str] = field(default_factory=dict)
    curves: Mapping[str, str] = field(default_factory=dict)  # output name -> name of its x-axis output
    cite: tuple = ()
    check: Callable[[dict], None] | None = None  # cross-parameter validation of one resolved cell
    backends: tuple = ("numba", "numpy", "cupy", "python")
    # parameter -> reason (str) it never changes the outputs, or callable(resolved params) -> reason | None
    inert: Mapping[str, Any] = field(default_factory=dict)

    def inert_reason(self, key: str, resolved: Mapping[str, Any]) -> str | None:
        """Why parameter ``key`` cannot change the outputs of the resolved cell ``resolved``, or None when it can.

        Declared with ``experiment(..., inert={key: reason})``; ``reason`` is a string (inert in every cell:
        an execution knob whose contract is bit-identical outputs, such as a thread count) or a callable
        ``resolved -> str | None`` (inert in some cells only, e.g. a policy parameter read by one policy).
        tests/test_params_reach.py checks both directions on every registered experiment: a parameter that is
        not declared inert must change the outputs, and a declared-inert one must leave them bit-identical.
        """
        why = self.inert.get(key)
        return why(resolved) if callable(why) else why

    def resolve(self, given: Mapping[str, Any], where: str | None = None, key_prefix: str = "") -> dict:
        """Fill defaults, validate every value; unknown keys raise with a 'did you mean'."""
        unknown = [k for k in given if k not in self.params]
        if unknown:
            k = unknown[0]
            close = difflib.get_close_matches(k, list(self.params), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ParamError(where, f"{key_prefix}{k}",
                             f"a parameter of {self.name}: one of {', '.join(self.params)}{hint}", k)
        out = {}
        for k, spec in self.params.items():
            v = given.get(k, spec.default)
            out[k] = None if v is None else spec.check(f"{key_prefix}{k}", v, where=where)
        if self.check is not None:
            self.check(out)
        return out

    def __call__(self, params: Mapping[str, Any], seeds: Seeds, backend: str = "auto") -> dict:
        return self.func(self.resolve(params, where=self.name), seeds, backend)


_REGISTRY: dict[str, Experiment] = {}
_PLOTTERS: dict[str, Callable] = {}
_AREAS_LOADED = False


def experiment(name: str, *, summary: str, params: Mapping[str, Param], small=None, outputs=None,
               curves=None, cite=(), check=None, backends=("numba", "numpy", "cupy", "python"), inert=None):
    """Decorator registering ``func(params, seeds, backend)`` under ``name`` (immutable once set).

    ``inert``: the parameters that do not change the outputs of some or all cells, each with its reason (a
    string) or a callable ``resolved params -> reason | None`` (see :meth:`Experiment.inert_reason`). Every other
    accepted parameter must reach the outputs; a parameter a cell does not use is better refused by ``check``.
    """

    def deco(func):
        if name in _REGISTRY and _REGISTRY[name].func.__qualname__ != func.__qualname__:
            raise ValueError(f"experiment {name!r} is already registered")
        unknown = [k for k in (inert or {}) if k not in params]
        if unknown:
            raise ValueError(f"experiment {name!r}: inert names {unknown[0]!r}, which is not one of its parameters")
        _REGISTRY[name] = Experiment(name, func, summary, dict(params), dict(small or {}), dict(outputs or {}),
                                     dict(curves or {}), tuple(cite), check, tuple(backends), dict(inert or {}))
        return func

    return deco


def plotter(kind: str):
    """Decorator registering a plot kind ``fn(results, spec: dict, path_stem) -> list of paths``."""

    def deco(func):
        _PLOTTERS[kind] = func
        return func

    return deco


def load_areas() -> None:
    """Import every area's ``experiments`` module, once: the built-in list, the comma-separated modules of the
    ``REGRETLAB_AREAS`` environment variable (experiments of one's own, found by every worker process of a
    sweep too), then the ``regretlab.areas`` entry-point plugins of installed packages."""
    global _AREAS_LOADED
    if _AREAS_LOADED:
        return
    from regretlab.areas import AREAS

    modules = list(AREAS)
    # modules of one's own, e.g. REGRETLAB_AREAS=mylab.experiments: also imported by worker processes
    modules += [m.strip() for m in os.environ.get("REGRETLAB_AREAS", "").split(",") if m.strip() not in ("", *modules)]
    try:
        from importlib.metadata import entry_points

        modules += [ep.value for ep in entry_points(group="regretlab.areas") if ep.value not in modules]
    except Exception:  # metadata unavailable (e.g. running from a source tree): built-ins only
        pass
    for mod in modules:
        importlib.import_module(mod)
    _AREAS_LOADED = True


def get(name: str, where: str | None = None) -> Experiment:
    load_areas()
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ParamError(where, "experiment", f"a registered experiment: one of {', '.join(sorted(_REGISTRY))}{hint}",
                         name)
    return _REGISTRY[name]


def get_plotter(kind: str, where: str | None = None):
    load_areas()
    from . import plots  # noqa: F401  (registers the generic kinds)

    if kind not in _PLOTTERS:
        raise ParamError(where, "plot kind", "one of " + ", ".join(sorted(_PLOTTERS)), kind)
    return _PLOTTERS[kind]


def list_experiments() -> list[Experiment]:
    load_areas()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]
