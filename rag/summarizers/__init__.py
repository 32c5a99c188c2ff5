"""Summarizers: name → factory. A new backend is one class (the `Summarizer` Protocol) and one line here."""

from __future__ import annotations

from collections.abc import Callable

from rag.config import Settings
from rag.errors import LLMError
from rag.summarizers.base import Final, Summarizer, SummaryEvent, Token
from rag.summarizers.extractive import ExtractiveSummarizer
from rag.summarizers.openai_compat import OpenAICompatSummarizer

__all__ = ["SUMMARIZERS", "ExtractiveSummarizer", "Final", "OpenAICompatSummarizer", "Summarizer", "SummaryEvent",
           "Token", "make_summarizer"]

SUMMARIZERS: dict[str, Callable[[Settings], Summarizer]] = {
    "extractive": ExtractiveSummarizer.from_settings,
    "openai-compatible": OpenAICompatSummarizer.from_settings,
}


def make_summarizer(settings: Settings, name: str | None = None) -> Summarizer:
    """The configured backend: `openai-compatible` when RAG_LLM_BASE_URL is set, else `extractive`.

    Building one makes no network call; a server that is down shows up as fallbacks, not a startup error.
    """
    chosen = name or ("openai-compatible" if settings.llm_base_url else "extractive")
    if chosen not in SUMMARIZERS:
        raise LLMError(f"unknown summarizer {chosen!r}; choose one of {sorted(SUMMARIZERS)}")
    return SUMMARIZERS[chosen](settings)
