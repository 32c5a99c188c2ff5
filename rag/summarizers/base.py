"""The Summarizer Protocol: turns the engine's extractive Answer into a final, checked Answer."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from rag.answer import Answer


@dataclass(frozen=True)
class Token:
    """A piece of answer text as it is generated; provisional until the `Final` event."""

    text: str


@dataclass(frozen=True)
class Final:
    """The answer to show: the summary when it passed the post-checks, else the extractive answer."""

    answer: Answer


SummaryEvent = Token | Final


@runtime_checkable
class Summarizer(Protocol):
    """Rewrites an extractive Answer from the same passages; never fails the request.

    Contract (tests/rag/test_summarizers.py runs it against every backend):
    - `answer` is what `Engine.ask` returned and is never mutated; a new Answer is built with
      `dataclasses.replace`, keeping `hits`, `language` and `answered`.
    - When `answer.answered` is false (the engine refused) the backend is not called and `answer` comes back
      unchanged.
    - A failure of any kind (timeout, HTTP error, malformed output, a summary failing the post-checks) returns
      the extractive answer with `fallback_reason` set; `summarizer` names the backend that wrote `text`.
    - `stream` yields zero or more `Token`s, then exactly one `Final`, last. Tokens are provisional: only
      `Final.answer` has been checked. Closing the generator early releases the backend's connection.
    """

    name: str

    def summarize(self, question: str, answer: Answer) -> Answer:
        """The final answer in one piece."""
        ...

    def stream(self, question: str, answer: Answer) -> Generator[SummaryEvent, None, None]:
        """The final answer as tokens, then a `Final` event."""
        ...

    def close(self) -> None:
        """Release connections (called once, at shutdown)."""
        ...


def unchanged_events(answer: Answer) -> Generator[SummaryEvent, None, None]:
    """The stream of an answer that is already final: its whole text as one token, then the answer."""
    if answer.text:
        yield Token(answer.text)
    yield Final(answer)
