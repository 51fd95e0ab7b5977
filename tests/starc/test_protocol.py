"""The STARC protocol's generators and exact regret labels (regretlab.starc.protocol, spec §9)."""
import itertools

import numpy as np
import pytest
from scipy.stats import norm as normal

from regretlab.core.validate import ParamError
from regretlab.starc.protocol import (
    interpolated_pairs,
    mdp_seed,
    protocol_mdp,
    random_env,
    random_reward,
    regret_labels,
    reward_sparsity_threshold,
    transition_threshold,
)

GAMMA = 0.95


# ---------------------------------------------------------------------------------------------------
# random_env


def test_thresholds_follow_the_spec():
    assert [transition_threshold(n) for n in (8, 49, 50, 99, 100, 500)] == [1.0, 1.0, 1.5, 1.5, 1.8, 1.8]
    assert [reward_sparsity_threshold(n) for n in (32, 64, 128)] == [3.0, 3.5, 3.8]
    assert reward_sparsity_threshold(32, state_only=True) == 1.0


def test_random_env_rows_are_distributions_and_mu0_uniform():
    env = random_env(32, 4, GAMMA, np.random.default_rng(0))
    assert env.tau.shape == (32, 4, 32) and env.tau.dtype == np.float64
    np.testing.assert_allclose(env.tau.sum(-1), 1.0, atol=1e-12)
    assert np.all(env.tau >= 0)
    np.testing.assert_array_equal(env.mu0, np.full(32, 1 / 32))
    assert env.gamma == GAMMA and env.absorbing is None


@pytest.mark.parametrize("S, n_envs", [(32, 20), (64, 6), (128, 2)])
def test_random_env_sparsity_matches_the_threshold(S, n_envs):
    # a next state gets non-negligible mass iff its logit exceeds the threshold: P(N(0,1) > t)
    rng = np.random.default_rng(S)
    taus = np.stack([random_env(S, 4, GAMMA, rng).tau for _ in range(n_envs)])
    frac = np.mean(taus > 1e-6)
    p = normal.sf(transition_threshold(S))  # a logit above the threshold
    q = (1 - p) ** S  # a row with none: uniform, all S entries count
    want = p + q
    n_rows = taus.size // S
    se = np.sqrt((p * (1 - p) / S + q * (1 - q)) / n_rows)
    assert abs(frac - want) < 5 * se, (frac, want)
    assert abs(frac - p) < 0.015  # spec §9: "about 16% of next states" for nS = 32
    # negligible entries are exp(-20 - max) / Z: below 2.1e-9
    assert taus[taus <= 1e-6].max() < 2.1e-9


def test_random_env_is_seeded_and_episodic_variant_absorbs():
    a = random_env(16, 3, GAMMA, np.random.default_rng(5))
    b = random_env(16, 3, GAMMA, np.random.default_rng(5))
    np.testing.assert_array_equal(a.tau, b.tau)
    env = random_env(16, 3, GAMMA, np.random.default_rng(5), episodic=True)
    s = env.absorbing
    assert 0 <= s < 16
    np.testing.assert_array_equal(env.tau[s, :, s], 1.0)
    np.testing.assert_allclose(env.tau.sum(-1), 1.0, atol=1e-12)


def test_random_env_validation():
    with pytest.raises(ParamError, match="random_env: gamma"):
        random_env(8, 2, 1.0, 0)
    with pytest.raises(ParamError, match="n_states"):
        random_env(1, 2, 0.9, 0)
    with pytest.raises(TypeError, match="rng"):
        random_env(8, 2, 0.9, "seed")


# ---------------------------------------------------------------------------------------------------
# random_reward


def test_random_reward_mixture_frequencies():
    rng = np.random.default_rng(11)
    N = 3000
    infos = [random_reward(4, 2, rng, gamma=GAMMA, return_info=True)[1] for _ in range(N)]
    freq = {k: np.mean([f(i) for i in infos]) for k, f in
            {"sparse": lambda i: i["sparse"], "scaled": lambda i: i["scale"] != 1.0,
             "shifted": lambda i: i["shift"] != 0.0, "shaped": lambda i: i["phi"] is not None}.items()}
    want = {"sparse": 0.2, "scaled": 0.7, "shifted": 0.3, "shaped": 0.5}
    for k, p in want.items():
        assert abs(freq[k] - p) < 4 * np.sqrt(p * (1 - p) / N), (k, freq[k])
    scales = np.array([i["scale"] for i in infos if i["scale"] != 1.0])
    shifts = np.array([i["shift"] for i in infos if i["shift"] != 0.0])
    assert 0 <= scales.min() and scales.max() <= 10 and abs(scales.mean() - 5) < 0.4
    assert 0 <= shifts.min() and shifts.max() <= 10 and abs(shifts.mean() - 5) < 0.6


def test_random_reward_components_compose_as_documented():
    S, A = 6, 3
    off = dict(sparse=False, scaled=False, shifted=False, shaped=False)
    base = random_reward(S, A, 3, gamma=GAMMA, **off)
    R, info = random_reward(S, A, 3, gamma=GAMMA, sparse=False, scaled=True, shifted=True, shaped=True,
                            return_info=True)
    phi = info["phi"]
    expect = base * info["scale"] + info["shift"] + GAMMA * phi[None, None, :] - phi[:, None, None]
    np.testing.assert_allclose(R, expect, rtol=0, atol=1e-12)
    assert 0 < info["scale"] < 10 and 0 < info["shift"] < 10


def test_sparse_rewards_keep_only_large_entries():
    rng = np.random.default_rng(2)
    off = dict(scaled=False, shifted=False, shaped=False)
    Rs = np.stack([random_reward(32, 4, rng, gamma=GAMMA, sparse=True, **off) for _ in range(40)])
    nz = Rs[Rs != 0]
    assert nz.min() > 3.0  # one-sided: entries above 3 (n_states < 50)
    p = normal.sf(3.0)
    assert abs(nz.size / Rs.size - p) < 5 * np.sqrt(p / Rs.size)


def test_state_only_rewards_depend_on_the_next_state_only():
    R = random_reward(8, 3, np.random.default_rng(4), state_only=True, gamma=GAMMA, shaped=False)
    assert np.all(R == R[:1, :1, :])
    Rs = random_reward(8, 3, np.random.default_rng(4), state_only=True, gamma=GAMMA, sparse=True, scaled=False,
                       shifted=False, shaped=False)
    assert np.all((Rs == 0) | (Rs > 1.0))  # state-only threshold is 3 - 2


def test_mixture_keeps_the_policy_ordering():
    # scaling by 10 U > 0, shifting and shaping never change the ordering: label 0 against the base
    env = random_env(10, 3, GAMMA, np.random.default_rng(8))
    for seed in range(6):
        base = random_reward(10, 3, seed, gamma=GAMMA, sparse=False, scaled=False, shifted=False, shaped=False)
        R = random_reward(10, 3, seed, gamma=GAMMA, sparse=False, scaled=True, shifted=True, shaped=True)
        lab = regret_labels(base, R, env.tau, GAMMA, env.mu0)
        assert lab.label == 0.0 and lab.regret1 == 0.0 and lab.regret2 == 0.0


def test_random_reward_needs_gamma_and_validates():
    with pytest.raises(TypeError, match="gamma"):
        random_reward(4, 2, 0)
    with pytest.raises(TypeError, match="sparse"):
        random_reward(4, 2, 0, gamma=0.9, sparse="yes")


# ---------------------------------------------------------------------------------------------------
# interpolated_pairs


def test_interpolated_pairs():
    rng = np.random.default_rng(0)
    R1, R2 = rng.standard_normal((2, 3, 5, 2, 5))
    Ri = interpolated_pairs(R1, R2, steps=16)
    assert Ri.shape == (3, 16, 5, 2, 5)
    np.testing.assert_allclose(Ri[:, -1], R2, atol=1e-14)
    np.testing.assert_allclose(Ri[:, 3], R1 + (R2 - R1) * 4 / 16, atol=1e-14)
    np.testing.assert_allclose(interpolated_pairs(R1[0], R2[0], 4)[0], R1[0] + (R2[0] - R1[0]) / 4, atol=1e-14)
    with pytest.raises(ParamError, match="R2"):
        interpolated_pairs(R1, R2[:2])
    with pytest.raises(ParamError, match="steps"):
        interpolated_pairs(R1, R2, steps=0)


# ---------------------------------------------------------------------------------------------------
# regret_labels


def _brute_force_labels(R1, Ri, tau, gamma, mu0):
    """Enumerate every deterministic policy; J by a direct linear solve (independent of core.mdp)."""
    S, A = tau.shape[:2]
    pols = list(itertools.product(range(A), repeat=S))

    def J(R):
        r = (tau * R).sum(-1)
        out = []
        for pol in pols:
            P = tau[np.arange(S), pol]
            V = np.linalg.solve(np.eye(S) - gamma * P, r[np.arange(S), pol])
            out.append(mu0 @ V)
        return np.array(out)

    def ratio(num, den, J):  # 0/0 -> 0 (J constant up to rounding)
        return 0.0 if den <= 1e-12 * np.abs(J).max() else num / den

    J1, Ji = J(R1), J(Ri)
    p1, w1, pi, wi = np.argmax(J1), np.argmin(J1), np.argmax(Ji), np.argmin(Ji)
    reg1 = ratio(J1[p1] - J1[pi], J1[p1] - J1[w1], J1)
    reg2 = ratio(Ji[pi] - Ji[p1], Ji[pi] - Ji[wi], Ji)
    return np.clip((reg1 + reg2) / 2, 0, 1), reg1, reg2


@pytest.mark.parametrize("S, A", [(3, 2), (4, 3), (5, 2)])
def test_regret_labels_match_brute_force_enumeration(S, A):
    rng = np.random.default_rng(100 + S * A)
    for _ in range(4):
        env = random_env(S, A, 0.9, rng)
        tau = 0.5 * env.tau + 0.5 * rng.dirichlet(np.ones(S), size=(S, A))  # denser: more distinct J
        # not sparse: at these sizes a sparse reward is all zeros, and R_steps = R2 + rounding
        R1 = random_reward(S, A, rng, gamma=0.9, sparse=False)
        R2 = random_reward(S, A, rng, gamma=0.9, sparse=False)
        Ri = interpolated_pairs(R1, R2, steps=5)
        mu0 = rng.dirichlet(np.ones(S))
        lab = regret_labels(R1, Ri, tau, 0.9, mu0)
        for k in range(5):
            want, r1, r2 = _brute_force_labels(R1, Ri[k], tau, 0.9, mu0)
            assert lab.label[k] == pytest.approx(want, abs=1e-9)
            assert lab.regret1[k] == pytest.approx(r1, abs=1e-9)
            assert lab.regret2[k] == pytest.approx(r2, abs=1e-9)


def test_label_zero_for_equivalent_rewards_and_one_for_negation():
    rng = np.random.default_rng(7)
    env = random_env(16, 4, GAMMA, rng)
    S, A = 16, 4
    R = rng.standard_normal((S, A, S))
    phi = 5 * rng.standard_normal(S)
    shaped = 2.5 * R + 3.0 + GAMMA * phi[None, None, :] - phi[:, None, None]
    X = rng.standard_normal((S, A, S))  # S'-redistribution: E_tau X = 0 for every (s, a)
    X -= (env.tau * X).sum(-1, keepdims=True)
    copies = np.stack([R, shaped, 0.01 * R, R + X, shaped + 7 * X])
    lab = regret_labels(R, copies, env.tau, GAMMA, env.mu0)
    np.testing.assert_array_equal(lab.label, 0.0)
    neg = regret_labels(R, np.stack([-R, -3 * shaped]), env.tau, GAMMA, env.mu0)
    np.testing.assert_allclose(neg.label, 1.0, atol=1e-12)
    np.testing.assert_allclose(neg.regret1, 1.0, atol=1e-12)


def test_trivial_rewards_give_zero_not_nan():
    rng = np.random.default_rng(3)
    env = random_env(8, 2, GAMMA, rng)
    phi = rng.standard_normal(8)
    trivial = 4.0 + GAMMA * phi[None, None, :] - phi[:, None, None] + np.zeros((8, 2, 8))
    R = rng.standard_normal((8, 2, 8))
    lab = regret_labels(np.stack([trivial, R, np.zeros_like(R)]), np.stack([R, trivial, np.zeros_like(R)]),
                        env.tau, GAMMA, env.mu0)
    np.testing.assert_array_equal(lab.regret1[[0, 2]], 0.0)  # 0/0 -> 0
    np.testing.assert_array_equal(lab.regret2[[1, 2]], 0.0)
    assert np.all(np.isfinite(lab.label)) and np.all((lab.label >= 0) & (lab.label <= 1))


def test_near_trivial_reward_keeps_its_ordering():
    # a reward whose J varies by 1e-10 of its size (offset and shaping dominate): still label 0 against
    # a rescaled copy, and 1 against its negation
    rng = np.random.default_rng(9)
    env = random_env(12, 3, GAMMA, rng)
    phi = 10 * rng.standard_normal(12)
    tiny = 1e-9 * rng.standard_normal((12, 3, 12))
    R = tiny + 8.0 + GAMMA * phi[None, None, :] - phi[:, None, None]
    lab = regret_labels(R, np.stack([1e9 * tiny, -1e9 * tiny]), env.tau, GAMMA, env.mu0)
    np.testing.assert_allclose(lab.label, [0.0, 1.0], atol=1e-4)


def test_regret_labels_broadcast_r1_once_per_draw():
    env, R1, Ri = protocol_mdp(mdp_seed(1, 0, 0, 0), 10, 3, GAMMA, 3, 4)
    assert R1.shape == (3, 10, 3, 10) and Ri.shape == (3, 4, 10, 3, 10)
    lab = regret_labels(R1[:, None], Ri, env.tau, GAMMA, env.mu0)
    assert lab.label.shape == (3, 4)
    for d in range(3):
        one = regret_labels(R1[d], Ri[d], env.tau, GAMMA, env.mu0)
        # rounding differs with the batch shape: a near-tie may pick another optimal policy
        np.testing.assert_allclose(one.label, lab.label[d], atol=1e-7)


def test_regret_labels_validation():
    env = random_env(4, 2, GAMMA, 0)
    R = np.zeros((4, 2, 4))
    bad = env.tau.copy()
    bad[1, 0, 0] += 0.1
    with pytest.raises(ParamError, match=r"regret_labels: tau\[1, 0, :\]"):
        regret_labels(R, R, bad, GAMMA, env.mu0)
    with pytest.raises(ParamError, match="Ri must be an array of shape"):
        regret_labels(R, np.zeros((4, 3, 4)), env.tau, GAMMA, env.mu0)
    with pytest.raises(ParamError, match="gamma"):
        regret_labels(R, R, env.tau, 1.0, env.mu0)
    with pytest.raises(ParamError, match="mu0"):
        regret_labels(R, R, env.tau, GAMMA, np.ones(4))
    with pytest.raises(ParamError, match="broadcast"):
        regret_labels(np.zeros((2, 4, 2, 4)), np.zeros((3, 4, 2, 4)), env.tau, GAMMA, env.mu0)
    with pytest.raises(ParamError, match="finite"):
        regret_labels(R + np.nan, R, env.tau, GAMMA, env.mu0)


# ---------------------------------------------------------------------------------------------------
# Seeding


def test_mdp_streams_depend_only_on_their_key():
    a = protocol_mdp(mdp_seed(42, 0, 0, 5), 8, 2, GAMMA, 2, 3)
    b = protocol_mdp(mdp_seed(42, 0, 0, 5), 8, 2, GAMMA, 2, 3)
    c = protocol_mdp(mdp_seed(42, 0, 0, 6), 8, 2, GAMMA, 2, 3)
    np.testing.assert_array_equal(a[0].tau, b[0].tau)
    np.testing.assert_array_equal(a[2], b[2])
    assert not np.array_equal(a[0].tau, c[0].tau)
    assert mdp_seed(42, 1, 2, 3).spawn_key == (1, 2, 3)
