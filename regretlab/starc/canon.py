"""Canonicalisation functions for reward comparison: STARC (C_VAL, minimal), their ablations, EPIC, DARD.

Notation of specs/starc-metrics.md (the spec) §1: tau[s, a, s'] (S, A, S) transition probabilities,
rewards R[s, a, s'] (S, A, S) or a batch (B, S, A, S), gamma in [0, 1), Rbar[s, a] = sum_s' tau R.
A canonicalisation c maps a reward to a representative of its class modulo the zero-equivalence
subspace W = {gamma Phi[s'] - Phi[s] + X : E_tau X = 0} (potential shaping plus S'-redistribution,
spec §2). [STARC] calls c a *canonicalisation function* when (spec §3; wording UNCONFIRMED)
(i) c is linear, (ii) R - c(R) lies in W, (iii) c(R1) = c(R2) iff R1 - R2 lies in W.

================================  =========  =======  ===========  =========================================
name                              (i)-(iii)  linear   R-c(R) in W  what it is
================================  =========  =======  ===========  =========================================
"val"                             yes        yes      yes          C_VAL, value-adjusted levelling (§3.1)
"minimal" (= "minimal_w_l2")      yes        yes      yes          minimal for ||.||_w, w = tau (§3.2)
"minimal_l2"                      yes        yes      yes          minimal for unweighted L2 (w = 1)
"minimal_l1", "minimal_linf",     no*        no*      yes          STARC-like, NOT linear: minimal for L1 /
"minimal_w_l1", "minimal_w_linf"                                   L-inf (w = 1 or tau); cvxpy (§3.2 table)
"val_potential"                   no         yes      yes          ablation "VALPotential" (§3.1)
"minimal_potential"               no         yes      yes          ablation "MinimalPotential", unweighted L2
"minimal_potential_<norm>"        no         L2 only  yes          the same for <norm> in l1, l2, linf, w_l1,
                                                                   w_l2, w_linf (cvxpy for L1 / L-inf)
"epic"                            no         yes      yes          C_EPIC [EPIC] (§3.3)
"dard"                            no         yes      no           C_DARD [DARD] (§3.3)
"none"                            no         yes      yes          identity (baseline)
================================  =========  =======  ===========  =========================================

(*) They satisfy (ii) and (iii) up to the non-uniqueness of the L1 / L-inf minimiser, but are not
linear, so the STARC theorems do not cover them (spec §3.2 caveat): label them "STARC-like".
"R - c(R) in W" is the property the computable regret bound of spec §7 needs
(:func:`regretlab.starc.bounds.regret_upper_bound`).

Reward inputs (every public function here). By number of axes:

* 4: (B, S, A, S), a batch of rewards R[b, s, a, s'];
* 3: (S, A, S), one reward R[s, a, s'];
* 2: (S, A), one reward R[s, a], broadcast as R[s, a, s'] = R[s, a] for every s' (also s' with
  tau[s, a, s'] = 0);
* 1: (S,), one state reward R[s], broadcast as R[s, a, s'] = R[s] (the reward of the *current* state,
  the convention of :func:`regretlab.core.mdp.expected_reward`).

Batches must be given in the (B, S, A, S) form (broadcast batched R[s, a] yourself with
``R[..., None] * np.ones(S)``), so a shape is never ambiguous when S == A. Outputs have the batch
shape of the input: (S, A, S) for one reward, (B, S, A, S) for a batch; float64 NumPy arrays.

Batched computation (spec §10): everything is dense linear algebra over the batch, with every
per-environment factorisation done once (:class:`_Env`): the inverse of (I - gamma P_pi0) for C_VAL
(S <= a few thousand), a QR factor of the (S*A, S) matrix of the minimal L2 problem, the inverse of
the (S, S) normal matrix of the minimal-potential L2 problem. The same code runs on CuPy (``xp``):
backend "cupy" uses it on a GPU; backend "numba" is the NumPy path, since the work is BLAS/LAPACK
(einsum, matmul, solve) that NumPy already dispatches to compiled code and Numba would only
re-implement. The cvxpy-based canonicalisations (L1 / L-inf minimal and minimal-potential) run on the
CPU only: backend "cupy" rejects them, "auto" runs them on the CPU.

References: [STARC] Skalse, Farnik, Motwani, Jenner, Gleave, Abate, "STARC: A General Framework For
Quantifying Differences Between Reward Functions", ICLR 2024, arXiv 2309.15257. [EPIC] Gleave, Dennis,
Legg, Russell, Leike, "Quantifying differences in reward functions", ICLR 2021, arXiv 2006.13900.
[DARD] Wulfe, Balakrishna, Ellis, Mercat, McAllister, Gaidon, "Dynamics-aware comparison of learned
reward functions", ICLR 2022, arXiv 2201.10081.
"""
from __future__ import annotations

import dataclasses
import types

import numpy as np

from regretlab.core.mdp import PROB_ATOL, one_hot_policy
from regretlab.core.validate import ParamError, check_array, check_choice, check_float

__all__ = [
    "CANONICALISATIONS",
    "Canonicalisation",
    "canon_dard",
    "canon_epic",
    "canon_minimal",
    "canon_minimal_l2",
    "canon_minimal_potential",
    "canon_none",
    "canon_val",
    "canon_val_potential",
    "canonicalise",
]

_P_NORMS = ("l1", "l2", "linf")
_POT_NORMS = ("l1", "l2", "linf", "w_l1", "w_l2", "w_linf")
CVXPY_SOLVER_LP = "HIGHS"


# ---------------------------------------------------------------------------------------------------
# Validation (one canonical form at the API boundary; the kernels below trust their inputs)


def _check_tau(tau, where):
    """tau (S, A, S), entries >= 0, every row tau[s, a, :] a distribution within PROB_ATOL (never
    renormalised)."""
    tau = check_array("tau", tau, where=where, low=0.0)
    if tau.ndim != 3 or tau.shape[0] != tau.shape[2] or tau.shape[0] == 0 or tau.shape[1] == 0:
        raise ParamError(where, "tau", "an array of shape (S, A, S) with S, A >= 1",
                         f"an array of shape {tau.shape}")
    sums = tau.sum(axis=-1)
    dev = np.abs(sums - 1.0)
    if dev.max() > PROB_ATOL:
        s, a = np.unravel_index(int(np.argmax(dev)), dev.shape)
        raise ParamError(where, f"tau[{s}, {a}, :]",
                         f"a distribution over next states (entries >= 0 summing to 1 within {PROB_ATOL:g}; "
                         "never renormalised), but sums to", float(sums[s, a]))
    return tau


def _check_gamma(gamma, where):
    return check_float("gamma", gamma, low=0.0, high=1.0, high_open=True, where=where)


def _as_rewards(name, R, S, A, where):
    """R -> ((B, S, A, S) float64 array, batched flag). See the module docstring for the forms."""
    R = check_array(name, R, where=where)
    forms = f"(B, {S}, {A}, {S}), ({S}, {A}, {S}), ({S}, {A}) or ({S},)"
    if R.ndim == 4 and R.shape[1:] == (S, A, S):
        return R, True
    if R.ndim == 3 and R.shape == (S, A, S):
        return R[None], False
    if R.ndim == 2 and R.shape == (S, A):
        return np.broadcast_to(R[None, :, :, None], (1, S, A, S)).copy(), False
    if R.ndim == 1 and R.shape == (S,):
        return np.broadcast_to(R[None, :, None, None], (1, S, A, S)).copy(), False
    raise ParamError(where, name, f"an array of shape {forms} (batches only as (B, S, A, S))",
                     f"an array of shape {R.shape}")


def _broadcast_batches(B1, B2, batched1, batched2, where, names=("R1", "R2")):
    """The batch size of a pair of reward arrays (B1, ...) and (B2, ...): equal, or one of them unbatched."""
    if batched1 and batched2 and B1 != B2:
        raise ParamError(where, f"{names[0]} and {names[1]}",
                         "batches of the same size B, or one unbatched reward (S, A, S) against a batch",
                         f"batch sizes {B1} and {B2}")
    return max(B1, B2)


def _check_dist(name, x, n, where):
    """A distribution of shape (n,), entries >= 0 summing to 1 within PROB_ATOL."""
    x = check_array(name, x, where=where, low=0.0)
    if x.shape != (n,):
        raise ParamError(where, name, f"an array of shape ({n},)", f"an array of shape {x.shape}")
    if abs(x.sum() - 1.0) > PROB_ATOL:
        raise ParamError(where, name, f"a distribution (summing to 1 within {PROB_ATOL:g}; never renormalised), "
                         "but sums to", float(x.sum()))
    return x


def _check_pi0(pi0, S, A, where):
    """pi0 None (uniform), (S, A) stochastic policy, or (S,) integer actions -> (S, A) float64."""
    if pi0 is None:
        return np.full((S, A), 1.0 / A)
    arr = np.asarray(pi0)
    if arr.dtype.kind in "iu":
        if arr.shape != (S,):
            raise ParamError(where, "pi0", f"an integer array of shape ({S},) or a policy of shape ({S}, {A})",
                             f"an array of shape {arr.shape}")
        if arr.min() < 0 or arr.max() >= A:
            raise ParamError(where, "pi0", f"integer actions in 0..{A - 1}", arr)
        return one_hot_policy(arr, A)
    pi = check_array("pi0", pi0, where=where, low=0.0)
    if pi.shape != (S, A):
        raise ParamError(where, "pi0", f"a policy of shape ({S}, {A}) or integer actions ({S},)",
                         f"an array of shape {pi.shape}")
    dev = np.abs(pi.sum(axis=-1) - 1.0)
    if dev.max() > PROB_ATOL:
        s = int(np.argmax(dev))
        raise ParamError(where, f"pi0[{s}, :]", f"a distribution over actions (summing to 1 within {PROB_ATOL:g})"
                         ", but sums to", float(pi[s].sum()))
    return pi


def _check_weights(w, tau, where, name="w"):
    """Norm weights w (S, A, S): None or "tau" -> tau; "uniform" -> ones; an array >= 0 that is > 0
    wherever tau > 0."""
    if w is None or (isinstance(w, str) and w == "tau"):
        return tau.copy()
    if isinstance(w, str):
        if w == "uniform":
            return np.ones_like(tau)
        raise ParamError(where, name, "None, 'tau', 'uniform' or an array of shape (S, A, S)", w)
    w = check_array(name, w, where=where, low=0.0)
    if w.shape != tau.shape:
        raise ParamError(where, name, f"an array of shape {tau.shape}", f"an array of shape {w.shape}")
    bad = (tau > 0) & (w <= 0)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ParamError(where, f"{name}[{idx[0]}, {idx[1]}, {idx[2]}]",
                         "> 0 wherever tau > 0 (a norm on the image of the canonicalisation)", float(w[idx]))
    return w


def _backend(backend, where, needs_cpu=False):
    """Resolve ``backend`` -> (name, xp): "numpy" (also for "numba", see the module docstring) or "cupy".

    ``needs_cpu``: the computation uses cvxpy; "cupy" is then rejected and "auto" stays on the CPU.
    """
    from regretlab.core.backends import resolve

    if needs_cpu and backend == "cupy":
        raise ParamError(where, "backend", "'numpy', 'numba' or 'auto' for the cvxpy-based canonicalisations "
                         "(minimal / minimal_potential with L1 or L-inf norms run on the CPU)", backend)
    if needs_cpu and backend == "auto":
        backend = "numpy"
    name = resolve(backend, where=where, supported=("numpy", "numba", "cupy"))
    if name == "cupy":
        from regretlab.core.backends import get_cupy

        return "cupy", get_cupy()
    return "numpy", np


def _to_numpy(x):
    if isinstance(x, np.ndarray):
        return x
    return x.get()  # cupy


# ---------------------------------------------------------------------------------------------------
# The registry


@dataclasses.dataclass(frozen=True)
class Canonicalisation:
    """One registered canonicalisation (see the table in the module docstring).

    Fields: name; kind (the family: "none", "epic", "dard", "val", "val_potential", "minimal",
    "minimal_potential"); norm (for the minimal families: the norm it minimises, "w_*" = tau-weighted);
    is_canonicalisation (satisfies [STARC]'s (i)-(iii): a STARC metric); linear; shaping_only (R - c(R)
    lies in W, which the spec §7 bound needs); uses_cvxpy (CPU only); summary; source (paper and spec
    section).
    """

    name: str
    kind: str
    norm: str | None
    is_canonicalisation: bool
    linear: bool
    shaping_only: bool
    uses_cvxpy: bool
    summary: str
    source: str


def _registry():
    reg = {}

    def add(name, kind, norm, is_c, linear, shaping_only, cvx, summary, source):
        reg[name] = Canonicalisation(name, kind, norm, is_c, linear, shaping_only, cvx, summary, source)

    add("none", "none", None, False, True, True, False, "identity, no canonicalisation (baseline)",
        "[STARC] experiments; spec §9")
    add("epic", "epic", None, False, True, True, False,
        "C_EPIC: shaping-invariant, ignores tau (uniform D_S, D_A)", "[EPIC]; spec §3.3")
    add("dard", "dard", None, False, True, False, False,
        "C_DARD: dynamics-aware, same A in both draws (uniform D_A)", "[DARD]; spec §3.3")
    add("val_potential", "val_potential", None, False, True, True, False,
        "R + gamma V^pi0_R(s') - V^pi0_R(s), uniform pi0 (ablation VALPotential)", "[STARC] ablation; spec §3.1")
    add("val", "val", None, True, True, True, False,
        "C_VAL = A^pi0_R, value-adjusted levelling, uniform pi0", "[STARC]; spec §3.1")
    for nm in ("minimal", "minimal_w_l2"):
        add(nm, "minimal", "w_l2", True, True, True, False,
            "minimal canonicalisation for the tau-weighted L2 norm (closed form)", "[STARC]; spec §3.2, §10.3")
    add("minimal_l2", "minimal", "l2", True, True, True, False,
        "minimal canonicalisation for the unweighted L2 norm (closed form)", "[STARC]; spec §3.2, §10.3")
    for nm in ("l1", "linf", "w_l1", "w_linf"):
        add(f"minimal_{nm}", "minimal", nm, False, False, True, True,
            f"STARC-like, not linear: minimal for the {nm} norm (cvxpy)", "spec §3.2 (reduction table)")
    add("minimal_potential", "minimal_potential", "l2", False, True, True, False,
        "argmin_Phi ||R + gamma Phi(s') - Phi(s)||_2 (ablation MinimalPotential, exact lstsq)",
        "[STARC] ablation; spec §3.2")
    for nm in _POT_NORMS:
        cvx = nm not in ("l2", "w_l2")
        add(f"minimal_potential_{nm}", "minimal_potential", nm, False, not cvx, True, cvx,
            f"argmin_Phi ||R + gamma Phi(s') - Phi(s)||_{nm} (ablation MinimalPotential"
            + (", cvxpy)" if cvx else ", exact)"), "[STARC] ablation; spec §3.2")
    return types.MappingProxyType(reg)


CANONICALISATIONS = _registry()
"""Read-only mapping name -> :class:`Canonicalisation`; the names accepted by ``canon=`` everywhere."""


def _check_canon(canon, where, name="canon"):
    return CANONICALISATIONS[check_choice(name, canon, tuple(CANONICALISATIONS), where=where)]


# ---------------------------------------------------------------------------------------------------
# Per-environment precomputation (spec §10: factorise once, reuse for every reward)


class _Env:
    """tau, gamma and the per-environment factorisations, on the array module ``xp``.

    Holds NumPy copies of the validated inputs (``tau_np``, ``pi0_np``, ...) and ``xp`` copies; the
    factorisations are computed on first use and cached.
    """

    def __init__(self, xp, tau, gamma, pi0=None, D_S=None, D_A=None):
        self.xp = xp
        self.tau_np = tau
        self.S, self.A = tau.shape[0], tau.shape[1]
        self.gamma = float(gamma)
        self.pi0_np = pi0 if pi0 is not None else np.full((self.S, self.A), 1.0 / self.A)
        self.D_S_np = D_S if D_S is not None else np.full(self.S, 1.0 / self.S)
        self.D_A_np = D_A if D_A is not None else np.full(self.A, 1.0 / self.A)
        self.tau = xp.asarray(tau)
        self.tau2 = self.tau.reshape(self.S * self.A, self.S)
        self._cache = {}

    def arr(self, x):
        return self.xp.asarray(x)

    def cached(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    # -- common pieces
    def rbar(self, R4):
        """Rbar[b, s, a] = sum_s' tau[s, a, s'] R[b, s, a, s'] (spec §10.1)."""
        # one fused multiply-reduce, no (B, S, A, S) temporary (einsum's direct loop; no optimize=True:
        # a contraction path would only add a transpose copy here)
        return self.xp.einsum("bsat,sat->bsa", R4, self.tau)

    def apply_tau(self, V):
        """(tau V)[b, s, a] = sum_s' tau[s, a, s'] V[b, s']."""
        return (V @ self.tau2.T).reshape(V.shape[0], self.S, self.A)

    def val_inverse(self):
        """(I - gamma P_pi0)^{-1}, P_pi0[s, s'] = sum_a pi0[s, a] tau[s, a, s'] (spec §10.2)."""
        def make():
            P0 = np.einsum("sa,sat->st", self.pi0_np, self.tau_np)
            return self.arr(np.linalg.inv(np.eye(self.S) - self.gamma * P0))
        return self.cached("val_inv", make)

    def values(self, Rbar):
        """V^pi0_R (B, S) for expected rewards Rbar (B, S, A)."""
        pi0 = self.cached("pi0", lambda: self.arr(self.pi0_np))
        r0 = (Rbar * pi0[None]).sum(axis=-1)
        return r0 @ self.val_inverse().T

    # -- C_VAL
    def advantage(self, R4):
        """Compact C_VAL: A^pi0_R[b, s, a] = Rbar + gamma tau V - V (spec §3.1, §10.2)."""
        Rbar = self.rbar(R4)
        V = self.values(Rbar)
        return Rbar + self.gamma * self.apply_tau(V) - V[:, :, None]

    def val_potential(self, R4):
        V = self.values(self.rbar(R4))
        return R4 + self.gamma * V[:, None, None, :] - V[:, :, None, None]

    # -- minimal L2 (spec §3.2 closed form, §10.3)
    def minimal_l2_factor(self, w_np):
        key = ("min_l2", w_np.tobytes())

        def make():
            S, A, g = self.S, self.A, self.gamma
            ratio = np.where(w_np > 0, self.tau_np / np.where(w_np > 0, w_np, 1.0), 0.0)  # tau / w
            k = (self.tau_np * ratio).sum(axis=-1)  # sum tau^2 / w over the support of w, > 0
            M = g * self.tau_np.reshape(S * A, S) - np.repeat(np.eye(S), A, axis=0)
            sk = np.sqrt(k).reshape(S * A)
            Q, _ = np.linalg.qr(M / sk[:, None])
            return self.arr(sk), self.arr(Q), self.arr(ratio / k[:, :, None])
        return self.cached(key, make)

    def minimal_l2(self, R4, w_np):
        """Weighted-L2 projection onto the complement of W: m* = Rbar + M Phi*, c = m* (tau/w) / k."""
        sk, Q, spread = self.minimal_l2_factor(w_np)
        B = R4.shape[0]
        y = self.rbar(R4).reshape(B, -1) / sk[None]
        res = y - (y @ Q) @ Q.T  # (I - Q Q^T) y: the weighted least-squares residual
        m = (res * sk[None]).reshape(B, self.S, self.A)
        return m[..., None] * spread[None]

    # -- minimal potential, weighted L2 (normal equations on the (S, S) matrix)
    def potential_l2_factor(self, W_np):
        key = ("pot_l2", W_np.tobytes())

        def make():
            g = self.gamma
            win = W_np.sum(axis=(0, 1))
            wout = W_np.sum(axis=(1, 2))
            Wsum = W_np.sum(axis=1)
            H = g * g * np.diag(win) + np.diag(wout) - g * (Wsum + Wsum.T)
            return self.arr(W_np), self.arr(np.linalg.inv(H))
        return self.cached(key, make)

    def minimal_potential_l2(self, R4, W_np):
        """argmin_Phi sum W (R + gamma Phi[s'] - Phi[s])^2, then the shaped reward."""
        W, Hinv = self.potential_l2_factor(W_np)
        WR = W[None] * R4
        grad = self.gamma * WR.sum(axis=(1, 2)) - WR.sum(axis=(2, 3))  # D^T W R, (B, S)
        Phi = -(grad @ Hinv)  # H symmetric
        return R4 + self.gamma * Phi[:, None, None, :] - Phi[:, :, None, None]

    # -- EPIC and DARD (spec §3.3)
    def epic(self, R4):
        B, S, A = R4.shape[0], self.S, self.A
        D_S = self.cached("D_S", lambda: self.arr(self.D_S_np))
        # pot[b, s] = sum_{a,t} D_A[a] D_S[t] R[b, s, a, t]: one matrix-vector product over the A*S axis
        w_at = self.cached("D_A x D_S", lambda: self.arr(np.outer(self.D_A_np, self.D_S_np).reshape(A * S)))
        pot = R4.reshape(B, S, A * S) @ w_at  # (B, S)
        mean = pot @ D_S
        # R + gamma pot[s'] - pot[s] - gamma mean, built in one output array (no further temporaries)
        out = R4 + (self.gamma * pot)[:, None, None, :]
        out -= pot[:, :, None, None]
        out -= (self.gamma * mean)[:, None, None, None]
        return out

    def dard_factor(self):
        """(tau_a^T stacked (A, S, S), D_A-weighted tau permuted to (S, S*A)) for :meth:`dard`."""
        def make():
            tauT = np.ascontiguousarray(self.tau_np.transpose(1, 2, 0))  # tauT[a, t, u] = tau[u, a, t]
            W = (self.tau_np * self.D_A_np[None, :, None]).transpose(0, 2, 1).reshape(self.S, self.S * self.A)
            return self.arr(tauT), self.arr(np.ascontiguousarray(W))  # W[s, x*A + a] = D_A[a] tau[s, a, x]
        return self.cached("dard", make)

    def dard(self, R4):
        xp = self.xp
        B, S, A = R4.shape[0], self.S, self.A
        D_A = self.cached("D_A", lambda: self.arr(self.D_A_np))
        tauT, W = self.dard_factor()
        potT = self.rbar(R4) @ D_A  # (B, S)
        # term3[b] = sum_a D_A[a] tau_a R_a tau_a^T (spec §3.3), as two matrix products without
        # (B, A, S, S) stacks: Y[b, x, a, u] = (R_a tau_a^T)[x, u] (one GEMM per action on the (B*S, S)
        # view of R[:, :, a, :]), then term3[b] = W @ Y[b] with the sum over (x, a) inside the GEMM.
        Y = xp.empty((B, S, A, S), dtype=R4.dtype)
        for a in range(A):
            Y[:, :, a, :] = (R4[:, :, a, :].reshape(B * S, S) @ tauT[a]).reshape(B, S, S)
        term3 = xp.matmul(W, Y.reshape(B, S * A, S))  # (B, S, S)
        term3 *= self.gamma
        out = R4 + (self.gamma * potT)[:, None, None, :]
        out -= potT[:, :, None, None]
        out -= term3[:, :, None, :]
        return out


# ---------------------------------------------------------------------------------------------------
# cvxpy-based minimisations (CPU, one small problem per reward, built once and re-solved)


def _cvx_solve(make, where):
    """Build (``make()`` -> (problem, variable)) and solve an LP with HiGHS (a vertex solution), falling
    back to Clarabel; returns the variable's value. A fresh problem per reward: in cvxpy 1.9 a
    Parameter-based LP compiled for HiGHS can be reported infeasible (bounds propagation meets the
    unset parameter), so parameters are not used here."""
    import cvxpy as cp

    prob, var = make()
    with np.errstate(invalid="ignore"):  # cvxpy's bound propagation multiplies 0 * inf
        try:
            prob.solve(solver=CVXPY_SOLVER_LP)
        except cp.error.SolverError:  # pragma: no cover - the other installed LP solver
            prob.solve(solver="CLARABEL")
    if prob.status not in ("optimal", "optimal_inaccurate"):  # pragma: no cover - bounded, always solvable
        raise RuntimeError(f"{where}: cvxpy returned status {prob.status!r}")
    return var.value


def _minimal_cvx_m(Rbar, tau, gamma, p, w, where):
    """Reduced problem of spec §3.2: argmin_Phi sum/max coef |Rbar + M Phi|; returns m* (B, S, A).

    coef per (s, a): L1 min_{tau > 0} (w / tau); L-inf 1 / sum_s' (tau / w). Each reward is scaled to
    max |Rbar| = 1 before solving (the minimiser is positively homogeneous), then scaled back.
    """
    import cvxpy as cp

    S, A = tau.shape[0], tau.shape[1]
    M = gamma * tau.reshape(S * A, S) - np.repeat(np.eye(S), A, axis=0)
    supp = tau > 0
    if p == "l1":
        coef = np.where(supp, w / np.where(supp, tau, 1.0), np.inf).min(axis=-1).reshape(-1)
    else:
        coef = 1.0 / np.where(supp, tau / np.where(w > 0, w, 1.0), 0.0).sum(axis=-1).reshape(-1)
    CM = coef[:, None] * M

    def make(rb):
        Phi = cp.Variable(S)
        resid = coef * rb + CM @ Phi  # coef folded into the data (cp.multiply trips HiGHS in cvxpy 1.9)
        obj = cp.sum(cp.abs(resid)) if p == "l1" else cp.max(cp.abs(resid))
        return cp.Problem(cp.Minimize(obj)), Phi

    out = np.zeros(Rbar.shape)
    for b in range(Rbar.shape[0]):
        scale = np.abs(Rbar[b]).max()
        if scale == 0.0:
            continue
        rb = Rbar[b].reshape(-1) / scale
        Phi = _cvx_solve(lambda rb=rb: make(rb), where)
        out[b] = (rb + M @ Phi).reshape(S, A) * scale
    return out


def _spread(m, tau, w, p):
    """Spread m* (B, S, A) over s' with the cheapest S'-redistribution for the norm (spec §3.2 table).

    L2: Z = m (tau / w) / k. L-inf: Z = m / (w sum_s' tau / w) on the support of tau, 0 elsewhere.
    L1: all mass on the s' attaining min_{tau > 0} w / tau; when several tie (relative 1e-12, e.g.
    every s' of the support when w = tau), Z = m / sum_{tied} tau on each tied s', the same cost.
    """
    supp = tau > 0
    if p == "l2":
        ratio = np.where(w > 0, tau / np.where(w > 0, w, 1.0), 0.0)
        return m[..., None] * ratio / (tau * ratio).sum(axis=-1)[..., None]
    if p == "linf":
        inv = np.where(supp, 1.0 / np.where(w > 0, w, 1.0), 0.0)
        return m[..., None] * inv / (tau * inv).sum(axis=-1)[..., None]
    r = np.where(supp, w / np.where(supp, tau, 1.0), np.inf)
    rmin = r.min(axis=-1, keepdims=True)
    tied = supp & (r <= rmin * (1.0 + 1e-12))
    mass = (tau * tied).sum(axis=-1)
    return m[..., None] * tied / mass[..., None]


def _potential_cvx(R4, tau, gamma, norm, where):
    """argmin_Phi n(R + gamma Phi[s'] - Phi[s]) over the S*A*S entries for L1 / L-inf norms, by cvxpy."""
    import cvxpy as cp
    import scipy.sparse as sp

    S, A = tau.shape[0], tau.shape[1]
    n = S * A * S
    s_idx, _, t_idx = np.meshgrid(np.arange(S), np.arange(A), np.arange(S), indexing="ij")
    rows = np.arange(n)
    D = sp.csr_matrix((np.concatenate([np.full(n, gamma), -np.ones(n)]),
                       (np.concatenate([rows, rows]), np.concatenate([t_idx.ravel(), s_idx.ravel()]))),
                      shape=(n, S))
    wts = (tau if norm.startswith("w_") else np.ones_like(tau)).reshape(-1)
    keep = wts > 0
    wk = wts[keep]
    WD = sp.diags(wk) @ D[keep]  # weights folded into the data (cp.multiply trips HiGHS in cvxpy 1.9)

    def make(r):
        Phi = cp.Variable(S)
        resid = wk * r + WD @ Phi
        obj = cp.sum(cp.abs(resid)) if norm.endswith("l1") else cp.max(cp.abs(resid))
        return cp.Problem(cp.Minimize(obj)), Phi

    out = R4.copy()
    for b in range(R4.shape[0]):
        Rb = R4[b].reshape(-1)
        scale = np.abs(Rb[keep]).max() if keep.any() else 0.0
        if scale == 0.0:
            continue
        r = Rb[keep] / scale
        ph = _cvx_solve(lambda r=r: make(r), where) * scale
        out[b] = R4[b] + gamma * ph[None, None, :] - ph[:, None, None]
    return out


# ---------------------------------------------------------------------------------------------------
# Dispatch used by every public entry point (returns ("compact", (B, S, A)) for C_VAL, else ("full", ...))


def _canon_batch(spec: Canonicalisation, R4, env: _Env, where):
    kind = spec.kind
    if kind == "none":
        return "full", R4
    if kind == "val":
        return "compact", env.advantage(R4)
    if kind == "val_potential":
        return "full", env.val_potential(R4)
    if kind == "epic":
        return "full", env.epic(R4)
    if kind == "dard":
        return "full", env.dard(R4)
    tau = env.tau_np
    weighted = spec.norm.startswith("w_")
    if kind == "minimal":
        w = tau if weighted else np.ones_like(tau)
        p = spec.norm.removeprefix("w_")
        if p == "l2":
            return "full", env.minimal_l2(R4, w)
        R_np = _to_numpy(R4)
        Rbar = (R_np * tau[None]).sum(axis=-1)
        m = _minimal_cvx_m(Rbar, tau, env.gamma, p, w, where)
        return "full", env.arr(_spread(m, tau, w, p))
    # minimal_potential
    if spec.norm in ("l2", "w_l2"):
        return "full", env.minimal_potential_l2(R4, tau if weighted else np.ones_like(tau))
    return "full", env.arr(_potential_cvx(_to_numpy(R4), tau, env.gamma, spec.norm, where))


def _expand(form, C, env):
    """Compact (B, S, A) -> (B, S, A, S), constant in s' (every s', tau = 0 included); full: as is."""
    if form == "compact":
        return env.xp.broadcast_to(C[..., None], C.shape + (env.S,)).copy()
    return C


def _finish(C, batched):
    C = _to_numpy(C)
    return C if batched else C[0]


def _setup(R, tau, gamma, where, pi0=None, D_S=None, D_A=None, backend="auto", needs_cpu=False):
    tau = _check_tau(tau, where)
    S, A = tau.shape[0], tau.shape[1]
    gamma = _check_gamma(gamma, where)
    R4, batched = _as_rewards("R", R, S, A, where)
    pi0 = _check_pi0(pi0, S, A, where) if pi0 is not None else None
    D_S = _check_dist("D_S", D_S, S, where) if D_S is not None else None
    D_A = _check_dist("D_A", D_A, A, where) if D_A is not None else None
    _, xp = _backend(backend, where, needs_cpu=needs_cpu)
    env = _Env(xp, tau, gamma, pi0=pi0, D_S=D_S, D_A=D_A)
    return env, env.arr(R4), batched


# ---------------------------------------------------------------------------------------------------
# Public canonicalisations


def canon_val(R, tau, gamma, pi0=None, *, compact=False, backend="auto"):
    """C_VAL, value-adjusted levelling [STARC] (spec §3.1):

        C_VAL(R)[s, a, s'] = E_{S' ~ tau(s, a)}[ R(s, a, S') + gamma V^pi0_R(S') - V^pi0_R(s) ]
                           = Q^pi0_R(s, a) - V^pi0_R(s) = A^pi0_R(s, a)     (the same for every s'),

    with V^pi0_R the value of pi0 under R itself. A canonicalisation function for every pi0; the
    returns identity J_{C_VAL(R)}(pi) = J_R(pi) - J_R(pi0) holds, and sum_a pi0(a|s) C_VAL(R)[s, a] = 0.

    Parameters: R reward(s) (see the module docstring); tau (S, A, S); gamma in [0, 1);
        pi0 None (uniform, the paper's and its code's choice), (S, A) policy or (S,) integer actions;
        compact: return the (S, A) / (B, S, A) advantage array instead of broadcasting it over s'
        (the broadcast fills every s', also where tau = 0); backend "auto" | "numpy" | "numba" | "cupy".
    Returns: (S, A, S) or (B, S, A, S) float64 ((S, A) or (B, S, A) with ``compact``).
    """
    where = "canon_val"
    env, R4, batched = _setup(R, tau, gamma, where, pi0=pi0, backend=backend)
    adv = env.advantage(R4)
    return _finish(adv if compact else _expand("compact", adv, env), batched)


def canon_val_potential(R, tau, gamma, pi0=None, *, backend="auto"):
    """The ablation "VALPotential" of [STARC] (spec §3.1):

        c(R)[s, a, s'] = R[s, a, s'] + gamma V^pi0_R(s') - V^pi0_R(s),

    potential shaping by the value of pi0 (uniform by default) with no averaging over s'. It removes
    potential shaping only (not S'-redistribution), so it is NOT a canonicalisation function.
    Parameters and returns as :func:`canon_val` (no compact form).
    """
    where = "canon_val_potential"
    env, R4, batched = _setup(R, tau, gamma, where, pi0=pi0, backend=backend)
    return _finish(env.val_potential(R4), batched)


def canon_minimal_l2(R, tau, gamma, w=None, *, backend="auto"):
    """The minimal canonicalisation for a weighted L2 norm ||X||_w^2 = sum w X^2 (spec §3.2, §10.3).

    The weighted-orthogonal projection onto the complement of W, in closed form:

        k[s, a] = sum_s' tau^2 / w (over the support of w),  m_Phi = Rbar + gamma tau Phi - Phi,
        Phi* = argmin_Phi sum_{s,a} m_Phi^2 / k,  c(R)[s, a, s'] = m*[s, a] (tau / w)[s, a, s'] / k[s, a],

    and c(R) = 0 where w = 0 or tau = 0. It is linear, idempotent, minimal for ||.||_w among all R'
    with R - R' in W, and a canonicalisation function ([STARC] states existence and uniqueness for
    weighted L2 norms; wording UNCONFIRMED). Computed with one QR factor of diag(k)^{-1/2} M per
    environment: the weighted residual is (I - Q Q^T) diag(k)^{-1/2} Rbar.

    Parameters: R reward(s); tau (S, A, S); gamma in [0, 1);
        w None or "tau" (default: w = tau, zero exactly off the support of tau: the weights of the
        "w_l2" norm, sum tau x^2, so this is minimal for the default STARC norm), "uniform" (w = 1, the
        unweighted L2 norm), or an (S, A, S) array >= 0 that is > 0 wherever tau > 0;
        backend "auto" | "numpy" | "numba" | "cupy".
    Returns: (S, A, S) or (B, S, A, S) float64.
    """
    where = "canon_minimal_l2"
    env, R4, batched = _setup(R, tau, gamma, where, backend=backend)
    w = _check_weights(w, env.tau_np, where)
    return _finish(env.minimal_l2(R4, w), batched)


def canon_minimal(R, tau, gamma, norm="l2", w=None, *, backend="auto"):
    """The minimal canonicalisation for a weighted Lp norm, p in {1, 2, inf} (spec §3.2).

    c(R) = argmin n_w(R') over R' with R - R' in W, with n_w(X) = sum w |X| (L1), sqrt(sum w X^2)
    (L2), max w |X| (L-inf). For fixed Phi the best S'-redistribution decouples by (s, a) (spec §3.2
    table), leaving a problem in Phi alone:

        L1:    min_Phi sum_{s,a} |m_Phi| min_{s': tau > 0} (w / tau)          (an LP)
        L-inf: min_Phi max_{s,a} |m_Phi| / sum_s' (tau / w)                   (an LP)
        L2:    min_Phi sum_{s,a} m_Phi^2 / k                                  (closed form, as canon_minimal_l2)

    then m* is spread over s' by the table's rule (see :func:`_spread`; L1 ties are split evenly).
    L1 and L-inf are solved with cvxpy (HiGHS) per reward, on the CPU: **STARC-like, not linear** (the
    minimiser need not be unique or linear in R), so the STARC theorems do not cover them.

    Parameters: R reward(s); tau (S, A, S); gamma in [0, 1); norm "l1" | "l2" | "linf";
        w None / "tau" (default, w = tau), "uniform" (w = 1) or an (S, A, S) array > 0 where tau > 0;
        backend "auto" | "numpy" | "numba" ("cupy" is accepted for "l2" only).
    Returns: (S, A, S) or (B, S, A, S) float64.
    """
    where = "canon_minimal"
    norm = check_choice("norm", norm, _P_NORMS, where=where)
    env, R4, batched = _setup(R, tau, gamma, where, backend=backend, needs_cpu=norm != "l2")
    w = _check_weights(w, env.tau_np, where)
    if norm == "l2":
        return _finish(env.minimal_l2(R4, w), batched)
    Rbar = (R4 * env.tau_np[None]).sum(axis=-1)
    m = _minimal_cvx_m(Rbar, env.tau_np, env.gamma, norm, w, where)
    return _finish(_spread(m, env.tau_np, w, norm), batched)


def canon_minimal_potential(R, tau, gamma, norm="l2", *, backend="auto"):
    """The ablation "MinimalPotential" of [STARC] (spec §3.2), solved exactly:

        c(R) = R + gamma Phi*[s'] - Phi*[s],   Phi* = argmin_Phi n(R + gamma Phi[s'] - Phi[s]),

    over all S*A*S entries, for n in "l1", "l2", "linf" (unweighted) or "w_l1", "w_l2", "w_linf"
    (tau-weighted: sum tau |x|^p, max tau |x|). L2 norms: weighted least squares by the (S, S) normal
    equations (the exact replacement the spec names for the authors' Adam loop; EPIC's code calls it
    ``closest_potential``). L1 / L-inf: cvxpy (HiGHS) per reward, CPU only. It removes potential
    shaping but not S'-redistribution: NOT a canonicalisation function.

    Parameters: R reward(s); tau (S, A, S) (used for the weights and the shapes); gamma in [0, 1);
        norm as above (default "l2"); backend "auto" | "numpy" | "numba" ("cupy" for L2 norms only).
    Returns: (S, A, S) or (B, S, A, S) float64.
    """
    where = "canon_minimal_potential"
    norm = check_choice("norm", norm, _POT_NORMS, where=where)
    cvx = norm not in ("l2", "w_l2")
    env, R4, batched = _setup(R, tau, gamma, where, backend=backend, needs_cpu=cvx)
    spec = CANONICALISATIONS[f"minimal_potential_{norm}"]
    return _finish(_canon_batch(spec, R4, env, where)[1], batched)


def canon_epic(R, gamma, D_S=None, D_A=None, *, backend="auto"):
    """C_EPIC [EPIC] (spec §3.3):

        C_EPIC(R)(s, a, s') = R(s, a, s') + E[ gamma R(s', A, S') - R(s, A, S') - gamma R(S, A, S') ],

    S, S' ~ D_S independent, A ~ D_A. Vectorised: pot[s] = sum_{a,t} D_A[a] D_S[t] R[s, a, t],
    C = R + gamma pot[s'] - pot[s] - gamma D_S . pot. Invariant to potential shaping (and a projection:
    C_EPIC(C_EPIC(R)) = C_EPIC(R)), but not to S'-redistribution; it ignores tau and uses R on
    transitions that tau makes impossible.

    Parameters: R (S, A, S), (B, S, A, S) or (S, A) (broadcast over s'); gamma in [0, 1);
        D_S (S,) and D_A (A,) distributions, uniform by default (both reference codes use uniform);
        backend "auto" | "numpy" | "numba" | "cupy".
    Returns: the shape of R ((S, A, S) for an (S, A) input).
    """
    where = "canon_epic"
    arr = check_array("R", R, where=where)
    if arr.ndim in (3, 4) and arr.shape[-1] == arr.shape[-3] and arr.shape[-1] > 0:
        S, A = arr.shape[-1], arr.shape[-2]
    elif arr.ndim == 2 and min(arr.shape) > 0:
        S, A = arr.shape
    else:
        raise ParamError(where, "R", "an array of shape (S, A, S), (B, S, A, S) or (S, A) (canon_epic has no "
                         "tau to read the number of actions of an R[s] from)", f"an array of shape {arr.shape}")
    tau = np.full((S, A, S), 1.0 / S)  # only the shapes are read from it here
    env, R4, batched = _setup(arr, tau, gamma, where, D_S=D_S, D_A=D_A, backend=backend)
    return _finish(env.epic(R4), batched)


def canon_dard(R, tau, gamma, D_A=None, *, backend="auto"):
    """C_DARD [DARD] (spec §3.3):

        C_DARD(R)(s, a, s') = R(s, a, s') + E[ gamma R(s', A, S'') - R(s, A, S') - gamma R(S', A, S'') ],

    A ~ D_A, S' ~ tau(s, A), S'' ~ tau(s', A), **the same A in both draws** of the last term.
    Vectorised: potT[s] = sum_a D_A[a] Rbar[s, a], term3[s, s'] = gamma sum_a D_A[a] (tau_a R_a
    tau_a^T)[s, s'] (batched matmul, O(B A S^3)), C = R + gamma potT[s'] - potT[s] - term3[s, s'].
    Invariant to potential shaping, not to S'-redistribution.

    Parameters: R reward(s); tau (S, A, S); gamma in [0, 1); D_A (A,) distribution, uniform by
        default; backend "auto" | "numpy" | "numba" | "cupy".
    Returns: (S, A, S) or (B, S, A, S) float64.
    """
    where = "canon_dard"
    env, R4, batched = _setup(R, tau, gamma, where, D_A=D_A, backend=backend)
    return _finish(env.dard(R4), batched)


def canon_none(R, tau):
    """The identity (no canonicalisation; the baseline column "None" of [STARC]'s Figure 1).

    Parameters: R reward(s) in any of the module's forms; tau (S, A, S) (for the shapes).
    Returns: R broadcast to (S, A, S) or (B, S, A, S), a new float64 array.
    """
    where = "canon_none"
    tau = _check_tau(tau, where)
    R4, batched = _as_rewards("R", R, tau.shape[0], tau.shape[1], where)
    return R4.copy() if batched else R4[0].copy()


def canonicalise(R, tau, gamma, canon="val", *, pi0=None, D_S=None, D_A=None, compact=False, backend="auto"):
    """Apply the canonicalisation registered as ``canon`` (a key of :data:`CANONICALISATIONS`).

    Parameters: R reward(s); tau (S, A, S); gamma in [0, 1); canon name; pi0 for "val" and
        "val_potential" (None: uniform); D_S, D_A for "epic" and D_A for "dard" (None: uniform);
        compact: for "val" only, return the (.., S, A) advantage array; backend as the functions above.
    Returns: (S, A, S) or (B, S, A, S) float64 (see the function of each family for the definition).
    """
    where = "canonicalise"
    spec = _check_canon(canon, where)
    env, R4, batched = _setup(R, tau, gamma, where, pi0=pi0, D_S=D_S, D_A=D_A, backend=backend,
                              needs_cpu=spec.uses_cvxpy)
    form, C = _canon_batch(spec, R4, env, where)
    if compact and form != "compact":
        raise ParamError(where, "compact", f"False for canon {canon!r} (only 'val' has a compact form)", compact)
    return _finish(C if compact else _expand(form, C, env), batched)
