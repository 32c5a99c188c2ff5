"""The calibration script's samplers and checks (the fit itself is measured by `python -m eval.calibrate`)."""

import json
from pathlib import Path

import numpy as np

from eval.calibrate import choose_threshold, off_topic_questions, rates
from rag.engine import Engine


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

    p, y = np.array([0.1, 0.9, 0.2, 0.8]), np.array([0, 1, 1, 0])
    r = rates(p, y, 0.5, np.zeros(4, dtype=bool))
    assert r == {"oos_refused": 0.5, "answerable_refused": 0.5, "refusal_precision": 0.5}
    # a question refused for a missing figure counts as refused whatever the model says
    r = rates(p, y, 0.5, np.array([False, False, False, True]))
    assert r == {"oos_refused": 1.0, "answerable_refused": 0.5, "refusal_precision": 2 / 3}


def test_the_threshold_refuses_the_most_out_of_scope_questions_within_the_allowance_from_mid_gap() -> None:
    # out of scope (y 0) at 0.2, 0.4, 0.7; seven answerable from 0.3 up, of which one may be refused
    p = np.array([0.2, 0.4, 0.7, 0.3, 0.5, 0.6, 0.8, 0.9, 0.95, 0.97])
    y = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    none = np.zeros(len(p), dtype=bool)
    t = choose_threshold(p, y, none, 0.15)
    # 0.4 refused with 0.3 (1 of 7 answerable); refusing 0.7 too would cost 0.5 and 0.6: the gap is (0.4, 0.5]
    assert 0.4 < t <= 0.5 and t == 0.45
    assert rates(p, y, t, none) == {"oos_refused": 2 / 3, "answerable_refused": 1 / 7, "refusal_precision": 2 / 3}
    # the highest threshold within the allowance (0.5) refuses no more out-of-scope questions than the midpoint
    assert rates(p, y, 0.5, none)["oos_refused"] == rates(p, y, t, none)["oos_refused"]
    # when no allowed threshold refuses anything, the lowest probability: nothing is refused
    t = choose_threshold(np.array([0.9, 0.1]), np.array([0, 1]), np.zeros(2, dtype=bool), 0.0)
    assert t == 0.1 and rates(np.array([0.9, 0.1]), np.array([0, 1]), t, np.zeros(2, dtype=bool))["oos_refused"] == 0


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
    none = np.zeros(len(near), dtype=bool)
    assert cross_validated_refusals(x, y, general, near, none, threshold=0.6) < leaked
    assert cross_validated_refusals(x, y, general, near, ~none, threshold=0.6) == 1.0
    assert np.isnan(cross_validated_refusals(x, y, general, near[:0], none[:0], threshold=0.6))


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


def test_other_language_docs_leave_out_documents_with_a_section_in_the_question_language(engine: Engine) -> None:
    from collections import Counter

    from eval.calibrate import OTHER_LANGUAGE_MAX_SHARE, other_language_docs

    langs: dict[str, Counter[str]] = {}
    for c in engine.snapshot.chunks:
        langs.setdefault(c.doc_id, Counter())["zh" if c.lang in ("zh", "ja") else c.lang] += 1
    for lang in ("en", "zh"):
        kept = other_language_docs(engine, lang)
        assert kept, lang
        for doc_id, n in langs.items():
            assert (doc_id in kept) == (n[lang] <= OTHER_LANGUAGE_MAX_SHARE * sum(n.values())), (lang, doc_id)
    assert not set(other_language_docs(engine, "en")) & set(other_language_docs(engine, "zh"))


def test_one_language_check_asks_a_one_language_index_and_labels_questions_by_where_their_evidence_is(
        engine: Engine) -> None:
    from eval.calibrate import collect_questions, fit, one_language_check, other_language_docs
    from eval.gold import load_gold

    english = set(other_language_docs(engine, "zh"))
    rows = load_gold()
    zh = [r for r in rows if r.language == "zh"]
    inside = [r for r in zh if r.answerable and all({e.doc_id, *(a.doc_id for a in e.also)} & english
                                                    for e in r.evidence)][:3]
    outside = [r for r in zh if r.answerable and not any({e.doc_id, *(a.doc_id for a in e.also)} & english
                                                         for e in r.evidence)][:2]
    oos = [r for r in zh if not r.answerable][:2]
    assert len(inside) == 3 and len(outside) == 2 and len(oos) == 2
    picked = inside + outside + oos
    x, no_figure = collect_questions(engine, [r.question for r in picked])
    assert x.shape == (7, 6) and no_figure.shape == (7,)
    model = fit(x, np.array([1, 1, 1, 1, 1, 0, 0]), x[:0])
    out = one_language_check(engine, picked, model, 0.5)
    assert set(out) == {"zh questions, English documents"}  # no English rows picked: no English check
    row = out["zh questions, English documents"]
    assert row["documents"] == sorted(english)
    assert (row["answerable"], row["elsewhere"], row["out_of_scope"]) == (3, 2, 2)
    assert all(0.0 <= row[k] <= 1.0 for k in ("answered", "elsewhere_refused", "out_of_scope_refused"))


class _CosineCut:
    """A stand-in for the fitted pipeline: answers when the dense cosine reaches 0.8."""

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = (x[:, 0] >= 0.8).astype(float)
        return np.stack([1 - p, p], axis=1)


def test_the_offset_is_the_largest_that_answers_off_topic_questions_no_more_often_than_in_their_own_language() -> None:
    from eval.calibrate import COSINES, answered_share, choose_offset

    def signals(dense: list[float]) -> tuple[np.ndarray, np.ndarray]:
        x = np.zeros((len(dense), 6))
        x[:, COSINES] = np.array(dense)[:, None]
        return x, np.zeros(len(dense), dtype=bool)

    own = signals([0.81, 0.79, 0.70, 0.60])  # one of four answered in their own language
    other = signals([0.73, 0.703, 0.60, 0.50])  # 0.73 reaches 0.8 from 0.07 on, 0.703 from 0.097 on
    assert answered_share(_CosineCut(), *own, 0.5) == 0.25
    assert choose_offset(_CosineCut(), own, other, 0.5) == 0.095
    assert answered_share(_CosineCut(), *other, 0.5, 0.095) == 0.25
    assert answered_share(_CosineCut(), *other, 0.5, 0.1) == 0.5
    # a figure the quotes lack refuses whatever the offset
    x, no_figure = other
    assert answered_share(_CosineCut(), x, np.ones(4, dtype=bool), 0.5, 0.2) == 0.0
    assert choose_offset(_CosineCut(), signals([0.5]), signals([0.81]), 0.5) == 0.0


def test_the_shipped_offsets_were_measured_and_raise_answers_across_languages() -> None:
    from rag.abstain import MODEL_FILE

    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    assert set(data["cross_language_offset"]) == {"en", "zh"}
    for lang, offset in data["cross_language_offset"].items():
        row = next(v for k, v in data["cross_language"].items() if k.startswith(f"{lang} questions"))
        assert row["offset"] == offset and 0 < offset <= 0.2
        assert row["off_topic_answered"] <= row["off_topic_answered_own_language"]
        assert row["xquad_answered"] > row["xquad_answered_without_offset"]


def test_the_paired_out_of_scope_file_asks_each_question_in_both_languages() -> None:
    import re

    from eval.calibrate import PAIRED_OOS, near_miss_questions
    from eval.gold import GOLD_DIR, load_gold

    rows = [json.loads(line) for line in PAIRED_OOS.read_text(encoding="utf-8").splitlines() if line.strip()]
    by_lang = {lang: [r for r in rows if r["language"] == lang] for lang in ("en", "zh")}
    assert len(by_lang["en"]) == len(by_lang["zh"]) >= 10 and len(rows) == 2 * len(by_lang["en"])
    assert [r["id"][6:] for r in by_lang["en"]] == [r["id"][6:] for r in by_lang["zh"]]  # po-en-001 ↔ po-zh-001
    for r in rows:
        assert r["kind"] == f"paired_oos_{r['language']}" and r["id"].startswith(f"po-{r['language']}-")
        assert bool(re.search(r"[\u3400-\u9fff]", r["question"])) == (r["language"] == "zh"), r["id"]
        assert r["why_not_covered"]
    others = {row.question for d in (GOLD_DIR, GOLD_DIR.parent / "heldout") for row in load_gold(d)}
    assert not {r["question"] for r in rows} & others
    assert {k for _, k in near_miss_questions(PAIRED_OOS)} == {"paired_oos_en", "paired_oos_zh"}
