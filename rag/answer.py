"""Extractive answers: the best sentences of the top passages, each followed by its `[n]` citation."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from rag.retrieval import Hit
from rag.text import split_sentences, tokenize

Lang = Literal["en", "zh"]

DISCLAIMER = {
    "en": "This information comes from published reports and is not medical advice. "
          "Ask a licensed clinician about your own health.",
    "zh": "以上信息摘自公开报告，不构成医疗建议。涉及您本人健康的问题，请咨询执业医生。",
}
NOT_COVERED = {
    "en": "The reports don't cover this question, so no answer is given.",
    "zh": "这些报告没有涉及这个问题，因此无法给出回答。",
}
MAX_SENTENCES = 3  # one per passage from the top three: enough to answer, short enough for a phone screen
MAX_SENTENCE_CHARS = 400


@dataclass
class Answer:
    """What the service returns: the text, which passages it cites (1-based ranks) and whether it answered."""

    language: Lang
    answered: bool
    text: str
    citations: list[int]
    hits: list[Hit]
    disclaimer: str
    summarizer: str = "extractive"
    fallback_reason: str | None = None
    confidence: float = 0.0
    index_version: str = ""
    timing_ms: dict[str, float] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)  # doc id → title in the `index_version` snapshot


def _sentence_score(sentence_tokens: set[str], query_tokens: set[str]) -> float:
    """Query-token overlap, longer (rarer, more specific) tokens weighing more; numbers count double."""
    score = 0.0
    for tok in query_tokens & sentence_tokens:
        weight = math.log1p(len(tok))
        if any(ch.isdigit() for ch in tok):
            weight *= 2
        score += weight
    return score


# How much a sentence's cosine with the question (centred, rag/transform.py) adds to its word overlap score.
# A shared 6-letter word scores log(7) ≈ 1.9; a close paraphrase scores a cosine of ~0.5 and so adds ~2.
DENSE_WEIGHT = 4.0


def best_sentence(text: str, query_tokens: set[str],
                  similarity: Mapping[int, float] | None = None) -> tuple[int, int, float]:
    """Span and score of the passage sentence that best matches the question (the first one on ties): shared
    words, plus the sentence vector's cosine with the question where `similarity` (sentence start → cosine)
    has one, so a paraphrase or another language's sentence can win."""
    best = (0, min(len(text), MAX_SENTENCE_CHARS), -1.0)
    for s, e in split_sentences(text):
        if e - s < 8:  # headings and table-cell fragments say nothing on their own
            continue
        score = _sentence_score(set(tokenize(text[s:e])), query_tokens)
        if similarity:
            score += DENSE_WEIGHT * max(similarity.get(s, 0.0), 0.0)
        if score > best[2]:
            best = (s, e, score)
    s, e, score = best
    return s, min(e, s + MAX_SENTENCE_CHARS), score


# A later passage's sentence joins the answer only when it matches the question at least this well relative
# to the best sentence: weaker ones were mostly off-topic and lowered citation precision on the gold set.
RELATIVE_SUPPORT = 0.6
CANDIDATE_PASSAGES = 5


def extractive_answer(query_texts: Sequence[str], hits: Sequence[Hit],
                      similarity: Mapping[int, Mapping[int, float]] | None = None) -> tuple[str, list[int]]:
    """Answer text and its citations: the best-matching sentences of the top passages, in rank order.

    Rank 1's best sentence always leads (retrieval already judged it most relevant); up to two more come
    from later passages whose best sentence matches the question nearly as well. `similarity` maps a hit's
    row to its sentences' cosines with the question (Engine.sentence_similarity), by start in the chunk.
    """
    query_tokens = {t for q in query_texts for t in tokenize(q)}
    found = []
    for rank, hit in enumerate(hits[:CANDIDATE_PASSAGES], start=1):
        s, e, score = best_sentence(hit.chunk.text, query_tokens, (similarity or {}).get(hit.row))
        found.append((rank, hit.chunk.text, s, e, score))
    if not found:
        return "", []
    best = max(f[4] for f in found)
    parts: list[str] = []
    cited: list[int] = []
    seen: set[str] = set()
    for rank, text, s, e, score in found:
        sentence = text[s:e].strip()
        if not sentence or sentence in seen or len(parts) >= MAX_SENTENCES:
            continue
        if rank > 1 and (score <= 0 or score < RELATIVE_SUPPORT * best):
            continue
        seen.add(sentence)
        suffix = "…" if e - s >= MAX_SENTENCE_CHARS else ""
        parts.append(f"{sentence}{suffix} [{rank}]")
        cited.append(rank)
    return " ".join(parts), cited
