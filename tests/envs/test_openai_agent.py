"""OpenAIChatAgent against a scripted OpenAI-compatible server on 127.0.0.1 (specs/llm-bandit-envs.md §5, §10)."""
from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import pytest

from regretlab_envs.openai_agent import AgentConfigError, EndpointDown, OpenAIChatAgent, ResponseCache, TransportError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _fake_chat import FakeChatServer, chat_completion  # noqa: E402

SECRET = "sk-test-0123456789abcdef"
MSGS = [{"role": "system", "content": "You press buttons."}, {"role": "user", "content": "Which one?"}]


def ok(text="<Answer>blue</Answer>", **msg):
    return 200, chat_completion(text, (11, 3), **msg), {}


@pytest.fixture
def server():
    """Answers from ``server.script`` (steps popped in order), then ``server.reply`` (``ok()`` until replaced)."""
    with FakeChatServer(ok()) as fake:
        yield fake


def agent(server, **kw):
    kw.setdefault("backoff_s", 0.01)
    kw.setdefault("timeout_s", 2.0)
    return OpenAIChatAgent(server.url, "qwen-test", **kw)


def test_request_body_path_headers_and_usage(server, monkeypatch):
    monkeypatch.setenv("MY_KEY", SECRET)
    a = agent(server, api_key_env="MY_KEY", temperature=0.7, seed=5, stop=["</Answer>"],
              extra_body={"guided_choice": ["blue", "red"]})
    assert a(MSGS) == "<Answer>blue</Answer>"
    req = server.requests[-1]
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert req["headers"]["Content-Type"] == "application/json"
    assert req["body"] == {"model": "qwen-test", "messages": MSGS, "temperature": 0.7, "max_tokens": 256,
                           "seed": 5, "stop": ["</Answer>"], "guided_choice": ["blue", "red"]}
    assert a(MSGS, seed=9) == "<Answer>blue</Answer>" and server.requests[-1]["body"]["seed"] == 9
    assert (a.last_call.prompt_tokens, a.last_call.completion_tokens, a.last_call.attempts) == (11, 3, 1)
    assert a.usage["prompt_tokens"] == 22
    agent(server)(MSGS)  # no api_key_env: no Authorization header
    assert "Authorization" not in server.requests[-1]["headers"]


def test_retries_on_5xx_and_429_then_success(server):
    server.script = [(500, {"error": "x"}, {}), (503, {"error": "x"}, {}), (429, {"error": "x"}, {"Retry-After": "0"}),
                     ok("red")]
    a = agent(server, max_retries=3)
    assert a(MSGS) == "red" and a.last_call.attempts == 4 and len(server.requests) == 4


def test_5xx_beyond_retries_and_4xx_without_retry(server):
    server.script = [(500, {}, {})] * 3
    a = agent(server, max_retries=2)
    with pytest.raises(TransportError) as err:
        a(MSGS)
    assert err.value.kind == "HTTPError500" and len(server.requests) == 3
    server.script = [(400, {"error": "bad"}, {})]
    with pytest.raises(TransportError) as err:
        a(MSGS)
    assert err.value.kind == "HTTPError400" and len(server.requests) == 4 and a.last_call.status == "error"


def test_timeout_retried_and_exhausted(server):
    server.script = [("sleep", 0.6, ok()), ok("green")]
    a = agent(server, timeout_s=0.2, max_retries=1)
    assert a(MSGS) == "green" and a.last_call.attempts == 2
    server.script = [("sleep", 0.6, ok())] * 2
    with pytest.raises(TransportError) as err:
        a(MSGS)
    assert err.value.kind == "Timeout"


def test_malformed_replies_and_null_content(server):
    server.script = [(200, b"not json", {}), (200, {"choices": []}, {}), (200, {"id": 1}, {})]
    a = agent(server, max_retries=2)
    with pytest.raises(TransportError) as err:
        a(MSGS)
    assert err.value.kind == "MalformedReply" and len(server.requests) == 3
    server.script = [(200, b"{trunc", {}), ok(None, reasoning_content="thinking")]
    assert a(MSGS) == "" and a.last_call.reasoning_content == "thinking"


def test_cache_hits_misses_resume_and_truncated_line(server, tmp_path, monkeypatch):
    monkeypatch.setenv("MY_KEY", SECRET)
    path = tmp_path / "cache.jsonl"
    a = agent(server, cache=path, api_key_env="MY_KEY")
    server.reply = ok("blue")
    assert a(MSGS) == "blue" and len(server.requests) == 1
    server.reply = ok("red")
    assert a(MSGS) == "blue" and len(server.requests) == 1 and a.last_call.cached
    assert a(MSGS, seed=1) == "red" and len(server.requests) == 2
    assert agent(server, cache=path, temperature=1.0)(MSGS) == "red" and len(server.requests) == 3
    assert a([*MSGS, {"role": "user", "content": "again"}]) == "red" and len(server.requests) == 4
    with open(path, "a") as fh:
        fh.write('{"key": "abc", "cont')  # a killed writer
    b = agent(server, cache=path, api_key_env="MY_KEY")
    assert b(MSGS) == "blue" and len(server.requests) == 4 and len(ResponseCache(path)) == 4
    assert SECRET not in path.read_text() and SECRET not in repr(a) and SECRET not in json.dumps(a.records())
    server.script = [(500, {}, {})] * 4
    with pytest.raises(TransportError) as err:
        a(MSGS, seed=77)
    assert SECRET not in str(err.value) and len(ResponseCache(path)) == 4  # errors are not cached


def test_concurrency_limit(server):
    server.reply = ("sleep", 0.2, ok())
    a = agent(server, max_concurrency=2)
    threads = [threading.Thread(target=a, args=([{"role": "user", "content": str(i)}],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert server.max_inflight == 2 and len(a.calls) == 6


def test_endpoint_down_after_failures_in_row_shared_by_forks(server, tmp_path):
    a = agent(server, max_retries=0, max_consecutive_failures=3, cache=tmp_path / "c.jsonl")
    assert a(MSGS) == "<Answer>blue</Answer>"  # cached from now on
    server.script = [(500, {}, {}), ok("red"), (500, {}, {}), (503, {}, {}), (500, {}, {})]
    other = [{"role": "user", "content": f"q{i}"} for i in range(8)]
    with pytest.raises(TransportError) as err:
        a([other[0]])
    assert type(err.value) is TransportError  # 1 in a row
    assert a([other[1]]) == "red"  # a reply resets the count
    f = a.fork(seed=3)
    for i in (2, 3):
        with pytest.raises(TransportError) as err:
            f([other[i]])
        assert type(err.value) is TransportError
    n = len(server.requests)
    with pytest.raises(EndpointDown, match=r"looks down: 3 calls in a row.*HTTPError500"):
        a([other[4]])  # the third failure in a row, counted across the fork and its parent
    assert len(server.requests) == n + 1
    with pytest.raises(EndpointDown, match=server.url):
        f([other[5]])  # down: no request is sent
    assert len(server.requests) == n + 1
    assert a(MSGS) == "<Answer>blue</Answer>"  # the cache still answers
    with pytest.raises(ValueError, match="max_consecutive_failures"):
        agent(server, max_consecutive_failures=0)
    never = agent(server, max_retries=0, max_consecutive_failures=None)
    server.script = [(500, {}, {})] * 5
    for i in range(5):
        with pytest.raises(TransportError) as err:
            never([other[i]])
        assert type(err.value) is TransportError


def test_missing_key_and_bad_arguments(server, monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    with pytest.raises(AgentConfigError, match="NO_SUCH_KEY"):
        agent(server, api_key_env="NO_SUCH_KEY")(MSGS)
    for kw, key in (({"temperature": -1.0}, "temperature"), ({"max_tokens": 0}, "max_tokens"),
                    ({"timeout_s": 0.0}, "timeout_s"), ({"max_retries": -1}, "max_retries"),
                    ({"max_concurrency": 0}, "max_concurrency"), ({"api_key_env": "MY KEY"}, "api_key_env")):
        with pytest.raises(ValueError, match=key):
            agent(server, **kw)
    with pytest.raises(ValueError, match="base_url"):
        OpenAIChatAgent("localhost:8000", "m")
    o = OpenAIChatAgent.preset("ollama", "llama3")
    assert o.base_url == "http://localhost:11434/v1" and o.model == "llama3"
    with pytest.raises(ValueError, match="server"):
        OpenAIChatAgent.preset("tgi", "m")


# ---------------------------------------------------------------------------------------------------
# Configuration errors: raised before any request, never taken by the runner for one failed round


def test_missing_or_empty_key_is_a_config_error_at_construction_with_no_request(server, monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    with pytest.raises(AgentConfigError, match=r"environment variable NO_SUCH_KEY .* is not set") as err:
        agent(server, api_key_env="NO_SUCH_KEY")
    assert isinstance(err.value, ValueError) and not isinstance(err.value, TransportError)
    monkeypatch.setenv("NO_SUCH_KEY", "   ")
    with pytest.raises(AgentConfigError, match=r"NO_SUCH_KEY .* is empty"):
        agent(server, api_key_env="NO_SUCH_KEY")
    # set when the agent was built, unset before a call: the call raises before sending anything
    monkeypatch.setenv("NO_SUCH_KEY", SECRET)
    a = agent(server, api_key_env="NO_SUCH_KEY")
    monkeypatch.delenv("NO_SUCH_KEY")
    with pytest.raises(AgentConfigError, match="NO_SUCH_KEY") as err:
        a.fork(seed=1)(MSGS)
    assert SECRET not in str(err.value) and server.requests == []
    with pytest.raises(AgentConfigError, match="base_url"):
        OpenAIChatAgent("ftp://example.org/v1", "m")
    assert OpenAIChatAgent.preset("vllm", "m", base_url="http://127.0.0.1:9/v1/").base_url == "http://127.0.0.1:9/v1"
    with pytest.raises(AgentConfigError, match="base_url"):
        OpenAIChatAgent.preset("vllm", "m", base_url="localhost:8000")


def test_a_refused_key_is_a_config_error_without_retries_and_never_quoted(server, monkeypatch):
    monkeypatch.setenv("MY_KEY", SECRET)
    server.script = [(401, {"error": f"bad key {SECRET}"}, {})]
    a = agent(server, api_key_env="MY_KEY", max_retries=3)
    with pytest.raises(AgentConfigError, match=r"HTTP 401.*environment variable MY_KEY") as err:
        a(MSGS)
    assert len(server.requests) == 1 and SECRET not in str(err.value)
    assert a.last_call.status == "error" and a.last_call.error_kind == "HTTPError401"
    with pytest.raises(AgentConfigError, match="HTTP 401"):  # the agent and its forks ask no more
        a.fork(seed=2)([{"role": "user", "content": "another question"}])
    assert len(server.requests) == 1
    server.script = [(403, {}, {})]
    with pytest.raises(AgentConfigError, match=r"HTTP 403.*no key"):
        agent(server)(MSGS)


def test_runner_ends_the_episode_on_a_config_error_instead_of_a_fallback_round(server, monkeypatch):
    from regretlab_envs.bandits import BernoulliBanditEnv
    from regretlab_envs.runner import ask, replicate_seed, run_text_episode
    from regretlab_envs.text import TextBanditWrapper

    monkeypatch.setenv("MY_KEY", SECRET)
    a = agent(server, api_key_env="MY_KEY")
    monkeypatch.delenv("MY_KEY")
    with pytest.raises(AgentConfigError, match="MY_KEY"):
        ask(a, MSGS, ("blue", "red"), "single", False, 2)
    env = TextBanditWrapper(BernoulliBanditEnv([0.2, 0.8], 5))
    with pytest.raises(AgentConfigError, match="MY_KEY"):
        run_text_episode(env, a, replicate_seed(0, 0, 0))
    assert server.requests == [] and a.calls == []
    # a transport failure of one call is still one failed round (status error, fallback arm)
    server.script = [(400, {}, {})]
    monkeypatch.setenv("MY_KEY", SECRET)
    reply, first, status, tries = ask(a, MSGS, ("blue", "red"), "single", False, 2)
    assert (reply, first, status, tries) == ("", "error:TransportError", "error:TransportError", 0)
