"""Recharging and last-switch-dependent (LSD) bandit instances: state encoding, transitions, generators.

Both models are "one small deterministic chain per arm": the state of an arm evolves only with the actions
(never with the reward noise), and playing an arm in state ``s`` earns a draw with mean ``payoff[arm, s]``.
Here both are stored the same way, as a payoff table over **state columns** plus the two column maps
``next_play`` and ``next_idle``, so one simulator and one dynamic programme serve both.

Recharging (delay-dependent) bandits ([KI18], [PCS22], [SZZ21]; spec §2). The state of arm i is its delay
``d`` in 1..tau_max, the number of rounds since its last play, capped. Column ``d - 1``. After a round the
played arms go to delay 1 and the others to ``min(d + 1, tau_max)``. Default start ``d0 = tau_max``
("fully recharged").

LSD bandits ([FGPZ23], [LCCG22]; spec §3). The state is a signed integer ``s`` in {-tau_max..-1, 1..tau_max}:
``s = -j`` after a streak of j consecutive plays, ``s = +j`` after j idle rounds (both capped; no state 0).
Columns follow the signed order: ``col = s + tau_max`` for ``s < 0`` and ``s + tau_max - 1`` for ``s > 0``,
so columns 0..2 tau_max - 1 read -tau_max, ..., -1, 1, ..., tau_max. Transitions: played, ``s > 0 -> -1`` and
``s < 0 -> max(s - 1, -tau_max)``; not played, ``s < 0 -> 1`` and ``s > 0 -> min(s + 1, tau_max)``. Default
start ``s0 = +tau_max`` ("fully rested"). (The [LCCG22] code's unused signed helper sends an idle arm from -3
to -2; we follow the rule above, the natural one, on which the recharging->LSD lift relies; spec §3.)

Play rules: at most ``m`` arms per round when ``idle_allowed`` (an idle slot earns 0; the [PCS22] setting,
our default for recharging), exactly ``m`` otherwise (the usual bandit protocol and the [LCCG22] code; our
default for LSD, where m = 1). Which rule [FGPZ23] use is UNCONFIRMED; both are supported.

References:
    [FGPZ23] Foussoul, Goyal, Papadigenopoulos, Zeevi, "Last Switch Dependent Bandits with Monotone Payoff
        Functions", ICML 2023, arXiv 2306.00338.
    [LCCG22] Laforgue, Clerici, Cesa-Bianchi, Gilad-Bachrach, "A Last Switch Dependent Analysis of Satiation
        and Seasonality in Bandits", AISTATS 2022, arXiv 2110.11819.
    [KI18] Kleinberg, Immorlica, "Recharging Bandits", FOCS 2018.
    [PCS22] Papadigenopoulos, Caramanis, Shakkottai, "Non-Stationary Bandits under Recharging Payoffs:
        Improved Planning with Sublinear Regret", NeurIPS 2022, arXiv 2205.14790.
    [SZZ21] Simchi-Levi, Zheng, Zhu, "Dynamic Planning and Learning under Recovering Rewards", ICML 2021.
    [BSSS19] Basu, Sen, Sanghavi, Shakkottai, "Blocking Bandits", NeurIPS 2019.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from regretlab.core.validate import ParamError, check_array, check_bool, check_choice, check_int

__all__ = ["KINDS", "RECHARGING_FAMILIES", "LSD_FAMILIES", "Instance", "recharging", "lsd", "lift_to_lsd",
           "random_recharging", "random_lsd", "lccg22_section4", "lccg22_supplementary", "is_monotone_full",
           "is_monotone_sides", "is_concave_recharging", "lsd_column", "lsd_state", "action_masks"]

KINDS = ("recharging", "lsd")
RECHARGING_FAMILIES = ("monotone", "concave", "blocking")
LSD_FAMILIES = ("monotone_full", "parametric", "seasonal")


def lsd_column(s: int, tau_max: int) -> int:
    """Column of the signed LSD state ``s`` (module docstring)."""
    if s == 0 or abs(s) > tau_max:
        raise ParamError("lsd_column", "s", f"a non-zero integer in [-{tau_max}, {tau_max}]", s)
    return s + tau_max if s < 0 else s + tau_max - 1


def lsd_state(col: int, tau_max: int) -> int:
    """Signed LSD state of column ``col``; inverse of :func:`lsd_column`."""
    return col - tau_max if col < tau_max else col - tau_max + 1


@dataclass(frozen=True, eq=False)
class Instance:
    """A recharging or LSD instance in the shared column form (module docstring).

    payoff: (k, n_states) means in [0, 1]; init: (k,) start columns; next_play / next_idle: (n_states,) column
    maps; m: plays per round; idle_allowed: the play rule; tau_max: the state cap.
    """

    kind: str
    payoff: np.ndarray
    tau_max: int
    init: np.ndarray
    m: int
    idle_allowed: bool
    next_play: np.ndarray = field(repr=False)
    next_idle: np.ndarray = field(repr=False)

    @property
    def k(self) -> int:
        return int(self.payoff.shape[0])

    @property
    def n_states(self) -> int:
        return int(self.payoff.shape[1])

    def state_label(self, col: int) -> int:
        """The delay (recharging) or the signed state (LSD) of a column."""
        return col + 1 if self.kind == "recharging" else lsd_state(col, self.tau_max)

    def labels(self, cols) -> np.ndarray:
        """:meth:`state_label` of an array of columns."""
        cols = np.asarray(cols)
        if self.kind == "recharging":
            return cols + 1
        return np.where(cols < self.tau_max, cols - self.tau_max, cols - self.tau_max + 1)

    def advance(self, cols: np.ndarray, played) -> np.ndarray:
        """Every arm's next column after one round with the 0/1 play mask ``played``."""
        return np.where(np.asarray(played) == 1, self.next_play[cols], self.next_idle[cols])

    def with_(self, **changes) -> Instance:
        """A copy with other ``m``, ``idle_allowed`` or ``init`` (columns), validated again."""
        m = check_int("m", changes.pop("m", self.m), low=1, high=self.k, where="Instance.with_")
        idle = check_bool("idle_allowed", changes.pop("idle_allowed", self.idle_allowed), where="Instance.with_")
        init = changes.pop("init", self.init)
        if changes:
            raise ParamError("Instance.with_", "changes", "among m, idle_allowed, init", sorted(changes))
        init = check_array("init", init, shape=(self.k,), dtype=np.int64, low=0, high=self.n_states - 1,
                           where="Instance.with_")
        return Instance(self.kind, self.payoff, self.tau_max, init, m, idle, self.next_play, self.next_idle)


def _maps(kind: str, tau: int) -> tuple[np.ndarray, np.ndarray]:
    if kind == "recharging":
        cols = np.arange(tau)
        return np.zeros(tau, np.int64), np.minimum(cols + 1, tau - 1).astype(np.int64)
    cols = np.arange(2 * tau)
    play = np.where(cols < tau, np.maximum(cols - 1, 0), tau - 1)
    idle = np.where(cols < tau, tau, np.minimum(cols + 1, 2 * tau - 1))
    return play.astype(np.int64), idle.astype(np.int64)


def _payoff(name: str, x, where: str) -> np.ndarray:
    p = check_array(name, x, ndim=2, low=0.0, high=1.0, where=where)
    if p.shape[0] < 1 or p.shape[1] < 1:
        raise ParamError(where, name, "a (k, n) table with k >= 1 and n >= 1", f"shape {p.shape}")
    return p


def recharging(p, *, d0=None, m: int = 1, idle_allowed: bool = True) -> Instance:
    """Recharging instance; ``p[i, d - 1]`` = mean payoff of arm i played at delay d (d = 1..tau_max).

    d0: start delays in 1..tau_max (default tau_max for every arm). m: plays per round (1..k).
    """
    where = "recharging"
    p = _payoff("p", p, where)
    k, tau = p.shape
    d0 = np.full(k, tau) if d0 is None else d0
    d0 = check_array("d0", d0, shape=(k,), dtype=np.int64, low=1, high=tau, where=where)
    m = check_int("m", m, low=1, high=k, where=where)
    idle = check_bool("idle_allowed", idle_allowed, where=where)
    play, nidle = _maps("recharging", tau)
    return Instance("recharging", p, tau, d0 - 1, m, idle, play, nidle)


def lsd(mu, *, s0=None, idle_allowed: bool = False) -> Instance:
    """LSD instance (m = 1); ``mu[i, col]`` = mean payoff in the signed state of column col (module docstring):
    columns 0..2 tau_max - 1 are the states -tau_max..-1, 1..tau_max. s0: signed start states (default
    +tau_max)."""
    where = "lsd"
    mu = _payoff("mu", mu, where)
    k, n = mu.shape
    if n % 2:
        raise ParamError(where, "mu", "a (k, 2 tau_max) table (an even number of state columns)", f"shape {mu.shape}")
    tau = n // 2
    s0 = np.full(k, tau) if s0 is None else s0
    s0 = check_array("s0", s0, shape=(k,), dtype=np.int64, low=-tau, high=tau, where=where)
    if np.any(s0 == 0):
        raise ParamError(where, "s0", f"non-zero signed states in [-{tau}, {tau}] (there is no state 0)", s0)
    idle = check_bool("idle_allowed", idle_allowed, where=where)
    init = np.where(s0 < 0, s0 + tau, s0 + tau - 1).astype(np.int64)
    play, nidle = _maps("lsd", tau)
    return Instance("lsd", mu, tau, init, 1, idle, play, nidle)


def lift_to_lsd(inst: Instance) -> Instance:
    """The exact LSD lift of a recharging instance with m = 1 and tau_R >= 2 (spec §4).

    tau_L = tau_R - 1, mu(-j) = p(1), mu(s) = p(min(s + 1, tau_R)); start delay 1 maps to s = -1 and d >= 2 to
    s = d - 1. Every action sequence then earns the same rewards in both (tested).
    """
    where = "lift_to_lsd"
    if inst.kind != "recharging":
        raise ParamError(where, "inst", "a recharging instance", inst.kind)
    if inst.m != 1 or inst.tau_max < 2:
        raise ParamError(where, "inst", "a recharging instance with m = 1 and tau_max >= 2",
                         f"m = {inst.m}, tau_max = {inst.tau_max}")
    tl = inst.tau_max - 1
    s = np.arange(1, tl + 1)
    neg = np.repeat(inst.payoff[:, :1], tl, axis=1)
    pos = inst.payoff[:, np.minimum(s + 1, inst.tau_max) - 1]
    mu = np.concatenate([neg, pos], axis=1)
    d0 = inst.init + 1
    s0 = np.where(d0 == 1, -1, d0 - 1)
    return lsd(mu, s0=s0, idle_allowed=inst.idle_allowed)


def action_masks(inst: Instance) -> list[tuple[int, ...]]:
    """The allowed play masks of one round: subsets of size m, or of size <= m when idling is allowed."""
    sizes = range(0 if inst.idle_allowed else inst.m, inst.m + 1)
    out = []
    for size in sizes:
        for sub in itertools.combinations(range(inst.k), size):
            out.append(tuple(1 if a in sub else 0 for a in range(inst.k)))
    return out


# ---------------------------------------------------------------------------------------------- structure
def is_monotone_full(inst: Instance, atol: float = 0.0) -> bool:
    """LSD: every arm's payoff non-decreasing along the signed order -tau_max < ... < -1 < 1 < ... < tau_max
    (satiation, deprivation and mu(-1) <= mu(1); spec §3). Recharging: non-decreasing in the delay."""
    return bool(np.all(np.diff(inst.payoff, axis=1) >= -atol))


def is_monotone_sides(inst: Instance, atol: float = 0.0) -> bool:
    """LSD: non-increasing in j for s = -j and non-decreasing for s > 0, nothing asked across 0 (spec §3)."""
    if inst.kind != "lsd":
        return is_monotone_full(inst, atol)
    tau = inst.tau_max
    neg, pos = inst.payoff[:, :tau], inst.payoff[:, tau:]
    # columns 0..tau-1 are -tau..-1: non-increasing in j means non-decreasing along the columns
    return bool(np.all(np.diff(neg, axis=1) >= -atol) and np.all(np.diff(pos, axis=1) >= -atol))


def is_concave_recharging(inst: Instance, atol: float = 1e-12) -> bool:
    """[KI18]'s assumption: p non-decreasing and concave on {0, 1, ...} with p(0) = 0 (spec §2)."""
    if inst.kind != "recharging":
        raise ParamError("is_concave_recharging", "inst", "a recharging instance", inst.kind)
    inc = np.diff(np.concatenate([np.zeros((inst.k, 1)), inst.payoff], axis=1), axis=1)
    return bool(np.all(inc >= -atol) and np.all(np.diff(inc, axis=1) <= atol))


# ---------------------------------------------------------------------------------------------- generators
def _generator_args(where, k, tau_max, family, families, rng):
    """The checked (k, tau_max, family, Generator) every generator starts from."""
    return (check_int("k", k, low=1, where=where), check_int("tau_max", tau_max, low=1, where=where),
            check_choice("family", family, families, where=where), np.random.default_rng(rng))


def random_recharging(k: int, tau_max: int, family: str = "monotone", *, rng=None, m: int = 1,
                      idle_allowed: bool = True, d0=None) -> Instance:
    """Random recharging instance of a spec §10 family.

    - ``monotone``: p_i = sorted iid U(0, 1) draws (non-decreasing, usually not concave);
    - ``concave``: p_i(d) = v_i (1 - exp(-d / theta_i)), v_i ~ U(0.2, 1), theta_i ~ U(0.5, tau_max);
    - ``blocking``: p_i(d) = v_i 1[d >= D_i], v_i ~ U(0, 1), D_i ~ U{1..tau_max} ([BSSS19]).
    """
    k, tau, family, rng = _generator_args("random_recharging", k, tau_max, family, RECHARGING_FAMILIES, rng)
    d = np.arange(1, tau + 1)
    if family == "monotone":
        p = np.sort(rng.random((k, tau)), axis=1)
    elif family == "concave":
        v = rng.uniform(0.2, 1.0, (k, 1))
        theta = rng.uniform(0.5, max(tau, 0.5), (k, 1))
        p = v * -np.expm1(-d / theta)
    else:
        v = rng.random((k, 1))
        D = rng.integers(1, tau + 1, (k, 1))
        p = v * (d >= D)
    return recharging(p, d0=d0, m=m, idle_allowed=idle_allowed)


def random_lsd(k: int, tau_max: int, family: str = "monotone_full", *, rng=None, idle_allowed: bool = False,
               s0=None) -> Instance:
    """Random LSD instance of a spec §10 family.

    - ``monotone_full``: 2 tau_max sorted iid U(0, 1) draws along the signed order;
    - ``parametric``: satiation / deprivation, mu(-j) = v c beta^(j-1), mu(s) = v (c + (1 - c)(1 - exp(-s /
      theta))) with v ~ U(0.2, 1), c ~ U(0.1, 1), beta ~ U(0.5, 1), theta ~ U(0.5, tau_max) (monotone_full);
    - ``seasonal`` (not monotone; learning demos): mu(-j) ~ U(0, 1) fixed per arm, mu(s) = 0.5 + 0.4 cos(2 pi s /
      P) on s > 0 with a period P ~ U{2..max(2, tau_max)}.
    """
    k, tau, family, rng = _generator_args("random_lsd", k, tau_max, family, LSD_FAMILIES, rng)
    j = np.arange(1, tau + 1)
    if family == "monotone_full":
        mu = np.sort(rng.random((k, 2 * tau)), axis=1)
    elif family == "parametric":
        v = rng.uniform(0.2, 1.0, (k, 1))
        c = rng.uniform(0.1, 1.0, (k, 1))
        beta = rng.uniform(0.5, 1.0, (k, 1))
        theta = rng.uniform(0.5, max(tau, 0.5), (k, 1))
        neg = v * c * beta ** (j - 1)          # mu(-j), j = 1..tau
        pos = v * (c + (1 - c) * -np.expm1(-j / theta))
        mu = np.concatenate([neg[:, ::-1], pos], axis=1)
    else:
        neg = np.repeat(rng.random((k, 1)), tau, axis=1)
        P = rng.integers(2, max(2, tau) + 1, (k, 1))
        pos = 0.5 + 0.4 * np.cos(2 * math.pi * j / P)
        mu = np.concatenate([neg, pos], axis=1)
    return lsd(mu, s0=s0, idle_allowed=idle_allowed)


def lccg22_section4(*, idle_allowed: bool = False) -> Instance:
    """The [LCCG22] "Section 4" instance of their public code (spec §10): k = 5, delays 1..10, start at delay 1;
    arms 0, 3, 4 pay 0.15 at every delay; arm 1 pays 0.95 at delay exactly 3, else 0; arm 2 pays 0.96 at
    delays >= 9, 0.16 at delay 6, else 0.14."""
    p = np.full((5, 10), 0.15)
    p[1] = 0.0
    p[1, 2] = 0.95
    p[2] = 0.14
    p[2, 5] = 0.16
    p[2, 8:] = 0.96
    return recharging(p, d0=np.ones(5, np.int64), idle_allowed=idle_allowed)


def lccg22_supplementary(*, idle_allowed: bool = False) -> Instance:
    """The [LCCG22] supplementary instance (spec §10): k = 2, delays 1..11, start at delay 1; arm 0 pays 0.05
    at every delay; arm 1 pays 0.06 at delay 1 and 0.95 at delays >= 2."""
    p = np.full((2, 11), 0.05)
    p[1] = 0.95
    p[1, 0] = 0.06
    return recharging(p, d0=np.ones(2, np.int64), idle_allowed=idle_allowed)
