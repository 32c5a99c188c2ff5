"""Calibrated abstention: should the service answer from these passages, or say the reports don't cover it?

A raw cosine threshold does not separate the two (out-of-scope questions score 0.79-0.89, answerable ones
0.83-0.91 on multilingual-e5-small), so `answered` comes from a logistic model over a few signals:
- dense: the best cosine between the question and a passage after per-language centring;
- coverage: IDF-weighted share of the question's terms (or their translations) found in the best passage;
- unknown: IDF-weighted share of the question's terms that occur nowhere in the corpus, in either language
  (a question about "PMDA" or "metformin" when no report mentions them);
- bm25: the best BM25 score, squashed to 0-1;
- sentence: the best raw cosine between the question and one sentence of the top passages (the index's
  sentence vectors): a passage can be on the topic while no sentence in it says what was asked.
A cosine across languages runs about 0.1 below the same passage's in the question's own language. The gold corpus
has passages in both, so the fit never needed to know; in a corpus with (almost) none in the question's language,
every cosine is a cross-language one, and the model refused most answerable questions there. In such a corpus the
cosines get the per-language offset `eval.calibrate` measures (`AbstentionModel.cross_offset`), and a question
word the dictionary cannot translate counts as neither known nor unknown.
Weights are fitted on the gold set by `python -m eval.calibrate` and stored in rag/data/abstention.json with
the cross-validated precision and recall of refusals that they gave.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from rag.index import IndexSnapshot
from rag.retrieval import Hit, Term, coverage, language_group
from rag.text import pos_tagger, tokenize
from rag.transform import MIN_LANG_ROWS

MODEL_FILE = Path(__file__).resolve().parent / "data" / "abstention.json"
FEATURES = ("dense", "coverage", "unknown", "entity_missing", "bm25", "sentence")


@dataclass
class Signals:
    dense: float
    coverage: float
    unknown: float
    entity_missing: float  # share of the question's names (places, organisations, acronyms) absent from the top hits
    bm25: float
    sentence: float

    def vector(self) -> list[float]:
        return [getattr(self, f) for f in FEATURES]


def idf(snapshot: IndexSnapshot, token: str, df: dict[str, int]) -> float:
    n = len(snapshot.chunks)
    return math.log(1 + n / (1 + df.get(token, 0)))


_NAME_FLAGS = {"ns", "nr", "nt", "nz", "nrt", "nrfg", "eng"}
_EN_NAME_RE = re.compile(r"(?<![.?!]\s)(?<!^)\b[A-Z][A-Za-z0-9&-]*[A-Za-z0-9]|\b[A-Z]{2,}\b")
# A word in more than this share of passages (e.g. "health", "china" here) does not tell one topic from another.
GENERIC_SHARE = 0.2
# The passages the signals read. Five rather than three since retrieval's language prior (rag/retrieval.py) can
# fill the first three with one language: refitted on three, leave-one-out refusals of out-of-scope questions
# fell 0.70 → 0.60; on five, 0.67 (docs/experiments.md).
SIGNAL_PASSAGES = 5
UNINFORMATIVE_NAMES = frozenset({"ai", "i"})  # the whole corpus is about AI: its name tells nothing about coverage


def entity_terms(question: str) -> list[str]:
    """Names in a question: capitalised words and acronyms in English, jieba's name/place/org tags in Chinese."""
    terms = [m.group(0) for m in _EN_NAME_RE.finditer(question)]
    if re.search(r"[\u3400-\u9fff]", question):
        terms += [w.word for w in pos_tagger().cut(question) if w.flag in _NAME_FLAGS]
    out = []
    for t in terms:
        toks = tokenize(t)
        if toks and not set(toks) <= UNINFORMATIVE_NAMES:
            out.append(t)
    return list(dict.fromkeys(out))


def question_terms(snapshot: IndexSnapshot, term_groups: Sequence[set[str]],
                   doc_freq: dict[str, int]) -> tuple[Term, ...]:
    """Each question term's group (the term and its translations) with the IDF of its rarest member."""
    return tuple((frozenset(g), max((idf(snapshot, t, doc_freq) for t in g), default=0.0)) for g in term_groups)


def lacks_language(snapshot: IndexSnapshot, language: str) -> bool:
    """Whether the index has fewer than MIN_LANG_ROWS passages in the question's language: too few for a mean of
    their own (rag/transform.py), or for the bilingual scale the model was fitted on."""
    return snapshot.language_rows.get(language_group(language), 0) < MIN_LANG_ROWS


def signals(snapshot: IndexSnapshot, question_vector: npt.NDArray[np.float32],
            terms: Sequence[Term], hits: Sequence[Hit], doc_freq: dict[str, int],
            entity_groups: Sequence[set[str]] = (), language: str = "", cross_offset: float = 0.0) -> Signals:
    """Signals for one question. `terms` has one (group, IDF) per question term (`question_terms`); the cosines of
    passages outside the question's `language` group get `cross_offset` (`AbstentionModel.cross_offset`)."""
    if not hits:
        return Signals(0.0, 0.0, 1.0, 1.0, 0.0, 0.0)
    top = hits[:SIGNAL_PASSAGES]
    top_tokens = [set(tokenize(h.chunk.text)) for h in top]
    if language and lacks_language(snapshot, language):
        # A word the dictionary cannot translate can only be found in its own language, which this corpus lacks:
        # it counts in neither the unknown share, the coverage nor the names ("Broncos" against Chinese
        # paragraphs; a Latin name the corpus writes as it is, "NVIDIA", is still found). Counted as unknown, it
        # refused cross-language questions: XQuAD en→zh answered 0.530 → 0.585 without it, at the same off-topic
        # rate (docs/experiments.md).
        terms = tuple((g, w) for g, w in terms if len(g) > 1 or any(t in doc_freq for t in g)) or tuple(terms)
        entity_groups = [g for g in entity_groups if len(g) > 1]
    offset = {h.row: cross_offset if cross_offset and language_group(h.chunk.lang) != language_group(language)
              else 0.0 for h in top}
    # Raw (uncentred) cosine of the question and its best top passage: centring would need a mean for a language
    # the corpus may lack, and the fit reads the languages on the raw scale of the gold corpus.
    dense = max(float(snapshot.vectors[h.row] @ question_vector) + offset[h.row] for h in top)
    total = sum(w for _, w in terms) or 1.0
    unknown = sum(w for g, w in terms if not any(t in doc_freq for t in g)) / total
    best_cov = max(coverage(terms, toks) for toks in top_tokens)
    bm25 = max(h.lexical for h in hits)
    seen = set().union(*top_tokens)
    missing = sum(1 for g in entity_groups if not g & seen) / len(entity_groups) if entity_groups else 0.0
    sentence = dense  # an index built without sentence vectors: the passage cosine stands in
    sent = snapshot.sentences
    if sent is not None and len(sent):
        idx = sent.of_chunks(np.array([h.row for h in top], dtype=np.int64))
        if len(idx):
            shift = np.array([offset[int(r)] for r in sent.rows[idx]], dtype=np.float32)
            sentence = float((np.asarray(sent.vectors[idx]) @ question_vector + shift).max())
    return Signals(float(dense), best_cov, unknown, missing, float(1 - math.exp(-bm25 / 10)), sentence)


class AbstentionModel:
    """Logistic model over Signals; `confidence` is P(the passages answer the question)."""

    def __init__(self, path: Path = MODEL_FILE) -> None:
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        if data.get("features") != list(FEATURES):
            data = {}  # a model fitted on other signals would be meaningless; answer everything instead
        self.weights = np.array(data.get("weights", [0.0] * len(FEATURES)), dtype=float)
        self.mean = np.array(data.get("mean", [0.0] * len(FEATURES)), dtype=float)
        self.scale = np.array(data.get("scale", [1.0] * len(FEATURES)), dtype=float)
        self.bias = float(data.get("bias", 10.0))  # without a fitted model: always answer
        self.threshold = float(data.get("threshold", 0.5))
        # question language group → what a cross-language cosine is raised by in a corpus without that language
        self.cross_offsets: dict[str, float] = {k: float(v) for k, v in data.get("cross_language_offset", {}).items()}
        self.meta = data

    def cross_offset(self, snapshot: IndexSnapshot, language: str) -> float:
        """The offset for a question in `language` on `snapshot`: its measured value where the index lacks that
        language (`lacks_language`), else 0: where the question's language is present, the model reads the
        cosines on the scale it was fitted on."""
        return self.cross_offsets.get(language_group(language), 0.0) if lacks_language(snapshot, language) else 0.0

    def confidence(self, s: Signals) -> float:
        z = float(self.bias + self.weights @ ((np.array(s.vector()) - self.mean) / self.scale))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
