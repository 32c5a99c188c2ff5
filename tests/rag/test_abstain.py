"""Calibrated abstention on the real index: the shipped model matches the signals, and refuses off-topic questions."""

import json

import pytest

from rag.abstain import FEATURES, MODEL_FILE, AbstentionModel
from rag.engine import Engine


def test_shipped_model_was_fitted_on_the_current_signals() -> None:
    """A model fitted on other features is ignored (every question answered), so refit when FEATURES change:
    `python -m eval.calibrate --write`."""
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    assert data["features"] == list(FEATURES) and len(data["weights"]) == len(FEATURES)
    assert AbstentionModel().meta["features"] == list(FEATURES)


@pytest.mark.parametrize("question", ["How do I change a flat bicycle tyre?", "蛋炒饭怎么做才好吃？",
                                      "Which team won the 1998 football World Cup?"])
def test_off_topic_questions_are_refused(engine: Engine, question: str) -> None:
    answer = engine.ask(question)
    assert not answer.answered and answer.citations == []


def test_covered_question_is_answered_and_its_sentence_signal_is_a_cosine(engine: Engine) -> None:
    result = engine.search("How many AI-enabled medical devices has the FDA cleared?", 5)
    s = engine.signals(result)
    assert 0.0 < s.sentence <= 1.0
    assert engine.ask("How many AI-enabled medical devices has the FDA cleared?").answered


def test_a_phone_apostrophe_reads_as_the_typewriter_one(engine: Engine) -> None:
    """The word signals see the same terms in "I’m" as in "I'm", and neither counts as a word the reports lack."""
    typed = [engine.search(q, 5) for q in ("I'm told AI reads scans; isn't that risky?",
                                           "I’m told AI reads scans; isn’t that risky?")]
    assert typed[0].terms == typed[1].terms
    assert not any("'" in t for group, _ in typed[0].terms for t in group)
    ascii_signals, phone_signals = (engine.signals(r) for r in typed)
    assert (ascii_signals.unknown, ascii_signals.coverage) == (phone_signals.unknown, phone_signals.coverage)


@pytest.mark.parametrize("question", ["한국 의료 AI 시장 규모는?", "Сколько медицинских ИИ-устройств одобрило FDA?"])
def test_words_of_an_alphabet_no_report_uses_count_as_unknown(engine: Engine, question: str) -> None:
    """They were dropped by the tokenizer, so "AI" or "FDA" alone made the question look fully covered, and the
    Korean market question was answered with an unrelated Chinese adoption rate."""
    s = engine.signals(engine.search(question, 5))
    assert s.unknown > 0.5 and s.coverage < 0.5
    assert not engine.ask(question).answered
