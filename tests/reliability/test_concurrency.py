"""Under load, answers never mix two index versions and nothing 5xxs, while documents are added and deleted.

In process: a delete that lands in the middle of a question (made deterministic by an embedder that runs it
just before embedding the query). Over the network (slow): 32 clients ask for 60 s against a real uvicorn
server while one document is uploaded and one deleted; figures go to test-artifacts/reliability.json.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import numpy.typing as npt
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rag.config import Settings
from rag.documents import iter_corpus
from rag.embedders import Embedder
from rag.engine import Engine
from rag.index import IndexSnapshot
from tests.conftest import CORPUS
from tests.reliability.live_server import LiveServer, rag_env, record_figures, rss_kb

KEY = "concurrency-key-5e81"
WAIC_ID = "002_69e32223fb1822d6"
ZH_ID = "004_481865b282495e49"
TRAVEL_ID = "003_d4c72938adbf6854"
BIG_ID = "000_910c0fafe831d9c0"


class MidRequestWrite:
    """The real embedder; when armed, the next query embedding first runs a document write (a swap mid-request)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.action: Callable[[], object] | None = None

    def embed_queries(self, texts: list[str]) -> npt.NDArray[np.float32]:
        action, self.action = self.action, None
        if action is not None:
            action()
        return self.inner.embed_queries(texts)

    def embed_documents(self, texts: list[str]) -> npt.NDArray[np.float32]:
        return self.inner.embed_documents(texts)


@pytest.fixture()
def racing(fresh_settings: Settings, embedder: Embedder) -> tuple[Engine, MidRequestWrite]:
    wrapper = MidRequestWrite(embedder)
    return Engine.from_settings(fresh_settings, wrapper), wrapper


def _docs_of(version: str, *snapshots: IndexSnapshot) -> set[str]:
    return next(set(s.documents) for s in snapshots if s.version == version)


def test_answer_in_flight_during_a_delete_comes_from_one_version(racing: tuple[Engine, MidRequestWrite]) -> None:
    engine, wrapper = racing
    before = engine.snapshot
    wrapper.action = lambda: engine.remove_document(WAIC_ID)
    answer = engine.ask("What are the ten insights of the WAIC AI + Healthcare Industry Map?")
    after = engine.snapshot
    assert after.version != before.version and WAIC_ID not in after.documents
    assert answer.index_version in (before.version, after.version)
    assert {h.chunk.doc_id for h in answer.hits} <= _docs_of(answer.index_version, before, after)
    assert answer.hits[0].chunk.doc_id == WAIC_ID  # retrieval started on the version that still had it


def test_delete_that_shrinks_the_index_mid_question_does_not_crash(racing: tuple[Engine, MidRequestWrite]) -> None:
    engine, wrapper = racing
    before = engine.snapshot
    wrapper.action = lambda: engine.remove_document(BIG_ID)  # every row after it moves; the table shrinks by 54
    answer = engine.ask("NVIDIA调研中有多少比例的受访者已经在使用AI？")  # its passages sit in the last rows
    assert answer.hits and answer.hits[0].chunk.doc_id == ZH_ID
    assert answer.index_version in (before.version, engine.snapshot.version)
    assert {h.chunk.doc_id for h in answer.hits} <= _docs_of(answer.index_version, before, engine.snapshot)


def test_api_response_during_a_delete_names_titles_from_its_own_version(
        racing: tuple[Engine, MidRequestWrite]) -> None:
    engine, wrapper = racing
    before = engine.snapshot
    titles = {d.id: d.title for d in before.documents.values()}
    wrapper.action = lambda: engine.remove_document(TRAVEL_ID)
    with TestClient(create_app(engine.settings, engine=engine)) as client:
        r = client.post("/v1/ask", json={"question": "Why do foreigners seek medical treatment in China?"})
        assert r.status_code == 200, r.text
        body = r.json()
    assert body["index_version"] in (before.version, engine.snapshot.version)
    docs = _docs_of(body["index_version"], before, engine.snapshot)
    assert body["passages"][0]["doc_id"] == TRAVEL_ID
    for p in body["passages"]:
        assert p["doc_id"] in docs and p["title"] == titles[p["doc_id"]], p


def test_first_chinese_questions_arriving_together_build_the_tagger_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold server hit by many Chinese questions at once must build jieba's POS tagger once, not per thread
    (it did: 32 builds, +1.2 GB RSS and ~40 s for the first 32 concurrent questions)."""
    import jieba.posseg

    from rag import abstain, text

    builds: list[int] = []
    real = jieba.posseg.POSTokenizer

    def counting(*args: object) -> object:
        builds.append(1)
        return real(*args)

    monkeypatch.setattr(jieba.posseg, "POSTokenizer", counting)
    text._build_pos_tagger.cache_clear()  # cold, as in a just-started server
    barrier = threading.Barrier(8)
    names: list[list[str]] = []

    def first_question() -> None:
        barrier.wait()
        names.append(abstain.entity_terms("美国食品药品监督管理局在华盛顿批准了多少款器械？"))

    threads = [threading.Thread(target=first_question) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    text._build_pos_tagger.cache_clear()  # later tests build the real one again
    assert len(names) == 8 and len(builds) == 1


# -- 32 clients against a real server ----------------------------------------------------------------------

CLIENTS = 32
DURATION_S = 60.0
WARMUP_S = 8.0  # caches (query vectors, answers, tokens) fill in the first seconds; memory is measured after
RSS_GROWTH_LIMIT_MB = 150
# A cold server's first burst loads one-off data (jieba's POS tagger, CC-CEDICT: ~170 MB); more means a
# lazily built singleton was built once per thread.
COLD_BURST_LIMIT_MB = 400
ZORBLAT = ("The Zorblat Institute reported that its triage kiosks cut emergency waiting times by 37 percent "
           "across 12 hospitals in 2025. Zorblat kiosks now run in Lisbon, Porto and Braga.")
QUESTIONS = [
    "How many AI-enabled medical devices has the FDA cleared?",
    "美国FDA已经批准了多少款人工智能医疗器械？",
    "What are the ten insights of the WAIC AI + Healthcare Industry Map?",
    "WAIC 2025 医疗产业图谱有哪些洞察？",
    "What is the size of China's AI medical imaging market?",
    "What drives the China AI in medical imaging market?",
    "Why do foreigners seek medical treatment in China?",
    "How long are waits for surgery in China for foreign patients?",
    "NVIDIA调研中有多少比例的受访者已经在使用AI？",
    "医疗AI规模化落地的拐点是什么？",
    "What did the NVIDIA 2026 survey find about generative AI?",
    "中国AI医疗的年复合增长率是多少？",
    "By how much did Zorblat kiosks cut waiting times?",
    "Zorblat 自助分诊机把急诊等待时间缩短了多少？",
    "Where do Zorblat kiosks run?",
    "What is the weather in Paris?",
]


@dataclass
class LoadRun:
    """Everything the clients saw, kept small: per reply its status, latency, version and cited documents."""

    statuses: list[int] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    cited: list[tuple[str, frozenset[str]]] = field(default_factory=list)  # (index_version, doc ids)
    transport_errors: list[str] = field(default_factory=list)
    bad_replies: list[str] = field(default_factory=list)  # 5xx bodies, wrong offsets or titles
    versions: dict[str, frozenset[str]] = field(default_factory=dict)  # index version → its documents
    writes: list[tuple[str, str, float]] = field(default_factory=list)  # (action, version, seconds into the run)


async def _asker(client: httpx.AsyncClient, seed: int, stop_at: float, run: LoadRun, texts: dict[str, str],
                 titles: dict[str, str]) -> None:
    rng = random.Random(seed)
    while time.monotonic() < stop_at:
        question = rng.choice(QUESTIONS)
        if rng.random() < 0.5:  # half are new strings, so the answer and embedding caches don't serve everything
            question += f" [{rng.randint(1, 10**6)}]"
        t0 = time.perf_counter()
        try:
            r = await client.post("/v1/ask", json={"question": question, "top_k": rng.randint(3, 8)})
        except httpx.HTTPError as e:
            run.transport_errors.append(f"{type(e).__name__}: {e}")
            continue
        run.latencies_ms.append((time.perf_counter() - t0) * 1e3)
        run.statuses.append(r.status_code)
        if r.status_code != 200:
            run.bad_replies.append(f"{r.status_code}: {r.text[:300]}")
            continue
        body = r.json()
        for p in body["passages"]:  # every passage checks out against the source text and its title
            if texts[p["doc_id"]][p["start"]:p["end"]] != p["text"] or p["title"] != titles[p["doc_id"]]:
                run.bad_replies.append(f"passage does not check out: {p['chunk_id']} title={p['title']!r}")
        run.cited.append((body["index_version"], frozenset(p["doc_id"] for p in body["passages"])))


async def _writer(client: httpx.AsyncClient, t0: float, run: LoadRun, docs: set[str]) -> None:
    """One upload at 25% of the run and one delete at 50%; each records the version it created."""
    headers = {"X-API-Key": KEY}
    for at, action in [(0.25, "upload"), (0.5, "delete")]:
        await asyncio.sleep(max(0.0, t0 + at * DURATION_S - time.monotonic()))
        if action == "upload":
            r = await client.post("/v1/documents", headers=headers,
                                  json={"id": "zorblat", "text": ZORBLAT, "title": "Zorblat kiosks"})
            assert r.status_code == 201, r.text
            docs.add("zorblat")
        else:
            r = await client.delete(f"/v1/documents/{WAIC_ID}", headers=headers)
            assert r.status_code == 200, r.text
            docs.discard(WAIC_ID)
        version = r.json()["index_version"]
        run.versions[version] = frozenset(docs)
        run.writes.append((action, version, round(time.monotonic() - t0, 2)))


async def _load(url: str, run: LoadRun, docs: set[str], texts: dict[str, str], titles: dict[str, str],
                on_warm: Callable[[], None], on_started: Callable[[], None]) -> None:
    limits = httpx.Limits(max_connections=CLIENTS + 4, max_keepalive_connections=CLIENTS + 4)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        # warm-up: a cold burst, then WARMUP_S of the same load, so "start" memory is the serving steady state
        cold = await asyncio.gather(*(client.post("/v1/ask", json={"question": q}) for q in QUESTIONS * 2))
        run.bad_replies += [f"{r.status_code}: {r.text[:300]}" for r in cold if r.status_code != 200]
        on_warm()
        warm_until, warm_run = time.monotonic() + WARMUP_S, LoadRun()
        await asyncio.gather(*(_asker(client, 1000 + i, warm_until, warm_run, texts, titles) for i in range(CLIENTS)))
        run.bad_replies += warm_run.bad_replies  # failures count in the warm-up too; its figures do not
        run.transport_errors += warm_run.transport_errors
        on_started()
        t0 = time.monotonic()
        stop_at = t0 + DURATION_S
        await asyncio.gather(_writer(client, t0, run, docs),
                             *(_asker(client, i, stop_at, run, texts, titles) for i in range(CLIENTS)))


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


@pytest.fixture()
def load_server(index_dir: Path, tmp_path: Path) -> Iterator[LiveServer]:
    idx = tmp_path / "index"
    shutil.copytree(index_dir, idx, symlinks=True)
    server = LiveServer(rag_env(index_dir=idx, uploads_dir=tmp_path / "uploads", api_key=KEY),
                        tmp_path / "server.log")
    try:
        yield server.start()
    finally:
        server.kill()


@pytest.mark.slow
def test_32_clients_for_60s_while_documents_change(load_server: LiveServer) -> None:
    corpus = {d.id: d for d in iter_corpus(CORPUS)}
    texts = {i: d.text for i, d in corpus.items()} | {"zorblat": ZORBLAT}
    titles = {i: d.title for i, d in corpus.items()} | {"zorblat": "Zorblat kiosks"}
    docs = set(corpus)
    run = LoadRun()
    ready = httpx.get(f"{load_server.url}/readyz").json()
    initial_version = ready["index_version"]
    run.versions[initial_version] = frozenset(docs)
    rss: dict[str, int] = {"ready_kb": rss_kb(load_server.pid)}

    def warm() -> None:
        rss["cold_burst_kb"] = rss_kb(load_server.pid)

    def started() -> None:
        rss["start_kb"] = rss_kb(load_server.pid)

    t_run = time.monotonic()
    asyncio.run(asyncio.wait_for(_load(load_server.url, run, docs, texts, titles, warm, started),
                                 WARMUP_S + DURATION_S + 240))
    wall_s = time.monotonic() - t_run
    rss["end_kb"] = rss_kb(load_server.pid)

    (_, v_upload, _), (_, v_delete, _) = run.writes
    stale = [(v, d) for v, d in run.cited if v not in run.versions]
    mixed = [(v, sorted(d - run.versions[v])) for v, d in run.cited if v in run.versions and d - run.versions[v]]
    deleted_cited_after = sum(1 for v, d in run.cited if v >= v_delete and WAIC_ID in d)
    upload_cited_before = sum(1 for v, d in run.cited if v < v_upload and "zorblat" in d)
    server_errors = sum(1 for s in run.statuses if s >= 500)
    figures = {
        "clients": CLIENTS,
        "duration_s": DURATION_S,
        "wall_s": round(wall_s, 1),
        "requests_served": len(run.statuses),
        "requests_per_s": round(len(run.statuses) / DURATION_S, 1),
        "errors_5xx": server_errors,
        "errors_4xx": sum(1 for s in run.statuses if 400 <= s < 500),
        "transport_errors": len(run.transport_errors),
        "mixed_version_responses": len(mixed) + len(stale) + deleted_cited_after + upload_cited_before,
        "latency_ms_p50": round(_percentile(run.latencies_ms, 50), 1),
        "latency_ms_p95": round(_percentile(run.latencies_ms, 95), 1),
        "latency_ms_max": round(max(run.latencies_ms, default=float("nan")), 1),
        "index_versions_seen": len({v for v, _ in run.cited}),
        "writes": run.writes,
        "cited_deleted_doc_before_delete": sum(1 for v, d in run.cited if v < v_delete and WAIC_ID in d),
        "cited_upload_after_upload": sum(1 for v, d in run.cited if v >= v_upload and "zorblat" in d),
        "rss_mb_ready": round(rss["ready_kb"] / 1024, 1),
        "rss_mb_after_cold_burst": round(rss["cold_burst_kb"] / 1024, 1),
        "rss_mb_start": round(rss["start_kb"] / 1024, 1),
        "rss_mb_end": round(rss["end_kb"] / 1024, 1),
        "cpu_cores": len(os.sched_getaffinity(0)),
    }
    print(f"\n{figures['requests_served']} requests in {DURATION_S:.0f}s from {CLIENTS} clients "
          f"({figures['requests_per_s']}/s), {server_errors} 5xx, {len(run.transport_errors)} transport errors, "
          f"p50 {figures['latency_ms_p50']} ms, p95 {figures['latency_ms_p95']} ms; "
          f"RSS {figures['rss_mb_start']} MB → {figures['rss_mb_end']} MB; writes {run.writes}")
    record_figures("concurrency", figures)

    assert server_errors == 0 and not run.transport_errors, (run.bad_replies[:5], run.transport_errors[:5])
    assert not run.bad_replies, run.bad_replies[:5]
    assert not stale and not mixed, (stale[:3], mixed[:3])
    assert deleted_cited_after == 0 and upload_cited_before == 0
    # the checks had something to check: both documents were cited on the right side of their change
    assert figures["cited_deleted_doc_before_delete"] > 0 and figures["cited_upload_after_upload"] > 0
    assert figures["index_versions_seen"] == 3
    assert (rss["end_kb"] - rss["start_kb"]) / 1024 < RSS_GROWTH_LIMIT_MB
    assert (rss["cold_burst_kb"] - rss["ready_kb"]) / 1024 < COLD_BURST_LIMIT_MB
    assert "Traceback" not in load_server.log()
