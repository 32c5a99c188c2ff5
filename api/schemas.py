"""Request and response models: the JSON contract clients rely on (add fields, never rename)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from fastapi.openapi.models import Example
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from rag.answer import Answer
    from rag.engine import Engine
    from rag.sources import NamedSource
    from rag.spelling import Correction

ASK_EXAMPLES: dict[str, Example] = {
    "english": {"summary": "English question",
                "value": {"question": "How many AI-enabled medical devices has the FDA cleared?", "top_k": 5}},
    "chinese": {"summary": "中文问题", "value": {"question": "美国FDA批准了多少款人工智能医疗器械？", "top_k": 5}},
    "out_of_scope": {"summary": "Not covered by the reports", "value": {"question": "What is the weather in Paris?"}},
}


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(..., min_length=1, max_length=2000, description="The question, in English or Chinese.")
    top_k: int = Field(5, ge=1, le=50, description="How many passages to return.")
    summarize: bool = Field(False, description="Ask the configured LLM for a short cited answer.")
    stream: bool = Field(False, description="Send Server-Sent Events instead of one JSON body.")
    doc_ids: list[str] | None = Field(None, max_length=100, description="Only search these documents.")
    language: Literal["en", "zh"] | None = Field(None, description="Only return passages in this language.")


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(..., min_length=1, max_length=2000)
    top_k: int = Field(10, ge=1, le=50)
    doc_ids: list[str] | None = Field(None, max_length=100)
    language: Literal["en", "zh"] | None = None


class Passage(BaseModel):
    rank: int = Field(description="1-based; the answer's [n] markers point here.")
    chunk_id: str
    doc_id: str
    title: str
    text: str = Field(description="Exactly document.text[start:end].")
    score: float = Field(description="Ranking score, higher is better: reciprocal-rank fusion of the passage's "
                         "language lists plus the language prior's shift. Compare within one response only.")
    start: int
    end: int
    language: str
    dense_score: float | None = None
    lexical_score: float = 0.0


class Quote(BaseModel):
    rank: int = Field(description="The passage it is quoted from, as in `citations`.")
    doc_id: str
    start: int
    end: int
    text: str = Field(description="Exactly document.text[start:end]: the sentence as the answer quotes it.")


class NamedSourceOut(BaseModel):
    """A phrase of the question read as naming one of the reports (rag/sources.py)."""

    phrase: str = Field(description="The words read as naming a report, e.g. \"according to the NVIDIA survey\".")
    doc_ids: list[str] = Field(description="The report(s) whose titles the phrase matches; their passages come first.")
    searched: str = Field(description="What passages were ranked by: the question without the phrase.")

    @classmethod
    def of(cls, source: NamedSource | None) -> NamedSourceOut | None:
        if source is None:
            return None
        return cls(phrase=source.phrase, doc_ids=sorted(source.doc_ids), searched=source.content)


_NAMED_SOURCE = "Set when the question names one of the reports as its source; null otherwise."


class SpellingOut(BaseModel):
    """A misspelt word of the question and the reports' word it was searched as (rag/spelling.py)."""

    word: str = Field(description="As typed, e.g. \"radiolgists\".")
    corrected: str = Field(description="The word searched instead, e.g. \"radiologists\".")

    @classmethod
    def of(cls, corrections: list[Correction]) -> list[SpellingOut]:
        return [cls(word=c.word, corrected=c.fix) for c in corrections]


_SPELLING = "Misspelt words of the question that were searched as the closest word the reports use; empty if none."


class AskResponse(BaseModel):
    question: str
    language: Literal["en", "zh"]
    answered: bool
    answer: str
    passages: list[Passage]
    citations: list[int]
    summarizer: str
    fallback_reason: str | None = None
    confidence: float
    disclaimer: str
    index_version: str
    timing_ms: dict[str, float]
    quotes: list[Quote] = Field(default_factory=list, description="The sentences an extractive answer quotes, in "
                                "its order (one or two per cited passage), each with its exact place in its "
                                "document; empty for a refusal and for an LLM summary, whose words are its own.")
    named_source: NamedSourceOut | None = Field(None, description=_NAMED_SOURCE)
    spelling: list[SpellingOut] = Field(default_factory=list, description=_SPELLING)
    refusal: Literal["not_covered", "language"] | None = Field(
        None, description="Why `answered` is false: `not_covered` (the reports don't cover the question) or "
        "`language` (it is written in a language the service does not read, such as Korean or French; it answers "
        "English and Chinese). Null when answered.")
    unread_language: str | None = Field(
        None, description="With refusal `language`: the ISO 639-1 code of the language the question was read as "
        "(`fr`, `ko`…; `other` for a script without one). Null otherwise.")
    missing: Literal["figure", "name"] | None = Field(
        None, description="With refusal `not_covered`: `figure` when the reports discuss the question's subject but "
        "no passage gives the amount or date it asks for, `name` when none names the hospitals, countries, "
        "companies or the like it asks which of (rather than not covering the subject at all). Null otherwise.")

    @classmethod
    def from_answer(cls, question: str, answer: Answer, engine: Engine) -> AskResponse:
        return cls(question=question, language=answer.language, answered=answer.answered, answer=answer.text,
                   passages=passages_of(answer.hits, engine, answer.titles), citations=answer.citations,
                   summarizer=answer.summarizer, fallback_reason=answer.fallback_reason,
                   confidence=round(answer.confidence, 4), disclaimer=answer.disclaimer,
                   index_version=answer.index_version, timing_ms={k: round(v, 2) for k, v in answer.timing_ms.items()},
                   quotes=[Quote(rank=q.rank, doc_id=q.doc_id, start=q.start, end=q.end, text=q.text)
                           for q in answer.quotes], named_source=NamedSourceOut.of(answer.named_source),
                   spelling=SpellingOut.of(answer.corrections), refusal=answer.refusal,
                   unread_language=answer.unread_language, missing=answer.missing)


def passages_of(hits: list, engine: Engine, titles: dict[str, str] | None = None) -> list[Passage]:  # type: ignore[type-arg]
    """Passages for hits; `titles` from the hits' own snapshot (the engine's may have moved on since)."""
    docs = engine.snapshot.documents
    out = []
    for rank, h in enumerate(hits, start=1):
        doc = docs.get(h.chunk.doc_id)
        title = titles[h.chunk.doc_id] if titles and h.chunk.doc_id in titles else doc.title if doc else ""
        out.append(Passage(rank=rank, chunk_id=h.chunk.id, doc_id=h.chunk.doc_id, title=title,
                           text=h.chunk.text, score=round(h.score, 6), start=h.chunk.start, end=h.chunk.end,
                           language=h.chunk.lang,
                           dense_score=None if h.dense == float("-inf") else round(h.dense, 6),
                           lexical_score=round(h.lexical, 6)))
    return out


class SearchResponse(BaseModel):
    question: str
    language: Literal["en", "zh"]
    passages: list[Passage]
    index_version: str
    timing_ms: dict[str, float]
    named_source: NamedSourceOut | None = Field(None, description=_NAMED_SOURCE)
    spelling: list[SpellingOut] = Field(default_factory=list, description=_SPELLING)


class DocumentSummary(BaseModel):
    id: str
    title: str
    language: str
    length: int = Field(description="Characters of text.")
    sha256: str
    source: str = ""
    date: str = ""


class DocumentFull(DocumentSummary):
    text: str


class DocumentText(BaseModel):
    """JSON upload: a document given as text."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    text: str = Field(..., min_length=1)
    title: str = Field("", max_length=300)
    source: str = Field("", max_length=300)
    date: str = Field("", max_length=40)


class DocumentCreated(BaseModel):
    id: str
    title: str
    chunks: int
    index_version: str


class DocumentDeleted(BaseModel):
    id: str
    index_version: str


class ErrorBody(BaseModel):
    error: str
    detail: str | list[dict[str, object]]
