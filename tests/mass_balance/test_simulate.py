"""Monte Carlo of one step and the Sec. 4.1 simulator: backends, statistics, AdamW, determinism."""
import subprocess
import sys

import numpy as np
import pytest

from regretlab.core.seeding import counter_keys
from regretlab.core.validate import ParamError
from regretlab.mass_balance import (
    ONE_STEP_COLUMNS,
    change_variance,
    decompose,
    expected_change,
    expected_terms,
    expected_unsampled_moments,
    logits_instance,
    one_step,
    simulate_training,
)
from regretlab.mass_balance.reference import prob_increase_exact

from .cases import gaussian50, softmax


@pytest.mark.parametrize("N", [1, 3, 40])
def test_one_step_backends_equal_reference(backend, N):
    z, c = logits_instance("zipf", 70, 15, np.random.default_rng(1))
    ref = one_step(z, c, N, eta=0.1, r_c=0.7, r_w=-1.3, trials=25, seed=4, backend="python")
    got = one_step(z, c, N, eta=0.1, r_c=0.7, r_w=-1.3, trials=25, seed=4, backend=backend)
    for k in ONE_STEP_COLUMNS:
        if backend == "cupy":
            np.testing.assert_allclose(got[k], ref[k], rtol=1e-10, atol=1e-18, err_msg=k)
        else:
            assert np.array_equal(got[k], ref[k]), k


def test_one_step_columns_match_decompose():
    """The kernel's per-trial terms are those of decompose() on the trial's sample set."""
    z, c = gaussian50()
    p = softmax(z)
    out = one_step(z, c, 6, eta=0.01, trials=200, seed=0, backend="numba")
    P2 = np.sum(p * p)
    assert np.all(out["t1"] >= 0) and np.all(out["t2"] >= 0)
    assert np.all(np.abs(out["t1"] + out["t2"] + out["t3"] - out["dq_scaled"]) <= 1e-12 * 2 * P2)
    assert np.all(np.abs(out["sum_dp_scaled"]) < 1e-15)
    assert np.all((out["s"] >= -1) & (out["s"] <= 1))
    # distinct tokens among N = 6 draws: between 1 and 6, with mean sum_j (1 - (1 - p_j)^N) (indicator sums)
    assert np.all((out["distinct"] >= 1) & (out["distinct"] <= 6))
    e_distinct = np.sum(1 - (1 - p) ** 6)
    assert abs(out["distinct"].mean() - e_distinct) <= 4 * out["distinct"].std(ddof=1) / np.sqrt(200) + 1e-12
    # a sampled set whose decomposition the kernel must reproduce: all tokens hit (N huge)
    big = one_step(z, c, 20000, eta=0.01, trials=2, seed=0, backend="numba")
    d = decompose(p, c, np.ones(50, dtype=int) * 400, eta=0.01)
    assert np.all(big["distinct"] == 50)
    np.testing.assert_allclose(big["t1"], d.t1, rtol=1e-12)
    np.testing.assert_allclose(big["dq"] * 20000, d.dq * 20000, rtol=1e-10)
    assert np.all(big["t3"] == 0.0)


@pytest.mark.parametrize("N", [2, 8, 64])
def test_monte_carlo_means_match_analytic(N):
    """Every term's MC mean is within 3 standard errors of its exact expectation (spec §6 items 4-5)."""
    z, c = gaussian50()
    p = softmax(z)
    R = 20000
    out = one_step(z, c, N, eta=1.0, trials=R, seed=11, backend="numba")
    e1, e2, e3 = expected_terms(p, c, N)
    euc, euw = expected_unsampled_moments(p, c, N)
    want = {"t1": e1, "t2": e2, "t3": e3, "dq_scaled": N * expected_change(p, c, N), "uc2": euc, "uw2": euw}
    assert e1 + e2 + e3 == pytest.approx(want["dq_scaled"], rel=1e-10)
    for k, v in want.items():
        x = out[k]
        se = x.std(ddof=1) / np.sqrt(R)
        assert abs(x.mean() - v) <= 3 * se + 1e-18, (k, x.mean(), v, se)
    # variance formula
    sd = np.sqrt(change_variance(p, c, N, 1.0))
    assert out["dq"].std(ddof=1) == pytest.approx(sd, rel=0.05)


def test_probability_of_increase_matches_enumeration():
    z, c = gaussian50()
    p = softmax(z)
    R = 20000
    for N in (1, 2, 4):
        exact = prob_increase_exact(p, c, N)[0]
        mc = (one_step(z, c, N, trials=R, seed=N, backend="numba")["dq"] > 0).mean()
        assert abs(mc - exact) <= 4 * np.sqrt(exact * (1 - exact) / R) + 1e-4


def test_sampler_is_multinomial():
    """Chi-square of the inverse-CDF token draws against p (spec §6 item 13)."""
    from scipy import stats

    z = np.log(np.array([0.3, 0.2, 0.15, 0.1, 0.08, 0.07, 0.05, 0.03, 0.015, 0.005]))
    c = np.zeros(10, dtype=bool)
    # N = 1 trials: the single sampled token is where 'distinct' == 1 and the indicator moments show it;
    # recover it from a2/b2 (each token has a distinct p^2)
    out = one_step(z, np.ones(10, dtype=bool) | c, 1, trials=50000, seed=2, backend="numba")
    p = softmax(z)
    tok = np.array([np.argmin(np.abs(p * p - a)) for a in out["a2"]])
    counts = np.bincount(tok, minlength=10)
    assert stats.chisquare(counts, 50000 * p).pvalue > 1e-4


def _train(backend, N=8, **kw):
    z, c = logits_instance("seeded", 60, 12)
    args = dict(lr=1e-2, trials=4, seed=5, record_every=3, backend=backend)
    args.update(kw)
    return simulate_training(z, c, N, 20, **args)


@pytest.mark.parametrize("kw", [{}, {"center_rewards": False, "weight_decay": 0.0},
                                {"freeze_anchor": True, "betas": (0.5, 0.9)}])
def test_training_backends_equal_reference(backend, kw):
    ref = _train("python", **kw)
    got = _train(backend, **kw)
    assert np.array_equal(got["t"], [0, 3, 6, 9, 12, 15, 18, 20])
    for k, v in ref.items():
        if backend == "cupy" and v.dtype.kind == "f":
            np.testing.assert_allclose(got[k], v, rtol=1e-9, atol=1e-15, err_msg=k)
        else:
            assert np.array_equal(got[k], v), k


def test_gradient_matches_finite_differences():
    """dL/dz = (p S - c g p) / N with S = sum_i c_i g_i p_i, for L = -(1/N) sum_n g_{x_n} p_{x_n}."""
    rng = np.random.default_rng(0)
    z = rng.standard_normal(20)
    c = np.arange(20) < 6
    counts = rng.multinomial(9, softmax(z))
    nc = counts[c].sum()
    g_cls = np.where(c, 1.0, -1.0) - (nc - (9 - nc)) / 9

    def L(x):
        return -np.sum(counts * g_cls * softmax(x)) / 9

    p = softmax(z)
    S = np.sum(counts * g_cls * p)
    grad = (p * S - counts * g_cls * p) / 9
    h = 1e-6
    fd = np.array([(L(z + h * e) - L(z - h * e)) / (2 * h) for e in np.eye(20)])
    np.testing.assert_allclose(grad, fd, atol=1e-9)


def test_adamw_matches_hand_reference():
    """One trial, N = V large enough: the PyTorch AdamW recursion written out here, on the simulator's draws."""
    from regretlab.core.detmath import py_counter_uniform

    z0, c = logits_instance("seeded", 12, 4)
    lr, (b1, b2), eps, wd, N, T = 0.05, (0.9, 0.99), 1e-8, 0.1, 5, 6
    key = int(counter_keys(9, 0, 1)[0])  # the stream of trial 0 with seed 9
    out = simulate_training(z0, c, N, T, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd, trials=1, seed=9,
                            backend="numba")
    z, m, v = z0.copy(), np.zeros(12), np.zeros(12)
    q = [softmax(z)[c].sum()]
    for t in range(1, T + 1):
        p = softmax(z)
        cdf = np.cumsum(np.exp(z - z.max()))
        xs = [min(int(np.searchsorted(cdf, py_counter_uniform(key, (t - 1) * N + n) * cdf[-1], "right")), 11)
              for n in range(N)]
        R = np.where(c[xs], 1.0, -1.0)
        g = np.zeros(12)
        for x, r in zip(xs, R - R.mean()):  # L = -(1/N) sum_n r_n p_{x_n}
            g -= r * p[x] * ((np.arange(12) == x) - p) / N
        z = z * (1 - lr * wd)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        z = z - lr / (1 - b1**t) * m / (np.sqrt(v) / np.sqrt(1 - b2**t) + eps)
        q.append(softmax(z)[c].sum())
    np.testing.assert_allclose(out["q_pos"][0], q, rtol=1e-12)


def test_thread_count_does_not_change_results(tmp_path):
    code = ("import numpy as np; from regretlab.mass_balance import logits_instance, simulate_training as s;"
            "z,c=logits_instance('seeded',300,40); o=s(z,c,16,30,lr=1e-2,trials=6,seed=3,backend='numba');"
            "print(repr(o['q_pos'].tobytes().hex()[:4000]), repr(o['worst_drop'].sum()))")
    outs = []
    for threads in ("1", "2"):
        env = {**__import__("os").environ, "NUMBA_NUM_THREADS": threads}
        outs.append(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                   check=True).stdout)
    assert outs[0] == outs[1]


def test_qualitative_figure3_at_small_size():
    """Spec §6 item 14: V = 20,000, m = 1,500, seeded, 200 steps, 3 trials (PyTorch-default AdamW)."""
    z, c = logits_instance("seeded", 20000, 1500)
    res = {N: simulate_training(z, c, N, 200, trials=3, seed=1, record_every=50, backend="numba")
           for N in (4, 16, 512, 4096)}
    pct = [res[N]["pct_improved"][:, -1].mean() for N in (4, 16, 512, 4096)]
    assert pct[0] < pct[1] < pct[2] <= pct[3]
    assert pct[3] == 100.0 and np.all(res[4096]["worst_drop"][:, -1] > 0)
    q0 = res[4]["q_pos"][0, 0]
    assert res[4]["q_pos"][:, -1].mean() < q0 < res[4096]["q_pos"][:, -1].mean()


def test_validation_names_the_parameter():
    z, c = logits_instance("seeded", 10, 3)
    with pytest.raises(ParamError, match="N"):
        one_step(z, c, 0, trials=2)
    with pytest.raises(ParamError, match="trials"):
        one_step(z, c, 2)
    with pytest.raises(ParamError, match="eta"):
        one_step(z, c, 2, trials=2, eta=0.0)
    with pytest.raises(ParamError, match="is_correct"):
        one_step(z, c[:5], 2, trials=2)
    with pytest.raises(ParamError, match="beta2"):
        simulate_training(z, c, 2, 5, trials=1, betas=(0.9, 1.0))
    with pytest.raises(ParamError, match="weight_decay"):
        simulate_training(z, c, 2, 5, trials=1, lr=1.0, weight_decay=2.0)
    with pytest.raises(ParamError, match="backend"):
        one_step(z, c, 2, trials=2, backend="tpu")
