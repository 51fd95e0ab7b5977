"""Logit vectors and correct sets of the mass-balance experiments (spec §4 and §5.1).

``logits_instance(family, V, m, rng, ...) -> (z, is_correct)``, all float64 / bool, NumPy only. The
instance is shared by every trial of a cell (drawn from the cell's instance stream); only the draws of
the N rollouts differ between trials.

Families
* ``seeded`` [BroRL, Sec. 4.1]: z = 0, z_P = ``seed_value`` (3), anchor token 0 at ``anchor_value`` (5).
  The paper says "setting z_i = 3 for i in P and fixing one anchor token z_0 = 5" and does not say which
  indices form P nor whether the anchor is correct (UNCONFIRMED; spec §4). Default: P = {1, ..., m}
  (``correct_index = "first"``) and the anchor incorrect; ``anchor_in_correct`` makes P = {0, ..., m-1};
  ``correct_index = "random"`` draws P (anchor excluded unless it is correct) from the instance stream.
  With V = 128,000, m = 10,000 the default gives Q_pos(0) = 0.6296 (0.6301 with the anchor correct; the
  paper's Figure 3 axis spans 0.60-0.64; unseeded logits give 0.078).
* ``uniform``: z = 0 (the paper's unseeded initialisation); C = {0, ..., m-1}.
* ``gaussian``: z_i ~ N(0, sigma^2) i.i.d.; C = {0, ..., m-1}.
* ``zipf``: p_i proportional to rank_i^(-alpha), ranks a random permutation of 1..V (heavy tails, where
  the unsampled terms are large); C = {0, ..., m-1}.
"""
from __future__ import annotations

import numpy as np

from regretlab.core.validate import ParamError

__all__ = ["FAMILIES", "check_correct_count", "logits_instance"]

FAMILIES = ("seeded", "uniform", "gaussian", "zipf")


def check_correct_count(family: str, V: int, m: int, anchor_in_correct: bool = False, where: str | None = None):
    """0 <= m <= V, and m <= V - 1 for seeded logits whose anchor token 0 is incorrect (V >= 2 there)."""
    seeded = family == "seeded"
    if seeded and V < 2:
        raise ParamError(where, "V", ">= 2 for seeded logits (token 0 is the anchor)", V)
    top = V - 1 if seeded and not anchor_in_correct else V
    if not 0 <= m <= top:
        why = " (anchor token 0 is incorrect)" if top == V - 1 else ""
        raise ParamError(where, "m", f"an integer in [0, {top}]{why}", m)


def logits_instance(family: str, V: int, m: int, rng: np.random.Generator | None = None, *,
                    seed_value: float = 3.0, anchor_value: float = 5.0, anchor_in_correct: bool = False,
                    correct_index: str = "first", sigma: float = 1.0, alpha: float = 1.1):
    """(z (V,) float64, is_correct (V,) bool) of a logit family (module docstring)."""
    where = "logits_instance"
    if family not in FAMILIES:
        raise ParamError(where, "logits", "one of " + "|".join(FAMILIES), family)
    check_correct_count(family, V, m, anchor_in_correct, where)
    is_c = np.zeros(V, dtype=bool)
    if family == "seeded":
        if correct_index == "first":
            idx = np.arange(m) if anchor_in_correct else np.arange(1, m + 1)
        else:
            if rng is None:
                raise ParamError(where, "rng", "a Generator for correct_index = 'random'", rng)
            if anchor_in_correct:
                idx = np.concatenate([[0], 1 + rng.choice(V - 1, size=max(m - 1, 0), replace=False)]) if m else []
            else:
                idx = 1 + rng.choice(V - 1, size=m, replace=False)
        is_c[np.asarray(idx, dtype=np.int64)] = True
        z = np.where(is_c, float(seed_value), 0.0)
        z[0] = float(anchor_value)
        return z, is_c
    is_c[:m] = True
    if family == "uniform":
        return np.zeros(V), is_c
    if rng is None:
        raise ParamError(where, "rng", f"a Generator for logits = {family!r}", rng)
    if family == "gaussian":
        return sigma * rng.standard_normal(V), is_c
    ranks = rng.permutation(V) + 1.0
    return -alpha * np.log(ranks), is_c
