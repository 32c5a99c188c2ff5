"""Milvus vector store: the FaissStore contract over one Milvus collection, on Milvus Lite or a Milvus server.

Where the data lives:
- Milvus Lite (`uri` is a local path): a database inside the snapshot directory (`<snapshot>/milvus.db/`,
  a directory of Parquet segments with milvus-lite 3.x), written once at build time, checksummed with the
  other snapshot files and swapped in atomically with them. One process at a time may open it (milvus-lite
  takes a file lock), so share an index between processes through a Milvus server instead.
- Milvus server (`uri` is `http://host:19530`): collection `<prefix>_<snapshot version>`; the snapshot
  directory holds only `milvus.json` naming it (rag/stores/factory.py drops collections of pruned snapshots).

pymilvus is imported on first use, so FAISS-only installs and imports of this module load nothing.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import numpy.typing as npt

from rag.errors import IndexCorrupt, IndexMissing
from rag.stores.base import Ids, Scores
from rag.stores.faiss_store import HNSW_EF_SEARCH, HNSW_M

logger = logging.getLogger(__name__)

# Milvus keeps its own switch to HNSW (FaissStore switches to IVF at 50k rows): its server-side HNSW has not
# been measured at scale here, so it stays exact up to the size where exact search was measured to stay fast.
EXACT_LIMIT = 200_000

POINTER_FILE = "milvus.json"
LITE_DB = "milvus.db"
FORMAT_VERSION = 1
INSERT_BATCH = 1000  # rows per insert call: 1000 × 384 float32 ≈ 1.5 MB, far below gRPC's 64 MB default
ID_BATCH = 1000  # ids per `id in [...]` expression when querying or deleting
MAX_TOP_K = 16384  # Milvus refuses a larger `limit`
HNSW_EF_CONSTRUCTION = 200  # Milvus's documented default build depth for HNSW
VERSION_RE = re.compile(r"^\d{8}T\d{12}Z$")  # snapshot versions (rag/index.py): also collection-name suffixes


class StoreUnavailable(IndexMissing):
    """The Milvus backend cannot be reached or opened (server down, Lite database open in another process)."""


@dataclass(frozen=True)
class ChunkMeta:
    """Scalar fields stored beside each vector, so the collection is readable on its own."""

    doc_id: str
    lang: str
    start: int
    end: int


def is_server_uri(uri: str) -> bool:
    """`http://host:19530`, `https://…`, `tcp://…` name a server; anything else is a Milvus Lite database path."""
    return "://" in uri


def public_uri(uri: str) -> str:
    """`uri` without any `user:password@` part: what may be logged or written into a snapshot."""
    parts = urlsplit(uri)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2])) if "@" in parts.netloc else uri


def _id_filter(ids: Sequence[int]) -> str:
    # Milvus Lite does not accept filter templates (`id in {ids}`), so ids are written into the expression.
    return f"id in [{', '.join(str(int(i)) for i in ids)}]"


def _shutdown(state: dict[str, Any]) -> None:
    """Close the client and, for Lite, stop the in-process server and release the database lock."""
    client, server, db = state.pop("client", None), state.pop("server", None), state.pop("db", None)
    if client is not None:
        client.close()
    if server is not None:
        server.stop(grace=None).wait()
    if db is not None:
        db.close()


class MilvusStore:
    """Inner product over L2-normalised vectors in one collection; the primary key is the row id.

    Below EXACT_LIMIT rows the index is FLAT (exact, so results equal FaissStore's); above it HNSW with the
    same graph degree and search depth as FaissStore. Connections open on first use, so loading a snapshot
    only to reuse its embeddings (`rag index`) never touches Milvus.

    Example:
        >>> store = MilvusStore(384, uri="/tmp/snap/milvus.db", collection="rag_chunks")
        >>> store.add(ids, vectors)
        >>> scores, ids = store.search(query_vectors, 10)
    """

    def __init__(self, dim: int, *, uri: str, collection: str, token: str = "", expected_size: int = 0,
                 create: bool = True) -> None:
        self.dim = dim
        self.uri = uri
        self.collection = collection
        self.index_type = "HNSW" if expected_size > EXACT_LIMIT else "FLAT"
        self._token = token
        self._count = 0
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {}
        self._finalizer: weakref.finalize[..., Any] | None = None
        if create:
            self._open(create=True)

    @property
    def is_lite(self) -> bool:
        return not is_server_uri(self.uri)

    # -- connection --------------------------------------------------------------------------------------
    def _client(self) -> Any:
        with self._lock:
            if "client" not in self._state:
                self._open(create=False)
            return self._state["client"]

    def _open(self, create: bool) -> None:
        """Connect (starting the Lite server first), then create or check the collection. Caller holds _lock."""
        from pymilvus import MilvusClient, MilvusException

        state: dict[str, Any] = {}
        self._state, self._finalizer = state, weakref.finalize(self, _shutdown, state)
        try:
            address = self._start_lite(state, create) if self.is_lite else self.uri
            # A dedicated channel for Lite: closed with the store, not pooled past its server.
            state["client"] = client = MilvusClient(uri=address, token=self._token, dedicated=self.is_lite)
            if create:
                self._create_collection(client)
            else:
                self._check_collection(client)
        except MilvusException as e:
            self._release()
            where = "Milvus Lite" if self.is_lite else f"the Milvus server at {public_uri(self.uri)}"
            raise StoreUnavailable(f"{where}: cannot open collection {self.collection!r} ({e.message}); check "
                                   "RAG_MILVUS_URI / RAG_MILVUS_TOKEN or rebuild with `rag index`") from e
        except BaseException:
            self._release()
            raise

    def _start_lite(self, state: dict[str, Any], create: bool) -> str:
        """Serve the Lite database from this process (the server pymilvus would start for a `.db` URI)."""
        from milvus_lite import DataDirLockedError
        from milvus_lite.adapter.grpc.server import start_server_in_thread

        path = Path(self.uri)
        if not create and not path.is_dir():
            raise IndexCorrupt(f"{path}: the Milvus Lite database is missing; rebuild with `rag index`")
        try:
            state["server"], state["db"], port = start_server_in_thread(str(path))
        except DataDirLockedError as e:
            raise StoreUnavailable(
                f"{path} is open in another process; Milvus Lite allows one process per database. Stop it, or "
                "point RAG_MILVUS_URI at a Milvus server to share an index between processes") from e
        return f"http://127.0.0.1:{port}"

    def _create_collection(self, client: Any) -> None:
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=256)  # document ids are ≤ 128 characters
        schema.add_field("lang", DataType.VARCHAR, max_length=16)
        schema.add_field("start_offset", DataType.INT64)
        schema.add_field("end_offset", DataType.INT64)
        index = client.prepare_index_params()
        params = {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION} if self.index_type == "HNSW" else {}
        index.add_index(field_name="vector", index_type=self.index_type, metric_type="IP", params=params)
        # Strong consistency: a search right after add() or remove() sees it, as with FAISS.
        client.create_collection(self.collection, schema=schema, index_params=index, consistency_level="Strong")

    def _check_collection(self, client: Any) -> None:
        if not client.has_collection(self.collection):
            raise IndexCorrupt(f"collection {self.collection!r} named by the snapshot is missing from "
                               f"{public_uri(self.uri)}; rebuild with `rag index`")
        client.load_collection(self.collection)
        rows = client.query(self.collection, filter="", output_fields=["count(*)"])
        count = int(rows[0]["count(*)"]) if rows else 0
        if count != self._count:
            raise IndexCorrupt(f"collection {self.collection!r} holds {count} rows, the snapshot expects "
                               f"{self._count}; rebuild with `rag index`")

    def close(self) -> None:
        """Release the connection (and the Lite server); the next call reopens it."""
        with self._lock:
            self._release()

    def _release(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # runs _shutdown at most once
        self._finalizer = None
        self._state = {}

    # -- the VectorStore contract -----------------------------------------------------------------------
    def __len__(self) -> int:
        return self._count

    def add(self, ids: Ids, vectors: npt.NDArray[np.float32], metadata: Sequence[ChunkMeta] | None = None) -> None:
        """Insert rows; `metadata` (one per row) fills the scalar fields, which are blank without it."""
        if len(ids) == 0:
            return
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        if vecs.shape != (len(ids), self.dim):
            raise ValueError(f"expected vectors of shape ({len(ids)}, {self.dim}), got {vecs.shape}")
        if metadata is not None and len(metadata) != len(ids):
            raise ValueError(f"expected {len(ids)} metadata rows, got {len(metadata)}")
        blank = ChunkMeta("", "", -1, -1)
        rows = [{"id": int(i), "vector": v, "doc_id": m.doc_id, "lang": m.lang, "start_offset": m.start,
                 "end_offset": m.end} for i, v, m in zip(ids, vecs, metadata or [blank] * len(ids), strict=True)]
        client = self._client()
        for b in range(0, len(rows), INSERT_BATCH):
            client.insert(self.collection, rows[b:b + INSERT_BATCH])
        self._count += len(rows)

    def remove(self, ids: Ids) -> int:
        unique = np.unique(np.asarray(ids, dtype=np.int64)).tolist()
        if not unique:
            return 0
        client = self._client()
        found: list[int] = []
        for b in range(0, len(unique), ID_BATCH):
            rows = client.query(self.collection, filter=_id_filter(unique[b:b + ID_BATCH]), output_fields=["id"])
            found += [int(r["id"]) for r in rows]
        for b in range(0, len(found), ID_BATCH):
            client.delete(self.collection, ids=found[b:b + ID_BATCH])
        self._count -= len(found)
        return len(found)

    def search(self, queries: npt.NDArray[np.float32], k: int, allowed: Ids | None = None) -> tuple[Scores, Ids]:
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, len(self), MAX_TOP_K)) if len(self) else 1
        scores = np.full((len(q), k), -np.inf, np.float32)
        ids = np.full((len(q), k), -1, np.int64)
        if len(self) == 0 or len(q) == 0 or (allowed is not None and len(allowed) == 0):
            return scores, ids
        params: dict[str, Any] = {"metric_type": "IP"}
        if self.index_type == "HNSW":
            params["params"] = {"ef": max(HNSW_EF_SEARCH, k)}  # Milvus requires ef >= limit
        # output_fields=["id"]: Milvus Lite returns every field, vectors included, when given none.
        result = self._client().search(self.collection, data=list(q), limit=k, anns_field="vector",
                                       filter=_id_filter(allowed.tolist()) if allowed is not None else "",
                                       output_fields=["id"], search_params=params)
        for row, hits in enumerate(result):
            hit_ids = getattr(hits, "ids", None)
            hit_scores = getattr(hits, "distances", None)
            if hit_ids is None or hit_scores is None:
                hit_ids, hit_scores = [h["id"] for h in hits], [h["distance"] for h in hits]
            n = min(len(hit_ids), k)
            ids[row, :n] = hit_ids[:n]
            scores[row, :n] = hit_scores[:n]
        return scores, ids

    def metadata(self, ids: Sequence[int]) -> dict[int, ChunkMeta]:
        """The scalar fields stored with each of `ids` that exists."""
        fields = ["id", "doc_id", "lang", "start_offset", "end_offset"]
        out: dict[int, ChunkMeta] = {}
        for b in range(0, len(ids), ID_BATCH):
            for r in self._client().query(self.collection, filter=_id_filter(ids[b:b + ID_BATCH]),
                                          output_fields=fields):
                out[int(r["id"])] = ChunkMeta(str(r["doc_id"]), str(r["lang"]), int(r["start_offset"]),
                                              int(r["end_offset"]))
        return out

    def save(self, directory: Path) -> list[Path]:
        """Flush, then write `milvus.json` (and, for Lite, the database itself) into `directory`.

        Lite: the server is stopped so the files are complete, then reopened on next use. A database built
        elsewhere is copied into `directory`; one built inside it (rag/index.py builds into the snapshot)
        stays where it is. Returns every file written, for the manifest's checksums.
        """
        self._client().flush(self.collection)
        pointer: dict[str, object] = {"format_version": FORMAT_VERSION, "collection": self.collection,
                                      "dim": self.dim, "count": self._count, "metric": "IP",
                                      "index_type": self.index_type}
        written: list[Path] = []
        if self.is_lite:
            self.close()
            source = Path(self.uri)
            target = source if source.parent.resolve() == directory.resolve() else directory / LITE_DB
            if target != source:
                shutil.copytree(source, target)
            pointer["path"] = target.name
            written = sorted(p for p in target.rglob("*") if p.is_file())
            for d in sorted({p.parent for p in written}, key=lambda p: -len(p.parts)):
                _fsync_dir(d)  # the manifest fsyncs files and the snapshot directory, not these subdirectories
        else:
            pointer["uri"] = public_uri(self.uri)  # credentials come from RAG_MILVUS_URI / RAG_MILVUS_TOKEN
        path = directory / POINTER_FILE
        path.write_text(json.dumps(pointer, indent=2), encoding="utf-8")
        return [path, *written]

    @classmethod
    def load(cls, directory: Path, uri: str | None = None, token: str = "") -> MilvusStore:
        """The store a snapshot's `milvus.json` names; `uri` overrides a server address (not a Lite path)."""
        path = directory / POINTER_FILE
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
            collection, dim, count = str(meta["collection"]), int(meta["dim"]), int(meta["count"])
            lite_path = meta.get("path")
            target = str(directory / lite_path) if lite_path else (uri or str(meta["uri"]))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise IndexCorrupt(f"{path}: cannot read the Milvus pointer ({e}); rebuild with `rag index`") from e
        store = cls(dim, uri=target, collection=collection, token=token, create=False)
        store.index_type = str(meta.get("index_type", "FLAT"))
        store._count = count
        return store


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def drop_collections(uri: str, token: str, prefix: str, keep: set[str], newest: str) -> list[str]:
    """Drop `<prefix>_<version>` collections older than `newest` that are not in `keep`; returns their names.

    Collections newer than `newest` are left alone: they may belong to a build that has not swapped yet.
    """
    from pymilvus import MilvusClient

    client = MilvusClient(uri=uri, token=token)
    try:
        dropped = []
        for name in client.list_collections():
            version = name[len(prefix) + 1:] if name.startswith(prefix + "_") else ""
            if VERSION_RE.match(version) and version < newest and name not in keep:
                client.drop_collection(name)
                dropped.append(name)
        return dropped
    finally:
        client.close()
