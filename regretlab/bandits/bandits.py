"""Public API of the stochastic-bandit simulator: validation, backend dispatch, NumPy arrays out."""
from __future__ import annotations

import numpy as np

from regretlab.core.backends import resolve
from regretlab.core.validate import ParamError, check_array, check_choice, check_float, check_int

from .policies import BERNOULLI, FAMILIES, POLICIES, policy_params

__all__ = ["OUTPUTS", "simulate"]

OUTPUTS = {
    "t": "(C,) int64 checkpoint rounds (log-spaced, last = horizon)",
    "regret": "(R, C) pseudo-regret sum_t (mu* - mu_{a_t}) at the checkpoints",
    "final_regret": "(R,) pseudo-regret at the horizon (exact)",
    "counts": "(R, K) pulls per arm",
    "reward_mean": "(R,) average realised reward",
    "greedy_frac": "(R,) share of rounds whose arm had a maximal empirical mean before the round "
                   "(untried arms count as +inf: the 'optimistic' GreedyFrac of Krishnamurthy et al. 2024)",
    "last_best": "(R,) last round a best arm was chosen (0 if never); SuffFail(t) = last_best < t",
    "best_frac": "(R,) share of rounds choosing a best arm",
}


def simulate(
    means,
    policy: str = "ucb1",
    horizon: int = 1000,
    replicates: int = 100,
    *,
    family: str = "bernoulli",
    sigma: float = 1.0,
    seed: int = 0,
    cell: int = 0,
    states: np.ndarray | None = None,
    checkpoints=None,
    backend: str = "auto",
    **params,
) -> dict:
    """Simulate ``replicates`` independent runs of a bandit policy on a K-armed stochastic bandit.

    Parameters
    ----------
    means : (K,) or (R, K) float
        Arm means; in [0, 1] for Bernoulli rewards. A (R, K) array gives each replicate its own instance.
    policy : str
        One of :data:`regretlab.bandits.POLICIES` (see :mod:`regretlab.bandits.policies` for the rules
        and papers); its parameters are passed as keywords (e.g. ``eps=0.1``, ``c=1.0``, ``m=20``).
    horizon : int >= 1
    replicates : int >= 1 (ignored when ``states`` is given)
    family : "bernoulli" | "gaussian"; ``sigma`` > 0 is the Gaussian reward standard deviation.
    seed, cell : int
        Replicate r's generator state comes from ``SeedSequence(seed, spawn_key=(cell, r))``
        (:func:`regretlab.core.rng.replicate_states`); or pass ``states`` (R, 4) uint64 directly.
    checkpoints : increasing ints in [1, horizon]; default 64 log-spaced rounds with the horizon
        (:func:`regretlab.core.stats.log_checkpoints`).
    backend : "auto" | "numba" | "numpy" | "cupy" | "python" (plain reference, slow).

    Returns
    -------
    dict of NumPy arrays, described in :data:`OUTPUTS`. Every backend returns the same numbers for the
    same states (the CuPy path up to 1-ulp differences of the GPU's ``log``; see its module).
    """
    from regretlab.core import rng as _rng  # Numba and SciPy load on first use, not at import
    from regretlab.core.stats import log_checkpoints

    where = "simulate"
    family = check_choice("family", family, FAMILIES, where=where)
    policy = check_choice("policy", policy, POLICIES, where=where)
    horizon = check_int("horizon", horizon, low=1, where=where)
    sigma = check_float("sigma", sigma, low=0.0, low_open=True, where=where)
    fam = FAMILIES[family]
    pp = policy_params(policy, family, where=where, **params)
    if states is None:
        replicates = check_int("replicates", replicates, low=1, where=where)
        states = _rng.replicate_states(check_int("seed", seed, low=0, where=where),
                                       check_int("cell", cell, low=0, where=where), replicates)
    else:
        states = check_array("states", states, shape=(None, 4), dtype=np.uint64, where=where)
    R = states.shape[0]
    means = np.asarray(means, dtype=np.float64)
    given_1d = means.ndim == 1
    if given_1d:
        means = check_array("means", means, ndim=1, where=where)
        K = means.shape[0]
        means = np.ascontiguousarray(np.broadcast_to(means, (R, K)))
    else:
        means = check_array("means", means, shape=(R, None), where=where)
        K = means.shape[1]
    if K < 2:
        raise ParamError(where, "means", "a vector of K >= 2 arm means", f"K = {K}")
    if fam == BERNOULLI:
        check_array("means", means[0] if given_1d else means, low=0.0, high=1.0, where=where)
    if checkpoints is None:
        ckpt = log_checkpoints(horizon, 64)
    else:
        ckpt = check_array("checkpoints", checkpoints, ndim=1, dtype=np.int64, low=1, high=horizon, where=where)
        if ckpt.size == 0 or np.any(np.diff(ckpt) <= 0):
            raise ParamError(where, "checkpoints", "a non-empty strictly increasing sequence", ckpt)
    code = POLICIES[policy].code
    be = resolve(backend, where=where)
    if be == "numba":
        from ._kernels import simulate_bandit

        raw = _alloc(R, K, ckpt.size)
        simulate_bandit(code, pp, fam, sigma, means, horizon, states, ckpt, _rng.ZIG_X, _rng.ZIG_F,
                        raw["regret"], raw["counts"], raw["reward_sum"], raw["greedy_rounds"], raw["last_best"])
    elif be == "python":
        from . import reference

        raw = reference.simulate(code, pp, fam, sigma, means, horizon, states, ckpt)
    elif be == "numpy":
        from . import _numpy

        raw = _numpy.simulate(code, pp, fam, sigma, means, horizon, states, ckpt)
    else:
        from . import _cupy

        raw = _cupy.simulate(code, pp, fam, sigma, means, horizon, states, ckpt)
    return _finish(raw, means, horizon, ckpt)


def _alloc(R, K, C):
    return {
        "regret": np.zeros((R, C)),
        "counts": np.zeros((R, K), dtype=np.int64),
        "reward_sum": np.zeros(R),
        "greedy_rounds": np.zeros(R, dtype=np.int64),
        "last_best": np.zeros(R, dtype=np.int64),
    }


def _finish(raw, means, horizon, ckpt) -> dict:
    best = means == means.max(axis=1, keepdims=True)
    return {
        "t": ckpt,
        "regret": raw["regret"],
        "final_regret": raw["regret"][:, -1].copy() if ckpt[-1] == horizon else _missing_final(),
        "counts": raw["counts"],
        "reward_mean": raw["reward_sum"] / horizon,
        "greedy_frac": raw["greedy_rounds"] / horizon,
        "last_best": raw["last_best"],
        "best_frac": (raw["counts"] * best).sum(axis=1) / horizon,
    }


def _missing_final():
    raise ParamError("simulate", "checkpoints", "a sequence ending at the horizon", "a shorter one")
