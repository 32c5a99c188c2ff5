"""Nothing crashes: hostile or malformed input gets a 4xx with a message, odd-but-valid input a 200, and the
service answers normally afterwards. Extends tests/api/test_ask_api.py and tests/api/test_documents_api.py."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rag.config import Settings
from rag.embedders import Embedder
from rag.engine import Engine
from tests.conftest import CORPUS, FDA_QUOTE
from tests.rag.test_documents import _pdf_with_text

KEY = "bad-input-key-41c2"
FDA_QUESTION = "How many AI-enabled medical devices has the FDA cleared?"
JSON = {"content-type": "application/json"}

# (name, raw body) for POST /v1/ask and /v1/search; each must be a 4xx with a non-empty message.
BAD_BODIES: list[tuple[str, bytes]] = [
    ("empty body", b""),
    ("whitespace question", json.dumps({"question": " \t\n\r "}).encode()),
    ("ideographic-space question", json.dumps({"question": "\u3000\u3000"}).encode()),
    ("1 MB question", json.dumps({"question": "FDA " * 262_144}).encode()),
    ("truncated JSON", b'{"question": "FDA"'),
    ("trailing comma", b'{"question": "FDA",}'),
    ("single quotes", b"{'question': 'FDA'}"),
    ("JSON null", b"null"),
    ("JSON string", b'"How many devices?"'),
    ("JSON number", b"42"),
    ("question is a list", b'{"question": ["FDA"]}'),
    ("question is an object", b'{"question": {"text": "FDA"}}'),
    ("question is null", b'{"question": null}'),
    ("question is true", b'{"question": true}'),
    ("missing question", b'{"top_k": 3}'),
    ("top_k is a float", b'{"question": "FDA", "top_k": 2.5}'),
    ("top_k is NaN", b'{"question": "FDA", "top_k": NaN}'),
    ("top_k is huge", b'{"question": "FDA", "top_k": 1e400}'),
    ("top_k is negative", b'{"question": "FDA", "top_k": -3}'),
    ("summarize is a word", b'{"question": "FDA", "summarize": "maybe"}'),
    ("doc_ids is a string", b'{"question": "FDA", "doc_ids": "000_910c0fafe831d9c0"}'),
    ("language is unknown", b'{"question": "FDA", "language": "fr"}'),
    ("deeply nested", b'{"question": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"),
    ("invalid UTF-8 (0xff)", b'{"question": "FDA \xff devices"}'),
    ("overlong UTF-8", b'{"question": "\xc0\xaf etc"}'),
    ("truncated UTF-8", b'{"question": "\xe4\xb8"}'),
    ("UTF-8 encoded surrogate", b'{"question": "\xed\xa0\x80"}'),
    ("escaped lone surrogate", b'{"question": "FDA \\ud800"}'),
    ("Latin-1 body", '{"question": "café"}'.encode("latin-1")),
    ("NUL", json.dumps({"question": "FDA\x00devices"}).encode()),
    ("bell", json.dumps({"question": "FDA\x07"}).encode()),
    ("ANSI escape", json.dumps({"question": "\x1b[31mFDA\x1b[0m devices"}).encode()),
    ("DEL", json.dumps({"question": "FDA\x7f devices"}).encode()),
    ("C1 control (CSI)", json.dumps({"question": "FDA\x9b devices"}).encode()),
    ("backspace", json.dumps({"question": "FDA\x08\x08\x08 devices"}).encode()),
]

# Valid, if odd: each must be a 200 whose JSON carries the question back unchanged.
ODD_QUESTIONS = [
    "🤖🏥 How many AI devices has the FDA cleared? 🇺🇸🇨🇳",
    "👩🏽‍⚕️ 美国FDA批准了多少 AI 医疗器械？",
    "FDA\tcleared\r\nhow many devices?",
    "ＦＤＡ批准了多少个ＡＩ设备？",
    "醫療人工智慧在中國的市場規模是多少？",
    "كم عدد أجهزة الذكاء الاصطناعي التي وافقت عليها FDA؟",
    "Сколько устройств одобрило FDA?",
    "FDAが承認したAI医療機器はいくつですか？",
    "Z̴̢͎a̷l̵g̶o̸ FDA d̷e̶v̵i̶c̷e̶s̷",
    "\u202eFDA devices\u202c cleared",
    "zero\u200bwidth\u200djoiner FDA",
    "<script>alert('x')</script> How many devices has the FDA cleared?",
    "<img src=x onerror=alert(1)> FDA",
    "\"; DROP TABLE documents; -- FDA",
    "{{7*7}} ${jndi:ldap://example.invalid/a} FDA",
    "../../etc/passwd FDA devices",
    "?",
]

TRAVERSAL_PATHS = [
    "/v1/documents/..%2F..%2Fetc%2Fpasswd",
    "/v1/documents/..%2f..%2f..%2fsentinel",
    "/v1/documents/%00",
    "/v1/documents/..%00",
    "/v1/documents/000_910c0fafe831d9c0%00.txt",
    "/v1/documents/%2e%2e",
    "/v1/documents/%2e%2e%2f%2e%2e%2fsentinel",
    "/v1/documents/%252e%252e%252fsentinel",
    "/v1/documents/..%5C..%5Csentinel",
    "/v1/documents/.env",
    "/v1/documents/removed.json",
    "/v1/documents/" + "a" * 300,
    "/v1/documents/%ff%fe",
]


@pytest.fixture(scope="module")
def writable(tmp_path_factory: pytest.TempPathFactory, index_dir: Path,
             embedder: Embedder) -> Iterator[tuple[TestClient, Engine, Path]]:
    """A private index copy behind an app with an API key; one engine for the whole module."""
    root = tmp_path_factory.mktemp("bad-input")
    shutil.copytree(index_dir, root / "index", symlinks=True)
    (root / "sentinel").write_text("must survive", encoding="utf-8")
    settings = Settings(index_dir=root / "index", corpus_dir=CORPUS, uploads_dir=root / "uploads", api_key=KEY,
                        max_upload_bytes=64 * 1024)
    engine = Engine.from_settings(settings, embedder)
    with TestClient(create_app(settings, engine=engine)) as client:
        yield client, engine, root


def _still_healthy(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    body = client.post("/v1/ask", json={"question": FDA_QUESTION}).json()
    assert body["answered"] and any(FDA_QUOTE in p["text"] for p in body["passages"])


@pytest.mark.parametrize("path", ["/v1/ask", "/v1/search"])
def test_bad_question_bodies_get_a_4xx_with_a_message(client: TestClient, path: str) -> None:
    for name, body in BAD_BODIES:
        r = client.post(path, content=body, headers=JSON)
        assert 400 <= r.status_code < 500, (name, r.status_code, r.text[:300])
        err = r.json()
        assert err["error"] and err["detail"], name
        assert len(r.content) < 4096, (name, "an error must not echo a huge input back")
    _still_healthy(client)


def test_control_characters_are_named_in_the_message(client: TestClient) -> None:
    for q in ["FDA\x00devices", "\x1b[31mFDA", "FDA\x7f", "FDA\x9b devices"]:
        r = client.post("/v1/ask", json={"question": q})
        assert r.status_code == 422 and "control characters" in r.json()["detail"], q


def test_question_length_limit_is_stated(client: TestClient) -> None:
    r = client.post("/v1/ask", json={"question": "x" * 1_000_000})
    assert r.status_code == 422 and "2000" in json.dumps(r.json()["detail"])


def test_wrong_content_type_is_a_4xx(client: TestClient) -> None:
    for ctype, body in [("text/plain", b'{"question": "FDA"}'), ("application/x-www-form-urlencoded", b"question=FDA"),
                        ("multipart/form-data; boundary=x", b"--x--")]:
        r = client.post("/v1/ask", content=body, headers={"content-type": ctype})
        assert 400 <= r.status_code < 500 and r.json()["detail"], ctype
    _still_healthy(client)


def test_odd_but_valid_questions_are_answered_and_echoed_as_json_text(client: TestClient) -> None:
    for q in ODD_QUESTIONS:
        r = client.post("/v1/ask", json={"question": q})
        assert r.status_code == 200, (q, r.text[:300])
        assert r.headers["content-type"].startswith("application/json")
        body = r.json()
        assert body["question"] == q  # carried as JSON text, never interpreted
        assert body["language"] in ("en", "zh") and body["disclaimer"]
    _still_healthy(client)


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_path_traversal_in_document_ids_is_refused(writable: tuple[TestClient, Engine, Path], method: str) -> None:
    client, engine, root = writable
    docs_before = set(engine.snapshot.documents)
    for path in TRAVERSAL_PATHS:
        r = client.request(method, path, headers={"X-API-Key": KEY})
        assert r.status_code in (404, 422), (path, r.status_code, r.text[:200])
        assert r.json()["detail"]
    assert (root / "sentinel").read_text(encoding="utf-8") == "must survive"
    assert set(engine.snapshot.documents) == docs_before
    _still_healthy(client)


@pytest.mark.parametrize(("name", "kwargs"), [
    ("invalid UTF-8 text", {"files": {"file": ("bad.txt", b"caf\xe9 au lait " * 20, "text/plain")}}),
    ("UTF-16 text", {"files": {"file": ("u16.txt", "Hospitals use AI triage.".encode("utf-16"), "text/plain")}}),
    ("whitespace-only markdown", {"files": {"file": ("blank.md", b" \n\t\n   \n", "text/markdown")}}),
    ("HTML with only a script", {"files": {"file": ("s.html", b"<html><script>alert(1)</script></html>",
                                                    "text/html")}}),
    ("PDF with no text layer", {"files": {"file": ("scan.pdf", _pdf_with_text(""), "application/pdf")}}),
    ("truncated PDF", {"files": {"file": ("cut.pdf", _pdf_with_text("Radiology AI")[:200], "application/pdf")}}),
    ("PNG named .pdf", {"files": {"file": ("img.pdf", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "application/pdf")}}),
    ("no suffix", {"files": {"file": ("README", b"plain text", "text/plain")}}),
    ("file over the limit", {"files": {"file": ("big.txt", b"AI triage kiosks. " * 5000, "text/plain")}}),
    ("no file field", {"data": {"id": "nofile", "title": "x"}, "files": {"other": ("x.txt", b"x", "text/plain")}}),
    ("id with traversal", {"data": {"id": "../../sentinel"}, "files": {"file": ("x.txt", b"text", "text/plain")}}),
    ("id with NUL", {"data": {"id": "a\x00b"}, "files": {"file": ("x.txt", b"text", "text/plain")}}),
    ("Windows traversal file name", {"files": {"file": ("..\\..\\evil.txt", b"text", "text/plain")}}),
    ("non-ASCII id", {"files": {"file": ("报告.txt", "人工智能报告".encode(), "text/plain")}}),
    ("JSON text is a number", {"json": {"id": "num", "text": 12345}}),
    ("JSON extra field", {"json": {"id": "x", "text": "AI triage", "path": "/etc/passwd"}}),
    ("JSON invalid", {"content": b'{"id": "x", "text": ', "headers": JSON}),
    ("JSON invalid UTF-8", {"content": b'{"id": "x", "text": "\xff\xfe"}', "headers": JSON}),
])
def test_bad_uploads_get_4xx_with_a_message_and_change_nothing(writable: tuple[TestClient, Engine, Path],
                                                               name: str, kwargs: dict[str, object]) -> None:
    client, engine, root = writable
    version = engine.snapshot.version
    headers = {"X-API-Key": KEY, **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    r = client.post("/v1/documents", headers=headers, **kwargs)  # type: ignore[arg-type]
    assert 400 <= r.status_code < 500, (name, r.status_code, r.text[:300])
    assert r.json()["detail"], name
    assert len(r.content) < 4096, (name, "an error must not echo the upload back")
    assert engine.snapshot.version == version
    assert not (root / "evil.txt").exists() and (root / "sentinel").read_text(encoding="utf-8") == "must survive"


def test_invalid_json_upload_error_does_not_echo_the_document(writable: tuple[TestClient, Engine, Path]) -> None:
    client, _, _ = writable
    secret_text = "Patient Jane Roe, MRN 448812, diagnosed with sepsis"
    r = client.post("/v1/documents", content=b'{"id": "x", "text": "' + secret_text.encode() + b'"',
                    headers={"X-API-Key": KEY, **JSON})
    assert r.status_code == 422
    assert secret_text not in r.text and "MRN" not in r.text


def test_upload_with_traversal_in_the_file_name_stays_in_the_uploads_dir(
        writable: tuple[TestClient, Engine, Path]) -> None:
    client, engine, root = writable
    r = client.post("/v1/documents", headers={"X-API-Key": KEY},
                    files={"file": ("../../../evil.txt", b"The Evilcorp kiosk report.", "text/plain")})
    if r.status_code == 201:  # accepted under its stem, stored inside the uploads directory only
        assert r.json()["id"] == "evil" and (root / "uploads" / "evil.txt").exists()
        assert client.delete("/v1/documents/evil", headers={"X-API-Key": KEY}).status_code == 200
    else:
        assert 400 <= r.status_code < 500 and r.json()["detail"]
    assert not (root / "evil.txt").exists() and not (root.parent / "evil.txt").exists()
    assert not [p for p in root.rglob("evil*") if "uploads" not in p.parts]
    _still_healthy(client)
