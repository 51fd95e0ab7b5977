"""The stochastic-bandit instances of specs/llm-bandit-envs.md §2.1, as mean vectors and environments.

Mean-vector functions (pure; NumPy ``default_rng(seed)`` is the only randomness):

* ``gap_means(k, delta, best_arm=0)``: one best arm at 0.5 + delta/2, the others at 0.5 - delta/2.
* ``k24_hard(seed=None)``  K = 5, delta = 0.2, T = 100 ([K24] main instance; robustness T = 200, 500).
* ``k24_easy(seed=None)``  K = 4, delta = 0.5, T = 100 ([K24]).
* ``bb_bernoulli(k, difficulty, seed=None)``  K in {5, 20}; easy: delta = 0.5, T = 300; hard: delta = 0.2,
  T = 1000 ([N24], horizons from the ``banditbench`` code).
* ``bb_gaussian(k, difficulty, seed)``  K in {5, 20}; means ~ N(0, sigma^2) drawn once per instance seed,
  rewards N(mu_a, sigma^2); easy: sigma = 1, T = 300; hard: sigma = 3, T = 1000 ([N24]).
* ``c25_bernoulli(seed, k=5)``  mu_a ~ U(0, 1) i.i.d.; ``c25_gaussian(seed, k=5)``  mu_a ~ N(0, 1), sigma = 1
  ([C25] code). [C25] redraws the means every episode; the environments here keep the means fixed for their
  lifetime, so draw a fresh vector per episode (``c25_bernoulli(seed=episode_seed)``) and build a new env.
  [C25] horizons are UNCONFIRMED (train 50, test up to 300), so no default horizon is given.

Best-arm position. Gap instances with ``seed=None`` put the best arm at index 0; with an integer ``seed`` its
index is drawn uniformly from ``default_rng(seed)``. [N24]'s code shuffles the arms with the instance seed and
[K24] does not say where the best arm sits, so pass a seed (or randomise the presentation order in the text
layer) whenever an agent could exploit a fixed position, e.g. a lowest-index tie-break. Our draws do not
reproduce ``banditbench``'s own random stream, only its distribution.

Environment factories (the entry points of the registered preset ids, see ``regretlab_envs/__init__.py``):
``make_preset(name, instance_seed=None, **env_kwargs)`` builds the environment of ``PRESETS[name]``;
``env_kwargs`` (``horizon``, ``reward_tape``, ``render_mode``) override the preset defaults.

References: [K24] Krishnamurthy et al., NeurIPS 2024, arXiv 2403.15371; [N24] Nie et al., ICML 2025,
arXiv 2410.06238; [C25] Chen et al., ICLR 2026, arXiv 2509.24923.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from regretlab_envs._validate import check_choice, check_float, check_int

__all__ = [
    "PRESETS",
    "Preset",
    "bb_bernoulli",
    "bb_gaussian",
    "c25_bernoulli",
    "c25_gaussian",
    "gap_means",
    "k24_easy",
    "k24_hard",
    "make_preset",
]

_BB_DELTA = {"easy": 0.5, "hard": 0.2}
_BB_SIGMA = {"easy": 1.0, "hard": 3.0}
_BB_HORIZON = {"easy": 300, "hard": 1000}


def gap_means(k: int, delta: float, best_arm: int = 0) -> tuple[float, ...]:
    """Means of the gap instance: arm ``best_arm`` at 0.5 + delta/2, every other arm at 0.5 - delta/2.

    Parameters: k >= 2 arms; delta in (0, 1]; best_arm in [0, k).
    """
    k = check_int("gap_means", "k", k, low=2)
    delta = check_float("gap_means", "delta", delta, low=0.0, low_open=True)
    if delta > 1.0:
        raise ValueError(f"gap_means: delta must be in (0, 1], got {delta}")
    best_arm = check_int("gap_means", "best_arm", best_arm, low=0)
    if best_arm >= k:
        raise ValueError(f"gap_means: best_arm must be in [0, {k}), got {best_arm}")
    means = [0.5 - delta / 2] * k
    means[best_arm] = 0.5 + delta / 2
    return tuple(means)


def _best_position(owner: str, k: int, seed: int | None) -> int:
    if seed is None:
        return 0
    seed = check_int(owner, "seed", seed, low=0)
    return int(np.random.default_rng(seed).integers(k))


def k24_hard(seed: int | None = None) -> tuple[float, ...]:
    """[K24] hard instance: K = 5, best 0.6, others 0.4 (delta = 0.2). Best arm at 0, or drawn from ``seed``."""
    return gap_means(5, 0.2, _best_position("k24_hard", 5, seed))


def k24_easy(seed: int | None = None) -> tuple[float, ...]:
    """[K24] easy instance: K = 4, best 0.75, others 0.25 (delta = 0.5). Best arm at 0, or drawn from ``seed``."""
    return gap_means(4, 0.5, _best_position("k24_easy", 4, seed))


def bb_bernoulli(k: int, difficulty: str, seed: int | None = None) -> tuple[float, ...]:
    """[N24] BanditBench Bernoulli instance: gap form with delta 0.5 (easy) or 0.2 (hard), K in {5, 20}."""
    k = check_choice("bb_bernoulli", "k", k, (5, 20))
    difficulty = check_choice("bb_bernoulli", "difficulty", difficulty, ("easy", "hard"))
    return gap_means(k, _BB_DELTA[difficulty], _best_position("bb_bernoulli", k, seed))


def bb_gaussian(k: int, difficulty: str, seed: int) -> tuple[float, ...]:
    """[N24] BanditBench Gaussian instance: means ~ N(0, sigma^2), sigma = 1 (easy) or 3 (hard), K in {5, 20}.

    The reward noise of the matching environment has the same sigma (``PRESETS[...].sigma``).
    """
    k = check_choice("bb_gaussian", "k", k, (5, 20))
    difficulty = check_choice("bb_gaussian", "difficulty", difficulty, ("easy", "hard"))
    seed = check_int("bb_gaussian", "seed", seed, low=0)
    rng = np.random.default_rng(seed)
    return tuple(float(x) for x in _BB_SIGMA[difficulty] * rng.standard_normal(k))


def c25_bernoulli(seed: int, k: int = 5) -> tuple[float, ...]:
    """[C25] Bernoulli task: mu_a ~ U(0, 1) i.i.d. for K arms (default 5; [C25] also uses K in 3..10)."""
    seed = check_int("c25_bernoulli", "seed", seed, low=0)
    k = check_int("c25_bernoulli", "k", k, low=2)
    return tuple(float(x) for x in np.random.default_rng(seed).random(k))


def c25_gaussian(seed: int, k: int = 5) -> tuple[float, ...]:
    """[C25] Gaussian task: mu_a ~ N(0, 1) i.i.d. for K arms (default 5); rewards N(mu_a, 1)."""
    seed = check_int("c25_gaussian", "seed", seed, low=0)
    k = check_int("c25_gaussian", "k", k, low=2)
    return tuple(float(x) for x in np.random.default_rng(seed).standard_normal(k))


@dataclass(frozen=True)
class Preset:
    """One row of spec §2.1: reward family, K, default horizon, reward sigma (Gaussian) and mean function.

    ``means(seed)`` returns the mean vector; for gap instances ``seed=None`` puts the best arm at index 0.
    """

    name: str
    family: str
    n_arms: int
    horizon: int
    sigma: float | None
    means: Callable[[int | None], tuple[float, ...]]
    source: str


def _bb_rows() -> dict[str, Preset]:
    rows = {}
    for k in (5, 20):
        for d in ("easy", "hard"):
            rows[f"bb_bern_{d}_{k}"] = Preset(
                f"bb_bern_{d}_{k}", "bernoulli", k, _BB_HORIZON[d], None,
                lambda seed, k=k, d=d: bb_bernoulli(k, d, seed), "[N24]",
            )
            rows[f"bb_gauss_{d}_{k}"] = Preset(
                f"bb_gauss_{d}_{k}", "gaussian", k, _BB_HORIZON[d], _BB_SIGMA[d],
                lambda seed, k=k, d=d: bb_gaussian(k, d, 0 if seed is None else seed), "[N24]",
            )
    return rows


#: The registered presets, by spec §2.1 name. Gaussian presets with ``seed=None`` use instance seed 0.
PRESETS: dict[str, Preset] = {
    "k24_hard": Preset("k24_hard", "bernoulli", 5, 100, None, k24_hard, "[K24]"),
    "k24_easy": Preset("k24_easy", "bernoulli", 4, 100, None, k24_easy, "[K24]"),
    **_bb_rows(),
}


def make_preset(name: str, instance_seed: int | None = None, **env_kwargs: Any):
    """Build the environment of preset ``name`` with means ``PRESETS[name].means(instance_seed)``.

    ``env_kwargs`` go to the environment constructor and override the preset's defaults (``horizon``);
    passing ``means`` or ``sigma`` is rejected, since that would no longer be the preset (use
    ``regretlab/BernoulliBandit-v0`` or ``regretlab/GaussianBandit-v0`` instead).
    """
    from regretlab_envs.bandits import BernoulliBanditEnv, GaussianBanditEnv

    name = check_choice("make_preset", "name", name, tuple(PRESETS))
    for fixed in ("means", "sigma"):
        if fixed in env_kwargs:
            raise ValueError(
                f"make_preset: {fixed} is fixed by preset {name!r}, got {fixed}={env_kwargs[fixed]!r}; "
                f"use regretlab/BernoulliBandit-v0 or regretlab/GaussianBandit-v0 for custom instances"
            )
    preset = PRESETS[name]
    kwargs = {"horizon": preset.horizon, **env_kwargs}
    means = preset.means(instance_seed)
    if preset.family == "bernoulli":
        return BernoulliBanditEnv(means, **kwargs)
    return GaussianBanditEnv(means, preset.sigma, **kwargs)
