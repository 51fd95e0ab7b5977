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
