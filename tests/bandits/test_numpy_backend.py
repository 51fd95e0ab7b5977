"""The NumPy backend (vectorised over replicates) against the plain-Python reference and the Numba kernel.

Equality is exact (``np.array_equal``): same generator states, same arm choices, same floats.
"""
import math

import numpy as np
import pytest

from regretlab.bandits import POLICIES, simulate
from regretlab.bandits import _numpy as npb
from regretlab.bandits import reference as ref
from regretlab.bandits.policies import FAMILIES, policy_params
from regretlab.core import rng
from regretlab.core.stats import log_checkpoints

CASES = [
    # (family, means, horizon): distinct means, exact ties between arms, means at 0 and 1, K in {2, 5}
    ("bernoulli", [0.1, 0.5, 0.45, 0.9, 0.9], 200),
    ("bernoulli", [0.3, 0.2], 150),
    ("bernoulli", [0.0, 1.0, 0.5, 0.5, 0.2], 120),
    ("bernoulli", [0.5, 0.5], 100),
    ("gaussian", [0.0, 0.3, -0.2, 0.25, 0.3], 150),
    ("gaussian", [0.1, -0.1], 300),
]

PARAMS = {
    "etc": [{"m": 3}, {"m": 1}],
    "eps_greedy": [{"eps": 0.2}, {"eps": 0.0}, {"eps": 1.0}],
    "eps_decay": [{"c": 2.0, "d": 0.3}],
    "kl_ucb": [{}, {"c": 3.0}],
    "ucb1": [{}, {"c": 0.5}],
    "ts_gauss": [{}, {"prior_mean": 0.5, "prior_var": 2.0, "noise": 0.4}, {"init_each_arm": 1}],
    "ts_beta": [{}, {"init_each_arm": 1}],
    "ucb_alpha": [{}, {"alpha": 2.0}],
}


def _runs(family, K):
    for name, spec in POLICIES.items():
        if family not in spec.families:
            continue
        for kw in PARAMS.get(name, [{}]):
            yield name, kw


def _assert_same(a, b, what):
    assert a.keys() == b.keys(), what
    for k in a:
        assert a[k].dtype == b[k].dtype, f"{what}: dtype of {k}"
        np.testing.assert_array_equal(a[k], b[k], err_msg=f"{what}: {k}")


@pytest.mark.parametrize("family,means,horizon", CASES)
@pytest.mark.parametrize("seed", [0, 7, 2024])
def test_numpy_equals_reference_exactly(family, means, horizon, seed):
    for policy, kw in _runs(family, len(means)):
        a = simulate(means, policy, horizon, 4, family=family, sigma=0.7, seed=seed, cell=1,
                     backend="numpy", **kw)
        b = simulate(means, policy, horizon, 4, family=family, sigma=0.7, seed=seed, cell=1,
                     backend="python", **kw)
        _assert_same(a, b, f"{family} {means} {policy} {kw} seed={seed}")


def test_numpy_equals_reference_random_instances():
    """Per-replicate means, every checkpoint, small generator blocks (refills and compaction every few rounds)."""
    rs = np.random.default_rng(3)
    for trial in range(12):
        family = ("bernoulli", "gaussian")[trial % 2]
        K = int(rs.integers(2, 6))
        R = int(rs.integers(1, 5))
        T = int(rs.integers(30, 160))
        means = rs.uniform(size=(R, K))
        if trial % 3 == 0:
            means = np.round(means, 1)  # exact ties within and across replicates
        states = rng.replicate_states(int(rs.integers(1000)), trial, R)
        ckpt = np.arange(1, T + 1)
        for policy, kw in _runs(family, K):
            pp = policy_params(policy, family, **kw)
            code, fam = POLICIES[policy].code, FAMILIES[family]
            a = npb.simulate(code, pp, fam, 1.3, means, T, states, ckpt, block=int(rs.choice([8, 16])))
            b = ref.simulate(code, pp, fam, 1.3, means, T, states, ckpt)
            _assert_same(a, b, f"trial {trial} {policy} {kw}")


@pytest.mark.parametrize(
    "family,policy,means,horizon,R,kw",
    [
        ("bernoulli", "ucb1", np.linspace(0.1, 0.9, 10), 3000, 64, {}),
        ("bernoulli", "ts_beta", np.linspace(0.1, 0.9, 10), 2000, 64, {}),
        ("bernoulli", "kl_ucb", [0.2, 0.5, 0.45, 0.1], 600, 32, {}),
        ("bernoulli", "eps_decay", np.linspace(0.1, 0.9, 8), 2000, 64, {"c": 1.0, "d": 0.1}),
        ("bernoulli", "greedy", np.round(np.linspace(0.1, 0.9, 8), 1), 2000, 64, {}),
        ("gaussian", "ts_gauss", np.linspace(0.0, 1.0, 10), 1500, 64, {}),
        ("gaussian", "kl_ucb", [0.0, 0.2, 0.5], 1500, 32, {"c": 3.0}),
        ("gaussian", "etc", [0.0, 0.2, 0.5, 0.1], 1500, 64, {"m": 20}),
    ],
)
def test_numpy_equals_numba_medium(family, policy, means, horizon, R, kw):
    a = simulate(means, policy, horizon, R, family=family, sigma=0.5, seed=5, backend="numpy", **kw)
    b = simulate(means, policy, horizon, R, family=family, sigma=0.5, seed=5, backend="numba", **kw)
    _assert_same(a, b, f"{family} {policy}")


def test_block_size_and_states_untouched():
    means = np.linspace(0.2, 0.8, 6)
    states = rng.replicate_states(1, 0, 9)
    keep = states.copy()
    pp = policy_params("ts_beta", "bernoulli")
    ckpt = log_checkpoints(400, 20)
    outs = [npb.simulate(POLICIES["ts_beta"].code, pp, 0, 1.0, np.tile(means, (9, 1)), 400, states, ckpt,
                         block=b) for b in (8, 24, None)]
    for o in outs[1:]:
        _assert_same(outs[0], o, "block size")
    np.testing.assert_array_equal(states, keep)
    # Fortran-ordered states (their transpose is C-contiguous) are not written through either
    fstates = np.asfortranarray(states)
    npb.simulate(POLICIES["ucb1"].code, policy_params("ucb1", "bernoulli"), 0, 1.0, np.tile(means, (9, 1)),
                 50, fstates, ckpt[ckpt <= 50])
    np.testing.assert_array_equal(fstates, keep)


# ------------------------------------------------------------------------------------------------
# the buffered streams and samplers against PyRandom


@pytest.mark.parametrize("block", [8, 32])
def test_streams_match_python_twin(block):
    """Random mixtures of subset draws of every kind, each replicate checked against its PyRandom."""
    R = 12
    states = rng.replicate_states(9, 4, R)
    st = npb._Streams(states, normals=True, block=block)
    py = [rng.PyRandom(s) for s in states]
    rs = np.random.default_rng(0)
    for step in range(400):
        kind = rs.integers(5)
        rows = np.flatnonzero(rs.random(R) < 0.7)
        if not rows.size:
            continue
        sub = None if rows.size == R else rows
        if kind == 0:
            got = st.uniform(sub)
            want = [py[r].uniform() for r in rows]
        elif kind == 1:
            got = npb._normal(st, sub)
            want = [py[r].normal() for r in rows]
        elif kind == 2:
            shape = 1.0 + rs.exponential(3.0, size=rows.size) * (rs.random(rows.size) < 0.7)
            d = shape - 1.0 / 3.0
            c = 1.0 / np.sqrt(9.0 * d)
            acc, val = npb._mt_attempt(st, d, c, rows)
            got = np.where(acc, val, -1.0)
            want = []
            for r, a in zip(rows, shape):  # one Marsaglia-Tsang attempt, as in PyRandom.gamma's loop
                dd = a - 1.0 / 3.0
                cc = 1.0 / math.sqrt(9.0 * dd)
                x = py[r].normal()
                v = 1.0 + cc * x
                if v <= 0.0:
                    want.append(-1.0)
                    continue
                v = v * v * v
                u = py[r].uniform_open()
                x2 = x * x
                ok = u < 1.0 - 0.0331 * x2 * x2 or math.log(u) < 0.5 * x2 + dd * (1.0 - v + math.log(v))
                want.append(dd * v if ok else -1.0)
        elif sub is None and kind == 3:
            G = int(rs.integers(1, 25))
            got = npb._normals_seq(st, G)
            want = np.array([[p.normal() for p in py] for _ in range(G)])
        elif sub is None:
            G = int(rs.integers(1, 25))
            shape = 1.0 + np.floor(rs.exponential(4.0, size=(G, R)))
            D = shape - 1.0 / 3.0
            C = 1.0 / np.sqrt(9.0 * D)
            got = npb._gammas_seq(st, D, C)
            want = np.array([[py[r].gamma(shape[g, r]) for r in range(R)] for g in range(G)])
        else:
            continue
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want), err_msg=f"step {step} kind {kind}")


def test_ziggurat_tails_and_wedges():
    """Enough normals that wedge and tail paths (live and resolved at refill) occur many times."""
    R = 16
    states = rng.replicate_states(2, 2, R)
    st = npb._Streams(states, normals=True, block=16)
    py = [rng.PyRandom(s) for s in states]
    z = npb._normals_seq(st, 3000)
    want = np.array([[p.normal() for p in py] for _ in range(3000)])
    np.testing.assert_array_equal(z, want)
    assert np.sum(np.abs(z) > rng.ZIG_R) >= 3  # the tail was taken


def test_argmax_random_matches_reservoir_scan():
    rs = np.random.default_rng(1)
    R, K = 40, 6
    states = rng.replicate_states(0, 0, R)
    for _ in range(30):
        V = rs.integers(0, 3, size=(R, K)).astype(float)  # many ties, also with a later-exceeded maximum
        st = npb._Streams(states, block=8)
        got = npb._argmax_random(st, V)
        for r in range(R):
            py = rng.PyRandom(states[r])
            best, arm, cnt = -math.inf, -1, 0
            for a in range(K):
                if V[r, a] > best:
                    best, arm, cnt = V[r, a], a, 1
                elif V[r, a] == best:
                    cnt += 1
                    if py.uniform() * cnt < 1.0:
                        arm = a
            assert got[r] == arm
            # the stream advanced by exactly the number of draws made
            assert st.uniform(np.array([r]))[0] == py.uniform()
        states = rng.replicate_states(int(rs.integers(1 << 30)), 0, R)


def test_klucb_index_matches_reference():
    rs = np.random.default_rng(2)
    p = np.concatenate([rs.random(3000), [0.0, 1.0, 1e-12, 1 - 1e-12, 0.5], np.round(rs.random(200), 2)])
    delta = np.concatenate([rs.exponential(1.0, 3000), [0.3, 0.3, 5.0, 1e-9, -1.0],
                            10.0 ** rs.uniform(-12, 2, 200)])
    got = npb._klucb_index(p, delta)
    want = np.array([ref.klucb_bernoulli_index(a, b) for a, b in zip(p, delta)])
    np.testing.assert_array_equal(got, want)


def test_exact_function_choice():
    probe = np.linspace(0.1, 3.0, 50)
    f = npb._exact(lambda x: np.log(x) * (1 + 1e-15), math.log, probe)
    np.testing.assert_array_equal(f(probe), [math.log(v) for v in probe])
    for fn, mf, xs in [(npb._log, math.log, probe), (npb._exp, math.exp, -probe),
                       (npb._log1p, math.log1p, -probe / 4), (npb._expm1, math.expm1, -probe)]:
        np.testing.assert_array_equal(fn(xs), [mf(v) for v in xs])
