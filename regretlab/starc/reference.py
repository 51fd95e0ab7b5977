"""Reference implementation of the STARC / EPIC / DARD formulas: one reward at a time, plain loops.

Slow and obviously correct: each function follows a formula of specs/starc-metrics.md literally, with
explicit loops over states, actions and next states, and no shared code with the batched modules
except the name registries and the trivial-reward threshold constants (conventions, not computations).
It is the test oracle (spec §11.10: batch = loop to 1e-12) and the benchmark baseline. Sizes: S <= ~10.

Rewards here are full (S, A, S) arrays; tau (S, A, S); pi0 (S, A); all validated by the caller.

References: [STARC] Skalse et al., ICLR 2024, arXiv 2309.15257; [EPIC] Gleave et al., ICLR 2021,
arXiv 2006.13900; [DARD] Wulfe et al., ICLR 2022, arXiv 2201.10081.
"""
from __future__ import annotations

import itertools

import numpy as np

from .norms import TRIVIAL_EPS, TRIVIAL_EPS_CVXPY

__all__ = [
    "canon_dard",
    "canon_epic",
    "canon_minimal_full_cvxpy",
    "canon_minimal_l2_bruteforce",
    "canon_minimal_potential",
    "canon_val",
    "canon_val_potential",
    "canonicalise",
    "dard_distance",
    "deterministic_returns",
    "epic_distance",
    "pairwise_distances",
    "pearson_distance",
    "policy_value",
    "reward_norm",
    "starc_distance",
    "zero_equivalent_basis",
]


def _sizes(tau):
    return tau.shape[0], tau.shape[1]


def _expected(R, tau):
    S, A = _sizes(tau)
    Rbar = np.zeros((S, A))
    for s in range(S):
        for a in range(A):
            for t in range(S):
                Rbar[s, a] += tau[s, a, t] * R[s, a, t]
    return Rbar


def policy_value(R, tau, gamma, pi):
    """V^pi (S,) from the Bellman equation V = r_pi + gamma P_pi V, built entry by entry and solved."""
    S, A = _sizes(tau)
    Rbar = _expected(R, tau)
    P = np.zeros((S, S))
    r = np.zeros(S)
    for s in range(S):
        for a in range(A):
            r[s] += pi[s, a] * Rbar[s, a]
            for t in range(S):
                P[s, t] += pi[s, a] * tau[s, a, t]
    return np.linalg.solve(np.eye(S) - gamma * P, r)


def canon_val(R, tau, gamma, pi0=None):
    """C_VAL(R)[s, a, s'] = sum_t tau[s, a, t] (R[s, a, t] + gamma V(t) - V(s)), the same for every s'."""
    S, A = _sizes(tau)
    pi0 = np.full((S, A), 1.0 / A) if pi0 is None else pi0
    V = policy_value(R, tau, gamma, pi0)
    C = np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            adv = 0.0
            for t in range(S):
                adv += tau[s, a, t] * (R[s, a, t] + gamma * V[t] - V[s])
            for sp in range(S):
                C[s, a, sp] = adv
    return C


def canon_val_potential(R, tau, gamma, pi0=None):
    """R[s, a, s'] + gamma V(s') - V(s) with V = V^pi0_R."""
    S, A = _sizes(tau)
    pi0 = np.full((S, A), 1.0 / A) if pi0 is None else pi0
    V = policy_value(R, tau, gamma, pi0)
    C = np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            for t in range(S):
                C[s, a, t] = R[s, a, t] + gamma * V[t] - V[s]
    return C


def canon_epic(R, gamma, D_S=None, D_A=None):
    """C_EPIC(R)(s,a,s') = R(s,a,s') + E[gamma R(s',A,S') - R(s,A,S') - gamma R(S,A,S')], expectations
    written out as sums over A ~ D_A and independent S, S' ~ D_S."""
    S, A = R.shape[0], R.shape[1]
    D_S = np.full(S, 1.0 / S) if D_S is None else D_S
    D_A = np.full(A, 1.0 / A) if D_A is None else D_A
    C = np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            for sp in range(S):
                e = 0.0
                for x in range(A):
                    for u in range(S):
                        e += D_A[x] * D_S[u] * (gamma * R[sp, x, u] - R[s, x, u])
                        for v in range(S):
                            e -= D_A[x] * D_S[u] * D_S[v] * gamma * R[v, x, u]
                C[s, a, sp] = R[s, a, sp] + e
    return C


def canon_dard(R, tau, gamma, D_A=None):
    """C_DARD(R)(s,a,s') = R(s,a,s') + E[gamma R(s',A,S'') - R(s,A,S') - gamma R(S',A,S'')], with
    A ~ D_A, S' ~ tau(s, A), S'' ~ tau(s', A), the same A in both draws."""
    S, A = _sizes(tau)
    D_A = np.full(A, 1.0 / A) if D_A is None else D_A
    C = np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            for sp in range(S):
                e = 0.0
                for x in range(A):
                    for u in range(S):  # S' = u ~ tau(s, x), S'' = u ~ tau(s', x)
                        e += D_A[x] * tau[sp, x, u] * gamma * R[sp, x, u]
                        e -= D_A[x] * tau[s, x, u] * R[s, x, u]
                        for v in range(S):  # S' = u ~ tau(s, x), S'' = v ~ tau(s', x)
                            e -= D_A[x] * tau[s, x, u] * tau[sp, x, v] * gamma * R[u, x, v]
                C[s, a, sp] = R[s, a, sp] + e
    return C


def zero_equivalent_basis(tau, gamma):
    """An explicit spanning set of W (spec §2) as columns of an (S*A*S, n) matrix.

    Shaping: gamma e_u[s'] - e_u[s] for each state u. S'-redistribution: for each (s, a), with t0 the
    first s' in the support of tau[s, a, :], the vectors e_{(s,a,t)} - (tau[s,a,t]/tau[s,a,t0]) e_{(s,a,t0)}
    for the other t in the support, and e_{(s,a,t)} for every t outside the support.
    """
    S, A = _sizes(tau)
    cols = []
    for u in range(S):
        v = np.zeros((S, A, S))
        for s in range(S):
            for a in range(A):
                for t in range(S):
                    v[s, a, t] = gamma * (t == u) - (s == u)
        cols.append(v.reshape(-1))
    for s in range(S):
        for a in range(A):
            supp = [t for t in range(S) if tau[s, a, t] > 0]
            t0 = supp[0]
            for t in range(S):
                if t == t0:
                    continue
                v = np.zeros((S, A, S))
                v[s, a, t] = 1.0
                if tau[s, a, t] > 0:
                    v[s, a, t0] = -tau[s, a, t] / tau[s, a, t0]
                cols.append(v.reshape(-1))
    return np.stack(cols, axis=1)


def canon_minimal_l2_bruteforce(R, tau, gamma, w):
    """c(R) = R - proj_W(R) in the inner product <x, y>_w = sum w x y, from the explicit basis of W;
    0 where w = 0 (there the seminorm does not see c)."""
    Bw = zero_equivalent_basis(tau, gamma)
    sw = np.sqrt(w.reshape(-1))
    coef, *_ = np.linalg.lstsq(sw[:, None] * Bw, sw * R.reshape(-1), rcond=None)
    C = (R.reshape(-1) - Bw @ coef).reshape(R.shape)
    return np.where(w > 0, C, 0.0)


def _shaping_matrix(S, A, gamma):
    """D (S*A*S, S): (D Phi)[s, a, t] = gamma Phi[t] - Phi[s], entry by entry."""
    D = np.zeros((S * A * S, S))
    i = 0
    for s in range(S):
        for _a in range(A):
            for t in range(S):
                D[i, t] += gamma
                D[i, s] -= 1.0
                i += 1
    return D


def canon_minimal_potential(R, tau, gamma, norm="l2"):
    """R + gamma Phi*[s'] - Phi*[s], Phi* = argmin n(R + shaping) over the S*A*S entries: np.linalg.lstsq
    for the (weighted) L2 norms, the full cvxpy problem for L1 / L-inf."""
    S, A = _sizes(tau)
    D = _shaping_matrix(S, A, gamma)
    w = (tau if norm.startswith("w_") else np.ones_like(tau)).reshape(-1)
    r = R.reshape(-1)
    if norm in ("l2", "w_l2"):
        sw = np.sqrt(w)
        Phi, *_ = np.linalg.lstsq(sw[:, None] * D, -sw * r, rcond=None)
    else:
        import cvxpy as cp

        P = cp.Variable(S)
        res = cp.multiply(w, r + D @ P)
        obj = cp.sum(cp.abs(res)) if norm.endswith("l1") else cp.max(cp.abs(res))
        cp.Problem(cp.Minimize(obj)).solve(solver="CLARABEL")
        Phi = P.value
    return (r + D @ Phi).reshape(R.shape)


def canon_minimal_full_cvxpy(R, tau, gamma, p, w, solver="CLARABEL", **solver_opts):
    """The full minimisation of spec §3.2, without the decoupling: variables Phi (S,) and X (S, A, S),

        min n_w(R + gamma Phi[s'] - Phi[s] + X)   s.t.  sum_s' tau[s, a, s'] X[s, a, s'] = 0 for all (s, a),

    n_w = sum w |.| (p "l1"), sum w (.)^2 (p "l2", returned as the square root), max w |.| (p "linf").
    Returns (optimal value of n_w, the minimiser R + shaping + X as (S, A, S)).
    """
    import cvxpy as cp

    S, A = _sizes(tau)
    D = _shaping_matrix(S, A, gamma)
    Phi = cp.Variable(S)
    X = cp.Variable(S * A * S)
    T = np.zeros((S * A, S * A * S))
    for s in range(S):
        for a in range(A):
            for t in range(S):
                T[s * A + a, (s * A + a) * S + t] = tau[s, a, t]
    Z = R.reshape(-1) + D @ Phi + X
    wf = w.reshape(-1)
    if p == "l1":
        obj = cp.sum(cp.multiply(wf, cp.abs(Z)))
    elif p == "l2":
        obj = cp.sum(cp.multiply(wf, cp.square(Z)))
    else:
        obj = cp.max(cp.multiply(wf, cp.abs(Z)))
    prob = cp.Problem(cp.Minimize(obj), [T @ X == 0])
    prob.solve(solver=solver, **solver_opts)
    val = float(prob.value)
    return (np.sqrt(max(val, 0.0)) if p == "l2" else val), Z.value.reshape(R.shape)


def reward_norm(X, tau, norm):
    """n(X) by explicit sums over (s, a, s')."""
    S, A = _sizes(tau)
    if norm == "none":
        return 1.0
    acc = 0.0
    for s in range(S):
        for a in range(A):
            for t in range(S):
                x = abs(X[s, a, t])
                wt = tau[s, a, t] if norm.startswith("w_") else 1.0
                if norm.endswith("l1"):
                    acc += wt * x
                elif norm.endswith("l2"):
                    acc += wt * x * x
                else:
                    acc = max(acc, wt * x)
    return float(np.sqrt(acc)) if norm.endswith("l2") else float(acc)


def canonicalise(R, tau, gamma, canon, pi0=None):
    """Dispatch by registry name to the functions above (the exact, linear canonicalisations; the cvxpy
    L1 / L-inf minimal ones have no unique reference: test their optimal values instead)."""
    S, A = _sizes(tau)
    if canon == "none":
        return R.copy()
    if canon == "val":
        return canon_val(R, tau, gamma, pi0)
    if canon == "val_potential":
        return canon_val_potential(R, tau, gamma, pi0)
    if canon == "epic":
        return canon_epic(R, gamma)
    if canon == "dard":
        return canon_dard(R, tau, gamma)
    if canon in ("minimal", "minimal_w_l2"):
        return canon_minimal_l2_bruteforce(R, tau, gamma, tau)
    if canon == "minimal_l2":
        return canon_minimal_l2_bruteforce(R, tau, gamma, np.ones_like(tau))
    if canon == "minimal_potential":
        return canon_minimal_potential(R, tau, gamma, "l2")
    if canon.startswith("minimal_potential_"):
        return canon_minimal_potential(R, tau, gamma, canon.removeprefix("minimal_potential_"))
    raise ValueError(f"reference.canonicalise: no reference for {canon!r}")


def _standardised(C, R, tau, norm, eps):
    n = reward_norm(C, tau, norm)
    if norm == "none":
        return C
    scale = np.abs(R).max()
    if n <= eps * scale * reward_norm(np.ones_like(tau), tau, norm):
        return np.zeros_like(C)
    return C / n


def _cvx_name(canon):
    return canon in ("minimal_l1", "minimal_linf", "minimal_w_l1", "minimal_w_linf")


def starc_distance(R1, R2, tau, gamma, canon="val", norm="w_l2", metric="w_l2", pi0=None):
    """d = m(s(R1), s(R2)) for one pair, s(R) = c(R) / n(c(R)) (0 for trivial R)."""
    C1 = canonicalise(R1, tau, gamma, canon, pi0)
    C2 = canonicalise(R2, tau, gamma, canon, pi0)
    eps = TRIVIAL_EPS_CVXPY if _cvx_name(canon) else TRIVIAL_EPS
    return _distance_from_canon(C1, R1, C2, R2, tau, norm, metric, eps)


def _distance_from_canon(C1, R1, C2, R2, tau, norm, metric, eps):
    s1 = _standardised(C1, R1, tau, norm, eps)
    s2 = _standardised(C2, R2, tau, norm, eps)
    return reward_norm(s1 - s2, tau, metric)


def pearson_distance(X, Y, coverage, scale_x, scale_y, eps=1e-10):
    """sqrt((1 - rho) / 2), rho the coverage-weighted Pearson correlation, clipped to [-1, 1]; for
    zero-variance inputs (std <= eps scale): 0 if both, 0.5 if one (see distances.py)."""
    x, y, c = X.reshape(-1), Y.reshape(-1), coverage.reshape(-1)
    mx = sum(c[i] * x[i] for i in range(x.size))
    my = sum(c[i] * y[i] for i in range(y.size))
    vx = sum(c[i] * (x[i] - mx) ** 2 for i in range(x.size))
    vy = sum(c[i] * (y[i] - my) ** 2 for i in range(y.size))
    cxy = sum(c[i] * (x[i] - mx) * (y[i] - my) for i in range(x.size))
    tx, ty = np.sqrt(vx) <= eps * scale_x, np.sqrt(vy) <= eps * scale_y
    if tx and ty:
        return 0.0
    if tx or ty:
        return 0.5
    rho = min(1.0, max(-1.0, cxy / np.sqrt(vx * vy)))
    return float(np.sqrt((1.0 - rho) / 2.0))


def epic_distance(R1, R2, gamma, D_S=None, D_A=None, coverage=None):
    cov = np.full(R1.shape, 1.0 / R1.size) if coverage is None else coverage
    return pearson_distance(canon_epic(R1, gamma, D_S, D_A), canon_epic(R2, gamma, D_S, D_A), cov,
                            np.abs(R1).max(), np.abs(R2).max())


def dard_distance(R1, R2, tau, gamma, D_A=None, coverage=None):
    cov = np.full(R1.shape, 1.0 / R1.size) if coverage is None else coverage
    return pearson_distance(canon_dard(R1, tau, gamma, D_A), canon_dard(R2, tau, gamma, D_A), cov,
                            np.abs(R1).max(), np.abs(R2).max())


def pairwise_distances(R1, R2, tau, gamma, canons, norms, metrics, pi0=None):
    """The dict of :func:`regretlab.starc.pairwise_distances`, pair by pair and combination by combination.
    R1, R2 (B, S, A, S) (or one of them (S, A, S), repeated)."""
    R1 = R1[None] if R1.ndim == 3 else R1
    R2 = R2[None] if R2.ndim == 3 else R2
    B = max(R1.shape[0], R2.shape[0])
    out = {}
    for c in canons:
        eps = TRIVIAL_EPS_CVXPY if _cvx_name(c) else TRIVIAL_EPS
        for b in range(B):
            r1, r2 = R1[b % R1.shape[0]], R2[b % R2.shape[0]]
            C1, C2 = canonicalise(r1, tau, gamma, c, pi0), canonicalise(r2, tau, gamma, c, pi0)
            for n in norms:
                for m in metrics:
                    out.setdefault((c, n, m), np.zeros(B))[b] = _distance_from_canon(C1, r1, C2, r2, tau, n, m, eps)
            if c == "epic":
                out.setdefault(("epic_pearson", None, None), np.zeros(B))[b] = epic_distance(r1, r2, gamma)
            if c == "dard":
                out.setdefault(("dard_pearson", None, None), np.zeros(B))[b] = dard_distance(r1, r2, tau, gamma)
    return out


def deterministic_returns(R, tau, gamma, mu0):
    """J_R(pi) = mu0 . V^pi for every deterministic policy, in itertools.product order, (A^S,)."""
    S, A = _sizes(tau)
    out = []
    for acts in itertools.product(range(A), repeat=S):
        pi = np.zeros((S, A))
        for s, a in enumerate(acts):
            pi[s, a] = 1.0
        out.append(float(mu0 @ policy_value(R, tau, gamma, pi)))
    return np.array(out)
