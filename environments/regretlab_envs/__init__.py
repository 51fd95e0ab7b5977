"""Gymnasium environments of regretlab: NumPy + gymnasium + standard library only (DESIGN.md §6).

Importing this package registers the ids below under the ``regretlab/`` namespace, with string entry
points, so no environment module is imported until ``gymnasium.make``. Registration is idempotent:
an id already in ``gymnasium.registry`` is left alone, so re-importing or reloading this package neither
warns nor replaces anything. ``gymnasium.make("regretlab_envs:regretlab/K24Hard-v0")`` imports the package first.

=========================================  ==========================================================
id                                         environment (default kwargs; every one can be overridden)
=========================================  ==========================================================
``regretlab/BernoulliBandit-v0``           ``BernoulliBanditEnv(means, horizon)``;
                                           default means (0.5, 0.7, 0.3), horizon 100
``regretlab/GaussianBandit-v0``            ``GaussianBanditEnv(means, sigma, horizon)``;
                                           default means (0.0, 0.5, -0.5), sigma 1, horizon 100
``regretlab/K24Hard-v0``                   [K24] hard: K 5, means 0.6 / 0.4, horizon 100
``regretlab/K24Easy-v0``                   [K24] easy: K 4, means 0.75 / 0.25, horizon 100
``regretlab/BanditBenchBernoulli{Easy,Hard}K{5,20}-v0``
                                           [N24] Bernoulli: gap 0.5 / 0.2, horizon 300 / 1000
``regretlab/BanditBenchGaussian{Easy,Hard}K{5,20}-v0``
                                           [N24] Gaussian: means ~ N(0, s^2), s = 1 / 3, horizon 300 / 1000
``regretlab/Experts-v0``                   ``ExpertsEnv(generator, d, horizon)``: full-information online
                                           learning; default iid_uniform, d 3, horizon 50
``regretlab/AdversarialBandit-v0``         ``AdversarialBanditEnv(generator, d, horizon)``: the same
                                           losses under bandit feedback (only l_t(a_t) revealed)
``regretlab/RepeatedGame-v0``              ``RepeatedGameEnv(game, horizon, opponent)``: the learner is
                                           the row player; default prisoners_dilemma, 50, hedge
``regretlab/TextBandit-v0``                ``TextBanditWrapper`` (prompts in, free text out) on ``base_id``
                                           (default ``regretlab/K24Hard-v0``); render options as kwargs
``regretlab/TextOnline-v0``                ``TextOnlineWrapper`` (prompts in, free text out) on ``base_id``
                                           ``regretlab/Experts-v0`` (default) or ``regretlab/RepeatedGame-v0``
``regretlab/DeliveryGridworld-v0``         ``DeliveryGridworldEnv(board, weights, max_steps, start)``;
                                           [KNOX24] 10x10 delivery board, weights (-1, 50, -50, 1, -1, -2),
                                           max_steps 100, uniform start
``regretlab/DeliveryCorridor-v0``          ``DeliveryGridworldEnv`` on the 4x1 corridor (goal, blank,
                                           blank, sheep; specs/regret-preference.md §7)
``regretlab/RechargingBandit-v0``          ``RechargingBanditEnv(p, horizon, d0, idle_allowed, noise, sigma)``;
                                           default k 3, tau_max 4 (``DEFAULT_RECHARGING_P``), start at
                                           tau_max, idling allowed, Bernoulli, horizon 100
``regretlab/LSDBandit-v0``                 ``LSDBanditEnv(mu, horizon, s0, idle_allowed, noise, sigma)``;
                                           default k 3, tau_max 3 (``DEFAULT_LSD_MU``), start at +tau_max,
                                           no idling, Bernoulli, horizon 100
``regretlab/LCCG22Section4-v0``            [LCCG22] "Section 4" recharging instance: k 5, tau_max 10,
                                           start at delay 1, no idling, Bernoulli, horizon 3600
``regretlab/LCCG22Supplementary-v0``       [LCCG22] supplementary instance: k 2, tau_max 11, start at
                                           delay 1, no idling, Bernoulli, horizon 3300
=========================================  ==========================================================

The bandit preset ids (``K24*`` and ``BanditBench*``) are built by ``regretlab_envs.presets.make_preset``
and take ``instance_seed`` (None: best arm at index 0 for the gap instances; Gaussian instances default to
seed 0) plus ``horizon``, ``reward_tape`` and ``render_mode``. Observation, ``info`` keys, termination and
common-random-numbers tapes are documented in ``regretlab_envs.bandits``; the delivery rules, tables and
episode conventions in ``regretlab_envs.gridworld`` ([KNOX24] Knox et al., "Models of human preference for
learning reward functions", TMLR 2024); the recharging and last-switch-dependent bandits (state labels as
observations, idle action, noise tapes, truncation at the horizon) and the [LCCG22] presets
(``make_lccg22``; Laforgue et al., AISTATS 2022) in ``regretlab_envs.lsd_bandits``. ``ENV_IDS`` lists the ids
registered here.
"""

from __future__ import annotations

from typing import Any

from gymnasium.envs.registration import register, registry

__all__ = [
    "ENV_IDS",
    "BernoulliBanditEnv",
    "DeliveryGridworldEnv",
    "GaussianBanditEnv",
    "LSDBanditEnv",
    "RechargingBanditEnv",
    "gridworld",
    "presets",
]

_BANDITS = "regretlab_envs.bandits"
_PRESETS = "regretlab_envs.presets:make_preset"
_GRIDWORLD = "regretlab_envs.gridworld:DeliveryGridworldEnv"
#: ``regretlab_envs.gridworld.CORRIDOR_4X1``, spelled out so that registering imports no environment module.
_CORRIDOR_4X1 = ((1,), (0,), (0,), (3,))
_LSD_BANDITS = "regretlab_envs.lsd_bandits"
#: ``regretlab_envs.lsd_bandits.DEFAULT_RECHARGING_P`` and ``DEFAULT_LSD_MU``, spelled out for the same reason.
_RECHARGING_P = ((0.5, 0.5, 0.5, 0.5), (0.0, 0.1, 0.9, 0.9), (0.3, 0.55, 0.7, 0.75))
_LSD_MU = ((0.3, 0.5, 0.8, 0.8, 0.8, 0.8), (0.5, 0.5, 0.5, 0.5, 0.5, 0.5), (0.1, 0.1, 0.1, 0.2, 0.6, 0.95))


def _specs() -> list[tuple[str, str, dict[str, Any]]]:
    specs = [
        (
            "regretlab/BernoulliBandit-v0",
            f"{_BANDITS}:BernoulliBanditEnv",
            {"means": (0.5, 0.7, 0.3), "horizon": 100},
        ),
        (
            "regretlab/GaussianBandit-v0",
            f"{_BANDITS}:GaussianBanditEnv",
            {"means": (0.0, 0.5, -0.5), "sigma": 1.0, "horizon": 100},
        ),
        ("regretlab/K24Hard-v0", _PRESETS, {"name": "k24_hard"}),
        ("regretlab/K24Easy-v0", _PRESETS, {"name": "k24_easy"}),
    ]
    for family, short in (("Bernoulli", "bern"), ("Gaussian", "gauss")):
        for difficulty in ("easy", "hard"):
            for k in (5, 20):
                env_id = f"regretlab/BanditBench{family}{difficulty.capitalize()}K{k}-v0"
                kwargs: dict[str, Any] = {"name": f"bb_{short}_{difficulty}_{k}"}
                if family == "Gaussian":
                    kwargs["instance_seed"] = 0
                specs.append((env_id, _PRESETS, kwargs))
    specs.append(("regretlab/Experts-v0", "regretlab_envs.online:ExpertsEnv", {}))
    specs.append(("regretlab/AdversarialBandit-v0", "regretlab_envs.online:AdversarialBanditEnv", {}))
    specs.append(("regretlab/RepeatedGame-v0", "regretlab_envs.games:RepeatedGameEnv", {}))
    specs.append(("regretlab/TextBandit-v0", "regretlab_envs.text:make_text_bandit", {}))
    specs.append(("regretlab/TextOnline-v0", "regretlab_envs.text_online:make_text_online", {}))
    specs.append(("regretlab/DeliveryGridworld-v0", _GRIDWORLD, {}))
    specs.append(("regretlab/DeliveryCorridor-v0", _GRIDWORLD, {"board": _CORRIDOR_4X1}))
    specs.append(
        (
            "regretlab/RechargingBandit-v0",
            f"{_LSD_BANDITS}:RechargingBanditEnv",
            {"p": _RECHARGING_P, "horizon": 100, "idle_allowed": True, "noise": "bernoulli"},
        )
    )
    specs.append(
        (
            "regretlab/LSDBandit-v0",
            f"{_LSD_BANDITS}:LSDBanditEnv",
            {"mu": _LSD_MU, "horizon": 100, "idle_allowed": False, "noise": "bernoulli"},
        )
    )
    specs.append(("regretlab/LCCG22Section4-v0", f"{_LSD_BANDITS}:make_lccg22", {"name": "section4"}))
    specs.append(("regretlab/LCCG22Supplementary-v0", f"{_LSD_BANDITS}:make_lccg22", {"name": "supplementary"}))
    return specs


def _register_all() -> tuple[str, ...]:
    ids = []
    for env_id, entry_point, kwargs in _specs():
        if env_id not in registry:
            register(id=env_id, entry_point=entry_point, kwargs=kwargs)
        ids.append(env_id)
    return tuple(ids)


#: Every id this package registers.
ENV_IDS: tuple[str, ...] = _register_all()


def __getattr__(name: str) -> Any:
    """Import the environment classes lazily, so ``import regretlab_envs`` only registers ids."""
    if name in ("BernoulliBanditEnv", "GaussianBanditEnv"):
        from regretlab_envs import bandits

        return getattr(bandits, name)
    if name in ("RechargingBanditEnv", "LSDBanditEnv"):
        from regretlab_envs import lsd_bandits

        return getattr(lsd_bandits, name)
    if name == "DeliveryGridworldEnv":
        from regretlab_envs import gridworld

        return gridworld.DeliveryGridworldEnv
    if name in ("presets", "gridworld"):
        import importlib

        return importlib.import_module(f"regretlab_envs.{name}")
    raise AttributeError(f"module 'regretlab_envs' has no attribute {name!r}")
