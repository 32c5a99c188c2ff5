import json
from pathlib import Path

import pytest

from rag.langid import unread_language

ROOT = Path(__file__).resolve().parents[2]

FOREIGN = {
    "Combien de dispositifs médicaux basés sur l'IA la FDA a-t-elle approuvés ?": "fr",
    "Quelle est la taille du marché chinois de l'IA médicale ?": "fr",
    "¿Cuántos dispositivos médicos con IA ha aprobado la FDA?": "es",
    "Wie groß ist der Markt für KI im Gesundheitswesen in China?": "de",
    "Quanti dispositivi medici con intelligenza artificiale ha approvato la FDA?": "it",
    "Hoeveel medische AI-apparaten heeft de FDA goedgekeurd?": "nl",
    "FDA đã phê duyệt bao nhiêu thiết bị y tế AI?": "vi",
    "FDA kaç tane yapay zeka tıbbi cihazını onayladı?": "tr",
    "Ile urządzeń medycznych z AI zatwierdziła FDA?": "pl",
    "한국 의료 AI 시장 규모는?": "ko",
    "Сколько медицинских ИИ-устройств одобрило FDA?": "ru",
}


@pytest.mark.parametrize(("question", "code"), FOREIGN.items())
def test_a_question_in_a_language_the_service_does_not_read_is_named(question: str, code: str) -> None:
    assert unread_language(question) == code


def _questions(language: str) -> list[str]:
    rows = []
    for path in [*ROOT.glob("eval/gold/*.jsonl"), *ROOT.glob("eval/heldout/*.jsonl"),
                 *ROOT.glob("eval/calibration/*.jsonl")]:
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows if r.get("language") == language]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_no_question_of_the_gold_held_out_or_calibration_sets_is_taken_for_another_language(language: str) -> None:
    questions = _questions(language)
    assert len(questions) > 100
    assert [q for q in questions if unread_language(q)] == []


@pytest.mark.parametrize("question", [
    "What is Ant Health Affu?", "¿Qué hace Ant Health Affu?", "Tencent Miying", "NMPA?", "la FDA",
    "When did Luther write Wir glauben all an einen Gott?",  # English, quoting a German title
    "What did Москва say?", "日本の医療AI市場", "美国FDA批准了多少？", "？？？", "",
])
def test_names_short_phrases_and_quoted_foreign_words_are_no_other_language(question: str) -> None:
    assert unread_language(question) is None
