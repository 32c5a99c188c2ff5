"""Extractive answers: the best sentences of the top passages, each followed by its `[n]` citation."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from rag.chunking import Chunk
from rag.retrieval import Hit, language_group
from rag.sources import NamedSource
from rag.spelling import Correction
from rag.text import TOKEN_CACHE_SIZE, question_language, singular, split_sentences, tokenize

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
# A question asking for an amount or a date that the quoted sentences do not give (rag/figures.py). Not "the reports
# discuss this": the passages may only be near the subject ("Which Chinese company makes AI pathology tools?" when
# no report discusses pathology), and the message must hold either way.
NO_FIGURE = {
    "en": "The passages closest to this question don't give the figure or date asked for, so no answer is given.",
    "zh": "与这个问题最接近的段落没有给出所问的数字或日期，因此无法给出回答。",
}
NO_NAME = {
    "en": "The passages closest to this question don't name the ones asked about, so no answer is given.",
    "zh": "与这个问题最接近的段落没有列出所问的名称，因此无法给出回答。",
}
# A question written in a language the service does not read (Korean, Russian, French…): its words are unknown
# to every report, so "not covered" would be the wrong reason. Both languages: the question is in neither.
UNREAD_LANGUAGE = ("This service answers questions in English or Chinese; please ask in one of them. "
                   "本服务只回答英文或中文的问题，请用其中一种语言提问。")
MAX_SENTENCES = 3  # from up to three passages (two from the first): enough to answer, short enough for a phone
MAX_SENTENCE_CHARS = 400


@dataclass(frozen=True)
class Quote:
    """A sentence the answer quotes, as offsets into its document: `document.text[start:end]` is the quote."""

    rank: int  # the passage it comes from, 1-based as in `citations`
    doc_id: str
    start: int
    end: int
    text: str


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
    quotes: list[Quote] = field(default_factory=list)  # what an extractive answer quotes; empty for an LLM summary
    named_source: NamedSource | None = None  # the report the question names, whose passages were put first
    corrections: list[Correction] = field(default_factory=list)  # misspelt words corrected before searching
    # why `answered` is false: "not_covered" (the abstention model) or "language" (written in a language the
    # service does not read); None when answered
    refusal: Literal["not_covered", "language"] | None = None
    unread_language: str | None = None  # that language's ISO 639-1 code (rag/langid.py) with refusal "language"
    # with refusal "not_covered": "figure" when the passages are on the topic but none gives the amount or date
    # asked for, "name" when none names the hospitals, countries or companies asked about (rag/figures.py); a
    # reader should not be told that is a topic the reports never mention
    missing: Literal["figure", "name"] | None = None


def length_weight(token: str) -> float:
    """A shared word's weight without corpus statistics: longer words are usually rarer, more specific ones."""
    return math.log1p(len(token))


def _sentence_score(sentence_tokens: set[str], query_tokens: set[str],
                    weight: Callable[[str], float] = length_weight) -> float:
    """Shared words, each by `weight` (the engine passes IDF); numbers count double."""
    score = 0.0
    for tok in query_tokens & sentence_tokens:
        w = weight(tok)
        if any(ch.isdigit() for ch in tok):
            w *= 2
        score += w
    return score


# A question asking for an amount (how many, what share, 多少, 比例…) is answered by a sentence with a number in
# it; such sentences get NUMBER_BONUS, about one rare shared word. Gold answer contains 0.711 → 0.729, flat from
# 4 to 8 (docs/experiments.md).
QUANTITY_QUESTION = re.compile(
    r"\bhow (?:many|much|long|big|large|fast|often)\b|\b(?:percentage|percent|share|proportion|rate|number|size|"
    r"cost|price|worth|count)\b|多少|几|多大|多长|多快|比例|百分|比率|增长率|规模|数量|占比", re.IGNORECASE)
NUMBER_BONUS = 4.0
# A sentence ending in a question mark (or opening with "问:" / "Q:") asks rather than answers; in a report's FAQ
# ("问:…？答:…") the answer is what follows. Such a sentence is quoted together with the rest of the question and
# the answer after it, up to the first sentence that brings the answer to this many characters.
FAQ_ANSWER_CHARS = 30


# How much a sentence's cosine with the question (centred, rag/transform.py) adds to its word overlap score.
# A shared word found in one passage in ten scores an IDF of log(11) ≈ 2.4; a close paraphrase scores a cosine of
# ~0.5 and so adds ~2. Gold answer contains is flat from 2 to 8.
DENSE_WEIGHT = 4.0
# The same for a passage in another language than the question's. Its words are matched only through the
# dictionary translation, which is noisy, and its cosines run lower: after centring, rank 1's best sentence has
# 0.33 on average for XQuAD's Chinese questions on English paragraphs, 0.56 for English questions. Tried at 4 (as
# DENSE_WEIGHT) / 8 / 12 / 16 / 24: XQuAD answer contains zh→en 0.740 / 0.755 / 0.775 / 0.787 / 0.790 (400
# questions), en→zh 0.760 / 0.765 / 0.785 / 0.790 / 0.810 (200), gold 0.753 / 0.753 / 0.759 / 0.747 / 0.747, and
# mixed-pool answers 191 / 206 / 215 / 224 / 238 characters long. 12 is the best on gold (docs/experiments.md).
CROSS_DENSE_WEIGHT = 3 * DENSE_WEIGHT


_QUESTION_START = ("问:", "问：", "Q:", "Q：")


def _asks(sentence: str) -> bool:
    return sentence.endswith(("?", "？")) or sentence.startswith(_QUESTION_START)


Unit = tuple[int, int, bool, tuple[int, int] | None]  # start, end, is a table row, the row's table header
# A web page's own furniture, left in a saved article: tag lines, "Related Articles", newsletter and follow-us
# boxes, copyright lines. They are never an answer, yet a tag line names the page's topic in a few words and so
# matched a question better than the sentence that answers it ("Tags: buy medicine Related Articles Popular Articles"
# for a question on how fast medicine is delivered).
_PAGE_CHROME = re.compile(
    r"^\s*(?:tags?|标签)\s*[:：]|\b(?:related|popular|recommended|latest) (?:articles|posts|stories|news)\b"
    r"|\bsubscribe to (?:our|the) newsletter\b|\bby signing up\b|\bfollow us\b|\ball rights reserved\b|©"
    r"|相关文章|热门文章|推荐阅读|版权所有", re.IGNORECASE)


@functools.lru_cache(maxsize=TOKEN_CACHE_SIZE)  # the same top passages recur across questions, as in rag/text.py
def answer_units(text: str) -> tuple[Unit, ...]:
    """What an answer can quote: sentences of at least 8 characters (headings and cell fragments say nothing on
    their own), except that a table row (a line with tabs) is one unit whatever punctuation its cells hold, and
    carries the span of its table's header row (the block's first row, when it has no digits), whose words it is
    read with: "合规监管 … 中高" answers "how severe is compliance" under the header "挑战类别 具体表现 影响程度".
    The header row itself is not quoted."""
    sentences = [(s, e) for s, e in split_sentences(text) if e - s >= 8 and not _PAGE_CHROME.search(text[s:e])]
    units: list[Unit] = []
    header: tuple[int, int] | None = None
    in_table = False
    for m in re.finditer(r"[^\n]+", text):
        start, end = m.start(), m.end()
        line = m.group(0)
        if "\t" not in line or not line.strip():
            in_table = False
            units.extend((s, e, False, None) for s, e in sentences if start <= s < end)
            continue
        s, e = start + len(line) - len(line.lstrip()), start + len(line.rstrip())
        if not in_table:
            in_table = True
            header = None
            if not any(ch.isdigit() for ch in line):
                header = (s, e)
                continue
        units.append((s, e, True, header))
    return tuple(units)


Scored = tuple[int, int, float]  # start, end, score


def scored_units(text: str, query_tokens: set[str], similarity: Mapping[int, float] | None = None,
                 weight: Callable[[str], float] = length_weight, quantity: bool = False,
                 dense_weight: float = DENSE_WEIGHT, plurals: bool = False) -> list[Scored]:
    """Span and score of every passage sentence (or table row, `answer_units`) an answer could quote, in passage
    order: shared words, plus the sentence vector's cosine with the question where `similarity` (sentence start →
    cosine) has one, so a paraphrase or another language's sentence can win. With `quantity` (the question asks
    for an amount), a sentence with a number scores NUMBER_BONUS more. A question sentence's span runs on through
    the answer that follows it; one whose answer is not in this passage is left out. With `plurals`, an English
    word matches in its singular form on both sides (`singular`; `weight` is then asked about singulars)."""
    out: list[Scored] = []
    units = answer_units(text)
    if plurals:
        query_tokens = {singular(t) for t in query_tokens}
    for i, (s, e, row, header) in enumerate(units):
        sentence = text[s:e]
        tokens = set(tokenize(sentence))
        if header:
            tokens |= set(tokenize(text[header[0]:header[1]]))
        score = _sentence_score({singular(t) for t in tokens} if plurals else tokens, query_tokens, weight)
        if similarity:
            # A row holds one or more of the index's sentences (its cells' punctuation splits them): its best.
            cos = (max((c for at, c in similarity.items() if s <= at < e), default=0.0) if row
                   else similarity.get(s, 0.0))
            score += dense_weight * max(cos, 0.0)
        if quantity and any(ch.isdigit() for ch in sentence):
            score += NUMBER_BONUS
        if _asks(sentence):
            answer_start = next((j for j in range(i + 1, len(units)) if not _asks(text[units[j][0]:units[j][1]])),
                                len(units))
            follow = [end for _, end, _, _ in units[answer_start:] if end - s <= MAX_SENTENCE_CHARS]
            answer_from = units[answer_start][0] if answer_start < len(units) else e
            reach = next((end for end in follow if end - answer_from >= FAQ_ANSWER_CHARS), follow[-1] if follow else e)
            if reach <= e:
                continue  # the answer is in the next passage, if anywhere
            e = reach
        out.append((s, min(e, s + MAX_SENTENCE_CHARS), score))
    return out


def best_sentence(text: str, query_tokens: set[str], similarity: Mapping[int, float] | None = None,
                  weight: Callable[[str], float] = length_weight, quantity: bool = False) -> tuple[int, int, float]:
    """The best of `scored_units` (the first one on ties); the passage's opening characters, scored -1, if none."""
    return max(scored_units(text, query_tokens, similarity, weight, quantity), key=lambda u: u[2],
               default=_opening(text))


def _opening(text: str) -> Scored:
    """What a passage with no quotable unit offers: its opening characters, scored below any real unit."""
    return 0, min(len(text), MAX_SENTENCE_CHARS), -1.0


# A further sentence joins the answer only when it matches the question at least this well relative to the best
# sentence: weaker ones were mostly off-topic and lowered citation precision on the gold set.
RELATIVE_SUPPORT = 0.6
CANDIDATE_PASSAGES = 5


class Extract(NamedTuple):
    text: str  # the quoted sentences, each followed by its [n]
    citations: list[int]
    quotes: list[Quote]


class _AnswerQuery(NamedTuple):
    """The question side of sentence scoring, worked out once per question."""

    tokens: set[str]
    weights: dict[str, float]
    quantity: bool
    language: str
    plurals: bool = False  # match English words in their singular form (the rerank; see `singular`)

    @classmethod
    def of(cls, query_texts: Sequence[str], weight: Callable[[str], float], language: str | None,
           plurals: bool = False) -> _AnswerQuery:
        form = singular if plurals else str
        weights: dict[str, float] = {}
        for t in {t for q in query_texts for t in tokenize(q)}:  # weighed once per question, not once per sentence
            weights[form(t)] = max(weights.get(form(t), 0.0), weight(t))
        return cls(set(weights), weights,
                   bool(query_texts) and QUANTITY_QUESTION.search(query_texts[0]) is not None,
                   language or (question_language(query_texts[0]) if query_texts else "en"), plurals)

    def units(self, hit: Hit, similarity: Mapping[int, float] | None) -> list[Scored]:
        """`scored_units` of one passage (its opening if it has none), with the cross-language dense weight for a
        passage in the other language."""
        own = language_group(hit.chunk.lang) == language_group(self.language)
        return scored_units(hit.chunk.text, self.tokens, similarity, self.weights.__getitem__, self.quantity,
                            DENSE_WEIGHT if own else CROSS_DENSE_WEIGHT, self.plurals) or [_opening(hit.chunk.text)]


# Within the first RERANK_DEPTH passages, one whose best sentence answers the question clearly better moves up:
# each passage is ordered by its rank minus its best sentence's score (the one the answer would quote: shared
# words by IDF, the sentence vector's cosine, the amount bonus) over RERANK_POINTS_PER_RANK. Retrieval ranks whole
# passages by lists that each see one side of them; this reads the sentence that would answer. A Chinese passage
# is not scored so for an English question: its words meet the question only through the English → Chinese
# dictionary translation, which is noisy (as for the dense leg, rag/engine.py): reordering by it cost XQuAD en→zh
# R@1 0.875 → 0.828. Five keeps the set the abstention signals read unchanged (they take maxima over the top five).
# Those Chinese passages are instead ordered among their own places by the other direction of the dictionary: the
# question's words against each passage's English gloss (the index's glossed BM25, `glossed`), plus its best
# sentence's cosine at CROSS_DENSE_WEIGHT, as the answer step weighs another language's sentence. Gold: evidence
# ranks 6 up, 3 down (MRR@10 0.830 → 0.835); XQuAD en→zh R@1 0.887 → 0.892; a fresh set of 30 English questions on
# Chinese passages, hit@1 0.533 → 0.633 (docs/experiments.md).
RERANK_DEPTH = 5
RERANK_POINTS_PER_RANK = 2.0


def sentence_rerank(query_texts: Sequence[str], hits: Sequence[Hit],
                    similarity: Mapping[int, Mapping[int, float]] | None = None,
                    weight: Callable[[str], float] = length_weight, language: str | None = None,
                    depth: int = RERANK_DEPTH, glossed: Mapping[int, float] | None = None) -> list[Hit]:
    """`hits` with the movable ones among the first `depth` reordered, within the places they hold, by rank − best
    sentence score / RERANK_POINTS_PER_RANK (ties keep retrieval's order); `similarity` and `weight` as for
    `extractive_answer`. For an English question, with `glossed` (row → the question's BM25 score against the
    passage's English gloss), the Chinese passages are reordered within theirs by that score plus their best
    sentence cosine × CROSS_DENSE_WEIGHT."""
    query = _AnswerQuery.of(query_texts, weight, language, plurals=True)
    head = list(hits[:depth])
    english = language_group(query.language) == "en"
    chinese = [i for i, h in enumerate(head) if english and language_group(h.chunk.lang) == "zh"]
    places = [i for i in range(len(head)) if i not in chinese]
    best = {i: max(u[2] for u in query.units(head[i], (similarity or {}).get(head[i].row))) for i in places}
    if glossed is not None:
        for i in chinese:
            cosine = max((similarity or {}).get(head[i].row, {}).values(), default=0.0)
            best[i] = glossed.get(head[i].row, 0.0) + CROSS_DENSE_WEIGHT * max(cosine, 0.0)
    out = list(head)
    for group, key in ((places, lambda i: (i - best[i] / RERANK_POINTS_PER_RANK, i)),
                       (chinese if glossed is not None else [], lambda i: (-best[i], i))):
        for place, i in zip(group, sorted(group, key=key), strict=True):
            out[place] = head[i]
    return out + list(hits[depth:])


def extractive_answer(query_texts: Sequence[str], hits: Sequence[Hit],
                      similarity: Mapping[int, Mapping[int, float]] | None = None,
                      weight: Callable[[str], float] = length_weight, language: str | None = None) -> Extract:
    """Answer text, its citations and its quotes: the best-matching sentences of the top passages, in rank order.

    Rank 1's best sentence always leads (retrieval already judged it most relevant). Up to two more join when
    they match the question nearly as well (RELATIVE_SUPPORT): the best sentence of each later passage, then rank
    1's second-best sentence. Rank 1's two are quoted in passage order. `similarity` maps a hit's row to
    its sentences' cosines with the question (Engine.sentence_similarity), by start in the chunk; `weight`
    weighs a shared word (the engine passes its IDF: gold answer contains 0.651 → 0.705 over word length);
    `language` is the question's, as the search detected it (detected here when not given).
    """
    query = _AnswerQuery.of(query_texts, weight, language)
    found: list[tuple[int, Chunk, int, int, float]] = []
    second: tuple[int, Chunk, int, int, float] | None = None
    for rank, hit in enumerate(hits[:CANDIDATE_PASSAGES], start=1):
        scored = query.units(hit, (similarity or {}).get(hit.row))
        s, e, score = max(scored, key=lambda u: u[2])
        found.append((rank, hit.chunk, s, e, score))
        if rank == 1:
            # The passage's next-best sentence that does not overlap the best (a FAQ answer's span can run over
            # the next units): a passage often names its subject in one sentence and says what was asked in the
            # next ("X, born 1950, … . His birth name was Y."). Answer contains on the public benchmarks +0.02 to
            # +0.07 (CMRC 0.701 → 0.768), gold 0.711 → 0.723; answers a third longer on CMRC, 2% on gold
            # (docs/experiments.md).
            rest = [u for u in scored if u[1] <= s or u[0] >= e]
            if rest:
                second = (rank, hit.chunk, *max(rest, key=lambda u: u[2]))
    if second is not None:
        found.append(second)  # last: a later passage's best sentence comes first (gold table answers 0.70 → 0.78)
    best = max((f[4] for f in found), default=0.0)
    chosen: list[tuple[int, Chunk, int, int]] = []
    seen: set[str] = set()
    for i, (rank, chunk, s, e, score) in enumerate(found):
        s += len(chunk.text[s:e]) - len(chunk.text[s:e].lstrip())
        e -= len(chunk.text[s:e]) - len(chunk.text[s:e].rstrip())
        sentence = chunk.text[s:e]
        if not sentence or sentence in seen or len(chosen) >= MAX_SENTENCES:
            continue
        if i > 0 and (score <= 0 or score < RELATIVE_SUPPORT * best):
            continue
        seen.add(sentence)
        chosen.append((rank, chunk, s, e))
    chosen.sort(key=lambda c: (c[0], c[2]))
    parts: list[str] = []
    quotes: list[Quote] = []
    for rank, chunk, s, e in chosen:
        sentence = chunk.text[s:e]
        suffix = "…" if e - s >= MAX_SENTENCE_CHARS else ""
        parts.append(f"{sentence}{suffix} [{rank}]")
        quotes.append(Quote(rank, chunk.doc_id, chunk.start + s, chunk.start + e, sentence))
    return Extract(" ".join(parts), list(dict.fromkeys(c[0] for c in chosen)), quotes)
