"""Run an algorithm of :mod:`regretlab.adversarial_mdp.algorithms` on a linear MDP against an adversary.

:func:`simulate` returns, at each checkpoint k (log-spaced episode counts), the exact expected cumulative
loss sum_{k' <= k} V^{pi_k'}_{k'}(s_0) (forward occupancy pass with the known model, spec §1.3) and the
cumulative loss vectors G_k = sum_{k' <= k} g_{k'} (the losses are linear in phi, so l-bar = phi^T G_k);
:func:`pseudo_regret` subtracts the best fixed policy in hindsight of each prefix (one backward induction
per checkpoint, :func:`regretlab.adversarial_mdp.instances.benchmark_values`).

Backends: ``numba`` (``_kernels``, replicates in ``prange``), ``numpy`` (``_numpy``, vectorised over
replicates), ``cupy`` (the NumPy code on the GPU; agrees to rounding) and ``python`` (``reference``). The
CPU backends return identical doubles for the same keys.
"""
from __future__ import annotations

import numpy as np

from regretlab.core.backends import get_cupy, resolve
from regretlab.core.validate import ParamError, check_array, check_int

from .algorithms import AlgorithmSpec
from .instances import Adversary, LinearMDP, benchmark_values

__all__ = ["pseudo_regret", "simulate"]

DIAGNOSTICS = ("min_qhat", "max_qhat", "max_eta_C", "max_eta_B", "ftrl_nonconverged")


def _raise_code(code: int, spec: AlgorithmSpec, where: str):
    if code >= 10:
        raise ParamError(where, "gamma", f"> 0 here: gamma I + Sigma of layer {code - 10} is not positive "
                         f"definite (singular covariance; algorithm {spec.name})", spec.gamma)
    raise FloatingPointError(f"{where}: a cumulative loss estimate of {spec.name} became non-finite "
                             f"(eta = {spec.eta:g}, gamma = {spec.gamma:g}); use a larger gamma")


def simulate(mdp: LinearMDP, adv: Adversary, spec: AlgorithmSpec, K: int, checkpoints, keys, loss_keys,
             backend: str = "auto") -> dict:
    """Run ``spec`` for K episodes on every replicate.

    Parameters:
        mdp: the instance; adv: the oblivious adversary (its means table must have dim mdp.dim).
        spec: from :func:`regretlab.adversarial_mdp.algorithms.algorithm_spec`.
        K: episodes >= 1; checkpoints: increasing episode counts in [1, K] (K last to get the final value).
        keys, loss_keys: (R,) uint64 learner and loss stream keys.
        backend: "auto" | "numba" | "numpy" | "cupy" | "python".
    Returns: dict with ``cum`` (R, nc), ``G`` (R, nc, H, d), ``diagnostics`` (R, 5) (columns
        ``DIAGNOSTICS``: min and max of Qhat, max |eta C|, max eta B, count of unconverged FTRL steps).
    """
    where = "adversarial_mdp.simulate"
    be = resolve(backend, where=where)
    K = check_int("K", K, low=1, where=where)
    ck = np.asarray(checkpoints, dtype=np.int64)
    if ck.ndim != 1 or ck.size == 0 or np.any(np.diff(ck) <= 0) or ck[0] < 1 or ck[-1] > K:
        raise ParamError(where, "checkpoints", f"a non-empty increasing sequence of episode counts in [1, {K}]",
                         checkpoints)
    keys = np.ascontiguousarray(np.asarray(keys, dtype=np.uint64).reshape(-1))
    lkeys = np.ascontiguousarray(np.asarray(loss_keys, dtype=np.uint64).reshape(-1))
    if keys.shape != lkeys.shape:
        raise ParamError(where, "loss_keys", f"one key per replicate ({keys.size})", lkeys.size)
    phi = np.ascontiguousarray(check_array("phi", mdp.phi, where=where))
    P = np.ascontiguousarray(mdp.P)
    H, n, A, d = phi.shape
    if adv.means.shape[1:] != (H, d):
        raise ParamError(where, "adversary.means", f"shape (n_blocks, {H}, {d})", adv.means.shape)
    ns = np.ascontiguousarray(mdp.n_states, dtype=np.int64)
    means = np.ascontiguousarray(adv.means, dtype=float)
    starts = np.ascontiguousarray(adv.starts, dtype=np.int64)
    R, nc = keys.size, ck.size
    if spec.simulator_free:
        return _simulate_alg3(phi, P, ns, means, starts, adv, spec, K, ck, keys, lkeys, be, where)
    if be == "numba":
        from . import _kernels

        cum = np.zeros((R, nc))
        G = np.zeros((R, nc, H, d))
        diag = np.zeros((R, 5))
        err = np.zeros(R, dtype=np.int64)
        _kernels.simulate_batch(phi, P, ns, means, starts, bool(adv.bernoulli), spec.reg, spec.full_info,
                                spec.truncate, spec.use_bonus, spec.eta, spec.beta, spec.gamma, K, ck, keys,
                                lkeys, cum, G, diag, err)
        if np.any(err):
            _raise_code(int(err[np.nonzero(err)[0][0]]), spec, where)
    elif be == "python":
        from . import reference

        out = []
        for r in range(R):
            try:
                out.append(reference.run_replicate(phi.tolist(), P.tolist(), ns.tolist(), means.tolist(),
                                                   starts.tolist(), bool(adv.bernoulli), spec, K, ck.tolist(),
                                                   int(keys[r]), int(lkeys[r])))
            except reference.ReferenceError_ as e:
                _raise_code(e.code, spec, where)
        cum = np.array([o[0] for o in out], dtype=float).reshape(R, nc)
        G = np.array([o[1] for o in out], dtype=float).reshape(R, nc, H, d)
        diag = np.array([o[2] for o in out], dtype=float).reshape(R, 5)
    else:
        from . import _numpy

        xp = get_cupy() if be == "cupy" else np
        try:
            cum, G, diag = _numpy.run_batch(xp.asarray(phi), xp.asarray(P), ns, means, starts, bool(adv.bernoulli),
                                            spec, K, ck.tolist(), keys, lkeys, xp)
        except _numpy.BatchError as e:
            _raise_code(int(e.code[np.nonzero(e.code)[0][0]]), spec, where)
        if xp is not np:
            cum, G, diag = cum.get(), G.get(), diag.get()
    return {"cum": cum, "G": G, "diagnostics": diag}


def _simulate_alg3(phi, P, ns, means, starts, adv, spec, K, ck, keys, lkeys, be, where):
    """``alg3_reconstructed``: its own kernel and reference (epochs, no simulator); numba and python only."""
    R, nc = keys.size, ck.size
    H, _, _, d = phi.shape
    if be == "numba":
        from . import _kernels

        cum = np.zeros((R, nc))
        G = np.zeros((R, nc, H, d))
        diag = np.zeros((R, 5))
        err = np.zeros(R, dtype=np.int64)
        _kernels.simulate_alg3_batch(phi, P, ns, means, starts, bool(adv.bernoulli), spec.eta, spec.beta, spec.gamma,
                                     spec.epoch, spec.mix, spec.ridge, K, ck, keys, lkeys, cum, G, diag, err)
        if np.any(err):
            _raise_code(int(err[np.nonzero(err)[0][0]]), spec, where)
        return {"cum": cum, "G": G, "diagnostics": diag}
    if be != "python":
        raise ParamError(where, "backend", "numba or python for alg3_reconstructed (no NumPy/CuPy version)", be)
    from . import reference

    out = []
    for r in range(R):
        try:
            out.append(reference.run_alg3_replicate(phi.tolist(), P.tolist(), ns.tolist(), means.tolist(),
                                                    starts.tolist(), bool(adv.bernoulli), spec, K, ck.tolist(),
                                                    int(keys[r]), int(lkeys[r])))
        except reference.ReferenceError_ as e:
            _raise_code(e.code, spec, where)
    return {"cum": np.array([o[0] for o in out], dtype=float).reshape(R, nc),
            "G": np.array([o[1] for o in out], dtype=float).reshape(R, nc, H, d),
            "diagnostics": np.array([o[2] for o in out], dtype=float).reshape(R, 5)}


def pseudo_regret(mdp: LinearMDP, cum, G) -> np.ndarray:
    """cum (..., nc) minus the best fixed policy's total loss for each prefix G (..., nc, H, d)."""
    return np.asarray(cum) - benchmark_values(mdp, G)
