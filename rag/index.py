"""Build, load and update the on-disk index: immutable snapshots swapped in atomically.

Layout of `index_dir`:
    current            symlink → snapshots/<version>   (replaced atomically with os.replace)
    snapshots/<version>/manifest.json, documents.jsonl, chunks.jsonl, vectors.npy, faiss.index, bm25/
A build writes a complete new snapshot, fsyncs it, then swaps `current`; a crash at any point leaves the
previous snapshot in place and loadable. Readers hold a loaded snapshot, so queries keep being served from
the old index until the new one is loaded and swapped in memory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import sparse

from rag.chunking import Chunk, chunk_document
from rag.config import Settings
from rag.documents import Document
from rag.embedders import Embedder, LatentTermEncoder, latent_encoder
from rag.errors import EmbedderMismatch, IndexCorrupt, IndexMissing
from rag.sentences import SentenceIndex, SentenceUnit, sentence_units
from rag.stores.base import VectorStore
from rag.stores.bm25_store import BM25Store
from rag.stores.factory import (
    add_chunks,
    load_vector_store,
    make_vector_store,
    prune_collections,
    reopen_vector_store,
    save_vector_store,
)
from rag.stores.manifest import (
    Manifest,
    fsync_dir,
    read_manifest,
    sha256_file,
    write_atomic,
    write_manifest,
)
from rag.text import tokenize, unglue
from rag.transform import DenseTransform, fit_transform, reference_means
from rag.translate import GLOSSARY, QueryExpander

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
KEEP_SNAPSHOTS = 2  # the current one and the one before it, for a manual rollback
GLOSS_DIR = "bm25_gloss"
LATENT_FILE = "latent.npz"


@dataclass
class IndexSnapshot:
    """A loaded, immutable index version: everything a query needs, in memory."""

    path: Path
    manifest: Manifest
    documents: dict[str, Document]
    chunks: list[Chunk]
    vectors: npt.NDArray[np.float32]  # raw embeddings, row i ↔ chunks[i]
    dense: VectorStore  # transformed vectors, id i ↔ chunks[i] (FAISS or Milvus: rag/stores/factory.py)
    lexical: BM25Store
    transform: DenseTransform
    embed_keys: list[str]  # sha256 of (embedder, text actually embedded) per row: the re-embedding cache key
    sentences: SentenceIndex | None = None  # a finer dense view of the same chunks (rag/sentences.py)
    glossed: BM25Store | None = None  # BM25 over the English glosses of Chinese chunks (other rows empty)
    latent: sparse.csr_matrix | None = None  # latent-term rows of the chunks (LatentTermEncoder), row i ↔ chunks[i]
    chunk_langs: npt.NDArray[np.str_] = field(init=False)
    # Each chunk's service language (rag/retrieval.py, language_group): "zh" for Chinese and Japanese, else "en"
    chunk_groups: npt.NDArray[np.str_] = field(init=False)
    language_rows: dict[str, int] = field(init=False)  # chunks per service language

    def __post_init__(self) -> None:
        self.chunk_langs = np.array([c.lang for c in self.chunks], dtype="<U5")
        self.chunk_groups = np.where(np.isin(self.chunk_langs, ("zh", "ja")), "zh", "en")
        groups, counts = np.unique(self.chunk_groups, return_counts=True)
        self.language_rows = {str(g): int(n) for g, n in zip(groups.tolist(), counts.tolist(), strict=True)}
        if self.sentences is None:
            self.sentences = SentenceIndex.empty(self.vectors.shape[1] if self.vectors.ndim == 2 else 0)

    @property
    def version(self) -> str:
        return self.manifest.version


def _text_key(embedder_name: str, text: str) -> str:
    return hashlib.sha256(f"{embedder_name}\x00{text}".encode()).hexdigest()


def embedding_input(title: str, text: str) -> str:
    """What the embedder sees for a passage: its report title for context, then the text with glued table
    cells split into words. Display text and offsets are unaffected."""
    return f"{title}\n{unglue(text)}" if title else unglue(text)


@functools.lru_cache(maxsize=1)
def _gloss_expander() -> QueryExpander:
    """Built once per process: its jieba dictionary takes ~1 s to load, which every document upload would pay.
    No corpus vocabulary, so a gloss depends on the chunk's text alone."""
    return QueryExpander()


def glossary_source() -> str:
    """The sha256 of the glossary that passage glosses are made with: a snapshot records it (Manifest.gloss_source),
    and a rebuild under another one glosses anew."""
    return sha256_file(GLOSSARY)


def _glossed_bm25(chunks: list[Chunk]) -> BM25Store:
    """BM25 over the English glosses of Chinese chunks (QueryExpander.gloss_passage), row i ↔ chunk i; rows of
    other chunks are empty."""
    expander = _gloss_expander()
    return BM25Store([tokenize(expander.gloss_passage(unglue(c.text), c.lang)) for c in chunks])


def _embed_with_cache(texts: list[str], embedder: Embedder, cache: dict[str, npt.NDArray[np.float32]],
                      batch_size: int, progress: Progress | None) -> tuple[npt.NDArray[np.float32], list[str], int]:
    """Vectors for all texts, embedding only those not in `cache`. Returns (vectors, keys, how many embedded)."""
    keys = [_text_key(embedder.name, t) for t in texts]
    todo = sorted({k: i for i, k in enumerate(keys) if k not in cache}.values())
    done = 0
    if progress:
        progress(0, len(todo))
    for b in range(0, len(todo), batch_size):
        rows = todo[b:b + batch_size]
        vecs = embedder.embed_documents([texts[i] for i in rows])
        for i, v in zip(rows, vecs, strict=True):
            cache[keys[i]] = v
        done += len(rows)
        if progress:
            progress(done, len(todo))
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for i, k in enumerate(keys):
        out[i] = cache[k]
    return out, keys, len(todo)


def _latent_rows(chunks: list[Chunk], keys: list[str], encoder: LatentTermEncoder,
                 previous: IndexSnapshot | None) -> sparse.csr_matrix:
    """Latent-term rows of the chunks' texts, encoding only chunks the previous snapshot lacks (same embedder and
    embed key ⇒ same text). ~0.2 s per chunk on two cores: a document upload pays only for its own chunks."""
    old = previous.latent if previous is not None else None
    known = {k: i for i, k in enumerate(previous.embed_keys)} if previous is not None and old is not None else {}
    reused = [i for i, k in enumerate(keys) if k in known]
    todo = [i for i, k in enumerate(keys) if k not in known]
    parts = []
    if reused:  # one fancy-indexing slice, not a row at a time: an unchanged 100k-chunk corpus re-indexes fast
        assert old is not None
        parts.append(old[[known[keys[i]] for i in reused]])
    if todo:
        parts.append(encoder.latent_terms([chunks[i].text for i in todo]))
    if not parts:
        return sparse.csr_matrix((0, encoder.latent_dim), dtype=np.float32)
    where = np.empty(len(keys), dtype=np.int64)
    where[reused + todo] = np.arange(len(keys))  # row of each chunk in the stacked parts
    return sparse.csr_matrix(sparse.vstack(parts, format="csr")[where], dtype=np.float32)


def _sentence_index(units: list[SentenceUnit], vectors: npt.NDArray[np.float32], keys: list[str]) -> SentenceIndex:
    rows = np.array([u.row for u in units], dtype=np.int64)
    return SentenceIndex(rows, vectors, keys, [(u.start, u.end) for u in units])


def _cache_from(snapshot: IndexSnapshot | None, embedder_name: str) -> dict[str, npt.NDArray[np.float32]]:
    if snapshot is None or snapshot.manifest.embedder != embedder_name:
        return {}
    cache = {k: snapshot.vectors[i] for i, k in enumerate(snapshot.embed_keys)}
    if snapshot.sentences is not None:
        cache.update((k, snapshot.sentences.vectors[i]) for i, k in enumerate(snapshot.sentences.keys))
    return cache


@contextlib.contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """One writer per index directory at a time (builds from the CLI and uploads through the API)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / ".lock").open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _write_jsonl(path: Path, rows: Iterable[dict[str, object]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _write_snapshot(directory: Path, manifest: Manifest, docs: list[Document], chunks: list[Chunk],
                    vectors: npt.NDArray[np.float32], keys: list[str], dense: VectorStore, lexical: BM25Store,
                    transform: DenseTransform, sentences: SentenceIndex, glossed: BM25Store | None,
                    latent: sparse.csr_matrix | None) -> None:
    _write_jsonl(directory / "documents.jsonl", (
        {"id": d.id, "title": d.title, "lang": d.lang, "sha256": d.sha256, "path": d.path, "source": d.source,
         "date": d.date, "text": d.text} for d in docs))
    _write_jsonl(directory / "chunks.jsonl", (
        {"id": c.id, "doc_id": c.doc_id, "start": c.start, "end": c.end, "lang": c.lang, "embed_key": k}
        for c, k in zip(chunks, keys, strict=True)))
    np.save(directory / "vectors.npy", vectors)
    written = [directory / "documents.jsonl", directory / "chunks.jsonl", directory / "vectors.npy"]
    if len(sentences):
        _write_jsonl(directory / "sentences.jsonl", (
            {"row": int(r), "start": st, "end": en, "embed_key": k}
            for r, (st, en), k in zip(sentences.rows, sentences.spans, sentences.keys, strict=True)))
        np.save(directory / "sentence_vectors.npy", sentences.vectors)
        written += [directory / "sentences.jsonl", directory / "sentence_vectors.npy"]
    written += save_vector_store(dense, directory) + lexical.save(directory) + transform.save(directory)
    if glossed is not None:
        written += glossed.save(directory, GLOSS_DIR)
    if latent is not None:
        sparse.save_npz(directory / LATENT_FILE, latent, compressed=False)
        written.append(directory / LATENT_FILE)
    for path in written:
        with path.open("rb") as f:
            os.fsync(f.fileno())
    manifest.files = {str(p.relative_to(directory)): sha256_file(p) for p in written}
    write_manifest(directory, manifest)
    fsync_dir(directory)


def _swap_current(index_dir: Path, snapshot_dir: Path) -> None:
    link = index_dir / "current"
    tmp = index_dir / f".current.tmp-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    tmp.symlink_to(Path("snapshots") / snapshot_dir.name)
    os.replace(tmp, link)
    fsync_dir(index_dir)


def _prune(index_dir: Path, keep: str) -> None:
    snaps = sorted((p for p in (index_dir / "snapshots").iterdir() if p.is_dir()), key=lambda p: p.name)
    stale = [p for p in snaps if p.name != keep][: max(0, len(snaps) - KEEP_SNAPSHOTS)]
    for p in stale:
        shutil.rmtree(p, ignore_errors=True)


def build_index(documents: list[Document], embedder: Embedder, settings: Settings,
                previous: IndexSnapshot | None = None, progress: Progress | None = None) -> IndexSnapshot:
    """Chunk, embed (reusing every vector `previous` already has), index, write and swap in a new snapshot."""
    t0 = time.perf_counter()
    index_dir = settings.index_dir
    docs = sorted({d.id: d for d in documents}.values(), key=lambda d: d.id)
    chunks = [c for d in docs for c in chunk_document(d, settings.chunk_size, settings.chunk_overlap)]
    titles = {d.id: d.title for d in docs}
    units = sentence_units(chunks) if settings.sentence_vectors else []
    texts = [embedding_input(titles.get(c.doc_id, ""), c.text) for c in chunks] + [unglue(u.text) for u in units]
    all_vectors, all_keys, embedded = _embed_with_cache(texts, embedder, _cache_from(previous, embedder.name),
                                                        settings.embed_batch_size, progress)
    vectors, keys = all_vectors[:len(chunks)], all_keys[:len(chunks)]
    transform = fit_transform(vectors, [c.lang for c in chunks], settings.dense_transform,
                              reference_means(embedder.name))
    dense_vectors = transform.apply_documents(vectors, [c.lang for c in chunks])
    sentences = _sentence_index(units, all_vectors[len(chunks):], all_keys[len(chunks):])
    lexical = BM25Store([tokenize(c.text) for c in chunks])
    glossed, gloss_source = None, ""
    if settings.passage_glosses:
        gloss_source = glossary_source()
        same_chunks = (previous is not None and previous.embed_keys == keys and previous.glossed is not None
                       and previous.manifest.gloss_source == gloss_source)
        # An unchanged corpus and glossary keep their glosses: building them loads CC-CEDICT and jieba (~4 s in a
        # fresh process). An edited glossary glosses anew.
        glossed = previous.glossed if same_chunks and previous is not None else _glossed_bm25(chunks)
    encoder = latent_encoder(embedder) if settings.latent_terms else None
    # Rows are reused from a snapshot of the same embedder whose rows were read the same way: an index built by
    # the package's engine re-reads its passages' latent terms once the fused engine is built (rag/native).
    same = (previous is not None and encoder is not None and previous.manifest.embedder == embedder.name
            and previous.manifest.latent_recipe == encoder.latent_recipe)
    latent = _latent_rows(chunks, keys, encoder, previous if same else None) if encoder else None
    now = dt.datetime.now(dt.UTC)
    version = now.strftime("%Y%m%dT%H%M%S%fZ")
    manifest = Manifest(version=version, created_at=now.isoformat(), embedder=embedder.name, dim=embedder.dim,
                        chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap,
                        dense_transform=transform.name, documents={d.id: d.sha256 for d in docs},
                        chunk_count=len(chunks), sentence_count=len(sentences), glossed=glossed is not None,
                        latent=latent is not None, latent_recipe=encoder.latent_recipe if encoder else "bare",
                        gloss_source=gloss_source)
    with writer_lock(index_dir):
        snaps = index_dir / "snapshots"
        snaps.mkdir(parents=True, exist_ok=True)
        remove_stale_builds(index_dir)  # safe: we hold the writer lock, so no other build is in progress
        tmp = snaps / f".building-{version}"
        tmp.mkdir()
        # Made here, not earlier: Milvus Lite writes its database into the snapshot directory being built.
        dense = make_vector_store(settings, embedder.dim, len(chunks), tmp, version)
        add_chunks(dense, dense_vectors, chunks)
        _write_snapshot(tmp, manifest, docs, chunks, vectors, keys, dense, lexical, transform, sentences, glossed,
                        latent)
        final = snaps / version
        os.replace(tmp, final)
        fsync_dir(snaps)
        _swap_current(index_dir, final)
        _prune(index_dir, keep=version)
        prune_collections(index_dir, settings)
    dense = reopen_vector_store(dense, final, settings)
    if glossed is not None:  # a reused store maps the previous snapshot's files, which a later build prunes
        glossed = BM25Store.load(final, GLOSS_DIR)
    logger.info("index %s built: %d docs, %d chunks, %d embedded, %.1fs", version, len(docs), len(chunks),
                embedded, time.perf_counter() - t0)
    return IndexSnapshot(final, manifest, {d.id: d for d in docs}, chunks, vectors, dense, lexical, transform, keys,
                         sentences, glossed, latent)


def current_snapshot_dir(index_dir: Path) -> Path:
    link = index_dir / "current"
    if not link.exists():
        raise IndexMissing(f"no index in {index_dir}; build one with `rag index` (or `make index`)")
    return link.resolve()


def load_index(index_dir: Path, embedder_name: str | None = None, verify: bool = True,
               settings: Settings | None = None) -> IndexSnapshot:
    """Load the current snapshot, verifying checksums; refuse one built by a different embedder.

    `settings` supplies a Milvus server's address and token; FAISS and Milvus Lite snapshots need none.
    """
    directory = current_snapshot_dir(index_dir)
    manifest = read_manifest(directory, verify=verify)
    if embedder_name is not None and manifest.embedder != embedder_name:
        raise EmbedderMismatch(
            f"index in {index_dir} was built with {manifest.embedder!r} but RAG_EMBEDDER is {embedder_name!r}; "
            "rebuild with `rag index` or set RAG_EMBEDDER to match"
        )
    try:
        docs = [json.loads(line) for line in (directory / "documents.jsonl").read_text(encoding="utf-8").splitlines()]
        documents = {d["id"]: Document(id=d["id"], text=d["text"], lang=d["lang"], sha256=d["sha256"],
                                       title=d["title"], path=d.get("path", ""), source=d.get("source", ""),
                                       date=d.get("date", "")) for d in docs}
        chunks, keys = [], []
        for line in (directory / "chunks.jsonl").read_text(encoding="utf-8").splitlines():
            c = json.loads(line)
            text = documents[c["doc_id"]].text[c["start"]:c["end"]]
            chunks.append(Chunk(c["id"], c["doc_id"], c["start"], c["end"], text, c["lang"]))
            keys.append(c["embed_key"])
        # Memory-mapped: queries read the rows of their candidates (and small corpora all rows, from the page
        # cache), so a large index does not hold a second, raw copy of every vector in the process.
        vectors = np.load(directory / "vectors.npy", mmap_mode="r")
        units = [json.loads(line) for line in (directory / "sentences.jsonl").read_text(encoding="utf-8").splitlines()
                 ] if manifest.sentence_count else []
        s_vectors = (np.load(directory / "sentence_vectors.npy", mmap_mode="r") if units
                     else np.zeros((0, manifest.dim), np.float32))
        latent = (sparse.csr_matrix(sparse.load_npz(directory / LATENT_FILE), dtype=np.float32)
                  if manifest.latent else None)
    except (OSError, ValueError, KeyError) as e:
        raise IndexCorrupt(f"{directory}: cannot read index files ({e}); rebuild with `rag index`") from e
    if len(chunks) != manifest.chunk_count or vectors.shape != (len(chunks), manifest.dim):
        raise IndexCorrupt(f"{directory}: chunk and vector counts disagree with the manifest; rebuild with `rag index`")
    if latent is not None and latent.shape[0] != len(chunks):
        raise IndexCorrupt(f"{directory}: latent-term and chunk counts disagree; rebuild with `rag index`")
    if len(units) != manifest.sentence_count or s_vectors.shape != (len(units), manifest.dim):
        raise IndexCorrupt(f"{directory}: sentence and vector counts disagree with the manifest; "
                           "rebuild with `rag index`")
    dense = load_vector_store(directory, settings)
    lexical = BM25Store.load(directory)
    glossed = BM25Store.load(directory, GLOSS_DIR) if manifest.glossed else None
    transform = DenseTransform.load(directory)
    sentences = _sentence_index([SentenceUnit(u["row"], u["start"], u["end"], "") for u in units], s_vectors,
                                [u["embed_key"] for u in units])
    return IndexSnapshot(directory, manifest, documents, chunks, vectors, dense, lexical, transform, keys, sentences,
                         glossed, latent)


def remove_stale_builds(index_dir: Path) -> int:
    """Delete half-written snapshot directories left by a crashed build; returns how many."""
    snaps = index_dir / "snapshots"
    if not snaps.is_dir():
        return 0
    stale = [p for p in snaps.iterdir() if p.name.startswith(".building-")]
    for p in stale:
        shutil.rmtree(p, ignore_errors=True)
    return len(stale)


__all__ = ["IndexSnapshot", "build_index", "load_index", "remove_stale_builds", "write_atomic", "writer_lock"]
