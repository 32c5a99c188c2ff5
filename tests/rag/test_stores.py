"""One contract suite for every VectorStore backend, plus the BM25 store and the manifest."""

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from rag.errors import IndexCorrupt
from rag.stores.base import VectorStore
from rag.stores.bm25_store import BM25Store
from rag.stores.faiss_store import FaissStore
from rag.stores.manifest import Manifest, read_manifest, write_atomic, write_manifest
from rag.stores.milvus_store import MilvusStore

DIM = 16


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


# Each factory gets a private temporary directory; Milvus Lite keeps its database there (outside the
# directory the round-trip test saves into, so save() has to copy it).
STORES: dict[str, Callable[[Path], VectorStore]] = {
    "faiss-flat": lambda _: FaissStore(DIM, "flat"),
    "faiss-hnsw": lambda _: FaissStore(DIM, "hnsw"),
    "faiss-ivf": lambda _: FaissStore(DIM, "ivf"),
    "milvus-lite-flat": lambda d: MilvusStore(DIM, uri=str(d / "live" / "milvus.db"), collection="contract"),
    "milvus-lite-hnsw": lambda d: MilvusStore(DIM, uri=str(d / "live" / "milvus.db"), collection="contract",
                                              expected_size=10**9),
}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> VectorStore:
    return STORES[request.param](tmp_path)


def test_add_and_search_returns_self_first(store: VectorStore) -> None:
    vecs = _vectors(50)
    store.add(np.arange(100, 150, dtype=np.int64), vecs)
    assert len(store) == 50 and isinstance(store, VectorStore)
    scores, ids = store.search(vecs[:5], 3)
    assert ids.shape == (5, 3) and list(ids[:, 0]) == [100, 101, 102, 103, 104]
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first


def test_search_with_allowed_ids_only_returns_those(store: VectorStore) -> None:
    vecs = _vectors(30)
    store.add(np.arange(30, dtype=np.int64), vecs)
    _, ids = store.search(vecs[:1], 5, allowed=np.array([7, 9], dtype=np.int64))
    assert set(ids[0][ids[0] >= 0].tolist()) == {7, 9}


def test_empty_store_searches_to_nothing(store: VectorStore) -> None:
    scores, ids = store.search(_vectors(1), 3)
    assert (ids == -1).all() and np.isneginf(scores).all()


def test_save_load_roundtrip(store: VectorStore, tmp_path: Path) -> None:
    vecs = _vectors(20)
    store.add(np.arange(20, dtype=np.int64), vecs)
    store.save(tmp_path)
    loaded = type(store).load(tmp_path)  # every backend has a `load(directory)` classmethod
    assert len(loaded) == 20
    assert np.array_equal(loaded.search(vecs[:3], 4)[1], store.search(vecs[:3], 4)[1])


def test_flat_store_removes_ids() -> None:
    store = FaissStore(DIM, "flat")
    vecs = _vectors(10)
    store.add(np.arange(10, dtype=np.int64), vecs)
    assert store.remove(np.array([3, 99], dtype=np.int64)) == 1
    assert 3 not in store.search(vecs[3:4], 10)[1][0]


def test_corrupt_faiss_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "faiss.index").write_bytes(b"not an index")
    with pytest.raises(IndexCorrupt, match="rag index"):
        FaissStore.load(tmp_path)


def test_bm25_scores_rows_and_roundtrips(tmp_path: Path) -> None:
    store = BM25Store([["fda", "cleared", "devices"], ["nmpa", "approved"], [], ["美国", "fda"]])
    scores = store.scores(["fda", "devices"])
    assert scores.shape == (4,) and scores[0] > scores[3] > 0 and scores[1] == 0 and scores[2] == 0
    store.save(tmp_path)
    assert np.allclose(BM25Store.load(tmp_path).scores(["fda", "devices"]), scores)
    assert BM25Store([]).scores(["x"]).shape == (0,)


def test_manifest_checksums_catch_corruption(tmp_path: Path) -> None:
    data = tmp_path / "vectors.npy"
    write_atomic(data, b"payload")
    from rag.stores.manifest import sha256_file

    m = Manifest(version="v1", created_at="now", embedder="e", dim=4, chunk_size=500, chunk_overlap=80,
                 files={"vectors.npy": sha256_file(data)})
    write_manifest(tmp_path, m)
    assert read_manifest(tmp_path).version == "v1"
    data.write_bytes(b"payloaX")
    with pytest.raises(IndexCorrupt, match="checksum"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{trunc", encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="manifest"):
        read_manifest(tmp_path)
