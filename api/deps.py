"""Dependency aliases for routes."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request

from rag.engine import Engine
from rag.errors import IndexMissing, Unauthorized


def get_engine(request: Request) -> Engine:
    engine: Engine | None = getattr(request.app.state, "engine", None)
    if engine is None:
        raise IndexMissing(getattr(request.app.state, "startup_error", "the index is not loaded yet"))
    return engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def require_api_key(request: Request, x_api_key: Annotated[str | None, Header()] = None,
                    authorization: Annotated[str | None, Header()] = None) -> None:
    """Write endpoints need RAG_API_KEY, sent as `X-API-Key` or `Authorization: Bearer`; compared in constant time."""
    expected = request.app.state.settings.api_key
    if expected is None:
        raise Unauthorized("document changes are disabled: the server has no RAG_API_KEY configured")
    given = x_api_key or (authorization[7:] if authorization and authorization.lower().startswith("bearer ") else "")
    if not hmac.compare_digest(given.encode("utf-8"), expected.get_secret_value().encode("utf-8")):
        raise Unauthorized("missing or wrong API key (send X-API-Key)")


ApiKeyDep = Depends(require_api_key)
