"""Post-checks on an LLM answer before anyone sees it; a failed check means the extractive answer is shown.

Failure reasons, in the order they are tested (each is a stable code for logs and `fallback_reason`):
`empty_answer`, `citation_out_of_range`, `llm_not_covered` (no citation, and the model said the reports
don't cover it), `no_citation`, `uncited_sentence`, `wrong_language`, `off_topic` (shares no word with the
question), `unsupported_number` (a number that is in neither the passages nor the question).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answer import Lang
from rag.text import normalize, question_language, split_sentences, tokenize

# `[1]`, `[1, 2]`, `[1][2]`, and the full-width `【1】` / `［1］` Chinese models often write.
CITATION_RE = re.compile(r"[\[【［]\s*(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\s*[\]】］]")
_CITATION_LIST_SEP = re.compile(r"\s*[,，、]\s*")
# "claim. [1]" → "claim [1]." so the citation stays with the sentence it supports when sentences are split.
_CITE_AFTER_STOP_RE = re.compile(r"([.。!?！？;；])[ \t]*((?:\[\d+\])+)")
# Reasoning models served through Ollama/vLLM without a reasoning parser put their thinking in the content.
_THINK_RE = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL)
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
# The prompt asks for NOT_SAID (rag/summarizers/prompt.py); models paraphrase it, so match the common forms.
NOT_SAID_MARKERS = (
    "do not say", "does not say", "don't say", "doesn't say", "do not mention", "does not mention",
    "don't mention", "doesn't mention", "not mentioned", "no information",
    "没有提到", "未提到", "没有提及", "未提及", "没有说明", "未说明", "没有涉及", "未涉及",
)


@dataclass(frozen=True)
class Checked:
    """The cleaned answer text, its citations in order of first use, and why it failed (None: it passed)."""

    text: str
    citations: list[int]
    failure: str | None


def _expand_citations(match: re.Match[str]) -> str:
    return "".join(f"[{int(n)}]" for n in _CITATION_LIST_SEP.split(match.group(1).strip()))


def _cite_before_stop(match: re.Match[str]) -> str:
    stop, cites = match.group(1), match.group(2)
    start = match.start()
    space = " " if start > 0 and match.string[start - 1].isascii() and match.string[start - 1].isalnum() else ""
    return f"{space}{cites}{stop}"


def clean_answer(raw: str) -> str:
    """Drop thinking, write every citation as `[n]` and put it before the sentence's full stop."""
    text = _THINK_RE.sub("", raw).strip()
    text = CITATION_RE.sub(_expand_citations, text)
    return _CITE_AFTER_STOP_RE.sub(_cite_before_stop, text)


def cited_numbers(text: str) -> list[int]:
    """`[n]` numbers in order of first appearance."""
    seen: dict[int, None] = {}
    for m in CITATION_RE.finditer(text):
        for n in _CITATION_LIST_SEP.split(m.group(1).strip()):
            seen.setdefault(int(n), None)
    return list(seen)


def says_not_covered(text: str) -> bool:
    low = normalize(text)
    return any(marker in low for marker in NOT_SAID_MARKERS)


def _number_keys(text: str) -> set[str]:
    """Numbers of two or more digits, with thousands separators dropped ("1,000" and "1000" are the same)."""
    keys = {m.group(0).replace(",", "") for m in _NUMBER_RE.finditer(normalize(text))}
    return {k for k in keys if sum(ch.isdigit() for ch in k) >= 2}


def _uncited_claim(text: str) -> bool:
    """A sentence that says something (has a word) without a citation and isn't a 'the reports don't say'."""
    for s, e in split_sentences(text):
        sentence = text[s:e]
        if CITATION_RE.search(sentence) or says_not_covered(sentence):
            continue
        if tokenize(CITATION_RE.sub("", sentence)):
            return True
    return False


def check_answer(raw: str, *, question: str, language: Lang, n_passages: int, passages_text: str) -> Checked:
    """Clean an LLM answer and run every post-check; `failure` is the first that failed, or None."""
    text = clean_answer(raw)
    body = CITATION_RE.sub("", text)
    citations = cited_numbers(text)

    def fail(reason: str) -> Checked:
        return Checked(text, citations, reason)

    if not any(ch.isalnum() for ch in body):
        return fail("empty_answer")
    if any(not 1 <= n <= n_passages for n in citations):
        return fail("citation_out_of_range")
    if not citations:
        return fail("llm_not_covered" if says_not_covered(text) else "no_citation")
    if _uncited_claim(text):
        return fail("uncited_sentence")
    if question_language(body) != language:
        return fail("wrong_language")
    if not set(tokenize(body)) & set(tokenize(question)):
        return fail("off_topic")
    if _number_keys(body) - _number_keys(passages_text) - _number_keys(question):
        return fail("unsupported_number")
    return Checked(text, citations, None)
