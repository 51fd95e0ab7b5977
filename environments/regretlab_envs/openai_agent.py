"""A text agent behind an OpenAI-compatible chat-completions endpoint (specs/llm-bandit-envs.md §5).

``OpenAIChatAgent(base_url, model, api_key_env=None, temperature=0.0, max_tokens=256, top_p=None, seed=None,
stop=None, timeout_s=60, max_retries=3, backoff_s=1.0, extra_body=None, cache=None, max_concurrency=8)`` is a
callable ``agent(messages, seed=None) -> str`` for :mod:`regretlab_envs.runner`. Standard library only
(``urllib.request``).

* Request: POST ``{base_url}/chat/completions`` with JSON ``{model, messages, temperature, max_tokens}`` plus
  ``top_p``, ``seed`` and ``stop`` when set, and every key of ``extra_body``. The reply is
  ``choices[0].message.content`` (``""`` when null, e.g. reasoning-only output; a ``reasoning_content`` field is
  kept in the call record only). ``usage`` tokens, latency and attempts are recorded per call in ``calls``.
* Retries: connection errors, timeouts, 429 and 5xx, and malformed 200 replies (not JSON or without
  ``choices[0].message``; servers under load sometimes truncate) are retried up to ``max_retries`` more times,
  waiting ``backoff_s * 2**attempt`` (a numeric ``Retry-After`` of a 429 instead, capped at 30 s). Other 4xx are
  not retried. When no attempt succeeds, :class:`TransportError` is raised with ``kind`` = ``Timeout``,
  ``URLError``, ``HTTPError<code>`` or ``MalformedReply``; the runner records it as status ``error``. After
  ``max_consecutive_failures`` (default 3, None: never) such failures in a row, the endpoint is taken as down:
  :class:`EndpointDown` is raised, then and on every later call that the cache cannot answer, and the runner
  lets it end the run (a harness cell fails naming the URL instead of recording a run of fallbacks).
* Configuration errors: a base URL that is not ``http(s)://``, a bad ``api_key_env`` name, an ``api_key_env``
  whose variable is unset or empty (checked when the agent is built and again at each call) and a key the
  server refuses (HTTP 401 or 403) raise :class:`AgentConfigError`, naming the variable, never its value. Every
  later call would fail the same way (after a refusal, the agent and its forks raise it again without a
  request), so the runner lets it end the run, as :class:`EndpointDown`, instead of recording a round of
  fallback arms as the agent's answers.
* Secrets: the key is read from ``os.environ[api_key_env]`` at each call and sent as ``Authorization: Bearer``;
  it is never stored on the object, in ``repr``, in call records, in the cache or in error messages.
* Cache: ``cache`` (a path or :class:`ResponseCache`) is a JSONL file keyed by the SHA-256 of the full request
  (base URL and body: model, messages, sampling parameters, seed), so a re-run costs nothing and a killed run
  resumes without re-querying; a truncated last line (a process killed mid-write) is skipped. Errors are not
  cached.
* Concurrency: at most ``max_concurrency`` requests in flight across threads.

Servers (their documented defaults, :data:`PRESETS`): vLLM ``http://localhost:8000/v1`` (``extra_body`` may
carry server fields such as ``guided_choice``; constrained decoding changes the behaviour under test, so it is
off unless asked for); llama.cpp ``llama-server`` ``http://127.0.0.1:8080/v1`` (serves one model and ignores
``model``); Ollama ``http://localhost:11434/v1`` (wants a non-empty key, which it ignores: without
``api_key_env`` the preset sends ``ollama``; supports ``seed``).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from regretlab_envs._validate import check_float, check_int

__all__ = ["PRESETS", "AgentConfigError", "CallRecord", "EndpointDown", "OpenAIChatAgent", "ResponseCache",
           "TransportError"]

PRESETS = {"vllm": "http://localhost:8000/v1", "llama_cpp": "http://127.0.0.1:8080/v1",
           "ollama": "http://localhost:11434/v1"}
_OWNER = "OpenAIChatAgent"


class TransportError(RuntimeError):
    """No usable reply after the retries; ``kind`` names the failure (never contains the key)."""

    def __init__(self, kind: str, detail: str = ""):
        self.kind = kind
        super().__init__(f"{kind}: {detail}" if detail else kind)


class EndpointDown(TransportError):
    """``max_consecutive_failures`` calls in a row (across an agent and its forks) got no reply: the endpoint is
    taken as down. The runner does not treat this as one malformed answer but lets it end the episode, so a
    harness cell fails with this message instead of recording a run made of fallbacks."""


class AgentConfigError(ValueError):
    """The agent is set up so that no call can succeed (module docstring: a missing or empty API-key variable, a
    non-HTTP base URL, a key the server refuses). Not a failure of one round: :mod:`regretlab_envs.runner`
    re-raises it, so the episode ends and a harness cell fails with this message before any replicate is
    recorded. The message names the environment variable, never its value."""


class _Health:
    """Consecutive transport failures, shared by an agent and its forks."""

    def __init__(self, limit: int | None):
        self.limit = limit
        self.in_row = 0
        self.down: str | None = None
        self.refused: str | None = None  # the AgentConfigError of a refused key: every later call raises it
        self.lock = threading.Lock()

    def ok(self) -> None:
        with self.lock:
            self.in_row = 0

    def failed(self, base_url: str, err: TransportError) -> TransportError:
        with self.lock:
            self.in_row += 1
            if self.limit is not None and self.in_row >= self.limit and self.down is None:
                self.down = (f"{_OWNER}: the endpoint {base_url} looks down: {self.in_row} calls in a row got no "
                             f"reply after their retries (last: {err}); start the server or fix base_url")
            return EndpointDown(err.kind, self.down) if self.down else err


@dataclass
class CallRecord:
    key: str
    attempts: int
    latency_s: float
    prompt_tokens: int | None
    completion_tokens: int | None
    cached: bool
    status: str
    error_kind: str | None = None
    reasoning_content: str | None = None


class ResponseCache:
    """Append-only JSONL of {"key", "content", "usage", "reasoning_content"}; thread-safe."""

    def __init__(self, path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._data: dict[str, dict] = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a killed process
                if isinstance(rec, dict) and "key" in rec:
                    self._data[rec["key"]] = rec

    def get(self, key: str) -> dict | None:
        with self._lock:
            return self._data.get(key)

    def put(self, key: str, record: dict) -> None:
        rec = {"key": key, **record}
        line = json.dumps(rec, sort_keys=True) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
            self._data[key] = rec

    def __len__(self) -> int:
        return len(self._data)


class OpenAIChatAgent:
    """Chat completions over HTTP (module docstring)."""

    def __init__(self, base_url: str, model: str, *, api_key_env: str | None = None, temperature: float = 0.0,
                 max_tokens: int = 256, top_p: float | None = None, seed: int | None = None, stop=None,
                 timeout_s: float = 60.0, max_retries: int = 3, backoff_s: float = 1.0, extra_body: dict | None = None,
                 cache=None, max_concurrency: int = 8, max_consecutive_failures: int | None = 3,
                 name: str | None = None, _default_key: str | None = None):
        if not isinstance(base_url, str) or not re.match(r"https?://\S+$", base_url):
            raise AgentConfigError(f"{_OWNER}: base_url must start with http:// or https://, got {base_url!r}")
        if not isinstance(model, str):
            raise TypeError(f"{_OWNER}: model must be a string, got {model!r}")
        if api_key_env is not None and not (isinstance(api_key_env, str)
                                            and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", api_key_env)):
            raise AgentConfigError(f"{_OWNER}: api_key_env must be an environment variable name or None, got "
                                   f"{api_key_env!r}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.temperature = check_float(_OWNER, "temperature", temperature, low=0.0)
        self.max_tokens = check_int(_OWNER, "max_tokens", max_tokens, low=1)
        self.top_p = None if top_p is None else check_float(_OWNER, "top_p", top_p, low=0.0, low_open=True)
        self.seed = None if seed is None else check_int(_OWNER, "seed", seed)
        self.stop = stop
        self.timeout_s = check_float(_OWNER, "timeout_s", timeout_s, low=0.0, low_open=True)
        self.max_retries = check_int(_OWNER, "max_retries", max_retries, low=0)
        self.backoff_s = check_float(_OWNER, "backoff_s", backoff_s, low=0.0)
        if extra_body is not None and not isinstance(extra_body, dict):
            raise TypeError(f"{_OWNER}: extra_body must be a dict or None, got {extra_body!r}")
        self.extra_body = dict(extra_body or {})
        self.cache = cache if cache is None or isinstance(cache, ResponseCache) else ResponseCache(cache)
        self.max_concurrency = check_int(_OWNER, "max_concurrency", max_concurrency, low=1)
        self.name = name or f"openai:{model}"
        self._default_key = _default_key  # a public placeholder (Ollama's), never a secret
        if max_consecutive_failures is not None:
            check_int(_OWNER, "max_consecutive_failures", max_consecutive_failures, low=1)
        self._health = _Health(max_consecutive_failures)
        self._sem = threading.BoundedSemaphore(self.max_concurrency)
        self._lock = threading.Lock()
        self.calls: list[CallRecord] = []
        self.last_call: CallRecord | None = None
        self.check_key()

    @classmethod
    def preset(cls, server: str, model: str, *, base_url: str | None = None, **kw) -> OpenAIChatAgent:
        """The agent for a server's documented default URL (:data:`PRESETS`), or for ``base_url`` with that
        server's defaults (Ollama's placeholder key)."""
        if server not in PRESETS:
            raise AgentConfigError(f"{_OWNER}.preset: server must be one of {list(PRESETS)}, got {server!r}")
        if server == "ollama" and kw.get("api_key_env") is None:
            kw["_default_key"] = "ollama"
        return cls(base_url or PRESETS[server], model, **kw)

    def check_key(self) -> None:
        """Raise :class:`AgentConfigError` when ``api_key_env`` names a variable that is unset or empty (the
        message names the variable only). Called when the agent is built and before each request."""
        self._key()

    def fork(self, *, seed: int | None = None, name: str | None = None) -> OpenAIChatAgent:
        """A copy for one replicate: the same server, sampling parameters, cache and concurrency limit (the
        semaphore is shared, so the limit holds across forks, and so is the count of failures in a row), its own
        call records, and ``seed`` (default:
        this agent's) sent with every request. The harness gives each replicate a fork seeded from its
        agent-side stream, so the usage per replicate is ``fork.usage``."""
        import copy

        twin = copy.copy(self)
        twin.seed = self.seed if seed is None else check_int(_OWNER, "seed", seed)
        twin.name = name or self.name
        twin._lock = threading.Lock()
        twin.calls = []
        twin.last_call = None
        return twin

    def __repr__(self) -> str:
        return f"OpenAIChatAgent(base_url={self.base_url!r}, model={self.model!r}, api_key_env={self.api_key_env!r})"

    def reset(self, task_info=None) -> None:
        """Nothing to reset: every prompt carries the whole history."""

    @property
    def usage(self) -> dict:
        with self._lock:
            calls = list(self.calls)
        return {"calls": len(calls), "cached": sum(c.cached for c in calls),
                "prompt_tokens": sum(c.prompt_tokens or 0 for c in calls),
                "completion_tokens": sum(c.completion_tokens or 0 for c in calls)}

    def request_body(self, messages, *, seed: int | None = None) -> dict:
        body = {"model": self.model, "messages": list(messages), "temperature": self.temperature,
                "max_tokens": self.max_tokens}
        seed = self.seed if seed is None else seed
        for k, v in (("top_p", self.top_p), ("seed", seed), ("stop", self.stop)):
            if v is not None:
                body[k] = v
        body.update(self.extra_body)
        return body

    def cache_key(self, messages, *, seed: int | None = None) -> str:
        payload = {"base_url": self.base_url, "body": self.request_body(messages, seed=seed)}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    def _key(self) -> str | None:
        if self.api_key_env is None:
            return self._default_key
        secret = os.environ.get(self.api_key_env)
        if secret is None or not secret.strip():
            state = "is not set" if secret is None else "is empty"
            raise AgentConfigError(f"{_OWNER}: the environment variable {self.api_key_env} (the API key for "
                                   f"{self.base_url}) {state}; set it, or leave api_key_env unset for a server "
                                   "without keys")
        return secret

    def _record(self, rec: CallRecord) -> None:
        with self._lock:
            self.calls.append(rec)
            self.last_call = rec

    def __call__(self, messages, *, seed: int | None = None) -> str:
        key = self.cache_key(messages, seed=seed)
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                usage = hit.get("usage") or {}
                self._record(CallRecord(key, 0, 0.0, usage.get("prompt_tokens"), usage.get("completion_tokens"),
                                        True, "ok", None, hit.get("reasoning_content")))
                return hit["content"]
        if self._health.down:
            raise EndpointDown("URLError", self._health.down)
        if self._health.refused:
            raise AgentConfigError(self._health.refused)
        data = json.dumps(self.request_body(messages, seed=seed)).encode()
        headers = {"Content-Type": "application/json"}
        secret = self._key()
        if secret:
            headers["Authorization"] = f"Bearer {secret}"
        start = time.perf_counter()
        kind, detail = "URLError", ""
        for attempt in range(self.max_retries + 1):
            wait = self.backoff_s * 2**attempt
            req = urllib.request.Request(f"{self.base_url}/chat/completions", data=data, headers=headers,
                                         method="POST")
            try:
                with self._sem, urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    raw = resp.read()
                reply = json.loads(raw)
                msg = reply["choices"][0]["message"]
                if not isinstance(msg, dict):
                    raise TypeError("message is not an object")
            except urllib.error.HTTPError as exc:
                kind, detail = f"HTTPError{exc.code}", str(exc.reason)
                if exc.code in (401, 403):  # the key (or its absence) is refused: so will every later call be
                    self._record(CallRecord(key, attempt + 1, time.perf_counter() - start, None, None, False,
                                            "error", kind))
                    if self.api_key_env:
                        sent = f"the key in the environment variable {self.api_key_env}"
                    else:
                        sent = "the preset's placeholder key" if secret else "no key (api_key_env is not set)"
                    # the server's own text is left out: it could quote the key
                    self._health.refused = (f"{_OWNER}: {self.base_url} refused the request with HTTP {exc.code}; "
                                            f"it was sent {sent}")
                    raise AgentConfigError(self._health.refused) from None
                if exc.code != 429 and exc.code < 500:
                    break
                if exc.code == 429:
                    after = exc.headers.get("Retry-After") if exc.headers else None
                    try:
                        wait = min(float(after), 30.0) if after is not None else wait
                    except ValueError:
                        pass
            except TimeoutError:
                kind, detail = "Timeout", f"no reply within {self.timeout_s} s"
            except urllib.error.URLError as exc:
                timeout = isinstance(exc.reason, TimeoutError)
                kind, detail = ("Timeout", f"no reply within {self.timeout_s} s") if timeout else (
                    "URLError", type(exc.reason).__name__)
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                kind, detail = "MalformedReply", type(exc).__name__
            except (ConnectionError, OSError) as exc:
                kind, detail = "URLError", type(exc).__name__
            else:
                content = msg.get("content") or ""
                usage = reply.get("usage") or {}
                rec = CallRecord(key, attempt + 1, time.perf_counter() - start, usage.get("prompt_tokens"),
                                 usage.get("completion_tokens"), False, "ok", None, msg.get("reasoning_content"))
                self._record(rec)
                if self.cache is not None:
                    self.cache.put(key, {"content": content, "usage": usage,
                                         "reasoning_content": rec.reasoning_content})
                self._health.ok()
                return content
            if attempt < self.max_retries:
                time.sleep(wait)
        self._record(CallRecord(key, attempt + 1, time.perf_counter() - start, None, None, False, "error", kind))
        raise self._health.failed(self.base_url, TransportError(kind, detail))

    def records(self) -> list[dict]:
        """The call records as dicts (JSON-serialisable, no secret)."""
        with self._lock:
            return [asdict(c) for c in self.calls]
