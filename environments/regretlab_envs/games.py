"""Repeated two-player matrix games with the learner as player 0 (specs/llm-bandit-envs.md §2.4, after [P25]).

``RepeatedGameEnv(game, horizon, opponent, ...)`` (``regretlab/RepeatedGame-v0``). Every round the learner
plays a distribution pi_t over its n1 actions (``Box(0, 1, (n1,))``, renormalised; a vector with a negative or
non-finite entry or sum 0 is replaced by the uniform distribution and ``info["fallback"]`` is True), the
opponent a distribution q_t over n2 actions; both actions are sampled from ``self.np_random`` (learner first).

* ``feedback="realized"``: the learner then sees its payoff vector against the opponent's action,
  v_t = U1[:, j_t]; ``"expected"``: against the opponent's mixed strategy, v_t = U1 q_t.
* reward: U1[i_t, j_t] (the realised payoff).
* ``info``: ``t``, ``pi``, ``q``, ``actions`` (i_t, j_t), ``payoff_vector`` v_t, ``regret`` = max_i sum_s v_s(i) -
  sum_s <v_s, pi_s> (the learner's external regret, §6.1/§6.7), ``fallback``.
* observation: ``Dict(cum_payoffs = Box(0, T, (n1,)), opponent_counts = Box(0, T, (n2,)), t = Discrete(T + 1))``.

``player`` picks the learner's seat: 0 (row, default) or 1 (column). For the column seat the environment works
with the transposed game, so ``U1`` is always the learner's payoff matrix with the learner's actions as rows,
``U2`` the opponent's with the same layout, and ``info["actions"]`` is (learner's action, opponent's action).
``action_names`` / ``opponent_names`` are the seat's action names (:data:`ACTION_NAMES`; ``Action A``, ... for
random games).

Opponents: ``hedge`` (exponential weights on its own cumulative payoff vectors against the learner's realised
actions, eta = sqrt(8 ln n2 / T); Cesa-Bianchi and Lugosi 2006, Thm 2.2), ``fictitious_play`` (a best response to
the learner's empirical action frequencies, the lowest index among ties, uniform in round 1; Brown 1951), or
``fixed`` (the mixed strategy ``opponent_strategy``, uniform by default).

Games (:data:`GAMES`, our own textbook matrices scaled to [0, 1]; which six 2x2 games [P25] used is
UNCONFIRMED), with the action names of :data:`ACTION_NAMES` (both players use the same names):
prisoners_dilemma (C, D; payoffs 3, 0, 5, 1 over 5), stag_hunt (4, 0, 3, 3 over 4),
battle_of_sexes ((3, 2) and (2, 3) on the diagonal over 3), chicken (swerve/straight: 3, 2, 4, 0 over 4),
matching_pennies (row wins on a match), coordination (1 on the diagonal), rock_paper_scissors (win 1, tie 1/2,
loss 0); ``game="random"`` draws U1, U2 with i.i.d. U[0, 1] entries of size ``random_size`` x ``random_size``
from ``SeedSequence(game_seed)``, fixed for the environment's life.

NumPy and gymnasium only.
"""
from __future__ import annotations

import math
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from regretlab_envs._validate import as_distribution, check_choice, check_int, check_vector

__all__ = ["ACTION_NAMES", "FEEDBACKS", "GAMES", "OPPONENTS", "RepeatedGameEnv", "game_action_names", "game_matrices",
           "play_repeated_game"]


def _sym(U1):
    U1 = np.asarray(U1, dtype=float)
    return U1, U1.T.copy()


GAMES: dict[str, tuple[np.ndarray, np.ndarray]] = {
    "prisoners_dilemma": _sym(np.array([[3.0, 0.0], [5.0, 1.0]]) / 5),
    "stag_hunt": _sym(np.array([[4.0, 0.0], [3.0, 3.0]]) / 4),
    "battle_of_sexes": (np.array([[3.0, 0.0], [0.0, 2.0]]) / 3, np.array([[2.0, 0.0], [0.0, 3.0]]) / 3),
    "chicken": _sym(np.array([[3.0, 2.0], [4.0, 0.0]]) / 4),
    "matching_pennies": (np.eye(2), 1.0 - np.eye(2)),
    "coordination": (np.eye(2), np.eye(2)),
    "rock_paper_scissors": (np.array([[0.5, 0.0, 1.0], [1.0, 0.5, 0.0], [0.0, 1.0, 0.5]]),
                            1.0 - np.array([[0.5, 0.0, 1.0], [1.0, 0.5, 0.0], [0.0, 1.0, 0.5]])),
}
OPPONENTS = ("hedge", "fictitious_play", "fixed")
FEEDBACKS = ("realized", "expected")
ACTION_NAMES: dict[str, tuple[str, ...]] = {
    "prisoners_dilemma": ("Cooperate", "Defect"),
    "stag_hunt": ("Stag", "Hare"),
    "battle_of_sexes": ("Opera", "Football"),
    "chicken": ("Swerve", "Straight"),
    "matching_pennies": ("Heads", "Tails"),
    "coordination": ("Left", "Right"),
    "rock_paper_scissors": ("Rock", "Paper", "Scissors"),
}


def game_action_names(game: str, n: int) -> tuple[str, ...]:
    """The action names of ``game`` (:data:`ACTION_NAMES`), or ``Action A``, ``Action B``, ... (random games)."""
    if game in ACTION_NAMES:
        return ACTION_NAMES[game]
    if n > 26:
        raise ValueError(f"game_action_names: at most 26 actions can be named (Action A..Z), got {n}")
    return tuple(f"Action {chr(ord('A') + i)}" for i in range(n))


def game_matrices(game: str, random_size: int = 3, game_seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(U1, U2) of ``game`` (module docstring); U[i, j] is the payoff when the row plays i, the column j."""
    owner = "game_matrices"
    check_choice(owner, "game", game, (*GAMES, "random"))
    if game != "random":
        U1, U2 = GAMES[game]
        return U1.copy(), U2.copy()
    n = check_int(owner, "random_size", random_size, low=2)
    gen = np.random.default_rng(np.random.SeedSequence(check_int(owner, "game_seed", game_seed, low=0)))
    return gen.uniform(size=(n, n)), gen.uniform(size=(n, n))


class RepeatedGameEnv(gym.Env):
    """The learner (row player) against a fixed opponent rule (module docstring)."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": [], "render_fps": 4}

    def __init__(self, game: str = "prisoners_dilemma", horizon: int = 50, opponent: str = "hedge",
                 opponent_strategy=None, feedback: str = "realized", random_size: int = 3, game_seed: int = 0,
                 player: int = 0, render_mode: str | None = None):
        owner = "RepeatedGameEnv"
        self.game = game
        U1, U2 = game_matrices(game, random_size, game_seed)
        self.player = check_int(owner, "player", player, low=0)
        if self.player > 1:
            raise ValueError(f"{owner}: player must be 0 (row) or 1 (column), got {player!r}")
        names = (game_action_names(game, U1.shape[0]), game_action_names(game, U1.shape[1]))
        if self.player == 1:  # the column seat: the transposed game, the learner's actions as rows
            U1, U2 = U2.T.copy(), U1.T.copy()
            names = names[::-1]
        self.U1, self.U2 = U1, U2
        self.action_names, self.opponent_names = names
        self.n1, self.n2 = self.U1.shape
        self.horizon = check_int(owner, "horizon", horizon, low=1)
        self.opponent = check_choice(owner, "opponent", opponent, OPPONENTS)
        self.feedback = check_choice(owner, "feedback", feedback, FEEDBACKS)
        if render_mode is not None:
            raise ValueError(f"{owner}: render_mode must be None (no rendering), got {render_mode!r}")
        self.render_mode = None
        if opponent_strategy is None:
            q = np.full(self.n2, 1.0 / self.n2)
        else:
            q = np.array(check_vector(owner, "opponent_strategy", opponent_strategy, min_len=self.n2, low=0.0))
            if q.size != self.n2 or not q.sum() > 0:
                raise ValueError(f"{owner}: opponent_strategy must be {self.n2} non-negative numbers with a positive "
                                 f"sum, got {opponent_strategy!r}")
            q = q / q.sum()
        self.opponent_strategy = q
        self.action_space = spaces.Box(0.0, 1.0, (self.n1,), np.float64)
        T = float(self.horizon)
        self.observation_space = spaces.Dict({
            "cum_payoffs": spaces.Box(0.0, T, (self.n1,), np.float64),
            "opponent_counts": spaces.Box(0.0, T, (self.n2,), np.float64),
            "t": spaces.Discrete(self.horizon + 1),
        })
        self._t = None

    def _obs(self):
        return {"cum_payoffs": self._cum.copy(), "opponent_counts": self._opp_counts.copy(), "t": np.int64(self._t)}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._t = 0
        self._cum = np.zeros(self.n1)
        self._opp_counts = np.zeros(self.n2)
        self._my_counts = np.zeros(self.n1)
        self._opp_cum = np.zeros(self.n2)
        self._played = 0.0
        return self._obs(), {"t": 0, "U1": self.U1.copy(), "U2": self.U2.copy()}

    def _opponent_q(self) -> np.ndarray:
        if self.opponent == "fixed":
            return self.opponent_strategy.copy()
        if self.opponent == "hedge":
            eta = math.sqrt(8.0 * math.log(self.n2) / self.horizon)
            w = eta * (self._opp_cum - self._opp_cum.max())
            q = np.exp(w)
            return q / q.sum()
        if self._t == 0:
            return np.full(self.n2, 1.0 / self.n2)
        q = np.zeros(self.n2)
        q[int(np.argmax(self._my_counts @ self.U2))] = 1.0
        return q

    def step(self, action):
        if self._t is None or self._t >= self.horizon:
            raise RuntimeError("RepeatedGameEnv.step: call reset() first (the episode ended or never began)")
        pi, fallback = as_distribution(action, self.n1)
        q = self._opponent_q()
        i = int(self.np_random.choice(self.n1, p=pi))
        j = int(self.np_random.choice(self.n2, p=q))
        v = self.U1[:, j].copy() if self.feedback == "realized" else self.U1 @ q
        self._t += 1
        self._cum += v
        self._played += float(pi @ v)
        self._opp_counts[j] += 1
        self._my_counts[i] += 1
        self._opp_cum += self.U2[i, :]
        reward = float(self.U1[i, j])
        info = {"t": self._t, "pi": pi, "q": q, "actions": (i, j), "payoff_vector": v,
                "regret": float(self._cum.max() - self._played), "fallback": bool(fallback)}
        return self._obs(), reward, self._t == self.horizon, False, info


def play_repeated_game(agents, game: str = "prisoners_dilemma", horizon: int = 50, seed: int | None = None, *,
                       random_size: int = 3, game_seed: int = 0, feedback: str = "realized") -> dict[str, Any]:
    """Two agents against each other (self-play included; spec §2.4), without a multi-agent framework.

    ``agents`` = (row, column); each is a callable ``agent(state) -> distribution`` over its own actions, where
    ``state`` = {"t", "payoffs" (its own payoff matrix, rows = its actions), "cum_payoffs" (the sum of its
    payoff vectors so far), "opponent_counts"}. Both distributions are validated like the environment's actions
    (uniform fallback, counted), then both actions are sampled from ``numpy.random.default_rng(seed)`` (row
    first). Each player's payoff vector of the round is v = U[:, opponent's action] (``feedback="realized"``) or
    U @ (opponent's distribution) (``"expected"``), U its own matrix. An agent with an ``update`` method is told
    the outcome after every round: ``agent.update({"t", "pi", "action", "opponent_action", "payoff_vector"})``
    (t counts the rounds played, 1..T). Returns the actions (T,) of each player, their distributions (T, n),
    fallback counts and the matrices, ready for :func:`regretlab.llm_bandits.metrics.external_regret` /
    ``cce_gap`` / ``nash_gap``.
    """
    owner = "play_repeated_game"
    U1, U2 = game_matrices(game, random_size, game_seed)
    T = check_int(owner, "horizon", horizon, low=1)
    feedback = check_choice(owner, "feedback", feedback, FEEDBACKS)
    if len(agents) != 2:
        raise ValueError(f"{owner}: agents must be two callables (row, column), got {len(agents)}")
    gen = np.random.default_rng(seed)
    mats = (U1, U2.T)  # each player's payoffs with its own actions as rows
    cum = [np.zeros(U1.shape[0]), np.zeros(U1.shape[1])]
    counts = [np.zeros(U1.shape[1]), np.zeros(U1.shape[0])]
    acts = np.zeros((2, T), dtype=np.int64)
    dists = [np.zeros((T, U1.shape[0])), np.zeros((T, U1.shape[1]))]
    fallbacks = [0, 0]
    for t in range(T):
        for p in (0, 1):
            n = mats[p].shape[0]
            state = {"t": t, "payoffs": mats[p].copy(), "cum_payoffs": cum[p].copy(),
                     "opponent_counts": counts[p].copy()}
            dists[p][t], bad = as_distribution(agents[p](state), n)
            fallbacks[p] += bad
        i = int(gen.choice(U1.shape[0], p=dists[0][t]))
        j = int(gen.choice(U1.shape[1], p=dists[1][t]))
        acts[:, t] = (i, j)
        own = (i, j)
        for p in (0, 1):
            v = mats[p][:, own[1 - p]] if feedback == "realized" else mats[p] @ dists[1 - p][t]
            cum[p] += v
            counts[p][own[1 - p]] += 1
            if hasattr(agents[p], "update"):
                agents[p].update({"t": t + 1, "pi": dists[p][t].copy(), "action": own[p],
                                  "opponent_action": own[1 - p], "payoff_vector": v.copy()})
    return {"row_actions": acts[0], "col_actions": acts[1], "row_pi": dists[0], "col_pi": dists[1],
            "fallbacks": tuple(fallbacks), "U1": U1, "U2": U2}
