"""The delivery gridworld of [KNOX24] as a Gymnasium environment (specs/regret-preference.md §3).

A deterministic gridworld whose reward is linear in six transition features. The pure functions below
(``check_board``, ``cell_features``, ``step_cell``, ``start_cells``, ``transition_tables``) are the
rules; ``DeliveryGridworldEnv`` plays them as an episodic ``gymnasium.Env``. Registered as
``regretlab/DeliveryGridworld-v0`` (the 10x10 board, true weights) and ``regretlab/DeliveryCorridor-v0``
(the 4x1 corridor); see ``regretlab_envs/__init__.py``.

Rules (spec §3.1, the authors' ``grid_world.py``)
-------------------------------------------------
* Board: a 2-D grid of integer cell codes, rows top to bottom; the state is the agent's ``(row, col)``.

  ====  ====================  =========================================
  code  cell                  entering it gives the features
  ====  ====================  =========================================
  0     blank road            gas
  1     goal                  goal (terminal)
  2     house                 impassable
  3     sheep                 sheep (terminal)
  4     coin                  gas + coin
  5     roadblock             gas + roadblock
  6     brick ("mud")         brick
  7     brick + goal          goal (terminal)
  8     brick + house         impassable
  9     brick + sheep         sheep (terminal)
  10    brick + coin          brick + coin
  11    brick + roadblock     brick + roadblock
  ====  ====================  =========================================

* Actions: 0 up ``(-1, 0)``, 1 down ``(+1, 0)``, 2 left ``(0, -1)``, 3 right ``(0, +1)`` (``ACTIONS``).
* Features ``phi = [gas, goal, sheep, coin, roadblock, brick]`` (``FEATURE_NAMES``), 0/1 each; the reward of a
  move is ``w . phi``; the true weights of the delivery task are ``w = (-1, 50, -50, 1, -1, -2)``
  (``TRUE_WEIGHTS``).
* The features of a move are those of its **destination** cell (table above).
* A move off the grid or into a house (code 2 or 8) leaves the agent in place. Its features are gas only,
  or brick only when the agent's **current** cell is a brick cell (6, 10 or 11; ``BRICK_CODES`` also holds
  7, 8 and 9, but the agent never stands on those). The coin or roadblock features of the current cell are
  not paid again: bumping while standing on a coin pays -1 under the true weights, not 0.
* Entering a terminal cell (``TERMINAL_CODES`` = 1, 3, 7, 9) ends the episode. Coins are not consumed (the
  state is the position only), so re-entering a coin cell pays again.
* Start distribution: uniform over the start cells, those that are neither terminal nor a house.

Tables for finite-MDP code
--------------------------
``transition_tables(board)`` numbers the states ``s = row * W + col`` over **all** cells (houses included)
and returns ``next_state (S, 4)``, ``features (S, 4, 6)``, ``terminal (S,)`` and ``passable (S,)``. Rows of
terminal and house states are absorbing: ``next_state[s, a] = s`` with zero features (reward 0). Elsewhere
the tables agree with ``step_cell``. The two are computed independently (vectorised vs. one cell at a time).

The environment
---------------
``DeliveryGridworldEnv(board=DELIVERY_BOARD_10X10, weights=TRUE_WEIGHTS, max_steps=100, start=None,
render_mode=None)``:

* observation: ``Discrete(H * W)``, the state ``row * W + col``; action space ``Discrete(4)``;
* reward: ``float(w . phi)`` of the move;
* ``terminated`` when the agent enters a terminal cell; ``truncated`` when ``max_steps`` moves were made
  without termination (the environment truncates itself, so no ``TimeLimit`` wrapper is registered);
  ``step`` after either raises ``RuntimeError``: call ``reset``;
* ``start=None``: each ``reset`` draws the start cell uniformly from ``self.np_random``; a ``(row, col)``
  start cell fixes it;
* ``info`` after ``reset`` and ``step``: ``row``, ``col``, ``cell_code`` (of the agent's current cell),
  ``t`` (moves so far) and ``features`` (the ``(6,)`` float64 features of the last move, zeros after
  ``reset``; a fresh array each time);
* ``render_mode="ansi"``: ``render()`` returns a text map with the agent marked, a legend, the action
  numbers and the last move. The weights are not rendered (they are on ``env.unwrapped.weights``).

Reference: [KNOX24] W. B. Knox, S. Hatgis-Kessell, S. O. Adalgeirsson, S. Booth, A. Dragan, P. Stone,
S. Niekum, "Models of human preference for learning reward functions", TMLR 2024.
"""

from __future__ import annotations

import numbers
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from regretlab_envs._validate import check_choice, check_int, check_vector

__all__ = [
    "ACTIONS",
    "ACTION_NAMES",
    "BRICK_CODES",
    "CORRIDOR_4X1",
    "DELIVERY_BOARD_10X10",
    "FEATURE_NAMES",
    "HOUSE_CODES",
    "TERMINAL_CODES",
    "TRUE_WEIGHTS",
    "DeliveryGridworldEnv",
    "cell_features",
    "check_board",
    "start_cells",
    "step_cell",
    "transition_tables",
]

FEATURE_NAMES: tuple[str, ...] = ("gas", "goal", "sheep", "coin", "roadblock", "brick")
ACTIONS: tuple[tuple[int, int], ...] = ((-1, 0), (1, 0), (0, -1), (0, 1))
ACTION_NAMES: tuple[str, ...] = ("up", "down", "left", "right")
TRUE_WEIGHTS: tuple[float, ...] = (-1.0, 50.0, -50.0, 1.0, -1.0, -2.0)

#: Cells whose entry ends the episode: goal, sheep, brick + goal, brick + sheep.
TERMINAL_CODES: frozenset[int] = frozenset({1, 3, 7, 9})
#: Impassable cells: house, brick + house.
HOUSE_CODES: frozenset[int] = frozenset({2, 8})
#: Cells with a brick surface (6..11). A bump from a current cell in this set pays brick instead of gas.
BRICK_CODES: frozenset[int] = frozenset({6, 7, 8, 9, 10, 11})

#: The 10x10 board used with human subjects (spec §3.2, ``2021-07-29_sparseboard2-notrap``), rows top to bottom.
DELIVERY_BOARD_10X10: tuple[tuple[int, ...], ...] = (
    (0, 0, 5, 0, 0, 0, 0, 0, 0, 0),
    (0, 0, 0, 0, 4, 0, 0, 0, 0, 6),
    (0, 0, 3, 0, 0, 0, 0, 6, 6, 6),
    (4, 0, 5, 0, 2, 3, 3, 6, 6, 0),
    (6, 6, 0, 0, 0, 0, 0, 0, 0, 0),
    (6, 0, 4, 0, 0, 0, 0, 0, 0, 0),
    (6, 2, 0, 3, 5, 2, 0, 0, 0, 0),
    (0, 4, 0, 0, 0, 0, 0, 10, 6, 6),
    (0, 0, 5, 0, 0, 0, 0, 6, 6, 7),
    (0, 0, 0, 0, 0, 0, 5, 0, 0, 4),
)

#: The 4x1 corridor of spec §7 item 2: goal on top, two blank cells, sheep at the bottom.
CORRIDOR_4X1: tuple[tuple[int, ...], ...] = ((1,), (0,), (0,), (3,))

_N_CODES = 12
_N_FEATURES = len(FEATURE_NAMES)
_N_ACTIONS = len(ACTIONS)
_GAS, _GOAL, _SHEEP, _COIN, _ROADBLOCK, _BRICK = range(_N_FEATURES)


def _entry_table() -> np.ndarray:
    """(12, 6) features of entering a cell of each code; zero rows for the houses (never entered)."""
    table = np.zeros((_N_CODES, _N_FEATURES), dtype=np.float64)
    entries = {
        0: (_GAS,),
        1: (_GOAL,),
        3: (_SHEEP,),
        4: (_GAS, _COIN),
        5: (_GAS, _ROADBLOCK),
        6: (_BRICK,),
        7: (_GOAL,),
        9: (_SHEEP,),
        10: (_BRICK, _COIN),
        11: (_BRICK, _ROADBLOCK),
    }
    for code, features in entries.items():
        table[code, list(features)] = 1.0
    table.setflags(write=False)
    return table


def _code_mask(codes: frozenset[int]) -> np.ndarray:
    mask = np.zeros(_N_CODES, dtype=bool)
    mask[sorted(codes)] = True
    mask.setflags(write=False)
    return mask


_ENTRY = _entry_table()
_IS_TERMINAL = _code_mask(TERMINAL_CODES)
_IS_HOUSE = _code_mask(HOUSE_CODES)
_IS_BRICK = _code_mask(BRICK_CODES)


# ----------------------------------------------------------------------------------------- the rules
def check_board(board: Any, *, owner: str = "check_board") -> np.ndarray:
    """Return ``board`` as a validated read-only 2-D int64 array (a copy).

    ``board`` is a rectangular 2-D grid (nested sequences or an integer array) of cell codes in 0..11 with at
    least one start cell (neither terminal nor a house). Raises ``TypeError`` for a non-integer grid and
    ``ValueError`` for a bad shape, an unknown code or no start cell; ``owner`` prefixes the messages.
    """
    if board is None or isinstance(board, (str, bytes)):
        raise TypeError(f"{owner}: board must be a 2-D grid of integer cell codes, got {board!r}")
    if isinstance(board, np.ndarray):
        arr = board
    else:
        try:
            arr = np.array(board)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{owner}: board must be a rectangular 2-D grid of integer cell codes, got {board!r}"
            ) from exc
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{owner}: board must hold integer cell codes, got an array of dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{owner}: board must be 2-D (rows of cell codes), got an array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{owner}: board must have at least one row and one column, got shape {arr.shape}")
    bad = np.argwhere((arr < 0) | (arr >= _N_CODES))
    if bad.size:
        r, c = (int(i) for i in bad[0])
        raise ValueError(f"{owner}: board must hold cell codes in 0..{_N_CODES - 1}, got board[{r}][{c}] = {arr[r, c]}")
    out = arr.astype(np.int64, copy=True)
    if not np.any(~_IS_TERMINAL[out] & ~_IS_HOUSE[out]):
        raise ValueError(
            f"{owner}: board must have at least one cell that is neither terminal nor a house, got {out.tolist()!r}"
        )
    out.setflags(write=False)
    return out


def cell_features(code: int) -> np.ndarray:
    """The (6,) float64 features ``[gas, goal, sheep, coin, roadblock, brick]`` of entering a cell of ``code``.

    ``code`` must be a passable code (0..11 except the houses 2 and 8). A fresh array each call.
    """
    code = check_int("cell_features", "code", code, low=0)
    if code >= _N_CODES or _IS_HOUSE[code]:
        raise ValueError(
            f"cell_features: code must be a passable cell code (0..{_N_CODES - 1}, not a house 2 or 8), got {code}"
        )
    return _ENTRY[code].copy()


def _check_action(owner: str, action: Any) -> int:
    if isinstance(action, np.ndarray) and action.shape == () and np.issubdtype(action.dtype, np.integer):
        action = action.item()
    if isinstance(action, (bool, np.bool_)) or not isinstance(action, numbers.Integral):
        raise TypeError(
            f"{owner}: action must be an integer in [0, {_N_ACTIONS}) (0 up, 1 down, 2 left, 3 right), "
            f"got {action!r} ({type(action).__name__})"
        )
    out = int(action)
    if not 0 <= out < _N_ACTIONS:
        raise ValueError(f"{owner}: action must be in [0, {_N_ACTIONS}) (0 up, 1 down, 2 left, 3 right), got {out}")
    return out


def _check_cell(owner: str, names: tuple[str, str, str], board: np.ndarray, row: Any, col: Any) -> tuple[int, int]:
    """Validate ``(row, col)`` as a start cell of ``board`` (inside, neither terminal nor a house).

    ``names``: how the messages name the cell, its row and its column.
    """
    name, row_name, col_name = names
    h, w = board.shape
    row = check_int(owner, row_name, row)
    col = check_int(owner, col_name, col)
    if not (0 <= row < h and 0 <= col < w):
        raise ValueError(f"{owner}: {name} must be a cell of the {h}x{w} board, got (row, col) = ({row}, {col})")
    code = int(board[row, col])
    if _IS_TERMINAL[code] or _IS_HOUSE[code]:
        kind = "terminal" if _IS_TERMINAL[code] else "a house"
        raise ValueError(
            f"{owner}: {name} must be a cell that is neither terminal nor a house, "
            f"got (row, col) = ({row}, {col}), cell code {code} ({kind})"
        )
    return row, col


def _move(board: np.ndarray, row: int, col: int, action: int) -> tuple[int, int, np.ndarray, bool]:
    """One transition on a validated board from a validated start cell (no checks)."""
    h, w = board.shape
    dr, dc = ACTIONS[action]
    r, c = row + dr, col + dc
    if 0 <= r < h and 0 <= c < w:
        code = int(board[r, c])
        if not _IS_HOUSE[code]:
            return r, c, _ENTRY[code].copy(), bool(_IS_TERMINAL[code])
    phi = np.zeros(_N_FEATURES, dtype=np.float64)
    phi[_BRICK if _IS_BRICK[int(board[row, col])] else _GAS] = 1.0
    return row, col, phi, False


def step_cell(board: Any, row: int, col: int, action: int) -> tuple[int, int, np.ndarray, bool]:
    """The deterministic transition from ``(row, col)`` under ``action`` (module docstring, "Rules").

    Returns ``(next_row, next_col, features, terminal)``: ``features`` is a fresh (6,) float64 array and
    ``terminal`` says whether the next cell is terminal. ``(row, col)`` must be a start cell (neither terminal
    nor a house; ``ValueError`` otherwise); ``action`` an integer in 0..3.
    """
    owner = "step_cell"
    arr = check_board(board, owner=owner)
    row, col = _check_cell(owner, ("(row, col)", "row", "col"), arr, row, col)
    return _move(arr, row, col, _check_action(owner, action))


def start_cells(board: Any) -> np.ndarray:
    """The ``(n, 2)`` int64 ``(row, col)`` of every start cell (neither terminal nor a house), row-major."""
    arr = check_board(board, owner="start_cells")
    return np.argwhere(~_IS_TERMINAL[arr] & ~_IS_HOUSE[arr]).astype(np.int64)


def transition_tables(board: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Tabular form of the rules over the states ``s = row * W + col`` of every cell, houses included.

    Returns fresh arrays ``(next_state, features, terminal, passable)``:

    * ``next_state``: (S, 4) int64, the state reached by each action;
    * ``features``: (S, 4, 6) float64, the features of each move;
    * ``terminal``: (S,) bool, the cell is terminal (1, 3, 7, 9);
    * ``passable``: (S,) bool, the cell is not a house (2, 8).

    Terminal and house rows are absorbing: ``next_state[s] = s`` with zero features. Every other row agrees
    with ``step_cell``.
    """
    arr = check_board(board, owner="transition_tables")
    h, w = arr.shape
    n_states = h * w
    codes = arr.reshape(-1)
    states = np.arange(n_states, dtype=np.int64)
    rows, cols = np.divmod(states, w)
    terminal = _IS_TERMINAL[codes].copy()
    passable = ~_IS_HOUSE[codes]
    live = passable & ~terminal

    bump = np.zeros((n_states, _N_FEATURES), dtype=np.float64)
    bump[states, np.where(_IS_BRICK[codes], _BRICK, _GAS)] = 1.0

    next_state = np.empty((n_states, _N_ACTIONS), dtype=np.int64)
    features = np.zeros((n_states, _N_ACTIONS, _N_FEATURES), dtype=np.float64)
    for a, (dr, dc) in enumerate(ACTIONS):
        r2, c2 = rows + dr, cols + dc
        inside = (r2 >= 0) & (r2 < h) & (c2 >= 0) & (c2 < w)
        target = np.where(inside, r2 * w + c2, 0)
        enters = inside & passable[target]
        dest = np.where(enters, target, states)
        phi = np.where(enters[:, None], _ENTRY[codes[target]], bump)
        next_state[:, a] = np.where(live, dest, states)
        features[:, a, :] = np.where(live[:, None], phi, 0.0)
    return next_state, features, terminal, passable


# ----------------------------------------------------------------------------------------- the environment
_CONTENT = {0: ".", 1: "G", 2: "H", 3: "S", 4: "C", 5: "R"}  # code % 6 -> symbol; codes >= 6 add brick
_CELL_NAMES = (
    "blank road",
    "goal",
    "house",
    "sheep",
    "coin",
    "roadblock",
    "brick",
    "brick + goal",
    "brick + house",
    "brick + sheep",
    "brick + coin",
    "brick + roadblock",
)


def _feature_text(phi: np.ndarray) -> str:
    return " + ".join(FEATURE_NAMES[i] for i in np.flatnonzero(phi)) or "none"


class DeliveryGridworldEnv(gym.Env):
    """The delivery gridworld of [KNOX24] (module docstring for the rules, ``info`` keys and termination).

    Parameters:
        board: a 2-D grid of cell codes 0..11 (``check_board``); default ``DELIVERY_BOARD_10X10``.
        weights: 6 finite reward weights for ``[gas, goal, sheep, coin, roadblock, brick]``; default
            ``TRUE_WEIGHTS`` = (-1, 50, -50, 1, -1, -2).
        max_steps: moves per episode, >= 1; reaching it without termination truncates the episode.
        start: None (each ``reset`` draws a start cell uniformly from ``self.np_random``) or a ``(row, col)``
            start cell (neither terminal nor a house).
        render_mode: None or "ansi".

    Observation ``row * W + col`` in ``Discrete(H * W)``; actions 0 up, 1 down, 2 left, 3 right.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        board: Any = DELIVERY_BOARD_10X10,
        weights: Any = TRUE_WEIGHTS,
        max_steps: int = 100,
        start: Any = None,
        render_mode: str | None = None,
    ) -> None:
        owner = type(self).__name__
        self._board = check_board(board, owner=owner)
        w = check_vector(owner, "weights", weights, min_len=_N_FEATURES)
        if w.shape[0] != _N_FEATURES:
            raise ValueError(
                f"{owner}: weights must have exactly {_N_FEATURES} entries {FEATURE_NAMES}, "
                f"got {w.shape[0]}: {weights!r}"
            )
        self._weights = w
        self.max_steps = check_int(owner, "max_steps", max_steps, low=1)
        self._starts = start_cells(self._board)
        self._starts.setflags(write=False)
        if start is None:
            self.start: tuple[int, int] | None = None
        else:
            if isinstance(start, (str, bytes)) or not hasattr(start, "__len__") or len(start) != 2:
                raise TypeError(f"{owner}: start must be None or a (row, col) pair, got {start!r}")
            self.start = _check_cell(owner, ("start", "start[0]", "start[1]"), self._board, start[0], start[1])
        self.render_mode = check_choice(owner, "render_mode", render_mode, (None, *self.metadata["render_modes"]))

        self.height, self.width = (int(n) for n in self._board.shape)
        self.n_states = self.height * self.width
        self.observation_space = spaces.Discrete(self.n_states)
        self.action_space = spaces.Discrete(_N_ACTIONS)

        self._pos: tuple[int, int] | None = None
        self._t = 0
        self._done = False
        self._last: tuple[int, np.ndarray, float] | None = None

    # ----------------------------------------------------------------- ground truth on ``unwrapped``
    @property
    def board(self) -> np.ndarray:
        """The board, (H, W) read-only int64."""
        return self._board

    @property
    def weights(self) -> np.ndarray:
        """The reward weights, (6,) read-only float64, in ``FEATURE_NAMES`` order."""
        return self._weights

    @property
    def start_cells(self) -> np.ndarray:
        """The (n, 2) read-only int64 start cells of the board, row-major."""
        return self._starts

    @property
    def position(self) -> tuple[int, int] | None:
        """The agent's ``(row, col)``, or None before the first ``reset``."""
        return self._pos

    @property
    def t(self) -> int:
        """Moves made since the last ``reset``."""
        return self._t

    # ----------------------------------------------------------------- gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """Start a new episode; ``seed`` reseeds ``self.np_random``. No ``options`` are accepted."""
        super().reset(seed=seed)
        if options:
            raise ValueError(f"{type(self).__name__}.reset: options are not used by this environment, got {options!r}")
        if self.start is None:
            r, c = self._starts[int(self.np_random.integers(self._starts.shape[0]))]
            self._pos = (int(r), int(c))
        else:
            self._pos = self.start
        self._t = 0
        self._done = False
        self._last = None
        return self._obs(), self._info(np.zeros(_N_FEATURES, dtype=np.float64))

    def step(self, action: Any) -> tuple[int, float, bool, bool, dict[str, Any]]:
        """Move; returns ``(obs, reward, terminated, truncated, info)``."""
        owner = f"{type(self).__name__}.step"
        if self._pos is None:
            raise RuntimeError(f"{owner}: call reset() before step()")
        if self._done:
            raise RuntimeError(f"{owner}: the episode has ended (terminated or truncated); call reset() first")
        a = _check_action(owner, action)
        r, c, phi, terminated = _move(self._board, self._pos[0], self._pos[1], a)
        reward = float(self._weights @ phi)
        self._pos = (r, c)
        self._t += 1
        truncated = not terminated and self._t >= self.max_steps
        self._done = terminated or truncated
        self._last = (a, phi, reward)
        return self._obs(), reward, terminated, truncated, self._info(phi)

    def render(self) -> str | None:
        """``"ansi"``: a text map with the agent marked and a legend; otherwise None."""
        if self.render_mode is None:
            gym.logger.warn(
                f"{type(self).__name__}.render: no render_mode was given at construction; "
                f"pass render_mode='ansi' (e.g. gymnasium.make(id, render_mode='ansi'))"
            )
            return None
        return self._render_text()

    # ----------------------------------------------------------------- helpers
    def _obs(self) -> int:
        return self._pos[0] * self.width + self._pos[1]

    def _info(self, phi: np.ndarray) -> dict[str, Any]:
        r, c = self._pos
        return {
            "row": r,
            "col": c,
            "features": phi.copy(),
            "cell_code": int(self._board[r, c]),
            "t": self._t,
        }

    def _render_text(self) -> str:
        name = type(self).__name__
        h, w = self.height, self.width
        lines = []
        if self._pos is None:
            lines.append(f"{name}: {h}x{w} board, max_steps = {self.max_steps}; not reset yet")
        else:
            r, c = self._pos
            code = int(self._board[r, c])
            lines.append(f"{name}: t = {self._t}/{self.max_steps}, agent at row {r}, col {c} ({_CELL_NAMES[code]})")
        lines.append("     " + "".join(f"{j:^4}" for j in range(w)).rstrip())
        for i in range(h):
            cells = []
            for j in range(w):
                code = int(self._board[i, j])
                token = _CONTENT[code % 6] + ("~" if _IS_BRICK[code] else " ")
                agent = self._pos == (i, j)
                cells.append(f"[{token}]" if agent else f" {token} ")
            lines.append(f"{i:>3}  " + "".join(cells).rstrip())
        lines += [
            "legend: [..] agent   . road   C coin   R roadblock   H house (impassable)",
            "        G goal (ends the episode)   S sheep (ends the episode)   ~ after a symbol: brick (mud)",
            "actions: 0 up, 1 down, 2 left, 3 right (moving off the board or into a house stays put)",
        ]
        if self._last is not None:
            a, phi, reward = self._last
            lines.append(f"last: {ACTION_NAMES[a]} -> features {_feature_text(phi)}, reward {reward:g}")
        if self._done:
            lines.append("episode over: call reset()")
        return "\n".join(lines) + "\n"
