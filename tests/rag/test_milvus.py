"""The service on Milvus: the real corpus indexed into Milvus Lite answers like FAISS; migrate, updates, server mode."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from eval.gold import load_gold
from eval.run import RETRIEVAL_K, Response, score
from rag.cli import main, migrate_index
from rag.config import Settings
from rag.documents import make_document
from rag.embedders import CountingEmbedder, Embedder, HashEmbedder
from rag.engine import Engine
from rag.errors import IndexCorrupt
from rag.index import build_index, load_index
from rag.stores.factory import STORE_FILE, load_vector_store, read_store_kind
from rag.stores.faiss_store import FaissStore
from rag.stores.manifest import read_manifest
from rag.stores.milvus_store import POINTER_FILE, MilvusStore, StoreUnavailable
from tests.conftest import CORPUS, FDA_QUOTE

FDA_EN = "How many AI-enabled medical devices has the FDA cleared?"


@pytest.fixture(scope="module")
def milvus_settings(tmp_path_factory: pytest.TempPathFactory, index_dir: Path, embedder: Embedder) -> Settings:
    """The shipped corpus indexed into Milvus Lite (vectors reused from the FAISS index: nothing re-embedded)."""
    settings = Settings(index_dir=tmp_path_factory.mktemp("milvus-index"), corpus_dir=CORPUS, store="milvus")
    faiss = load_index(index_dir, embedder.name)
    counting = CountingEmbedder(embedder)
    build_index(list(faiss.documents.values()), counting, settings, previous=faiss)
    assert counting.passages == 0
    return settings


@pytest.fixture(scope="module")
def milvus_engine(milvus_settings: Settings, embedder: Embedder) -> Iterator[Engine]:
    engine = Engine.from_settings(milvus_settings, embedder)
    yield engine
    assert isinstance(engine.snapshot.dense, MilvusStore)
    engine.snapshot.dense.close()  # release the database for the tests that copy it


def test_milvus_snapshot_is_self_contained_and_checksummed(milvus_engine: Engine) -> None:
    snap = milvus_engine.snapshot
    assert isinstance(snap.dense, MilvusStore) and snap.dense.is_lite
    assert read_store_kind(snap.path) == "milvus" and not (snap.path / "faiss.index").exists()
    files = read_manifest(snap.path).files
    assert {STORE_FILE, POINTER_FILE} <= set(files) and any(f.startswith("milvus.db/") for f in files)
    assert len(snap.dense) == snap.manifest.chunk_count == len(snap.chunks)
    # chunk metadata travel as scalar fields
    meta = snap.dense.metadata([0, len(snap.chunks) - 1])
    for row, m in meta.items():
        c = snap.chunks[row]
        assert (m.doc_id, m.lang, m.start, m.end) == (c.doc_id, c.lang, c.start, c.end)


def test_dense_results_equal_faiss_on_the_same_vectors(engine: Engine, milvus_engine: Engine) -> None:
    faiss, milvus = engine.snapshot, milvus_engine.snapshot
    assert np.array_equal(faiss.vectors, milvus.vectors)
    queries = faiss.transform.apply_documents(faiss.vectors[:20], [c.lang for c in faiss.chunks[:20]])
    f_scores, f_ids = faiss.dense.search(queries, 10)
    m_scores, m_ids = milvus.dense.search(queries, 10)
    assert np.allclose(f_scores, m_scores, atol=1e-5)
    assert (f_ids == m_ids).mean() > 0.99  # equal but for ties at float precision


class MemoEmbedder:
    """The real embedder, embedding each query text once: both stores' engines then see identical vectors."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.memo: dict[str, np.ndarray] = {}

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if missing:
            self.memo.update(zip(missing, self.inner.embed_queries(missing), strict=True))
        return np.stack([self.memo[t] for t in texts])

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_documents(texts)


@pytest.mark.slow
def test_gold_hit5_matches_faiss(engine: Engine, milvus_engine: Engine, embedder: Embedder) -> None:
    rows = [r for r in load_gold() if r.answerable]
    memo = MemoEmbedder(embedder)

    def hit5(loaded: Engine) -> float:
        eng = Engine(loaded.settings, memo, loaded.snapshot)
        total = 0.0
        for row in rows:
            t0 = time.perf_counter()
            hits = eng.search(row.question, RETRIEVAL_K).hits
            resp = Response([(h.chunk.doc_id, h.chunk.start, h.chunk.end) for h in hits], False, "", [],
                            (time.perf_counter() - t0) * 1e3)
            total += score(row, resp, lambda d: eng.document(d).text).hit5
        return total / len(rows)

    faiss, milvus = hit5(engine), hit5(milvus_engine)
    assert faiss > 0.5 and abs(faiss - milvus) <= 0.01, (faiss, milvus)


def test_ask_api_gives_the_same_top_passage(settings: Settings, engine: Engine, milvus_settings: Settings,
                                            milvus_engine: Engine) -> None:
    from api.app import create_app

    tops = []
    for s, e in ((settings, engine), (milvus_settings, milvus_engine)):
        with TestClient(create_app(s, engine=e)) as client:
            r = client.post("/v1/ask", json={"question": FDA_EN})
            assert r.status_code == 200
            tops.append(r.json()["passages"][0])
    assert tops[0]["chunk_id"] == tops[1]["chunk_id"] and FDA_QUOTE in tops[1]["text"]


def test_migrate_copies_vectors_without_embedding(fresh_settings: Settings, embedder: Embedder) -> None:
    before = load_index(fresh_settings.index_dir)
    counting = CountingEmbedder(embedder)
    snap = migrate_index(fresh_settings, "milvus", counting)
    assert counting.passages == 0 and snap.version != before.version
    assert isinstance(snap.dense, MilvusStore) and read_store_kind(snap.path) == "milvus"
    assert np.array_equal(snap.vectors, before.vectors) and [c.id for c in snap.chunks] == [c.id for c in before.chunks]
    queries = before.transform.apply_documents(before.vectors[:5], [c.lang for c in before.chunks[:5]])
    assert np.array_equal(snap.dense.search(queries, 5)[1], before.dense.search(queries, 5)[1])
    snap.dense.close()
    # and back, from the command line, which loads no model at all
    assert main(["migrate", "--to", "faiss", "--index", str(fresh_settings.index_dir)]) == 0
    back = load_index(fresh_settings.index_dir)
    assert isinstance(back.dense, FaissStore) and np.array_equal(back.vectors, before.vectors)


def test_rag_index_store_flag_builds_a_milvus_snapshot(fresh_settings: Settings, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_UPLOADS_DIR", str(tmp_path / "uploads"))
    out = str(fresh_settings.index_dir)
    assert main(["index", str(CORPUS), "--out", out, "--store", "milvus", "--quiet"]) == 0
    snap = load_index(fresh_settings.index_dir)
    assert isinstance(snap.dense, MilvusStore) and len(snap.dense) == len(snap.chunks)


def test_add_and_remove_documents_on_milvus(milvus_settings: Settings, milvus_engine: Engine, embedder: Embedder,
                                            tmp_path: Path) -> None:
    shutil.copytree(milvus_settings.index_dir, tmp_path / "index", symlinks=True)
    settings = milvus_settings.model_copy(update={"index_dir": tmp_path / "index", "uploads_dir": tmp_path / "up"})
    engine = Engine.from_settings(settings, embedder)
    old_dir = engine.snapshot.path
    text = "Shenzhen hospitals piloted AI triage kiosks in 2025, cutting waiting times by a third. " * 4
    snap = engine.add_document("shenzhen-kiosks", text.encode(), "kiosks.txt", title="Kiosks")
    assert isinstance(snap.dense, MilvusStore) and snap.path != old_dir
    assert len(snap.dense) == len(snap.chunks) == len(milvus_engine.snapshot.chunks) + 1
    hits = engine.search("AI triage kiosks in Shenzhen hospitals", 3).hits
    assert hits[0].chunk.doc_id == "shenzhen-kiosks"
    snap = engine.remove_document("shenzhen-kiosks")
    assert len(snap.dense) == len(milvus_engine.snapshot.chunks)
    assert all(h.chunk.doc_id != "shenzhen-kiosks" for h in engine.search("AI triage kiosks in Shenzhen", 10).hits)
    assert len(list((settings.index_dir / "snapshots").iterdir())) == 2  # pruned, Milvus data with it


def test_milvus_store_removes_ids(tmp_path: Path) -> None:
    store = MilvusStore(8, uri=str(tmp_path / "m.db"), collection="c")
    vecs = np.eye(8, dtype=np.float32)
    store.add(np.arange(8, dtype=np.int64), vecs)
    assert store.remove(np.array([3, 3, 99], dtype=np.int64)) == 1 and len(store) == 7
    assert 3 not in store.search(vecs[3:4], 8)[1][0]
    store.close()


def test_lite_database_is_one_process_at_a_time(milvus_settings: Settings, tmp_path: Path) -> None:
    shutil.copytree(milvus_settings.index_dir, tmp_path / "index", symlinks=True)
    directory = (tmp_path / "index" / "current").resolve()
    first, second = load_vector_store(directory), load_vector_store(directory)
    assert len(second) > 0  # the count comes from milvus.json: loading does not open the database
    first.search(np.ones((1, first.dim), np.float32), 1)
    with pytest.raises(StoreUnavailable, match="one process per database"):
        second.search(np.ones((1, second.dim), np.float32), 1)
    assert isinstance(first, MilvusStore)
    first.close()


def test_tampered_milvus_data_is_detected(milvus_settings: Settings, tmp_path: Path) -> None:
    shutil.copytree(milvus_settings.index_dir, tmp_path / "index", symlinks=True)
    directory = (tmp_path / "index" / "current").resolve()
    segment = next((directory / "milvus.db").rglob("*.parquet"))
    segment.write_bytes(segment.read_bytes()[:-8])
    with pytest.raises(IndexCorrupt, match="checksum"):
        load_index(tmp_path / "index")


@pytest.fixture()
def milvus_server(tmp_path: Path) -> Iterator[str]:
    """A Milvus-protocol server on a local port (milvus-lite's standalone gRPC server) for the server mode."""
    from milvus_lite.adapter.grpc.server import start_server_in_thread

    server, db, port = start_server_in_thread(str(tmp_path / "server-data"))
    yield f"http://127.0.0.1:{port}"
    server.stop(grace=None).wait()
    db.close()


def test_server_mode_uses_one_collection_per_snapshot_and_drops_pruned_ones(milvus_server: str,
                                                                             tmp_path: Path) -> None:
    from pymilvus import MilvusClient

    settings = Settings(index_dir=tmp_path / "idx", store="milvus", milvus_uri=milvus_server,
                        milvus_collection="rag_test")
    client = MilvusClient(uri=milvus_server)
    MilvusStore(4, uri=milvus_server, collection="rag_test_20000101T000000000000Z").close()  # a crashed build
    MilvusStore(4, uri=milvus_server, collection="other_20000101T000000000000Z").close()  # not ours
    emb = HashEmbedder(32)
    docs = [make_document("a", "Alpha text about AI in radiology. " * 5), make_document("b", "Beta on payment.")]
    versions = []
    for n in (2, 1, 2):
        snap = build_index(docs[:n], emb, settings, previous=None)
        versions.append(snap.version)
        pointer = json.loads((snap.path / POINTER_FILE).read_text())
        assert pointer["collection"] == f"rag_test_{snap.version}" and "path" not in pointer
        assert not (snap.path / "milvus.db").exists()
    assert sorted(c for c in client.list_collections() if c.startswith("rag_test_")) == \
        [f"rag_test_{v}" for v in versions[1:]]  # the pruned snapshot's and the orphan's are gone
    assert "other_20000101T000000000000Z" in client.list_collections()
    loaded = load_index(settings.index_dir, settings=settings)
    assert isinstance(loaded.dense, MilvusStore) and not loaded.dense.is_lite
    q = loaded.transform.apply_documents(loaded.vectors[:1], [loaded.chunks[0].lang])
    assert loaded.dense.search(q, 1)[1][0, 0] == 0
    client.close()
