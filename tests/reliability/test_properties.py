"""Property-based tests (hypothesis): text normalisation, tokenisation and question validation never crash and
keep their invariants on any Unicode input. Chunking's invariants are in tests/rag/test_chunking.py."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.engine import Engine, validate_question
from rag.errors import InvalidQuery
from rag.text import normalize, question_language, to_simplified, tokenize

# Every code point, surrogates included (they reach us through JSON "\ud800" escapes and broken clients).
ANY_CHAR = st.characters(codec=None, exclude_categories=())
ANY_TEXT = st.text(ANY_CHAR, max_size=300)
# Text that looks like questions: scripts the service meets, digits, punctuation, spaces, emoji and controls.
MIXED = st.text(st.sampled_from(list("FDA ai Ai 1,000 36.76% U.S. 批准医疗器械人工智能。？！，醫療 ﾃｽﾄ ＡＩ１２ "
                                     "é ß İ ﬁ ⅷ ① 🤖 🏥 \t\n\u200b\u202e\u3000\x00\x1b")), max_size=200)
# Printable ASCII, for the full-width ↔ ASCII equivalence (U+FF01..U+FF5E are U+0021..U+007E shifted).
ASCII = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=120)


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in text)


@settings(max_examples=400, deadline=None)
@given(st.one_of(ANY_TEXT, MIXED))
def test_normalize_is_idempotent_and_never_crashes(text: str) -> None:
    once = normalize(text)
    assert isinstance(once, str)
    assert normalize(once) == once


@settings(max_examples=300, deadline=None)
@given(st.one_of(ANY_TEXT, MIXED))
def test_canonically_equivalent_spellings_normalize_the_same(text: str) -> None:
    """Precomposed "é" and "e" + combining accent (NFC vs NFD input) match each other."""
    for form in ("NFC", "NFD", "NFKC", "NFKD"):
        assert normalize(unicodedata.normalize(form, text)) == normalize(text), form


@settings(max_examples=300, deadline=None)
@given(st.one_of(ANY_TEXT, MIXED))
def test_tokenize_never_crashes_and_yields_clean_tokens(text: str) -> None:
    tokens = tokenize(text)
    assert isinstance(tokens, list)
    for tok in tokens:
        assert tok and isinstance(tok, str)
        assert not any(ch.isspace() for ch in tok), repr(tok)
        assert tok == tok.strip(".,'")
    assert tokenize(text) == tokens  # deterministic (jieba's cache and the regexes hold no state)
    question_language(text)
    to_simplified(text)


@settings(max_examples=300, deadline=None)
@given(ASCII)
def test_full_width_text_tokenizes_like_ascii(text: str) -> None:
    assert tokenize(_full_width(text)) == tokenize(text)


@settings(max_examples=500, deadline=None)
@given(st.one_of(ANY_TEXT, MIXED, st.text(ANY_CHAR, min_size=1990, max_size=2100)))
def test_question_validator_accepts_or_raises_invalid_query_only(text: str) -> None:
    try:
        q = validate_question(text, 2000)
    except InvalidQuery as e:
        assert str(e)
        return
    assert q and q == q.strip() and len(q) <= 2000
    assert not any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in q)


@settings(max_examples=20, deadline=None)
@given(MIXED)
def test_any_valid_question_searches_without_error(engine: Engine, text: str) -> None:
    """End to end through expansion, embedding and both retrieval legs (the session engine, real model)."""
    try:
        result = engine.search(text, 3)
    except InvalidQuery:
        return
    assert len(result.hits) <= 3
    for hit in result.hits:
        assert engine.snapshot.documents[hit.chunk.doc_id].text[hit.chunk.start:hit.chunk.end] == hit.chunk.text
