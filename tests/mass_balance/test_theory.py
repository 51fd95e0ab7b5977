"""Theorem 1, Lemma 2 and the exact moments (spec §6 items 1-9)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regretlab.core.validate import ParamError
from regretlab.mass_balance import (
    change_variance,
    decompose,
    expected_change,
    expected_unsampled_moments,
    limit_scaled_change,
    pass_at_k,
)
from regretlab.mass_balance.reference import prob_increase_exact

from .cases import gaussian50, random_case, softmax


def _check_identity(p, c, counts, r_c, r_w, eta=1e-2):
    d = decompose(p, c, counts, eta=eta, r_c=r_c, r_w=r_w)
    N = counts.sum()
    P2 = float(np.sum(p * p))
    tol = 1e-12 * (eta / N) * max(r_c - r_w, 1e-300) * P2
    assert abs(d.dq - d.dq_first_order) <= tol + 1e-300
    assert d.t1 >= 0.0 and d.t2 >= 0.0
    assert r_w - 1e-15 <= d.s <= r_c + 1e-15
    assert abs(d.dp.sum()) <= 1e-15 * eta


def test_identity_random_cases():
    rng = np.random.default_rng(1)
    for _ in range(500):
        _check_identity(*random_case(rng))


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), V=st.integers(2, 30), scale=st.floats(0.01, 6.0),
       r_c=st.floats(0.0, 3.0), r_w=st.floats(-3.0, 0.0), N=st.integers(1, 200))
def test_identity_property(seed, V, scale, r_c, r_w, N):
    rng = np.random.default_rng(seed)
    p = softmax(scale * rng.standard_normal(V))
    c = rng.random(V) < 0.4
    _check_identity(p, c, rng.multinomial(N, p), r_c, r_w)


def test_identity_detects_a_wrong_term():
    # the identity check must fail if a term is off: flip the sign of T3 in a case where it matters
    rng = np.random.default_rng(2)
    for _ in range(50):
        p, c, counts, r_c, r_w = random_case(rng, V=20, m=5)
        d = decompose(p, c, counts, 1.0, r_c, r_w)
        if abs(d.t3) > 1e-8:
            wrong = (d.t1 + d.t2 - d.t3) / counts.sum()
            assert abs(wrong - d.dq_first_order) > 1e-12
            return
    pytest.fail("no case with a sizeable T3")


def test_special_cases():
    rng = np.random.default_rng(3)
    p = softmax(rng.standard_normal(12))
    c = np.arange(12) < 4
    # U = empty => T3 = 0, dQ >= 0
    d = decompose(p, c, np.ones(12, dtype=int), 1.0)
    assert d.t3 == 0.0 and d.dq >= 0.0 and d.uc2 == 0.0 and d.uw2 == 0.0
    # r_c = r_w = 0 => no change
    d = decompose(p, c, rng.multinomial(5, p), 1.0, 0.0, 0.0)
    assert d.dq == 0.0 and np.all(d.dz == 0.0)
    # m = 0 or m = V => dQ = 0
    for cc in (np.zeros(12, bool), np.ones(12, bool)):
        d = decompose(p, cc, rng.multinomial(5, p), 1.0)
        assert abs(d.dq) <= 1e-15 / 5 and abs(d.dq_first_order) <= 1e-15 / 5
    # s = 0 (balanced batch) => dQ >= 0: pick a sampled set with P_A = P_B
    p = np.array([0.3, 0.3, 0.2, 0.2])
    c = np.array([True, False, True, False])
    d = decompose(p, c, np.array([1, 1, 0, 0]), 1.0)
    # by hand from eqs. (U)-(P): N = 2, s = 0.3 - 0.3 = 0, dz = (1/2) p rho = (0.15, -0.15, 0, 0), p . dz = 0,
    # dQ_c = dp_0 + dp_2 = 0.3 * 0.15 = 0.045 = (1/N)(Q_w a2 + Q_c b2) = (1/2)(0.5 * 0.09 + 0.5 * 0.09)
    assert d.s == 0.0 and d.dq == pytest.approx(0.045, abs=1e-15)
    assert d.t1 == pytest.approx(0.045, abs=1e-15) and d.t2 == pytest.approx(0.045, abs=1e-15)


def test_exactness_is_second_order():
    rng = np.random.default_rng(4)
    z = rng.standard_normal(30)
    p = softmax(z)
    c = np.arange(30) < 8
    counts = rng.multinomial(6, p)
    gaps = []
    for eta in (0.2, 0.1, 0.05):
        d = decompose(p, c, counts, eta)
        exact = softmax(z + d.dz)[c].sum() - p[c].sum()
        gaps.append(abs(exact - d.dq))
    assert 3.0 < gaps[0] / gaps[1] < 5.0 and 3.0 < gaps[1] / gaps[2] < 5.0


def test_expectation_and_variance_match_enumeration():
    # exact E and Var by enumerating all N-multisets on a tiny vocabulary
    import itertools
    import math

    rng = np.random.default_rng(5)
    p = softmax(rng.standard_normal(6))
    c = np.array([1, 0, 1, 0, 0, 0], dtype=bool)
    for N in (1, 2, 3):
        vals, probs = [], []
        for ms in itertools.combinations_with_replacement(range(6), N):
            counts = np.bincount(ms, minlength=6)
            prob = math.factorial(N) * np.prod([p[i] ** k / math.factorial(k) for i, k in enumerate(counts)])
            vals.append(decompose(p, c, counts, 0.5).dq)
            probs.append(prob)
        vals, probs = np.array(vals), np.array(probs)
        mean = probs @ vals
        assert abs(probs.sum() - 1) < 1e-12
        assert expected_change(p, c, N, 0.5) == pytest.approx(mean, rel=1e-10, abs=1e-18)
        assert change_variance(p, c, N, 0.5) == pytest.approx(probs @ (vals - mean) ** 2, rel=1e-9, abs=1e-30)


def test_theorem1_expected_change_by_exact_enumeration():
    """Absolute E[dQ_c] of [BroRL] Thm. 1 on a 3-token vocabulary, in exact rational arithmetic, from the model
    alone: J(z) = (1/N) sum_{i in S} rho_i p_i(z) over the distinct sampled tokens; one gradient step
    dz = eta grad J with the softmax Jacobian dp/dz = diag(p) - p p^T, so grad_j J = (1/N) sum_{i in S} rho_i
    p_i (1[i = j] - p_j); first-order dQ_c = sum_{i in C} sum_j (dp_i/dz_j) dz_j; averaged over all N-multisets
    of draws with their multinomial probabilities. Pins the 1/N prefactor (dropping it multiplies by N)."""
    import itertools
    import math
    from fractions import Fraction as F

    p = [F(1, 2), F(1, 4), F(1, 4)]
    correct = [True, False, False]
    eta, r_c, r_w = F(1, 2), F(1), F(-1)
    V = len(p)

    def jac(i, j):  # dp_i / dz_j of the softmax
        return p[i] * ((1 if i == j else 0) - p[j])

    def dq(sampled, N):
        rho = [(r_c if correct[i] else r_w) if i in sampled else F(0) for i in range(V)]
        grad = [sum(rho[i] * jac(i, j) for i in range(V)) / N for j in range(V)]
        return sum(jac(i, j) * eta * grad[j] for i in range(V) if correct[i] for j in range(V))

    exact = {}
    for N in (1, 2, 3):
        mean = F(0)
        for ms in itertools.combinations_with_replacement(range(V), N):
            counts = [ms.count(i) for i in range(V)]
            prob = F(math.factorial(N))
            for i in range(V):
                prob *= p[i] ** counts[i] / math.factorial(counts[i])
            mean += prob * dq(set(ms), N)
        exact[N] = mean
        assert expected_change(np.array([float(x) for x in p]), np.array(correct), N, float(eta), float(r_c),
                               float(r_w)) == pytest.approx(float(mean), rel=1e-12, abs=1e-15)
    # N = 1 by hand with eqs. (U)-(P): token 0 (prob 1/2): s = 1/2, dz = (1/8, -1/16, -1/16), p . dz = 1/32,
    # dQ = (1/2)(1/8 - 1/32) = 3/64; token 1 or 2 (prob 1/4 each): s = -1/4, dz = (1/16, -3/32, 1/32) up to the
    # order of 1 and 2, p . dz = 1/64, dQ = (1/2)(1/16 - 1/64) = 3/128; E = 3/128 + 3/256 = 9/256
    assert exact[1] == F(9, 256)


def test_lemma2_monotone_and_limit():
    z, c = gaussian50()
    p = softmax(z)
    prev = (np.inf, np.inf)
    for N in (1, 2, 4, 8, 32, 128, 1024):
        cur = expected_unsampled_moments(p, c, N)
        assert cur[0] <= prev[0] and cur[1] <= prev[1]
        prev = cur
    lim = limit_scaled_change(p, c)
    assert lim > 0
    N = int(np.ceil(np.log(1e-6) / np.log1p(-p.min())))  # max_i (1 - p_i)^N < 1e-6
    assert abs(N * expected_change(p, c, N, 1.0) - lim) / lim < 1e-3
    # far from the limit it is not yet there (the check can fail)
    assert abs(1 * expected_change(p, c, 1, 1.0) - lim) / lim > 1e-2


def test_prob_increase_rises_to_one():
    z, c = gaussian50()
    p = softmax(z)
    got = [prob_increase_exact(p, c, N)[0] for N in (1, 2, 4)]
    assert got[0] == pytest.approx(0.87, abs=0.01) and got[1] == pytest.approx(0.97, abs=0.01)
    assert got[2] == pytest.approx(0.999, abs=0.002)
    assert got[0] < got[1] < got[2] < 1.0


def test_pass_at_k_and_validation():
    assert pass_at_k(0.5, 3) == pytest.approx(0.875)
    q = np.array([0.1, 0.2, 0.9])
    assert np.all(np.diff(pass_at_k(q, 4)) > 0)
    p = np.full(4, 0.25)
    c = np.array([1, 0, 0, 0], bool)
    with pytest.raises(ParamError, match="r_c"):
        expected_change(p, c, 2, r_c=-1.0)
    with pytest.raises(ParamError, match="r_w"):
        expected_change(p, c, 2, r_w=0.5)
    with pytest.raises(ParamError, match="N"):
        expected_change(p, c, 0)
    with pytest.raises(ParamError, match="p"):
        decompose(np.array([0.5, 0.6]), c[:2], np.array([1, 0]))
    with pytest.raises(ParamError, match="counts"):
        decompose(p, c, np.zeros(4, int))
    with pytest.raises(ParamError, match="max_vocab"):
        change_variance(softmax(np.zeros(5000)), np.zeros(5000, bool), 2)
