"""Dense-vector transform applied before FAISS: per-language mean-centering.

multilingual-e5 vectors carry a strong language component, so a Chinese question's nearest passages are
Chinese ones whatever they say. Subtracting each language's mean vector and re-normalising removes most
of it (Libovický et al., Findings of EMNLP 2020); ../shared/findings measured the parallel XQuAD paragraph
reaching the top 10 for 0.94-0.98 of questions after centering versus 0.04-0.41 before.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

FILE_NAME = "transform.npz"
# A language needs this many passages for its own mean to describe the language rather than the topic of
# a handful of passages; rarer languages (Japanese asides) share the mean of all passages.
MIN_LANG_ROWS = 20


def _renorm(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    out: npt.NDArray[np.float32] = (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)
    return out


def _group(lang: str) -> str:
    """Japanese text is mostly Han characters; it is centred with Chinese."""
    return "zh" if lang in ("zh", "ja") else lang


@dataclass
class DenseTransform:
    """`name` is recorded in the manifest; `means` maps language → mean vector ('*' is the fallback)."""

    name: str = "none"
    means: dict[str, npt.NDArray[np.float32]] = field(default_factory=dict)

    def _mean(self, lang: str) -> npt.NDArray[np.float32] | None:
        if self.name == "none":
            return None
        return self.means.get(_group(lang), self.means.get("*"))

    def apply_documents(self, vectors: npt.NDArray[np.float32], langs: Sequence[str]) -> npt.NDArray[np.float32]:
        if self.name == "none" or len(vectors) == 0:
            return vectors
        out = np.array(vectors, dtype=np.float32)  # a copy, also of a read-only memory map
        langs_arr = np.asarray(langs)
        for lang in np.unique(langs_arr).tolist():  # one subtraction per language, not per row
            mean = self._mean(lang)
            if mean is not None:
                out[langs_arr == lang] -= mean
        return _renorm(out)

    def apply_query(self, vectors: npt.NDArray[np.float32], lang: str) -> npt.NDArray[np.float32]:
        mean = self._mean(lang)
        if mean is None:
            return vectors
        return _renorm(vectors - mean)

    def save(self, directory: Path) -> list[Path]:
        path = directory / FILE_NAME
        langs = sorted(self.means)
        arrays = {f"mean_{i}": self.means[k] for i, k in enumerate(langs)}
        with path.open("wb") as f:
            np.savez(f, meta=np.array(json.dumps({"name": self.name, "langs": langs})), **arrays)  # type: ignore[arg-type]
        return [path]

    @classmethod
    def load(cls, directory: Path) -> DenseTransform:
        path = directory / FILE_NAME
        if not path.exists():
            return cls()
        with np.load(path) as data:
            meta = json.loads(str(data["meta"]))
            means = {k: data[f"mean_{i}"].astype(np.float32) for i, k in enumerate(meta["langs"])}
        return cls(meta["name"], means)


def fit_transform(vectors: npt.NDArray[np.float32], langs: Sequence[str], mode: str = "none",
                  reference: dict[str, npt.NDArray[np.float32]] | None = None) -> DenseTransform:
    """Fit per-language means from the corpus itself; a `reference` mean stands in for a language with fewer than
    MIN_LANG_ROWS passages, so a question in a language the corpus lacks is still centred by its own language's mean
    (`reference_means`), not by the corpus's."""
    if mode == "none" or len(vectors) == 0:
        return DenseTransform()
    groups = np.array([_group(lang) for lang in langs])
    means: dict[str, npt.NDArray[np.float32]] = {"*": vectors.mean(axis=0).astype(np.float32)}
    for lang in sorted(set(groups.tolist())):
        rows = vectors[groups == lang]
        if len(rows) >= MIN_LANG_ROWS:
            means[lang] = rows.mean(axis=0).astype(np.float32)
    for lang, mean in (reference or {}).items():
        means.setdefault(lang, mean.astype(np.float32))
    return DenseTransform(mode, means)


# Mean passage vectors of general-domain text in each service language, per embedder: `python -m eval.reference_means
# --write` (400 SQuAD-minus-XQuAD and 400 CMRC 2018 paragraphs). With them a Chinese question on English-only
# documents is centred by a Chinese mean, not the English corpus's: XQuAD en→zh R@5 0.978 → 0.988, zh→en 0.978 →
# 0.980, answer contains 0.823 → 0.838 / 0.792 → 0.810 (docs/experiments.md).
REFERENCE_FILE = Path(__file__).resolve().parent / "data" / "reference_means.npz"


def reference_means(embedder_name: str, path: Path = REFERENCE_FILE) -> dict[str, npt.NDArray[np.float32]]:
    """The reference means measured with `embedder_name`, or none (another embedder's would centre nothing)."""
    if not path.exists():
        return {}
    with np.load(path) as data:
        meta = json.loads(str(data["meta"]))
        if meta.get("embedder") != embedder_name:
            return {}
        return {lang: data[lang].astype(np.float32) for lang in meta["langs"]}
