"""Text normalisation, language detection and BM25 tokens, shared by documents, chunks and queries."""

from __future__ import annotations

import functools
import logging
import re
import threading
import unicodedata
from collections.abc import Iterable
from typing import Any, Literal

logger = logging.getLogger(__name__)

Language = Literal["en", "zh", "ja", "other"]

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_KANA = r"\u3040-\u30ff"
_HAN_RE = re.compile(f"[{_HAN}]")
_KANA_RE = re.compile(f"[{_KANA}]")
_LATIN_RE = re.compile(r"[A-Za-z]")
# A token is a run of Han characters (segmented further by jieba), or a run of letters/digits that may
# carry inner '.', ',' or '%' so "1,000", "36.76%" and "u.s" survive as one token.
# Words of other alphabets (Cyrillic, Greek, Hangul, Arabic…) are tokens too: dropped, a Korean question's only
# word was "AI", which every report covers, so the abstention signals read it as fully covered.
_TOKEN_RE = re.compile(f"[{_HAN}]+|[{_KANA}]+|[a-z0-9]+(?:[.,'%][a-z0-9%]+)*%?"
                       f"|(?:(?![a-z0-9{_HAN}{_KANA}])[^\\W\\d_])+")

_EN_STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being it its this that
    these those there here what which who whom whose when where why how do does did done can could should would
    will shall may might must i you he she we they me him her them my your our their not no yes than then so
    such too very just also into about over under up down out off again more most some any each all both few other
    own same only s t don doesn didn isn aren wasn weren have has had having his hers itself himself
    herself themselves ourselves yourself yourselves myself""".split()  # noqa: SIM905 - a word list reads better as text
)
_ZH_STOPWORDS = frozenset(
    """的 了 是 在 和 与 及 或 也 都 而 就 对 把 被 让 给 从 向 以 为 之 其 这 那 这些 那些
    一个 什么 怎么 怎样 吗 呢 吧 啊 哪些 哪个 多少 如何 是否 有没有
    可以 能 会 有 我 你 他 她 它 我们 你们 他们 请问 一下 个 些 吧 呀 嘛 着 过 得 地""".split()  # noqa: SIM905
)


# Dotted country abbreviations are written both ways ("U.S." and "US"); they match as one token.
_ABBREVIATIONS = {"u.s": "us", "u.s.a": "usa", "u.k": "uk", "e.u": "eu"}


# Phones type "I’m" and "China’s" with a typographic apostrophe, which NFKC keeps: read as a word boundary, it left
# "m", "re" and "ve" as words of their own ("m" translated as 午前, "a.m.").
_APOSTROPHES = str.maketrans(dict.fromkeys("\u2019\u2018\u02bc\u2032", "'"))


def normalize(text: str) -> str:
    """NFKC (full-width digits and punctuation to ASCII), one apostrophe, case-fold, Latin letters without their
    accents ("Zürich" and "Zurich" alike; the accented letter used to split the word); for matching, never display."""
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
    return text if text.isascii() else _ACCENTED_RE.sub(_unaccented, text)


_LATIN_EXT = "\u00c0-\u024f"  # Latin-1 Supplement and Latin Extended-A/B letters
_ACCENTED_RE = re.compile(f"[{_LATIN_EXT}]")
_LETTERS = {"æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i", "ŋ": "n"}


def _unaccented(m: re.Match[str]) -> str:
    ch = m.group(0)
    return _LETTERS.get(ch) or "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))


@functools.lru_cache(maxsize=1)
def _t2s() -> object:
    import opencc  # opencc-python-reimplemented: pure Python, offline

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → Simplified Chinese, so DRCD-style and Taiwanese questions match Simplified text."""
    if not _HAN_RE.search(text):
        return text
    return str(_t2s().convert(text))  # type: ignore[attr-defined]


def detect_language(text: str) -> Language:
    """Main language by script counts: kana → ja, Han vs Latin letters otherwise.

    One Han character carries about as much as a 4-5 letter English word, so Han characters are weighted
    ×3 against Latin letters; a Chinese sentence with "AI" or "NVIDIA" in it stays Chinese.
    """
    han = len(_HAN_RE.findall(text))
    kana = len(_KANA_RE.findall(text))
    latin = len(_LATIN_RE.findall(text))
    if kana >= 5 and kana * 4 >= han:
        return "ja"
    if han == 0 and latin == 0:
        return "other"
    return "zh" if han * 3 >= latin else "en"


_ANY_LATIN_RE = re.compile(f"[A-Za-z{_LATIN_EXT}]")
_OTHER_LETTER_RE = re.compile(f"(?![A-Za-z{_LATIN_EXT}{_HAN}{_KANA}])[^\\W\\d_]")


def in_unread_script(text: str) -> bool:
    """Mostly letters of a script the service does not read (Hangul, Cyrillic, Arabic…): more of them than of
    Latin letters and Han characters together (a Han character counted three times, as in `detect_language`)."""
    other = len(_OTHER_LETTER_RE.findall(text))
    latin = len(_ANY_LATIN_RE.findall(text))
    return other >= 2 and other > latin + 3 * len(_HAN_RE.findall(text)) + len(_KANA_RE.findall(text))


def question_language(text: str) -> Literal["en", "zh"]:
    """The language an answer is written in: Chinese when the question is mostly Han/kana, else English."""
    return "zh" if detect_language(text) in ("zh", "ja") else "en"


def jieba_tokenizer(extra_words: Iterable[str] = ()) -> Any:
    """A private jieba Tokenizer (jieba's global one is shared state) with optional extra dictionary words."""
    import jieba

    tok = jieba.Tokenizer()
    # A copy of one loaded dictionary: loading jieba's prefix dictionary takes ~1.1 s per Tokenizer, and the
    # query expander and the BM25 tokenizer each have one. A copy because add_word below changes it.
    freq, total = _jieba_dictionary()
    tok.FREQ, tok.total, tok.initialized = dict(freq), total, True
    for w in extra_words:
        tok.add_word(w)
    return tok


@functools.lru_cache(maxsize=1)
def _jieba_dictionary() -> tuple[dict[str, int], int]:
    """jieba's default prefix dictionary (word → frequency) and its total, loaded once per process."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.initialize()
    return tok.FREQ, tok.total


# Built on the first Chinese question. lru_cache alone lets every thread that asks before that build ends run
# its own: 32 concurrent first questions made 32 (+1.2 GB RSS, 40 s; tests/reliability/test_concurrency.py).
_POSSEG_LOCK = threading.Lock()


def pos_tagger() -> Any:
    """jieba's part-of-speech tagger over a private tokenizer, built once per process (names are tagged nr, ns,
    nt, nz: rag/abstain.py `entity_terms`, rag/translate.py `QueryExpander.chinese_names`)."""
    with _POSSEG_LOCK:
        return _build_pos_tagger()


@functools.lru_cache(maxsize=1)
def _build_pos_tagger() -> Any:
    import jieba.posseg

    return jieba.posseg.POSTokenizer(jieba_tokenizer())


@functools.lru_cache(maxsize=1)
def _jieba() -> Any:
    return jieba_tokenizer()


# Collapsed tables glue cells together ("Market SizeUSD 13.26 billionCNY", "36.76%43.1%35.2%", "visit rate by
# 46%Tencent Health", "2025WAIC"): a word boundary is restored at lower→upper case changes, after a percent sign,
# between letters and digits, and between a digit and an acronym.
_GLUED_RE = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=%)(?=[0-9A-Za-z])|(?<=[a-z]{2})(?=[0-9])|(?<=[0-9])(?=[A-Z]{2})")


def unglue(text: str) -> str:
    """Insert spaces where collapsed table cells run together; used for matching and embedding, not display."""
    return _GLUED_RE.sub(" ", text)


# Every question re-tokenises the same passage sentences, passages and dictionary senses (rag/answer.py,
# rag/abstain.py, rag/translate.py): jieba + OpenCC made up ~30 ms of a ~100 ms cold /v1/ask (eval/bench.py).
# Tokens depend only on the text, so they are cached: 4096 entries hold every sentence of the shipped corpus,
# and even filled with 500-character Chinese passages (~12 KB each, measured) they stay under 50 MB.
TOKEN_CACHE_SIZE = 4096


def tokenize(text: str) -> list[str]:
    """BM25 tokens: NFKC + casefold + Simplified script, jieba words for Han runs, words for Latin text."""
    return list(_tokens(text))


@functools.lru_cache(maxsize=TOKEN_CACHE_SIZE)
def _tokens(text: str) -> tuple[str, ...]:
    # NFKC before unglue: full-width "ＳｉｚｅＵＳＤ" must split like "SizeUSD" (unglue's patterns are ASCII)
    norm = to_simplified(normalize(unglue(unicodedata.normalize("NFKC", text))))
    jb = _jieba()
    tokens: list[str] = []
    for match in _TOKEN_RE.finditer(norm):
        tok = match.group(0)
        if _HAN_RE.match(tok):
            for word in jb.lcut(tok):
                if word not in _ZH_STOPWORDS:
                    tokens.append(word)
        else:
            tok = _without_clitic(tok)
            tok = _ABBREVIATIONS.get(tok, tok).strip(".,'")
            if tok not in _EN_STOPWORDS:
                tokens.append(tok)
    return tuple(t for t in tokens if t)


_CLITICS = ("'s", "'m", "'re", "'ve", "'ll", "'d")
_NEGATED = {"ca": "can", "wo": "will", "sha": "shall", "ai": "not"}  # can't, won't, shan't, ain't


def _without_clitic(tok: str) -> str:
    """The word a possessive or contraction is built on: "japan's" → "japan", "don't" → "do", "i'm" → "i". Kept
    whole, "i'm" and "isn't" were question terms no report contains, so a conversational question looked off-topic
    to the abstention signals."""
    if tok.endswith("n't"):
        return _NEGATED.get(tok[:-3], tok[:-3])
    for clitic in _CLITICS:
        if tok.endswith(clitic):
            return tok[: -len(clitic)]
    return tok


# A full stop ends a sentence only before whitespace and not after a lone letter ("U.S.", "e.g.") or a
# common abbreviation, so "The U.S. Food and Drug Administration" stays one sentence. Reference markers right after
# it stay with it: "…in 2019.[12] The next…" is two sentences, as in text copied from Wikipedia.
_SENTENCE_RE = re.compile(
    r"[^\n。！？；!?]+?(?:[。！？；!?]+|(?<!\b[A-Za-z])(?<!\bvs)(?<!\bDr)(?<!\bNo)(?<!\bMr)(?<!\bMs)"
    r"\.(?:\[\d{1,3}\])*(?=\s)|\.$|(?=\n)|$)"
)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) in `text`, splitting after 。！？； . ! ? and at line breaks."""
    return list(_sentence_spans(text))


# Every answer splits its top passages again; the same passages recur across questions, and the regex scan
# was the largest single cost of the answer step (~0.7 ms of ~2 ms per ask).
@functools.lru_cache(maxsize=TOKEN_CACHE_SIZE)
def _sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    spans: list[tuple[int, int]] = []
    for m in _SENTENCE_RE.finditer(text):
        s, e = m.start(), m.end()
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((s, e))
    return tuple(spans)


# A question asking for a percentage is answered by a passage that writes one ("53%", which tokenizes whole), and
# the reports seldom write the word beside it ("percentage", 百分比). The words below (as the index tokenizes them:
# 占比 is two tokens, so it is not one) carry PERCENT in their term groups, and a passage holding any percentage
# holds PERCENT (`retrieval.coverage`).
PERCENT = "%"
PERCENT_WORDS = frozenset({"percent", "percentage", "percentages", "proportion", "百分比", "百分数", "百分之",
                           "百分之几", "比例", "比重", "比率"})


def is_percentage(token: str) -> bool:
    """Whether a token is a percentage ("53%", "7.5%")."""
    return token.endswith(PERCENT) and token[:-1][-1:].isdigit()


def has_percentage(tokens: Iterable[str]) -> bool:
    """Whether a passage's tokens include a percentage."""
    return any(map(is_percentage, tokens))


# English inflection, crudely, both ways: the BM25 query of a Chinese question's translation searches plurals
# (rag/retrieval.py), the rerank matches words in their singular (rag/answer.py), and a question word the corpus
# lacks takes whichever form the corpus has (QueryExpander._token_group in rag/translate.py).
def plural(word: str) -> str | None:
    """An English noun's regular plural ("device" → "devices", "therapy" → "therapies", "tax" → "taxes"), or None
    for a word that already ends in -s, a short one, or one not in Latin letters."""
    if len(word) < 3 or not word.isascii() or not word.isalpha() or word.endswith("s"):
        return None
    if word.endswith("y") and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "es" if word.endswith(("x", "ch", "sh", "z")) else word + "s"


def singular(token: str) -> str:
    """An English plural's singular, crudely ("hospitals" → "hospital", "therapies" → "therapy"; "analysis",
    "status" and "glass" stay), so a sentence about one "hospital" shares the word with a question about "hospitals".
    The rerank of the top five reads it, and the term groups of a word the corpus lacks. Stemming the BM25 index
    unsettled the abstention signals, which read the top five passages as a set, where the rerank only reorders
    them (gold hit@1 0.735 → 0.753, MRR@10 0.815 → 0.825). The quote choice keeps exact forms: with plurals, a weak
    third quote let a near miss pass the figure check (docs/experiments.md)."""
    if len(token) < 4 or not token.isascii() or not token.endswith("s") or token.endswith(("ss", "us", "is")):
        return token
    return token[:-3] + "y" if token.endswith("ies") and len(token) > 4 else token[:-1]
