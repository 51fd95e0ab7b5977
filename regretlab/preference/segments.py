"""Trajectory segments and segment pairs (specs/regret-preference.md §4).

A segment of length k is ``(s_0, a_0, s_1, ..., a_{k-1}, s_k)``. :func:`enumerate_segments` rolls out every
action sequence of length k from every start state of a deterministic MDP (``A**k`` per start; 64 for the
delivery domain's k = 3) and keeps one copy of each distinct segment. Once a terminal state is entered the
remaining steps are absorbing: the state stays, features are zero (spec §4.1).

Two segments are the *same* here when their start, end, summed features and discounted summed features
agree: in a deterministic MDP those are everything either preference model reads, so duplicates carry no
information. (The authors' code deduplicates *pairs* by (start, end, summed features) of both segments;
we deduplicate segments, which also merges segments whose features differ only in order, and sample
pairs of distinct segments uniformly: :func:`sample_pairs`. The discounted sums keep order-dependent
segments apart, since the regret of §2.2 discounts with the gamma of V*.)
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..core.validate import ParamError, check_int, check_rng
from .domain import PreferenceMDP

__all__ = ["Segments", "enumerate_segments", "pair_count", "sample_pairs", "sample_segments",
           "segments_from_actions"]


@dataclasses.dataclass(frozen=True, eq=False)
class Segments:
    """A table of n segments of length k on one MDP.

    ``states`` (n, k+1) int64, ``actions`` (n, k) int64, ``phi`` (n, F) summed features (undiscounted, the
    partial return's), ``phi_disc`` (n, F) ``sum_t gamma^t phi_t`` (the regret's), ``n_live`` (n,) number
    of steps taken from a non-terminal state.
    """

    states: np.ndarray
    actions: np.ndarray
    phi: np.ndarray
    phi_disc: np.ndarray
    n_live: np.ndarray
    gamma: float

    @property
    def n(self) -> int:
        return self.states.shape[0]

    @property
    def k(self) -> int:
        return self.actions.shape[1]

    @property
    def start(self) -> np.ndarray:
        return self.states[:, 0]

    @property
    def end(self) -> np.ndarray:
        return self.states[:, -1]

    def take(self, idx) -> Segments:
        idx = np.asarray(idx)
        return Segments(self.states[idx], self.actions[idx], self.phi[idx], self.phi_disc[idx], self.n_live[idx],
                        self.gamma)


def segments_from_actions(mdp: PreferenceMDP, starts, actions, rng=None) -> Segments:
    """Rollouts of action sequences ``actions`` (n, k) from states ``starts`` (n,).

    Deterministic MDPs need no ``rng``; stochastic ones draw each outcome from ``rng`` (one uniform per
    segment and step, compared with the cumulative outcome probabilities).
    """
    where = "segments_from_actions"
    gen = None
    if not mdp.deterministic:
        if rng is None:
            raise ParamError(where, "rng", "a generator for the outcomes of a stochastic MDP", None)
        gen = check_rng(rng, where=where)
    acts = np.asarray(actions, dtype=np.int64)
    s = np.asarray(starts, dtype=np.int64).copy()
    if acts.ndim != 2 or s.shape != (acts.shape[0],):
        raise ParamError(where, "actions", "an (n, k) integer array with starts of shape (n,)",
                         f"shapes {acts.shape} and {s.shape}")
    if acts.size and (acts.min() < 0 or acts.max() >= mdp.n_actions):
        raise ParamError(where, "actions", f"actions in [0, {mdp.n_actions - 1}]", f"[{acts.min()}, {acts.max()}]")
    if s.size and (s.min() < 0 or s.max() >= mdp.n_states):
        raise ParamError(where, "starts", f"states in [0, {mdp.n_states - 1}]", f"[{s.min()}, {s.max()}]")
    n, k = acts.shape
    F = mdp.n_features
    states = np.empty((n, k + 1), dtype=np.int64)
    states[:, 0] = s
    phi = np.zeros((n, F))
    phi_disc = np.zeros((n, F))
    n_live = np.zeros(n, dtype=np.int64)
    disc = 1.0
    cum = np.cumsum(mdp.prob, axis=2)
    for t in range(k):
        a = acts[:, t]
        if gen is None:
            o = np.zeros(n, dtype=np.int64)
        else:  # first outcome whose cumulative probability exceeds the uniform (zero-probability ones never)
            u = gen.random(n)
            o = np.minimum((u[:, None] >= cum[s, a]).sum(axis=1), mdp.prob.shape[2] - 1)
        f = mdp.features[s, a, o]
        n_live += ~mdp.terminal[s]
        phi += f
        phi_disc += disc * f
        s = mdp.next_state[s, a, o]
        states[:, t + 1] = s
        disc *= mdp.gamma
    return Segments(states, acts, phi, phi_disc, n_live, mdp.gamma)


def enumerate_segments(mdp: PreferenceMDP, k: int, starts=None, *, unique: bool = True) -> Segments:
    """Every length-k segment from ``starts`` (default ``mdp.starts``) under every action sequence.

    Sequences run in lexicographic order (action 0 first); with ``unique`` the first of each group of
    identical segments (module docstring) is kept, in that order.
    """
    k = check_int("k", k, low=1, high=8, where="enumerate_segments")
    starts = mdp.starts if starts is None else np.asarray(starts, dtype=np.int64)
    A = mdp.n_actions
    if A**k * starts.size > 20_000_000:
        raise ParamError("enumerate_segments", "k", f"such that A**k * starts <= 2e7 (A = {A})", k)
    seqs = np.array(np.meshgrid(*[np.arange(A)] * k, indexing="ij")).reshape(k, -1).T  # (A**k, k)
    S0 = np.repeat(starts, seqs.shape[0])
    acts = np.tile(seqs, (starts.size, 1))
    if not mdp.deterministic:
        raise ParamError("enumerate_segments", "mdp", "a deterministic MDP (use sample_segments for stochastic "
                         "ones)", mdp.name)
    segs = segments_from_actions(mdp, S0, acts)
    return _unique(segs, stochastic=False) if unique else segs


def _unique(segs: Segments, stochastic: bool) -> Segments:
    if stochastic:  # everything: states, actions and realised features
        key = np.concatenate([segs.states.astype(float), segs.actions.astype(float), segs.phi, segs.phi_disc], axis=1)
    else:
        key = np.concatenate([segs.states[:, [0, -1]].astype(float), segs.phi, segs.phi_disc], axis=1)
    _, first = np.unique(key, axis=0, return_index=True)
    return segs.take(np.sort(first))


def sample_segments(mdp: PreferenceMDP, k: int, rng, *, per_state: int = 5, max_segments: int = 30_000,
                    max_sweeps: int = 200) -> Segments:
    """Distinct segments of a stochastic MDP by random rollouts (spec §4.1, authors' ``subsample_env_trajs``).

    Each sweep draws ``per_state`` uniformly random action sequences from every start state and rolls
    them out; distinct segments (same states, actions and realised features) are kept until
    ``max_segments`` or ``max_sweeps`` sweeps, in the order found.
    """
    where = "sample_segments"
    k = check_int("k", k, low=1, high=8, where=where)
    per_state = check_int("per_state", per_state, low=1, where=where)
    max_segments = check_int("max_segments", max_segments, low=2, where=where)
    gen = check_rng(rng, where=where)
    found: Segments | None = None
    for _ in range(max_sweeps):
        starts = np.repeat(mdp.starts, per_state)
        acts = gen.integers(0, mdp.n_actions, size=(starts.size, k))
        new = segments_from_actions(mdp, starts, acts, gen)
        if found is None:
            merged = new
        else:
            merged = Segments(*(np.concatenate([a, b]) for a, b in zip(
                (found.states, found.actions, found.phi, found.phi_disc, found.n_live),
                (new.states, new.actions, new.phi, new.phi_disc, new.n_live))), mdp.gamma)
        found = _unique(merged, stochastic=True)
        if found.n >= max_segments:
            return found.take(np.arange(max_segments))
    return found


def pair_count(n: int) -> int:
    """Number of unordered pairs of distinct segments, n (n - 1) / 2."""
    return n * (n - 1) // 2


def _unrank_pairs(r: np.ndarray):
    """Pair rank r -> (i, j) with i < j, ranks ordered by j then i: r = j (j - 1) / 2 + i."""
    j = np.floor((1.0 + np.sqrt(1.0 + 8.0 * r.astype(float))) / 2.0).astype(np.int64)
    j -= (j * (j - 1) // 2) > r  # float rounding guards
    j += ((j + 1) * j // 2) <= r
    i = r - j * (j - 1) // 2
    return i, j


def sample_pairs(n_segments: int, n_pairs: int, rng) -> np.ndarray:
    """``n_pairs`` pairs (i, j), i < j, of distinct segments, uniformly without replacement (spec §4.2).

    If fewer than ``n_pairs`` pairs exist, all of them are taken (in random order) and the rest are drawn
    uniformly with replacement. Returns an (n_pairs, 2) int64 array; which of the two is "segment 1" does
    not matter, since both models' likelihoods are symmetric under swapping a pair and its label (so the
    authors' augmentation by swapped copies changes nothing: tests/preference).
    """
    where = "sample_pairs"
    n = check_int("n_segments", n_segments, low=2, where=where)
    N = check_int("n_pairs", n_pairs, low=1, where=where)
    gen = check_rng(rng, where=where)
    C = pair_count(n)
    if N <= C:
        r = gen.choice(C, size=N, replace=False) if C < 2**62 else None
    else:
        r = np.concatenate([gen.permutation(C), gen.integers(0, C, size=N - C)])
    i, j = _unrank_pairs(np.asarray(r, dtype=np.int64))
    return np.stack([i, j], axis=1)

