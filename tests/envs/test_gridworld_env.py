"""Tests of the delivery gridworld of ``regretlab_envs.gridworld`` (specs/regret-preference.md §3.1, §3.2, §7)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import regretlab_envs
from regretlab_envs import gridworld
from regretlab_envs.gridworld import (
    ACTION_NAMES,
    ACTIONS,
    BRICK_CODES,
    CORRIDOR_4X1,
    DELIVERY_BOARD_10X10,
    FEATURE_NAMES,
    HOUSE_CODES,
    TERMINAL_CODES,
    TRUE_WEIGHTS,
    DeliveryGridworldEnv,
    cell_features,
    check_board,
    start_cells,
    step_cell,
    transition_tables,
)

GRID_IDS = ("regretlab/DeliveryGridworld-v0", "regretlab/DeliveryCorridor-v0")
UP, DOWN, LEFT, RIGHT = range(4)
W_TRUE = np.array(TRUE_WEIGHTS)


def _phi(*names: str) -> list[float]:
    return [1.0 if n in names else 0.0 for n in FEATURE_NAMES]


# ----------------------------------------------------------------------------------- constants, registration
def test_constants():
    assert FEATURE_NAMES == ("gas", "goal", "sheep", "coin", "roadblock", "brick")
    assert ACTIONS == ((-1, 0), (1, 0), (0, -1), (0, 1))
    assert ACTION_NAMES == ("up", "down", "left", "right")
    assert TRUE_WEIGHTS == (-1.0, 50.0, -50.0, 1.0, -1.0, -2.0)
    assert TERMINAL_CODES == frozenset({1, 3, 7, 9})
    assert HOUSE_CODES == frozenset({2, 8})
    assert BRICK_CODES == frozenset({6, 7, 8, 9, 10, 11})
    assert CORRIDOR_4X1 == ((1,), (0,), (0,), (3,))


@pytest.mark.parametrize("env_id", GRID_IDS)
def test_registered_with_string_entry_points_and_check_env(env_id):
    assert env_id in regretlab_envs.ENV_IDS and env_id in gym.registry
    spec = gym.registry[env_id]
    assert spec.entry_point == "regretlab_envs.gridworld:DeliveryGridworldEnv"
    assert spec.max_episode_steps is None  # the env truncates itself
    for render_mode in (None, "ansi"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            env = gym.make(env_id, disable_env_checker=True, render_mode=render_mode).unwrapped
            check_env(env)
            env.close()


def test_registered_boards_and_lazy_attributes():
    grid = gym.make("regretlab/DeliveryGridworld-v0").unwrapped
    corridor = gym.make("regretlab/DeliveryCorridor-v0").unwrapped
    assert grid.board.tolist() == [list(r) for r in DELIVERY_BOARD_10X10]
    assert corridor.board.tolist() == [list(r) for r in CORRIDOR_4X1]
    assert gym.registry["regretlab/DeliveryCorridor-v0"].kwargs["board"] == CORRIDOR_4X1
    np.testing.assert_array_equal(grid.weights, TRUE_WEIGHTS)
    assert grid.max_steps == 100 and grid.start is None
    assert regretlab_envs.DeliveryGridworldEnv is DeliveryGridworldEnv
    assert regretlab_envs.gridworld is gridworld


def test_import_needs_neither_regretlab_nor_numba_nor_torch():
    code = (
        "import sys, gymnasium as gym\n"
        "import regretlab_envs.gridworld as g\n"
        "g.transition_tables(g.DELIVERY_BOARD_10X10)\n"
        "for i in ('regretlab/DeliveryGridworld-v0', 'regretlab/DeliveryCorridor-v0'):\n"
        "    e = gym.make(i, render_mode='ansi'); e.reset(seed=0); e.step(0); e.render()\n"
        "bad = sorted(m for m in ('regretlab', 'numba', 'torch') if m in sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# ----------------------------------------------------------------------------------- the 10x10 board
def test_delivery_board_counts_and_start_cells():
    board = check_board(DELIVERY_BOARD_10X10)
    assert board.shape == (10, 10) and board.dtype == np.int64 and not board.flags.writeable
    counts = {code: int((board == code).sum()) for code in range(12)}
    assert counts[2] + counts[8] == 3  # houses
    assert counts[3] + counts[9] == 4  # sheep
    assert counts[1] + counts[7] == 1 and board[8, 9] == 7  # the goal: brick + goal at (8, 9)
    assert board[7, 7] == 10
    starts = start_cells(DELIVERY_BOARD_10X10)
    assert starts.shape == (92, 2) and starts.dtype == np.int64
    assert [tuple(x) for x in starts.tolist()] == sorted(tuple(x) for x in starts.tolist())  # row-major
    excluded = {(r, c) for r in range(10) for c in range(10)} - {tuple(x) for x in starts.tolist()}
    assert excluded == {(3, 4), (6, 1), (6, 5), (2, 2), (3, 5), (3, 6), (6, 3), (8, 9)}
    assert start_cells(CORRIDOR_4X1).tolist() == [[1, 0], [2, 0]]


# ----------------------------------------------------------------------------------- transition rules
@pytest.mark.parametrize(
    "cell, action, nxt, names, terminal, reward",
    [
        ((0, 0), UP, (0, 0), ("gas",), False, -1),  # off the grid from a blank cell
        ((0, 0), LEFT, (0, 0), ("gas",), False, -1),
        ((1, 3), RIGHT, (1, 4), ("gas", "coin"), False, 0),  # enter a coin
        ((0, 1), RIGHT, (0, 2), ("gas", "roadblock"), False, -2),  # enter a roadblock
        ((1, 8), RIGHT, (1, 9), ("brick",), False, -2),  # enter brick
        ((7, 6), RIGHT, (7, 7), ("brick", "coin"), False, -1),  # enter brick + coin
        ((7, 9), DOWN, (8, 9), ("goal",), True, 50),  # enter brick + goal
        ((2, 1), RIGHT, (2, 2), ("sheep",), True, -50),  # enter a sheep
        ((4, 5), UP, (3, 5), ("sheep",), True, -50),
        ((3, 3), RIGHT, (3, 3), ("gas",), False, -1),  # into a house from a blank cell: stay
        ((6, 0), RIGHT, (6, 0), ("brick",), False, -2),  # into a house from a brick cell (code rule, spec §3.1)
        ((6, 0), LEFT, (6, 0), ("brick",), False, -2),  # off the grid from a brick cell
        ((7, 7), LEFT, (7, 6), ("gas",), False, -1),  # leaving brick + coin onto blank
        ((3, 0), LEFT, (3, 0), ("gas",), False, -1),  # bump on a coin pays -1, not 0
        ((9, 9), DOWN, (9, 9), ("gas",), False, -1),
        ((9, 6), DOWN, (9, 6), ("gas",), False, -1),  # bump on a roadblock pays -1, not -2
        ((5, 0), UP, (4, 0), ("brick",), False, -2),
        ((4, 1), DOWN, (5, 1), ("gas",), False, -1),
    ],
)
def test_hand_computed_transitions(cell, action, nxt, names, terminal, reward):
    r, c, phi, done = step_cell(DELIVERY_BOARD_10X10, *cell, action)
    assert (r, c) == nxt and done is terminal
    assert phi.dtype == np.float64 and phi.tolist() == _phi(*names)
    assert float(W_TRUE @ phi) == reward
    env = DeliveryGridworldEnv(start=cell)
    obs, info = env.reset(seed=0)
    assert obs == cell[0] * 10 + cell[1] and (info["row"], info["col"]) == cell
    obs, rew, term, trunc, info = env.step(action)
    assert obs == nxt[0] * 10 + nxt[1] and rew == reward and term is terminal and trunc is False
    assert (info["row"], info["col"]) == nxt and info["features"].tolist() == _phi(*names)
    assert info["cell_code"] == DELIVERY_BOARD_10X10[nxt[0]][nxt[1]] and info["t"] == 1


def test_brick_variants_and_cell_features():
    # row 0: brick + roadblock, brick + sheep, brick + house, brick + coin; row 1: roadblock, blank, brick, coin
    board = ((11, 9, 8, 10), (5, 0, 6, 4))
    assert step_cell(board, 1, 0, UP)[2].tolist() == _phi("brick", "roadblock")
    r, c, phi, done = step_cell(board, 1, 1, UP)
    assert (r, c, phi.tolist(), done) == (0, 1, _phi("sheep"), True)
    r, c, phi, done = step_cell(board, 1, 2, UP)  # into brick + house from a plain brick cell: stay, brick
    assert (r, c, phi.tolist(), done) == (1, 2, _phi("brick"), False)
    r, c, phi, done = step_cell(board, 0, 3, LEFT)  # from brick + coin into brick + house: stay, brick only
    assert (r, c, phi.tolist(), done) == (0, 3, _phi("brick"), False)
    r, c, phi, done = step_cell(board, 0, 0, UP)  # bump on brick + roadblock: brick only
    assert (r, c, phi.tolist(), done) == (0, 0, _phi("brick"), False)
    r, c, phi, done = step_cell(board, 1, 0, DOWN)  # bump on a roadblock: gas only
    assert (r, c, phi.tolist(), done) == (1, 0, _phi("gas"), False)
    expected = {
        0: ("gas",),
        1: ("goal",),
        3: ("sheep",),
        4: ("gas", "coin"),
        5: ("gas", "roadblock"),
        6: ("brick",),
        7: ("goal",),
        9: ("sheep",),
        10: ("brick", "coin"),
        11: ("brick", "roadblock"),
    }
    rewards = {0: -1, 1: 50, 3: -50, 4: 0, 5: -2, 6: -2, 7: 50, 9: -50, 10: -1, 11: -3}  # spec §3.1 table
    for code, names in expected.items():
        phi = cell_features(code)
        assert phi.dtype == np.float64 and phi.tolist() == _phi(*names)
        assert float(W_TRUE @ phi) == rewards[code]
    phi = cell_features(4)
    phi[0] = 9.0
    assert cell_features(4)[0] == 1.0  # a fresh array each call


def test_transition_tables_agree_with_step_cell_on_delivery_board():
    next_state, features, terminal, passable = transition_tables(DELIVERY_BOARD_10X10)
    assert next_state.shape == (100, 4) and next_state.dtype == np.int64
    assert features.shape == (100, 4, 6) and features.dtype == np.float64
    assert terminal.shape == passable.shape == (100,) and terminal.dtype == passable.dtype == np.bool_
    assert int(terminal.sum()) == 5 and int((~passable).sum()) == 3
    starts = start_cells(DELIVERY_BOARD_10X10)
    live = passable & ~terminal
    assert np.flatnonzero(live).tolist() == (starts[:, 0] * 10 + starts[:, 1]).tolist()
    for r, c in starts.tolist():
        s = r * 10 + c
        for a in range(4):
            r2, c2, phi, done = step_cell(DELIVERY_BOARD_10X10, r, c, a)
            assert next_state[s, a] == r2 * 10 + c2
            np.testing.assert_array_equal(features[s, a], phi)
            assert terminal[next_state[s, a]] == done
    for s in np.flatnonzero(~live):
        assert next_state[s].tolist() == [s] * 4
        assert not features[s].any()


@pytest.mark.parametrize("seed", range(8))
def test_transition_tables_agree_with_step_cell_on_random_boards(seed):
    rng = np.random.default_rng(seed)
    h, w = (int(x) for x in rng.integers(1, 7, size=2))
    board = rng.integers(0, 12, size=(h, w))
    board[rng.integers(h), rng.integers(w)] = rng.choice([0, 4, 5, 6, 10, 11])  # at least one start cell
    next_state, features, terminal, passable = transition_tables(board)
    for s in range(h * w):
        r, c = divmod(s, w)
        code = int(board[r, c])
        assert terminal[s] == (code in TERMINAL_CODES) and passable[s] == (code not in HOUSE_CODES)
        for a in range(4):
            if terminal[s] or not passable[s]:
                assert next_state[s, a] == s and not features[s, a].any()
                with pytest.raises(ValueError, match="neither terminal nor a house"):
                    step_cell(board, r, c, a)
                continue
            r2, c2, phi, _ = step_cell(board, r, c, a)
            assert next_state[s, a] == r2 * w + c2
            np.testing.assert_array_equal(features[s, a], phi)


# ----------------------------------------------------------------------------------- episodes
def test_corridor_episodes_and_truncation():
    env = gym.make("regretlab/DeliveryCorridor-v0", start=(2, 0)).unwrapped
    env.reset(seed=0)
    steps = [env.step(UP) for _ in range(2)]  # (2, 0) -> (1, 0) -> goal (0, 0)
    assert [s[0] for s in steps] == [1, 0] and [s[1] for s in steps] == [-1.0, 50.0]
    assert [s[2] for s in steps] == [False, True] and not any(s[3] for s in steps)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(UP)
    env.reset(seed=0)
    assert env.step(DOWN)[1:3] == (-50.0, True)

    env = DeliveryGridworldEnv(CORRIDOR_4X1, max_steps=3, start=(1, 0))
    env.reset(seed=0)
    out = [env.step(LEFT) for _ in range(3)]  # bumps: never terminates
    assert [(o[2], o[3]) for o in out] == [(False, False), (False, False), (False, True)]
    assert [o[4]["t"] for o in out] == [1, 2, 3] and all(o[1] == -1.0 for o in out)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(LEFT)
    env.reset()
    assert env.t == 0 and env.position == (1, 0)
    env = DeliveryGridworldEnv(CORRIDOR_4X1, max_steps=1, start=(1, 0))
    env.reset(seed=0)
    assert env.step(UP)[2:4] == (True, False)  # termination on the last step is not a truncation


def test_seeded_episode_is_reproducible_and_follows_the_tables():
    next_state, features, terminal, _ = transition_tables(DELIVERY_BOARD_10X10)
    actions = np.random.default_rng(3).integers(0, 4, 200).tolist()

    def play(seed):
        env = gym.make("regretlab/DeliveryGridworld-v0", max_steps=50)
        obs, info = env.reset(seed=seed)
        trace = [(obs, info["row"], info["col"], info["cell_code"])]
        for a in actions:
            nxt, reward, term, trunc, info = env.step(a)
            assert nxt == next_state[obs, a] and term == terminal[nxt]
            np.testing.assert_array_equal(info["features"], features[obs, a])
            assert reward == float(W_TRUE @ features[obs, a])
            trace.append((nxt, reward, term, trunc, info["t"]))
            obs = nxt
            if term or trunc:
                break
        return trace

    first = play(123)
    assert first == play(123)
    assert len({play(s)[0] for s in range(20)}) > 1  # the start is drawn from the seed


def test_uniform_start_distribution():
    env = DeliveryGridworldEnv()
    env.reset(seed=0)
    n = 9200
    counts = np.zeros(100, dtype=np.int64)
    for _ in range(n):
        obs, info = env.reset()
        counts[obs] += 1
        assert info["t"] == 0 and not info["features"].any()
    starts = start_cells(DELIVERY_BOARD_10X10)
    idx = starts[:, 0] * 10 + starts[:, 1]
    assert counts[idx].sum() == n  # never a terminal or house cell
    assert counts[idx].min() > 50 and counts[idx].max() < 150  # mean 100, sd ~ 10


def test_info_arrays_are_fresh_and_state_is_exposed():
    env = DeliveryGridworldEnv(start=(7, 6))
    _, info0 = env.reset(seed=0)
    _, _, _, _, info1 = env.step(RIGHT)
    assert info1["features"] is not info0["features"]
    info1["features"][:] = 7.0
    _, _, _, _, info2 = env.step(LEFT)
    assert info2["features"].tolist() == _phi("gas")
    assert env.position == (7, 6) and env.t == 2 and env.height == env.width == 10 and env.n_states == 100
    assert env.observation_space == gym.spaces.Discrete(100) and env.action_space == gym.spaces.Discrete(4)
    with pytest.raises(ValueError):
        env.board[0, 0] = 1
    with pytest.raises(ValueError):
        env.weights[0] = 1.0


def test_custom_weights():
    env = DeliveryGridworldEnv(weights=[0.5, 0, 0, 2.0, 0, 0], start=(1, 3))
    env.reset(seed=0)
    assert env.step(RIGHT)[1] == 2.5  # gas + coin


def test_ansi_render():
    env = gym.make("regretlab/DeliveryGridworld-v0", render_mode="ansi", start=(7, 6))
    text = env.unwrapped.render()
    assert "not reset yet" in text
    env.reset(seed=0)
    env.step(RIGHT)
    text = env.render()
    lines = text.splitlines()
    assert "t = 1/100" in lines[0] and "row 7, col 7" in lines[0] and "brick + coin" in lines[0]
    assert "[C~]" in lines[2 + 7]  # the agent on brick + coin, row 7
    assert text.count("[") == 1 + text.count("[..]")  # one agent marker besides the legend
    assert "legend" in text and "goal" in text and "sheep" in text and "house" in text
    assert "last: right -> features coin + brick, reward -1" in text
    assert "50" not in text  # weights are not rendered
    quiet = DeliveryGridworldEnv()
    quiet.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode"):
        assert quiet.render() is None


# ----------------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "build, exc, pattern",
    [
        (
            lambda: check_board([[0, 12]]),
            ValueError,
            r"check_board: board must hold cell codes in 0\.\.11, got board\[0\]\[1\] = 12",
        ),
        (lambda: check_board([[0, -1]]), ValueError, r"board\[0\]\[1\] = -1"),
        (lambda: check_board([0, 1, 2]), ValueError, r"board must be 2-D.*shape \(3,\)"),
        (lambda: check_board([[0, 1], [0]]), ValueError, r"board must be a rectangular 2-D grid"),
        (lambda: check_board([[0.0, 1.0]]), TypeError, r"board must hold integer cell codes.*float64"),
        (lambda: check_board(np.array([[True]])), TypeError, r"board must hold integer cell codes.*bool"),
        (lambda: check_board("01"), TypeError, r"board must be a 2-D grid"),
        (lambda: check_board(None), TypeError, r"board"),
        (lambda: check_board(np.zeros((0, 3), int)), ValueError, r"board must have at least one row"),
        (
            lambda: check_board([[1, 2, 3, 7, 8, 9]]),
            ValueError,
            r"board must have at least one cell that is neither terminal nor a house",
        ),
        (
            lambda: DeliveryGridworldEnv(board=[[3, 12]]),
            ValueError,
            r"DeliveryGridworldEnv: board must hold cell codes",
        ),
        (
            lambda: DeliveryGridworldEnv(weights=[1, 2, 3, 4, 5]),
            ValueError,
            r"weights must have at least 6 entries, got 5",
        ),
        (lambda: DeliveryGridworldEnv(weights=[0] * 7), ValueError, r"weights must have exactly 6 entries.*got 7"),
        (
            lambda: DeliveryGridworldEnv(weights=[0, 0, float("nan"), 0, 0, 0]),
            ValueError,
            r"weights must be finite.*weights\[2\] = nan",
        ),
        (lambda: DeliveryGridworldEnv(weights="abcdef"), TypeError, r"weights"),
        (lambda: DeliveryGridworldEnv(max_steps=0), ValueError, r"max_steps must be an integer >= 1, got 0"),
        (lambda: DeliveryGridworldEnv(max_steps=2.5), TypeError, r"max_steps must be an integer, got 2.5"),
        (
            lambda: DeliveryGridworldEnv(start=(10, 0)),
            ValueError,
            r"start must be a cell of the 10x10 board, got \(row, col\) = \(10, 0\)",
        ),
        (
            lambda: DeliveryGridworldEnv(start=(2, 2)),
            ValueError,
            r"start must be a cell that is neither terminal nor a house.*cell code 3",
        ),
        (
            lambda: DeliveryGridworldEnv(start=(3, 4)),
            ValueError,
            r"start must be .*neither terminal nor a house.*cell code 2",
        ),
        (lambda: DeliveryGridworldEnv(start=(0, 1.5)), TypeError, r"start\[1\] must be an integer, got 1.5"),
        (lambda: DeliveryGridworldEnv(start=5), TypeError, r"start must be None or a \(row, col\) pair, got 5"),
        (lambda: DeliveryGridworldEnv(start="ab"), TypeError, r"start must be None or a \(row, col\) pair"),
        (lambda: DeliveryGridworldEnv(render_mode="human"), ValueError, r"render_mode.*'human'"),
        (
            lambda: gym.make("regretlab/DeliveryCorridor-v0", start=(0, 0)),
            ValueError,
            r"DeliveryGridworldEnv: start.*cell code 1",
        ),
        (
            lambda: step_cell(DELIVERY_BOARD_10X10, 8, 9, UP),
            ValueError,
            r"step_cell: \(row, col\) must be a cell that is neither terminal nor a house, got \(row, col\) = \(8, 9\)",
        ),
        (lambda: step_cell(DELIVERY_BOARD_10X10, 6, 5, UP), ValueError, r"cell code 2 \(a house\)"),
        (
            lambda: step_cell(DELIVERY_BOARD_10X10, -1, 0, UP),
            ValueError,
            r"step_cell: \(row, col\) must be a cell of the 10x10 board",
        ),
        (lambda: step_cell(DELIVERY_BOARD_10X10, 0, 0, 4), ValueError, r"step_cell: action must be in \[0, 4\).*got 4"),
        (
            lambda: step_cell(DELIVERY_BOARD_10X10, 0, True, 0),
            TypeError,
            r"step_cell: col must be an integer, got True",
        ),
        (lambda: cell_features(2), ValueError, r"cell_features: code must be a passable cell code.*got 2"),
        (lambda: cell_features(12), ValueError, r"got 12"),
        (lambda: cell_features(1.0), TypeError, r"cell_features: code must be an integer"),
        (lambda: start_cells([[1]]), ValueError, r"start_cells: board must have at least one cell"),
        (lambda: transition_tables([[0, 99]]), ValueError, r"transition_tables: board must hold cell codes"),
    ],
)
def test_bad_arguments_raise_naming_the_parameter(build, exc, pattern):
    with pytest.raises(exc, match=pattern):
        build()


def test_step_before_reset_bad_actions_and_options():
    env = DeliveryGridworldEnv(CORRIDOR_4X1, start=(1, 0))
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    env.step(np.int64(LEFT))
    env.step(np.array(RIGHT))
    with pytest.raises(ValueError, match=r"action must be in \[0, 4\).*got 4"):
        env.step(4)
    with pytest.raises(ValueError, match="got -1"):
        env.step(-1)
    for bad in (1.0, True, "1", None, [1]):
        with pytest.raises(TypeError, match="action"):
            env.step(bad)
    with pytest.raises(ValueError, match="options"):
        env.reset(seed=0, options={"start": (2, 0)})
