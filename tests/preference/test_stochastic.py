"""The stochastic-transition variant, sampled segments and the expected-form regret (spec §2.2, §3.3, §4.1)."""
import numpy as np
import pytest

from regretlab.core.registry import Seeds, get, load_areas
from regretlab.preference import learning as L
from regretlab.preference.domain import random_delivery_mdp, stochastic_variant
from regretlab.preference.evaluation import scaled_return
from regretlab.preference.models import label_pairs, preference_logit, regret, regret_expected
from regretlab.preference.segments import enumerate_segments, sample_pairs, sample_segments


@pytest.fixture(scope="module")
def pair():
    m = random_delivery_mdp(np.random.default_rng(3), height=6, width=5)
    return m, stochastic_variant(m, np.random.default_rng(1))


def test_variant_keeps_the_optimal_policy_and_is_a_distribution(pair):
    m, sm = pair
    assert not sm.deterministic and sm.prob.shape[2] == 2
    np.testing.assert_allclose(sm.P.sum(-1), 1.0, atol=1e-12)
    changed = sm.prob[:, :, 1] > 0
    assert changed.any()
    live = ~m.terminal
    opt, sopt = m.optimal(m.r_true), sm.optimal(sm.r_true)
    best = opt.Q.argmax(-1)
    # the deterministic MDP's optimal actions stay optimal
    q_best = np.take_along_axis(sopt.Q, best[:, None], -1)[:, 0]
    assert np.all(q_best[live] >= sopt.V[live] - 1e-9)
    # teleports only on non-optimal actions, with the stated probabilities
    tele = changed & (sm.features[:, :, 1, 1] == 1)
    assert np.all(best[np.nonzero(tele)[0]] != np.nonzero(tele)[1])
    np.testing.assert_allclose(sm.prob[tele][:, 1], 0.1)
    coin = changed & (sm.features[:, :, 1, 4] == 2)
    np.testing.assert_allclose(sm.prob[coin][:, 1], 0.05)


def test_expected_regret_does_not_depend_on_luck(pair):
    _, sm = pair
    segs = sample_segments(sm, 3, np.random.default_rng(0), max_segments=3000)
    keys = {(tuple(s), tuple(a), tuple(f), tuple(g))
            for s, a, f, g in zip(segs.states, segs.actions, segs.phi, segs.phi_disc)}
    assert segs.n == len(keys)
    rg = regret_expected(segs, sm.w_true, sm)
    assert np.all(rg >= -1e-9)
    # two segments with the same states and actions but different sampled features have the same regret
    key = {}
    for i in range(segs.n):
        key.setdefault((tuple(segs.states[i]), tuple(segs.actions[i])), []).append(i)
    groups = [g for g in key.values() if len(g) > 1]
    assert groups
    for g in groups:
        assert np.ptp(rg[g]) < 1e-9


def test_expected_and_telescoped_rows_agree_on_deterministic_mdps(pair):
    m, _ = pair
    segs = enumerate_segments(m, 3)
    rng = np.random.default_rng(0)
    pairs = sample_pairs(segs.n, 300, rng)
    y = rng.random(300)
    psi = L.successor_features(m, L.policy_set(m, rng, n_policies=15))
    w0 = rng.normal(size=(3, 6))
    a = L.preference_rows("regret", segs, pairs, y)
    b = L.preference_rows("regret", segs, pairs, y, mdp=m, form="expected")
    fa = L.fit([a] * 3, psi, w0=w0, iterations=0, backend="numpy")
    fb = L.fit([b] * 3, psi, w0=w0, iterations=0, backend="numpy")
    np.testing.assert_allclose(fa.loss, fb.loss, rtol=1e-10)
    opt = m.optimal(m.reward(w0[0]))
    np.testing.assert_allclose(regret(segs, w0[0], m, opt), regret_expected(segs, w0[0], m, opt), atol=1e-8)


def test_learning_on_the_stochastic_variant(pair, backend):
    _, sm = pair
    rng = np.random.default_rng(5)
    segs = sample_segments(sm, 3, rng, max_segments=4000)
    pairs = sample_pairs(segs.n, 2000, rng)
    y = label_pairs(preference_logit("regret", segs, pairs, sm.w_true, sm), "stochastic", rng)
    psi = L.successor_features(sm, L.policy_set(sm, rng))
    rows = L.preference_rows("regret", segs, pairs, y, mdp=sm)
    assert rows.idx.shape[1] == 2 * 3 * (1 + 2)
    w0 = L.init_weights(rng, 1, 6)
    res = L.fit([rows], psi, w0=w0, iterations=1000, backend=backend)
    assert scaled_return(sm, res.w[0]) >= 0.9
    if backend != "cupy":
        ref = L.fit([rows], psi, w0=w0, iterations=3, backend="python")
        np.testing.assert_array_equal(L.fit([rows], psi, w0=w0, iterations=3, backend=backend).w, ref.w)


def test_stochastic_experiment_backends_agree(backend):
    load_areas()
    e = get("preference.learning")
    p = e.resolve({**e.small, "transitions": "stochastic"})
    seeds = Seeds(seed=3, cell=1, replicates=2)
    out, ref = e.func(p, seeds, backend), e.func(p, seeds, "python")
    for k in ref:
        if backend == "cupy":
            np.testing.assert_allclose(out[k], ref[k], rtol=1e-6, atol=1e-9)
        else:
            np.testing.assert_array_equal(out[k], ref[k], err_msg=k)
    with pytest.raises(Exception, match="transitions"):
        e.check(e.resolve({"family": "delivery", "transitions": "stochastic"}))
