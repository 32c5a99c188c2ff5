"""Uploads are never lost: an accepted (201) upload survives kill -9 of the server, and an upload stored but
not yet indexed when the server died is indexed at the next start (`Engine.recover` in the lifespan)."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest

from rag.index import load_index
from tests.reliability.live_server import LiveServer, rag_env

KEY = "reliability-key-7f3a9c"
ZORBLAT = ("The Zorblat Institute reported that its triage kiosks cut emergency waiting times by 37 percent "
           "across 12 hospitals in 2025.")
ZORBLAT_Q = "By how much did Zorblat kiosks cut waiting times?"
LATE = "# Vantor trial\n\nThe Vantor clinic trial of AI sepsis alerts enrolled 88 patients in Lisbon."
LATE_Q = "How many patients did the Vantor clinic trial enroll?"


def _ids(client: httpx.Client) -> set[str]:
    return {d["id"] for d in client.get("/v1/documents").json()}


def _check_answerable(client: httpx.Client, question: str, doc_id: str, needle: str) -> None:
    body = client.post("/v1/ask", json={"question": question, "top_k": 3}).json()
    top = body["passages"][0]
    assert top["doc_id"] == doc_id and needle in top["text"], body
    doc = client.get(f"/v1/documents/{doc_id}").json()
    for p in body["passages"]:
        if p["doc_id"] == doc_id:
            assert doc["text"][p["start"]:p["end"]] == p["text"]


def _assert_log_has_no_secrets(log: str, *texts: str) -> None:
    assert KEY not in log
    for text in texts:
        assert text[:40] not in log


def test_accepted_upload_survives_kill_9_and_a_stored_one_is_recovered(index_dir: Path, tmp_path: Path) -> None:
    idx = tmp_path / "index"
    shutil.copytree(index_dir, idx, symlinks=True)
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    # A crash between storing and indexing: the upload is durably on disk, the index has never seen it.
    (uploads / "vantor.md").write_text(LATE, encoding="utf-8")
    (uploads / "vantor.meta.json").write_text(json.dumps({"title": "Vantor trial", "filename": "vantor.md"}),
                                              encoding="utf-8")
    assert "vantor" not in load_index(idx).documents
    server = LiveServer(rag_env(index_dir=idx, uploads_dir=uploads, api_key=KEY), tmp_path / "server.log")
    try:
        with httpx.Client(base_url=server.start().url, timeout=120) as client:
            assert "vantor" in _ids(client)  # indexed by the lifespan's recover() before /readyz said ready
            r = client.post("/v1/documents", json={"id": "zorblat", "text": ZORBLAT, "title": "Zorblat kiosks"},
                            headers={"X-API-Key": KEY})
            assert r.status_code == 201, r.text
            accepted_version = r.json()["index_version"]
            server.kill()  # immediately after the 201: no shutdown, no flush
            assert (uploads / "zorblat.txt").read_text(encoding="utf-8") == ZORBLAT
            assert load_index(idx).version == accepted_version  # the swap to the new index was durable too

            server.start()
        with httpx.Client(base_url=server.url, timeout=120) as client:
            assert client.get("/readyz").json()["index_version"] == accepted_version  # nothing to recover
            assert {"zorblat", "vantor"} <= _ids(client)
            assert client.get("/v1/documents/zorblat").json()["title"] == "Zorblat kiosks"
            _check_answerable(client, ZORBLAT_Q, "zorblat", "37 percent")
            _check_answerable(client, LATE_Q, "vantor", "88 patients")
    finally:
        server.kill()
    _assert_log_has_no_secrets(server.log(), ZORBLAT, LATE, ZORBLAT_Q, LATE_Q)


def _long_report(name: str, fact: str) -> str:
    """~8,000 characters (about 18 passages): indexing it takes seconds with one passage per embedder batch."""
    filler = [f"Section {i}: the {name} network reviewed staffing, procurement, imaging backlogs and nurse "
              "scheduling across its regional hospitals, with quarterly audits of outcomes and costs."
              for i in range(50)]
    filler.insert(25, fact)
    return f"{name} annual report\n\n" + "\n\n".join(filler)


@pytest.mark.slow
def test_server_killed_while_indexing_an_upload_indexes_it_at_the_next_start(index_dir: Path, tmp_path: Path) -> None:
    idx = tmp_path / "index"
    shutil.copytree(index_dir, idx, symlinks=True)
    uploads = tmp_path / "uploads"
    fact = "The Kestrin network's AI sepsis alerts reduced ICU transfers by 23 percent."
    text = _long_report("Kestrin", fact)
    env = rag_env(index_dir=idx, uploads_dir=uploads, api_key=KEY)
    server = LiveServer({**env, "RAG_EMBED_BATCH_SIZE": "1"}, tmp_path / "server.log")
    outcome: list[object] = []

    def upload() -> None:
        try:
            outcome.append(httpx.post(f"{server.url}/v1/documents", json={"id": "kestrin", "text": text},
                                      headers={"X-API-Key": KEY}, timeout=300).status_code)
        except httpx.HTTPError as e:  # the server dies mid-request
            outcome.append(type(e).__name__)

    try:
        server.start()
        before = load_index(idx).version
        sender = threading.Thread(target=upload, daemon=True)
        sender.start()
        deadline = time.monotonic() + 120
        while not (uploads / "kestrin.txt").exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        server.kill()  # stored, still embedding: the client never got its 201
        sender.join(timeout=60)
        assert outcome and outcome[0] != 201, outcome
        assert (uploads / "kestrin.txt").read_text(encoding="utf-8") == text
        assert load_index(idx).version == before and "kestrin" not in load_index(idx).documents

        server.env = env  # restart with the normal batch size
        server.start()
        with httpx.Client(base_url=server.url, timeout=120) as client:
            assert "kestrin" in _ids(client)
            _check_answerable(client, "By how much did Kestrin sepsis alerts reduce ICU transfers?", "kestrin",
                              "23 percent")
    finally:
        server.kill()
    _assert_log_has_no_secrets(server.log(), fact, text[200:400])
