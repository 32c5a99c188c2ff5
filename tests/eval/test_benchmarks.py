"""The public benchmark runner: metric functions on handcrafted rankings, and a real run on a tiny XQuAD slice."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eval.benchmarks import (
    DEFAULT_DATA,
    VARIANTS,
    CachedEmbedder,
    Options,
    Question,
    all_at,
    doc_ranking,
    markdown,
    mrr_at,
    parse_args,
    plan,
    recall_at,
    run_benchmarks,
    sample,
)
from rag.embedders import CountingEmbedder, Embedder, HashEmbedder
from rag.index import load_index

XQUAD = DEFAULT_DATA / "xquad" / "xquad.dev.en.json"
needs_data = pytest.mark.skipif(not XQUAD.exists(), reason=f"benchmark data not found in {DEFAULT_DATA}")

RANKINGS = [["a", "b", "c"], ["x", "a", "y"], ["p", "q", "r"]]


def test_recall_counts_the_relevant_doc_within_k() -> None:
    assert recall_at(RANKINGS, ["a", "a", "a"], 1) == pytest.approx(1 / 3)
    assert recall_at(RANKINGS, ["a", "a", "a"], 2) == pytest.approx(2 / 3)
    assert recall_at(RANKINGS, ["c", "y", "r"], 3) == 1.0
    assert recall_at(RANKINGS, ["c", "y", "r"], 2) == 0.0
    assert recall_at([], [], 5) == 0.0


def test_mrr_is_the_mean_reciprocal_rank_cut_at_k() -> None:
    assert mrr_at(RANKINGS, ["a", "a", "a"], 10) == pytest.approx((1 + 1 / 2 + 0) / 3)
    assert mrr_at(RANKINGS, ["c", "y", "r"], 10) == pytest.approx(1 / 3)
    assert mrr_at(RANKINGS, ["c", "y", "r"], 2) == 0.0  # rank 3 is beyond k
    assert mrr_at([[]], ["a"], 10) == 0.0


def test_all_at_needs_every_relevant_doc_within_k() -> None:
    assert all_at(RANKINGS, [("a", "b"), ("a", "y"), ("p", "z")], 3) == pytest.approx(2 / 3)
    assert all_at(RANKINGS, [("a", "b"), ("a", "y"), ("p", "z")], 2) == pytest.approx(1 / 3)


def test_sample_is_deterministic_and_independent_of_input_order() -> None:
    qs = [Question(f"id{i}", f"q{i}", "en", f"d{i}") for i in range(50)]
    first = sample(qs, 10)
    assert len(first) == 10 and sample(list(reversed(qs)), 10) == first
    assert len(sample(qs, None)) == 50 and len(sample(qs, 0)) == 50


def test_parse_args_accepts_comma_and_space_separated_names(capsys: pytest.CaptureFixture[str]) -> None:
    opts, spec = parse_args(["--sets", "xquad,cmrc", "--variants", "dense", "bm25", "--max-questions", "0"])
    assert opts.sets == ("xquad", "cmrc") and opts.variants == ("dense", "bm25")
    assert opts.max_questions is None and spec is None
    assert opts.command.startswith("python -m eval.benchmarks --sets")
    with pytest.raises(SystemExit):
        parse_args(["--variants", "nope"])


@needs_data
def test_xquad_plan_pairs_parallel_paragraphs() -> None:
    indexes, tasks = plan(DEFAULT_DATA, ["xquad"], None, max_articles=2)
    assert set(indexes) == {"xquad-mixed", "xquad-en", "xquad-zh"}
    assert len(indexes["xquad-mixed"]) == 2 * len(indexes["xquad-en"])
    by_name = {t.name: t for t in tasks}
    zh_en = by_name["xquad zh→en"].questions
    assert all(q.lang == "zh" and q.relevant.startswith("xquad-en-") for q in zh_en)
    mixed = by_name["xquad mixed, en questions"].questions
    assert all(q.other == q.relevant.replace("xquad-en", "xquad-zh") for q in mixed)
    assert [q.id for q in by_name["xquad en"].questions] == [q.id for q in by_name["xquad zh"].questions]
    # answer strings follow the index asked: English ones for zh→en, both languages' in the mixed pool
    en_answers = {q.id: q.answers for q in by_name["xquad en"].questions}
    zh_answers = {q.id: q.answers for q in by_name["xquad zh"].questions}
    assert all(q.answers and q.answers == en_answers[q.id] for q in zh_en)
    assert all(q.answers == en_answers[q.id] + zh_answers[q.id] for q in mixed)


def test_cached_embedder_persists_queries_and_passages(tmp_path: Path) -> None:
    inner = HashEmbedder(16)
    first = CachedEmbedder(inner, tmp_path)
    q = first.embed_queries(["what is x?", "what is y?", "what is x?"])
    d = first.embed_documents(["paragraph one", "paragraph two"])
    assert first.embedded == {"queries": 2, "documents": 2}
    first.save()
    second = CachedEmbedder(inner, tmp_path)
    assert np.array_equal(second.embed_queries(["what is x?", "what is y?", "what is x?"]), q)
    assert np.array_equal(second.embed_documents(["paragraph one", "paragraph two"]), d)
    assert second.embedded == {"queries": 0, "documents": 0}
    assert second.embed_queries([]).shape == (0, 16)


@needs_data
def test_tiny_xquad_run_end_to_end(embedder: Embedder, tmp_path: Path) -> None:
    opts = Options(out_dir=tmp_path, sets=("xquad",), max_articles=2, command="test")
    counting = CountingEmbedder(embedder)
    report = run_benchmarks(opts, counting)
    # the mixed pool is built first (each distinct chunk and sentence text embedded once); the monolingual
    # indexes reuse its vectors
    mixed = load_index(tmp_path / "cache" / "xquad-mixed")
    assert mixed.sentences is not None and len(mixed.documents) == len(
        plan(DEFAULT_DATA, ["xquad"], None, 2)[0]["xquad-mixed"])
    assert counting.passages == len(set(mixed.embed_keys) | set(mixed.sentences.keys)) > len(mixed.chunks)
    rows = {r["set"]: r for r in report["rows"]}  # type: ignore[attr-defined]
    assert len(rows) == 6
    for row in rows.values():
        assert set(row["metrics"]) == set(VARIANTS)
        for variant, values in row["metrics"].items():
            expected = {"own@5", "other@10", "both@10"} if row["mixed"] else {"R@1", "R@5", "R@10", "MRR@10"}
            assert set(values) == expected | ({"answer", "answered"} if variant == "product" else set())
            assert all(0.0 <= v <= 1.0 for v in values.values())
            if not row["mixed"]:
                assert values["R@1"] <= values["R@5"] <= values["R@10"]
                assert values["R@1"] <= values["MRR@10"] <= values["R@10"]
            spans = row["intervals"][variant]
            assert set(spans) == ({"own@5", "other@10"} if row["mixed"] else {"R@5"})
            for name, (lo, hi) in spans.items():
                assert lo <= values[name] <= hi
    assert rows["xquad en"]["metrics"]["dense"]["R@5"] > 0.8
    assert rows["xquad zh"]["metrics"]["dense"]["R@5"] > 0.8
    assert rows["xquad en"]["metrics"]["product"]["answer"] > 0.5  # the extractive answer holds the answer span
    # every question is answerable from its paragraph: most must be answered, not refused
    assert rows["xquad en"]["metrics"]["product"]["answered"] > 0.5

    written = json.loads((tmp_path / "benchmarks.json").read_text(encoding="utf-8"))
    assert written["rows"] == report["rows"]
    md = (tmp_path / "benchmarks.md").read_text(encoding="utf-8")
    assert md == markdown(report) and "| xquad zh→en |" in md and "product MRR@10" in md
    assert "## Answer contains (product)" in md and "product answer | product answered" in md
    zh_en = rows["xquad zh→en"]
    lo, hi = zh_en["intervals"]["product"]["R@5"]
    assert f"| xquad zh→en | product | R@5 | {zh_en['metrics']['product']['R@5']:.3f} | [{lo:.3f}, {hi:.3f}] |" in md

    again = CountingEmbedder(embedder)
    rerun = run_benchmarks(opts, again)
    assert (again.passages, again.query_texts) == (0, 0)  # indexes and query vectors come from <out>/cache
    assert rerun["rows"] == report["rows"]


def test_doc_ranking_keeps_each_paragraph_once() -> None:
    from rag.chunking import Chunk
    from rag.retrieval import Hit

    def hit(doc: str, start: int) -> Hit:
        return Hit(Chunk(f"{doc}:{start}-{start + 1}", doc, start, start + 1, "x", "en"), 1.0, 1.0, 0.0)

    hits = [hit("a", 0), hit("b", 0), hit("a", 5), hit("c", 0)]
    assert doc_ranking(hits) == ["a", "b", "c"]
    assert doc_ranking(hits, depth=2) == ["a", "b"]
