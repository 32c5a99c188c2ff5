"""Decide whether the retrieved passages cover the question."""

from __future__ import annotations

from collections.abc import Sequence

from rag.retrieval import Hit


class AbstentionModel:
    """Confidence that the top passages answer the question; below `threshold` the service refuses."""

    threshold = 0.5

    def confidence(self, queries: Sequence[str], hits: Sequence[Hit]) -> float:
        if not hits:
            return 0.0
        return 1.0
