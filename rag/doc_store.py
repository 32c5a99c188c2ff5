"""Durable store of documents added or removed by users, beside the shipped corpus.

An upload is written (temporary file, fsync, rename, fsync directory) before the API answers 2xx, so an
accepted document survives a crash; a later start finds it and indexes it (`Engine.recover`). A shipped
corpus document that a user deletes is recorded as a tombstone so a rebuild does not bring it back.
Layout: `uploads_dir/<id><suffix>` (the original bytes), `<id>.meta.json`, and `removed.json`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from rag.config import Settings
from rag.documents import LOADERS, Document, iter_corpus, make_document, parse_bytes, validate_doc_id
from rag.errors import DocumentNotFound, InvalidDocument
from rag.stores.manifest import write_atomic

logger = logging.getLogger(__name__)

TOMBSTONES = "removed.json"


class DocStore:
    """Uploaded documents and deletions, on disk under `settings.uploads_dir`."""

    def __init__(self, settings: Settings) -> None:
        self.corpus_dir = settings.corpus_dir
        self.dir = settings.uploads_dir

    def _files(self, doc_id: str) -> list[Path]:
        if not self.dir.is_dir():
            return []
        return [p for p in self.dir.iterdir() if p.stem == doc_id and p.suffix.lower() in LOADERS]

    def _tombstones(self) -> set[str]:
        path = self.dir / TOMBSTONES
        if not path.exists():
            return set()
        return set(json.loads(path.read_text(encoding="utf-8")))

    def _write_tombstones(self, ids: set[str]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self.dir / TOMBSTONES, json.dumps(sorted(ids)).encode("utf-8"))

    def parse(self, doc_id: str, data: bytes, filename: str, title: str = "", source: str = "",
              date: str = "") -> Document:
        """Validate and extract a document without storing it (so bad uploads are refused before any write)."""
        validate_doc_id(doc_id)
        text = parse_bytes(data, filename)
        return make_document(doc_id, text, title=title, source=source, date=date, path=filename)

    def save(self, doc: Document, data: bytes, filename: str) -> Path:
        """Durably store the original bytes and metadata; replaces an earlier upload with the same id."""
        suffix = Path(filename).suffix.lower()
        if suffix not in LOADERS:
            raise InvalidDocument(f"unsupported file type {suffix!r}")
        self.dir.mkdir(parents=True, exist_ok=True)
        for old in self._files(doc.id):
            if old.suffix.lower() != suffix:
                old.unlink()
        path = self.dir / f"{doc.id}{suffix}"
        meta = {"title": doc.title, "source": doc.source, "date": doc.date, "filename": filename}
        write_atomic(self.dir / f"{doc.id}.meta.json", json.dumps(meta, ensure_ascii=False).encode("utf-8"))
        write_atomic(path, data)
        tombs = self._tombstones()
        if doc.id in tombs:
            self._write_tombstones(tombs - {doc.id})
        logger.info("stored upload %s (%d bytes)", doc.id, len(data))
        return path

    def remove(self, doc_id: str, known_ids: set[str]) -> None:
        """Delete an upload, or tombstone a corpus document; unknown ids are DocumentNotFound."""
        if doc_id not in known_ids:
            raise DocumentNotFound(f"no document with id {doc_id!r}")
        for f in self._files(doc_id):
            f.unlink()
        meta = self.dir / f"{doc_id}.meta.json"
        if meta.exists():
            meta.unlink()
        if self.corpus_dir.is_dir() and any(p.stem == doc_id for p in self.corpus_dir.rglob("*")):
            self._write_tombstones(self._tombstones() | {doc_id})

    def uploads(self) -> list[Document]:
        """Every stored upload as a Document (unreadable ones are logged and skipped, never deleted)."""
        docs: list[Document] = []
        if not self.dir.is_dir():
            return docs
        for path in sorted(p for p in self.dir.iterdir() if p.suffix.lower() in LOADERS and not p.name.startswith(".")):
            meta_path = self.dir / f"{path.stem}.meta.json"
            meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
            try:
                docs.append(self.parse(path.stem, path.read_bytes(), meta.get("filename", path.name),
                                       meta.get("title", ""), meta.get("source", ""), meta.get("date", "")))
            except InvalidDocument as e:
                logger.warning("stored upload %s cannot be read: %s", path.name, e)
        return docs

    def all_documents(self) -> list[Document]:
        """What the index should hold: the corpus minus tombstones, plus uploads (an upload wins an id clash)."""
        removed = self._tombstones()
        docs: dict[str, Document] = {}
        if self.corpus_dir.is_dir():
            docs = {d.id: d for d in iter_corpus(self.corpus_dir) if d.id not in removed}
        docs.update({d.id: d for d in self.uploads()})
        return sorted(docs.values(), key=lambda d: d.id)
