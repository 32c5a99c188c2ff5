"""Documents: list, full text (to check citation offsets), upload and delete (API key required)."""

from __future__ import annotations

from pathlib import Path as FilePath

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from api.deps import ApiKeyDep, EngineDep
from api.schemas import DocumentCreated, DocumentDeleted, DocumentFull, DocumentSummary, DocumentText
from rag.documents import Document, validate_doc_id
from rag.errors import InvalidDocument

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


async def _read_upload(request: Request, limit: int) -> tuple[str, bytes, str, str, str, str]:
    """(id, bytes, filename, title, source, date) from a multipart file upload or a JSON body."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidDocument("multipart upload needs a `file` field")
        data = await upload.read(limit + 1)
        filename = upload.filename or "upload.txt"
        doc_id = str(form.get("id") or FilePath(filename).stem)
        return doc_id, data, filename, str(form.get("title") or ""), str(form.get("source") or ""), \
            str(form.get("date") or "")
    if ctype.startswith("application/json"):
        try:
            body = DocumentText.model_validate_json(await request.body())
        except ValidationError as e:
            # without the input: it is the document itself (possibly private, up to the upload limit)
            raise InvalidDocument(f"invalid JSON document: {e.errors(include_url=False, include_input=False)}") from e
        return body.id, body.text.encode("utf-8"), f"{body.id}.txt", body.title, body.source, body.date
    raise InvalidDocument("send multipart/form-data with a `file` (.txt .md .html .pdf) or JSON {id, text, title}")


@router.post("", response_model=DocumentCreated, status_code=201, dependencies=[ApiKeyDep],
             summary="Add or replace a document (file upload or JSON text); indexed before the response")
async def add_document(request: Request, engine: EngineDep) -> DocumentCreated:
    limit = engine.settings.max_upload_bytes
    doc_id, data, filename, title, source, date = await _read_upload(request, limit)
    if len(data) > limit:
        raise InvalidDocument(f"the document is larger than the {limit}-byte limit")
    if not data:
        raise InvalidDocument("the uploaded file is empty")
    snap = await run_in_threadpool(engine.add_document, doc_id, data, filename, title, source, date)
    doc = snap.documents[doc_id]
    return DocumentCreated(id=doc.id, title=doc.title, chunks=sum(1 for c in snap.chunks if c.doc_id == doc_id),
                           index_version=snap.version)


@router.delete("/{doc_id}", response_model=DocumentDeleted, dependencies=[ApiKeyDep], summary="Delete a document")
async def delete_document(engine: EngineDep, doc_id: str = DocId) -> DocumentDeleted:
    validate_doc_id(doc_id)
    snap = await run_in_threadpool(engine.remove_document, doc_id)
    return DocumentDeleted(id=doc_id, index_version=snap.version)
