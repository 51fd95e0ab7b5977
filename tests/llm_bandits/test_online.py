"""``llm_bandits.online``: online learning and repeated games for any agent ([P25] protocol, spec §2.2-§2.4, §6.6)."""
import math

import numpy as np
import pytest

from regretlab.core.registry import Seeds, get
from regretlab.core.validate import ParamError
from regretlab.llm_bandits.full_info import exp3_regret_bound, hedge_regret_bound, run_full_info
from regretlab.llm_bandits.online import OnlineBaseline
from regretlab_envs.online import AdversarialBanditEnv, ExpertsEnv
from regretlab_envs.runner import replicate_seed, run_online_episode

EXP = get("llm_bandits.online")


@pytest.fixture(autouse=True)
def _factories_importable(monkeypatch):
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parent))


def run(over, R=20, seed=3, cell=0, workdir=None, start=0):
    return EXP.func(EXP.resolve(over), Seeds(seed, cell, R, start=start, workdir=workdir), "numpy")


@pytest.mark.parametrize("policy", ["hedge", "hedge_anytime", "ftl", "uniform"])
@pytest.mark.parametrize("generator", ["iid_uniform", "sine_trend", "alternating"])
def test_step_wise_baseline_plays_run_full_info(policy, generator):
    d = 2 if generator == "alternating" else 3
    env = ExpertsEnv(generator, d=d, horizon=40)
    ep = run_online_episode(env, OnlineBaseline(policy), replicate_seed(1, 0, 0))
    ref = run_full_info(np.asarray(ep["loss"]), policy)
    np.testing.assert_allclose(ep["pi"], ref["pi"][0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(ep["regret"], ref["regret"][0], rtol=0, atol=1e-12)


def test_step_wise_exp3_is_hedge_on_the_importance_weighted_estimates():
    T, d = 60, 3
    env = AdversarialBanditEnv("linear_trend", d=d, horizon=T)
    ep = run_online_episode(env, OnlineBaseline("exp3"), replicate_seed(2, 0, 0))
    eta = math.sqrt(2 * math.log(d) / (T * d))
    est = np.zeros(d)
    for t in range(T):
        w = np.exp(-eta * (est - est.min()))
        np.testing.assert_allclose(ep["pi"][t], w / w.sum(), atol=1e-14)
        a = ep["action"][t]
        est[a] += ep["observed_loss"][t] / ep["pi"][t][a]


def test_online_cell_outputs_and_bounds():
    T = 50
    out = run({"agent": "hedge", "generator": "linear_trend", "horizon": T}, R=40)
    assert out["regret"].shape == (40, T) and np.array_equal(out["t"], np.arange(1, T + 1))
    np.testing.assert_array_equal(out["final_regret"], out["regret"][:, -1])
    assert out["final_regret"].max() <= hedge_regret_bound(T, 3) + 1e-9  # deterministic bound, every replicate
    np.testing.assert_array_equal(out["realized_regret"], out["final_regret"])  # nothing is sampled
    assert np.isnan(out["cce_gap"]).all() and (out["malformed_rate"] == 0).all()
    b = run({"setting": "bandit", "agent": "exp3", "generator": "iid_uniform", "horizon": 200}, R=100)
    assert b["final_regret"].mean() + 3 * b["final_regret"].std() / 10 <= exp3_regret_bound(200, 3)
    assert np.isfinite(b["realized_regret"]).all()
    ftl = run({"agent": "ftl", "generator": "alternating", "d": 2, "horizon": 200}, R=2)
    assert ftl["final_regret"].min() >= 0.45 * 200  # FTL's linear regret on alternating losses


def test_text_interface_replays_the_numeric_cell():
    over = {"agent": "hedge", "generator": "sine_trend", "horizon": 30}
    num = run(over, R=4)
    txt = run({**over, "interface": "text", "history": "summary", "decimals": 6}, R=4)
    # the text agent renders its distribution with 6 decimals: the regret differs by rounding only
    np.testing.assert_allclose(txt["regret"], num["regret"], atol=30 * 3 * 5e-7)
    assert (txt["malformed_rate"] == 0).all() and (txt["calls"] == 30).all()


def test_results_do_not_depend_on_chunking_or_threads():
    over = {"setting": "game", "game": "matching_pennies", "opponent": "self", "agent": "ftpl", "horizon": 40}
    whole = run(over, R=6)
    parts = [run({**over, "concurrency": 1}, R=3, start=0), run(over, R=3, start=3)]
    for k in ("regret", "opponent_regret", "cce_gap", "nash_gap", "realized_regret"):
        np.testing.assert_array_equal(whole[k], np.concatenate([p[k] for p in parts]), err_msg=k)


def test_self_play_measures():
    T = 400
    out = run({"setting": "game", "game": "rock_paper_scissors", "opponent": "self", "agent": "hedge",
               "horizon": T}, R=10)
    assert np.all(out["final_regret"] <= 3 * math.sqrt(T)) and np.all(out["opponent_regret"] <= 3 * math.sqrt(T))
    assert np.all(out["cce_gap"] * T >= out["realized_regret"] - 1e-9)  # CCE gap = the larger realised regret / T
    assert out["cce_gap"].mean() < 0.1 and out["nash_gap"].mean() < 0.15
    fixed = run({"setting": "game", "game": "prisoners_dilemma", "opponent": "hedge", "agent": "hedge",
                 "horizon": T}, R=5)
    assert np.isnan(fixed["opponent_regret"]).all() and np.isfinite(fixed["nash_gap"]).all()


def test_text_self_play_with_game_names_and_a_python_agent():
    out = run({"setting": "game", "game": "prisoners_dilemma", "opponent": "self", "agent": "hedge",
               "interface": "text", "names": "game", "history": "summary", "horizon": 20}, R=3)
    assert (out["malformed_rate"] == 0).all() and (out["calls"] == 2 * 20).all()
    ftl = run({"agent": "_factories:online_ftl", "generator": "alternating", "d": 2, "horizon": 50}, R=2)
    assert ftl["final_regret"].min() >= 0.45 * 50
    with pytest.raises(ParamError, match="a text agent"):
        run({"agent": "_factories:online_ftl", "interface": "text", "horizon": 5}, R=1)


def test_resume_replays_finished_replicates_without_calls(tmp_path):
    import _factories

    over = {"agent": "_factories:counting_uniform_text", "interface": "text", "horizon": 10}
    _factories.CALLS["n"] = 0
    first = run(over, R=3, workdir=tmp_path)
    assert _factories.CALLS["n"] == 30
    again = run(over, R=3, workdir=tmp_path)
    assert _factories.CALLS["n"] == 30  # every replicate came from the work folder
    np.testing.assert_array_equal(first["regret"], again["regret"])


@pytest.mark.parametrize("over, key", [
    ({"agent": "exp3"}, "agent"),                                        # bandit rule with full information
    ({"setting": "bandit", "agent": "hedge"}, "agent"),                  # full-information rule, bandit feedback
    ({"game": "chicken"}, "game"),                                       # game option in the experts setting
    ({"names": "game", "interface": "text"}, "names"),
    ({"setting": "game", "d": 4}, "d"),
    ({"setting": "game", "random_size": 4}, "random_size"),              # only for game = random
    ({"agent": "ftl", "eta": 0.1}, "eta"),
    ({"history": "summary"}, "history"),                                 # text option, numeric interface
    ({"interface": "text", "history": "importance_weighted"}, "history"),
    ({"agent": "llm", "model": "m", "server": "vllm"}, "interface"),
    ({"agent": "llm", "interface": "text"}, "model"),
    ({"setting": "game", "opponent": "self", "interface": "text", "fallback": "abort_episode"}, "fallback"),
    ({"generator": "alternating"}, "d"),
    ({"agent": "hedgehog"}, "agent"),
    ({"model": "m"}, "model"),
])
def test_bad_online_cells_are_refused_naming_the_parameter(over, key):
    with pytest.raises((ParamError, TypeError)) as e:
        EXP.resolve(over)
    assert key in str(e.value)
