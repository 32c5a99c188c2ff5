"""No one gets in: writes need the API key, CORS is closed unless configured, secrets and user text stay out of
logs, keys come only from the environment and never print, and oversized bodies are refused before reading."""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError

from api import deps
from api.app import create_app
from rag.config import ROOT, Settings
from rag.embedders import Embedder
from rag.engine import Engine
from tests.conftest import CORPUS
from tests.reliability.live_server import free_port

KEY = "sk-rag-3f9d2c7a41b8e6"
LLM_KEY = "sk-llm-a81c4e9b27d350"
QUESTION = "How many AI-enabled medical devices has the FDA cleared in the Quillmore audit?"
DOC_TEXT = "Quillmore Clinic confidential note: patient Rhea Vance, MRN 77120, started the sepsis protocol."
FOREIGN = "https://evil.example"
ALLOWED = "https://app.example"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory, index_dir: Path,
          embedder: Embedder) -> Iterator[tuple[TestClient, Engine]]:
    """An app with an API key on a private index copy, shared by this module's tests (one engine load)."""
    root = tmp_path_factory.mktemp("security")
    shutil.copytree(index_dir, root / "index", symlinks=True)
    settings = Settings(index_dir=root / "index", corpus_dir=CORPUS, uploads_dir=root / "uploads", api_key=KEY)
    engine = Engine.from_settings(settings, embedder)
    with TestClient(create_app(settings, engine=engine)) as client:
        yield client, engine


# -- the API key ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {},
    {"X-API-Key": ""},
    {"X-API-Key": "wrong"},
    {"X-API-Key": KEY[:-1]},
    {"X-API-Key": KEY + "x"},
    {"X-API-Key": KEY.upper()},
    {"X-API-Key": f" {KEY}"},
    {"Authorization": f"Basic {KEY}"},
    {"Authorization": "Bearer wrong"},
    {"Authorization": KEY},
    {"Cookie": f"api_key={KEY}"},
], ids=lambda h: ",".join(h) or "none")
def test_writes_without_the_right_key_are_401_and_change_nothing(keyed: tuple[TestClient, Engine],
                                                                 headers: dict[str, str]) -> None:
    client, engine = keyed
    version = engine.snapshot.version
    for r in [client.post("/v1/documents", json={"id": "intruder", "text": DOC_TEXT}, headers=headers),
              client.post(f"/v1/documents?api_key={KEY}", json={"id": "intruder", "text": DOC_TEXT}),
              client.delete("/v1/documents/000_910c0fafe831d9c0", headers=headers)]:
        assert r.status_code == 401, r.text
        assert r.json()["error"] == "Unauthorized" and KEY not in r.text
    assert engine.snapshot.version == version and "000_910c0fafe831d9c0" in engine.snapshot.documents


def test_the_right_key_works_as_header_or_bearer_and_reads_need_none(keyed: tuple[TestClient, Engine]) -> None:
    client, _ = keyed
    assert client.post("/v1/documents", json={"id": "quillmore", "text": DOC_TEXT},
                       headers={"X-API-Key": KEY}).status_code == 201
    assert client.delete("/v1/documents/quillmore", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    assert client.get("/v1/documents").status_code == 200
    assert client.post("/v1/ask", json={"question": QUESTION}).status_code == 200


def test_without_a_configured_key_writes_are_disabled(client: TestClient) -> None:
    r = client.post("/v1/documents", json={"id": "x", "text": DOC_TEXT}, headers={"X-API-Key": "anything"})
    assert r.status_code == 401 and "RAG_API_KEY" in r.json()["detail"]


def test_key_comparison_is_constant_time() -> None:
    source = inspect.getsource(deps.require_api_key)
    assert "hmac.compare_digest(" in source
    assert not re.search(r"(given|x_api_key|expected)[^\n]*(==|!=)", source)  # no early-exit string compare


@pytest.mark.parametrize("placeholder", ["changeme", "secret", "  ", "CHANGE-ME"])
def test_placeholder_api_keys_are_refused(placeholder: str) -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(api_key=placeholder)


# -- CORS -------------------------------------------------------------------------------------------------

def test_cors_is_closed_by_default(client: TestClient) -> None:
    r = client.get("/v1/documents", headers={"Origin": FOREIGN})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    pre = client.options("/v1/ask", headers={"Origin": FOREIGN, "Access-Control-Request-Method": "POST",
                                             "Access-Control-Request-Headers": "content-type"})
    assert "access-control-allow-origin" not in pre.headers


def test_cors_opens_only_to_configured_origins_and_never_for_writes(settings: Settings, engine: Engine) -> None:
    app = create_app(settings.model_copy(update={"cors_origins": [ALLOWED]}), engine=engine)
    with TestClient(app) as client:
        ok = client.get("/v1/documents", headers={"Origin": ALLOWED})
        assert ok.headers["access-control-allow-origin"] == ALLOWED
        pre = client.options("/v1/ask", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST",
                                                 "Access-Control-Request-Headers": "content-type"})
        assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == ALLOWED
        assert "access-control-allow-origin" not in client.get("/v1/documents", headers={"Origin": FOREIGN}).headers
        foreign = client.options("/v1/ask", headers={"Origin": FOREIGN, "Access-Control-Request-Method": "POST"})
        assert foreign.headers.get("access-control-allow-origin") != FOREIGN
        # a browser page on the allowed origin still cannot delete or send the API key header
        for method, hdrs in [("DELETE", ""), ("POST", "x-api-key")]:
            pre = client.options("/v1/documents/x", headers={"Origin": ALLOWED, "Access-Control-Request-Method": method,
                                                             "Access-Control-Request-Headers": hdrs})
            assert pre.status_code == 400, (method, hdrs)


# -- logs -------------------------------------------------------------------------------------------------

def test_logs_carry_no_key_question_or_document_text(keyed: tuple[TestClient, Engine],
                                                     caplog: pytest.LogCaptureFixture) -> None:
    client, _ = keyed
    caplog.set_level(logging.DEBUG)  # everything, every logger
    auth = {"X-API-Key": KEY}
    assert client.post("/v1/documents", json={"id": "quillmore", "text": DOC_TEXT, "title": "Quillmore note"},
                       headers=auth).status_code == 201
    assert client.post("/v1/documents", files={"file": ("quill2.txt", DOC_TEXT.encode(), "text/plain")},
                       headers={"Authorization": f"Bearer {KEY}"}).status_code == 201
    assert client.post("/v1/ask", json={"question": QUESTION}).status_code == 200
    assert client.post("/v1/ask", json={"question": QUESTION, "stream": True}).status_code == 200
    assert client.post("/v1/search", json={"question": QUESTION}).status_code == 200
    client.post("/v1/documents", json={"id": "quillmore", "text": DOC_TEXT}, headers={"X-API-Key": KEY + "x"})
    client.post("/v1/documents", content=b'{"id": "x", "text": "' + DOC_TEXT.encode(), headers=auth)
    client.post("/v1/ask", json={"question": QUESTION + "\x00"})
    assert client.delete("/v1/documents/quillmore", headers=auth).status_code == 200
    assert client.delete("/v1/documents/quill2", headers=auth).status_code == 200
    logged = caplog.text + "".join(repr(r.args) for r in caplog.records)
    assert caplog.records  # the upload and delete are logged (ids and sizes)
    for secret in (KEY, QUESTION, DOC_TEXT, "Rhea Vance", "MRN 77120", "Quillmore audit"):
        assert secret not in logged, secret


# -- where keys come from ---------------------------------------------------------------------------------

def test_keys_come_from_the_environment_and_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_LLM_API_KEY", LLM_KEY)
    monkeypatch.setenv("RAG_API_KEY", KEY)
    settings = Settings()
    assert isinstance(settings.llm_api_key, SecretStr) and settings.llm_api_key.get_secret_value() == LLM_KEY
    assert isinstance(settings.api_key, SecretStr) and settings.api_key.get_secret_value() == KEY
    for shown in (repr(settings), str(settings), settings.model_dump_json(), repr(settings.model_dump())):
        assert LLM_KEY not in shown and KEY not in shown


def test_llm_key_is_read_from_no_other_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAG_LLM_API_KEY", raising=False)
    for name in ("OPENAI_API_KEY", "LLM_API_KEY", "API_KEY"):
        monkeypatch.setenv(name, LLM_KEY)
    assert Settings().llm_api_key is None


def test_only_the_settings_module_reads_the_environment() -> None:
    readers = [str(p.relative_to(ROOT)) for d in ("rag", "api") for p in (ROOT / d).rglob("*.py")
               if re.search(r"os\.environ|os\.getenv|getenv\(", p.read_text(encoding="utf-8"))
               and p != ROOT / "rag" / "config.py"]
    assert readers == []


# -- request size limit -----------------------------------------------------------------------------------

def test_body_over_the_limit_is_413_before_any_byte_is_read(settings: Settings, engine: Engine) -> None:
    app = create_app(settings.model_copy(update={"max_upload_bytes": 4096}), engine=engine)
    received: list[object] = []
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        received.append(True)
        raise AssertionError("the body must not be read")

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    for length in (b"999999999999", b"abc", b"-1"):
        sent.clear()
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/v1/ask", "raw_path": b"/v1/ask", "query_string": b"", "root_path": "",
                 "headers": [(b"content-type", b"application/json"), (b"content-length", length)],
                 "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {}}
        asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
        assert sent[0]["status"] == 413, length
    assert not received


class ThreadedServer:
    """uvicorn serving an in-process app on a free port (no model load: the session engine is reused)."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.server.started
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

    def raw(self, request: bytes, body_chunks: int = 0, chunk: bytes = b"") -> bytes:
        """Send raw HTTP bytes (optionally chunked body data) and return the response head and body."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=20) as s:
            s.sendall(request)
            try:
                for _ in range(body_chunks):
                    s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                s.sendall(b"0\r\n\r\n" if body_chunks else b"")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered and closed early: what we want
            return s.recv(65536)


@pytest.fixture()
def small_limit_server(settings: Settings, engine: Engine) -> Iterator[ThreadedServer]:
    app = create_app(settings.model_copy(update={"max_upload_bytes": 4096}), engine=engine)
    with ThreadedServer(app) as server:
        yield server


def test_real_server_answers_413_without_waiting_for_the_body(small_limit_server: ThreadedServer) -> None:
    t0 = time.monotonic()
    reply = small_limit_server.raw(b"POST /v1/ask HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                                   b"Content-Length: 1000000000\r\n\r\n")  # promises 1 GB, sends nothing
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert time.monotonic() - t0 < 10


def test_chunked_body_cannot_bypass_the_size_limit(small_limit_server: ThreadedServer) -> None:
    """No Content-Length to check up front: a chunked body must not be read into memory regardless."""
    head = (b"POST /v1/ask HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    reply = small_limit_server.raw(head, body_chunks=64, chunk=b"x" * 65536)  # 4 MB against a 4 kB limit
    status = int(reply.split(b" ", 2)[1])
    assert status in (411, 413), reply[:300]


def test_service_is_fine_after_the_refusals(small_limit_server: ThreadedServer) -> None:
    body = b'{"question": "FDA devices"}'
    reply = small_limit_server.raw(b"POST /v1/ask HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                                   b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
    assert reply.startswith(b"HTTP/1.1 200"), reply[:200]


def test_no_secret_defaults_in_the_repository() -> None:
    """No key is committed: .env files are absent and no source file assigns a key literal."""
    assert not (ROOT / ".env").exists()
    pattern = re.compile(r"(api_key|API_KEY)\s*[:=]\s*['\"][A-Za-z0-9_\-]{12,}['\"]")
    hits = [str(p.relative_to(ROOT)) for d in ("rag", "api") for p in Path(ROOT / d).rglob("*.py")
            if pattern.search(p.read_text(encoding="utf-8"))]
    assert hits == []
