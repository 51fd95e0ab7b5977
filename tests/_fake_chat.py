"""A scripted OpenAI-compatible chat endpoint on 127.0.0.1, shared by the tests of the LLM agent and harness.

``FakeChatServer(reply, usage=(prompt_tokens, completion_tokens))`` serves ``POST {url}/chat/completions`` (any
path) from a daemon thread. Every request is recorded in ``requests`` as ``{"path", "headers", "body"}`` (the
JSON body parsed), then answered by the first step of ``script`` (a list, popped) or else by ``reply``: a step,
or a callable ``reply(request) -> step`` (may be replaced at any time). A step is one of

* ``str``: HTTP 200 with ``chat_completion(text, usage)``;
* ``(status, payload, headers)``: ``payload`` a dict (sent as JSON) or bytes (sent as is), extra headers a dict;
* ``("sleep", seconds, step)``: wait, then answer ``step`` (a client timeout drops the connection: ignored).

``inflight`` / ``max_inflight`` count requests between their arrival and the start of their reply. ``url`` is the
base URL (``http://127.0.0.1:PORT/v1``); ``close()`` stops the server (after it, nothing listens on the port);
the server is also a context manager.

Import it from a test module with ``sys.path`` holding the ``tests`` folder (the suite runs with
``--import-mode=importlib``, which does not add it)::

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from _fake_chat import FakeChatServer  # noqa: E402
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def chat_completion(text: str | None, usage: tuple[int, int] = (0, 0), **message) -> dict:
    """The JSON body of a chat completion answering ``text`` (extra ``message`` fields, e.g. reasoning_content)."""
    return {"choices": [{"message": {"role": "assistant", "content": text, **message}}],
            "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1]}}


class FakeChatServer:
    """See the module docstring."""

    def __init__(self, reply: Any | Callable[[dict], Any] = "", usage: tuple[int, int] = (0, 0)):
        self.reply, self.usage = reply, usage
        self.script: list = []
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.inflight = self.max_inflight = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                outer._serve(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # a short poll interval: shutdown() waits up to one interval (0.5 s by default) in every teardown
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def _step(self, request: dict):
        with self.lock:
            if self.script:
                return self.script.pop(0)
            reply = self.reply
        return reply(request) if callable(reply) else reply

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        body = json.loads(handler.rfile.read(int(handler.headers["Content-Length"])))
        request = {"path": handler.path, "headers": dict(handler.headers), "body": body}
        with self.lock:
            self.requests.append(request)
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
        counted = True
        try:
            step = self._step(request)
            if isinstance(step, tuple) and step[0] == "sleep":
                time.sleep(step[1])
                step = step[2]
            # leave the in-flight count before the reply is sent: once the client has read the reply it may
            # release its slot and send the next request before this thread reaches ``finally``
            with self.lock:
                self.inflight -= 1
                counted = False
            if isinstance(step, str):
                step = (200, chat_completion(step, self.usage), {})
            status, payload, headers = step
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            handler.send_response(status)
            for k, v in headers.items():
                handler.send_header(k, v)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            if counted:
                with self.lock:
                    self.inflight -= 1

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakeChatServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
