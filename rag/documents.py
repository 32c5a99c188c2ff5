"""Document loaders (one small function per format) and the corpus manifest that gives each report a title."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import InvalidDocument
from rag.text import Language, detect_language

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
# Ids appear in URLs and file names: letters, digits, '_', '-', '.', no leading dot, no path separators.
DOC_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


@dataclass(frozen=True)
class Document:
    """A source document. `text` is what chunk offsets index into; it is never rewritten after loading."""

    id: str
    text: str
    lang: Language
    sha256: str
    title: str
    path: str = ""
    source: str = ""
    date: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def validate_doc_id(doc_id: str) -> str:
    """Refuse ids that could escape a directory or break a URL (path traversal, control characters)."""
    if not DOC_ID_RE.match(doc_id) or ".." in doc_id:
        raise InvalidDocument(
            f"invalid document id {doc_id!r}: use 1-128 letters, digits, '_', '-' or '.', not starting with '.'"
        )
    return doc_id


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:4096]:
        raise InvalidDocument(f"{name}: looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InvalidDocument(f"{name}: not valid UTF-8 text ({e.reason} at byte {e.start})") from e


def load_text(data: bytes, name: str) -> str:
    """Plain text and Markdown are used exactly as written, so offsets match the file."""
    return _decode(data, name)


def load_html(data: bytes, name: str) -> str:
    """Visible text of an HTML page: scripts, styles and tags removed, block elements on their own lines."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode(data, name), "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        tag.decompose()
    text = soup.get_text("\n")
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def load_pdf(data: bytes, name: str) -> str:
    """Text layer of a PDF (pypdf), pages separated by blank lines. Scanned PDFs have no text and are refused."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as e:
        raise InvalidDocument(f"{name}: cannot read PDF ({e})") from e
    return "\n\n".join(p.strip() for p in pages if p.strip())


LOADERS: dict[str, Callable[[bytes, str], str]] = {
    ".txt": load_text,
    ".md": load_text,
    ".markdown": load_text,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
}


def make_document(doc_id: str, text: str, *, title: str = "", path: str = "", source: str = "", date: str = "",
                  lang: str | None = None) -> Document:
    """Build a Document, refusing empty text; the title defaults to the first non-empty line."""
    validate_doc_id(doc_id)
    if not text.strip():
        raise InvalidDocument(f"{doc_id}: the document has no text (a scanned PDF or an empty file?)")
    if not title:
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), doc_id)
        title = first[:120]
    detected = detect_language(text)
    language: Language = lang if lang in ("en", "zh", "ja", "other") else detected  # type: ignore[assignment]
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Document(id=doc_id, text=text, lang=language, sha256=digest, title=title, path=path, source=source,
                    date=date)


def parse_bytes(data: bytes, filename: str) -> str:
    """Extract text from file bytes by suffix; an unsupported suffix is an InvalidDocument."""
    suffix = Path(filename).suffix.lower()
    loader = LOADERS.get(suffix)
    if loader is None:
        raise InvalidDocument(f"{filename}: unsupported file type {suffix or '(none)'}; use {', '.join(LOADERS)}")
    return loader(data, filename)


def read_manifest(corpus_dir: Path) -> dict[str, dict[str, str]]:
    """Titles, languages, sources and dates by document id, from `corpus_dir/manifest.json` if present."""
    path = corpus_dir / MANIFEST_NAME
    if not path.exists():
        return {}
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["documents"]
        return {str(r["id"]): {k: str(v) for k, v in r.items()} for r in rows}
    except (ValueError, KeyError, TypeError) as e:
        raise InvalidDocument(f"{path}: malformed manifest ({e})") from e


def iter_corpus(corpus_dir: Path) -> Iterator[Document]:
    """Every supported file under `corpus_dir` (sorted, recursive) as a Document; the id is the file stem."""
    if not corpus_dir.is_dir():
        raise InvalidDocument(f"corpus directory {corpus_dir} does not exist")
    meta = read_manifest(corpus_dir)
    for path in sorted(p for p in corpus_dir.rglob("*") if p.is_file()):
        if path.suffix.lower() not in LOADERS or path.name.startswith("."):
            continue
        info = meta.get(path.stem, {})
        try:
            text = parse_bytes(path.read_bytes(), path.name)
            yield make_document(path.stem, text, title=info.get("title", ""), path=str(path),
                                source=info.get("source", ""), date=info.get("date", ""), lang=info.get("language"))
        except InvalidDocument as e:
            logger.warning("skipping %s: %s", path, e)
