"""The patient web page at `/` and its static files: plain HTML/CSS/JS, no build step, nothing external.

Every response here carries a strict Content-Security-Policy (same-origin scripts, styles and fetches only,
no inline code, Trusted Types so the page cannot assign HTML strings) and `X-Content-Type-Options: nosniff`.
Static files are served from an allow-list of names that exist in `api/static/`, never from a joined path.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, HTTPException, Response
from fastapi.responses import FileResponse

STATIC_DIR = Path(__file__).parent.parent / "static"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
}

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
])

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    # Small files that change with releases: always revalidate (ETag / Last-Modified make that cheap).
    "Cache-Control": "no-cache",
}

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")

router = APIRouter(include_in_schema=False)


def _file(name: str) -> FileResponse:
    """`api/static/<name>` if it is a plain file of a known type there, else 404."""
    path = STATIC_DIR / name
    media_type = CONTENT_TYPES.get(path.suffix.lower())
    if not _NAME.match(name) or ".." in name or media_type is None or not path.is_file():
        raise HTTPException(status_code=404, detail=f"no static file {name!r}")
    return FileResponse(path, media_type=media_type, headers=SECURITY_HEADERS)


@router.api_route("/", methods=["GET", "HEAD"])
def index() -> FileResponse:
    """The question page."""
    return _file("index.html")


@router.api_route("/static/{name}", methods=["GET", "HEAD"])
def static(name: str) -> FileResponse:
    return _file(name)


@router.get("/favicon.ico")
def favicon() -> Response:
    """No icon; answer browsers' automatic request without a 404 in their console."""
    return Response(status_code=204, headers=SECURITY_HEADERS)
