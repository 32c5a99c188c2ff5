"""Split documents into passages whose offsets index exactly into the document text."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.documents import Document
from rag.text import Language, detect_language

# Coarse to fine: paragraphs, lines (table rows of the collapsed and tab tables), Chinese sentence ends,
# English sentence ends, clause marks, tabs (cells), words, then characters as the last resort.
SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", ". ", "! ", "? ", "; ", "，", ", ", "\t", " ", ""]


@dataclass(frozen=True)
class Chunk:
    """A passage: `doc_text[start:end] == text` always holds."""

    id: str
    doc_id: str
    start: int
    end: int
    text: str
    lang: Language


def chunk_id(doc_id: str, start: int, end: int) -> str:
    """Readable and stable while the document is unchanged: `<doc_id>:<start>-<end>`."""
    return f"{doc_id}:{start}-{end}"


def make_splitter(chunk_size: int, chunk_overlap: int) -> RecursiveCharacterTextSplitter:
    """The langchain splitter with separators kept at the end of each piece and whitespace left in place."""
    return RecursiveCharacterTextSplitter(
        separators=SEPARATORS,
        keep_separator="end",
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        strip_whitespace=False,
        add_start_index=False,
    )


def split_with_offsets(text: str, chunk_size: int, chunk_overlap: int) -> list[tuple[int, int]]:
    """(start, end) spans of the chunks, trimmed of surrounding whitespace.

    The splitter returns substrings without positions; each is located by searching forward from the
    previous chunk's start, which is exact because chunks come out in document order.
    """
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in make_splitter(chunk_size, chunk_overlap).split_text(text):
        pos = text.find(piece, cursor)
        if pos < 0:  # cannot happen with strip_whitespace=False; fail loudly rather than cite a wrong span
            raise AssertionError("splitter produced text that is not in the document")
        start, end = pos, pos + len(piece)
        cursor = pos + 1
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start and (not spans or (start, end) != spans[-1]):
            spans.append((start, end))
    return spans


def chunk_document(doc: Document, chunk_size: int = 500, chunk_overlap: int = 80) -> list[Chunk]:
    """Chunks of one document, each with its own detected language (reports mix English, Chinese, Japanese)."""
    chunks = []
    for start, end in split_with_offsets(doc.text, chunk_size, chunk_overlap):
        text = doc.text[start:end]
        chunks.append(Chunk(chunk_id(doc.id, start, end), doc.id, start, end, text, detect_language(text)))
    return chunks
