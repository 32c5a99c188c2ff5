"""LLM summaries through any OpenAI-compatible chat API, checked before use and falling back when they fail."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Generator

from rag.answer import Answer, Lang
from rag.config import Settings
from rag.errors import LLMError
from rag.summarizers.base import Final, SummaryEvent, Token, unchanged_events
from rag.summarizers.chat_client import ChatClient, LLMFailure
from rag.summarizers.checks import check_answer
from rag.summarizers.prompt import MAX_ANSWER_TOKENS, Prompt, build_prompt, build_translation_prompt
from rag.text import question_language

logger = logging.getLogger(__name__)

# Translation runs inside a user's request (query expansion), so it gets a short leash and no retries.
TRANSLATE_TIMEOUT_S = 5.0
TRANSLATE_MAX_TOKENS = 200
# A translation much longer than its source is an explanation or a ramble, not a translation.
TRANSLATE_MAX_GROWTH = 4


class OpenAICompatSummarizer:
    """Asks the model for a short answer from the numbered passages; shows it only if it passes the checks."""

    def __init__(self, client: ChatClient, *, max_tokens: int = MAX_ANSWER_TOKENS) -> None:
        self.client = client
        self.max_tokens = max_tokens
        self.name = f"openai-compatible:{client.model}"

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAICompatSummarizer:
        if not settings.llm_base_url:
            raise LLMError("the openai-compatible summarizer needs RAG_LLM_BASE_URL")
        if not settings.llm_model:
            # llama.cpp serves whatever it loaded under any name; other servers will answer 404 (→ fallback)
            logger.warning("RAG_LLM_MODEL is not set; sending model 'default'")
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        client = ChatClient(settings.llm_base_url, settings.llm_model or "default", key,
                            timeout_s=settings.llm_timeout_s, max_retries=settings.llm_max_retries)
        return cls(client)

    def close(self) -> None:
        self.client.close()

    # -- summaries -----------------------------------------------------------------------------------
    def summarize(self, question: str, answer: Answer) -> Answer:
        if not answer.answered or not answer.hits:
            return answer
        t0 = time.perf_counter()
        prompt = build_prompt(question, answer.language, answer.hits)
        try:
            raw = self.client.complete(prompt.messages, max_tokens=self.max_tokens)
        except LLMFailure as e:
            return self._fallback(answer, e.reason, t0)
        return self._checked(question, answer, prompt, raw, t0)

    def stream(self, question: str, answer: Answer) -> Generator[SummaryEvent, None, None]:
        if not answer.answered or not answer.hits:
            yield from unchanged_events(answer)
            return
        t0 = time.perf_counter()
        prompt = build_prompt(question, answer.language, answer.hits)
        pieces: list[str] = []
        tokens = self.client.stream(prompt.messages, max_tokens=self.max_tokens)
        try:
            for piece in tokens:
                pieces.append(piece)
                yield Token(piece)
        except LLMFailure as e:
            yield Final(self._fallback(answer, e.reason, t0))
            return
        finally:
            tokens.close()  # the consumer may stop early (client gone): release the connection now
        yield Final(self._checked(question, answer, prompt, "".join(pieces), t0))

    def _checked(self, question: str, answer: Answer, prompt: Prompt, raw: str, t0: float) -> Answer:
        checked = check_answer(raw, question=question, language=answer.language, n_passages=prompt.n_passages,
                               passages_text=prompt.passages_text)
        if checked.failure is not None:
            return self._fallback(answer, checked.failure, t0)
        ms = (time.perf_counter() - t0) * 1e3
        logger.info("summary ok model=%s passages=%d citations=%d chars=%d ms=%.0f", self.client.model,
                    prompt.n_passages, len(checked.citations), len(checked.text), ms)
        return dataclasses.replace(answer, text=checked.text, citations=checked.citations, summarizer=self.name,
                                   fallback_reason=None, timing_ms={**answer.timing_ms, "summarize": ms},
                                   quotes=[])  # the summary is the LLM's words, not quoted sentences

    def _fallback(self, answer: Answer, reason: str, t0: float) -> Answer:
        ms = (time.perf_counter() - t0) * 1e3
        logger.warning("summary fallback model=%s reason=%s ms=%.0f", self.client.model, reason, ms)
        return dataclasses.replace(answer, fallback_reason=reason, timing_ms={**answer.timing_ms, "summarize": ms})

    # -- translation (for cross-lingual query expansion) ---------------------------------------------
    def translate(self, text: str, target_language: Lang) -> str | None:
        """`text` in the target language, or None on any failure (timeout, HTTP error, wrong language).

        Example:
            >>> summarizer.translate("人工智能医疗器械", "en")  # doctest: +SKIP
            'AI medical devices'
        """
        if not text.strip():
            return None
        t0 = time.perf_counter()
        messages = build_translation_prompt(text, target_language)
        try:
            raw = self.client.complete(messages, max_tokens=TRANSLATE_MAX_TOKENS,
                                       timeout_s=min(TRANSLATE_TIMEOUT_S, self.client.timeout_s), max_retries=0)
        except LLMFailure as e:
            logger.info("translate failed reason=%s ms=%.0f", e.reason, (time.perf_counter() - t0) * 1e3)
            return None
        lines = [ln.strip().strip("\"'“”「」") for ln in raw.strip().splitlines() if ln.strip()]
        out = lines[0].strip() if lines else ""
        if not out or question_language(out) != target_language or len(out) > TRANSLATE_MAX_GROWTH * len(text) + 40:
            logger.info("translate rejected chars=%d", len(out))
            return None
        return out
