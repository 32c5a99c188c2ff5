"""CI guard: the gold set through the real engine, with thresholds just under the current numbers.

Current figures are in README (`make eval`); lower a threshold only with a note on why.
"""

from pathlib import Path

import pytest

from eval.gold import GOLD_DIR
from eval.run import run

LIMITS = {
    # measured 2026-12-06 on two machines (the figures differ by machine, README "Gold set"): morning / afternoon
    "min_hit5": 0.89,  # 0.910 / 0.922 (0.904 / 0.916 counting only the named quotes, without `also`)
    "min_mrr": 0.78,  # 0.803 / 0.811 (0.725 / 0.734)
    "min_same_hit5": 0.91,  # 0.935 / 0.946
    "min_cross_hit5": 0.87,  # 0.889 / 0.889
    "min_answer": 0.70,  # 0.747 / 0.753
    # night (Intel, like the morning's): 0.933 with the figure check's year condition (leave-one-out 0.933, README);
    # the afternoon's AMD machine measured 0.900 before it
    "min_oos_refused": 0.86,
    "max_answerable_refused": 0.07,  # 0.042 (leave-one-out 0.048)
}


@pytest.mark.slow
def test_gold_set_meets_thresholds(index_dir: Path, tmp_path: Path) -> None:
    report, failures = run(GOLD_DIR, tmp_path, index_dir=index_dir, limits=LIMITS, quiet=True)
    assert not failures, failures
    assert (tmp_path / "report.json").exists() and (tmp_path / "report.md").exists()
    assert (tmp_path / "report.png").stat().st_size > 1000
    pairs = report["by_language_pair"]
    assert {"en→en", "zh→zh", "en→zh", "zh→en"} <= set(pairs)


def test_threshold_failures_are_reported() -> None:
    from eval.run import check_thresholds

    report = {"overall": {"hit5": 0.5, "answerable_refused": 0.2}}
    assert check_thresholds(report, {"min_hit5": 0.9, "max_answerable_refused": 0.05, "min_mrr": None}) == [
        "overall.hit5 = 0.5 (required >= 0.9)", "overall.answerable_refused = 0.2 (required <= 0.05)"]
    assert check_thresholds(report, {"min_hit5": 0.4}) == []


def test_quote_metrics_count_quoted_sentences_that_overlap_the_evidence() -> None:
    from eval.gold import Evidence, GoldRow
    from eval.run import Response, score

    doc = "Intro sentence here. The FDA has cleared 1,000 devices. NMPA approved 132 devices. Outro."
    row = GoldRow("t-1", "q?", "en", "comparison", ("1,000",),
                  (Evidence("d", "The FDA has cleared 1,000 devices."), Evidence("d", "NMPA approved 132 devices.")))
    fda = doc.index("The FDA")
    quoted = [("d", fda, fda + 10), ("d", 0, 20)]  # one inside the first evidence quote, one in the intro
    s = score(row, Response([("d", 0, len(doc))], True, "The FDA has [1] Intro [1]", [1, 1], 1.0, quotes=quoted),
              lambda _: doc)
    assert (s.quote_precision, s.quote_recall) == (0.5, 0.5)
    s = score(row, Response([("d", 0, len(doc))], False, "not covered", [], 1.0), lambda _: doc)
    assert (s.quote_precision, s.quote_recall) == (None, 0.0)


def test_a_passage_stating_the_fact_elsewhere_counts_for_hits_but_not_for_the_primary_measure() -> None:
    from eval.gold import Evidence, GoldRow
    from eval.run import Response, score

    doc = "Summary: FDA cleared 1,000+ devices. Filler text here. Body: The FDA has cleared 1,000 devices. End."
    also = Evidence("d", "FDA cleared 1,000+ devices.")
    row = GoldRow("t-2", "q?", "en", "same_language", ("1,000",),
                  (Evidence("d", "The FDA has cleared 1,000 devices.", (also,)),))
    summary, body, end = (0, 36), (doc.index("Filler"), doc.index("Body")), (doc.index("Body"), len(doc))
    ranked = [("d", *summary), ("d", *body), ("d", *end)]
    s = score(row, Response(ranked, True, "x", [1], 1.0), lambda _: doc)
    assert (s.hit1, s.mrr10, s.first_relevant_rank) == (1.0, 1.0, 1)
    assert (s.hit5_primary, s.mrr10_primary) == (1.0, 1 / 3)
    assert (s.cite_precision, s.cite_recall) == (1.0, 1.0)
    s = score(row, Response([("d", *body)], True, "x", [1], 1.0), lambda _: doc)
    assert (s.hit5, s.hit5_primary, s.cite_precision) == (0.0, 0.0, 0.0)
