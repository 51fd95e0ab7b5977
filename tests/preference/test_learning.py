"""Likelihoods, gradients, backends and recovery of reward learning (specs/regret-preference.md §5, §6, §10)."""
import numpy as np
import pytest

from regretlab.core import mdp as core_mdp
from regretlab.core.validate import ParamError
from regretlab.preference import learning as L
from regretlab.preference._numpy import loss_grad, values
from regretlab.preference.domain import delivery_mdp, random_delivery_mdp
from regretlab.preference.evaluation import evaluate, scaled_return
from regretlab.preference.identifiability import all_pairs
from regretlab.preference.models import label_pairs, preference_logit
from regretlab.preference.reference import likelihood_reference
from regretlab.preference.segments import enumerate_segments, sample_pairs


@pytest.fixture(scope="module")
def small():
    """A 3x5 random board, its unique length-2 segments, all deterministic policies as Pi_SF."""
    m = random_delivery_mdp(np.random.default_rng(11), height=3, width=5)
    segs = enumerate_segments(m, 2)
    return m, segs


def _dataset(m, segs, label, noise, n, seed):
    rng = np.random.default_rng(seed)
    pairs = sample_pairs(segs.n, n, rng)
    y = label_pairs(preference_logit(label, segs, pairs, m.w_true, m), noise, rng)
    return pairs, y


def _exact_psi(m, ws):
    """Successor features of the optimal policies of the weights ws: with the hard max, V_w = V*_w there."""
    pols = [core_mdp.greedy_policy(m.optimal(m.reward(w)).Q) for w in ws]
    return L.successor_features(m, core_mdp.one_hot_policy(np.stack(pols), m.n_actions))


def _loss_and_grad(rows, psi, w, temperature):
    X, idx, coef, y, wt, _ = L._stack_rows([rows])
    hard = temperature == 0
    if idx.shape[2]:
        V, dV = values(psi, w[None], hard, 0.0 if hard else 1 / temperature)
    else:
        V, dV = np.zeros((1, 1)), np.zeros((1, 1, w.size))
    loss, g = loss_grad(X, idx, coef, y, wt, wt.sum(1), V, dV, w[None])
    return float(loss[0]), g[0]


@pytest.mark.parametrize("model", ["partial_return", "regret"])
def test_likelihood_matches_the_definitions(small, model):
    """Spec §10: the kernel's loss at w equals the cross-entropy computed from the definitions (plain
    Python: rollout regret with exact V*, the authors' swapped copies included), with exact V* from the
    set of all deterministic policies (hard max)."""
    m, segs = small
    ws = [np.random.default_rng(seed).normal(size=6) * 3 for seed in range(3)]
    psi = _exact_psi(m, ws)
    pairs, y = _dataset(m, segs, "regret", "stochastic", 60, 0)
    rows = L.preference_rows(model, segs, pairs, y)
    for w in ws:
        loss, _ = _loss_and_grad(rows, psi, w, 0.0)
        assert loss == pytest.approx(likelihood_reference(model, segs, pairs, y, w, m), rel=1e-10, abs=1e-12)
        # augmentation is a no-op: the same without the swapped copies
        assert loss == pytest.approx(likelihood_reference(model, segs, pairs, y, w, m, augment=False), rel=1e-10)
    # merging identical rows changes nothing
    raw = L.preference_rows(model, segs, pairs, y, compress=False)
    w = np.arange(6.0) - 2
    assert _loss_and_grad(raw, psi, w, 0.0)[0] == pytest.approx(_loss_and_grad(rows, psi, w, 0.0)[0], rel=1e-12)


@pytest.mark.parametrize("temperature", [0.0, 1e-3, 0.5])
@pytest.mark.parametrize("model", ["partial_return", "regret"])
def test_gradient_matches_finite_differences(small, model, temperature):
    m, segs = small
    psi = L.successor_features(m, L.policy_set(m, np.random.default_rng(1), n_policies=20))
    pairs, y = _dataset(m, segs, "regret", "stochastic", 80, 2)
    rows = L.preference_rows(model, segs, pairs, y)
    scale = 0.05 if temperature == 1e-3 else 1.0  # keep the soft max smooth at the test point
    w = np.random.default_rng(3).normal(size=6) * scale
    _, g = _loss_and_grad(rows, psi, w, temperature)
    h = 1e-6 * scale
    fd = np.array([(_loss_and_grad(rows, psi, w + h * e, temperature)[0]
                    - _loss_and_grad(rows, psi, w - h * e, temperature)[0]) / (2 * h) for e in np.eye(6)])
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-7)


def test_successor_features_are_linear_in_w(small):
    """Spec §10 item 8: w . psi^pi(s) = V^pi_w(s) for random w, to 1e-10."""
    m, _ = small
    pis = L.policy_set(m, np.random.default_rng(4), n_policies=10)
    psi = L.successor_features(m, pis)
    for seed in range(5):
        w = np.random.default_rng(seed).normal(size=6) * 10
        V = m.values(m.reward(w)[None], pis).V
        np.testing.assert_allclose(np.einsum("psf,f->ps", psi, w), V, atol=1e-10 * max(1.0, np.abs(V).max()))


def test_exact_value_gradient_and_sf_max_agree(small):
    m, _ = small
    w = np.array([-1.0, 10.0, -20.0, 1.0, -2.0, -1.0])
    psi = np.concatenate([L.successor_features(m, L.policy_set(m, np.random.default_rng(0), n_policies=30)),
                          _exact_psi(m, [w])])
    V, dV = L.exact_value_gradient(m, w)
    Vh, dVh = values(psi, w[None], True, 0.0)
    np.testing.assert_allclose(Vh[0], V, atol=1e-9)
    np.testing.assert_allclose(np.einsum("sf,f->s", dVh[0], w), np.einsum("sf,f->s", dV, w), atol=1e-9)


def test_backends_agree_bit_for_bit(small, backend):
    """Numba, NumPy and plain Python: the same weights and loss trace, with datasets of different sizes."""
    m, segs = small
    psi = L.successor_features(m, L.policy_set(m, np.random.default_rng(5), n_policies=12))
    for model in ("partial_return", "regret"):
        rows = [L.preference_rows(model, segs, *_dataset(m, segs, "regret", "stochastic", n, 6 + n))
                for n in (30, 70)]
        w0 = L.init_weights(np.random.default_rng(7), 2, 6)
        for temp in (0.0, 1e-3):
            ref = L.fit(rows, psi, w0=w0, iterations=15, temperature=temp, backend="python")
            got = L.fit(rows, psi, w0=w0, iterations=15, temperature=temp, backend=backend)
            if backend == "cupy":
                np.testing.assert_allclose(got.w, ref.w, rtol=1e-9)
            else:
                np.testing.assert_array_equal(got.w, ref.w)
                np.testing.assert_array_equal(got.trace, ref.trace)
            # a batch of two gives what each dataset gives alone
            alone = L.fit(rows[1:], psi, w0=w0[1:], iterations=15, temperature=temp, backend=backend)
            np.testing.assert_array_equal(alone.w[0], got.w[1]) if backend != "cupy" else None


def test_adam_reaches_the_lbfgs_optimum_on_noisy_labels(small):
    m, segs = small
    rng = np.random.default_rng(8)
    pairs = sample_pairs(segs.n, 3000, rng)
    # labels from a tempered truth, so that the maximum-likelihood weights are finite and well conditioned
    y = label_pairs(preference_logit("partial_return", segs, pairs, m.w_true / 20, m), "stochastic", rng)
    rows = L.preference_rows("partial_return", segs, pairs, y)
    w_lb, loss_lb = L.fit_lbfgs(rows)
    res = L.fit([rows], w0=np.zeros((1, 6)), iterations=5000, lr=0.05, backend="numba")
    assert res.loss[0] == pytest.approx(loss_lb, abs=1e-6)
    live = np.abs(rows.X).sum(0) > 0  # features that never differ between segments are unidentified
    np.testing.assert_allclose(res.w[0][live], w_lb[live], atol=2e-2)


def test_keep_best_rule(small):
    m, segs = small
    psi = L.successor_features(m, L.policy_set(m, np.random.default_rng(0), n_policies=30))
    rows = L.preference_rows("regret", segs, *_dataset(m, segs, "regret", "noiseless", 50, 9))
    w0 = L.init_weights(np.random.default_rng(0), 1, 6)
    res = L.fit([rows], psi, w0=w0, iterations=200, lr=2.0, temperature=0.0, backend="numpy")
    assert res.loss[0] == res.trace[0].min()
    last = L.fit([rows], psi, w0=w0, iterations=200, lr=2.0, temperature=0.0, keep_best=False, backend="numpy")
    assert last.loss[0] == last.trace[0, -1]


def test_noiseless_regret_labels_give_a_near_optimal_reward():
    """Spec §10 item 5: noiseless regret labels on all segment pairs of a small MDP -> near-optimal.

    The authors' successor-feature setup: 100 random reward vectors' optimal policies, the true optimal
    policy removed, soft max at T = 0.001, 5000 Adam iterations at lr 0.5."""
    for seed in (11, 12, 13):
        m = random_delivery_mdp(np.random.default_rng(seed), height=3, width=5)
        segs = enumerate_segments(m, 2)
        pairs = all_pairs(segs.n)
        y = label_pairs(preference_logit("regret", segs, pairs, m.w_true, m), "noiseless")
        rows = L.preference_rows("regret", segs, pairs, y)
        psi = L.successor_features(m, L.policy_set(m, np.random.default_rng(seed)))
        res = L.fit([rows], psi, w0=L.init_weights(np.random.default_rng(0), 1, 6), backend="numba")
        assert scaled_return(m, res.w[0]) >= 0.9


def test_stochastic_pr_labels_identify_w_for_the_pr_model():
    """Spec §10 item 5: PR model on PR labels (soft labels = the infinite-data limit) -> w_true."""
    m = delivery_mdp()
    segs = enumerate_segments(m, 3)
    pairs = sample_pairs(segs.n, 20000, np.random.default_rng(0))
    # scale the task down so the optimum is interior and well conditioned (same identification argument)
    w_true = m.w_true / 25.0
    z = preference_logit("partial_return", segs, pairs, w_true, m)
    y = 1 / (1 + np.exp(-z))
    w, _ = L.fit_lbfgs(L.preference_rows("partial_return", segs, pairs, y))
    np.testing.assert_allclose(w, w_true, atol=1e-4)


def test_evaluation_sanity(small):
    """Spec §10 item 6: the optimal policy scores 1, w = 0 (the uniform policy) scores 0."""
    m, _ = small
    ev = evaluate(m, np.stack([m.w_true, np.zeros(6), -m.w_true]))
    assert ev.scaled_return[0] == pytest.approx(1.0) and ev.scaled_return[1] == pytest.approx(0.0, abs=1e-12)
    assert ev.scaled_return[2] < 0 and list(ev.near_optimal) == [True, False, False]
    assert ev.starc[0] == pytest.approx(0.0, abs=1e-9) and ev.starc[2] == pytest.approx(2.0, abs=1e-9)
    unif = np.full((m.n_states, m.n_actions), 0.25)
    assert np.isclose(m.mean_start_value(m.r_true, unif), m.mean_start_value(m.r_true, L.greedy_uniform(
        np.zeros((m.n_states, m.n_actions)))))


def test_fit_refuses_bad_input(small):
    m, segs = small
    rows = L.preference_rows("regret", segs, *_dataset(m, segs, "regret", "noiseless", 10, 0))
    with pytest.raises(ParamError, match="psi"):
        L.fit([rows], None, w0=np.zeros((1, 6)))
    with pytest.raises(ParamError, match="lr"):
        L.fit([rows], np.zeros((1, m.n_states, 6)), w0=np.zeros((1, 6)), lr=0)
    with pytest.raises(ParamError, match="w0"):
        L.fit([rows], np.zeros((1, m.n_states, 6)), w0=np.zeros((2, 6)))
    with pytest.raises(ParamError, match="y"):
        L.preference_rows("regret", segs, np.array([[0, 1]]), np.array([1.5]))
    with pytest.raises(ParamError, match="model"):
        L.preference_rows("bradley", segs, np.array([[0, 1]]), np.array([1.0]))
    # the area's policy evaluation returns the core's type and solves the Bellman equations of the uniform
    # policy: Q = r + gamma P V on live states, V = sum_a pi Q, V = 0 on terminal states
    unif = np.full((m.n_states, m.n_actions), 1.0 / m.n_actions)
    pv = m.values(m.r_true, unif)
    assert isinstance(pv, core_mdp.PolicyValues)
    tol = 1e-9 * max(1.0, np.abs(pv.Q).max())
    live = ~m.terminal
    np.testing.assert_allclose(pv.Q[live], (m.r_true + m.gamma * m.P @ pv.V)[live], atol=tol)
    np.testing.assert_allclose(pv.V, (unif * pv.Q).sum(-1), atol=tol)
    np.testing.assert_allclose(pv.V[m.terminal], 0.0, atol=tol)
