"""Loss generators of regretlab_envs.online (specs/llm-bandit-envs.md §2.2)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from regretlab_envs.online import GENERATORS, loss_sequence


@pytest.mark.parametrize("name", GENERATORS)
def test_shape_range_and_reproducibility(name):
    d = 2 if name == "alternating" else 4
    seq = loss_sequence(name, d, 60, 3, low=-1.0, high=3.0)
    assert seq.losses.shape == (60, d) and seq.name == name
    assert np.all(seq.losses >= seq.low) and np.all(seq.losses <= seq.high)
    r = seq.rescaled()
    assert r.min() >= 0.0 and r.max() <= 1.0
    again = loss_sequence(name, d, 60, 3, low=-1.0, high=3.0)
    assert np.array_equal(seq.losses, again.losses)
    if name != "alternating":
        assert (seq.low, seq.high) == (-1.0, 3.0)
        assert not np.array_equal(seq.losses, loss_sequence(name, d, 60, 4, low=-1.0, high=3.0).losses)
        assert np.unique(seq.losses).size > 10


def test_alternating_values():
    seq = loss_sequence("alternating", 2, 5)
    assert seq.losses.tolist() == [[0.5, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
    assert (seq.low, seq.high) == (0.0, 1.0)


def test_trend_generators_follow_their_trend():
    lin = loss_sequence("linear_trend", 3, 400, 0, noise=0.0, low=-100.0, high=100.0).losses
    inside = (np.abs(lin) < 100.0)[1:] & (np.abs(lin) < 100.0)[:-1]
    steps = np.diff(lin, axis=0)
    for i in range(3):  # exactly linear in t without noise, wherever it is not clipped
        assert inside[:, i].sum() > 50
        assert np.allclose(steps[inside[:, i], i], steps[inside[:, i], i][0])
    iid = loss_sequence("iid_gaussian", 3, 4000, 0, std=0.01).losses
    assert np.all(iid.std(axis=0) < 0.2)  # 0.01 * 10, apart from clipping


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [({"name": "walk"}, "name"), ({"d": 1}, "d"), ({"T": 0}, "T"), ({"low": 2.0, "high": 1.0}, "high"),
     ({"std": -1.0}, "std"), ({"noise": -0.1}, "noise"), ({"name": "alternating", "d": 3}, "d")],
)
def test_bad_input_names_the_parameter(kwargs, key):
    args = {"name": "iid_uniform", "d": 3, "T": 10, **kwargs}
    with pytest.raises(ValueError, match=key):
        loss_sequence(args.pop("name"), args.pop("d"), args.pop("T"), **args)


def test_import_pulls_in_neither_regretlab_nor_numba_nor_torch():
    code = ("import sys, regretlab_envs.online; "
            "bad = [m for m in ('regretlab', 'numba', 'torch') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize("generator", GENERATORS + ("adaptive_adversary",))
def test_experts_env_check_env_and_fallback(generator):
    import warnings

    from gymnasium.utils.env_checker import check_env

    from regretlab_envs.online import ExpertsEnv

    d = 2 if generator == "alternating" else 4
    env = ExpertsEnv(generator, d, 20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env, skip_render_check=True)
    env.reset(seed=0)
    for bad in ([-1.0] * d, [np.nan] * d, [0.0] * d, [1.0]):
        _, r, _, _, info = env.step(bad)
        assert info["fallback"] and np.allclose(info["pi"], 1.0 / d)
    _, r, _, _, info = env.step([2.0] + [0.0] * (d - 1))
    assert not info["fallback"] and info["pi"][0] == 1.0 and r == -info["loss"][0]
    with pytest.raises(ValueError, match="generator"):
        ExpertsEnv("random_walk")
    with pytest.raises(ValueError, match="d must be 2"):
        ExpertsEnv("alternating", 3)
