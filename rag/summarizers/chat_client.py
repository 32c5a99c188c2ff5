"""A small client for OpenAI-compatible `POST /v1/chat/completions`: timeouts, bounded retries, streaming.

Works against OpenAI, DeepSeek, Qwen (DashScope compatible mode), vLLM, Ollama and llama.cpp's servers.
Every failure becomes an `LLMFailure` whose `reason` is a short code (`timeout`, `connection_error`,
`http_<status>`, `malformed_response`, `broken_stream`); callers fall back on it. Nothing here logs prompt or
answer text, or the key.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from rag.errors import LLMError

logger = logging.getLogger(__name__)

# Rate limits and server-side trouble are worth another try; other 4xx mean the request itself is wrong.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# 0.5 s, 1 s, 2 s, …: long enough for a restarting local server to come back, short next to the timeout.
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 8.0
MAX_BODY_BYTES = 1 << 20  # a chat completion of a few hundred tokens is a few KB; more is not an answer


class LLMFailure(LLMError):
    """One failed call; `reason` is the code reported as `fallback_reason`."""

    def __init__(self, reason: str, *, retryable: bool = False, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


def chat_completions_url(base_url: str) -> str:
    """`http://host:11434`, `http://host:11434/v1` and `…/v1/` all mean `…/v1/chat/completions`."""
    base = base_url.strip().rstrip("/")
    base = base.removesuffix("/chat/completions").removesuffix("/v1")
    return f"{base}/v1/chat/completions"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date, or absent: use our own backoff


@contextmanager
def _transport_errors() -> Iterator[None]:
    """httpx's exceptions as LLMFailure: timeouts are final, dropped or refused connections retryable."""
    try:
        yield
    except httpx.TimeoutException as e:
        raise LLMFailure("timeout") from e
    except httpx.TransportError as e:  # refused, reset, closed mid-body
        raise LLMFailure("connection_error", retryable=True) from e


def _check_deadline(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise LLMFailure("timeout")


def _status_failure(response: httpx.Response) -> LLMFailure:
    status = response.status_code
    return LLMFailure(f"http_{status}", retryable=status in RETRY_STATUSES, retry_after=_retry_after(response))


def _content_of(body: bytes) -> str:
    """`choices[0].message.content` of a non-streamed completion."""
    try:
        data = json.loads(body)
        content = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as e:
        raise LLMFailure("malformed_response") from e
    if content is None:
        return ""
    if not isinstance(content, str):
        raise LLMFailure("malformed_response")
    return content


def _delta_of(payload: str) -> str:
    """`choices[0].delta.content` of one streamed chunk ('' for role-only and final chunks)."""
    try:
        data = json.loads(payload)
        if "error" in data:
            raise LLMFailure("llm_error")
        choices = data["choices"]
        content = choices[0].get("delta", {}).get("content") if choices else None
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
        raise LLMFailure("malformed_response") from e
    if content is not None and not isinstance(content, str):
        raise LLMFailure("malformed_response")
    return content or ""


class ChatClient:
    """Chat completions with a per-attempt deadline, retries with exponential backoff, and SSE streaming.

    Args:
        base_url: the server, with or without `/v1`.
        model: sent as `model`; llama.cpp ignores it, Ollama/vLLM/hosted APIs need the exact name.
        api_key: sent as `Authorization: Bearer`; None for local servers.
        timeout_s: bounds connecting, each read, and each attempt from start to last byte.
        max_retries: further attempts after a 429/5xx or a dropped connection (timeouts are not retried).
    """

    def __init__(self, base_url: str, model: str, api_key: str | None = None, *, timeout_s: float = 20.0,
                 max_retries: int = 2, backoff_s: float = BACKOFF_BASE_S) -> None:
        self.url = chat_completions_url(base_url)
        self.model = model
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(timeout=httpx.Timeout(timeout_s), headers=headers)

    def close(self) -> None:
        self._http.close()

    def _payload(self, messages: list[dict[str, str]], max_tokens: int, stream: bool) -> dict[str, Any]:
        # temperature 0: the same passages give the same answer, and small models wander less
        return {"model": self.model, "messages": messages, "max_tokens": max_tokens, "temperature": 0,
                "stream": stream}

    def _sleep_before_retry(self, attempt: int, failure: LLMFailure) -> None:
        delay = min(self.backoff_s * 2**attempt, BACKOFF_CAP_S)
        if failure.retry_after is not None:
            delay = min(failure.retry_after, BACKOFF_CAP_S)
        logger.info("llm retry %d/%d after %s in %.2fs", attempt + 1, self.max_retries, failure.reason, delay)
        time.sleep(delay)

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int, timeout_s: float | None = None,
                 max_retries: int | None = None) -> str:
        """The completion's text; raises LLMFailure once retries are used up."""
        retries = self.max_retries if max_retries is None else max_retries
        payload = self._payload(messages, max_tokens, stream=False)
        attempt = 0
        while True:
            try:
                return self._complete_once(payload, timeout_s or self.timeout_s)
            except LLMFailure as e:
                if not e.retryable or attempt >= retries:
                    raise
                self._sleep_before_retry(attempt, e)
                attempt += 1

    def _complete_once(self, payload: dict[str, Any], timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        with _transport_errors(), self._http.stream("POST", self.url, json=payload,
                                                     timeout=httpx.Timeout(timeout_s)) as response:
            if response.status_code != 200:
                raise _status_failure(response)
            body = bytearray()
            for chunk in response.iter_bytes():
                _check_deadline(deadline)
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise LLMFailure("malformed_response")
        return _content_of(bytes(body))

    def stream(self, messages: list[dict[str, str]], *, max_tokens: int) -> Generator[str, None, None]:
        """Text pieces as the server sends them. Retries only before the first piece; a stream that breaks
        after it raises LLMFailure('broken_stream')."""
        payload = self._payload(messages, max_tokens, stream=True)
        attempt = 0
        while True:
            started = False
            try:
                for piece in self._stream_once(payload):
                    started = True
                    yield piece
                return
            except LLMFailure as e:
                if started and e.reason == "connection_error":
                    raise LLMFailure("broken_stream") from e
                if started or not e.retryable or attempt >= self.max_retries:
                    raise
                self._sleep_before_retry(attempt, e)
                attempt += 1

    def _stream_once(self, payload: dict[str, Any]) -> Generator[str, None, None]:
        deadline = time.monotonic() + self.timeout_s
        with _transport_errors(), self._http.stream("POST", self.url, json=payload) as response:
            if response.status_code != 200:
                raise _status_failure(response)
            for line in response.iter_lines():
                _check_deadline(deadline)
                if not line.startswith("data:"):
                    continue  # blank separators, `event:` and `:` keep-alive comments
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                piece = _delta_of(data)
                if piece:
                    yield piece
        raise LLMFailure("broken_stream")  # the connection ended without `data: [DONE]`
