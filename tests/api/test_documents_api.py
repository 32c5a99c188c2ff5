"""Document management over the API with a real engine on a private copy of the index."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rag.config import Settings
from rag.embedders import Embedder
from rag.engine import Engine
from tests.rag.test_documents import _pdf_with_text

KEY = {"X-API-Key": "test-key-123"}
NEW_TEXT = ("The Zorblat Institute reported that its triage kiosks cut emergency waiting times by 37 percent "
            "across 12 hospitals in 2025.")


@pytest.fixture()
def writable(fresh_settings: Settings, embedder: Embedder) -> Iterator[tuple[TestClient, Engine]]:
    engine = Engine.from_settings(fresh_settings, embedder)
    with TestClient(create_app(fresh_settings, engine=engine)) as c:
        yield c, engine


def test_json_upload_is_answerable_and_offsets_check_out(writable: tuple[TestClient, Engine]) -> None:
    client, engine = writable
    before = engine.snapshot.version
    misspelt = "By how much did Zorbalt kiosks cut waiting times?"
    assert client.post("/v1/search", json={"question": misspelt}).json()["spelling"] == []  # no such word yet
    r = client.post("/v1/documents", json={"id": "zorblat", "text": NEW_TEXT, "title": "Zorblat kiosks"},
                    headers=KEY)
    assert r.status_code == 201, r.text
    assert r.json()["chunks"] == 1 and r.json()["index_version"] != before
    body = client.post("/v1/ask", json={"question": "By how much did Zorblat kiosks cut waiting times?"}).json()
    top = body["passages"][0]
    assert top["doc_id"] == "zorblat" and "37 percent" in top["text"]
    # The speller follows the new vocabulary: the new report's name, misspelt, is searched as it is written there.
    fixed = client.post("/v1/search", json={"question": misspelt}).json()
    assert fixed["spelling"] == [{"word": "Zorbalt", "corrected": "Zorblat"}]
    assert fixed["passages"][0]["doc_id"] == "zorblat"
    doc = client.get("/v1/documents/zorblat").json()
    assert doc["text"][top["start"]:top["end"]] == top["text"] and doc["title"] == "Zorblat kiosks"
    # the upload is on disk, so a restart keeps it
    assert (engine.settings.uploads_dir / "zorblat.txt").read_text(encoding="utf-8") == NEW_TEXT


def test_pdf_upload_and_delete(writable: tuple[TestClient, Engine]) -> None:
    client, engine = writable
    pdf = _pdf_with_text("Quillon Health deployed sepsis alerts in 40 clinics")
    r = client.post("/v1/documents", files={"file": ("quillon.pdf", pdf, "application/pdf")}, headers=KEY)
    assert r.status_code == 201, r.text
    hits = client.post("/v1/search", json={"question": "Quillon sepsis alerts", "top_k": 3}).json()["passages"]
    assert hits[0]["doc_id"] == "quillon"
    r = client.delete("/v1/documents/quillon", headers=KEY)
    assert r.status_code == 200
    assert client.get("/v1/documents/quillon").status_code == 404
    assert all(p["doc_id"] != "quillon" for p in
               client.post("/v1/search", json={"question": "Quillon sepsis alerts"}).json()["passages"])
    assert not list(engine.settings.uploads_dir.glob("quillon*"))


def test_deleting_a_corpus_document_survives_a_rebuild(writable: tuple[TestClient, Engine]) -> None:
    client, engine = writable
    assert client.delete("/v1/documents/002_69e32223fb1822d6", headers=KEY).status_code == 200
    from rag.engine import corpus_documents

    assert "002_69e32223fb1822d6" not in {d.id for d in corpus_documents(engine.settings)}


def test_writes_need_the_api_key(writable: tuple[TestClient, Engine]) -> None:
    client, _ = writable
    assert client.post("/v1/documents", json={"id": "x", "text": "hello"}).status_code == 401
    assert client.post("/v1/documents", json={"id": "x", "text": "hello"},
                       headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.delete("/v1/documents/000_910c0fafe831d9c0").status_code == 401


@pytest.mark.parametrize("kwargs", [
    {"json": {"id": "../etc/passwd", "text": "x"}},
    {"json": {"id": "ok", "text": ""}},
    {"json": {"id": "ok", "text": "   "}},
    {"json": {"id": "ok"}},
    {"files": {"file": ("empty.txt", b"", "text/plain")}},
    {"files": {"file": ("bin.txt", b"\x00\x01\x02\x03binary", "text/plain")}},
    {"files": {"file": ("bad.pdf", b"%PDF-1.4 corrupt", "application/pdf")}},
    {"files": {"file": ("notext.pdf", _pdf_with_text(""), "application/pdf")}},
    {"files": {"file": ("virus.exe", b"MZ...", "application/octet-stream")}},
    {"content": b"plain body", "headers": {"content-type": "text/plain"}},
])
def test_bad_uploads_get_4xx_and_change_nothing(writable: tuple[TestClient, Engine], kwargs: dict) -> None:
    client, engine = writable
    version = engine.snapshot.version
    headers = {**KEY, **kwargs.pop("headers", {})}
    r = client.post("/v1/documents", headers=headers, **kwargs)
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["detail"]
    assert engine.snapshot.version == version


def test_oversized_upload_is_413(fresh_settings: Settings, embedder: Embedder) -> None:
    settings = fresh_settings.model_copy(update={"max_upload_bytes": 2048})
    engine = Engine.from_settings(settings, embedder)
    with TestClient(create_app(settings, engine=engine)) as client:
        r = client.post("/v1/documents", json={"id": "big", "text": "x" * 200_000}, headers=KEY)
        assert r.status_code == 413


def test_upload_stored_before_a_crash_is_indexed_at_next_start(fresh_settings: Settings, embedder: Embedder) -> None:
    fresh_settings.uploads_dir.mkdir(parents=True)
    (fresh_settings.uploads_dir / "late.md").write_text("# Late\n\nThe Vantor clinic trial enrolled 88 patients.",
                                                        encoding="utf-8")
    engine = Engine.from_settings(fresh_settings, embedder)
    assert "late" not in engine.snapshot.documents
    with TestClient(create_app(fresh_settings, embedder=embedder)) as client:  # lifespan loads and recovers
        assert client.get("/v1/documents/late").status_code == 200


def test_metrics_count_requests(client: TestClient) -> None:
    client.get("/healthz")
    text = client.get("/metrics").text
    assert 'rag_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "rag_request_seconds_bucket" in text
