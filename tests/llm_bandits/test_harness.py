"""The exploration harness (``llm_bandits.explore``): outputs from histories, agents, refusals, LLM resume."""
import csv
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from regretlab.core.registry import Seeds, get
from regretlab.core.results import load
from regretlab.core.runner import resume, run_sweep
from regretlab.core.validate import ParamError
from regretlab.llm_bandits import metrics

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _fake_chat import FakeChatServer  # noqa: E402

EXP = get("llm_bandits.explore")


@pytest.fixture(autouse=True)
def _factories_importable(monkeypatch):
    """'_factories:...' agents live beside this file."""
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parent))


def run(over, R=50, seed=3, cell=0, backend="numpy", workdir=None):
    return EXP.func(EXP.resolve(over), Seeds(seed, cell, R, workdir=workdir), backend)


def test_bandit_outputs_on_a_hand_history():
    mu = np.array([0.4, 0.6, 0.6])
    a = np.array([[0, 1, 2, 0, 0], [0, 0, 0, 0, 0]])
    y = np.array([[1.0, 0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 1.0, 0.0, 0.0]])
    out = metrics.bandit_outputs(a, y, mu, [1, 3, 5])
    np.testing.assert_allclose(out["regret"], [[0.2, 0.2, 0.6], [0.2, 0.6, 1.0]])
    np.testing.assert_allclose(out["final_regret"], [0.6, 1.0])
    np.testing.assert_array_equal(out["counts"], [[3, 1, 1], [5, 0, 0]])
    np.testing.assert_allclose(out["reward_mean"], [0.6, 0.2])
    # replicate 0: rounds 1-3 try untried arms (greedy under 'optimistic'); round 4: means (1, 0, 1) -> arm 0 is
    # greedy; round 5: means (0.5, 0, 1) -> arm 0 is not. Replicate 1: rounds 2-5 pick a played arm while
    # untried arms remain -> not greedy; round 1 is.
    np.testing.assert_allclose(out["greedy_frac"], [4 / 5, 1 / 5])
    np.testing.assert_array_equal(out["last_best"], [3, 0])
    np.testing.assert_allclose(out["best_frac"], [2 / 5, 0.0])
    # the same quantities as the metric functions
    sf = metrics.suffix_failure(a, mu)
    assert sf[3] == np.mean(out["last_best"] < 4) and sf[0] == np.mean(out["last_best"] < 1)
    assert metrics.greedy_frac(a, y, mu) == pytest.approx(out["greedy_frac"].mean())
    with pytest.raises(ParamError, match="checkpoints"):
        metrics.bandit_outputs(a, y, mu, [3, 2])


def test_numeric_baseline_is_the_bandit_simulator():
    from regretlab.bandits import simulate

    out = run({"agent": "ucb_k24", "horizon": 60}, R=20)
    ref = simulate(out["means"], "ucb_k24", 60, states=Seeds(3, 0, 20).states, checkpoints=out["t"],
                   backend="python")
    for k in ref:
        np.testing.assert_array_equal(out[k], ref[k])
    assert not out["malformed_rate"].any() and (out["rounds"] == 60).all()
    np.testing.assert_array_equal(out["expected_regret"], out["final_regret"])


def test_ts_alias_and_sigma_scaling_follow_the_family():
    from regretlab.bandits import simulate

    out = run({"agent": "ts", "instance": "bb_gauss_hard_5", "horizon": 40}, R=8)
    ref = simulate(out["means"], "ts_gauss", 40, family="gaussian", sigma=3.0, states=Seeds(3, 0, 8).states,
                   checkpoints=out["t"], backend="python", noise=3.0, prior_var=9.0)
    np.testing.assert_array_equal(out["final_regret"], ref["final_regret"])
    unscaled = run({"agent": "ts", "instance": "bb_gauss_hard_5", "horizon": 40, "sigma_scaled": False}, R=8)
    assert not np.array_equal(unscaled["final_regret"], out["final_regret"])
    bern = run({"agent": "ts", "horizon": 40}, R=8)
    ref = simulate(bern["means"], "ts_beta", 40, states=Seeds(3, 0, 8).states, checkpoints=bern["t"],
                   backend="python")
    np.testing.assert_array_equal(bern["final_regret"], ref["final_regret"])


def test_text_pipeline_matches_the_vectorised_baseline_in_distribution():
    R = 240
    num = run({"agent": "ucb_k24"}, R=R, backend="numba")
    txt = run({"agent": "ucb_k24", "interface": "text", "history": "raw"}, R=R)
    assert txt["malformed_rate"].max() == 0 and txt["fallback_rate"].max() == 0
    assert (txt["calls"] == 100).all()  # one call per round, no re-prompts
    se = np.hypot(num["final_regret"].std() / np.sqrt(R), txt["final_regret"].std() / np.sqrt(R))
    assert abs(num["final_regret"].mean() - txt["final_regret"].mean()) < 4 * se
    assert abs(num["greedy_frac"].mean() - txt["greedy_frac"].mean()) < 0.03
    # the scripted greedy agent fails where UCB does not ([K24]: about 0.47 vs 0.02 at T/2 on this instance)
    greedy = run({"agent": "greedy", "interface": "text"}, R=R)
    assert (greedy["last_best"] < 50).mean() > 0.35 and (txt["last_best"] < 50).mean() < 0.08


def test_replicates_do_not_depend_on_threads_or_chunking():
    over = {"agent": "eps_greedy", "eps": 0.1, "interface": "text", "horizon": 30}
    one = run({**over, "concurrency": 1}, R=6)
    many = run({**over, "concurrency": 5}, R=6)
    tail = EXP.func(EXP.resolve({**over, "concurrency": 3}), Seeds(3, 0, 3, start=3), "numpy")
    for k in one:
        np.testing.assert_array_equal(one[k], many[k])
        if k not in ("t", "means"):
            np.testing.assert_array_equal(one[k][3:], tail[k])


def test_factory_agents_numeric_and_text():
    greedy = run({"agent": "_factories:numeric_greedy", "horizon": 40}, R=30)
    assert (greedy["greedy_frac"] == 1.0).all()  # lowest-index greedy is always in the greedy set
    junk = run({"agent": "_factories:always_garbage", "interface": "text", "horizon": 20, "max_reprompts": 1},
               R=4)
    np.testing.assert_array_equal(junk["malformed_rate"], 1.0)
    np.testing.assert_array_equal(junk["fallback_rate"], 1.0)
    np.testing.assert_array_equal(junk["reprompts"], 1.0)
    np.testing.assert_array_equal(junk["calls"], 40)  # T x (1 + max_reprompts)
    aborted = run({"agent": "_factories:always_garbage", "interface": "text", "horizon": 20,
                   "fallback": "abort_episode", "max_reprompts": 0}, R=3)
    np.testing.assert_array_equal(aborted["aborted"], 1)
    np.testing.assert_array_equal(aborted["rounds"], 0)
    assert np.isnan(aborted["final_regret"]).all()  # never a number computed over fewer rounds
    with pytest.raises(ParamError, match="a text agent"):
        run({"agent": "_factories:numeric_greedy", "interface": "text", "horizon": 5}, R=1)


@pytest.mark.parametrize("over, key", [
    ({"history": "raw"}, "history"),                                   # text option, numeric interface
    ({"model": "m"}, "model"),                                         # endpoint option, not an llm
    ({"agent": "llm", "interface": "text"}, "model"),
    ({"agent": "llm", "interface": "text", "model": "m"}, "base_url"),
    ({"agent": "llm", "interface": "text", "model": "m", "base_url": "localhost:8000"}, "base_url"),
    ({"agent": "llm", "model": "m", "server": "vllm"}, "interface"),
    ({"agent": "llm", "interface": "text", "model": "m", "server": "vllm", "api_key_env": "sk-123"},
     "api_key_env"),
    ({"agent": "ucb_k24", "eps": 0.1}, "eps"),
    ({"agent": "ucb9"}, "agent"),
    ({"agent": "ts_beta", "instance": "bb_gauss_easy_5"}, "agent"),
    ({"agent": "no_such_module_xyz:f"}, "agent"),
    ({"agent": "_factories:missing"}, "agent"),
    ({"agent": "_factories:not_callable"}, "agent"),
    ({"checkpoints": 1}, "checkpoints"),
    ({"instance": "k24_hardd"}, "instance"),
])
def test_bad_cells_are_refused_naming_the_parameter(over, key):
    with pytest.raises((ParamError, TypeError)) as e:
        EXP.resolve(over)
    assert key in str(e.value)
    assert "sk-123" not in str(e.value)


# ---------------------------------------------------------------------------------------------------
# The LLM path against a scripted OpenAI-compatible server, through the sweep engine


def _policy(request) -> str:
    """An arm picked from the request (deterministic), garbage every 7th round unless re-prompted."""
    body = request["body"]
    system, user = body["messages"][0]["content"], body["messages"][1]["content"]
    names = re.search(r"one of: (.*)\.$", system).group(1).split(", ")
    rnd = int(re.search(r"round (\d+) of", user).group(1))
    if rnd % 7 == 0 and len(body["messages"]) == 2:
        return "Hmm, tough call."
    return f"I pick <Answer>{names[(rnd * 3 + body.get('seed', 0)) % len(names)]}</Answer>"


@pytest.fixture
def policy_server():
    with FakeChatServer(_policy, usage=(50, 5)) as s:
        yield s


def test_llm_cell_runs_caches_and_resumes_without_requery(policy_server, tmp_path, monkeypatch):
    monkeypatch.setenv("REGRETLAB_TEST_KEY", "sk-very-secret")
    T, R = 21, 3
    cfg = {"experiment": "llm_bandits.explore", "replicates": R, "seed": 5,
           "params": {"instance": "k24_hard", "interface": "text", "horizon": T, "checkpoints": 5},
           "zip": {"agent": ["llm", "ucb_k24"], "base_url": [policy_server.url, "default"],
                   "model": ["fake-model", "default"], "api_key_env": ["REGRETLAB_TEST_KEY", "default"]},
           "plots": [{"name": "metrics", "kind": "llm_bandits.metric_table"},
                     {"name": "curves", "kind": "llm_bandits.regret_curves"}]}
    out = tmp_path / "llm"
    rep = run_sweep(cfg, out=out, workers=1, quiet=True)
    assert rep.ok, rep
    n_first = len(policy_server.requests)
    # every round asked once; every 7th round malformed -> re-prompted once (T // 7 = 3 per replicate)
    assert n_first == R * (T + T // 7)
    res = load(out)
    d = res.cell(0)
    np.testing.assert_allclose(d["malformed_rate"], (T // 7) / T)
    np.testing.assert_array_equal(d["fallback_rate"], 0.0)
    np.testing.assert_array_equal(d["calls"], T + T // 7)
    np.testing.assert_array_equal(d["prompt_tokens"], 50 * (T + T // 7))
    seeds = {r["body"]["seed"] for r in policy_server.requests}
    assert len(seeds) == R  # one request seed per replicate, from its agent stream
    work = out / "work" / "c00000"
    assert (work / "responses.jsonl").exists() and len(list((work / "replicates").glob("*.json"))) == R
    # the key is sent, never written
    for f in out.rglob("*"):
        if f.is_file():
            assert b"sk-very-secret" not in f.read_bytes(), f
    assert (out / "plots" / "metrics.md").exists() and "llm:fake-model" in (out / "plots" / "metrics.md").read_text()
    # a crash inside the cell: the cell's result and one replicate's record are lost; resume re-asks nothing
    (out / "cells" / "c00000.npz").unlink()
    (work / "replicates" / "replicate_1.json").unlink()
    resume(out, workers=1, quiet=True)
    assert len(policy_server.requests) == n_first
    again = load(out).cell(0)
    for k in d:
        if k != "cached_calls":
            np.testing.assert_array_equal(again[k], d[k])
    np.testing.assert_array_equal(again["cached_calls"][1], T + T // 7)  # replayed from the response cache


@pytest.mark.parametrize("experiment", ["llm_bandits.explore", "llm_bandits.online"])
def test_a_down_endpoint_fails_the_cell_naming_it_and_the_sweep_goes_on(tmp_path, experiment):
    dead = FakeChatServer()
    dead.close()  # nothing listens on this port any more: every request is refused
    params = {"interface": "text", "horizon": 10}
    if experiment == "llm_bandits.explore":
        params["instance"] = "k24_hard"
        base = "ucb_k24"
    else:
        base = "hedge"
    cfg = {"experiment": experiment, "replicates": 2, "seed": 1, "params": params,
           "zip": {"agent": ["llm", base], "base_url": [dead.url, "default"], "model": ["m", "default"],
                   "max_retries": [0, "default"]}}
    out = tmp_path / "down"
    rep = run_sweep(cfg, out=out, workers=1, quiet=True)
    assert not rep.ok
    rows = {r["agent"]: r for r in csv.DictReader((out / "summary.csv").open())}
    assert rows[base]["status"] == "ok"
    assert rows["llm"]["status"] == "failed"
    assert "looks down: 3 calls in a row" in rows["llm"]["error"] and dead.url in rows["llm"]["error"]


def test_reproduce_quick_draws_every_figure(tmp_path):
    from pathlib import Path

    from regretlab.cli import main

    root = Path(__file__).resolve().parents[2] / "experiments"
    out = tmp_path / "out"
    assert main(["reproduce", "llm_bandits", "--quick", "--configs", str(root), "--out", str(out), "--workers", "1",
                 "-q"]) == 0
    for name, figures in {"k24_baselines": ("metrics", "failure_scatter", "regret_curves"),
                          "banditbench": ("metrics", "regret_curves", "regret_form", "win_matrix"),
                          "text_pipeline": ("metrics", "failure_scatter", "regret_curves"),
                          "online_regret": ("online",), "games": ("online",)}.items():
        plots = out / "llm_bandits" / name / "plots"
        for f in figures:
            assert (plots / f"{f}.png").exists() and (plots / f"{f}.provenance.json").exists(), (name, f)
    table = (out / "llm_bandits" / "k24_baselines" / "plots" / "metrics.csv").read_text().splitlines()
    assert len(table) == 1 + 28 and table[0].startswith("instance,agent,T,K,R")
    text = (out / "llm_bandits" / "text_pipeline" / "plots" / "metrics.md").read_text()
    assert "greedy [text: buttons, raw" in text
    import csv

    bb = out / "llm_bandits" / "banditbench" / "plots"
    form = {(r["instance"], r["agent"]): r for r in csv.DictReader(open(bb / "regret_form.csv"))}
    assert len(form) == 2 * 8
    for inst in ("bb_bern_easy_5", "bb_gauss_hard_5"):
        assert form[inst, "uniform"]["sublinear"] == "False" and form[inst, "ts"]["sublinear"] == "True"
        assert float(form[inst, "ts"]["form_beta"]) < float(form[inst, "uniform"]["form_beta"])
    wins = {r["agent"]: r for r in csv.DictReader(open(bb / "win_matrix.csv"))}
    assert float(wins["uniform"]["win_rate"]) == 0.0 and wins["ts"]["vs uniform"] == "2/2"
    on = {(r["setting"], r["agent"]): r for r in csv.DictReader(open(out / "llm_bandits" / "online_regret" / "plots"
                                                                      / "online.csv"))}
    trend = "experts: linear_trend, d=3"
    assert on[trend, "uniform"]["sublinear"] == "False" and on[trend, "hedge"]["sublinear"] == "True"
    assert float(on[trend, "hedge"]["regret"]) < float(on[trend, "uniform"]["regret"]) / 3
    assert float(on["bandit: linear_trend, d=3", "exp3"]["regret"]) < float(on["bandit: linear_trend, d=3",
                                                                                "uniform"]["regret"])
    games = {(r["setting"], r["agent"]): r for r in csv.DictReader(open(out / "llm_bandits" / "games" / "plots"
                                                                         / "online.csv"))}
    assert len(games) == 2 * 3 * 2
    pd = "game: prisoners_dilemma vs self (realized)"
    assert float(games[pd, "ftl"]["nash_gap"]) < 0.01 < float(games[pd, "hedge"]["nash_gap"]) < 0.1
