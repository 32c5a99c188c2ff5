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
