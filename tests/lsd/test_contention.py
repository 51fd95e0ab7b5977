"""Fair contention resolution: exact enumeration of request sets (spec §7.0, §12.11)."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from regretlab.lsd.contention import selection_probabilities


def served_given_request(q, rule):
    """P(i selected | i requests) for independent requests, by enumerating all 2^k request sets."""
    k = len(q)
    joint = np.zeros(k)
    for bits in itertools.product((0, 1), repeat=k):
        R = np.array(bits, bool)
        pR = float(np.prod(np.where(R, q, 1 - q)))
        if R.any():
            w = selection_probabilities(R, q, rule)
            assert w.sum() == pytest.approx(1.0, abs=1e-12) and np.all(w[~R] == 0) and np.all(w >= -1e-15)
            joint += pR * w
    return joint / q


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6])
def test_fair_rule_serves_every_arm_equally(k):
    rng = np.random.default_rng(k)
    for _ in range(10):
        q = rng.uniform(0.01, 1.0, k)
        q *= rng.uniform(0.2, 1.0) / q.sum() if q.sum() > 1 else 1.0
        served = served_given_request(q, "fair")
        want = (1 - np.prod(1 - q)) / q.sum()
        np.testing.assert_allclose(served, want, rtol=0, atol=1e-12)
        assert np.all(served >= 1 - 1 / math.e - 1e-12)


def test_uniform_rule_has_no_per_arm_bound():
    q = np.array([0.05, 0.95])
    served = served_given_request(q, "uniform")
    assert served[0] == pytest.approx(0.05 + 0.95 * 0.5, abs=1e-12)   # small arm: half the time when both ask
    assert served[0] < 1 - 1 / math.e < served_given_request(q, "fair")[0]


def test_fair_rule_is_uniform_among_requesters_with_equal_request_probabilities():
    """Why ``crs`` is inert where every contention is between equal requesters (lsd.experiments._crs_inert)."""
    rng = np.random.default_rng(3)
    for _ in range(50):
        k = int(rng.integers(2, 7))
        R = rng.random(k) < 0.6
        R[rng.integers(k)] = True
        q = rng.uniform(0.0, 0.3, k)
        q[R] = rng.uniform(0.01, 0.3)
        np.testing.assert_allclose(selection_probabilities(R, q, "fair"), selection_probabilities(R, q, "uniform"),
                                   rtol=0, atol=1e-15)


def test_two_arm_lp_vertices_with_delays_up_to_2_give_the_active_arms_equal_request_probabilities():
    """LP 6.1 with k = 2, tau_max <= 2 (the learners' and the full-information plans come from its vertices): one
    active arm, or both at q = 1/2, whatever the payoff table; tau_max = 3 already mixes q = 1/2 and 1/3."""
    from regretlab.lsd.models import recharging
    from regretlab.lsd.relaxations import lp_fast
    from regretlab.lsd.rounding import request_probabilities

    rng = np.random.default_rng(5)
    for tau in (1, 2):
        inst = recharging(np.full((2, tau), 0.5))
        for r in range(300):      # random, monotone, tied and 0/1/2-valued tables (optimistic ones are all 1)
            tab = (rng.random((2, tau)), np.sort(rng.random((2, tau)), axis=1), np.ones((2, tau)),
                   rng.integers(0, 3, (2, tau)) / 2)[r % 4]
            q = request_probabilities(lp_fast(inst, tab).x)
            assert q.min() == 0.0 or q[0] == q[1] == 0.5, (tau, tab, q)
    q = request_probabilities(lp_fast(recharging(np.array([[0.0, 0.9, 0.9], [0.0, 0.0, 0.9]])), None).x)
    assert sorted(q) == pytest.approx([1 / 3, 1 / 2])
