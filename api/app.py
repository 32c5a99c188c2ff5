"""create_app: builds the FastAPI app, loads the engine in the lifespan, maps library errors to HTTP."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import observability
from api.routes import ask, documents, health, web
from rag.config import Settings
from rag.embedders import Embedder
from rag.engine import Engine
from rag.errors import (
    DocumentNotFound,
    EmbedderMismatch,
    IndexCorrupt,
    IndexMissing,
    InvalidDocument,
    InvalidQuery,
    LLMError,
    ModelUnavailable,
    RagError,
    Unauthorized,
)
from rag.summarizers import make_summarizer

logger = logging.getLogger(__name__)

STATUS: dict[type[RagError], int] = {
    InvalidQuery: 422,
    InvalidDocument: 422,
    DocumentNotFound: 404,
    Unauthorized: 401,
    IndexMissing: 503,
    IndexCorrupt: 503,
    EmbedderMismatch: 503,
    ModelUnavailable: 503,
    LLMError: 502,
}


def _status_of(exc: RagError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def create_app(settings: Settings | None = None, engine: Engine | None = None,
               embedder: Embedder | None = None) -> FastAPI:
    """The app; pass `engine` to serve an already-loaded one (tests), else it loads from `settings`."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.engine = engine
        if engine is None:
            try:
                loaded = Engine.from_settings(settings, embedder)
                await run_in_threadpool(loaded.recover)  # uploads accepted before a crash get indexed now
                app.state.engine = loaded
            except RagError as e:  # serve /healthz and a 503 that says how to fix it, rather than crash
                logger.error("engine not loaded: %s", e)
                app.state.startup_error = str(e)
        app.state.summarizer = make_summarizer(settings)  # no network call: a down LLM shows up as fallbacks
        translator = app.state.summarizer if hasattr(app.state.summarizer, "translate") else None
        if settings.llm_translate_queries and app.state.engine is not None and translator is not None:
            app.state.engine.expander.translator = translator
        yield
        app.state.summarizer.close()

    app = FastAPI(title="Bilingual healthcare-AI reports QA", version="0.1.0", lifespan=lifespan,
                  description="Ask in English or Chinese; answers cite passages by character offsets.")
    app.state.settings = settings

    @app.exception_handler(RagError)
    async def rag_error(_: Request, exc: RagError) -> JSONResponse:
        return JSONResponse({"error": type(exc).__name__, "detail": str(exc)}, status_code=_status_of(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                  for e in exc.errors()]
        return JSONResponse({"error": "InvalidRequest", "detail": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": "HTTPError", "detail": str(exc.detail)}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    app.include_router(health.router)
    app.include_router(ask.router)
    app.include_router(documents.router)
    app.include_router(web.router)
    observability.install(app, settings.max_upload_bytes)
    if settings.cors_origins:  # closed by default: the web page is same-origin and needs no CORS
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["content-type"])
    return app
