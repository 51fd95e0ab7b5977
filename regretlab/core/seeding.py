"""Seeds: one root seed -> per-(cell, replicate) generator states and per-cell instance streams.

A sweep has one root ``seed``. Cell ``c`` and replicate ``r`` get ``numpy.random.SeedSequence(seed,
spawn_key=(c, r))``; its first four 64-bit words are the replicate's xoshiro256** state
(:mod:`regretlab.core.rng`). A replicate's stream therefore depends on (seed, c, r) only: not on the
thread count, the worker count, the chunking of replicates or the backend. Instance-level randomness
(e.g. random arm means shared by all replicates of a cell) comes from ``SeedSequence(seed,
spawn_key=(c, INSTANCE_KEY))``, independent of every replicate stream.

NumPy only: importing this module (as the registry and the CLI do) does not import Numba.
"""
from __future__ import annotations

import numpy as np

__all__ = ["INSTANCE_KEY", "counter_keys", "instance_seed", "replicate_states"]

INSTANCE_KEY = 2**32 - 1  # spawn_key slot for instance-level draws; replicate indices stay below it


def replicate_states(seed: int, cell: int, replicates: int, start: int = 0) -> np.ndarray:
    """uint64 array (replicates, 4): xoshiro256** states of replicates ``start .. start+replicates-1``.

    Replicate ``r`` of cell ``cell`` always gets the same state, whatever ``start`` and chunk size.
    """
    out = np.empty((replicates, 4), dtype=np.uint64)
    for i in range(replicates):
        ss = np.random.SeedSequence(seed, spawn_key=(cell, start + i))
        st = ss.generate_state(4, dtype=np.uint64)
        if not st.any():  # the all-zero state is the one forbidden state (probability 2**-256)
            st[0] = 1
        out[i] = st
    return out


def instance_seed(seed: int, cell: int) -> np.random.SeedSequence:
    """SeedSequence for instance-level randomness of a cell (independent of every replicate stream)."""
    return np.random.SeedSequence(seed, spawn_key=(cell, INSTANCE_KEY))


def counter_keys(seed: int, cell: int, replicates: int, start: int = 0) -> np.ndarray:
    """uint64 array (replicates,): keys of the counter-based streams of :mod:`regretlab.core.detmath`.

    Replicate r's key is the first word of its ``SeedSequence(seed, spawn_key=(cell, r))`` state, so it
    depends on (seed, cell, r) only, like :func:`replicate_states`.
    """
    return np.ascontiguousarray(replicate_states(seed, cell, replicates, start)[:, 0])
