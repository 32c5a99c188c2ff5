"""Calibrated abstention on the real index: the shipped model matches the signals, and refuses off-topic questions."""

import json

import pytest

from rag.abstain import FEATURES, MODEL_FILE, AbstentionModel, Signals
from rag.engine import Engine
from rag.index import IndexSnapshot
from rag.retrieval import Hit
from rag.translate import QueryExpander


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


def test_a_demonym_finds_the_place_the_report_names(engine: Engine) -> None:
    """Report 003 writes "Mongolia"; "the Mongolian baby" read as a name the reports lack, and was refused."""
    result = engine.search("How much did the liver transplant for the Mongolian baby cost?", 5)
    assert engine.signals(result).entity_missing == 0.0
    answer = engine.ask("How much did the liver transplant for the Mongolian baby cost?")
    assert answer.answered and any("200,000 yuan" in q.text for q in answer.quotes)


@pytest.mark.parametrize("question", ["南京的三甲医院挂号要提前几天？",
                                      "How many days ahead must I book a top-tier hospital in Nanjing?"])
def test_a_city_the_reports_never_name_is_missing_in_either_language(engine: Engine, question: str) -> None:
    """CC-CEDICT describes 南京 as "Nanjing subprovincial city …" and "capital of China at different historical
    periods": read whole, any passage saying China held the Chinese question's name; the English one's was missing."""
    assert engine.signals(engine.search(question, 5)).entity_missing == 1.0
    assert not engine.ask(question).answered


def test_a_place_the_reports_name_is_found_through_its_name() -> None:
    expander = QueryExpander()
    assert expander.name_group("成都", expander.token_group("成都")) == {"成都", "chengdu"}
    assert "china" in expander.token_group("成都")  # retrieval and coverage keep the whole description
    assert expander.name_group("上海", expander.token_group("上海")) >= {"上海", "shanghai"}
    assert expander.name_group("医院", expander.token_group("医院")) == expander.token_group("医院")  # not a place


def test_a_name_split_from_a_glossary_word_keeps_the_words_translation(engine: Engine) -> None:
    """蚂蚁阿福 is indexed as 蚂蚁 + 阿福; checked alone, 阿福 ("fortune") was missing from the English report that
    writes "Ant Health Affu", and the Chinese question was refused while its English form was answered."""
    question = "蚂蚁阿福的月活跃用户有多少？"
    assert engine.signals(engine.search(question, 5)).entity_missing == 0.0
    answer = engine.ask(question)
    assert answer.answered and any("15 million monthly active users" in q.text for q in answer.quotes)


@pytest.mark.parametrize("question", ["한국 의료 AI 시장 규모는?", "Сколько медицинских ИИ-устройств одобрило FDA?"])
def test_words_of_an_alphabet_no_report_uses_count_as_unknown(engine: Engine, question: str) -> None:
    """They were dropped by the tokenizer, so "AI" or "FDA" alone made the question look fully covered, and the
    Korean market question was answered with an unrelated Chinese adoption rate."""
    s = engine.signals(engine.search(question, 5))
    assert s.unknown > 0.5 and s.coverage < 0.5
    assert not engine.ask(question).answered


def test_cross_language_passages_get_the_offset_and_own_language_ones_do_not(engine: Engine) -> None:
    from rag.abstain import signals

    result = engine.search("美国FDA一共批准了多少个AI医疗器械？", 10)
    english = [h for h in result.pool if h.chunk.lang == "en"]
    chinese = [h for h in result.pool if h.chunk.lang == "zh"]
    assert english and chinese
    vector = result.question_vector
    assert vector is not None

    def read(hits: list[Hit], offset: float) -> Signals:
        return signals(engine.snapshot, vector, result.terms, hits, {}, (), "zh", offset)

    raw, raised = read(english, 0.0), read(english, 0.05)
    assert raised.dense == pytest.approx(raw.dense + 0.05, abs=1e-6)
    assert raised.sentence == pytest.approx(raw.sentence + 0.05, abs=1e-6)
    assert (raised.coverage, raised.unknown, raised.bm25) == (raw.coverage, raw.unknown, raw.bm25)
    assert read(chinese, 0.05) == read(chinese, 0.0)


@pytest.fixture(scope="module")
def chinese_only(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> IndexSnapshot:
    """An index of the Chinese report alone (vectors reused from the shipped corpus's index)."""
    from eval.calibrate import other_language_docs
    from rag.index import build_index

    chinese = set(other_language_docs(engine, "en"))
    settings = engine.settings.model_copy(update={"index_dir": tmp_path_factory.mktemp("chinese-only")})
    return build_index([d for d in engine.documents() if d.id in chinese], engine.embedder, settings, engine.snapshot)


def _engine_on(engine: Engine, snapshot: IndexSnapshot) -> Engine:
    return Engine(engine.settings.model_copy(update={"index_dir": snapshot.path.parent.parent}), engine.embedder,
                  snapshot)


def test_the_offset_applies_only_to_a_corpus_without_the_question_language(engine: Engine,
                                                                           chinese_only: IndexSnapshot) -> None:
    """On the bilingual corpus the model reads cosines as fitted; on the Chinese report alone an English question's
    cosines are all cross-language ones, and more of the gold questions that report answers are answered."""
    from eval.gold import load_gold

    model = engine.abstention
    assert model.cross_offsets.get("zh", 0) > 0 and model.cross_offsets.get("en", 0) > 0
    assert model.cross_offset(engine.snapshot, "zh") == model.cross_offset(engine.snapshot, "en") == 0.0
    chinese = set(chinese_only.documents)
    sub = _engine_on(engine, chinese_only)
    assert sub.abstention.cross_offset(sub.snapshot, "en") == model.cross_offsets["en"]
    asked = [r.question for r in load_gold() if r.language == "en" and r.answerable
             and all({e.doc_id, *(a.doc_id for a in e.also)} & chinese for e in r.evidence)]
    assert len(asked) >= 10
    with_offset = sum(sub.ask(q).answered for q in asked)
    sub.abstention.cross_offsets = {}
    sub._answer_cache.clear()
    without = sum(sub.ask(q).answered for q in asked)
    assert with_offset > without
    # a Chinese question there meets only Chinese passages, which no offset touches
    result = sub.search("英伟达调查的受访者中有多少人在使用AI？", 10)
    read = sub.signals(result)
    sub.abstention.cross_offsets = dict(model.cross_offsets)
    assert sub.signals(result) == read


def test_an_untranslatable_word_is_not_unknown_to_a_corpus_without_its_language(engine: Engine,
                                                                               chinese_only: IndexSnapshot) -> None:
    """"Zorblax" has no translation: the bilingual reports could hold it and do not, so it is unknown there; the
    Chinese report alone could only hold it in English, so there it counts neither way."""
    from rag.abstain import lacks_language

    sub = _engine_on(engine, chinese_only)
    assert lacks_language(sub.snapshot, "en") and not lacks_language(engine.snapshot, "en")
    named, plain = "What did Zorblax find about NVIDIA adoption?", "What did they find about NVIDIA adoption?"

    def unknown(e: Engine, question: str) -> float:
        return e.signals(e.search(question, 10)).unknown

    assert unknown(engine, named) > unknown(engine, plain)
    assert unknown(sub, named) == unknown(sub, plain) < 1.0
    # a word with a translation the corpus lacks is still unknown: 足球 is nowhere in the Chinese report
    assert unknown(sub, "What did they find about football adoption?") > unknown(sub, plain)
