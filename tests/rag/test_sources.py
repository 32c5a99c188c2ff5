"""A phrase naming one of the reports chooses that report; the rest of the question ranks its passages."""

from __future__ import annotations

import pytest

from rag.config import Settings
from rag.embedders import Embedder
from rag.engine import Engine
from rag.sources import named_source, source_phrases, title_table
from rag.translate import QueryExpander

TITLES = {
    "nv": "医疗AI 2026 规模化落地拐点已至：NVIDIA《State of AI in Healthcare and Life Sciences 2026》深度解读",
    "cmp": "2026 China-US AI Healthcare Trends Comparison: Who's Leading the Global Medical Revolution?",
    "img": "China AI in Medical Imaging Market: Drivers, Restraints, Opportunities, Challenges and Trends",
    "waic": '2025 WAIC "AI + Healthcare Industry Map": Ten Insights into China\'s Approach to Medical AI',
    "trip": "As Services Expand, More Foreigners Seek Treatment in China",
}
TABLE = title_table(TITLES)


def tables() -> dict[str, frozenset[str]]:
    return TABLE


@pytest.fixture(scope="module")
def translate() -> object:
    expander = QueryExpander()
    return lambda text, lang: expander.to_chinese(text) if lang == "en" else expander.to_english(text)


@pytest.mark.parametrize(("question", "doc", "content"), [
    ("What is the single most common way hospitals use AI, per NVIDIA's survey?", "nv",
     "What is the single most common way hospitals use AI?"),
    ("According to the analysis of NVIDIA's survey, which skills are scarce?", "nv", "Which skills are scarce?"),
    # "in 2024" stays: a preposition cannot be part of a report's name
    ("How much did the US raise in 2024 according to the US-China comparison table?", "cmp",
     "How much did the US raise in 2024?"),
    ("In the medical imaging market report, what holds growth back?", "img", "What holds growth back?"),
    # the report as the subject of a verb of saying
    ("What did NVIDIA's survey find about open-source models?", "nv", "What did find about open-source models?"),
    ("How does the US-China comparison describe regulation?", "cmp", "How does describe regulation?"),
])
def test_an_english_phrase_names_the_report_whose_title_it_matches(question: str, doc: str, content: str) -> None:
    source = named_source(question, tables)
    assert source is not None
    assert source.doc_ids == {doc}
    assert source.content == content
    assert source.phrase.lower() in question.lower()


def test_a_chinese_phrase_names_a_report_through_its_translation(translate: object) -> None:
    question = "根据英伟达的调查报告，医疗机构最常用AI做什么？"
    assert named_source(question, tables) is None  # 英伟达 is not in any title; only its translation NVIDIA is
    source = named_source(question, tables, translate)  # type: ignore[arg-type]
    assert source is not None
    assert source.doc_ids == {"nv"}
    assert source.content == "医疗机构最常用AI做什么？"


@pytest.mark.parametrize("question", [
    "According to the report, how big is the market?",  # a source word alone names nothing
    "According to a Lancet study, how accurate is AI at reading scans?",  # a source no title matches
    "In the healthcare AI report, what is the growth rate?",  # "healthcare" is in three titles: not a name
    "How many AI medical devices has the FDA cleared?",  # no source phrase at all
    "What does the report say about FDA approvals?",  # the subject form, with a source word alone
])
def test_a_phrase_that_picks_out_no_single_report_leaves_the_question_as_asked(question: str) -> None:
    assert named_source(question, tables) is None


@pytest.mark.parametrize("question", [
    "In 1785 James Hutton presented what paper to the Royal Society of Edinburgh?",
    "詹姆斯·赫顿在哪一年发表了有关他理论的两卷版本？",
    "「Aeronomy」这个词是在哪个期刊发表的文章中首次提及？",
    "他在处理什么问题中的表现备受评论赞赏？",
    "What NVIDIA survey data shows adoption?",  # a source word not followed by a verb of saying
    "Who wrote the paper describing the method?",
])
def test_questions_about_papers_or_with_source_like_words_are_not_source_phrases(question: str) -> None:
    assert source_phrases(question) == []


def test_the_title_table_is_built_only_for_a_question_with_a_source_phrase() -> None:
    def no_table() -> dict[str, frozenset[str]]:
        raise AssertionError("title table built for a question that names no source")

    assert named_source("How many AI medical devices has the FDA cleared?", no_table) is None


def test_a_name_two_titles_share_names_both() -> None:
    source = named_source("In the 2026 report, what is the growth rate?", tables)
    assert source is not None
    assert source.doc_ids == {"nv", "cmp"}


def test_a_phrase_that_leaves_too_little_to_search_is_not_cut() -> None:
    assert named_source("According to NVIDIA's survey, why?", tables) is None


# -- through the engine, on the shipped corpus ---------------------------------------------------------------
NVIDIA_REPORT = "004_481865b282495e49"


def test_the_engine_puts_the_named_reports_passages_first(engine: Engine, settings: Settings,
                                                           embedder: Embedder) -> None:
    question = "根据英伟达的调查报告，医疗机构最常用AI做什么？"
    result = engine.search(question, 10)
    assert result.source is not None and result.source.doc_ids == {NVIDIA_REPORT}
    assert result.queries[0] == "医疗机构最常用AI做什么？"  # ranked by the rest of the question
    assert [h.chunk.doc_id for h in result.hits] == [NVIDIA_REPORT] * 10
    as_asked = Engine(settings.model_copy(update={"source_phrases": False}), embedder, engine.snapshot)
    plain = as_asked.search(question, 10)
    assert plain.source is None and plain.queries[0] == question
    assert {h.chunk.doc_id for h in plain.hits} != {NVIDIA_REPORT}  # as asked, another report's passages come in


def test_whether_to_answer_is_judged_on_the_question_as_asked(engine: Engine) -> None:
    question = "What share of organizations use AI, per NVIDIA's survey?"
    named = engine.search(question, 5)
    as_asked = engine.search(question, 5, read_source=False)
    assert named.source is not None and as_asked.source is None
    assert engine.signals(named) == engine.signals(as_asked)
    answer = engine.ask(question)
    assert answer.named_source == named.source
    assert [h.chunk.id for h in answer.hits] == [h.chunk.id for h in named.hits]
