"""Reward learning from preferences by maximum likelihood (specs/regret-preference.md §5).

Parameterisation [KNOX-TMLR]: a linear reward ``r_w = w . phi`` on the MDP's transition features (the 6
delivery features; one-hot per (s, a) for :func:`regretlab.preference.domain.tabular_mdp`, the [KNOX-AAAI]
parameterisation). The logit of "segment 1 preferred" is linear in w for the partial-return model,

    z_PR = w . (Phi_1 - Phi_2)                                   (undiscounted sums; logistic regression)

and for the regret model (deterministic-transition form, gamma of V* throughout, see models.py)

    z_regret = [w . Phi^g_1 + g^k V_w(e_1) - V_w(s_1)] - [w . Phi^g_2 + g^k V_w(e_2) - V_w(s_2)],

where V*_w is made differentiable by the successor-features trick (spec §5.3): with a fixed policy set
Pi_SF (:func:`policy_set`) and successor features psi^pi(s) = E_pi[sum_t gamma^t phi_t | s_0 = s]
(:func:`successor_features`), ``V_w(s) = sum_pi p_pi w.psi^pi(s)``, ``p = softmax(w.psi(s) / T)``, T = 0.001
(the authors' value), or the hard max (``temperature=0``). This is exact for every w whose optimal policy
is in Pi_SF; :func:`exact_value_gradient` is the exact alternative (envelope theorem) used as a check.

Loss: the mean cross-entropy against soft labels y in {0, 0.5, 1}, ``softplus(z) - y z`` (= -[y log P +
(1 - y) log(1 - P)]). The authors' augmentation (every pair appended swapped, label swapped) leaves this
mean unchanged, because z is antisymmetric in the pair; it is therefore not materialised. Identical rows
are merged into one row with a count weight (:func:`preference_rows`), which changes no value.

Optimiser (spec §5.4, authors' code; the paper's settings are UNCONFIRMED): full-batch Adam, lr 0.5, betas
(0.9, 0.999), eps 1e-8, 5000 iterations, w_0 ~ U(-1/sqrt(F), 1/sqrt(F)) (PyTorch's Linear initialisation,
drawn from the replicate's generator). The regret model returns the iterate of lowest training loss
among w_0..w_T (the code's rule), the partial-return model the last iterate. :func:`fit_lbfgs` solves
the same problem with SciPy's L-BFGS-B (a check: on non-separable data both reach the unique optimum).

Backends of :func:`fit`: ``numba`` (prange over datasets), ``numpy``, ``cupy``, and ``python``
(:func:`regretlab.preference.reference.fit_reference`); the CPU ones agree bit for bit.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..core import mdp as core_mdp
from ..core.backends import get_cupy, resolve
from ..core.validate import ParamError, check_choice, check_float, check_int, check_rng
from .domain import PreferenceMDP
from .models import MODELS
from .segments import Segments

__all__ = ["FitResult", "Rows", "exact_value_gradient", "fit", "fit_lbfgs", "policy_set", "preference_rows",
           "SF_VALUES_DELIVERY", "SF_VALUES_RANDOM", "successor_features"]

# The values each entry of the random reward vectors that generate Pi_SF is drawn from (spec §5.3).
SF_VALUES_RANDOM = (50.0, -50.0, 1.0, -1.0, -2.0, 0.0, -10.0, 10.0, 5.0)
SF_VALUES_DELIVERY = (-1.0, 50.0, -50.0, 1.0, -1.0, -2.0)
TIE_ATOL = 1e-9  # relative tolerance (times max(1, |Q|)) for "ties split uniformly" in greedy policies


def greedy_uniform(Q) -> np.ndarray:
    """Greedy policy on Q (..., S, A) with ties (within 1e-9 max(1, |Q|)) split uniformly (spec §6 item 1)."""
    return core_mdp.uniform_greedy_policy(Q, TIE_ATOL, relative=True)


def policy_set(mdp: PreferenceMDP, rng, *, n_policies: int = 100, values=SF_VALUES_RANDOM,
               exclude_true: bool = True) -> np.ndarray:
    """Pi_SF: optimal (tie-splitting) policies of random reward vectors, deduplicated (spec §5.3).

    Reward vectors have each entry drawn uniformly from ``values``; drawing stops at ``n_policies``
    distinct policies or after ``n_policies`` duplicates (authors' rule). With ``exclude_true`` the optimal
    policy of ``mdp.w_true`` is removed (the authors' ``remove_gt_succ_feat``; their rationale is not
    stated in the code and could not be checked in the paper). Returns (n, S, A), n >= 1: if every drawn
    policy was removed, the uniform policy is used.
    """
    where = "policy_set"
    n_policies = check_int("n_policies", n_policies, low=1, where=where)
    gen = check_rng(rng, where=where)
    vals = np.asarray(values, dtype=float)
    F = mdp.n_features
    true_pi = greedy_uniform(mdp.optimal(mdp.r_true).Q) if exclude_true else None
    kept: list[np.ndarray] = []
    seen: set[bytes] = set()
    dups = 0
    while len(kept) < n_policies and dups < n_policies:
        W = vals[gen.integers(0, vals.size, size=(n_policies, F))]
        pis = greedy_uniform(mdp.optimal(mdp.reward(W)).Q)
        for pi in pis:
            key = pi.tobytes()
            if key in seen:
                dups += 1
            else:
                seen.add(key)
                if true_pi is None or not np.array_equal(pi, true_pi):
                    kept.append(pi)
            if len(kept) == n_policies or dups >= n_policies:
                break
    if not kept:
        kept.append(np.full((mdp.n_states, mdp.n_actions), 1.0 / mdp.n_actions))
    return np.stack(kept)


def successor_features(mdp: PreferenceMDP, policies) -> np.ndarray:
    """psi^pi(s) = E_pi[sum_t gamma^t phi(s_t, a_t, s_{t+1}) | s_0 = s], exact, (n, S, F).

    One dense solve per policy with F right-hand sides (spec §9); terminal states have psi = 0. Then
    V^pi_w = w . psi^pi for every w (tested to 1e-10).
    """
    pis = np.asarray(policies, dtype=float)
    if pis.ndim == 2:
        pis = pis[None]
    R = np.moveaxis(mdp.phibar, -1, 0)  # (F, S, A)
    V = mdp.values(R[None], pis[:, None]).V  # (n, F, S)
    return np.ascontiguousarray(np.moveaxis(V, 1, 2))


def exact_value_gradient(mdp: PreferenceMDP, w):
    """Exact V*_w (S,) and a (sub)gradient dV*_w/dw (S, F) = psi^{pi*_w} (envelope theorem, spec §5.3 item 5)."""
    opt = mdp.optimal(mdp.reward(w))
    pi = greedy_uniform(opt.Q)
    # any optimal policy's successor features give a subgradient; the first greedy action is one
    det = core_mdp.greedy_policy(pi)
    psi = successor_features(mdp, core_mdp.one_hot_policy(det, mdp.n_actions))[0]
    return opt.V, psi


# ---------------------------------------------------------------------------------------------------
# Rows of the likelihood


@dataclasses.dataclass(frozen=True)
class Rows:
    """One dataset's likelihood rows: z_i = X_i . w + sum_j coef_ij V_w(idx_ij), label y_i, weight wt_i."""

    X: np.ndarray  # (n, F)
    idx: np.ndarray  # (n, J) int64
    coef: np.ndarray  # (n, J)
    y: np.ndarray  # (n,)
    wt: np.ndarray  # (n,)

    @property
    def n(self) -> int:
        return self.X.shape[0]


ROW_FORMS = ("auto", "telescoped", "expected")


def _expected_form(segs: Segments, mdp: PreferenceMDP, a, b):
    """Regret logit rows in the expected form (any transitions): per segment and step t,
    gamma^t [w . phibar(s_t, a_t) + gamma sum_m p_m V(next_m) - V(s_t)]; seg 1 minus seg 2."""
    k, M = segs.k, mdp.prob.shape[2]
    disc = segs.gamma ** np.arange(k)
    s_t, a_t = segs.states[:, :-1], segs.actions  # (n, k)
    lin = np.einsum("t,ntf->nf", disc, mdp.phibar[s_t, a_t])  # (n, F)
    idx = np.concatenate([s_t, mdp.next_state[s_t, a_t].reshape(segs.n, k * M)], axis=1)
    coef = np.concatenate([-np.broadcast_to(disc, (segs.n, k)),
                           (segs.gamma * disc[:, None] * mdp.prob[s_t, a_t]).reshape(segs.n, k * M)], axis=1)
    return lin[a] - lin[b], np.concatenate([idx[a], idx[b]], axis=1), np.concatenate([coef[a], -coef[b]], axis=1)


def preference_rows(model: str, segs: Segments, pairs, y, *, mdp: PreferenceMDP | None = None, form: str = "auto",
                    compress: bool = True) -> Rows:
    """The likelihood rows of labelled pairs under ``model`` ("regret" or "partial_return").

    ``pairs`` (N, 2) indices into ``segs``; ``y`` (N,) labels in [0, 1]. Regret rows come in two forms:
    ``telescoped`` (deterministic transitions: 4 value terms, ``V(s_0)`` and ``g^k V(s_k)`` of each segment)
    and ``expected`` (any transitions, spec §2.2: ``-sum_t g^t A_w(s_t, a_t)`` with
    ``Q_w = w . phibar + g E V_w(next)``, needs ``mdp``); ``auto`` takes the expected form for a stochastic
    ``mdp`` and the telescoped one otherwise (the two are equal under deterministic transitions; tested).
    With ``compress``, identical rows are merged (sorted order, count weights): the loss and its gradient
    are unchanged.
    """
    where = "preference_rows"
    model = check_choice("model", model, MODELS, where=where)
    form = check_choice("form", form, ROW_FORMS, where=where)
    pairs = np.asarray(pairs, dtype=np.int64)
    y = np.asarray(y, dtype=float)
    if pairs.ndim != 2 or pairs.shape[1] != 2 or y.shape != (pairs.shape[0],):
        raise ParamError(where, "pairs", "an (N, 2) index array with labels y of shape (N,)",
                         f"shapes {pairs.shape} and {y.shape}")
    if np.any((y < 0) | (y > 1)):
        raise ParamError(where, "y", "labels in [0, 1]", y[(y < 0) | (y > 1)][0])
    if form == "auto":
        form = "expected" if mdp is not None and not mdp.deterministic else "telescoped"
    if form == "expected" and mdp is None:
        raise ParamError(where, "mdp", "the MDP, for the expected-form regret rows", None)
    a, b = pairs[:, 0], pairs[:, 1]
    if model == "partial_return":
        X = segs.phi[a] - segs.phi[b]
        idx = np.zeros((len(y), 0), dtype=np.int64)
        coef = np.zeros((len(y), 0))
    elif form == "expected":
        X, idx, coef = _expected_form(segs, mdp, a, b)
    else:
        X = segs.phi_disc[a] - segs.phi_disc[b]
        gk = segs.gamma**segs.k
        idx = np.stack([segs.start[a], segs.end[a], segs.start[b], segs.end[b]], axis=1)
        coef = np.broadcast_to(np.array([-1.0, gk, 1.0, -gk]), idx.shape).copy()
    wt = np.ones(len(y))
    if compress and len(y):
        key = np.concatenate([X, idx.astype(float), coef, y[:, None]], axis=1)
        uniq, inv = np.unique(key, axis=0, return_inverse=True)
        F, J = X.shape[1], idx.shape[1]
        X = np.ascontiguousarray(uniq[:, :F])
        idx = np.ascontiguousarray(uniq[:, F:F + J]).astype(np.int64)
        coef = np.ascontiguousarray(uniq[:, F + J:F + 2 * J])
        y = np.ascontiguousarray(uniq[:, -1])
        wt = np.bincount(inv.reshape(-1), minlength=uniq.shape[0]).astype(float)
    return Rows(X, idx, coef, y, wt)


def _stack_rows(rows: list[Rows]):
    """Pad a list of datasets to (B, N_max, ...) arrays (padded rows: X = 0, coef = 0, wt = 0)."""
    B = len(rows)
    F = rows[0].X.shape[1]
    J = rows[0].idx.shape[1]
    if any(r.X.shape[1] != F or r.idx.shape[1] != J for r in rows):
        raise ParamError("fit", "rows", "datasets of one model on one feature space", "mixed datasets")
    N = max(r.n for r in rows)
    X = np.zeros((B, N, F))
    idx = np.zeros((B, N, J), dtype=np.int64)
    coef = np.zeros((B, N, J))
    y = np.zeros((B, N))
    wt = np.zeros((B, N))
    n_rows = np.zeros(B, dtype=np.int64)
    for b, r in enumerate(rows):
        X[b, :r.n], idx[b, :r.n], coef[b, :r.n], y[b, :r.n], wt[b, :r.n] = r.X, r.idx, r.coef, r.y, r.wt
        n_rows[b] = r.n
    return X, idx, coef, y, wt, n_rows


# ---------------------------------------------------------------------------------------------------
# Fitting


@dataclasses.dataclass(frozen=True)
class FitResult:
    """Learned weights w (B, F); loss trace (B, T + 1) (loss at w_0..w_T); the loss of the returned w."""

    w: np.ndarray
    trace: np.ndarray
    loss: np.ndarray


def init_weights(rng, n_datasets: int, n_features: int) -> np.ndarray:
    """w_0 ~ U(-1/sqrt(F), 1/sqrt(F)) (PyTorch's default for Linear(F, 1)), (B, F)."""
    gen = check_rng(rng, where="init_weights")
    bound = 1.0 / np.sqrt(n_features)
    return gen.uniform(-bound, bound, size=(n_datasets, n_features))


def fit(rows, psi=None, *, w0, iterations: int = 5000, lr: float = 0.5, betas=(0.9, 0.999), eps: float = 1e-8,
        temperature: float = 1e-3, keep_best: bool | None = None, backend: str = "auto") -> FitResult:
    """Maximum-likelihood weights for B datasets by full-batch Adam (module docstring; spec §5.2-5.4).

    Parameters: rows: a list of :class:`Rows` (one model; datasets may differ in size); psi (n_pi, S, F)
        successor features (required when the rows have value terms, i.e. the regret model); w0 (B, F)
        initial weights (:func:`init_weights`); iterations >= 0; lr > 0; betas in [0, 1); eps > 0;
        temperature >= 0 of the soft max over Pi_SF (0: hard max); keep_best (default: True for the
        regret model, False for partial return: the authors' rules); backend numba|numpy|cupy|python|auto.
    """
    where = "fit"
    rows = [rows] if isinstance(rows, Rows) else list(rows)
    if not rows:
        raise ParamError(where, "rows", "at least one dataset", 0)
    iters = check_int("iterations", iterations, low=0, where=where)
    lr = check_float("lr", lr, low=0.0, low_open=True, where=where)
    b1 = check_float("betas[0]", betas[0], low=0.0, high=1.0, high_open=True, where=where)
    b2 = check_float("betas[1]", betas[1], low=0.0, high=1.0, high_open=True, where=where)
    eps = check_float("eps", eps, low=0.0, low_open=True, where=where)
    temp = check_float("temperature", temperature, low=0.0, where=where)
    X, idx, coef, y, wt, n_rows = _stack_rows(rows)
    if np.any(n_rows == 0) or np.any(wt.sum(axis=1) <= 0):
        raise ParamError(where, "rows", "non-empty datasets", "an empty dataset")
    B, _, F = X.shape
    use_v = idx.shape[2] > 0
    if use_v:
        if psi is None:
            raise ParamError(where, "psi", "successor features (n_pi, S, F) for the regret model", None)
        psi = np.ascontiguousarray(np.asarray(psi, dtype=float))
        if psi.ndim != 3 or psi.shape[2] != F or psi.shape[0] < 1:
            raise ParamError(where, "psi", f"shape (n_pi, S, {F})", f"shape {psi.shape}")
        if idx.max() >= psi.shape[1]:
            raise ParamError(where, "psi", f"at least {idx.max() + 1} states", psi.shape[1])
        # V_w is needed only at the states the rows name: restrict psi to them (other states would add
        # u_s dV_s = 0 terms to the gradient; the result is the same, bit for bit)
        used = np.unique(idx)
        psi = np.ascontiguousarray(psi[:, used])
        idx = np.searchsorted(used, idx)
    else:
        psi = np.zeros((1, 1, F))
    keep = use_v if keep_best is None else bool(keep_best)
    w0 = np.ascontiguousarray(np.asarray(w0, dtype=float))
    if w0.shape != (B, F):
        raise ParamError(where, "w0", f"shape ({B}, {F})", f"shape {w0.shape}")
    hard = temp == 0.0
    inv_temp = 0.0 if hard else 1.0 / temp
    be = resolve(backend, where)
    if be == "python":
        from .reference import fit_reference

        W, trace = fit_reference(X, idx, coef, y, wt, n_rows, psi, use_v, hard, inv_temp, w0, iters, lr, b1, b2,
                                 eps, keep)
    elif be == "numba":
        from . import _kernels

        W = np.empty((B, F))
        trace = np.empty((B, iters + 1))
        _kernels.fit_batch(X, idx, coef, y, wt, n_rows, psi, use_v, hard, inv_temp, w0, iters, lr, b1, b2, eps,
                           keep, W, trace)
    else:
        from . import _numpy

        xp = get_cupy() if be == "cupy" else np
        args = [xp.asarray(a) for a in (X, idx, coef, y, wt, n_rows, psi)]
        W, trace = _numpy.fit_batch(*args, use_v, hard, inv_temp, xp.asarray(w0), iters, lr, b1, b2, eps, keep,
                                    xp=xp)
        if xp is not np:
            W, trace = xp.asnumpy(W), xp.asnumpy(trace)
    loss = trace.min(axis=1) if keep else trace[:, -1]
    return FitResult(W, trace, loss)


def fit_lbfgs(rows: Rows, psi=None, *, w0=None, temperature: float = 0.0, maxiter: int = 10_000):
    """The same maximum-likelihood problem by SciPy's L-BFGS-B (analytic gradient): (w, loss) for one dataset.

    A check of :func:`fit`; on separable data (noiseless labels) the optimum is at infinity and L-BFGS
    stops at ``maxiter`` or its tolerance.
    """
    from scipy.optimize import minimize

    from ._numpy import loss_grad, values

    X, idx, coef, y, wt, _ = _stack_rows([rows])
    F = X.shape[2]
    wsum = wt.sum(axis=1)
    use_v = idx.shape[2] > 0
    temp = check_float("temperature", temperature, low=0.0, where="fit_lbfgs")
    hard, inv_temp = temp == 0.0, (0.0 if temp == 0.0 else 1.0 / temp)

    def fun(w):
        W = w[None]
        if use_v:
            V, dV = values(psi, W, hard, inv_temp)
        else:
            V, dV = np.zeros((1, 1)), np.zeros((1, 1, F))
        loss, g = loss_grad(X, idx, coef, y, wt, wsum, V, dV, W)
        return float(loss[0]), g[0]

    x0 = np.zeros(F) if w0 is None else np.asarray(w0, dtype=float)
    res = minimize(fun, x0, jac=True, method="L-BFGS-B", options={"maxiter": maxiter, "gtol": 1e-12,
                                                                   "ftol": 1e-15})
    return res.x, float(res.fun)
