"""Scale part of `python -m eval.bench`: FAISS flat vs HNSW vs IVF, BM25 and the retrieve stage at 10k-1M rows.

Real vectors come from public benchmark paragraphs (SQuAD, CMRC 2018, ...) embedded by the product's
embedder: reused from `eval.benchmarks`' cached indexes when present, else embedded here within a time budget
and cached in `<out>/cache/`. They are centred per language as the product does (rag/transform.py), then
replicated with Gaussian noise up to each size. The noise is calibrated so that a copy is about as similar to
its source as a real passage is to its nearest real neighbour: the copies are then as close together as real
passages are, rather than random points (which are the worst case for HNSW) or exact duplicates (the best).
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import faiss
import numpy as np
import numpy.typing as npt

from eval.bench import in_worker, percentiles, say, time_each
from eval.benchmarks import DEFAULT_DATA, DEFAULT_OUT, load_squad
from rag.chunking import Chunk
from rag.embedders import Embedder
from rag.index import IndexSnapshot
from rag.retrieval import CANDIDATES, PreparedQuery, search_multilingual, top_rows
from rag.stores.bm25_store import BM25Store
from rag.stores.faiss_store import EXACT_LIMIT, HNSW_EF_SEARCH, IVF_NPROBE, FaissStore
from rag.stores.manifest import Manifest, write_atomic
from rag.text import tokenize
from rag.transform import DenseTransform, fit_transform

Vectors = npt.NDArray[np.float32]

K = 10  # neighbours per query: recall@10
RECALL_TARGET = 0.95  # recall@10 against exact search an approximate index must reach
KINDS = ("flat", "hnsw", "ivf")  # FaissStore kinds measured at every size
EF_SWEEP = (64, 128, 256, 512, 1024, 2048, 4096)  # HNSW efSearch values tried on each built graph (product: 128)
NPROBE_SWEEP = (8, 16, 32, 64, 128, 256, 512)  # IVF cells scanned, tried on each trained IVF (product: 256)
HNSW_BLOCK = 25_000  # rows added per call, so a time-boxed build can stop between blocks
# Sources of real text, in the order they are interleaved (English, Chinese, English, ...).
TEXT_SOURCES = (("squad/squad1.1.dev.minus-xquad.json", "squad-en", "en"),
                ("cmrc2018/cmrc2018_dev.json", "cmrc-zh", "zh"))


@dataclass(frozen=True)
class ScaleOptions:
    sizes: tuple[int, ...]
    cache_dir: Path
    data_dir: Path = DEFAULT_DATA
    donor_dir: Path = DEFAULT_OUT / "cache"  # eval.benchmarks' cached indexes: real vectors already embedded
    real_target: int = 3000  # real passages wanted (each embedded once, then cached)
    embed_budget_s: float = 600.0
    hnsw_budget_s: float = 900.0  # per HNSW build; a longer one stops and reports the rows it reached
    bm25_budget_s: float = 300.0  # a BM25 size whose predicted build time exceeds this is skipped
    retrieve_max: int = 100_000  # largest size at which the whole retrieve stage is timed
    noise: float | None = 0.05  # σ of the replicas' per-dimension noise; None: calibrated (see noise_sigma)
    sensitivity_rows: int = 100_000  # HNSW also built here with the other σ, to show how recall depends on it
    queries: int = 100
    max_texts: int | None = None  # real paragraphs tokenised for BM25 (default: as many as real vectors, ≥ 500)
    seed: int = 0


# -- real data -----------------------------------------------------------------------------------------
def real_texts(data_dir: Path, questions: bool = False) -> list[tuple[str, str]]:
    """(paragraph, language) from SQuAD and CMRC, interleaved so any prefix mixes both languages; or with
    `questions` their questions, one per paragraph."""
    per_source = []
    for rel, prefix, lang in TEXT_SOURCES:
        path = data_dir / rel
        if path.exists():
            ds = load_squad(path, prefix, lang)
            if questions:
                per_source.append(list({q.relevant: (q.text, lang) for q in ds.questions}.values()))
            else:
                per_source.append([(d.text, lang) for d in ds.docs])
    return [p for group in itertools.zip_longest(*per_source) for p in group if p is not None]


def _donor_vectors(donor_dir: Path, embedder_name: str) -> tuple[Vectors, list[str], list[str]]:
    """Vectors of every cached benchmark index built by this embedder, deduplicated (xquad-mixed repeats).

    Read straight from `vectors.npy` and `chunks.jsonl` (not load_index), so snapshots of older index formats
    still give their vectors.
    """
    vecs: list[Vectors] = []
    langs: list[str] = []
    names: list[str] = []
    for d in sorted(donor_dir.glob("*/current")) if donor_dir.is_dir() else []:
        try:
            if json.loads((d / "manifest.json").read_text(encoding="utf-8"))["embedder"] != embedder_name:
                continue
            v = np.load(d / "vectors.npy")
            lg = [json.loads(ln)["lang"] for ln in (d / "chunks.jsonl").read_text(encoding="utf-8").splitlines()]
        except (OSError, ValueError, KeyError):
            continue
        if len(v) != len(lg):
            continue
        vecs.append(v.astype(np.float32))
        langs += lg
        names.append(f"{d.parent.name} ({len(v)})")
    if not vecs:
        return np.zeros((0, 0), np.float32), [], []
    stacked = np.concatenate(vecs)
    _, first = np.unique(np.round(stacked, 3), axis=0, return_index=True)  # re-embedded copies differ in ulps
    keep = np.sort(first)
    return stacked[keep], [langs[i] for i in keep], names


def real_vectors(opts: ScaleOptions, embedder: Embedder) -> tuple[Vectors, list[str], str]:
    """Real passage vectors and languages: `<cache>/scale_real.npz`, else donors, else embedded (time-boxed)."""
    path = opts.cache_dir / f"scale_real_{embedder.name.replace(':', '_').replace('/', '_')}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as data:
            return data["vectors"], data["langs"].tolist(), str(data["source"])
    vectors, langs, names = _donor_vectors(opts.donor_dir, embedder.name)
    source = f"eval.benchmarks cache: {', '.join(names)}" if names else ""
    if len(vectors) < opts.real_target:
        texts = real_texts(opts.data_dir)[: opts.real_target]
        fresh, t0 = [], time.perf_counter()
        for b in range(0, len(texts), 16):
            if time.perf_counter() - t0 > opts.embed_budget_s:
                break
            fresh.append(embedder.embed_documents([t for t, _ in texts[b:b + 16]]))
            say(f"  scale: embedded {min(b + 16, len(texts))}/{len(texts)} real paragraphs")
        n = sum(len(f) for f in fresh)
        if n:
            vectors = np.concatenate(([vectors] if len(vectors) else []) + fresh)
            langs = langs + [lang for _, lang in texts[:n]]
            source = (source + "; " if source else "") + f"embedded here: {n} SQuAD/CMRC paragraphs"
    if not len(vectors):
        raise RuntimeError(f"no real vectors: no cached benchmark index in {opts.donor_dir} and no data in "
                           f"{opts.data_dir}")
    opts.cache_dir.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, vectors=vectors.astype(np.float32), langs=np.array(langs, dtype="<U5"), source=np.array(source))
    write_atomic(path, buf.getvalue())
    return vectors.astype(np.float32), langs, source


def cached_query_vectors(cache_dir: Path, embedder: Embedder, texts: Sequence[str]) -> Vectors:
    """Raw query embeddings of `texts`, kept in `<cache>/queries_<embedder>.npz` keyed by sha256 of the text."""
    path = cache_dir / f"queries_{embedder.name.replace(':', '_').replace('/', '_')}.npz"
    known: dict[str, Vectors] = {}
    if path.exists():
        with np.load(path, allow_pickle=False) as data:
            known = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
    keys = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
    todo = [(k, t) for k, t in dict(zip(keys, texts, strict=True)).items() if k not in known]
    for b in range(0, len(todo), 32):
        batch = todo[b:b + 32]
        known.update(zip([k for k, _ in batch], embedder.embed_queries([t for _, t in batch]), strict=True))
    if todo:
        cache_dir.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez(buf, keys=np.array(list(known), dtype="<U64"), vectors=np.stack(list(known.values())))
        write_atomic(path, buf.getvalue())
    return np.stack([known[k] for k in keys]).astype(np.float32)


# -- synthetic growth ----------------------------------------------------------------------------------
def _renorm(x: Vectors) -> Vectors:
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x


def noise_sigma(x: Vectors) -> tuple[float, float]:
    """(σ per dimension, median nearest-neighbour cosine of the real rows): a copy's expected cosine with its
    source, 1/sqrt(1 + dσ²), equals the real median nearest-neighbour cosine."""
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    nn = float(np.median(sims.max(axis=1)))
    c = min(max(nn, 0.5), 0.99)
    return math.sqrt((1.0 / (c * c) - 1.0) / x.shape[1]), nn


def replicate(x: Vectors, n: int, sigma: float, seed: int = 0) -> Vectors:
    """n rows: the real rows first, then noisy normalised copies (row i copies real row i mod len(x))."""
    out = np.empty((n, x.shape[1]), dtype=np.float32)
    rng = np.random.default_rng(seed)
    block = 100_000
    for b in range(0, n, block):
        rows = np.arange(b, min(n, b + block))
        chunk = x[rows % len(x)].copy()
        noisy = rows >= len(x)
        chunk[noisy] += rng.standard_normal((int(noisy.sum()), x.shape[1]), dtype=np.float32) * sigma
        out[rows] = _renorm(chunk)
    return out


def replicate_tokens(tokens: Sequence[list[str]], n: int) -> list[list[str]]:
    """n token lists cycling through the real ones (shared references: no copy of the tokens)."""
    return [tokens[i % len(tokens)] for i in range(n)]


# -- measurements --------------------------------------------------------------------------------------
def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def saved_bytes(save: Callable[[Path], list[Path]]) -> int:
    """Bytes a store writes to disk (its `save`), a proxy for its memory."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-store-"))
    try:
        save(tmp)
        return _dir_bytes(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


Truth = tuple[Vectors, npt.NDArray[np.int64]]  # (scores, ids) of the exact top k, best first


def exact_neighbours(data: Vectors, queries: Vectors, k: int = K) -> Truth:
    """Ground truth: exact inner-product top k (faiss.knn, batched BLAS)."""
    scores, ids = faiss.knn(np.ascontiguousarray(queries), np.ascontiguousarray(data), k,
                            metric=faiss.METRIC_INNER_PRODUCT)
    return scores.astype(np.float32), ids.astype(np.int64)


def cosine_gap(found: Vectors, truth: Vectors) -> float:
    """Mean cosine of the exact top k minus that of the approximate top k: how much worse the neighbours are.

    Replicated data has many near-tied neighbours, where recall@k counts a swap of two equally close rows as
    a miss; the gap shows whether the rows returned are nearly as close as the exact ones.
    """
    return float(np.mean(truth.mean(axis=1) - np.maximum(found, -1.0).mean(axis=1)))


def recall_at_k(found: npt.NDArray[np.int64], truth: npt.NDArray[np.int64]) -> float:
    """Mean share of the exact top k that the approximate search also returned."""
    k = truth.shape[1]
    return float(np.mean([len(set(f.tolist()) & set(t.tolist())) / k for f, t in zip(found, truth, strict=True)]))


def search_latency(store: FaissStore, queries: Vectors, threads: int | None = None,
                   main_thread: bool = False) -> dict[str, float]:
    """Per-query FaissStore.search(k=10) latency, one query per call as the API issues them.

    By default in a fresh worker thread with FAISS's default OpenMP threads, as the server's thread pool
    calls it; `threads` sets OpenMP threads for that worker; `main_thread` measures from the main thread
    (the CLI and in-process eval path).
    """

    def measure() -> dict[str, float]:
        if threads:
            faiss.omp_set_num_threads(threads)
        try:
            return percentiles(time_each(lambda q: store.search(q[None, :], K), list(queries), warmup=3))
        finally:
            faiss.omp_set_num_threads(default_threads)

    default_threads = faiss.omp_get_max_threads()
    return measure() if main_thread else in_worker(measure)


def faiss_point(data: Vectors, queries: Vectors, kind: str, budget_s: float = math.inf,
                truth: Truth | None = None, block: int = HNSW_BLOCK) -> dict[str, object]:
    """Build one FaissStore over `data` (time-boxed: at least one block of an HNSW build, then blocks until
    `budget_s`; flat and IVF in one add, which for IVF includes k-means training), then time searches and score
    recall@10 against exact search over the rows built."""
    store = FaissStore(data.shape[1], kind, expected_size=len(data))
    t0 = time.perf_counter()
    block = block if kind == "hnsw" else len(data)
    built = 0
    while built < len(data) and (built == 0 or time.perf_counter() - t0 < budget_s):
        end = min(len(data), built + block)
        store.add(np.arange(built, end, dtype=np.int64), data[built:end])
        built = end
    build_s = time.perf_counter() - t0
    if built < len(data) or truth is None:
        truth = exact_neighbours(data[:built], queries)
    found_scores, found = store.search(queries, K)
    row: dict[str, object] = {
        "kind": kind, "rows": len(data), "built_rows": built, "build_s": round(build_s, 2),
        "build_rows_per_s": round(built / build_s, 1) if build_s else None,
        "complete": built == len(data),
        "extrapolated_build_s": None if built == len(data) else round(build_s * len(data) / max(built, 1), 1),
        "bytes_per_row": round(saved_bytes(store.save) / max(built, 1), 1),
        "recall_at_10": round(recall_at_k(found, truth[1]), 4),
        "cosine_gap_at_10": round(cosine_gap(found_scores, truth[0]), 5),
        "search_ms": search_latency(store, queries),
    }
    if kind == "hnsw":
        row["ef_search"] = HNSW_EF_SEARCH
        row["ef_sweep"] = ef_sweep(store, queries, truth)
    if kind == "ivf":
        row["nlist"], row["nprobe"] = store.nlist, store.nprobe
        row["nprobe_sweep"] = nprobe_sweep(store, queries, truth)
    if kind == "flat":  # OpenMP threads matter for flat scans on a shared 2-core machine
        row["search_ms_1_thread"] = search_latency(store, queries, threads=1)
        row["search_ms_main_thread"] = search_latency(store, queries, main_thread=True)
    return row


def _quality(store: FaissStore, queries: Vectors, truth: Truth) -> dict[str, object]:
    scores, ids = store.search(queries, K)
    return {"recall_at_10": round(recall_at_k(ids, truth[1]), 4),
            "cosine_gap_at_10": round(cosine_gap(scores, truth[0]), 5), "search_ms": search_latency(store, queries)}


def ef_sweep(store: FaissStore, queries: Vectors, truth: Truth) -> list[dict[str, object]]:
    """Recall@10 and latency of one built HNSW graph at several efSearch values (no rebuild needed)."""
    inner = cast(faiss.IndexHNSW, faiss.downcast_index(cast(faiss.IndexIDMap, store._index).index))  # in the IDMap2
    out = []
    for ef in EF_SWEEP:
        inner.hnsw.efSearch = ef
        out.append({"ef_search": ef, **_quality(store, queries, truth)})
    inner.hnsw.efSearch = HNSW_EF_SEARCH
    return out


def nprobe_sweep(store: FaissStore, queries: Vectors, truth: Truth) -> list[dict[str, object]]:
    """Recall@10 and latency of one trained IVF at several nprobe values up to its nlist (no retraining)."""
    product = store.nprobe
    out = []
    for nprobe in (n for n in NPROBE_SWEEP if n <= store.nlist):
        store.nprobe = nprobe
        out.append({"nprobe": nprobe, **_quality(store, queries, truth)})
    store.nprobe = product
    return out


def fastest_at_target(point: dict[str, Any]) -> str | None:
    """The kind that, at the product's settings, reached recall@10 ≥ RECALL_TARGET with the lowest search p50:
    what FaissStore's "auto" should pick at that size."""
    ok = [(row["search_ms"]["p50"], kind) for kind in KINDS if isinstance(row := point.get(kind), dict)
          and row["complete"] and row["recall_at_10"] >= RECALL_TARGET]
    return min(ok)[1] if ok else None


def bm25_point(tokens: Sequence[list[str]], query_tokens: Sequence[list[str]], n: int) -> dict[str, object]:
    """Build a BM25Store over n replicated token lists; time the lexical leg per query (scores + top 50)."""
    rows = replicate_tokens(tokens, n)
    t0 = time.perf_counter()
    store = BM25Store(rows)
    build_s = time.perf_counter() - t0
    lat = time_each(lambda q: top_rows(store.scores(q), CANDIDATES), list(query_tokens), warmup=2)
    return {"rows": n, "tokens": sum(len(r) for r in rows), "build_s": round(build_s, 2),
            "bytes_per_row": round(saved_bytes(store.save) / n, 1), "query_ms": percentiles(lat), "store": store}


def synthetic_snapshot(raw: Vectors, langs: Sequence[str], dense: FaissStore, lexical: BM25Store,
                       transform: DenseTransform) -> IndexSnapshot:
    """An in-memory IndexSnapshot over synthetic rows, for timing the retrieve stage at scale."""
    chunks = [Chunk(f"s{i}", f"s{i}", 0, 0, "", langs[i % len(langs)]) for i in range(len(raw))]  # type: ignore[arg-type]
    manifest = Manifest(version="bench", created_at="", embedder="bench", dim=raw.shape[1], chunk_size=500,
                        chunk_overlap=80, chunk_count=len(raw))
    return IndexSnapshot(Path("."), manifest, {}, chunks, raw, dense, lexical, transform, [])


def retrieve_point(snapshot: IndexSnapshot, prepared: Sequence[PreparedQuery]) -> dict[str, float]:
    """The whole retrieve stage of Engine.search (rag.retrieval.search_multilingual, top 5) per query."""
    return in_worker(lambda: percentiles(time_each(lambda p: search_multilingual(snapshot, p, 5), list(prepared),
                                                   warmup=1)))


def _ms(d: object) -> str:
    return "–" if not isinstance(d, dict) else f"{d['p50']:.2f} / {d['p95']:.2f}"


def run_scale(opts: ScaleOptions, embedder: Embedder, questions: Sequence[tuple[str, str]],
              query_vectors: Vectors) -> dict[str, object]:
    """Every size in `opts.sizes`: FAISS flat, HNSW and IVF, BM25, and the retrieve stage where affordable.

    Args:
        questions: (text, language) of the queries; `query_vectors` are their raw embeddings.
    """
    raw, langs, source = real_vectors(opts, embedder)
    transform = fit_transform(raw, langs, "center")
    real = transform.apply_documents(raw, langs)
    calibrated, nn_cos = noise_sigma(real)
    sigma = opts.noise if opts.noise is not None else calibrated
    say(f"scale: {len(real)} real vectors ({source}); σ={sigma:.4f} (calibrated {calibrated:.4f}: median NN "
        f"cosine {nn_cos:.3f})")
    qs = list(questions)[: opts.queries]
    qv = np.concatenate([transform.apply_query(query_vectors[i:i + 1], lang) for i, (_, lang) in enumerate(qs)])
    texts = real_texts(opts.data_dir)[: opts.max_texts or max(len(real), 500)]
    tokens = [tokenize(t) for t, _ in texts]
    # BM25 cost depends on how many rows contain the query's words: the benchmark's own questions match its
    # paragraphs as users' questions match their corpus (the gold questions are about other topics)
    lex_qs = real_texts(opts.data_dir, questions=True)[: opts.queries] or qs
    q_tokens = [tokenize(q) for q, _ in lex_qs]
    # as Engine.search prepares them: the question plus one variant in the other language (here the question
    # itself stands in for its translation: the retrieve stage's cost does not depend on the words)
    prepared = [PreparedQuery([q, q], [lang, "en" if lang == "zh" else "zh"], query_vectors[[i % len(qs)] * 2])
                for i, (q, lang) in enumerate(lex_qs[:30])]
    synth = replicate(real, max(opts.sizes), sigma, opts.seed)
    points: list[dict[str, object]] = []
    bm25_rate: float | None = None  # seconds per row of the last BM25 build, to predict the next one
    for n in sorted(opts.sizes):
        data = synth[:n]
        say(f"scale: {n} rows")
        point: dict[str, object] = {"rows": n, "auto_kind": FaissStore(data.shape[1], expected_size=n).kind}
        truth = exact_neighbours(data, qv)
        flat = faiss_point(data, qv, "flat", truth=truth)
        point["flat"] = flat
        say(f"  flat: build {flat['build_s']} s, search p50 {_ms(flat['search_ms'])} ms")
        point["hnsw"] = faiss_point(data, qv, "hnsw", opts.hnsw_budget_s, truth)
        say(f"  hnsw: {point['hnsw']}")
        point["ivf"] = faiss_point(data, qv, "ivf", truth=truth)
        say(f"  ivf: {point['ivf']}")
        point["fastest_at_target"] = fastest_at_target(point)
        predicted = bm25_rate * n if bm25_rate is not None else 0.0
        if not tokens:
            point["bm25"] = {"rows": n, "skipped": f"no benchmark text in {opts.data_dir}"}
        elif predicted <= opts.bm25_budget_s:
            bm = bm25_point(tokens, q_tokens, n)
            bm25_rate = float(bm["build_s"]) / n  # type: ignore[arg-type]
            store = bm.pop("store")
            point["bm25"] = bm
            say(f"  bm25: build {bm['build_s']} s, query p50 {_ms(bm['query_ms'])} ms")
            if n <= opts.retrieve_max:
                dense = FaissStore(data.shape[1], expected_size=n)
                dense.add(np.arange(n, dtype=np.int64), data)
                snap = synthetic_snapshot(data, langs, dense, store, transform)  # type: ignore[arg-type]
                point["retrieve_ms"] = retrieve_point(snap, prepared)
                say(f"  retrieve stage: p50 {_ms(point['retrieve_ms'])} ms")
                del snap, dense
            del store
        else:
            point["bm25"] = {"rows": n, "skipped": f"predicted build {predicted:.0f} s > budget {opts.bm25_budget_s} s"}
        points.append(point)
    sensitivity = None
    if opts.sensitivity_rows and opts.sensitivity_rows <= max(opts.sizes):
        other = calibrated if opts.noise is not None else 0.05
        data = replicate(real, opts.sensitivity_rows, other, opts.seed + 1)
        say(f"scale: sensitivity, {opts.sensitivity_rows} rows with σ={other:.4f}")
        truth = exact_neighbours(data, qv)
        sensitivity = {"rows": opts.sensitivity_rows, "noise_sigma": round(other, 5),
                       "copy_cosine": round(1 / math.sqrt(1 + data.shape[1] * other**2), 3),
                       "hnsw": faiss_point(data, qv, "hnsw", opts.hnsw_budget_s, truth),
                       "ivf": faiss_point(data, qv, "ivf", truth=truth)}
        del data
    return {"real_vectors": len(real), "real_source": source, "noise_sigma": round(sigma, 5),
            "calibrated_sigma": round(calibrated, 5), "sensitivity": sensitivity,
            "copy_cosine": round(1 / math.sqrt(1 + real.shape[1] * sigma**2), 3),
            "real_nn_cosine_median": round(nn_cos, 4), "queries": len(qs), "exact_limit": EXACT_LIMIT,
            "recall_target": RECALL_TARGET,
            "real_texts_for_bm25": len(tokens), "points": points}


def _sweep_table(points: Sequence[dict[str, Any]], kind: str, sweep: str, key: str, label: str) -> list[str]:
    """One row per size: recall@10 · cosine gap · search p50 ms at each setting of a sweep."""
    rows = [p for p in points if isinstance(p.get(kind), dict) and p[kind].get(sweep)]
    values = sorted({e[key] for p in rows for e in p[kind][sweep]})
    lines = ["| rows | " + " | ".join(f"{label} {v}" for v in values) + " |", "|---:|" + "---:|" * len(values)]
    for p in rows:
        by_value = {e[key]: e for e in p[kind][sweep]}
        cells = [f"{e['recall_at_10']} · {e.get('cosine_gap_at_10', '–')} · {e['search_ms']['p50']:.2f}"
                 if (e := by_value.get(v)) else "–" for v in values]
        lines.append(f"| {p['rows']:,} | " + " | ".join(cells) + " |")
    return lines if rows else []


def markdown_scale(result: dict[str, object], command: str) -> list[str]:
    """The scale tables, with a line per number saying what dominates it."""
    points = cast(list[dict[str, Any]], result["points"])
    target = result.get("recall_target", RECALL_TARGET)
    lines = ["## Scale: FAISS flat vs HNSW vs IVF, BM25, retrieve stage", "", f"Command: `{command}`", "",
             f"{result['real_vectors']} real 384-d passage vectors ({result['real_source']}), centred per language "
             f"as the product does, replicated with N(0, {result['noise_sigma']}²) noise per dimension and "
             f"renormalised: a copy has cosine ≈ {result['copy_cosine']} with its source, while real passages' "
             f"median nearest-neighbour cosine is {result['real_nn_cosine_median']} (σ "
             f"{result['calibrated_sigma']} would match it; see the sensitivity line below). "
             f"{result['queries']} real queries (gold-question vectors), k=10, one "
             "query per call from a worker thread as the server's thread pool makes them, unless marked *main "
             "thread*. Latencies are p50 / p95 ms.", "",
             f"| rows | product picks | fastest at recall ≥ {target} | flat build s | flat search | "
             "flat, 1 OMP thread | flat, main thread | flat B/row | HNSW build s | HNSW search | HNSW recall@10 | "
             "HNSW cosine gap@10 | HNSW B/row | IVF build s | IVF search | IVF recall@10 | IVF cosine gap@10 | "
             "IVF B/row |",
             "|---:|---|---|" + "---:|" * 15]
    for p in points:
        f, h, i = p["flat"], p["hnsw"], p.get("ivf") or {}
        build = f"{h['build_s']}" if h["complete"] else (f"{h['build_s']} for {h['built_rows']} rows (stopped; "
                                                          f"~{h['extrapolated_build_s']} s for all)")
        lines.append(f"| {p['rows']:,} | {p['auto_kind']} | {p.get('fastest_at_target') or 'none'} | "
                     f"{f['build_s']} | {_ms(f['search_ms'])} | "
                     f"{_ms(f.get('search_ms_1_thread'))} | {_ms(f.get('search_ms_main_thread'))} | "
                     f"{f['bytes_per_row']} | {build} | {_ms(h['search_ms'])} | "
                     f"{h['recall_at_10']} | {h.get('cosine_gap_at_10', '–')} | {h['bytes_per_row']} | "
                     f"{i.get('build_s', '–')} | {_ms(i.get('search_ms'))} | {i.get('recall_at_10', '–')} | "
                     f"{i.get('cosine_gap_at_10', '–')} | {i.get('bytes_per_row', '–')} |")
    nlists = ", ".join(f"{p['ivf']['nlist']} at {p['rows']:,}" for p in points if isinstance(p.get("ivf"), dict))
    lines += ["", f"- product picks: FaissStore's \"auto\" for that many rows: exact (flat) up to "
              f"{result['exact_limit']:,} rows, IVF above. *fastest at recall ≥ {target}*: of the kinds at the "
              f"product's settings (HNSW efSearch {HNSW_EF_SEARCH}, IVF nprobe {IVF_NPROBE}) that reached recall@10 "
              f"≥ {target} against exact search, the one with the lowest search p50 (flat is exact). Above the "
              "exact limit the two columns should agree; where they differ, the product's choice is not the "
              "fastest kind that meets the target at that size.",
              "- flat search: a scan of rows × 384 float32 (1,536 B/row), memory-bandwidth bound, linear in rows.",
              "- flat, 1 OMP thread: the same scan without OpenMP; on a shared 2-core machine the 2-thread team "
              "waits for a busy core, so one thread can be faster.",
              "- flat, main thread: the same call from the process's main thread (`rag ask`, in-process `rag eval`, "
              "eval.benchmarks): on a busy machine each call waits for the OpenMP team to wake, whatever the size.",
              f"- HNSW search: ~efSearch ({HNSW_EF_SEARCH}) × M (32) distance computations, nearly flat in rows; "
              "recall is against exact search over the same rows, and falls as rows grow at a fixed efSearch.",
              "- HNSW cosine gap: mean cosine of the exact top 10 minus HNSW's top 10. Replicas make many "
              "near-tied neighbours, so recall counts swaps between equally close rows as misses; a gap near 0 "
              "means the rows returned are about as close as the exact ones. The same holds for IVF's gap.",
              "- HNSW build: graph insertion (efConstruction 40), superlinear in rows; bytes/row = vector + "
              "2·M neighbour ids + id map.",
              f"- IVF search: the query ranks nlist k-means centroids (≈ 4·√rows: {nlists or '–'}), then scans "
              f"exactly the rows of the nprobe ({IVF_NPROBE}) nearest cells, ≈ nprobe · rows / nlist of them: "
              "latency grows like √rows, and the scores returned are exact cosines.",
              "- IVF build: k-means on a sample of 50 rows per centroid (time grows with nlist², i.e. with rows), "
              "then every row assigned to its nearest centroid (rows × nlist); bytes/row = vector + 8-byte id + "
              "the centroids spread over the rows.", ""]
    ef_table = _sweep_table(points, "hnsw", "ef_sweep", "ef_search", "ef")
    if ef_table:
        lines += ["HNSW efSearch sweep on the same graphs (recall@10 · cosine gap · search p50 ms; the product uses "
                  f"{HNSW_EF_SEARCH}):", "", *ef_table,
                  "", "- recall rises and latency grows with efSearch (candidates kept per query); the efSearch "
                  f"where recall reaches {target} is the setting a corpus of that size needs.", ""]
    nprobe_table = _sweep_table(points, "ivf", "nprobe_sweep", "nprobe", "nprobe")
    if nprobe_table:
        lines += ["IVF nprobe sweep on the same trained IVFs (recall@10 · cosine gap · search p50 ms; the product "
                  f"uses {IVF_NPROBE}; values above a size's nlist are not run):", "", *nprobe_table,
                  "", "- recall rises with nprobe and latency grows about linearly with it (rows scanned); the "
                  f"smallest nprobe reaching {target} is what that size needs, the rest is margin.", ""]
    sens = result.get("sensitivity")
    if isinstance(sens, dict):
        h, i = sens["hnsw"], sens.get("ivf")
        sweep = ", ".join(f"ef {e['ef_search']}: {e['recall_at_10']}" for e in h.get("ef_sweep", []))
        gap = h.get("cosine_gap_at_10", "–")
        ivf = "" if not isinstance(i, dict) else (
            f" IVF: recall@10 {i['recall_at_10']} (cosine gap {i.get('cosine_gap_at_10', '–')}) at nprobe "
            f"{i['nprobe']} of {i['nlist']} cells (" + ", ".join(f"nprobe {e['nprobe']}: {e['recall_at_10']}"
                                                                  for e in i.get("nprobe_sweep", []))
            + f"), build {i['build_s']} s.")
        lines += [f"Sensitivity: {sens['rows']:,} rows replicated with σ {sens['noise_sigma']} (copy cosine ≈ "
                  f"{sens['copy_cosine']}) instead: HNSW recall@10 {h['recall_at_10']} (cosine gap {gap}) at "
                  f"efSearch {HNSW_EF_SEARCH} "
                  f"({sweep}), build {h['build_s']} s.{ivf} The recall of a synthetic corpus depends on how "
                  "spread its copies are; a real corpus of that size would fall between the two.", ""]
    lines += ["BM25 and the whole retrieve stage (BM25Store and rag.retrieval.search_multilingual over a synthetic "
              "snapshot of the same rows, flat FAISS):", "",
              "| rows | BM25 build s | BM25 tokens | BM25 B/row | lexical leg (scores + top 50) | "
              "whole retrieve stage (search_multilingual, flat) |", "|---:|---:|---:|---:|---:|---:|"]
    for p in points:
        b = p["bm25"]
        if "skipped" in b:
            lines.append(f"| {p['rows']:,} | skipped: {b['skipped']} | | | | |")
            continue
        lines.append(f"| {p['rows']:,} | {b['build_s']} | {b['tokens']:,} | {b['bytes_per_row']} | "
                     f"{_ms(b['query_ms'])} | {_ms(p.get('retrieve_ms'))} |")
    lines += ["", f"- BM25 rows cycle through {result['real_texts_for_bm25']} real SQuAD/CMRC paragraphs "
              "(jieba/word tokens), so postings grow like a real corpus but the vocabulary does not; queries are "
              "SQuAD/CMRC questions, which share words with those paragraphs.",
              "- BM25 build: bm25s token → id mapping and the sparse score matrix, in Python, linear in tokens.",
              "- lexical leg: bm25s sums the postings of the query tokens into a dense array of all rows, then "
              "argpartition: linear in rows.",
              "- whole retrieve stage: both languages' dense legs (FAISS, pool 1000), the raw translation vectors "
              "scored over those candidates and the BM25 list only, BM25 twice, RRF; above 1,000 rows its "
              "per-row work follows the candidates, so it grows with the BM25 leg and the FAISS search.", ""]
    return lines

