"""Bootstrap intervals in the gold report and `rag eval --compare`: run on hand-built scored rows."""

import json
from pathlib import Path

import numpy as np
import pytest

from eval.metrics import bootstrap_interval
from eval.run import Scored, build_report, compare, load_report, markdown
from rag.cli import main


def test_interval_holds_the_mean_and_narrows_with_more_questions() -> None:
    rng = np.random.default_rng(1)
    small = rng.integers(0, 2, 40).astype(float).tolist()
    large = rng.integers(0, 2, 400).astype(float).tolist()
    for values in (small, large):
        lo, hi = bootstrap_interval(values) or (0.0, 0.0)
        assert lo < float(np.mean(values)) < hi
    width = {n: (lambda c: c[1] - c[0])(bootstrap_interval(v) or (0, 0)) for n, v in (("40", small), ("400", large))}
    # a proportion's 95% interval is about ±1.96·sqrt(p(1-p)/n): ±0.15 for 40 questions, ±0.05 for 400
    assert 0.22 < width["40"] < 0.40 and 0.07 < width["400"] < 0.12


def test_interval_is_reproducible_and_degenerate_cases_are_plain() -> None:
    values = [1.0, 0.0, 0.5, 1.0, 0.25, 0.0, 1.0]
    assert bootstrap_interval(values) == bootstrap_interval(values)
    assert bootstrap_interval([1.0] * 30) == (1.0, 1.0)
    assert bootstrap_interval([]) is None


def _row(qid: str, rank: int | None, answered: bool = True, answerable: bool = True, pair: str = "en→en") -> Scored:
    s = Scored(qid, "same_language" if answerable else "out_of_scope", pair, "en", answerable, answered, 10.0)
    if answerable and rank is not None:
        s.first_relevant_rank = rank
        s.hit1, s.hit5, s.mrr10 = float(rank == 1), float(rank <= 5), 1.0 / rank if rank <= 10 else 0.0
    return s


def test_report_carries_intervals_for_the_target_figures() -> None:
    report = build_report([_row(f"q{i}", 1 if i % 2 else 3) for i in range(20)] + [_row("o", None, False, False)], {})
    overall = report["overall"]
    assert isinstance(overall, dict)
    lo, hi = overall["hit1_ci95"]
    assert lo < overall["hit1"] == 0.5 < hi
    assert overall["hit5_ci95"] == [1.0, 1.0]
    assert overall["oos_refused_ci95"] == [1.0, 1.0]
    assert "## 95% intervals" in markdown(report)


def test_compare_lists_moved_questions_and_tests_the_difference() -> None:
    before = build_report([_row("a", 3), _row("b", 1), _row("c", None, answered=True, answerable=False),
                           _row("gone", 2)], {"date": "yesterday", "index_version": "v1"})
    after = build_report([_row("a", 1), _row("b", 1), _row("c", None, answered=False, answerable=False),
                          _row("new", 1)], {})
    c = compare(after, before)
    assert c["questions"] == 3 and c["only_before"] == ["gone"] and c["only_after"] == ["new"]
    assert [q["id"] for q in c["changed"]] == ["a", "c"]
    assert (c["changed"][0]["rank_before"], c["changed"][0]["rank_after"]) == (3, 1)
    hit1 = c["summary"]["hit1"]
    assert (hit1["before"], hit1["after"], hit1["difference"], hit1["up"], hit1["down"]) == (0.5, 1.0, 0.5, 1, 0)
    assert c["summary"]["hit5"]["ci95"] == [0.0, 0.0]  # nothing moved in or out of the top 5
    assert c["summary"]["oos_refused"]["difference"] == 1.0
    text = markdown({**after, "comparison": c})
    assert "## Compared with yesterday (index v1)" in text and "| a | en→en | same_language | 3 → 1 |" in text


def test_load_report_reads_a_file_or_an_out_directory(tmp_path: Path) -> None:
    report = build_report([_row("a", 2)], {"date": "d"})
    (tmp_path / "report.json").write_text(json.dumps(report), encoding="utf-8")
    assert load_report(tmp_path) == load_report(tmp_path / "report.json") == json.loads(json.dumps(report))


def test_cli_refuses_a_missing_comparison_report_before_running(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--compare", str(tmp_path / "nothing")]) == 2
    assert "no report.json" in capsys.readouterr().err
