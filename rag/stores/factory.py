"""Which dense store a snapshot uses: chosen by `RAG_STORE` when building, read from `store.json` when loading.

A snapshot records its store kind in `store.json` (checksummed with the other files), so a loaded index is
served by the store it was built with whatever `RAG_STORE` says now; `RAG_STORE` decides the next build.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, cast

import numpy as np
import numpy.typing as npt

from rag.chunking import Chunk
from rag.config import Settings
from rag.errors import IndexCorrupt
from rag.stores.base import VectorStore
from rag.stores.faiss_store import FILE_NAME as FAISS_FILE
from rag.stores.faiss_store import FaissStore
from rag.stores.milvus_store import (
    POINTER_FILE,
    ChunkMeta,
    MilvusStore,
    StoreUnavailable,
    drop_collections,
    is_server_uri,
    public_uri,
)

logger = logging.getLogger(__name__)

STORE_FILE = "store.json"
StoreKind = Literal["faiss", "milvus"]
KINDS: tuple[StoreKind, ...] = ("faiss", "milvus")


def _token(settings: Settings) -> str:
    return settings.milvus_token.get_secret_value() if settings.milvus_token else ""


def make_vector_store(settings: Settings, dim: int, expected_size: int, directory: Path,
                      version: str = "") -> VectorStore:
    """An empty store of kind `settings.store` for the snapshot being written in `directory`.

    Args:
        directory: the snapshot directory under construction; Milvus Lite creates its database in it.
        version: the snapshot version; a Milvus server collection is named `<RAG_MILVUS_COLLECTION>_<version>`.
    """
    if settings.store == "faiss":
        return FaissStore(dim, expected_size=expected_size)
    if is_server_uri(settings.milvus_uri):
        if not version:
            raise ValueError("a Milvus server collection needs the snapshot version in its name")
        return MilvusStore(dim, uri=settings.milvus_uri, token=_token(settings), expected_size=expected_size,
                           collection=f"{settings.milvus_collection}_{version}")
    return MilvusStore(dim, uri=str(directory / settings.milvus_uri), collection=settings.milvus_collection,
                       expected_size=expected_size)


def add_chunks(store: VectorStore, vectors: npt.NDArray[np.float32], chunks: Sequence[Chunk]) -> None:
    """Add row i = chunks[i]; Milvus also stores each chunk's document id, language and offsets."""
    ids = np.arange(len(chunks), dtype=np.int64)
    if isinstance(store, MilvusStore):
        store.add(ids, vectors, [ChunkMeta(c.doc_id, c.lang, c.start, c.end) for c in chunks])
    else:
        store.add(ids, vectors)


def store_kind(store: VectorStore) -> StoreKind:
    return "milvus" if isinstance(store, MilvusStore) else "faiss"


def save_vector_store(store: VectorStore, directory: Path) -> list[Path]:
    """`store.save(directory)` plus `store.json` recording the kind; returns every file, for the checksums."""
    written = store.save(directory)
    path = directory / STORE_FILE
    path.write_text(json.dumps({"kind": store_kind(store), "dim": store.dim, "count": len(store)}), encoding="utf-8")
    return [path, *written]


def read_store_kind(directory: Path) -> StoreKind:
    """The kind in `store.json`; snapshots written before it existed hold FAISS (or a Milvus pointer)."""
    path = directory / STORE_FILE
    if not path.exists():
        return "milvus" if (directory / POINTER_FILE).exists() and not (directory / FAISS_FILE).exists() else "faiss"
    try:
        kind = json.loads(path.read_text(encoding="utf-8"))["kind"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise IndexCorrupt(f"{path}: unreadable ({e}); rebuild with `rag index`") from e
    if kind not in KINDS:
        raise IndexCorrupt(f"{path}: unknown store kind {kind!r}; rebuild with `rag index`")
    return cast(StoreKind, kind)


def load_vector_store(directory: Path, settings: Settings | None = None) -> VectorStore:
    """The dense store of the snapshot in `directory`, of the kind it was built with.

    Milvus connects lazily, on the first search. A server snapshot connects to `settings.milvus_uri` when that
    is a server URI (so one snapshot can move between addresses), else to the URI it was built against.
    """
    kind = read_store_kind(directory)
    if settings is not None and settings.store != kind:
        logger.warning("index %s uses the %s store but RAG_STORE is %s; serving it as built (the next build or "
                       "`rag migrate --to %s` switches)", directory.name, kind, settings.store, settings.store)
    if kind == "faiss":
        return FaissStore.load(directory)
    if settings is None:
        settings = Settings()  # only the token is needed, and only for a server; prefer passing settings down
    uri = settings.milvus_uri if is_server_uri(settings.milvus_uri) else None
    return MilvusStore.load(directory, uri=uri, token=_token(settings))


def reopen_vector_store(store: VectorStore, directory: Path, settings: Settings | None = None) -> VectorStore:
    """The store to serve from once its snapshot directory has been renamed into place.

    FAISS lives in memory and is unaffected. A Milvus Lite database moved with the directory, so the store
    is reopened at the new path (lazily); a server store reconnects the same way.
    """
    if isinstance(store, MilvusStore):
        store.close()
        return load_vector_store(directory, settings)
    return store


def prune_collections(index_dir: Path, settings: Settings) -> list[str]:
    """Drop server collections whose snapshots are gone (pruned, or a build that crashed before its swap).

    Collections are dropped together with the snapshot directories that named them, so the snapshot kept for
    rollback (rag/index.py KEEP_SNAPSHOTS) stays loadable. Give every index directory that shares a Milvus
    server its own RAG_MILVUS_COLLECTION. A server that is down only delays the cleanup.
    """
    if not is_server_uri(settings.milvus_uri):
        return []  # Milvus Lite data is deleted with its snapshot directory
    snaps = [p for p in (index_dir / "snapshots").iterdir() if p.is_dir() and not p.name.startswith(".")]
    keep = set()
    for snap in snaps:
        pointer = snap / POINTER_FILE
        if pointer.exists():
            try:
                keep.add(str(json.loads(pointer.read_text(encoding="utf-8"))["collection"]))
            except (OSError, ValueError, KeyError, TypeError) as e:
                logger.warning("not pruning Milvus collections: %s unreadable (%s)", pointer, e)
                return []
    from pymilvus import MilvusException

    try:
        dropped = drop_collections(settings.milvus_uri, _token(settings), settings.milvus_collection, keep,
                                   newest=max((p.name for p in snaps), default=""))
    except (MilvusException, StoreUnavailable) as e:
        logger.warning("could not prune Milvus collections at %s: %s", public_uri(settings.milvus_uri), e)
        return []
    if dropped:
        logger.info("dropped %d Milvus collections of pruned snapshots: %s", len(dropped), ", ".join(dropped))
    return dropped
