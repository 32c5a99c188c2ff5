"""POST /v1/ask and POST /v1/search."""

from __future__ import annotations

from fastapi import APIRouter, Body
from fastapi.concurrency import run_in_threadpool

from api.deps import EngineDep
from api.schemas import ASK_EXAMPLES, AskRequest, AskResponse, SearchRequest, SearchResponse, passages_of
from rag.retrieval import Filters

router = APIRouter(prefix="/v1", tags=["questions"])


def _filters(doc_ids: list[str] | None, language: str | None) -> Filters | None:
    if doc_ids is None and language is None:
        return None
    return Filters(frozenset(doc_ids) if doc_ids is not None else None, language)


@router.post("/ask", response_model=AskResponse, summary="Answer a question with cited passages")
async def ask(engine: EngineDep, req: AskRequest = Body(..., openapi_examples=ASK_EXAMPLES)) -> AskResponse:  # noqa: B008
    """Extractive answer whose `[n]` markers cite `passages[n-1]`; `answered` is false when not covered."""
    # CPU-bound work runs in the thread pool so the event loop keeps serving other requests.
    answer = await run_in_threadpool(engine.ask, req.question, req.top_k, _filters(req.doc_ids, req.language))
    return AskResponse.from_answer(req.question, answer, engine)


@router.post("/search", response_model=SearchResponse, summary="Ranked passages only")
async def search(engine: EngineDep, req: SearchRequest = Body(..., openapi_examples=ASK_EXAMPLES)) -> SearchResponse:  # noqa: B008
    result = await run_in_threadpool(engine.search, req.question, req.top_k, _filters(req.doc_ids, req.language))
    return SearchResponse(question=req.question, language="zh" if result.language == "zh" else "en",
                          passages=passages_of(result.hits, engine),
                          index_version=engine.snapshot.version,
                          timing_ms={k: round(v, 2) for k, v in result.timing_ms.items()})
