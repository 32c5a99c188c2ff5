"""Lexical store: bm25s over our own tokens (jieba words for Chinese, words for English)."""

from __future__ import annotations

import logging
from pathlib import Path

import bm25s
import numpy as np
import numpy.typing as npt

from rag.errors import IndexCorrupt

logger = logging.getLogger(__name__)

DIR_NAME = "bm25"


class BM25Store:
    """BM25 (Lucene variant, k1=1.5, b=0.75: bm25s defaults) whose row i is chunk row i of the index."""

    def __init__(self, corpus_tokens: list[list[str]]) -> None:
        self._n = len(corpus_tokens)
        self._model = bm25s.BM25()
        if self._n:
            # An empty token list would make bm25s drop the row; a placeholder keeps rows aligned.
            self._model.index([toks or ["\x00"] for toks in corpus_tokens], show_progress=False)

    def __len__(self) -> int:
        return self._n

    def scores(self, query_tokens: list[str]) -> npt.NDArray[np.float32]:
        """BM25 score of every row for one tokenised query (zeros when nothing matches)."""
        if not self._n or not query_tokens:
            return np.zeros(self._n, dtype=np.float32)
        return np.asarray(self._model.get_scores(query_tokens), dtype=np.float32)

    def document_frequencies(self) -> dict[str, int]:
        """Token → number of rows containing it (column lengths of bm25s's CSC score matrix)."""
        if not self._n:
            return {}
        indptr = np.asarray(self._model.scores["indptr"])
        counts = np.diff(indptr)
        return {t: int(counts[i]) for t, i in self._model.vocab_dict.items() if t and t != "\x00" and i < len(counts)}

    def vocabulary(self) -> frozenset[str]:
        """Every token that occurs in some row."""
        return frozenset(t for t in getattr(self._model, "vocab_dict", {}) if t and t != "\x00")

    def save(self, directory: Path, name: str = DIR_NAME) -> list[Path]:
        out = directory / name
        out.mkdir(exist_ok=True)
        if self._n:
            self._model.save(str(out), show_progress=False)
        (out / "rows.txt").write_text(str(self._n), encoding="utf-8")
        return sorted(p for p in out.iterdir() if p.is_file())

    @classmethod
    def load(cls, directory: Path, name: str = DIR_NAME) -> BM25Store:
        src = directory / name
        store = cls.__new__(cls)
        try:
            store._n = int((src / "rows.txt").read_text(encoding="utf-8"))
            store._model = bm25s.BM25.load(str(src), mmap=True, show_progress=False) if store._n else bm25s.BM25()
        except (OSError, ValueError, KeyError) as e:
            raise IndexCorrupt(f"{src}: cannot read BM25 index ({e}); rebuild with `rag index`") from e
        return store
