"""The calibration script's off-topic question sampler (the fit itself is measured by `python -m eval.calibrate`)."""

import json
from pathlib import Path

from eval.calibrate import off_topic_questions, rates


def _squad(path: Path, questions: list[str]) -> None:
    path.parent.mkdir(parents=True)
    qas = [{"id": str(i), "question": q, "answers": []} for i, q in enumerate(questions)]
    path.write_text(json.dumps({"data": [{"paragraphs": [{"context": "c", "qas": qas}]}]}), encoding="utf-8")


def test_off_topic_questions_are_a_fixed_sample_and_missing_sets_are_skipped(tmp_path: Path) -> None:
    _squad(tmp_path / "squad" / "squad1.1.dev.minus-xquad.json", [f"q{i}" for i in range(10)])
    first = off_topic_questions(tmp_path, 3)
    assert set(first) == {"squad_en"} and len(first["squad_en"]) == 3
    assert set(first["squad_en"]) <= {f"q{i}" for i in range(10)}
    assert off_topic_questions(tmp_path, 3) == first  # same seed, same questions


def test_refusal_rates() -> None:
    import numpy as np

    r = rates(np.array([0.1, 0.9, 0.2, 0.8]), np.array([0, 1, 1, 0]), 0.5)
    assert r == {"oos_refused": 0.5, "answerable_refused": 0.5, "refusal_precision": 0.5}


def test_off_topic_training_questions_come_after_the_checked_ones(tmp_path: Path) -> None:
    _squad(tmp_path / "squad" / "squad1.1.dev.minus-xquad.json", [f"q{i}" for i in range(10)])
    checked = off_topic_questions(tmp_path, 3)["squad_en"]
    train = off_topic_questions(tmp_path, 4, skip=3)["squad_en"]
    assert len(train) == 4 and not set(train) & set(checked)
    assert checked + train == off_topic_questions(tmp_path, 7)["squad_en"]


def test_leave_one_out_never_sees_the_held_out_row_and_always_sees_the_extra_negatives() -> None:
    import numpy as np

    from eval.calibrate import fit, leave_one_out

    # One feature; answerable rows high, out-of-scope rows low, and one outlier (an answerable row at 0.0): a
    # model fitted with it rates it higher than the one that held it out.
    x = np.array([[1.0], [1.1], [0.9], [1.2], [0.0], [-1.0], [-1.1]])
    y = np.array([1, 1, 1, 1, 1, 0, 0])
    extra = np.array([[-0.9], [-1.2], [-0.1], [0.1]])
    p = leave_one_out(x, y, extra)
    assert (p[:4] > 0.5).all() and (p[5:] < 0.5).all()
    assert p[4] < fit(x, y, extra).predict_proba(x[4:5])[0, 1] < 0.5
    only_positive = leave_one_out(x[:4], y[:4], extra)  # no out-of-scope gold rows: the extra ones still train it
    assert (only_positive > 0.5).all()


def test_near_miss_refusals_are_predicted_by_models_fitted_without_their_fold(tmp_path: Path) -> None:
    import numpy as np

    from eval.calibrate import cross_validated_refusals, fit, near_miss_questions

    assert near_miss_questions(tmp_path / "missing.jsonl") == []
    f = tmp_path / "near_miss.jsonl"
    f.write_text('{"id": "nm-en-001", "question": "How many?"}\n\n{"id": "nm-zh-001", "question": "多少？", '
                 '"kind": "off_topic"}\n', encoding="utf-8")
    assert near_miss_questions(f) == [("How many?", "near_miss"), ("多少？", "off_topic")]
    x = np.array([[1.0], [1.1], [0.9], [1.2], [-1.0], [-1.1]])
    y = np.array([1, 1, 1, 1, 0, 0])
    general = np.array([[-0.9], [-1.2]])
    # Near misses sit among the answerable rows. Each fold is predicted by a model fitted without it, so fewer are
    # refused than by the model fitted on all of them (which has seen each one as out of scope).
    near = np.array([[0.95], [1.05], [1.0], [1.15], [0.85]])
    leaked = float((fit(x, y, np.vstack([general, near])).predict_proba(near)[:, 1] < 0.6).mean())
    assert cross_validated_refusals(x, y, general, near, threshold=0.6) < leaked
    assert np.isnan(cross_validated_refusals(x, y, general, near[:0], threshold=0.6))


def test_the_shipped_near_miss_file_is_well_formed_and_asks_new_questions() -> None:
    import re

    from eval.calibrate import NEAR_MISS
    from eval.gold import GOLD_DIR, load_gold

    rows = [json.loads(line) for line in NEAR_MISS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) == 60 and len({r["id"] for r in rows}) == 60
    for r in rows:
        assert r["kind"] in {"near_miss", "off_topic"} and r["language"] in {"en", "zh"}
        assert bool(re.search(r"[\u3400-\u9fff]", r["question"])) == (r["language"] == "zh"), r["id"]
        assert r["id"].startswith(f"nm-{r['language']}-")
    others = {row.question for d in (GOLD_DIR, GOLD_DIR.parent / "heldout") for row in load_gold(d)}
    assert not {r["question"] for r in rows} & others
