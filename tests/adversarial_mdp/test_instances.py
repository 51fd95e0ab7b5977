"""Linear-MDP instances, adversaries and the exact benchmark (specs/adversarial-linear-mdp.md §1.3, §7).

Independent checks: Q^pi computed by a plain recursion on the padded arrays must be exactly phi^T theta with
the construction's theta (linear MDP); the benchmark must equal brute-force enumeration of every
deterministic policy; the adversaries' loss streams must be what the kernels add up.
"""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regretlab.adversarial_mdp import adversary, algorithm_spec, benchmark_values, linear_mdp, simulate
from regretlab.adversarial_mdp.instances import (
    check_linear_mdp,
    episode_losses,
    expected_loss_of_policy,
    instance_rng,
    loss_key,
)
from regretlab.core.validate import ParamError


def q_values(mdp, pi, g):
    """Plain recursion: Q_h(s, a) = l_h(s, a) + sum_s' P_h(s'|s, a) sum_a' pi(a'|s') Q_{h+1}(s', a')."""
    H, n, A, d = mdp.phi.shape
    Q = np.zeros((H, n, A))
    V_next = np.zeros(n)
    for h in range(H - 1, -1, -1):
        for s in range(int(mdp.n_states[h])):
            for a in range(A):
                Q[h, s, a] = mdp.phi[h, s, a] @ g[h] + (mdp.P[h, s, a] @ V_next if h < H - 1 else 0.0)
        V_next = np.array([pi[h, s] @ Q[h, s] for s in range(n)])
    return Q


def random_policy(mdp, rng):
    H, n, A, _ = mdp.phi.shape
    return rng.dirichlet(np.ones(A), size=(H, n))


@pytest.mark.parametrize("features", ["simplex", "tabular"])
def test_q_of_every_policy_is_linear_in_the_features(features):
    rng = np.random.default_rng(3)
    mdp = linear_mdp(4, 3, 3, None if features == "tabular" else 5, 7, features=features)
    check_linear_mdp(mdp)
    H, n, A, d = mdp.phi.shape
    for _ in range(5):
        pi = random_policy(mdp, rng)
        g = rng.uniform(size=(H, d))
        Q = q_values(mdp, pi, g)
        V = np.array([[pi[h, s] @ Q[h, s] for s in range(n)] for h in range(H)])
        for h in range(H):
            m = int(mdp.n_states[h])
            if features == "simplex":
                theta = g[h] + (mdp.nu[h] @ V[h + 1] if h < H - 1 else 0.0)
            else:  # one-hot: theta is Q itself, laid out as s A + a
                theta = np.zeros(d)
                theta[:m * A] = Q[h, :m].reshape(-1)
            np.testing.assert_allclose(mdp.phi[h, :m] @ theta, Q[h, :m], rtol=0, atol=1e-12)
            assert np.all(theta >= -1e-12) and np.all(theta <= H - h + 1e-12)
            assert np.linalg.norm(theta) <= np.sqrt(d) * H
        # losses in [0, 1] on every (s, a)
        ell = np.einsum("hsad,hd->hsa", mdp.phi, g)
        assert ell.min() >= 0.0 and ell.max() <= 1.0 + 1e-12


def test_transitions_are_distributions_and_padding_is_zero():
    mdp = linear_mdp(3, 4, 2, 6, 0)
    for h in range(2):
        np.testing.assert_allclose(mdp.P[h, :int(mdp.n_states[h])].sum(-1), 1.0, atol=1e-12)
    assert np.all(mdp.phi[0, 1:] == 0.0) and np.all(mdp.P[0, 1:] == 0.0) and np.all(mdp.P[-1] == 0.0)
    np.testing.assert_allclose(mdp.phi[1].sum(-1), 1.0, atol=1e-12)  # simplex features


def test_benchmark_matches_brute_force_enumeration():
    """min over all A^(#states) deterministic policies of the exact total loss (tiny MDP, 2^5 policies)."""
    mdp = linear_mdp(3, 2, 2, 3, 11)
    H, n, A, d = mdp.phi.shape
    rng = np.random.default_rng(5)
    states = [(h, s) for h in range(H) for s in range(int(mdp.n_states[h]))]
    G = rng.uniform(0, 50, size=(4, H, d))
    bench = benchmark_values(mdp, G)
    for i in range(G.shape[0]):
        best = np.inf
        for acts in itertools.product(range(A), repeat=len(states)):
            pi = np.zeros((H, n, A))
            for (h, s), a in zip(states, acts):
                pi[h, s, a] = 1.0
            best = min(best, q_values(mdp, pi, G[i])[0, 0] @ pi[0, 0])
        assert bench[i] == pytest.approx(best, rel=1e-12, abs=1e-10)
        # randomised policies never do better (the minimum is attained by a deterministic policy)
        for _ in range(20):
            pi = random_policy(mdp, rng)
            assert expected_loss_of_policy(mdp, pi, G[i]) >= bench[i] - 1e-9


def test_expected_loss_of_policy_matches_recursion():
    mdp = linear_mdp(3, 3, 3, 4, 2)
    rng = np.random.default_rng(0)
    pi, g = random_policy(mdp, rng), rng.uniform(size=(3, 4))
    assert expected_loss_of_policy(mdp, pi, g) == pytest.approx(pi[0, 0] @ q_values(mdp, pi, g)[0, 0], rel=1e-12)


def test_simulated_losses_are_the_adversary_stream_and_uniform_policy_has_closed_form():
    mdp = linear_mdp(3, 3, 3, 6, 0)
    K = 50
    for name in ("stochastic_gap", "uniform", "switching", "drifting"):
        adv = adversary(name, 3, 6, K, 1)
        lk = np.array([loss_key(4, r) for r in range(3)], dtype=np.uint64)
        out = simulate(mdp, adv, algorithm_spec("uniform", K, 3, 6, 3), K, [10, K], np.arange(3, dtype=np.uint64),
                       lk, backend="numba")
        pi = np.full((3, 3, 3), 1.0 / 3.0)
        for r in range(3):
            g = episode_losses(adv, lk[r], 0, K)
            assert set(np.unique(g)) <= {0.0, 1.0} if adv.bernoulli else (g.min() >= 0 and g.max() < 1)
            np.testing.assert_allclose(out["G"][r, 0], g[:10].sum(0), rtol=0, atol=1e-12)
            np.testing.assert_allclose(out["G"][r, 1], g.sum(0), rtol=0, atol=1e-12)
            # the uniform learner's exact expected loss is linear in G
            assert out["cum"][r, 1] == pytest.approx(expected_loss_of_policy(mdp, pi, g.sum(0)), rel=1e-12)


def test_loss_streams_depend_on_seed_and_replicate_only():
    key, a = loss_key(1, 0), instance_rng(3, 0).uniform(size=4)
    state = np.random.get_state()
    try:                       # neither the global random state nor other streams' use moves a stream
        np.random.seed(12345)
        np.random.random(7)
        instance_rng(3, 1).uniform(size=100)
        loss_key(2, 3)
        assert loss_key(1, 0) == key
        assert np.array_equal(a, instance_rng(3, 0).uniform(size=4))
    finally:
        np.random.set_state(state)
    assert len({int(loss_key(s, r)) for s in (1, 2) for r in range(5)}) == 10
    assert not np.array_equal(a, instance_rng(3, 1).uniform(size=4))
    assert not np.array_equal(a, instance_rng(3, 0, part=1).uniform(size=4))


@settings(max_examples=25, deadline=None)
@given(K=st.integers(1, 5000), gap=st.floats(0.0, 0.3), name=st.sampled_from(["stochastic_gap", "switching",
                                                                                  "drifting", "uniform"]))
def test_adversary_tables_are_valid(K, gap, name):
    adv = adversary(name, 3, 4, K, 0, gap=gap)
    assert adv.starts[0] == 0 and np.all(np.diff(adv.starts) > 0) and adv.starts[-1] < K
    assert adv.means.min() >= 0.0 and adv.means.max() <= 1.0
    if name == "stochastic_gap":
        assert adv.means.shape[0] == 1
    if name == "drifting" and adv.means.shape[0] > 1:
        base = adv.means[0].copy()
        base[:, 0] += gap
        np.testing.assert_allclose(adv.means[-1][:, 0], base[:, 0], atol=1e-12)  # coordinate 0 back up
        np.testing.assert_allclose(adv.means[-1][:, 1], base[:, 1] - gap, atol=1e-12)  # coordinate 1 down


def test_bad_instance_input_names_the_parameter():
    with pytest.raises(ParamError, match="n_actions"):
        linear_mdp(3, 3, 1, 4, 0)
    with pytest.raises(ParamError, match="horizon"):
        linear_mdp(0, 3, 2, 4, 0)
    with pytest.raises(ParamError, match="dim"):
        linear_mdp(3, 3, 2, 5, 0, features="tabular")
    with pytest.raises(ParamError, match="alpha_phi"):
        linear_mdp(3, 3, 2, 4, 0, alpha_phi=0.0)
    with pytest.raises(ParamError, match="adversary"):
        adversary("evil", 3, 4, 10, 0)
    with pytest.raises(ParamError, match="gap"):
        adversary("stochastic_gap", 3, 4, 10, 0, gap=0.5)
    with pytest.raises(ParamError, match="dim"):
        adversary("drifting", 3, 1, 10, 0)
