"""Monte Carlo of the mass balance: one RL step over many sample sets, and the multi-step simulator.

* :func:`one_step` -- the theorem's setting [BroRL, Thm. 1, App. C.1]: from fixed logits z, each trial
  draws N tokens i.i.d. from softmax(z), takes the step (U) on the distinct sampled tokens and records
  the first-order change of correct mass, its three terms, the second moments, the worst per-token
  change and the exact (non-linearised) change. Output columns: :data:`ONE_STEP_COLUMNS`.
* :func:`simulate_training` -- the token-level simulator of [BroRL, Sec. 4.1, Figure 3]: AdamW on the
  multiset surrogate L = -(1/N) sum_{n=1..N} (R(x_n) - b) p_{x_n} with the batch-mean baseline b,
  recording Q_pos, the share of correct tokens above their step-0 probability and the worst drop.

AdamW is the PyTorch form (decoupled decay; bias corrections; eps added after dividing by
sqrt(1 - beta2^t)), because the paper names AdamW with lr 1e-3 and no other setting (UNCONFIRMED:
betas, eps, weight decay; defaults are PyTorch's 0.9, 0.999, 1e-8, 0.01). Per update t = 1, 2, ...:
z <- z (1 - lr wd); m <- b1 m + (1 - b1) g; v <- b2 v + (1 - b2) g^2;
z <- z - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps). When all N rewards are equal the
centred rewards vanish and g = 0, but the step is still taken (momentum and decay move z).

Backends: ``numba`` (parallel over trials), ``numpy`` (trials x vocabulary batches), ``cupy`` (the
NumPy code on the GPU) and ``python`` (:mod:`.reference`). The draws are counter-based: draw n of
step t of trial r is uniform number t N + n of the stream ``keys[r]`` (SplitMix64, see
:mod:`regretlab.core.detmath`), inverted through the CDF of p. The CPU backends agree bit for bit;
CuPy draws the same tokens (same uniforms, same exp) but sums by parallel scans, so its values agree
with NumPy's to rounding (~1e-16 relative) -- a draw landing within rounding of a CDF boundary could
differ, which has probability ~1e-16 per draw.
"""
from __future__ import annotations

import numpy as np

from regretlab.core.backends import get_cupy, resolve
from regretlab.core.seeding import counter_keys
from regretlab.core.validate import ParamError, check_array, check_bool, check_float, check_int

from .reference import ONE_STEP_COLUMNS
from .theory import check_rewards

__all__ = ["ONE_STEP_COLUMNS", "TRAIN_OUTPUTS", "check_decay", "checkpoints", "one_step", "simulate_training"]

#: Outputs of :func:`simulate_training`.
TRAIN_OUTPUTS = {
    "t": "(C,) optimizer steps of the checkpoints (0 = initial logits)",
    "q_pos": "(R, C) correct mass Q_pos = sum_{i in P} p_i",
    "pct_improved": "(R, C) percentage of correct tokens with p_i(t) > p_i(0)",
    "worst_drop": "(R, C) min_{i in P} p_i(t) - p_i(0) (negative = some correct token lost mass)",
    "worst_index": "(R, C) lowest token index attaining worst_drop (-1 when m = 0)",
    "worst_ties": "(R, C) number of correct tokens tied at worst_drop",
    "zero_grad_share": "(R,) share of steps whose N rewards were all equal (centred gradient exactly 0)",
}


def _logits(z, is_correct, where):
    z = check_array("z", z, dtype=np.float64, where=where)
    if z.ndim != 1 or z.size < 1:
        raise ParamError(where, "z", "a non-empty 1-D array of logits", f"shape {z.shape}")
    if not np.all(np.isfinite(z)):
        raise ParamError(where, "z", "finite logits", "non-finite entries")
    c = check_array("is_correct", is_correct, shape=(z.size,), dtype=bool, where=where)
    return np.ascontiguousarray(z), np.ascontiguousarray(c)


def _keys(keys, trials, seed, where):
    if keys is not None:
        k = np.ascontiguousarray(np.asarray(keys, dtype=np.uint64))
        if k.ndim != 1 or k.size < 1:
            raise ParamError(where, "keys", "a non-empty 1-D uint64 array (one stream per trial)", keys)
        return k
    if trials is None:
        raise ParamError(where, "trials", "an integer >= 1 (or pass keys)", None)
    trials = check_int("trials", trials, low=1, where=where)
    seed = check_int("seed", seed, low=0, where=where)
    return counter_keys(seed, 0, trials)


def one_step(z, is_correct, N, *, eta=1e-3, r_c=1.0, r_w=-1.0, trials=None, seed=0, keys=None,
             backend="auto") -> dict:
    """One RL step with N rollouts from logits z, repeated over independent sample sets.

    Parameters
    ----------
    z : (V,) float logits; is_correct : (V,) bool, the correct set C.
    N : int >= 1, rollouts per step; eta > 0 the step size; r_c >= 0 >= r_w the rewards.
    trials, seed : number of sample sets and the seed of their streams (``counter_keys(seed, 0, trials)``);
        or ``keys`` (uint64, one stream per trial) directly.
    backend : "auto" | "numba" | "numpy" | "cupy" | "python".

    Returns
    -------
    dict: every name of :data:`ONE_STEP_COLUMNS` -> (R,) float64, plus ``Q_c`` (float) the correct mass.
    """
    where = "mass_balance.one_step"
    z, c = _logits(z, is_correct, where)
    N = check_int("N", N, low=1, where=where)
    eta = check_float("eta", eta, low=0.0, low_open=True, where=where)
    r_c, r_w = check_rewards(r_c, r_w, where)
    keys = _keys(keys, trials, seed, where)
    be = resolve(backend, where=where)
    if be == "python":
        from . import reference

        out = reference.one_step(z, c, N, eta, r_c, r_w, keys)
    elif be == "numba":
        from . import _kernels
        from ._numpy import softmax_cdf

        p, cdf, total, last = softmax_cdf(z)
        out = np.empty((keys.size, len(ONE_STEP_COLUMNS)))
        _kernels.one_step(z, p, cdf, float(total), int(last), c, N, eta, r_c, r_w, keys, out)
    else:
        from . import _numpy

        xp = get_cupy() if be == "cupy" else np
        out = _numpy.one_step(xp.asarray(z), xp.asarray(c), N, eta, r_c, r_w, xp.asarray(keys), xp)
        out = out.get() if be == "cupy" else out
    res = {name: np.ascontiguousarray(out[:, j]) for j, name in enumerate(ONE_STEP_COLUMNS)}
    res["Q_c"] = float(np.exp(z - z.max())[c].sum() / np.exp(z - z.max()).sum())
    return res


def check_decay(lr: float, weight_decay: float, where: str | None = None) -> None:
    """AdamW's decay factor 1 - lr * weight_decay must be > 0."""
    if lr * weight_decay >= 1.0:
        raise ParamError(where, "weight_decay", f"< 1 / lr = {1 / lr:g} (decay factor 1 - lr wd must be > 0)",
                         weight_decay)


def checkpoints(steps: int, record_every: int) -> np.ndarray:
    """Steps recorded: 0, record_every, 2 record_every, ..., and always ``steps``."""
    t = np.arange(0, steps + 1, record_every, dtype=np.int64)
    return t if t[-1] == steps else np.append(t, steps)


def simulate_training(z0, is_correct, N, steps, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01,
                      center_rewards=True, r_c=1.0, r_w=-1.0, freeze_anchor=False, record_every=1,
                      trials=None, seed=0, keys=None, backend="auto") -> dict:
    """The token-level simulator of [BroRL, Sec. 4.1] (Figure 3): ``steps`` AdamW updates with N rollouts.

    Parameters
    ----------
    z0 : (V,) initial logits; is_correct : (V,) bool, the correct set P (reward r_c; others r_w).
    N : rollouts per step (>= 1); steps : optimizer updates (>= 1).
    lr > 0; betas = (beta1, beta2) each in [0, 1); eps > 0; weight_decay >= 0 with lr * weight_decay < 1.
    center_rewards : subtract the batch mean of the N rewards (the paper's baseline).
    freeze_anchor : keep token 0 (the anchor) fixed (paper: "fixing one anchor token", read by default as
        initialising only; UNCONFIRMED).
    record_every : checkpoint spacing (>= 1); step ``steps`` is always recorded.
    trials, seed, keys, backend : as :func:`one_step`.

    Returns
    -------
    dict of :data:`TRAIN_OUTPUTS`.
    """
    where = "mass_balance.simulate_training"
    z0, c = _logits(z0, is_correct, where)
    N = check_int("N", N, low=1, where=where)
    steps = check_int("steps", steps, low=1, where=where)
    lr = check_float("lr", lr, low=0.0, low_open=True, where=where)
    if len(betas) != 2:
        raise ParamError(where, "betas", "a pair (beta1, beta2)", betas)
    b1 = check_float("beta1", betas[0], low=0.0, high=1.0, high_open=True, where=where)
    b2 = check_float("beta2", betas[1], low=0.0, high=1.0, high_open=True, where=where)
    eps = check_float("eps", eps, low=0.0, low_open=True, where=where)
    wd = check_float("weight_decay", weight_decay, low=0.0, where=where)
    check_decay(lr, wd, where)
    center = check_bool("center_rewards", center_rewards, where=where)
    freeze = check_bool("freeze_anchor", freeze_anchor, where=where)
    record_every = check_int("record_every", record_every, low=1, where=where)
    r_c, r_w = check_rewards(r_c, r_w, where)
    keys = _keys(keys, trials, seed, where)
    be = resolve(backend, where=where)

    ckpt = checkpoints(steps, record_every)
    t = np.arange(1, steps + 1, dtype=np.float64)
    # bias corrections of update t + 1 at index t (plain NumPy here, so every backend uses the same values)
    step_size = np.append(lr / (1.0 - b1**t), 0.0)
    bc2_sqrt = np.append(np.sqrt(1.0 - b2**t), 1.0)
    cidx = np.flatnonzero(c).astype(np.int64)
    args = (z0, c, cidx, N, r_c, r_w, center, 1.0 - lr * wd, b1, 1.0 - b1, b2, 1.0 - b2, eps, step_size,
            bc2_sqrt, freeze, ckpt)
    R, C = keys.size, ckpt.size
    if be == "python":
        from . import reference

        raw = reference.train(*args, keys)
    elif be == "numba":
        from . import _kernels

        raw = (np.zeros((R, C)), np.zeros((R, C)), np.zeros((R, C)), np.zeros((R, C), dtype=np.int64),
               np.zeros((R, C), dtype=np.int64), np.zeros(R))
        _kernels.train(*args, keys, *raw)
    else:
        from . import _numpy

        xp = get_cupy() if be == "cupy" else np
        dev = (xp.asarray(z0), xp.asarray(c), xp.asarray(cidx))
        raw = _numpy.train(*dev, *args[3:], xp.asarray(keys), xp)
        raw = tuple(a.get() for a in raw) if be == "cupy" else raw
    names = ("q_pos", "pct_improved", "worst_drop", "worst_index", "worst_ties", "zero_grad_share")
    out = {"t": ckpt}
    out.update({k: np.asarray(v) for k, v in zip(names, raw)})
    return out
