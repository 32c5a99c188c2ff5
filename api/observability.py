"""Prometheus metrics (request counts, latency histograms) and the request-size limit, as middleware."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

# Latency buckets around this service's range: ~15 ms extractive answers up to 30 s LLM summaries.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# Headroom over the upload limit for multipart framing and form fields.
BODY_OVERHEAD = 64 * 1024


def install(app: FastAPI, max_body_bytes: int) -> None:
    """Add /metrics and the middleware that counts, times and size-limits every request."""
    registry = CollectorRegistry()  # one per app, so tests building several apps don't collide
    requests = Counter("rag_requests_total", "HTTP requests", ["method", "route", "status"], registry=registry)
    latency = Histogram("rag_request_seconds", "HTTP request latency", ["method", "route"], buckets=BUCKETS,
                        registry=registry)

    @app.middleware("http")
    async def measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > max_body_bytes + BODY_OVERHEAD):
            return JSONResponse({"error": "PayloadTooLarge",
                                 "detail": f"request body over the {max_body_bytes}-byte limit"}, status_code=413)
        if length is None and "chunked" in request.headers.get("transfer-encoding", "").lower():
            # no size to check up front, and the routes read whole bodies: the limit could be bypassed
            return JSONResponse({"error": "LengthRequired",
                                 "detail": "send the request body with a Content-Length header"}, status_code=411)
        t0 = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")  # the template, not the raw path: bounded label values
        latency.labels(request.method, path).observe(time.perf_counter() - t0)
        requests.labels(request.method, path, str(response.status_code)).inc()
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
