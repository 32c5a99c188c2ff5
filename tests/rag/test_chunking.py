from hypothesis import given, settings
from hypothesis import strategies as st

from rag.chunking import chunk_document, split_with_offsets
from rag.documents import iter_corpus, make_document
from tests.conftest import CORPUS


def test_corpus_chunks_reconstruct_exactly() -> None:
    for doc in iter_corpus(CORPUS):
        chunks = chunk_document(doc, 500, 80)
        assert chunks, doc.id
        for c in chunks:
            assert doc.text[c.start:c.end] == c.text
            assert len(c.text) <= 500
            assert c.id == f"{doc.id}:{c.start}-{c.end}"


def test_chunk_languages_follow_their_text() -> None:
    doc = next(d for d in iter_corpus(CORPUS) if d.id.startswith("000_"))
    langs = {c.lang for c in chunk_document(doc)}
    assert {"en", "zh", "ja"} <= langs  # the report has a Chinese guide and Japanese posts at its end


def test_chinese_text_splits_at_sentence_ends() -> None:
    text = "这是第一句话，内容比较长。" * 60
    spans = split_with_offsets(text, 100, 0)
    assert all(text[e - 1] == "。" for _, e in spans[:-1])


_alphabet = st.sampled_from(list("abc xyz。，！？；\n\t.,中文字AI１２"))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=_alphabet, min_size=1, max_size=3000), st.integers(100, 600), st.integers(0, 90))
def test_offsets_reconstruct_and_no_character_lost(text: str, size: int, overlap: int) -> None:
    spans = split_with_offsets(text, size, overlap)
    covered = set()
    for s, e in spans:
        assert 0 <= s < e <= len(text)
        assert not text[s].isspace() and not text[e - 1].isspace()
        covered.update(range(s, e))
    # every non-whitespace character is in some chunk
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())
    assert spans == sorted(spans)


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet=_alphabet, min_size=1, max_size=1500).filter(lambda t: t.strip()))
def test_chunk_ids_are_stable(text: str) -> None:
    doc = make_document("doc-1", text)
    assert [c.id for c in chunk_document(doc, 200, 20)] == [c.id for c in chunk_document(doc, 200, 20)]
