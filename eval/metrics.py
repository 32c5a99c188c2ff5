"""Small metric functions over ranked relevance lists (1 = relevant, 0 = not), as in faiss contrib."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from rag.text import normalize


def hit_at(relevant: Sequence[bool], k: int) -> float:
    return 1.0 if any(relevant[:k]) else 0.0


def reciprocal_rank(relevant: Sequence[bool], k: int = 10) -> float:
    for i, rel in enumerate(relevant[:k]):
        if rel:
            return 1.0 / (i + 1)
    return 0.0


def ndcg_at(gains: Sequence[float], ideal_count: int, k: int = 10) -> float:
    """Binary-gain nDCG: `gains[i]` is 1 when rank i covers an evidence quote not covered higher up."""
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))
    idcg = sum(1.0 / math.log2(i + 2) for i in range(min(ideal_count, k)))
    return dcg / idcg if idcg else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else float("nan")


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Half-open spans share at least one character."""
    return a[0] < b[1] and b[0] < a[1]


def normalize_answer(s: str) -> str:
    """For matching answer strings: the service's text normalisation, without commas and spaces ("1,000" = "1000")."""
    return normalize(s).replace(",", "").replace(" ", "")


def answer_contains(text: str, answers: Sequence[str]) -> bool:
    """Whether an answer text contains any of the acceptable answer strings."""
    norm = normalize_answer(text)
    return any(normalize_answer(a) in norm for a in answers)
