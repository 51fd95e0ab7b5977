"""Finite Markov decision processes: evaluation, planning, occupancy measures, random instances.

Model and conventions (notation of [Puterman94] in the ASCII of this package):

* states ``s = 0..S-1``, actions ``a = 0..A-1``, every action available in every state;
* transitions ``P[s, a, s'] = Pr(s_{t+1} = s' | s_t = s, a_t = a)``, shape (S, A, S), every row a
  distribution within 1e-10 (rejected otherwise, never renormalised); finite-horizon functions also take
  time-dependent ``P[h, s, a, s']`` of shape (H, S, A, S);
* rewards ``R[s, a, s']`` (S, A, S), ``R[s, a]`` (S, A) or ``R[s]`` (S,) (the reward of the current
  state); planning works on the expected reward ``r[s, a] = sum_s' P[s, a, s'] R[s, a, s']``, see
  :func:`expected_reward`;
* discount ``gamma`` in [0, 1); initial distribution ``mu0`` (S,);
* policies ``pi[s, a] = pi(a|s)`` (S, A) with rows summing to 1 within 1e-10, or deterministic
  policies as integer action arrays ``pi[s]`` (S,); greedy policies are returned as integer arrays;
* float64 throughout; batch axes come first (``r`` (..., S, A), ``pi`` (..., S, A), ``V`` (..., S)),
  and batch axes of different arguments broadcast against each other. ``P`` is never batched: one
  environment, many rewards or policies (the STARC, preference and adversarial-MDP areas all need this).

Discounted values. For a stationary policy pi, with ``P_pi[s, s'] = sum_a pi(a|s) P[s, a, s']`` and
``r_pi[s] = sum_a pi(a|s) r[s, a]``,

    V^pi = (I - gamma P_pi)^{-1} r_pi,     Q^pi(s, a) = r(s, a) + gamma sum_s' P[s, a, s'] V^pi(s')

[Puterman94, §6.1], and the optimal value V* is the unique fixed point of the Bellman optimality
operator (T V)(s) = max_a [r(s, a) + gamma sum_s' P[s, a, s'] V(s')] [Puterman94, §6.2].

Finite horizon (H steps h = 0..H-1, terminal value V_H, default 0): backward induction
[Puterman94, §4.5] and per-step occupancies q_h(s, a) = Pr[s_h = s, a_h = a] by a forward pass.

Backends. The iterative kernels (:func:`value_iteration`, :func:`backward_induction`,
:func:`finite_horizon_occupancy`) take ``backend="auto" | "numba" | "numpy"``; ``auto`` is Numba.
The Numba kernels live in :mod:`regretlab.core._mdp_kernels` and are imported on first use, so
``import regretlab.core.mdp`` neither imports Numba nor compiles anything. Dense linear algebra
(policy evaluation, policy iteration, occupancy measures) is NumPy.

References
----------
[Puterman94] M. L. Puterman, "Markov Decision Processes: Discrete Stochastic Dynamic Programming",
    Wiley, 1994. Ch. 4 (finite horizon), Ch. 6 (discounted: §6.1 policy evaluation, §6.2 optimality
    equations, §6.3 value iteration, §6.4 policy iteration, §6.6 span-based bounds, §6.9 linear
    programming and its dual, whose variables are occupancy measures).
[NHR99] A. Y. Ng, D. Harada, S. Russell, "Policy invariance under reward transformations: theory and
    application to reward shaping", ICML 1999.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import numpy as np

from .validate import (
    ParamError,
    ParamTypeError,
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_rng,
)

__all__ = [
    "REFERENCES",
    "FiniteMDP",
    "LayeredMDP",
    "PolicyValues",
    "SolveResult",
    "all_deterministic_policies",
    "backward_induction",
    "discounted_occupancy",
    "expected_reward",
    "finite_horizon_occupancy",
    "finite_horizon_policy_evaluation",
    "greedy_policy",
    "one_hot_policy",
    "optimal_values",
    "policy_evaluation",
    "policy_from_occupancy",
    "policy_iteration",
    "policy_return",
    "q_from_v",
    "random_layered_mdp",
    "random_mdp",
    "shaped_reward",
    "uniform_greedy_policy",
    "value_from_occupancy",
    "value_iteration",
]

REFERENCES = {
    "Puterman94": (
        "@book{puterman1994mdp, author = {Puterman, Martin L.}, title = {Markov Decision Processes: "
        "Discrete Stochastic Dynamic Programming}, publisher = {Wiley}, year = {1994}}"
    ),
    "NHR99": (
        "@inproceedings{ng1999shaping, author = {Ng, Andrew Y. and Harada, Daishi and Russell, Stuart}, "
        "title = {Policy invariance under reward transformations: theory and application to reward "
        "shaping}, booktitle = {ICML}, year = {1999}}"
    ),
}

PROB_ATOL = 1e-10  # tolerance on row sums of P, pi and mu0 (rejected beyond it, never renormalised)
_REWARD_KINDS = ("sas", "sa", "s")
_REWARD_DISTS = ("gaussian", "uniform", "sparse")


# ---------------------------------------------------------------------------------------------------
# Result types


class PolicyValues(NamedTuple):
    """``(V, Q)``: state values (..., S) and action values (..., S, A) (an extra H axis in finite horizon)."""

    V: np.ndarray
    Q: np.ndarray


class SolveResult(dict):
    """A dict with attribute access (as ``scipy.optimize.OptimizeResult``); each solver lists its fields.

    Non-convergence is a result (``converged`` False), never an exception.
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as e:
            raise AttributeError(name) from e

    __setattr__ = dict.__setitem__
    __delattr__ = dict.__delitem__

    def __dir__(self):
        return list(self.keys())

    def __repr__(self):
        def show(v):
            if isinstance(v, np.ndarray) and v.size > 6:
                return f"array(shape={v.shape}, dtype={v.dtype})"
            return repr(v)

        body = ", ".join(f"{k}={show(v)}" for k, v in self.items())
        return f"SolveResult({body})"


# ---------------------------------------------------------------------------------------------------
# Validation helpers (one canonical form at the API boundary; kernels trust their inputs)


def _fail_shape(where, name, want, arr):
    raise ParamError(where, name, f"an array of shape {want}", f"an array of shape {np.shape(arr)}")


def _check_rows(where, name, x, axes_label):
    """Every slice x[..., :] is a distribution within PROB_ATOL; x is already >= 0 and finite."""
    sums = x.sum(axis=-1)
    dev = np.abs(sums - 1.0)
    if dev.size and dev.max() > PROB_ATOL:
        idx = np.unravel_index(int(np.argmax(dev)), dev.shape)
        label = ", ".join(str(int(i)) for i in idx)
        key = f"{name}[{label}, :]" if label else name
        raise ParamError(
            where, key,
            f"a distribution over {axes_label} (entries >= 0 summing to 1 within {PROB_ATOL:g}; "
            "never renormalised), but sums to",
            float(sums[idx]),
        )


def _check_P(P, where, time_dependent=False):
    """P (S, A, S), or (H, S, A, S) as well when ``time_dependent``; rows are distributions."""
    P = check_array("P", P, where=where, low=0.0)
    ndims = (3, 4) if time_dependent else (3,)
    want = "(S, A, S) or (H, S, A, S)" if time_dependent else "(S, A, S)"
    if P.ndim not in ndims or P.shape[-1] != P.shape[-3] or P.shape[-1] == 0 or P.shape[-2] == 0:
        _fail_shape(where, "P", want, P)
    if P.ndim == 4 and P.shape[0] == 0:
        _fail_shape(where, "P", "(H, S, A, S) with H >= 1", P)
    _check_rows(where, "P", P, "next states")
    return P


def _check_gamma(gamma, where):
    return check_float("gamma", gamma, low=0.0, high=1.0, high_open=True, where=where)


def _check_r(r, S, A, where, name="r"):
    """Expected reward r (..., S, A)."""
    r = check_array(name, r, where=where)
    if r.ndim < 2 or r.shape[-2:] != (S, A):
        _fail_shape(where, name, f"(..., {S}, {A})", r)
    return r


def _check_dist(name, x, S, where):
    """A distribution (..., S) (e.g. mu0), within PROB_ATOL."""
    x = check_array(name, x, where=where, low=0.0)
    if x.ndim < 1 or x.shape[-1] != S:
        _fail_shape(where, name, f"(..., {S})", x)
    _check_rows(where, name, x, "states")
    return x


def _check_actions(name, pi, A, where):
    arr = np.asarray(pi)
    if arr.size and (arr.min() < 0 or arr.max() >= A):
        bad = np.argwhere((arr < 0) | (arr >= A))[0]
        idx = ", ".join(str(int(i)) for i in bad)
        raise ParamError(where, f"{name}[{idx}]", f"an action index in 0..{A - 1}", int(arr[tuple(bad)]))
    return np.ascontiguousarray(arr, dtype=np.int64)


def _is_int_array(x) -> bool:
    arr = np.asarray(x)
    return arr.dtype.kind in "iu"


def _check_policy(pi, S, A, where, name="pi"):
    """Stationary policy (..., S, A) float or (..., S) integer actions -> float (..., S, A)."""
    if _is_int_array(pi):
        acts = np.asarray(pi)
        if acts.ndim < 1 or acts.shape[-1] != S:
            _fail_shape(where, name, f"(..., {S}) (integer actions) or (..., {S}, {A})", acts)
        return one_hot_policy(_check_actions(name, acts, A, where), A)
    pi = check_array(name, pi, where=where, low=0.0)
    if pi.ndim < 2 or pi.shape[-2:] != (S, A):
        _fail_shape(where, name, f"(..., {S}, {A}) or (..., {S}) (integer actions)", pi)
    _check_rows(where, name, pi, "actions")
    return pi


def _batch(where, **batch_shapes):
    """Broadcast the batch shapes of several arguments, naming them when they do not fit."""
    try:
        return np.broadcast_shapes(*batch_shapes.values())
    except ValueError:
        desc = ", ".join(f"{k} {v}" for k, v in batch_shapes.items())
        raise ParamError(where, "batch axes", "broadcastable against each other", desc) from None


def _reward_kind(R, S, A, kind, where):
    shapes = {"sas": (S, A, S), "sa": (S, A), "s": (S,)}
    if kind is None:
        for k in _REWARD_KINDS:
            want = shapes[k]
            if R.ndim >= len(want) and R.shape[R.ndim - len(want):] == want:
                return k
        raise ParamError(where, "R", f"an array of shape (..., {S}, {A}, {S}), (..., {S}, {A}) or (..., {S})",
                         f"an array of shape {R.shape}")
    kind = check_choice("kind", kind, _REWARD_KINDS, where=where)
    want = shapes[kind]
    if R.ndim < len(want) or R.shape[R.ndim - len(want):] != want:
        _fail_shape(where, "R", "(..., " + ", ".join(map(str, want)) + ")", R)
    return kind


def _resolve_backend(backend, where):
    from .backends import resolve

    return resolve(backend, where=where, supported=("numba", "numpy"))


def _kernels():
    """The Numba kernels, imported (not compiled) on first use."""
    from . import _mdp_kernels

    return _mdp_kernels


def _writable(x):
    """C-contiguous, writeable float array for a kernel (Numba compiles read-only arrays, e.g. the fields
    of a FiniteMDP, as a separate type; one copy of an input is cheap next to the kernel's work)."""
    x = np.ascontiguousarray(x)
    return x if x.flags.writeable else x.copy()


def _apply_sa(P2, V, S, A):
    """sum_s' P[s, a, s'] V[..., s'] -> (..., S, A), with P2 = P.reshape(S*A, S)."""
    batch = V.shape[:-1]
    return (V.reshape(-1, S) @ P2.T).reshape(batch + (S, A))


# ---------------------------------------------------------------------------------------------------
# Containers


def _check_one_mu0(mu0, S, where) -> np.ndarray:
    """A single initial distribution (S,) for a container: a private, writable copy."""
    mu0 = _check_dist("mu0", mu0, S, where).copy()
    if mu0.ndim != 1:
        _fail_shape(where, "mu0", f"({S},)", mu0)
    return mu0


@dataclasses.dataclass(frozen=True, eq=False)
class FiniteMDP:
    """A validated discounted finite MDP ``(P, R, gamma, mu0)`` [Puterman94, §2.1].

    Parameters: P (S, A, S) float64, rows distributions within 1e-10 (never renormalised);
        R (S, A, S), (S, A) or (S,): one reward (batches of rewards go to the functions directly);
        gamma float in [0, 1); mu0 (S,) distribution, default uniform.
    The stored arrays are read-only copies. ``r`` is the expected reward (S, A) of :func:`expected_reward`.
    """

    P: np.ndarray
    R: np.ndarray
    gamma: float
    mu0: np.ndarray | None = None

    def __post_init__(self):
        where = "FiniteMDP"
        P = _check_P(self.P, where).copy()
        S, A = P.shape[0], P.shape[1]
        R = check_array("R", self.R, where=where).copy()
        if R.shape not in ((S, A, S), (S, A), (S,)):
            raise ParamError(where, "R", f"an array of shape ({S}, {A}, {S}), ({S}, {A}) or ({S},) "
                             "(one reward: pass batches to the functions)", f"an array of shape {R.shape}")
        gamma = _check_gamma(self.gamma, where)
        if self.mu0 is None:
            mu0 = np.full(S, 1.0 / S)
        else:
            mu0 = _check_one_mu0(self.mu0, S, where)
        for x in (P, R, mu0):
            x.flags.writeable = False
        object.__setattr__(self, "P", P)
        object.__setattr__(self, "R", R)
        object.__setattr__(self, "gamma", gamma)
        object.__setattr__(self, "mu0", mu0)

    @property
    def n_states(self) -> int:
        return int(self.P.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.P.shape[1])

    @property
    def reward_kind(self) -> str:
        """``"sas"``, ``"sa"`` or ``"s"``: which of R[s, a, s'], R[s, a], R[s] was given."""
        return _REWARD_KINDS[3 - self.R.ndim]

    @functools.cached_property
    def r(self) -> np.ndarray:
        """Expected reward r[s, a] = sum_s' P[s, a, s'] R[s, a, s'] (read-only, (S, A))."""
        out = _expected_reward(self.P, self.R, self.reward_kind)
        out.flags.writeable = False
        return out

    def __repr__(self):
        return (f"FiniteMDP(n_states={self.n_states}, n_actions={self.n_actions}, gamma={self.gamma}, "
                f"reward_kind={self.reward_kind!r})")


@dataclasses.dataclass(frozen=True, eq=False)
class LayeredMDP:
    """An episodic layered MDP (specs/adversarial-linear-mdp.md §1.1).

    States are numbered layer by layer: layer h holds states ``offsets[h] .. offsets[h+1]-1`` with
    ``offsets = cumsum([0, *layer_sizes])``. For h <= H-2, P(.|s, a) of a state in layer h is supported on
    layer h+1. Rows of the last layer are distributions that the episode never uses (the episode ends
    after the action at layer H-1; :func:`random_layered_mdp` makes them self-loops), so ``P`` is a valid
    (S, A, S) kernel for every function here. With horizon H, ``backward_induction(P, r, H)`` gives in
    ``V[h, s]`` for s in layer h the value to go, and ``finite_horizon_occupancy(P, pi, mu0, H)[h]`` is
    supported on layer h.

    Fields: P (S, A, S); r (S, A) reward or loss (the adversarial area draws its own losses);
        layer_sizes tuple of ints >= 1 (H = len); mu0 (S,) supported on layer 0, default uniform there.
    """

    P: np.ndarray
    r: np.ndarray
    layer_sizes: tuple
    mu0: np.ndarray | None = None

    def __post_init__(self):
        where = "LayeredMDP"
        sizes = tuple(check_int(f"layer_sizes[{i}]", n, low=1, where=where)
                      for i, n in enumerate(self.layer_sizes))
        if not sizes:
            raise ParamError(where, "layer_sizes", "a non-empty sequence of integers >= 1", self.layer_sizes)
        S = sum(sizes)
        P = _check_P(self.P, where).copy()
        if P.shape[0] != S:
            _fail_shape(where, "P", f"({S}, A, {S}) with S = sum(layer_sizes)", P)
        A = P.shape[1]
        r = _check_r(self.r, S, A, where).copy()
        if r.ndim != 2:
            _fail_shape(where, "r", f"({S}, {A})", r)
        off = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        for h in range(len(sizes) - 1):
            rows = P[off[h]:off[h + 1]]
            outside = rows.sum(-1) - rows[..., off[h + 1]:off[h + 2]].sum(-1)
            if np.any(outside > PROB_ATOL):
                s, a = np.unravel_index(int(np.argmax(outside)), outside.shape)
                raise ParamError(where, f"P[{off[h] + s}, {a}, :]",
                                 f"supported on layer {h + 1} (states {off[h + 1]}..{off[h + 2] - 1}), "
                                 "but puts outside it a mass of", float(outside[s, a]))
        if self.mu0 is None:
            mu0 = np.zeros(S)
            mu0[: sizes[0]] = 1.0 / sizes[0]
        else:
            mu0 = _check_one_mu0(self.mu0, S, where)
            if mu0[sizes[0]:].sum() > PROB_ATOL:
                raise ParamError(where, "mu0", f"supported on layer 0 (states 0..{sizes[0] - 1})", mu0)
        for x in (P, r, mu0):
            x.flags.writeable = False
        object.__setattr__(self, "P", P)
        object.__setattr__(self, "r", r)
        object.__setattr__(self, "layer_sizes", sizes)
        object.__setattr__(self, "mu0", mu0)

    @property
    def horizon(self) -> int:
        return len(self.layer_sizes)

    @property
    def n_states(self) -> int:
        return int(self.P.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.P.shape[1])

    @property
    def offsets(self) -> np.ndarray:
        """(H+1,) int: layer h is ``range(offsets[h], offsets[h+1])``."""
        return np.concatenate([[0], np.cumsum(self.layer_sizes)]).astype(np.int64)

    @property
    def layer_of(self) -> np.ndarray:
        """(S,) int: the layer of each state."""
        return np.repeat(np.arange(self.horizon), self.layer_sizes)

    def layer(self, h: int) -> slice:
        """The states of layer h as a slice."""
        h = check_int("h", h, low=0, high=self.horizon - 1, where="LayeredMDP.layer")
        off = self.offsets
        return slice(int(off[h]), int(off[h + 1]))

    def __repr__(self):
        return f"LayeredMDP(layer_sizes={self.layer_sizes}, n_actions={self.n_actions})"


# ---------------------------------------------------------------------------------------------------
# Rewards


def _expected_reward(P, R, kind):
    A = P.shape[1]
    if kind == "sas":
        return np.sum(R * P, axis=-1)
    if kind == "sa":
        return R.copy()
    return np.repeat(R[..., :, None], A, axis=-1)


def expected_reward(P, R, kind=None):
    """Expected immediate reward r[..., s, a] = sum_s' P[s, a, s'] R[..., s, a, s'] [Puterman94, §2.1].

    Parameters: P (S, A, S); R (..., S, A, S), (..., S, A) or (..., S) (R[s] is the reward of the
        current state: r[s, a] = R[s]); kind "sas" | "sa" | "s" | None. With None the kind is read from
        the trailing axes, trying "sas", then "sa", then "s"; pass ``kind`` when S == A makes a batch of
        one kind look like another (e.g. a batch of S rewards R[s] has the shape of one R[s, a]).
    Returns: (..., S, A) float64 (a new array).
    """
    where = "expected_reward"
    P = _check_P(P, where)
    S, A = P.shape[0], P.shape[1]
    R = check_array("R", R, where=where)
    kind = _reward_kind(R, S, A, kind, where)
    return _expected_reward(P, R, kind)


def shaped_reward(R, phi, gamma):
    """Potential-shaped reward R'[..., s, a, s'] = R[..., s, a, s'] + gamma phi[..., s'] - phi[..., s].

    For gamma < 1 shaping changes every Q^pi (and Q*) by -phi(s), hence leaves advantages and the
    optimal policies unchanged [NHR99, Thm. 1]; the STARC canonicalisations are invariant to it.
    Parameters: R (..., S, A, S) with S = phi.shape[-1] (broadcast an R[s, a] with ``R[..., None]``);
        phi (..., S) potential, batch axes broadcast with R's; gamma in [0, 1].
    Returns: (..., S, A, S) float64.
    """
    where = "shaped_reward"
    phi = check_array("phi", phi, where=where)
    if phi.ndim < 1 or phi.shape[-1] == 0:
        _fail_shape(where, "phi", "(..., S)", phi)
    S = phi.shape[-1]
    R = check_array("R", R, where=where)
    if R.ndim < 3 or R.shape[-1] != S or R.shape[-3] != S:
        _fail_shape(where, "R", f"(..., {S}, A, {S}) with S = phi.shape[-1]", R)
    gamma = check_float("gamma", gamma, low=0.0, high=1.0, where=where)
    return R + gamma * phi[..., None, None, :] - phi[..., :, None, None]


# ---------------------------------------------------------------------------------------------------
# Discounted evaluation


def q_from_v(P, r, gamma, V):
    """Q[..., s, a] = r[..., s, a] + gamma sum_s' P[s, a, s'] V[..., s'] (one Bellman backup).

    Parameters: P (S, A, S); r (..., S, A); gamma in [0, 1]; V (..., S); batch axes broadcast.
    Returns: (..., S, A).
    """
    where = "q_from_v"
    P = _check_P(P, where)
    S, A = P.shape[0], P.shape[1]
    r = _check_r(r, S, A, where)
    gamma = check_float("gamma", gamma, low=0.0, high=1.0, where=where)
    V = check_array("V", V, where=where)
    if V.ndim < 1 or V.shape[-1] != S:
        _fail_shape(where, "V", f"(..., {S})", V)
    return r + gamma * _apply_sa(P.reshape(S * A, S), V, S, A)


def _evaluate(P, r, gamma, pi):
    """Dense policy evaluation; P (S, A, S), r (..., S, A), pi (..., S, A) float, all validated."""
    S, A = P.shape[0], P.shape[1]
    eye = np.eye(S)
    batch = _batch("policy_evaluation", pi=pi.shape[:-2], r=r.shape[:-2])
    r_pi = np.sum(pi * r, axis=-1)  # (batch, S)
    if pi.ndim == 2:  # one policy: one factorisation for every reward
        M = eye - gamma * np.matmul(pi[:, None, :], P)[:, 0, :]
        V = np.linalg.solve(M, r_pi.reshape(-1, S).T).T.reshape(batch + (S,))
    else:
        P_pi = np.matmul(pi[..., None, :], P)[..., 0, :]  # (..., S, S)
        M = np.broadcast_to(eye - gamma * P_pi, batch + (S, S))
        V = np.linalg.solve(M, np.broadcast_to(r_pi, batch + (S,))[..., None])[..., 0]
    Q = r + gamma * _apply_sa(P.reshape(S * A, S), V, S, A)
    return V, np.broadcast_to(Q, batch + (S, A)).copy()


def policy_evaluation(P, r, gamma, pi) -> PolicyValues:
    """Exact V^pi and Q^pi of stationary policies by a dense linear solve [Puterman94, §6.1]:

        V^pi = (I - gamma P_pi)^{-1} r_pi,    Q^pi(s, a) = r(s, a) + gamma sum_s' P[s, a, s'] V^pi(s')

    Parameters: P (S, A, S); r (..., S, A) expected reward; gamma in [0, 1);
        pi (..., S, A) stochastic policies, or (..., S) integer actions (deterministic policies).
        Batch axes of r and pi broadcast; with a single pi, (I - gamma P_pi) is factorised once.
    Returns: :class:`PolicyValues` ``(V (batch, S), Q (batch, S, A))``.
    """
    where = "policy_evaluation"
    P = _check_P(P, where)
    S, A = P.shape[0], P.shape[1]
    r = _check_r(r, S, A, where)
    gamma = _check_gamma(gamma, where)
    pi = _check_policy(pi, S, A, where)
    return PolicyValues(*_evaluate(P, r, gamma, pi))


def policy_return(P, r, gamma, pi, mu0):
    """J(pi) = sum_s mu0(s) V^pi(s), the expected discounted return from mu0.

    Parameters: as :func:`policy_evaluation`, plus mu0 (..., S) (broadcast with the batch).
    Returns: float array of the batch shape (a 0-d array when nothing is batched).
    """
    where = "policy_return"
    P = _check_P(P, where)
    S, A = P.shape[0], P.shape[1]
    r = _check_r(r, S, A, where)
    gamma = _check_gamma(gamma, where)
    pi = _check_policy(pi, S, A, where)
    mu0 = _check_dist("mu0", mu0, S, where)
    V, _ = _evaluate(P, r, gamma, pi)
    return np.sum(mu0 * V, axis=-1)


# ---------------------------------------------------------------------------------------------------
# Discounted planning


def greedy_policy(Q):
    """Deterministic greedy policy argmax_a Q[..., s, a] (ties: the lowest action index). (..., S) int64."""
    Q = check_array("Q", Q, where="greedy_policy")
    if Q.ndim < 2 or Q.shape[-1] == 0:
        _fail_shape("greedy_policy", "Q", "(..., S, A)", Q)
    return np.argmax(Q, axis=-1).astype(np.int64)


def uniform_greedy_policy(Q, atol=1e-9, *, relative=False):
    """Stochastic greedy policy, uniform over the actions within ``atol`` of max_a Q[..., s, a].

    The tie rule of specs/regret-preference.md §6 ("ties split uniformly", tolerance documented here).
    With ``relative`` the tolerance is ``atol * max(1, max_{s,a} |Q[..., s, a]|)`` for each Q of the batch.
    Returns: (..., S, A) float64.
    """
    where = "uniform_greedy_policy"
    Q = check_array("Q", Q, where=where)
    if Q.ndim < 2 or Q.shape[-1] == 0:
        _fail_shape(where, "Q", "(..., S, A)", Q)
    atol = check_float("atol", atol, low=0.0, where=where)
    if check_bool("relative", relative, where=where):
        atol = atol * np.maximum(1.0, np.abs(Q).max(axis=(-2, -1), keepdims=True))
    mask = Q >= Q.max(axis=-1, keepdims=True) - atol
    return mask / mask.sum(axis=-1, keepdims=True)


def one_hot_policy(actions, n_actions):
    """Deterministic policies as stochastic ones: (...,) integer actions -> (..., n_actions) one-hot."""
    where = "one_hot_policy"
    A = check_int("n_actions", n_actions, low=1, where=where)
    if not _is_int_array(actions):
        raise ParamTypeError(where, "actions", "an integer array", actions)
    acts = _check_actions("actions", actions, A, where)
    out = np.zeros(acts.shape + (A,))
    np.put_along_axis(out, acts[..., None], 1.0, axis=-1)
    return out


def all_deterministic_policies(n_states, n_actions, max_count=2**20):
    """Every deterministic stationary policy, as an int64 array (n_actions**n_states, n_states).

    Row i is the base-A expansion of i, most significant digit first (the order of
    ``itertools.product(range(A), repeat=S)``). Refuses more than ``max_count`` policies.
    """
    where = "all_deterministic_policies"
    S = check_int("n_states", n_states, low=1, where=where)
    A = check_int("n_actions", n_actions, low=1, where=where)
    max_count = check_int("max_count", max_count, low=1, where=where)
    if A**S > max_count:
        raise ParamError(where, "n_actions**n_states", f"<= max_count = {max_count}", A**S)
    idx = np.arange(A**S, dtype=np.int64)
    powers = A ** np.arange(S - 1, -1, -1, dtype=np.int64)
    return (idx[:, None] // powers[None, :]) % A


def _vi_numpy(P, r, gamma, threshold, max_iter, span, V):
    """NumPy twin of ``_mdp_kernels.value_iteration_batch`` (each batch element stops on its own)."""
    B, S, A = r.shape
    P2 = P.reshape(S * A, S)
    n_iter = np.zeros(B, dtype=np.int64)
    converged = np.zeros(B, dtype=bool)
    dmax = np.zeros(B)
    dmin = np.zeros(B)
    active = np.arange(B)
    for _ in range(max_iter):
        if active.size == 0:
            break
        Vb = V[active]
        Vn = (r[active] + gamma * _apply_sa(P2, Vb, S, A)).max(axis=-1)
        D = Vn - Vb
        hi, lo = D.max(axis=-1), D.min(axis=-1)
        V[active] = Vn
        n_iter[active] += 1
        dmax[active], dmin[active] = hi, lo
        crit = (hi - lo) if span else np.maximum(np.abs(hi), np.abs(lo))
        done = crit < threshold
        converged[active[done]] = True
        active = active[~done]
    return n_iter, converged, dmax, dmin


def value_iteration(P, r, gamma, *, tol=1e-8, max_iter=100_000, stopping="span", V0=None,
                    backend="auto") -> SolveResult:
    """Value iteration v^{n+1} = T v^n for a batch of rewards on one transition kernel [Puterman94, §6.3].

    Stopping rules, with D = v^{n+1} - v^n (per batch element):

    * ``"sup"``: stop when ||D||_inf < tol (1 - gamma) / (2 gamma); then ||v^{n+1} - V*||_inf < tol/2
      and the greedy policy is tol-optimal [Puterman94, Thm. 6.3.1]. Returned V = v^{n+1}; the a-posteriori
      bound ``error_bound`` = gamma/(1-gamma) ||D||_inf.
    * ``"span"`` (default): stop when sp(D) = max D - min D < tol (1 - gamma) / gamma. Since T is monotone
      and T(v + c) = T v + gamma c, induction gives v^{n+1} + gamma/(1-gamma) min D <= V* <= v^{n+1} +
      gamma/(1-gamma) max D (bounds of [Puterman94, §6.6]; subsection and theorem number UNCONFIRMED);
      the returned V is the midpoint v^{n+1} + gamma/(1-gamma) (max D + min D)/2, so ||V - V*||_inf <=
      ``error_bound`` = gamma sp(D) / (2 (1 - gamma)) < tol/2. The greedy policy d of v^{n+1} is
      tol-optimal: with D' = T v^{n+1} - v^{n+1}, both V* and V^d lie in v^{n+1} + [min D', max D']/(1-gamma)
      and sp(D') <= gamma sp(D), so ||V^d - V*|| <= gamma sp(D)/(1-gamma) < tol. The span rule stops far
      earlier when gamma is close to 1 and values drift uniformly.

    With gamma = 0 one update is exact (V = max_a r). Q = r + gamma P V and ``policy`` = argmax_a Q
    (ties: lowest index) are computed from the returned V.

    Parameters: P (S, A, S); r (..., S, A) expected rewards; gamma in [0, 1); tol > 0; max_iter >= 1;
        stopping "span" | "sup"; V0 (..., S) start (default 0); backend "auto" | "numba" | "numpy".
    Returns: :class:`SolveResult` with V (..., S), Q (..., S, A), policy (..., S) int64, n_iter (...) int,
        converged (...) bool, error_bound (...) float (bound on ||V - V*||_inf), and tol, threshold,
        stopping (the rule applied). Batch-shaped fields are scalars when r is (S, A).
    """
    where = "value_iteration"
    P = _check_P(P, where)
    S, A = P.shape[0], P.shape[1]
    r = _check_r(r, S, A, where)
    gamma = _check_gamma(gamma, where)
    tol = check_float("tol", tol, low=0.0, low_open=True, where=where)
    max_iter = check_int("max_iter", max_iter, low=1, where=where)
    stopping = check_choice("stopping", stopping, ("span", "sup"), where=where)
    backend = _resolve_backend(backend, where)
    batch = r.shape[:-2]
    r2 = np.ascontiguousarray(r.reshape((-1, S, A)))
    B = r2.shape[0]
    if V0 is None:
        V = np.zeros((B, S))
    else:
        V0 = check_array("V0", V0, where=where)
        if V0.ndim < 1 or V0.shape[-1] != S:
            _fail_shape(where, "V0", f"(..., {S})", V0)
        try:
            V = np.broadcast_to(V0, batch + (S,)).reshape(B, S).copy()
        except ValueError:
            _fail_shape(where, "V0", f"broadcastable to {batch + (S,)}", V0)
    span = stopping == "span"
    if gamma == 0.0:
        threshold = np.inf
    else:
        threshold = tol * (1.0 - gamma) / (gamma if span else 2.0 * gamma)
    if backend == "numba":
        n_iter = np.zeros(B, dtype=np.int64)
        converged = np.zeros(B, dtype=np.bool_)
        dmax = np.zeros(B)
        dmin = np.zeros(B)
        _kernels().value_iteration_batch(_writable(P), _writable(r2), gamma, threshold, max_iter, span, V,
                                         n_iter, converged, dmax, dmin)
    else:
        n_iter, converged, dmax, dmin = _vi_numpy(P, r2, gamma, threshold, max_iter, span, V)
    c = gamma / (1.0 - gamma)
    if span:
        V = V + (c * 0.5 * (dmax + dmin))[:, None]
        error_bound = c * 0.5 * (dmax - dmin)
    else:
        error_bound = c * np.maximum(np.abs(dmax), np.abs(dmin))
    Q = r2 + gamma * _apply_sa(P.reshape(S * A, S), V, S, A)
    policy = np.argmax(Q, axis=-1).astype(np.int64)

    def shape(x, tail=()):
        x = x.reshape(batch + tail)
        return x[()] if x.ndim == 0 else x

    return SolveResult(
        V=shape(V, (S,)), Q=shape(Q, (S, A)), policy=shape(policy, (S,)),
        n_iter=shape(n_iter), converged=shape(converged), error_bound=shape(error_bound),
        tol=tol, threshold=threshold, stopping=stopping,
    )


def policy_iteration(P, r, gamma, *, max_iter=10_000, policy0=None) -> SolveResult:
    """Howard's policy iteration with exact (dense-solve) evaluation [Puterman94, §6.4].

    Evaluate d_n exactly, then improve: d_{n+1}(s) = argmax_a Q^{d_n}(s, a), keeping d_n(s) unless some
    action is better by more than 1e-12 max(1, ||Q||_inf) (Puterman's rule "set d_{n+1} = d_n if
    possible", with a rounding guard against cycling). Stops when no state changes; the result is optimal
    up to that guard (a loss below 1e-12 max(1, ||Q||) / (1 - gamma)). Batched over rewards.

    Parameters: P (S, A, S); r (..., S, A); gamma in [0, 1); max_iter >= 1;
        policy0 (..., S) int start (default greedy for r).
    Returns: :class:`SolveResult` with V (..., S), Q (..., S, A), policy (..., S) int64, n_iter (...)
        (number of evaluations), converged (...) bool.
    """
    where = "policy_iteration"
    P = _check_P(P, where)
    S, A = P.shape[0], P.shape[1]
    r = _check_r(r, S, A, where)
    gamma = _check_gamma(gamma, where)
    max_iter = check_int("max_iter", max_iter, low=1, where=where)
    batch = r.shape[:-2]
    r2 = r.reshape((-1, S, A))
    B = r2.shape[0]
    if policy0 is None:
        pol = np.argmax(r2, axis=-1).astype(np.int64)
    else:
        if not _is_int_array(policy0):
            raise ParamTypeError(where, "policy0", "an integer array of actions", policy0)
        p0 = _check_actions("policy0", policy0, A, where)
        if p0.ndim < 1 or p0.shape[-1] != S:
            _fail_shape(where, "policy0", f"(..., {S})", p0)
        try:
            pol = np.broadcast_to(p0, batch + (S,)).reshape(B, S).copy()
        except ValueError:
            _fail_shape(where, "policy0", f"broadcastable to {batch + (S,)}", p0)
    P2 = P.reshape(S * A, S)
    eye = np.eye(S)
    states = np.arange(S)
    n_iter = np.zeros(B, dtype=np.int64)
    converged = np.zeros(B, dtype=bool)
    for it in range(1, max_iter + 1):
        P_pol = P[states[None, :], pol]  # (B, S, S)
        r_pol = np.take_along_axis(r2, pol[..., None], axis=-1)[..., 0]
        V = np.linalg.solve(eye - gamma * P_pol, r_pol[..., None])[..., 0]
        Q = r2 + gamma * _apply_sa(P2, V, S, A)
        best = np.argmax(Q, axis=-1)
        q_best = np.take_along_axis(Q, best[..., None], axis=-1)[..., 0]
        q_cur = np.take_along_axis(Q, pol[..., None], axis=-1)[..., 0]
        guard = 1e-12 * np.maximum(1.0, np.abs(Q).max(axis=(-2, -1)))
        improve = q_best > q_cur + guard[:, None]
        newly = ~converged & ~improve.any(axis=-1)
        n_iter[newly] = it
        converged |= newly
        if converged.all():
            break
        n_iter[~converged] = it
        if it == max_iter:  # keep the last evaluated policy, so V and Q are its values
            break
        pol = np.where(improve, best, pol)

    def shape(x, tail=()):
        x = x.reshape(batch + tail)
        return x[()] if x.ndim == 0 else x

    return SolveResult(V=shape(V, (S,)), Q=shape(Q, (S, A)), policy=shape(pol, (S,)),
                       n_iter=shape(n_iter), converged=shape(converged))


def optimal_values(P, r, gamma) -> PolicyValues:
    """(V*, Q*) for rewards r (..., S, A), exact to rounding, by :func:`policy_iteration`."""
    res = policy_iteration(P, r, gamma)
    if not np.all(res.converged):  # pragma: no cover - policy iteration ends in finitely many steps
        raise RuntimeError("optimal_values: policy iteration did not converge in 10000 iterations")
    return PolicyValues(res.V, res.Q)


# ---------------------------------------------------------------------------------------------------
# Finite horizon


def _fh_setup(P, horizon, where, **time_arrays):
    """Validate P (S, A, S) or (H, S, A, S) and the horizon; other arrays only report their H."""
    P = _check_P(P, where, time_dependent=True)
    candidates = {}
    if horizon is not None:
        candidates["horizon"] = check_int("horizon", horizon, low=1, where=where)
    if P.ndim == 4:
        candidates["P.shape[0]"] = P.shape[0]
    for name, H in time_arrays.items():
        if H is not None:
            candidates[name] = H
    if not candidates:
        raise ParamError(where, "horizon", "an integer >= 1 when neither P nor r carries a time axis", None)
    values = set(candidates.values())
    if len(values) > 1:
        desc = ", ".join(f"{k} = {v}" for k, v in candidates.items())
        raise ParamError(where, "horizon", f"the same in every argument ({desc})", horizon)
    H = values.pop()
    P4 = P if P.ndim == 4 else P[None]
    return np.ascontiguousarray(P4), H


def _check_fh_r(r, S, A, where, name="r"):
    """r (S, A) stationary or (..., H, S, A); returns (r, H or None)."""
    r = _check_r(r, S, A, where, name)
    if r.ndim == 2:
        return r, None
    if r.shape[-3] == 0:
        _fail_shape(where, name, f"(S, A) or (..., H, {S}, {A}) with H >= 1", r)
    return r, r.shape[-3]


def _check_fh_policy(pi, S, A, where, name="pi"):
    """pi float (S, A) / (..., H, S, A), or int (S,) / (..., H, S) -> float with a time axis, H or None."""
    if _is_int_array(pi):
        acts = np.asarray(pi)
        if acts.ndim < 1 or acts.shape[-1] != S:
            _fail_shape(where, name, f"({S},) or (..., H, {S}) integer actions", acts)
        pi = one_hot_policy(_check_actions(name, acts, A, where), A)
    else:
        pi = check_array(name, pi, where=where, low=0.0)
        if pi.ndim < 2 or pi.shape[-2:] != (S, A):
            _fail_shape(where, name, f"({S}, {A}) or (..., H, {S}, {A})", pi)
        _check_rows(where, name, pi, "actions")
    if pi.ndim == 2:
        return pi[None], None
    return pi, pi.shape[-3]


def backward_induction(P, r, horizon=None, *, maximize=True, terminal_value=None,
                       backend="auto") -> SolveResult:
    """Optimal finite-horizon values and a deterministic Markov optimal policy [Puterman94, §4.5]:

        V_H = terminal_value (default 0)
        Q_h(s, a) = r_h(s, a) + sum_s' P_h(s'|s, a) V_{h+1}(s'),    h = H-1, ..., 0
        V_h(s) = max_a Q_h(s, a)  (min_a with maximize=False, for losses),  policy_h(s) = arg-opt (lowest)

    Undiscounted (put a discount into r_h as gamma^h r if needed).
    Parameters: P (S, A, S) stationary or (H, S, A, S); r (S, A) stationary or (..., H, S, A) (a batch of
        stationary rewards is passed broadcast to (B, H, S, A)); horizon int >= 1, needed only when neither
        P nor r carries H, and must agree with them otherwise; maximize bool;
        terminal_value (..., S) (broadcast with r's batch); backend "auto" | "numba" | "numpy".
    Returns: :class:`SolveResult` with V (..., H, S), Q (..., H, S, A), policy (..., H, S) int64, maximize.
    """
    where = "backward_induction"
    P_in = _check_P(P, where, time_dependent=True)
    S, A = P_in.shape[-3], P_in.shape[-2]
    r, Hr = _check_fh_r(r, S, A, where)
    P4, H = _fh_setup(P_in, horizon, where, **{"r.shape[-3]": Hr})
    maximize = check_bool("maximize", maximize, where=where)
    backend = _resolve_backend(backend, where)
    r3 = r[None] if r.ndim == 2 else r  # (..., HR, S, A)
    rbatch = r3.shape[:-3]
    if terminal_value is None:
        term = np.zeros(S)
    else:
        term = check_array("terminal_value", terminal_value, where=where)
        if term.ndim < 1 or term.shape[-1] != S:
            _fail_shape(where, "terminal_value", f"(..., {S})", term)
    batch = _batch(where, r=rbatch, terminal_value=term.shape[:-1])
    HR = r3.shape[-3]
    r4 = np.ascontiguousarray(np.broadcast_to(r3, batch + (HR, S, A)).reshape((-1, HR, S, A)))
    term2 = np.ascontiguousarray(np.broadcast_to(term, batch + (S,)).reshape((-1, S)))
    B = r4.shape[0]
    V = np.empty((B, H, S))
    Q = np.empty((B, H, S, A))
    policy = np.empty((B, H, S), dtype=np.int64)
    if backend == "numba":
        _kernels().backward_induction_batch(_writable(P4), _writable(r4), _writable(term2), maximize, V, Q,
                                            policy)
    else:
        v = term2
        for h in range(H - 1, -1, -1):
            Ph = P4[h if P4.shape[0] > 1 else 0]
            Qh = r4[:, h if HR > 1 else 0] + _apply_sa(Ph.reshape(S * A, S), v, S, A)
            Q[:, h] = Qh
            v = Qh.max(axis=-1) if maximize else Qh.min(axis=-1)
            V[:, h] = v
        policy[...] = np.argmax(Q, axis=-1) if maximize else np.argmin(Q, axis=-1)
    return SolveResult(V=V.reshape(batch + (H, S)), Q=Q.reshape(batch + (H, S, A)),
                       policy=policy.reshape(batch + (H, S)), maximize=maximize)


def finite_horizon_policy_evaluation(P, r, pi, horizon=None, *, terminal_value=None) -> PolicyValues:
    """Finite-horizon values of a Markov policy [Puterman94, §4.2]:

        Q_h(s, a) = r_h(s, a) + sum_s' P_h(s'|s, a) V_{h+1}(s'),  V_h(s) = sum_a pi_h(a|s) Q_h(s, a),
        V_H = terminal_value (default 0).

    Parameters: P (S, A, S) or (H, S, A, S); r (S, A) or (..., H, S, A); pi (S, A) stationary or
        (..., H, S, A), or integer actions (S,) or (..., H, S) (e.g. ``backward_induction(...).policy``);
        horizon as in :func:`backward_induction`; batch axes of r, pi and terminal_value broadcast.
    Returns: :class:`PolicyValues` ``(V (..., H, S), Q (..., H, S, A))``.
    """
    where = "finite_horizon_policy_evaluation"
    P_in = _check_P(P, where, time_dependent=True)
    S, A = P_in.shape[-3], P_in.shape[-2]
    r, Hr = _check_fh_r(r, S, A, where)
    pi, Hpi = _check_fh_policy(pi, S, A, where)
    P4, H = _fh_setup(P_in, horizon, where, **{"r.shape[-3]": Hr, "pi.shape[-3]": Hpi})
    r3 = r[None] if r.ndim == 2 else r
    term = np.zeros(S) if terminal_value is None else check_array("terminal_value", terminal_value,
                                                                  where=where)
    if term.ndim < 1 or term.shape[-1] != S:
        _fail_shape(where, "terminal_value", f"(..., {S})", term)
    batch = _batch(where, r=r3.shape[:-3], pi=pi.shape[:-3], terminal_value=term.shape[:-1])
    V = np.empty(batch + (H, S))
    Q = np.empty(batch + (H, S, A))
    v = np.broadcast_to(term, batch + (S,))
    for h in range(H - 1, -1, -1):
        Ph = P4[h if P4.shape[0] > 1 else 0]
        rh = r3[..., h if r3.shape[-3] > 1 else 0, :, :]
        Qh = rh + _apply_sa(Ph.reshape(S * A, S), np.ascontiguousarray(v), S, A)
        Q[..., h, :, :] = Qh
        v = np.sum(pi[..., h if pi.shape[-3] > 1 else 0, :, :] * Qh, axis=-1)
        V[..., h, :] = v
    return PolicyValues(V, Q)


# ---------------------------------------------------------------------------------------------------
# Occupancy measures


def discounted_occupancy(P, gamma, pi, mu0):
    """Normalised discounted state-action occupancy of stationary policies [Puterman94, §6.9]:

        d(s, a) = (1 - gamma) sum_t gamma^t Pr[s_t = s, a_t = a | s_0 ~ mu0, pi].

    Normalisation: d sums to 1 (it is a distribution on S x A); Puterman's dual LP variables
    x(s, a) = d(s, a) / (1 - gamma) sum to 1/(1 - gamma). Hence J(pi) = mu0 . V^pi = <d, r> / (1 - gamma)
    (:func:`value_from_occupancy`), and d satisfies the Bellman flow constraints
    sum_a d(s', a) = (1 - gamma) mu0(s') + gamma sum_{s,a} P[s, a, s'] d(s, a).
    Computed as d = (1 - gamma) rho pi with rho = (I - gamma P_pi)^{-T} mu0.

    Parameters: P (S, A, S); gamma in [0, 1); pi (..., S, A) or (..., S) int; mu0 (..., S); batches broadcast.
    Returns: (..., S, A) float64.
    """
    where = "discounted_occupancy"
    P = _check_P(P, where)
    S, A = P.shape[0], P.shape[1]
    gamma = _check_gamma(gamma, where)
    pi = _check_policy(pi, S, A, where)
    mu0 = _check_dist("mu0", mu0, S, where)
    batch = _batch(where, pi=pi.shape[:-2], mu0=mu0.shape[:-1])
    P_pi = np.matmul(pi[..., None, :], P)[..., 0, :]
    M = np.broadcast_to(np.swapaxes(np.eye(S) - gamma * P_pi, -1, -2), batch + (S, S))
    rho = np.linalg.solve(M, np.broadcast_to(mu0, batch + (S,))[..., None])[..., 0]
    return (1.0 - gamma) * rho[..., None] * pi


def finite_horizon_occupancy(P, pi, mu0, horizon=None, *, backend="auto"):
    """Per-step occupancy q[..., h, s, a] = Pr[s_h = s, a_h = a] by a forward pass [Puterman94, §4.2]:

        mu_0 = mu0,   q_h(s, a) = mu_h(s) pi_h(a|s),   mu_{h+1}(s') = sum_{s,a} q_h(s, a) P_h[s, a, s'].

    Each q[..., h, :, :] sums to 1, and sum_{h,s,a} q r_h = mu0 . V_0 (:func:`value_from_occupancy`).
    Parameters: P (S, A, S) or (H, S, A, S); pi (S, A) / (..., H, S, A) or int (S,) / (..., H, S);
        mu0 (..., S); horizon as in :func:`backward_induction`; backend "auto" | "numba" | "numpy".
    Returns: (..., H, S, A) float64.
    """
    where = "finite_horizon_occupancy"
    P_in = _check_P(P, where, time_dependent=True)
    S, A = P_in.shape[-3], P_in.shape[-2]
    pi, Hpi = _check_fh_policy(pi, S, A, where)
    mu0 = _check_dist("mu0", mu0, S, where)
    P4, H = _fh_setup(P_in, horizon, where, **{"pi.shape[-3]": Hpi})
    backend = _resolve_backend(backend, where)
    batch = _batch(where, pi=pi.shape[:-3], mu0=mu0.shape[:-1])
    HPI = pi.shape[-3]
    pi4 = np.ascontiguousarray(np.broadcast_to(pi, batch + (HPI, S, A)).reshape((-1, HPI, S, A)))
    mu2 = np.ascontiguousarray(np.broadcast_to(mu0, batch + (S,)).reshape((-1, S)))
    B = pi4.shape[0]
    q = np.empty((B, H, S, A))
    if backend == "numba":
        _kernels().forward_occupancy_batch(_writable(P4), _writable(pi4), _writable(mu2), q)
    else:
        mu = mu2
        for h in range(H):
            q[:, h] = mu[:, :, None] * pi4[:, h if HPI > 1 else 0]
            if h < H - 1:
                Ph = P4[h if P4.shape[0] > 1 else 0]
                mu = q[:, h].reshape(B, S * A) @ Ph.reshape(S * A, S)
    return q.reshape(batch + (H, S, A))


def value_from_occupancy(occupancy, r, gamma=None):
    """Expected return from an occupancy measure (linear in both; the LP view [Puterman94, §6.9]).

    * discounted (``gamma`` given): J = <d, r> / (1 - gamma), d (..., S, A) from
      :func:`discounted_occupancy`, r (..., S, A);
    * finite horizon (``gamma`` None): J = sum_{h,s,a} q[h, s, a] r_h(s, a), q (..., H, S, A) from
      :func:`finite_horizon_occupancy`, r (S, A) (stationary) or (..., H, S, A).
    Returns: float array of the broadcast batch shape.
    """
    where = "value_from_occupancy"
    occ = check_array("occupancy", occupancy, where=where)
    r = check_array("r", r, where=where)
    if gamma is not None:
        gamma = _check_gamma(gamma, where)
        if occ.ndim < 2:
            _fail_shape(where, "occupancy", "(..., S, A)", occ)
        if r.ndim < 2 or r.shape[-2:] != occ.shape[-2:]:
            _fail_shape(where, "r", "(..., " + ", ".join(map(str, occ.shape[-2:])) + ")", r)
        return np.sum(occ * r, axis=(-2, -1)) / (1.0 - gamma)
    if occ.ndim < 3:
        _fail_shape(where, "occupancy", "(..., H, S, A) (finite horizon; pass gamma if discounted)", occ)
    if r.ndim == 2:
        if r.shape != occ.shape[-2:]:
            _fail_shape(where, "r", "(" + ", ".join(map(str, occ.shape[-2:])) + ")", r)
    elif r.ndim < 3 or r.shape[-3:] != occ.shape[-3:]:
        _fail_shape(where, "r", "(S, A) or (..., " + ", ".join(map(str, occ.shape[-3:])) + ")", r)
    return np.sum(occ * r, axis=(-3, -2, -1))


def policy_from_occupancy(occupancy):
    """pi(a|s) = d(s, a) / sum_a' d(s, a') from a (..., S, A) occupancy (per step: (..., H, S, A)).

    States with zero mass (unreached) get the uniform policy; there the policy is arbitrary.
    """
    where = "policy_from_occupancy"
    d = check_array("occupancy", occupancy, where=where, low=0.0)
    if d.ndim < 2 or d.shape[-1] == 0:
        _fail_shape(where, "occupancy", "(..., S, A)", d)
    mass = d.sum(axis=-1, keepdims=True)
    A = d.shape[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        pi = np.where(mass > 0, d / np.where(mass > 0, mass, 1.0), 1.0 / A)
    return pi


# ---------------------------------------------------------------------------------------------------
# Random instances


def _random_rows(gen, prefix, n_next, branching, alpha):
    """Random distributions of shape prefix + (n_next,): dense Dirichlet(alpha), or ``branching``
    uniformly chosen successors with Dirichlet(alpha) weights."""
    if branching is None or branching >= n_next:
        rows = gen.dirichlet(np.full(n_next, alpha), size=prefix)
    else:
        k = branching
        succ = np.argsort(gen.random(prefix + (n_next,)), axis=-1)[..., :k]
        w = gen.dirichlet(np.full(k, alpha), size=prefix)
        rows = np.zeros(prefix + (n_next,))
        np.put_along_axis(rows, succ, w, axis=-1)
    return rows / rows.sum(axis=-1, keepdims=True)  # exact to rounding (generated, not user input)


def _random_reward(gen, shape, kind, density):
    if kind == "gaussian":
        return gen.standard_normal(shape)
    if kind == "uniform":
        return gen.random(shape)
    values = gen.standard_normal(shape)
    keep = gen.random(shape) < density
    if not keep.any():
        keep.flat[gen.integers(keep.size)] = True
    return np.where(keep, values, 0.0)


def random_mdp(n_states, n_actions, rng, *, gamma, branching=None, dirichlet_alpha=1.0,
               reward="gaussian", reward_shape="sas", sparse_density=0.1) -> FiniteMDP:
    """A random discounted MDP with uniform mu0 (full support, as the STARC tests need).

    Transitions: each row P[s, a, :] ~ Dirichlet(dirichlet_alpha * 1_S) (``branching`` None), or
    ``branching`` = k distinct successors drawn uniformly, with Dirichlet(dirichlet_alpha * 1_k) weights.
    Rewards (shape by ``reward_shape``: "sas" -> (S, A, S), "sa" -> (S, A), "s" -> (S,)): "gaussian"
    N(0, 1); "uniform" U[0, 1); "sparse" N(0, 1) kept with probability ``sparse_density``, else 0 (at
    least one entry kept).
    Parameters: n_states, n_actions >= 1; rng numpy.random.Generator (used and advanced), SeedSequence or
        int seed (never global state); gamma in [0, 1); branching None or int in 1..n_states;
        dirichlet_alpha > 0; sparse_density in (0, 1].
    Returns: :class:`FiniteMDP`.
    """
    where = "random_mdp"
    S = check_int("n_states", n_states, low=1, where=where)
    A = check_int("n_actions", n_actions, low=1, where=where)
    gen = check_rng(rng, where)
    gamma = _check_gamma(gamma, where)
    if branching is not None:
        branching = check_int("branching", branching, low=1, high=S, where=where)
    alpha = check_float("dirichlet_alpha", dirichlet_alpha, low=0.0, low_open=True, where=where)
    reward = check_choice("reward", reward, _REWARD_DISTS, where=where)
    reward_shape = check_choice("reward_shape", reward_shape, _REWARD_KINDS, where=where)
    density = check_float("sparse_density", sparse_density, low=0.0, high=1.0, low_open=True, where=where)
    P = _random_rows(gen, (S, A), S, branching, alpha)
    shape = {"sas": (S, A, S), "sa": (S, A), "s": (S,)}[reward_shape]
    R = _random_reward(gen, shape, reward, density)
    return FiniteMDP(P, R, gamma)


def random_layered_mdp(layer_sizes, n_actions, rng, *, branching=None, dirichlet_alpha=1.0,
                       reward="uniform", sparse_density=0.1) -> LayeredMDP:
    """A random episodic layered MDP (specs/adversarial-linear-mdp.md §1.1).

    For a state in layer h <= H-2 each row P[s, a, :] is a random distribution on layer h+1 (dense
    Dirichlet, or ``branching`` successors in that layer, as :func:`random_mdp`); last-layer states
    loop on themselves (never used within the horizon). r (S, A) as :func:`random_mdp`'s rewards, default
    "uniform" (losses in [0, 1)). mu0 is uniform on layer 0 (a point mass s_0 when layer_sizes[0] == 1).
    Parameters: layer_sizes sequence of ints >= 1; n_actions >= 1; rng Generator, SeedSequence or int seed;
        branching None or int >= 1 (capped at the next layer's size).
    Returns: :class:`LayeredMDP`.
    """
    where = "random_layered_mdp"
    try:
        sizes = tuple(layer_sizes)
    except TypeError:
        raise ParamTypeError(where, "layer_sizes", "a sequence of integers >= 1", layer_sizes) from None
    if not sizes:
        raise ParamError(where, "layer_sizes", "a non-empty sequence of integers >= 1", layer_sizes)
    sizes = tuple(check_int(f"layer_sizes[{i}]", n, low=1, where=where) for i, n in enumerate(sizes))
    A = check_int("n_actions", n_actions, low=1, where=where)
    gen = check_rng(rng, where)
    if branching is not None:
        branching = check_int("branching", branching, low=1, where=where)
    alpha = check_float("dirichlet_alpha", dirichlet_alpha, low=0.0, low_open=True, where=where)
    reward = check_choice("reward", reward, _REWARD_DISTS, where=where)
    density = check_float("sparse_density", sparse_density, low=0.0, high=1.0, low_open=True, where=where)
    S = sum(sizes)
    off = np.concatenate([[0], np.cumsum(sizes)])
    P = np.zeros((S, A, S))
    for h in range(len(sizes) - 1):
        P[off[h]:off[h + 1], :, off[h + 1]:off[h + 2]] = _random_rows(
            gen, (sizes[h], A), sizes[h + 1], branching, alpha)
    last = np.arange(off[-2], off[-1])
    P[last, :, last] = 1.0
    r = _random_reward(gen, (S, A), reward, density)
    return LayeredMDP(P, r, sizes)
