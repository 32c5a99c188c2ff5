"""The default summarizer: the engine's extractive answer, unchanged (no LLM, no network)."""

from __future__ import annotations

from collections.abc import Generator

from rag.answer import Answer
from rag.config import Settings
from rag.summarizers.base import SummaryEvent, unchanged_events


class ExtractiveSummarizer:
    """Returns the extractive answer as it is: quoted sentences, each followed by its `[n]`."""

    name = "extractive"

    @classmethod
    def from_settings(cls, settings: Settings) -> ExtractiveSummarizer:
        return cls()

    def summarize(self, question: str, answer: Answer) -> Answer:
        return answer

    def stream(self, question: str, answer: Answer) -> Generator[SummaryEvent, None, None]:
        yield from unchanged_events(answer)

    def close(self) -> None:
        return None
