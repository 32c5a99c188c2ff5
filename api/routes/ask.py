"""POST /v1/ask and POST /v1/search."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import anyio
from fastapi import APIRouter, Body, Request
from fastapi.concurrency import iterate_in_threadpool, run_in_threadpool
from fastapi.responses import StreamingResponse

from api.deps import EngineDep
from api.schemas import (
    ASK_EXAMPLES,
    AskRequest,
    AskResponse,
    NamedSourceOut,
    SearchRequest,
    SearchResponse,
    SpellingOut,
    passages_of,
)
from rag.answer import Answer
from rag.engine import Engine, SearchResult
from rag.retrieval import Filters
from rag.summarizers import ExtractiveSummarizer, Summarizer, Token

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["questions"])
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # proxies must not buffer the tokens


def _filters(doc_ids: list[str] | None, language: str | None) -> Filters | None:
    if doc_ids is None and language is None:
        return None
    return Filters(frozenset(doc_ids) if doc_ids is not None else None, language)


def _titles(result: SearchResult) -> dict[str, str] | None:
    """Titles of the hits' documents in the snapshot they were found in."""
    snap = result.snapshot
    return {h.chunk.doc_id: snap.documents[h.chunk.doc_id].title for h in result.hits} if snap else None


def _summarizer(request: Request, summarize: bool) -> Summarizer:
    configured: Summarizer | None = getattr(request.app.state, "summarizer", None)
    return configured if summarize and configured is not None else ExtractiveSummarizer()


def _sse(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def _sse_events(question: str, answer: Answer, summarizer: Summarizer, engine: Engine) -> AsyncIterator[str]:
    """`passages`, then `token`s, then `done` with the checked AskResponse; `error` if anything breaks."""
    yield _sse("passages", [p.model_dump(mode="json") for p in passages_of(answer.hits, engine, answer.titles)])
    events = summarizer.stream(question, answer)
    try:
        # The LLM stream blocks on the network: each step runs in a worker thread, never on the event loop.
        async for event in iterate_in_threadpool(events):
            if isinstance(event, Token):
                yield _sse("token", {"text": event.text})
            else:
                yield _sse("done", AskResponse.from_answer(question, event.answer, engine).model_dump(mode="json"))
    except Exception as e:  # the 200 is already sent, so an event must say it (type only: messages may hold text)
        logger.error("ask stream failed: %s", type(e).__name__)
        yield _sse("error", {"detail": "the answer could not be finished; ask again without streaming"})
    finally:
        with anyio.CancelScope(shield=True):  # also when the client went away: release the LLM connection
            await run_in_threadpool(events.close)


@router.post("/ask", response_model=AskResponse, summary="Answer a question with cited passages",
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "JSON, or with `stream: true` Server-Sent Events: `passages`, "
                                             "`token`…, then `done` (the JSON body) or `error`."}})
async def ask(request: Request, engine: EngineDep,
              req: AskRequest = Body(..., openapi_examples=ASK_EXAMPLES)) -> AskResponse | StreamingResponse:  # noqa: B008
    """Extractive answer whose `[n]` markers cite `passages[n-1]`; `answered` is false when not covered.

    `summarize: true` asks the configured LLM to rewrite it from the same passages; a summary that fails its
    checks (citations, language) or an LLM that fails is replaced by the extractive answer, with
    `fallback_reason` saying why.
    """
    # CPU-bound work runs in the thread pool so the event loop keeps serving other requests. It runs before
    # streaming starts, so invalid questions still get their 4xx.
    answer = await run_in_threadpool(engine.ask, req.question, req.top_k, _filters(req.doc_ids, req.language))
    summarizer = _summarizer(request, req.summarize)
    if req.stream:
        return StreamingResponse(_sse_events(req.question, answer, summarizer, engine),
                                 media_type="text/event-stream", headers=SSE_HEADERS)
    if not isinstance(summarizer, ExtractiveSummarizer):  # it returns the answer unchanged: no second thread hop
        answer = await run_in_threadpool(summarizer.summarize, req.question, answer)
    return AskResponse.from_answer(req.question, answer, engine)


@router.post("/search", response_model=SearchResponse, summary="Ranked passages only")
async def search(engine: EngineDep, req: SearchRequest = Body(..., openapi_examples=ASK_EXAMPLES)) -> SearchResponse:  # noqa: B008
    result = await run_in_threadpool(engine.search, req.question, req.top_k, _filters(req.doc_ids, req.language))
    return SearchResponse(question=req.question, language="zh" if result.language == "zh" else "en",
                          passages=passages_of(result.hits, engine, _titles(result)),
                          index_version=(result.snapshot or engine.snapshot).version,
                          timing_ms={k: round(v, 2) for k, v in result.timing_ms.items()},
                          named_source=NamedSourceOut.of(result.source),
                          spelling=SpellingOut.of(result.corrections))
