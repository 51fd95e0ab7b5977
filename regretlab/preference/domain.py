"""Finite MDPs with transition features for preference learning: the delivery domain and its relatives.

Model (specs/regret-preference.md §1, §3). States ``s = 0..S-1``, actions ``a = 0..A-1``. A transition
``(s, a)`` has up to ``M`` outcomes ``m`` with probability ``prob[s, a, m]``, next state
``next_state[s, a, m]`` and feature vector ``features[s, a, m]`` (F,), so the reward of a realised
transition is ``w . phi`` and the expected reward is ``r_w(s, a) = w . phibar(s, a)`` with
``phibar = sum_m prob * features``. Terminal states (and unreachable ones, e.g. houses) are absorbing with
zero features, so every episode ends in a zero-reward self-loop, as the authors' code does. Two outcomes
may share a next state with different features (the stochastic coin of §3.3), which is why outcomes are
listed rather than folded into ``P[s, a, s']``.

Builders
    :func:`delivery_mdp`            any delivery board (§3.1 rules from ``regretlab_envs.gridworld``; the
                                    10x10 human-study board of §3.2 by default)
    :func:`random_delivery_mdp`     the random-board generator of §3.3 (authors' ``generate_MDP``), with
                                    the optional stochastic variant
    :func:`tabular_mdp`             any deterministic MDP from ``next_state``/``reward`` tables with one-hot
                                    features per transition (the §7 and §8 hand-built examples)

Values (:meth:`PreferenceMDP.optimal`) are exact: Howard policy iteration (``regretlab.core.mdp``) for
gamma < 1; for gamma = 1 (the episodic examples of §7, §8) backward induction over a horizon long enough
that the values stop changing (refused when they do not, e.g. when a loop of positive reward exists).
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np

from ..core import mdp as core_mdp
from ..core.validate import ParamError, check_array, check_float, check_int, check_rng

__all__ = [
    "DEFAULT_GAMMA",
    "FEATURE_NAMES",
    "Optimal",
    "PreferenceMDP",
    "delivery_mdp",
    "random_delivery_mdp",
    "tabular_mdp",
]

DEFAULT_GAMMA = 0.999  # the authors' discount for V*, Q* and evaluation (spec §1, §3.1)
FEATURE_NAMES = ("gas", "goal", "sheep", "coin", "roadblock", "brick")
_PROB_ATOL = 1e-12


@dataclasses.dataclass(frozen=True)
class Optimal:
    """Optimal values of a batch of rewards: V (..., S), Q (..., S, A), A = Q - V (..., S, A)."""

    V: np.ndarray
    Q: np.ndarray

    @property
    def advantage(self) -> np.ndarray:
        return self.Q - self.V[..., None]


def _ro(x):
    x = np.array(x, order="C", copy=True)  # a private copy: the caller's array stays writable
    x.setflags(write=False)
    return x


@dataclasses.dataclass(frozen=True, eq=False)
class PreferenceMDP:
    """A finite MDP whose transitions carry feature vectors, with a true linear reward ``w_true``.

    Fields: ``next_state`` (S, A, M) int64; ``prob`` (S, A, M) (rows sum to 1; unused outcomes have
    probability 0); ``features`` (S, A, M, F); ``terminal`` (S,) bool (absorbing, zero features);
    ``starts`` (n0,) int64 start states (the evaluation averages over them uniformly); ``gamma`` in
    (0, 1]; ``w_true`` (F,); ``feature_names``; ``board`` (H, W) int64 cell codes for grid instances (else
    None). Arrays are read-only.
    """

    next_state: np.ndarray
    prob: np.ndarray
    features: np.ndarray
    terminal: np.ndarray
    starts: np.ndarray
    gamma: float
    w_true: np.ndarray
    feature_names: tuple = FEATURE_NAMES
    board: np.ndarray | None = None
    name: str = "mdp"

    def __post_init__(self):
        where = "PreferenceMDP"
        nxt = np.asarray(self.next_state)
        if nxt.ndim != 3 or not np.issubdtype(nxt.dtype, np.integer):
            raise ParamError(where, "next_state", "an integer array (S, A, M)", f"shape {nxt.shape}")
        S, A, M = nxt.shape
        if nxt.min() < 0 or nxt.max() >= S:
            raise ParamError(where, "next_state", f"states in [0, {S - 1}]", f"[{nxt.min()}, {nxt.max()}]")
        prob = check_array("prob", self.prob, shape=(S, A, M), where=where)
        if prob.min() < 0 or np.abs(prob.sum(-1) - 1).max() > _PROB_ATOL:
            raise ParamError(where, "prob", "rows that are distributions (>= 0, sum 1)",
                             f"max |sum - 1| = {np.abs(prob.sum(-1) - 1).max():.3g}")
        feats = check_array("features", self.features, where=where)
        if feats.ndim != 4 or feats.shape[:3] != (S, A, M):
            raise ParamError(where, "features", f"shape ({S}, {A}, {M}, F)", f"shape {feats.shape}")
        F = feats.shape[3]
        term = np.asarray(self.terminal, dtype=bool)
        if term.shape != (S,):
            raise ParamError(where, "terminal", f"shape ({S},)", f"shape {term.shape}")
        states = np.arange(S)
        if term.any():
            absorbing = (nxt[term] == states[term][:, None, None]) | (prob[term] == 0)
            if not absorbing.all() or np.any(feats[term] != 0):
                raise ParamError(where, "terminal", "absorbing states with zero features", "a state that is not")
        starts = np.asarray(self.starts)
        if starts.ndim != 1 or starts.size == 0 or not np.issubdtype(starts.dtype, np.integer):
            raise ParamError(where, "starts", "a non-empty integer array of states", self.starts)
        if starts.min() < 0 or starts.max() >= S or term[starts].any() or np.unique(starts).size != starts.size:
            raise ParamError(where, "starts", f"distinct non-terminal states in [0, {S - 1}]", starts)
        gamma = check_float("gamma", self.gamma, low=0.0, high=1.0, low_open=True, where=where)
        w = check_array("w_true", self.w_true, shape=(F,), where=where)
        if len(self.feature_names) != F:
            raise ParamError(where, "feature_names", f"{F} names", len(self.feature_names))
        set_ = object.__setattr__
        set_(self, "next_state", _ro(nxt.astype(np.int64)))
        set_(self, "prob", _ro(prob))
        set_(self, "features", _ro(feats))
        set_(self, "terminal", _ro(term))
        set_(self, "starts", _ro(starts.astype(np.int64)))
        set_(self, "gamma", gamma)
        set_(self, "w_true", _ro(w))
        set_(self, "feature_names", tuple(self.feature_names))
        if self.board is not None:
            set_(self, "board", _ro(np.asarray(self.board, dtype=np.int64)))

    # -- sizes and derived tables ------------------------------------------------------------------
    @property
    def n_states(self) -> int:
        return self.next_state.shape[0]

    @property
    def n_actions(self) -> int:
        return self.next_state.shape[1]

    @property
    def n_features(self) -> int:
        return self.features.shape[3]

    @property
    def deterministic(self) -> bool:
        """Whether every (s, a) has a single outcome of probability 1."""
        return bool(np.all(self.prob.max(-1) == 1.0))

    @functools.cached_property
    def P(self) -> np.ndarray:
        """Transition kernel P[s, a, s'] (S, A, S)."""
        S, A, M = self.next_state.shape
        P = np.zeros((S, A, S))
        si, ai = np.meshgrid(np.arange(S), np.arange(A), indexing="ij")
        for m in range(M):
            np.add.at(P, (si, ai, self.next_state[:, :, m]), self.prob[:, :, m])
        return _ro(P)

    @functools.cached_property
    def phibar(self) -> np.ndarray:
        """Expected features of each transition, sum_m prob * features (S, A, F)."""
        return _ro(np.einsum("sam,samf->saf", self.prob, self.features))

    @functools.cached_property
    def mu0(self) -> np.ndarray:
        """Uniform distribution over the start states (S,)."""
        mu = np.zeros(self.n_states)
        mu[self.starts] = 1.0 / self.starts.size
        return _ro(mu)

    def reward(self, w) -> np.ndarray:
        """Expected reward r_w(s, a) = w . phibar(s, a) for w (..., F) -> (..., S, A)."""
        w = check_array("w", w, where="PreferenceMDP.reward")
        if w.ndim < 1 or w.shape[-1] != self.n_features:
            raise ParamError("PreferenceMDP.reward", "w", f"shape (..., {self.n_features})", f"shape {w.shape}")
        return np.einsum("saf,...f->...sa", self.phibar, w)

    @property
    def r_true(self) -> np.ndarray:
        return self.reward(self.w_true)

    # -- exact values --------------------------------------------------------------------------------
    def optimal(self, r) -> Optimal:
        """Exact V*, Q* of expected rewards r (..., S, A) (policy iteration; gamma = 1: see module doc)."""
        r = np.asarray(r, dtype=float)
        if self.gamma < 1.0:
            V, Q = core_mdp.optimal_values(self.P, r, self.gamma)
            return Optimal(V + 0.0, Q + 0.0)  # + 0.0: terminal states show 0, not -0
        return Optimal(*_undiscounted_optimal(self.P, r, self.terminal))

    def values(self, r, pi) -> core_mdp.PolicyValues:
        """Exact (V^pi, Q^pi) of policies pi (..., S, A) or (..., S) under rewards r (..., S, A)."""
        if self.gamma < 1.0:
            return core_mdp.policy_evaluation(self.P, r, self.gamma, pi)
        return _undiscounted_evaluation(self.P, np.asarray(r, dtype=float), pi, self.terminal)

    def mean_start_value(self, r, pi) -> np.ndarray:
        """Vbar(pi) = mean over start states of V^pi (spec §6 item 2), batched."""
        V = self.values(r, pi).V
        return V[..., self.starts].mean(axis=-1)

    def __repr__(self):
        return (f"PreferenceMDP({self.name!r}, S={self.n_states}, A={self.n_actions}, M={self.prob.shape[2]}, "
                f"F={self.n_features}, starts={self.starts.size}, gamma={self.gamma})")


def _undiscounted_optimal(P, r, terminal):
    """gamma = 1: backward induction until V stops changing (every optimal path ends in a terminal)."""
    S = P.shape[0]
    H = 4 * S + 8
    rb = r if r.ndim == 2 else np.broadcast_to(r[..., None, :, :], r.shape[:-2] + (H,) + r.shape[-2:])
    res = core_mdp.backward_induction(P, rb, H, backend="numpy")
    V0, V1 = res.V[..., 0, :], res.V[..., 1, :]
    if not np.allclose(V0, V1, rtol=0, atol=1e-9) or np.any(V0[..., terminal] != 0):
        raise ParamError("PreferenceMDP.optimal", "gamma", "< 1 for this reward (with gamma = 1 the optimal "
                         "values must be finite: no loop of positive total reward)", 1.0)
    return V0, res.Q[..., 0, :, :]


def _undiscounted_evaluation(P, r, pi, terminal):
    """gamma = 1 values of proper policies: solve (I - P_pi) V = r_pi on the non-terminal states."""
    S, A = P.shape[0], P.shape[1]
    pi = np.asarray(pi)
    if np.issubdtype(pi.dtype, np.integer):
        pi = core_mdp.one_hot_policy(pi, A)
    live = ~terminal
    P_pi = np.einsum("...sa,sat->...st", pi, P)
    r_pi = np.sum(pi * r, axis=-1)
    batch = np.broadcast_shapes(P_pi.shape[:-2], r_pi.shape[:-1])
    M = np.eye(live.sum()) - np.broadcast_to(P_pi, batch + (S, S))[..., live, :][..., live]
    try:
        v = np.linalg.solve(M, np.broadcast_to(r_pi, batch + (S,))[..., live][..., None])[..., 0]
    except np.linalg.LinAlgError:
        raise ParamError("PreferenceMDP.values", "pi", "proper policies when gamma = 1 (reaching a terminal "
                         "state with probability 1)", "an improper policy") from None
    V = np.zeros(batch + (S,))
    V[..., live] = v
    Q = r + np.einsum("sat,...t->...sa", P, V)
    return core_mdp.PolicyValues(V, Q)


# ---------------------------------------------------------------------------------------------------
# Builders


def _gridworld():
    from regretlab_envs import gridworld

    return gridworld


def delivery_mdp(board=None, weights=None, *, gamma: float = DEFAULT_GAMMA, name: str | None = None) -> PreferenceMDP:
    """The delivery domain of [KNOX-TMLR] on ``board`` (default: the 10x10 human-study board, spec §3.2).

    The transition rules (features of the destination cell; bumps; absorbing goal and sheep cells) are
    those of :mod:`regretlab_envs.gridworld`, the gymnasium environment, so the environment and this
    finite MDP cannot disagree. ``weights`` default (-1, 50, -50, 1, -1, -2) (spec §3.1). States are
    ``row * W + col`` over all cells; houses are absorbing, unreachable and not start states.
    """
    gw = _gridworld()
    board = gw.DELIVERY_BOARD_10X10 if board is None else board
    arr = gw.check_board(board)
    nxt, feats, term, passable = gw.transition_tables(arr)
    S, A = nxt.shape
    w = np.asarray(gw.TRUE_WEIGHTS if weights is None else weights, dtype=float)
    starts = np.flatnonzero(passable & ~term)
    return PreferenceMDP(next_state=nxt[:, :, None], prob=np.ones((S, A, 1)), features=feats[:, :, None, :],
                         terminal=term | ~passable, starts=starts, gamma=gamma, w_true=w, board=arr,
                         name=name or f"delivery{arr.shape[0]}x{arr.shape[1]}")


# Random delivery boards, spec §3.3 (authors' generate_MDP): sizes, item fractions, reward values.
RANDOM_HEIGHTS = (3, 6, 10, 15)
RANDOM_WIDTHS = (5, 6, 10)
SHEEP_FRACTIONS = (0.0, 0.1, 0.3)
ROADBLOCK_FRACTIONS = (0.0, 0.1, 0.5, 0.8)
COIN_FRACTIONS = (0.0, 0.1, 0.2)
GOAL_REWARDS = (0.0, 1.0, 5.0, 10.0, 50.0)
SHEEP_REWARDS = (-5.0, -10.0, -50.0, -100.0)
ROADBLOCK_REWARDS = (-2.0, -5.0, -10.0)
BRICK_REWARDS = (-1.0, -2.0, -3.0)


def _place(board, code, n, gen):
    """Put ``code`` on n uniformly drawn blank cells (code 0 or 6), redrawing occupied cells (authors' rule)."""
    H, W = board.shape
    for _ in range(n):
        while True:
            x, y = int(gen.integers(H)), int(gen.integers(W))
            if board[x, y] in (0, 6):
                break
        board[x, y] = code


def random_delivery_board(rng, *, height: int | None = None, width: int | None = None):
    """(board, w_true) of the random-MDP generator of spec §3.3.

    Sizes H in {3, 6, 10, 15}, W in {5, 6, 10} (``height`` / ``width`` fix them instead; the size is then
    not drawn, the rest is); ``int(fraction * H * W)`` sheep, then roadblocks
    (fraction redrawn until roadblock + sheep < 1), then coins (redrawn until the total < 1), each on
    uniformly drawn blank cells; one goal at a uniformly random cell (it may overwrite an item, as in the
    authors' code). Weights ``[-1, goal, sheep, 1, roadblock, brick]`` with each free entry drawn
    uniformly from its list; no bricks or houses are placed, but a brick weight is drawn.
    """
    where = "random_delivery_board"
    gen = check_rng(rng, where=where)
    H = int(gen.choice(RANDOM_HEIGHTS)) if height is None else check_int("height", height, low=1, where=where)
    W = int(gen.choice(RANDOM_WIDTHS)) if width is None else check_int("width", width, low=1, where=where)
    if H * W < 2:
        raise ParamError(where, "height * width", ">= 2 cells", H * W)
    board = np.zeros((H, W), dtype=np.int64)
    sheep = float(gen.choice(SHEEP_FRACTIONS))
    _place(board, 3, int(sheep * H * W), gen)
    road = float(gen.choice(ROADBLOCK_FRACTIONS))
    while road + sheep >= 1:
        road = float(gen.choice(ROADBLOCK_FRACTIONS))
    _place(board, 5, int(road * H * W), gen)
    coin = float(gen.choice(COIN_FRACTIONS))
    while road + sheep + coin >= 1:
        coin = float(gen.choice(COIN_FRACTIONS))
    _place(board, 4, int(coin * H * W), gen)
    board[int(gen.integers(H)), int(gen.integers(W))] = 1
    w = np.array([-1.0, float(gen.choice(GOAL_REWARDS)), float(gen.choice(SHEEP_REWARDS)), 1.0,
                  float(gen.choice(ROADBLOCK_REWARDS)), float(gen.choice(BRICK_REWARDS))])
    return board, w


def random_delivery_mdp(rng, *, gamma: float = DEFAULT_GAMMA, height=None, width=None) -> PreferenceMDP:
    """A random delivery MDP (spec §3.3), deterministic transitions: see :func:`random_delivery_board`."""
    board, w = random_delivery_board(rng, height=height, width=width)
    return delivery_mdp(board, w, gamma=gamma, name=f"random{board.shape[0]}x{board.shape[1]}")


def tabular_mdp(next_state, reward, terminal, starts, *, gamma: float, name: str = "tabular") -> PreferenceMDP:
    """A deterministic MDP with one one-hot feature per non-absorbing transition (s, a).

    ``next_state`` (S, A) int, ``reward`` (S, A) true rewards (they become ``w_true``), ``terminal`` (S,)
    bool (their rows must be self-loops; their reward is ignored and set to 0), ``starts`` start states.
    Feature ``j`` of transition (s, a) is 1 iff j = s * A + a, so ``w`` is the reward table itself and
    learning ``w`` is learning a tabular reward (the [KNOX-AAAI] parameterisation, spec §5.1).
    """
    where = "tabular_mdp"
    nxt = np.asarray(next_state, dtype=np.int64)
    if nxt.ndim != 2:
        raise ParamError(where, "next_state", "an integer array (S, A)", f"shape {nxt.shape}")
    S, A = nxt.shape
    r = check_array("reward", reward, shape=(S, A), where=where)
    term = np.asarray(terminal, dtype=bool)
    feats = np.zeros((S, A, 1, S * A))
    live = np.repeat(~term, A)
    feats.reshape(S * A, S * A)[np.arange(S * A)[live], np.arange(S * A)[live]] = 1.0
    w = np.where(live, r.reshape(-1), 0.0)
    names = tuple(f"r[{s},{a}]" for s in range(S) for a in range(A))
    return PreferenceMDP(next_state=nxt[:, :, None], prob=np.ones((S, A, 1)), features=feats, terminal=term,
                         starts=np.asarray(starts, dtype=np.int64), gamma=gamma, w_true=w, feature_names=names,
                         name=name)


# ---------------------------------------------------------------------------------------------------
# Stochastic variant (spec §3.3 item 4, authors' generate_MDP(prob=True))

TELEPORT_FRACTION = 0.75  # share of the H*W*4 (cell, action) draws that may get a teleport
TELEPORT_PROB = 0.1  # chance that a chosen non-optimal action teleports into a goal cell
COIN_FAIL_PROB = 0.05  # chance that entering a coin pays [gas + 2 roadblock] instead
GOAL_FAIL_PROB = 0.01  # chance that entering the goal lands in the worst state instead of ending


class OptimalPolicyChanged(RuntimeError):
    """The stochastic variant changed the optimal policy (the authors' generator raises too)."""


def _greedy(mdp_P, r, gamma, policy0=None):
    res = core_mdp.policy_iteration(mdp_P, r, gamma, policy0=policy0)
    return res.policy, res.V


def stochastic_variant(mdp: PreferenceMDP, rng, *, name: str | None = None) -> PreferenceMDP:
    """The stochastic-transition version of a deterministic delivery MDP, built to keep its optimal policy.

    Following the authors' generator (spec §3.3 item 4):

    1. ``int(0.75 * S * 4)`` distinct (state, action) pairs are drawn uniformly; each whose action is not
       optimal (under the true reward) gets a 10% chance of teleporting into a uniformly drawn goal cell
       (goal feature, terminal), kept only if the original optimal policy stays optimal (checked exactly:
       policy iteration started from it makes no improvement; the authors compare argmax policies).
       Pairs drawn on terminal or house states are skipped (their rows are absorbing here; the
       authors' tables have no such rows to change).
    2. Every still-deterministic transition that enters a coin gets a 5% outcome with features
       [gas + 2 roadblock] (same next state).
    3. Every still-deterministic transition that enters a goal gets a 1% outcome that lands in the worst
       non-terminal state (lowest V*) with a gas feature, without ending the episode.

    Raises :class:`OptimalPolicyChanged` if steps 2-3 change the optimal policy (callers redraw).
    Returns a PreferenceMDP with M = 2 outcomes per transition.
    """
    where = "stochastic_variant"
    gen = check_rng(rng, where=where)
    if not mdp.deterministic or mdp.board is None:
        raise ParamError(where, "mdp", "a deterministic delivery MDP (with a board)", mdp.name)
    S, A = mdp.n_states, mdp.n_actions
    F = mdp.n_features
    nxt = np.repeat(mdp.next_state, 2, axis=2)
    prob = np.zeros((S, A, 2))
    prob[:, :, 0] = 1.0
    feats = np.repeat(mdp.features, 2, axis=2)
    feats[:, :, 1] = 0.0
    live = ~mdp.terminal
    goals = np.flatnonzero(np.isin(mdp.board.reshape(-1), (1, 7)))
    gamma = mdp.gamma

    def build(nxt, prob, feats):
        return PreferenceMDP(next_state=nxt, prob=prob, features=feats, terminal=mdp.terminal, starts=mdp.starts,
                             gamma=gamma, w_true=mdp.w_true, board=mdp.board, name=name or mdp.name + "_stoch")

    pol0, V0 = _greedy(mdp.P, mdp.r_true, gamma)
    worst = int(mdp.starts[np.argmin(V0[mdp.starts])])
    n_tele = int(TELEPORT_FRACTION * S * A)
    picks = gen.choice(S * A, size=min(n_tele, S * A), replace=False)
    goal_phi = np.zeros(F)
    goal_phi[1] = 1.0
    for code in picks:
        s, a = divmod(int(code), A)
        if not live[s] or pol0[s] == a or prob[s, a, 1] > 0:
            continue
        old = (nxt[s, a].copy(), prob[s, a].copy(), feats[s, a].copy())
        nxt[s, a, 1] = int(goals[gen.integers(goals.size)])
        prob[s, a] = (1.0 - TELEPORT_PROB, TELEPORT_PROB)
        feats[s, a, 1] = goal_phi
        trial = build(nxt, prob, feats)
        new_pol, _ = _greedy(trial.P, trial.r_true, gamma, policy0=pol0)
        if not np.array_equal(new_pol, pol0):  # pol0 is no longer optimal: undo
            nxt[s, a], prob[s, a], feats[s, a] = old
    single = prob[:, :, 1] == 0
    coin = single & live[:, None] & (feats[:, :, 0, 3] == 1)
    prob[coin] = (1.0 - COIN_FAIL_PROB, COIN_FAIL_PROB)
    feats[coin, 1] = np.array([1.0, 0, 0, 0, 2.0, 0])
    goal = single & live[:, None] & (feats[:, :, 0, 1] == 1)
    prob[goal] = (1.0 - GOAL_FAIL_PROB, GOAL_FAIL_PROB)
    nxt[goal, 1] = worst
    gas = np.zeros(F)
    gas[0] = 1.0
    feats[goal, 1] = gas
    out = build(nxt, prob, feats)
    final, _ = _greedy(out.P, out.r_true, gamma, policy0=pol0)
    if not np.array_equal(final, pol0):
        raise OptimalPolicyChanged(f"{where}: the coin/goal outcomes changed the optimal policy of {mdp.name}")
    return out
