"""A misconfigured LLM agent through the sweep engine: a missing, empty or refused API key fails the cell before
any replicate is recorded, names the environment variable (never its value), and a resume once the key is set
plays every replicate against the endpoint (``llm_bandits.explore`` and ``llm_bandits.online``)."""
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from regretlab.core.results import ResultsDir, load
from regretlab.core.runner import resume, run_sweep

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _fake_chat import FakeChatServer, chat_completion  # noqa: E402

KEY_VAR = "REGRETLAB_FAULTS_TEST_KEY"
SECRET = "sk-faults-test-5f2a9c"
T, R = 6, 2
USAGE = (9, 2)  # prompt and completion tokens of every answer


def _plays_first(request) -> str:
    """An answer to every prompt: the first arm (explore) or all weight on the first action (online), read from the
    system prompt."""
    system = request["body"]["messages"][0]["content"]
    bandit = re.search(r"one of: (.*)\.$", system)
    if bandit:
        return f"<Answer>{bandit.group(1).split(', ')[0]}</Answer>"
    first = re.search(r"actions: (.*?)\. ", system).group(1).split(", ")[0]
    return f"<Answer>{first}: 1</Answer>"


@pytest.fixture
def chat_server():
    with FakeChatServer(_plays_first, usage=USAGE) as s:
        yield s


def _config(experiment: str, url: str) -> dict:
    params = {"agent": "llm", "interface": "text", "horizon": T, "base_url": url, "model": "fake-model",
              "api_key_env": KEY_VAR, "max_retries": 0}
    if experiment == "llm_bandits.explore":
        params.update(instance="k24_hard", checkpoints=3)
    else:
        params.update(setting="experts", d=3)
    return {"experiment": experiment, "replicates": R, "seed": 4, "params": params}


def _written(out) -> list:
    """Every replicate record and response cache under the results directory's work folder."""
    work = out / "work"
    return sorted(str(f) for f in work.rglob("*") if f.is_file()) if work.exists() else []


def _no_secret_on_disk(out) -> None:
    for f in out.rglob("*"):
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes(), f


@pytest.mark.parametrize("experiment", ["llm_bandits.explore", "llm_bandits.online"])
def test_missing_key_fails_the_cell_before_any_replicate_then_resume_asks_the_llm(chat_server, tmp_path,
                                                                                  monkeypatch, experiment):
    monkeypatch.delenv(KEY_VAR, raising=False)
    out = tmp_path / "run"
    rep = run_sweep(_config(experiment, chat_server.url), out=out, workers=1, quiet=True, plots=False)
    assert rep.failed == [0]
    err = ResultsDir(out).read_error(0)
    assert err is not None and "AgentConfigError" in err["error"] and KEY_VAR in err["error"]
    assert "is not set" in err["error"]
    assert chat_server.requests == []  # nothing was asked: no replicate of fallback arms
    assert _written(out) == []  # no replicate file, no response cache: a resume has nothing to reuse

    monkeypatch.setenv(KEY_VAR, SECRET)
    rep = resume(out, workers=1, quiet=True, plots=False)
    assert rep.ok and rep.ran == 1
    # every round of every replicate went to the endpoint, with the key
    assert len(chat_server.requests) == R * T
    assert all(r["headers"]["Authorization"] == f"Bearer {SECRET}" for r in chat_server.requests)
    d = load(out).cell(0)
    np.testing.assert_array_equal(d["calls"], T)
    np.testing.assert_array_equal(d["fallback_rate"], 0.0)
    np.testing.assert_array_equal(d["malformed_rate"], 0.0)
    assert len([f for f in _written(out) if re.search(r"replicate_\d+\.json$", f)]) == R
    _no_secret_on_disk(out)


def test_empty_key_fails_the_cell_naming_the_variable(chat_server, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_VAR, "")
    out = tmp_path / "empty"
    rep = run_sweep(_config("llm_bandits.explore", chat_server.url), out=out, workers=1, quiet=True, plots=False)
    assert rep.failed == [0]
    err = ResultsDir(out).read_error(0)["error"]
    assert KEY_VAR in err and "is empty" in err
    assert chat_server.requests == [] and _written(out) == []


def test_refused_key_fails_the_cell_at_the_first_answer_without_recording_a_replicate(chat_server, tmp_path,
                                                                                       monkeypatch):
    monkeypatch.setenv(KEY_VAR, SECRET)
    chat_server.reply = lambda request: (401, chat_completion(_plays_first(request), USAGE), {})  # refuse all
    out = tmp_path / "refused"
    rep = run_sweep(_config("llm_bandits.explore", chat_server.url), out=out, workers=1, quiet=True, plots=False)
    assert rep.failed == [0]
    err = ResultsDir(out).read_error(0)
    assert "AgentConfigError" in err["error"] and "HTTP 401" in err["error"] and KEY_VAR in err["error"]
    assert SECRET not in json.dumps(err)
    # one refused request per replicate started, no retry, no round recorded as a fallback
    assert 1 <= len(chat_server.requests) <= R
    assert not [f for f in _written(out) if f.endswith(".json")]
    _no_secret_on_disk(out)
