"""A question that names its source ("…, according to the NVIDIA survey analysis?"): which report it means.

The naming phrase matches the named report's title page, table of contents and summary better than the passage
that answers: in the gold set those hub passages ranked first and the evidence as low as 10th to 30th. So the phrase is
read as a choice of document, not as words to search for: retrieval ranks passages by the rest of the question
and puts the named report's passages first (rag/retrieval.py, `search_multilingual`). A phrase is taken as naming a
report only when its words (or their translations) pick out one or two documents' titles; otherwise the question
is searched as asked, so a source the reports do not include ("according to a Lancet study") keeps its words,
and the abstention signals still see them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from rag.text import tokenize

# Words for a written source. "data"/"figures" are left out: "the data on X" is usually the topic.
_DOC_WORDS = (r"(?:survey|report|analysis|analyses|write-?up|table|comparison|study|studies|article|paper|review|"
              r"brochure|guide|document|chart)s?")
# Up to five words naming the source (names, years, possessives): no preposition, question word or auxiliary, so
# "raise in 2024 according to the comparison table" yields only "according to the comparison table" and "In 1785
# James Hutton presented what paper" none.
_NAME = (r"(?:(?!(?:in|to|of|for|on|at|according|per|and|or|by|what|which|who|whom|whose|when|where|why|how|is|"
         r"are|was|were|do|does|did|has|have|had)\b)[\w’'.&-]+\s+){0,5}?")
_EN_SOURCE = re.compile(
    r"(?:,\s*)?\b(?:according\s+to|per|in|from|based\s+on|as\s+(?:stated|reported|described)\s+in)\s+"
    r"(?:(?:the|a|an|this|that|its|their)\s+)?(?P<name>" + _NAME + r")(?P<doc>" + _DOC_WORDS + r"(?:\s+" + _DOC_WORDS
    + r")?)(?:\s+of\s+(?:the\s+)?(?P<name2>" + _NAME + r")(?P<doc2>" + _DOC_WORDS + r"))?\b(?:\s*,)?",
    re.IGNORECASE)
# The report as the sentence's subject: "How does the NVIDIA survey write-up describe …", "What did NVIDIA's survey
# find about …". Only before a verb of saying, so "the NVIDIA survey data" or "which report" stay words to search.
_EN_SUBJECT = re.compile(
    r"\b(?:(?:the|a|an|this|that)\s+)?(?P<name>" + _NAME + r")(?P<doc>" + _DOC_WORDS + r"(?:\s+" + _DOC_WORDS
    + r")?)(?=\s+(?:say|says|said|find|finds|found|show|shows|showed|describe|describes|described|report|reports|"
    r"reported|state|states|stated|mention|mentions|mentioned|list|lists|listed|conclude|concludes|concluded)\b)",
    re.IGNORECASE)
# 根据/据/按照/依据/在 <name> 报告(中/里)(显示/指出)，: the word for a source must end the phrase ("在…发表" or
# "在…表现" are not sources), and a question word cannot be part of the name ("在哪个期刊发表的文章中").
_ZH_NAME = r"(?:(?![哪谁几]|什么|多少)[^，,。？?！!、]){1,20}?"
_ZH_SOURCE = re.compile(r"(?:根据|依据|按照|据|在)(?P<name>" + _ZH_NAME + r")"
                        r"(?P<doc>(?:调查|调研|分析|研究|统计)?(?:报告|白皮书|表格|调查|调研|文章|数据表))"
                        r"(?:(?:中|里|上)(?:的)?(?:显示|指出|来看|所说|所述)?|的?(?:显示|指出|来看|所说|所述))?"
                        r"(?:[，,]|(?<=[中里上示出看说述]))")
# The rest of the question must still ask something.
_MIN_CONTENT_CHARS = 8
# A phrase names a report only if its words pick out at most this many documents' titles.
MAX_NAMED_DOCS = 2


@dataclass(frozen=True)
class NamedSource:
    """`phrase` names `doc_ids`; `content` is the question without it, which retrieval ranks passages by."""

    phrase: str
    content: str
    doc_ids: frozenset[str]


def source_phrases(question: str) -> list[re.Match[str]]:
    """Candidate source-naming phrases in a question, English and Chinese."""
    return [*_EN_SOURCE.finditer(question), *_EN_SUBJECT.finditer(question), *_ZH_SOURCE.finditer(question)]


TitleTable = Mapping[str, frozenset[str]]  # document id → the tokens of its title


def title_table(titles: Mapping[str, str]) -> dict[str, frozenset[str]]:
    """Each document's title tokens, as `named_source` matches a phrase against them."""
    return {doc_id: frozenset(tokenize(title)) for doc_id, title in titles.items()}


def named_source(question: str, titles: Callable[[], TitleTable],
                 translate: Callable[[str, str], str] | None = None) -> NamedSource | None:
    """The documents a question names by a source phrase, or None.

    `titles` gives the title table (`title_table`); it is called only for a question with a source phrase, so
    the caller can build it lazily. The phrase's name words (and their translation, `translate(text,
    language)`: 英伟达 names a report titled "NVIDIA …") and its source word ("comparison", "survey") count by
    how few titles contain them; the best-scoring documents (ties: all of them) are named if they are at most
    MAX_NAMED_DOCS and a name word is in their titles. A source word alone ("according to the article") names
    nothing.
    """
    matches = source_phrases(question)
    if not matches:
        return None
    by_doc = titles()
    if not by_doc:
        return None
    n = len(by_doc)
    for m in matches:
        lang = "zh" if m.re is _ZH_SOURCE else "en"
        name_text = " ".join(g for g in (m.group("name"), m.groupdict().get("name2")) if g)
        names = tokenize(name_text) + (tokenize(translate(name_text, lang)) if translate and name_text.strip() else [])
        words = dict.fromkeys(names + tokenize(" ".join(g for g in (m.group("doc"), m.groupdict().get("doc2")) if g)))
        scores = dict.fromkeys(by_doc, 0.0)
        for tok in words:
            holders = [d for d, toks in by_doc.items() if tok in toks]
            for d in holders:
                scores[d] += math.log(1 + n / len(holders))
        best = max(scores.values())
        named = frozenset(d for d, s in scores.items() if s == best)
        if best <= 0 or len(named) > MAX_NAMED_DOCS or not any(set(names) & by_doc[d] for d in named):
            continue
        content = _without(question, m)
        if len(content) >= _MIN_CONTENT_CHARS:
            return NamedSource(m.group(0).strip(" ,，"), content, named)
    return None


def _without(question: str, m: re.Match[str]) -> str:
    """The question with the phrase cut out and the seams tidied ("…use AI, per X?" → "…use AI?")."""
    text = question[:m.start()] + " " + question[m.end():]
    text = re.sub(r"\s+([?？,，.。!！])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()
    return text[:1].upper() + text[1:] if text[:1].islower() else text
