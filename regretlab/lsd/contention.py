"""Per-round contention resolution for the LP-rounding planners (spec §7.0).

When several arms request the same round and only one may play, the choice rule decides the guarantee:

- ``fair`` (Feige and Vondrak's fair contention resolution; the spec's default for m = 1): with requesters R
  and the request probabilities q of all arms, Q = sum_j q_j, arm i in R is selected with probability

      w_i = ( sum_{j in R, j != i} q_j / (|R| - 1)  +  sum_{j not in R} q_j / |R| ) / Q      (|R| >= 2),

  and w_i = 1 when R = {i}. The w_i sum to 1. If arms request independently with probabilities q_j, every
  arm is served with the same conditional probability P(i selected | i requests) = (1 - prod_j (1 - q_j)) / Q,
  at least 1 - 1/e when Q <= 1 (checked by exact enumeration in the tests).
- ``uniform``: a uniformly random requester. No per-arm bound: an arm with small q facing one with q near 1
  is served only about half of the time (tested).

Reference: U. Feige, J. Vondrak, "Approximation algorithms for allocation problems: Improving the factor of
1 - 1/e", FOCS 2006 (the "fair contention resolution" scheme; the weights above are the spec's statement, and
the per-arm property is what the tests check by enumeration; the lemma number was not checked here). Used for
rounding in [PCS22], whose exact conflict rule is UNCONFIRMED.
"""
from __future__ import annotations

import numpy as np

from regretlab.core.validate import ParamError, check_array, check_choice

__all__ = ["RULES", "selection_probabilities"]

RULES = ("fair", "uniform")


def selection_probabilities(requesters, q, rule: str = "fair") -> np.ndarray:
    """(k,) probabilities of selecting each arm given the requester mask (k,) and the request probabilities q
    (k,) of all arms; zero outside the requesters, summing to 1 when there is at least one requester."""
    where = "selection_probabilities"
    rule = check_choice("rule", rule, RULES, where=where)
    R = check_array("requesters", requesters, ndim=1, dtype=bool, where=where)
    q = check_array("q", q, shape=(R.shape[0],), low=0.0, high=1.0, where=where)
    n = int(R.sum())
    w = np.zeros(R.shape[0])
    if n == 0:
        return w
    if n == 1 or rule == "uniform":
        w[R] = 1.0 / n
        return w
    Q = float(q.sum())
    if Q <= 0.0:
        raise ParamError(where, "q", "request probabilities with a positive sum when arms request", q)
    inside, outside = float(q[R].sum()), float(q[~R].sum())
    w[R] = ((inside - q[R]) / (n - 1) + outside / n) / Q
    return w
