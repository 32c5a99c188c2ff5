"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from rag.summarizers import ExtractiveSummarizer

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The index is loaded and queries can be answered")
def readyz(request: Request) -> JSONResponse:
    engine = getattr(request.app.state, "engine", None)
    if engine is None:
        reason = getattr(request.app.state, "startup_error", "loading")
        return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)
    snap = engine.snapshot
    return JSONResponse({"status": "ready", "index_version": snap.version, "documents": len(snap.documents),
                         "chunks": len(snap.chunks), "embedder": snap.manifest.embedder, "llm": _uses_llm(request)})


def _uses_llm(request: Request) -> bool:
    """An LLM summarizer is configured (whether it is up shows in each answer's `fallback_reason`)."""
    summarizer = getattr(request.app.state, "summarizer", None)
    return summarizer is not None and not isinstance(summarizer, ExtractiveSummarizer)
