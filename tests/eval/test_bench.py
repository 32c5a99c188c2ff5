"""The benchmark's cheap parts: timing helpers, the bounded load loop, and one real 2k-vector scale point."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from eval.bench import (
    Budget,
    Options,
    gold_questions,
    in_worker,
    load_threads,
    percentiles,
    time_each,
)
from eval.bench_scale import (
    RECALL_TARGET,
    ScaleOptions,
    faiss_point,
    fastest_at_target,
    markdown_scale,
    noise_sigma,
    real_vectors,
    recall_at_k,
    replicate,
    run_scale,
)
from eval.benchmarks import DEFAULT_DATA
from rag.embedders import HashEmbedder

needs_data = pytest.mark.skipif(not (DEFAULT_DATA / "squad").exists(), reason=f"no benchmark data in {DEFAULT_DATA}")


def _unit(n: int, d: int = 384, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_percentiles_interpolate_like_numpy() -> None:
    p = percentiles([float(v) for v in range(1, 101)])
    assert p["n"] == 100
    assert p["p50"] == pytest.approx(50.5)
    assert p["p95"] == pytest.approx(95.05)
    assert p["p99"] == pytest.approx(99.01)
    assert p["mean"] == pytest.approx(50.5)
    assert np.isnan(percentiles([])["p50"])


def test_time_each_times_every_item_after_untimed_warmup() -> None:
    calls: list[int] = []
    out = time_each(lambda i: (calls.append(i), time.sleep(0.002)), [1, 2, 3], warmup=2)
    assert calls == [1, 2, 1, 2, 3]
    assert len(out) == 3 and all(ms >= 1.5 for ms in out)


def test_load_loop_stops_at_the_request_budget_and_cycles_questions() -> None:
    seen: list[str] = []
    lock = threading.Lock()

    def call(q: str) -> None:
        with lock:
            seen.append(q)

    r = load_threads(call, ["a", "b", "c"], concurrency=4, budget=Budget(requests=10, seconds=60))
    assert r["requests"] == 10 and r["errors"] == 0 and r["concurrency"] == 4
    assert sorted(seen) == sorted(["a", "b", "c"] * 3 + ["a"])
    assert r["throughput_rps"] > 0


def test_load_loop_stops_at_the_time_budget_and_counts_errors() -> None:
    def call(q: str) -> None:
        time.sleep(0.01)
        if q == "bad":
            raise ValueError(q)

    t0 = time.perf_counter()
    r = load_threads(call, ["ok", "bad"], concurrency=2, budget=Budget(requests=10**9, seconds=0.3))
    assert time.perf_counter() - t0 < 2.0
    assert r["requests"] > 0 and r["errors"] > 0


def test_in_worker_returns_the_value_and_runs_off_the_main_thread() -> None:
    assert in_worker(lambda: threading.current_thread() is threading.main_thread()) is False
    with pytest.raises(ZeroDivisionError):  # the worker's exception reaches the caller
        in_worker(lambda: 1 / 0)


def test_gold_questions_alternate_languages_and_quick_mode_is_smaller() -> None:
    qs = gold_questions(6)
    assert [lang for _, lang in qs] == ["en", "zh"] * 3
    quick, full = Options.make(True), Options.make(False)
    assert 1_000_000 in full.scale_sizes and 1_000_000 not in quick.scale_sizes
    assert quick.budget.requests < full.budget.requests


def test_replicas_are_unit_vectors_at_the_calibrated_similarity() -> None:
    real = _unit(300)
    sigma, nn = noise_sigma(real)
    data = replicate(real, 2000, sigma, seed=1)
    assert data.shape == (2000, 384) and data.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(data, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(data[:300], real, atol=1e-6)  # the real rows come first, unchanged
    cos = np.sum(data[300:600] * real, axis=1)  # each copy against its source
    assert abs(float(np.median(cos)) - max(nn, 0.5)) < 0.05


def test_recall_counts_shared_ids() -> None:
    truth = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    assert recall_at_k(truth, truth) == 1.0
    assert recall_at_k(np.array([[1, 2, 9, 9], [5, 6, 7, 8]]), truth) == pytest.approx(0.75)


def test_flat_and_hnsw_points_on_2k_vectors() -> None:
    data, queries = _unit(2000, seed=2), _unit(20, seed=3)
    flat = faiss_point(data, queries, "flat")
    hnsw = faiss_point(data, queries, "hnsw")
    assert flat["recall_at_10"] == 1.0 and flat["complete"]
    assert flat["cosine_gap_at_10"] == pytest.approx(0.0, abs=1e-5)
    assert hnsw["recall_at_10"] >= 0.8 and hnsw["built_rows"] == 2000
    assert 0.0 <= hnsw["cosine_gap_at_10"] < 0.05  # what HNSW misses is nearly as close as what it finds
    assert 1536 <= flat["bytes_per_row"] < 1700  # 384 float32 + ids
    assert hnsw["bytes_per_row"] > flat["bytes_per_row"]  # + the graph
    assert flat["search_ms"]["n"] == 20 and flat["search_ms_1_thread"]["p50"] > 0


def test_ivf_point_on_2k_vectors_with_its_nprobe_sweep() -> None:
    data, queries = _unit(2000, seed=2), _unit(20, seed=3)
    ivf = faiss_point(data, queries, "ivf")
    assert ivf["complete"] and ivf["built_rows"] == 2000 and ivf["nlist"] == 2000 // 39
    assert ivf["recall_at_10"] >= RECALL_TARGET  # the product's nprobe ≥ nlist here: every cell is scanned
    assert 0.0 <= ivf["cosine_gap_at_10"] < 1e-5
    assert 1536 <= ivf["bytes_per_row"] < 1700  # 384 float32 + id + the centroids spread over the rows
    sweep = ivf["nprobe_sweep"]
    assert [e["nprobe"] for e in sweep] == [8, 16, 32]  # the sweep stops at nlist (51)
    assert sweep[0]["recall_at_10"] < sweep[-1]["recall_at_10"]  # random vectors: fewer cells miss more
    assert sweep[0]["search_ms"]["n"] == 20


def test_fastest_at_target_ignores_kinds_below_the_recall_target_or_unfinished() -> None:
    def row(p50: float, recall: float, complete: bool = True) -> dict[str, object]:
        return {"search_ms": {"p50": p50}, "recall_at_10": recall, "complete": complete}

    point = {"flat": row(100.0, 1.0), "hnsw": row(0.5, 0.4), "ivf": row(2.0, 0.99)}
    assert fastest_at_target(point) == "ivf"
    assert fastest_at_target({**point, "hnsw": row(0.5, 0.97, complete=False)}) == "ivf"
    assert fastest_at_target({**point, "hnsw": row(0.5, 0.97)}) == "hnsw"
    assert fastest_at_target({"hnsw": row(0.5, 0.4)}) is None


def test_hnsw_build_is_time_boxed() -> None:
    data, queries = _unit(3000, seed=4), _unit(5, seed=5)
    row = faiss_point(data, queries, "hnsw", budget_s=0.0, block=1000)  # stops after the first block
    assert not row["complete"] and row["built_rows"] == 1000 and row["recall_at_10"] > 0.5
    assert row["extrapolated_build_s"] is not None


@needs_data
def test_scale_run_at_2k_rows_embeds_caches_and_reports(tmp_path: Path) -> None:
    embedder = HashEmbedder(384)
    opts = ScaleOptions(sizes=(2000,), cache_dir=tmp_path / "cache", donor_dir=tmp_path / "no-donors",
                        real_target=100, queries=10, max_texts=30, retrieve_max=2000)
    questions = gold_questions(10)
    qv = embedder.embed_queries([q for q, _ in questions])
    result = run_scale(opts, embedder, questions, qv)
    assert result["real_vectors"] == 100 and "embedded here" in str(result["real_source"])
    assert list((tmp_path / "cache").glob("scale_real_*.npz"))  # the real vectors are cached for the next run
    assert len(real_vectors(opts, embedder)[0]) == 100
    (point,) = result["points"]
    assert point["auto_kind"] == "flat" and point["flat"]["recall_at_10"] == 1.0
    assert [e["ef_search"] for e in point["hnsw"]["ef_sweep"]][:2] == [64, 128]
    assert point["ivf"]["recall_at_10"] >= RECALL_TARGET and point["ivf"]["nprobe_sweep"]
    assert point["fastest_at_target"] in ("flat", "ivf")  # HNSW may or may not reach the target on hash vectors
    assert point["bm25"]["rows"] == 2000 and point["bm25"]["query_ms"]["n"] == 10
    assert point["retrieve_ms"]["n"] == 10
    md = "\n".join(markdown_scale(result, "python -m eval.bench"))
    assert "| 2,000 | flat |" in md and "python -m eval.bench" in md
    assert "IVF nprobe sweep" in md and "nprobe 8" in md


def test_target_table_reports_each_performance_target_against_its_measurement() -> None:
    from eval.bench import _target_lines

    lat = {"p50": 10.0}
    level = {c: {"errors": 0, "throughput_rps": 40.0, "latency_ms": lat} for c in (1, 8, 32)}
    report = {
        "floor": {"embed_one_ms": {"p50": 12.0}, "ask_cold_ms": {"p50": 20.0}},
        "in_process": {"cold": level, "warm": level},
        "http": {"cold": {**level, "paired_ask_ms": {"p50": 22.0}, "paired_embed_one_ms": {"p50": 12.0}},
                 "warm": {**level, 32: {"errors": 3, "throughput_rps": 1.0, "latency_ms": lat}}},
        "embedder": {str(c): {"throughput_rps": 45.0} for c in (1, 8, 32)},  # as read back from bench.json
        "peer": {"skipped": "not installed"},
        "indexing": {"overhead_share": 0.04, "reindex_unchanged_s": 0.8},
        "scale": {"points": [{"rows": 1_000_000, "auto_kind": "ivf",
                              "ivf": {"search_ms": {"p50": 4.1}, "recall_at_10": 0.997, "bytes_per_row": 1550.0}}]},
    }
    table = "\n".join(_target_lines(report))
    assert "| `/v1/ask` p50 ≤ 1.5× one query embedding, in-process | 1.67× (20.0 / 12.0 ms) | not met |" in table
    assert "HTTP, 1 client | 1.83× | **met** |" in table
    assert "0.89× (40.0 vs 45.0 req/s) | **met** |" in table
    assert "zero errors at 32 clients (in-process and HTTP, caches off and on) | 3 | not met |" in table
    assert "4.0% | **met** |" in table and "0.8 s | **met** |" in table
    assert "ivf: 4.10 ms, recall 0.997, 1550.0 B/row | **met** |" in table
    assert "LangChain" not in table  # a skipped peer has no row rather than a made-up one
