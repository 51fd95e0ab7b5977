"""Delivery domain, segments and the two preference models (specs/regret-preference.md §2-4, §10)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regretlab.core import mdp as core_mdp
from regretlab.core.validate import ParamError
from regretlab.preference import domain
from regretlab.preference.domain import delivery_mdp, random_delivery_mdp, tabular_mdp
from regretlab.preference.models import label_pairs, partial_return, preference_probability, regret, regret_expected
from regretlab.preference.reference import regret_from_rollout
from regretlab.preference.segments import (
    _unrank_pairs,
    enumerate_segments,
    pair_count,
    sample_pairs,
    segments_from_actions,
)
from regretlab_envs import gridworld as gw


@pytest.fixture(scope="module")
def board():
    return delivery_mdp()


def test_delivery_board_sizes_and_values(board):
    assert board.n_states == 100 and board.starts.size == 92 and board.deterministic
    opt = board.optimal(board.r_true)
    # independent solve: value iteration to 1e-10 (sup-norm stopping) against policy iteration
    vi = core_mdp.value_iteration(board.P, board.r_true, board.gamma, tol=1e-10, stopping="sup")
    np.testing.assert_allclose(vi.V, opt.V, atol=1e-9)
    V = opt.V.reshape(10, 10)
    assert V[8, 9] == 0.0 and V[2, 2] == 0.0  # goal and a sheep: absorbing
    # next to the goal: one step into it pays +50
    assert V[7, 9] == pytest.approx(50.0) and V[9, 9] == pytest.approx(50.0)
    # two steps away, through the brick cell (7, 9): -2 + gamma * 50
    assert V[6, 9] == pytest.approx(-2 + 0.999 * 50)
    assert np.all(opt.advantage <= 1e-9)
    assert np.allclose(opt.advantage.max(-1), 0.0, atol=1e-9)


def test_transitions_agree_with_the_environment(board):
    W = 10
    for s in board.starts:
        r, c = divmod(int(s), W)
        for a in range(4):
            r2, c2, phi, term = gw.step_cell(gw.DELIVERY_BOARD_10X10, r, c, a)
            assert board.next_state[s, a, 0] == r2 * W + c2
            np.testing.assert_array_equal(board.features[s, a, 0], phi)
            assert board.terminal[r2 * W + c2] == term
    env = gw.DeliveryGridworldEnv(max_steps=50)
    obs, _ = env.reset(seed=3)
    rng = np.random.default_rng(0)
    s = int(obs)
    for _ in range(50):
        a = int(rng.integers(4))
        obs, rew, term, trunc, info = env.step(a)
        assert rew == pytest.approx(board.r_true[s, a]) and obs == board.next_state[s, a, 0]
        s = int(obs)
        if term or trunc:
            break


def test_random_generator_follows_the_authors_lists():
    for i in range(30):
        board, w = domain.random_delivery_board(np.random.default_rng(i))
        H, W = board.shape
        assert H in domain.RANDOM_HEIGHTS and W in domain.RANDOM_WIDTHS
        assert (board == 1).sum() == 1 and set(np.unique(board)) <= {0, 1, 3, 4, 5}
        assert w[0] == -1 and w[1] in domain.GOAL_REWARDS and w[2] in domain.SHEEP_REWARDS and w[3] == 1
        assert w[4] in domain.ROADBLOCK_REWARDS and w[5] in domain.BRICK_REWARDS
        n = H * W
        allowed_sheep = {int(f * n) for f in domain.SHEEP_FRACTIONS}
        assert (board == 3).sum() in allowed_sheep | {k - 1 for k in allowed_sheep}  # the goal may overwrite one
    m = random_delivery_mdp(np.random.default_rng(5), height=3, width=5)
    assert m.board.shape == (3, 5)
    with pytest.raises(ParamError, match="height"):
        domain.random_delivery_board(np.random.default_rng(0), height=0)


def test_same_seed_same_board():
    a = domain.random_delivery_board(np.random.default_rng(7))
    state = np.random.get_state()
    try:                                   # the board comes from the given generator only, not the global state
        np.random.seed(99)
        np.random.random(5)
        b = domain.random_delivery_board(np.random.default_rng(7))
    finally:
        np.random.set_state(state)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    c = domain.random_delivery_board(np.random.default_rng(8))
    assert not (np.array_equal(a[0], c[0]) and np.array_equal(a[1], c[1]))  # and it does depend on the seed


def test_segments_and_pairs(board):
    segs = enumerate_segments(board, 3, unique=False)
    assert segs.n == 92 * 64
    u = enumerate_segments(board, 3)
    assert 1000 < u.n < segs.n
    # rollouts by hand: from (9, 0) right, right, up
    s0 = 90
    one = segments_from_actions(board, [s0], [[3, 3, 0]])
    assert list(one.states[0]) == [90, 91, 92, 82]
    np.testing.assert_array_equal(one.phi[0], [3, 0, 0, 0, 1, 0])  # (8, 2) is a roadblock
    np.testing.assert_allclose(one.phi_disc[0], [1 + 0.999 + 0.999**2, 0, 0, 0, 0.999**2, 0])
    # after the goal the steps are absorbing: (7, 9) down -> goal, then nothing
    g = segments_from_actions(board, [79], [[1, 0, 0]])
    assert list(g.states[0]) == [79, 89, 89, 89] and g.n_live[0] == 1
    np.testing.assert_array_equal(g.phi[0], [0, 1, 0, 0, 0, 0])
    # unranking is a bijection onto i < j
    r = np.arange(pair_count(60))
    i, j = _unrank_pairs(r)
    assert np.all(i < j) and np.all(j * (j - 1) // 2 + i == r)
    pairs = sample_pairs(u.n, 5000, np.random.default_rng(1))
    assert len({tuple(p) for p in pairs}) == 5000 and np.all(pairs[:, 0] < pairs[:, 1])
    small = sample_pairs(4, 10, np.random.default_rng(2))  # 6 pairs exist: all of them, then 4 more
    assert len({tuple(p) for p in small[:6]}) == 6 and small.shape == (10, 2)


def test_zero_regret_of_optimal_actions(board):
    """Spec §10 item 1: single transitions along optimal actions have regret 0 (one gamma everywhere)."""
    segs = enumerate_segments(board, 1)
    opt = board.optimal(board.r_true)
    rg = regret(segs, board.w_true, board, opt)
    is_opt = opt.advantage[segs.start, segs.actions[:, 0]] >= -1e-9
    assert is_opt.any() and np.all(np.abs(rg[is_opt]) < 1e-9) and np.all(rg[~is_opt] > 1e-6)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000))
def test_regret_forms_agree(seed):
    """Spec §10 item 2: regret_d = -sum_t gamma^t A*(s_t, a_t) on random segments of random MDPs."""
    rng = np.random.default_rng(seed)
    m = random_delivery_mdp(rng)
    k = int(rng.integers(1, 5))
    starts = rng.choice(m.starts, size=20)
    segs = segments_from_actions(m, starts, rng.integers(0, 4, size=(20, k)))
    w = rng.normal(size=6) * 5
    opt = m.optimal(m.reward(w))
    np.testing.assert_allclose(regret(segs, w, m, opt), regret_expected(segs, w, m, opt), atol=1e-8)
    for i in range(3):
        assert regret(segs, w, m, opt)[i] == pytest.approx(
            regret_from_rollout(m, segs.states[i], segs.actions[i], w, opt.V), abs=1e-8)


def _tabular_random(rng, S=6, A=3):
    nxt = rng.integers(0, S, size=(S, A))
    term = np.zeros(S, dtype=bool)
    term[-1] = True
    nxt[-1] = S - 1
    return tabular_mdp(nxt, rng.normal(size=(S, A)), term, np.arange(S - 1), gamma=0.9)


def test_shaping_and_advantage_invariance():
    """Spec §10 items 3-4."""
    rng = np.random.default_rng(0)
    m = _tabular_random(rng)
    S, A = m.n_states, m.n_actions
    segs = enumerate_segments(m, 2)
    pairs = sample_pairs(segs.n, 200, rng)
    w = m.w_true
    Phi = rng.normal(size=S)
    Phi[m.terminal] = 0.0
    nxt = m.next_state[:, :, 0]
    shaped = (w.reshape(S, A) + m.gamma * Phi[nxt] - Phi[:, None]) * (~m.terminal)[:, None]
    adv = m.optimal(m.r_true).advantage
    p = preference_probability("regret", segs, pairs, w, m)
    np.testing.assert_allclose(preference_probability("regret", segs, pairs, shaped.reshape(-1), m), p, atol=1e-10)
    np.testing.assert_allclose(preference_probability("regret", segs, pairs, adv.reshape(-1), m), p, atol=1e-10)
    p_pr = preference_probability("partial_return", segs, pairs, w, m)
    assert np.abs(preference_probability("partial_return", segs, pairs, shaped.reshape(-1), m) - p_pr).max() > 1e-3
    # item 4: a constant on every non-absorbing transition leaves PR probabilities unchanged when both
    # segments of a pair have the same number of non-absorbing steps
    const = (w.reshape(S, A) + 2.0 * (~m.terminal)[:, None]).reshape(-1)
    same = segs.n_live[pairs[:, 0]] == segs.n_live[pairs[:, 1]]
    assert same.any() and (~same).any()
    q = preference_probability("partial_return", segs, pairs, const, m)
    np.testing.assert_allclose(q[same], p_pr[same], atol=1e-12)
    assert np.abs(q[~same] - p_pr[~same]).max() > 1e-3


def test_labels():
    z = np.array([3.0, -2.0, 0.0, 1e-12, -1e-12])
    np.testing.assert_array_equal(label_pairs(z, "noiseless"), [1, 0, 0.5, 0.5, 0.5])
    y = label_pairs(np.full(200_000, 1.0), "stochastic", np.random.default_rng(0))
    p = 1 / (1 + math.exp(-1))
    assert set(np.unique(y)) == {0.0, 1.0} and abs(y.mean() - p) < 4 * math.sqrt(p * (1 - p) / y.size)
    with pytest.raises(ParamError, match="noise"):
        label_pairs(z, "noisy")


def test_partial_return_is_undiscounted(board):
    segs = segments_from_actions(board, [90], [[3, 3, 0]])
    assert partial_return(segs, board.w_true)[0] == -4.0  # gas, gas, gas + roadblock


def test_bad_mdp_tables_are_refused():
    nxt = np.array([[1, 1], [1, 1]])
    with pytest.raises(ParamError, match="terminal"):
        tabular_mdp(np.array([[1, 1], [0, 0]]), np.zeros((2, 2)), [False, True], [0], gamma=0.9)
    with pytest.raises(ParamError, match="starts"):
        tabular_mdp(nxt, np.zeros((2, 2)), [False, True], [1], gamma=0.9)
    with pytest.raises(ParamError, match="gamma"):
        tabular_mdp(nxt, np.zeros((2, 2)), [False, True], [0], gamma=1.5)


def test_undiscounted_values_match_enumeration():
    """gamma = 1: backward-induction V* against the best of all proper deterministic policies."""
    from regretlab.preference.identifiability import figure1_corridor

    m = figure1_corridor()[0]
    opt = m.optimal(m.r_true)
    np.testing.assert_allclose(opt.V, [-5, -4, -3, -2, -1, 0])
    pols = core_mdp.all_deterministic_policies(5, 2)
    best = np.full(6, -np.inf)
    for pol in pols:
        full = np.append(pol, 0)
        try:
            V = m.values(m.r_true, full).V
        except ParamError:  # improper: never reaches the goal
            continue
        best = np.maximum(best, V)
    np.testing.assert_allclose(best, opt.V, atol=1e-12)


def test_label_temperature():
    z = np.full(100_000, 2.0)
    hot = label_pairs(z, "stochastic", np.random.default_rng(0), temperature=4.0).mean()
    p = 1 / (1 + math.exp(-0.5))
    assert abs(hot - p) < 4 * math.sqrt(p * (1 - p) / z.size)
    np.testing.assert_array_equal(label_pairs(z, "noiseless", temperature=4.0), 1.0)
    with pytest.raises(ParamError, match="temperature"):
        label_pairs(z, "stochastic", np.random.default_rng(0), temperature=0.0)
