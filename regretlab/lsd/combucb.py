"""The block learners of [LCCG22] for recharging bandits: ``isi_combucb1`` and its baseline ``combucb1``.

Laforgue, Clerici, Cesa-Bianchi, Gilad-Bachrach, "A Last Switch Dependent Analysis of Satiation and Seasonality
in Bandits", AISTATS 2022 (arXiv 2110.11819), as the spec (§8, item 3) reads their public code; the paper's
text was not at hand, so the constants below are the code's as the spec reports them.

- ``isi_combucb1`` ("initial state independent"): blocks of d + 1 rounds. The index of (arm i, delay s) is
  hat_mu + sqrt(1.5 ln t / n) once seen, d sqrt(1.5 ln(k d)) before. Each block plays the sequence of d + 1 arms
  that maximises the sum of the indices of its **non-first** pulls, the delay of a non-first pull being the
  number of rounds since the same arm's previous pull inside the block (1..d); an arm's first pull in the
  block earns 0 in the objective, its reward is collected but not used to update the statistics.
- ``combucb1``: blocks of d rounds, every pull counted; a first pull of arm i at block position j is valued
  at its actual delay min(s_i + j, d) (s_i the arm's delay at the block start; the code's ``get_Mx_rwd``),
  every reward is recorded at min(actual delay, d); statistics live on delays 1..d.

[LCCG22] compute the block with an LP relaxation plus sequential fixing (cvxopt); here the block is chosen by
exact enumeration of the k^L sequences (k^L <= ``MAX_SEQUENCES``), so the planner is exact where theirs
approximates (a documented deviation). Ties go to the first sequence in lexicographic order. Recharging
instances only (their experiments use the delay convention), one play per round, no idling.

Rewards use the counter streams of :mod:`regretlab.lsd._kernels` (counter 2 (t k + a) of the replicate's key),
so the realised rewards equal those any other learner would see for the same play.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from regretlab.core.detmath import counter_uniforms
from regretlab.core.validate import ParamError, check_int

from .models import Instance

__all__ = ["BLOCK_LEARNERS", "MAX_SEQUENCES", "block_objective", "run_block_learner"]

BLOCK_LEARNERS = ("isi_combucb1", "combucb1")
MAX_SEQUENCES = 200_000


def block_objective(k: int, d: int, variant: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sequences (S, L) int, M (S, k d), F (S, k, L)): M[s, i d + (delay - 1)] counts the non-first pulls of
    sequence s at (arm i, in-block delay); F[s, i, j] = 1 where arm i's first pull in the block is at position j
    (valued by combucb1 at the arm's actual delay, by isi_combucb1 at 0). L = d + 1 for isi_combucb1, d for
    combucb1."""
    L = d + 1 if variant == "isi_combucb1" else d
    seqs = np.array(list(itertools.product(range(k), repeat=L)), dtype=np.int64)
    M = np.zeros((seqs.shape[0], k * d))
    F = np.zeros((seqs.shape[0], k, L))
    for s, seq in enumerate(seqs):
        last: dict[int, int] = {}
        for j, a in enumerate(seq):
            a = int(a)
            if a in last:
                M[s, a * d + (j - last[a]) - 1] += 1.0
            else:
                F[s, a, j] = 1.0
            last[a] = j
    return seqs, M, F


def run_block_learner(inst: Instance, variant: str, T: int, keys, checkpoints, *, d: int, noise: str = "bernoulli"):
    """(mean_cum, obs_cum) (R, C) of ``variant`` run for T rounds on each replicate (module docstring)."""
    where = variant
    if inst.kind != "recharging" or inst.m != 1:
        raise ParamError(where, "inst", "a recharging instance with m = 1", f"{inst.kind}, m = {inst.m}")
    if noise not in ("bernoulli", "none"):
        raise ParamError(where, "noise", "bernoulli or none", noise)
    d = check_int("block", d, low=1, where=where)
    k = inst.k
    L = d + 1 if variant == "isi_combucb1" else d
    if k ** L > MAX_SEQUENCES:
        raise ParamError(where, "block", f"a block with k^L <= {MAX_SEQUENCES} sequences (exact enumeration)",
                         f"k = {k}, L = {L}: {k ** L}")
    seqs, M, F = block_objective(k, d, variant)
    pos = np.arange(L)
    keys = np.asarray(keys, np.uint64)
    R = keys.size
    ck = np.asarray(checkpoints, np.int64)
    delay = np.tile(inst.init + 1, (R, 1))                    # actual delays 1..tau_max
    n = np.zeros((R, k * d))
    sm = np.zeros((R, k * d))
    cm = np.zeros(R)
    co = np.zeros(R)
    mean_cum = np.zeros((R, ck.size))
    obs_cum = np.zeros((R, ck.size))
    rows = np.arange(R)
    unseen = d * math.sqrt(1.5 * math.log(k * d)) if k * d > 1 else 0.0
    c = 0
    t = 0
    while t < T:
        lt = math.log(max(t, 1))
        U = np.where(n > 0, sm / np.maximum(n, 1) + np.sqrt(1.5 * lt / np.maximum(n, 1)), unseen)
        obj = U @ M.T
        if variant == "combucb1":      # first pulls at their actual delay min(s_i + j, d)
            cap = np.minimum(delay[:, :, None] + pos[None, None, :], d) - 1          # (R, k, L)
            G = np.take_along_axis(U.reshape(R, k, d), cap, axis=2)
            obj = obj + np.einsum("sij,rij->rs", F, G)
        choice = seqs[np.argmax(obj, axis=1)]                  # (R, L): first maximiser per replicate
        first = np.ones((R, k), bool)
        for j in range(L):
            if t >= T:
                break
            a = choice[:, j]
            dl = delay[rows, a]
            mu = inst.payoff[a, dl - 1]
            cm += mu
            if noise == "none":
                r = mu
            else:
                r = (counter_uniforms(keys, 2 * (t * k + a)) < mu).astype(float)
            co += r
            counted = ~first[rows, a] if variant == "isi_combucb1" else np.ones(R, bool)
            col = a * d + np.minimum(dl, d) - 1
            np.add.at(n, (rows[counted], col[counted]), 1.0)
            np.add.at(sm, (rows[counted], col[counted]), r[counted])
            first[rows, a] = False
            delay = np.minimum(delay + 1, inst.tau_max)
            delay[rows, a] = 1
            t += 1
            while c < ck.size and ck[c] == t:
                mean_cum[:, c] = cm
                obs_cum[:, c] = co
                c += 1
    return mean_cum, obs_cum
