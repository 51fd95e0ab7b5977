"""Covariance-inverse estimators of (gamma I + Sigma_h)^{-1} (specs/adversarial-linear-mdp.md §2.4).

Sigma_h = E_{(s, a) ~ q^pi_h}[phi(s, a) phi(s, a)^T] is the layer-h feature covariance of a policy pi.

- :func:`exact_inverse`: (gamma I + Sigma)^{-1} by a Cholesky factorisation (the infinite-simulator limit;
  what :func:`regretlab.adversarial_mdp.simulate` uses).
- :func:`empirical_inverse`: (gamma I + (1/N) sum_i phi_i phi_i^T)^{-1} from N fresh samples. Named by the
  spec as the "better alternative to MGR" of [DLWZ23] for the simulator-free Algorithm 3; that this is the
  paper's exact form is **UNCONFIRMED** (the paper's body could not be read). Deterministically
  ||.||_2 <= 1/gamma.
- :func:`mgr_inverse`: Matrix Geometric Resampling [NO20] (Neu, Olkhovskaya, "Efficient and Robust
  Algorithms for Adversarial Linear Contextual Bandits", COLT 2020), in the regularised form used by
  [LWL21]: Y_m = gamma I + phi_m phi_m^T, Z_0 = I, Z_m = Z_{m-1} (I - c Y_m), estimate c I + c sum_{m<=M} Z_m.
  Its mean is (gamma I + Sigma)^{-1} (I - (I - c (gamma I + Sigma))^{M+1}) (:func:`mgr_mean`), requiring
  c ||gamma I + phi phi^T|| <= 1.
- :func:`layer_feature_samples`: N i.i.d. features phi(s_h, a_h) of a policy's layer-h visit (drawn from the
  exact occupancy q^pi_h, the law of the layer-h pair of a rollout).

All accept a leading batch axis. Used by the tests and the notebook; the episode loop keeps the exact one.
"""
from __future__ import annotations

import numpy as np

from regretlab.core.validate import ParamError, check_array, check_float, check_int

__all__ = ["empirical_inverse", "exact_inverse", "layer_feature_samples", "mgr_inverse", "mgr_mean"]


def _check_cov(Sigma, where):
    S = check_array("Sigma", Sigma, where=where)
    if S.ndim < 2 or S.shape[-1] != S.shape[-2]:
        raise ParamError(where, "Sigma", "an array of square matrices (..., d, d)", S.shape)
    return S


def exact_inverse(Sigma, gamma: float) -> np.ndarray:
    """(gamma I + Sigma)^{-1} for SPD-after-regularisation Sigma (..., d, d); gamma >= 0."""
    where = "exact_inverse"
    S = _check_cov(Sigma, where)
    gamma = check_float("gamma", gamma, low=0.0, where=where)
    M = S + gamma * np.eye(S.shape[-1])
    try:
        L = np.linalg.cholesky(M)
    except np.linalg.LinAlgError:
        raise ParamError(where, "gamma", "> 0 here: gamma I + Sigma is not positive definite", gamma) from None
    eye = np.broadcast_to(np.eye(S.shape[-1]), M.shape)
    Linv = np.linalg.solve(L, eye)
    return np.swapaxes(Linv, -1, -2) @ Linv


def _check_samples(phi, where):
    x = check_array("phi", phi, where=where)
    if x.ndim < 2:
        raise ParamError(where, "phi", "samples of shape (..., N, d)", x.shape)
    return x


def empirical_inverse(phi, gamma: float) -> np.ndarray:
    """(gamma I + (1/N) sum_i phi_i phi_i^T)^{-1} from samples phi (..., N, d); gamma > 0."""
    where = "empirical_inverse"
    x = _check_samples(phi, where)
    gamma = check_float("gamma", gamma, low=0.0, low_open=True, where=where)
    S = np.einsum("...ni,...nj->...ij", x, x) / x.shape[-2]
    return exact_inverse(S, gamma)


def mgr_inverse(phi, gamma: float, c: float = 0.5) -> np.ndarray:
    """Matrix Geometric Resampling from M = phi.shape[-2] samples (..., M, d) (module docstring).

    Parameters: phi (..., M, d) i.i.d. features with c (gamma + ||phi||^2) <= 1; gamma >= 0; c in (0, 1].
    """
    where = "mgr_inverse"
    x = _check_samples(phi, where)
    gamma = check_float("gamma", gamma, low=0.0, where=where)
    c = check_float("c", c, low=0.0, low_open=True, high=1.0, where=where)
    top = c * (gamma + np.max(np.einsum("...i,...i->...", x, x), initial=0.0))
    if top > 1.0 + 1e-12:
        raise ParamError(where, "c", f"<= 1 / (gamma + max ||phi||^2) = {1.0 / (top / c):.6g} (contraction)", c)
    d = x.shape[-1]
    eye = np.eye(d)
    Z = np.broadcast_to(eye, x.shape[:-2] + (d, d)).copy()
    acc = np.zeros_like(Z)
    for m in range(x.shape[-2]):
        v = x[..., m, :]
        # Z (I - c (gamma I + v v^T)) = (1 - c gamma) Z - c (Z v) v^T
        Zv = np.einsum("...ij,...j->...i", Z, v)
        Z = (1.0 - c * gamma) * Z - c * Zv[..., :, None] * v[..., None, :]
        acc += Z
    return c * eye + c * acc


def mgr_mean(Sigma, gamma: float, c: float, M: int) -> np.ndarray:
    """E[mgr_inverse] = (gamma I + Sigma)^{-1} (I - (I - c (gamma I + Sigma))^{M+1}) = c sum_{m=0}^M (I - c Y)^m."""
    where = "mgr_mean"
    S = _check_cov(Sigma, where)
    M = check_int("M", M, low=0, where=where)
    c = check_float("c", c, low=0.0, low_open=True, high=1.0, where=where)
    gamma = check_float("gamma", gamma, low=0.0, where=where)
    d = S.shape[-1]
    step = np.eye(d) - c * (S + gamma * np.eye(d))
    term = np.broadcast_to(np.eye(d), S.shape).copy()
    acc = term.copy()
    for _ in range(M):
        term = term @ step
        acc += term
    return c * acc


def layer_feature_samples(mdp, pi, h: int, N: int, rng) -> np.ndarray:
    """N i.i.d. phi(s_h, a_h) with (s_h, a_h) ~ q^pi_h, for a padded policy pi (H, n, A): (N, d)."""
    from . import _numpy

    where = "layer_feature_samples"
    h = check_int("h", h, low=0, high=mdp.horizon - 1, where=where)
    N = check_int("N", N, low=1, where=where)
    pi = check_array("pi", pi, shape=mdp.phi.shape[:3], low=0.0, where=where)
    q = _numpy.occupancy(pi[None], mdp.P, mdp.n_states)[0, h].reshape(-1)
    gen = np.random.default_rng(rng)
    idx = gen.choice(q.size, size=N, p=q / q.sum())
    return mdp.phi[h].reshape(-1, mdp.dim)[idx]
