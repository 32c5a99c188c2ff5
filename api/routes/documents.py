"""Document listing, full text (to check citation offsets), upload and delete."""

from __future__ import annotations

from fastapi import APIRouter, Path

from api.deps import EngineDep
from api.schemas import DocumentFull, DocumentSummary
from rag.documents import Document, validate_doc_id

router = APIRouter(prefix="/v1/documents", tags=["documents"])

DocId = Path(..., min_length=1, max_length=128, description="Document id: the file name without its extension.")


def _summary(d: Document) -> DocumentSummary:
    return DocumentSummary(id=d.id, title=d.title, language=d.lang, length=len(d.text), sha256=d.sha256,
                           source=d.source, date=d.date)


@router.get("", response_model=list[DocumentSummary], summary="List documents")
def list_documents(engine: EngineDep) -> list[DocumentSummary]:
    return [_summary(d) for d in engine.documents()]


@router.get("/{doc_id}", response_model=DocumentFull, summary="One document with its full text")
def get_document(engine: EngineDep, doc_id: str = DocId) -> DocumentFull:
    d = engine.document(validate_doc_id(doc_id))
    return DocumentFull(**_summary(d).model_dump(), text=d.text)
