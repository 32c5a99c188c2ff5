"""Hybrid retrieval: dense (FAISS) and lexical (BM25) legs, fused by reciprocal rank."""

from __future__ import annotations

import heapq
import logging
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from enum import Enum

import numpy as np
import numpy.typing as npt

from rag.chunking import Chunk
from rag.index import IndexSnapshot
from rag.sentences import best_rows
from rag.text import PERCENT, detect_language, has_percentage, plural, tokenize

logger = logging.getLogger(__name__)

# RRF constant: 60 from Cormack, Clarke & Büttcher (SIGIR 2009), +1 because our ranks start at 0.
RRF_K = 61
# Within one language the passages are ordered by RRF with a much smaller constant, which lets a passage at the top
# of one or two lists (dense and best sentence, say) beat one in the middle of every list: with 61, a passage first
# by chunk and sentence cosine but with no BM25 match came 29th of the English list for a gold question. With 10:
# SQuAD R@5 0.956 → 0.964, XQuAD zh→en / en→zh 0.948 / 0.941 → 0.967 / 0.978, DRCD 0.989 → 0.994, gold hit@5
# unchanged; 5 was better still on the public sets but cost gold zh→en two questions (docs/experiments.md).
WITHIN_LANGUAGE_K = 10
# Each leg contributes this many candidates before fusion; deep enough that a passage ranked low by one
# leg but high by the other still meets it, and cheap (flat search over all rows costs the same).
CANDIDATES = 50


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with the evidence for its rank."""

    chunk: Chunk
    score: float  # fused score, higher is better
    dense: float  # cosine of query and passage in the transformed space (-inf when the dense leg missed it)
    lexical: float  # BM25 score (0 when no query token matched)
    row: int = -1  # row in the snapshot (vectors, chunks)


@dataclass(frozen=True)
class Filters:
    doc_ids: frozenset[str] | None = None
    language: str | None = None


class Fusion(Enum):
    RRF = "rrf"
    DENSE = "dense"
    LEXICAL = "lexical"


def allowed_rows(snapshot: IndexSnapshot, filters: Filters) -> npt.NDArray[np.int64] | None:
    """Row ids passing the filters, or None when nothing is filtered."""
    if filters.doc_ids is None and filters.language is None:
        return None
    mask = np.ones(len(snapshot.chunks), dtype=bool)
    if filters.doc_ids is not None:
        mask &= np.array([c.doc_id in filters.doc_ids for c in snapshot.chunks], dtype=bool)
    if filters.language is not None:
        mask &= snapshot.chunk_langs == filters.language
    return np.flatnonzero(mask).astype(np.int64)


def top_rows(scores: npt.NDArray[np.float32], k: int, allowed: npt.NDArray[np.int64] | None = None) -> list[int]:
    """Rows of the k highest positive scores, best first: argpartition, then a sort of only k."""
    if allowed is not None:
        masked = np.full_like(scores, -np.inf)
        masked[allowed] = scores[allowed]
        scores = masked
    k = min(k, len(scores))
    if k <= 0:
        return []
    part = np.argpartition(-scores, k - 1)[:k]
    order = part[np.argsort(-scores[part], kind="stable")]
    return [int(i) for i in order if scores[i] > 0]


def fuse_rrf(rankings: Sequence[Sequence[int]], k: int = RRF_K,
             weights: Sequence[float] | None = None) -> dict[int, float]:
    """Reciprocal rank fusion: sum of weight / (k + rank) over the rankings a row appears in."""
    fused: dict[int, float] = {}
    for ranking, w in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, row in enumerate(ranking):
            fused[row] = fused.get(row, 0.0) + w / (k + rank)
    return fused


def dense_leg(snapshot: IndexSnapshot, query_vectors: npt.NDArray[np.float32], k: int,
              allowed: npt.NDArray[np.int64] | None) -> dict[int, float]:
    """Row → best cosine over the query vectors (one per query variant)."""
    scores, ids = snapshot.dense.search(query_vectors, k, allowed)
    scores, ids = scores.ravel(), ids.ravel()
    keep = ids >= 0
    scores, ids = scores[keep], ids[keep]
    order = np.argsort(-scores, kind="stable")  # best first, so np.unique's first index is each row's best
    rows, first = np.unique(ids[order], return_index=True)
    return dict(zip(rows.tolist(), scores[order][first].tolist(), strict=True))


def lexical_scores(snapshot: IndexSnapshot, queries: Sequence[str], plurals: bool = False) -> npt.NDArray[np.float32]:
    """Max BM25 score per row over the query variants; with `plurals`, each English word's plural searched too."""
    total = np.zeros(len(snapshot.chunks), dtype=np.float32)
    for q in queries:
        tokens = tokenize(q)
        if plurals:
            tokens += [p for t in tokens if (p := plural(t))]
        total = np.maximum(total, snapshot.lexical.scores(tokens))
    return total


def search(snapshot: IndexSnapshot, query_vectors: npt.NDArray[np.float32], queries: Sequence[str], k: int,
           filters: Filters | None = None, fusion: Fusion = Fusion.RRF) -> list[Hit]:
    """Top-k hits for a question given its embedded variants and their texts."""
    allowed = allowed_rows(snapshot, filters or Filters())
    if allowed is not None and len(allowed) == 0:
        return []
    dense = dense_leg(snapshot, query_vectors, CANDIDATES, allowed) if fusion != Fusion.LEXICAL else {}
    bm25 = lexical_scores(snapshot, queries) if fusion != Fusion.DENSE else np.zeros(len(snapshot.chunks), np.float32)
    dense_rank = sorted(dense, key=lambda r: -dense[r])
    lex_rank = top_rows(bm25, CANDIDATES, allowed)
    if fusion == Fusion.DENSE:
        fused = {r: dense[r] for r in dense_rank}
    elif fusion == Fusion.LEXICAL:
        fused = {r: float(bm25[r]) for r in lex_rank}
    else:
        fused = fuse_rrf([dense_rank, lex_rank])
    order = sorted(fused, key=lambda r: -fused[r])[:k]
    return [Hit(snapshot.chunks[r], fused[r], dense.get(r, float("-inf")), float(bm25[r]), r) for r in order]


# -- language-aware retrieval ---------------------------------------------------------------------------
# A dense leg wide enough that, after splitting by language, each language still has CANDIDATES rows.
DENSE_POOL = 1000
# The sentence list (rag/sentences.py) refines the chunk-vector list rather than standing beside it as an
# equal: below full weight it lifts a chunk whose one sentence matches without outvoting chunk vectors and BM25.
# 0.5 was best with RRF constant 61 alone; with the sharper order within a language (WITHIN_LANGUAGE_K) 0.75 is:
# gold hit@5 0.880 → 0.898, SQuAD R@5 0.964 → 0.972, XQuAD en→zh 0.978 → 0.983, DRCD R@1 0.909 → 0.917; 1.0 cost
# gold zh→en two questions (docs/experiments.md).
SENTENCE_WEIGHT = 0.75
# The latent-term list (one sparse autoencoder feature set for both languages, rag/embedders.py) at full weight:
# XQuAD zh→en R@1 0.812 → 0.853, en→zh 0.851 → 0.875, mixed other@10 0.938 / 0.948 → 0.948 / 0.964, gold hit@5
# 0.898 → 0.898, MRR@10 0.703 → 0.708; at 0.5 gold 0.910 but XQuAD less (docs/experiments.md).
LATENT_WEIGHT = 1.0
# Passages in a third language (the shipped corpus has Japanese sections) serve neither of the service's
# languages, yet their kanji put them at the top of the Chinese list, whose best passage takes one of the first
# two slots: a Japanese passage was in the top 5 for 45 of the 196 gold questions, English ones included. Unless
# the question is in that language, their fused score counts 0.9: 3 of 196 then, gold hit@5 unchanged, MRR@10
# 0.645 → 0.648. Not less: where only a Japanese passage covers a topic (LASIK prices), it still makes the top 10.
THIRD_LANGUAGE_WEIGHT = 0.9


# A question term with its translations, weighted by IDF (rag/abstain.py, question_terms).
Term = tuple[frozenset[str], float]


@dataclass(frozen=True)
class PreparedQuery:
    """A question's variants: texts[0] is the question; the rest are translations (see rag/translate.py)."""

    texts: list[str]
    langs: list[str]  # language of each variant ("en" | "zh")
    vectors: npt.NDArray[np.float32]  # raw query embeddings of the first len(vectors) variants
    raw_translations: bool = True  # rank the candidates by raw translation vectors too (rag/retrieval.py)
    # The question's terms, each with its translations, and its IDF weight (QueryExpander.term_groups): what
    # `coverage` checks a passage for. Empty: the language prior uses the dense cosine alone.
    terms: Sequence[Term] = ()
    # Documents the question names as its source (rag/sources.py): their passages go first.
    source_docs: frozenset[str] = frozenset()
    # The question's latent terms (rag/embedders.py, LatentTermEncoder), one dense row; None: no such list.
    latent: npt.NDArray[np.float32] | None = None
    # The glossary's other names for what the question names, in its own language (QueryExpander.aliases), added
    # to its own-language BM25 query: gold hit@1 0.723 → 0.735, MRR@10 0.809 → 0.816, XQuAD unchanged
    # (docs/experiments.md).
    aliases: str = ""


def coverage(terms: Sequence[Term], tokens: AbstractSet[str]) -> float:
    """IDF-weighted share of the question's terms that a passage's tokens contain (a term or a translation; a
    percentage for a word asking for one: PERCENT)."""
    total = sum(w for _, w in terms)
    if not total:
        return 0.0
    return sum(w for group, w in terms if group & tokens or (PERCENT in group and has_percentage(tokens))) / total


def language_group(lang: str) -> str:
    """The service language a passage or question language counts as: Japanese (mostly Han) with Chinese."""
    return "zh" if lang in ("zh", "ja") else "en"


def language_lists(snapshot: IndexSnapshot, query: PreparedQuery,
                   allowed: npt.NDArray[np.int64] | None) -> dict[str, tuple[dict[int, float], dict[int, float]]]:
    """Per passage language: (RRF scores of rows in that language, best cosine per row).

    Passages in the question's language are scored with the question; passages in the other language with
    the question and its translations (dense), the translations against the passages (BM25, which shares no
    words across languages) and the question against the passages' own translations (glossed BM25). Both
    sides are mean-centred per language first (rag/transform.py).
    """
    q_lang = language_group(query.langs[0])
    groups = snapshot.chunk_groups
    pool = min(len(snapshot.chunks), DENSE_POOL)
    out: dict[str, tuple[dict[int, float], dict[int, float]]] = {}
    for lang in ("en", "zh"):
        rows_mask = groups == lang
        if allowed is not None:
            keep = np.zeros(len(groups), dtype=bool)
            keep[allowed] = True
            rows_mask &= keep
        if not rows_mask.any():
            continue
        use = [i for i, vl in enumerate(query.langs) if lang == q_lang or i == 0 or language_group(vl) == lang]
        embedded = [i for i in use if i < len(query.vectors)]
        vecs = np.concatenate([snapshot.transform.apply_query(query.vectors[i:i + 1], query.langs[i])
                               for i in embedded])
        dense = {r: s for r, s in dense_leg(snapshot, vecs, pool, None).items() if rows_mask[r]}
        own = f"{query.texts[0]} {query.aliases}" if query.aliases else query.texts[0]
        texts = [own] if lang == q_lang else [query.texts[i] for i in use if i > 0] or [query.texts[0]]
        # A Chinese question's dictionary translation gives each English word's base form ("device", "hospital")
        # where the reports write plurals: its BM25 query searches both. Gold zh→en hit@5 0.795 → 0.821, XQuAD
        # zh→en R@1 0.877 → 0.885 (docs/experiments.md). Stemming the index instead gained more but unsettled the
        # abstention model; an English question's own words are searched as written.
        bm25 = lexical_scores(snapshot, texts, plurals=lang == "en" and q_lang == "zh")
        bm25[~rows_mask] = 0
        lex_rank = top_rows(bm25, CANDIDATES)
        gloss_rank: list[int] = []
        if lang == "zh" and q_lang == "en" and snapshot.glossed is not None:
            # An English question's words against the English glosses of Chinese passages (rag/translate.py,
            # gloss_passage): gold en→zh MRR@10 0.45 → 0.59, XQuAD en→zh R@1 0.774 → 0.788 (docs/experiments.md).
            glossed = snapshot.glossed.scores(tokenize(query.texts[0]))
            glossed[~rows_mask] = 0
            gloss_rank = top_rows(glossed, CANDIDATES)
        # Rows the exact, per-row scores below look at: every row of this language in a corpus the dense pool
        # covers anyway, else the dense pool and the BM25 lists, so their cost follows the pool, not the corpus.
        cand = (np.flatnonzero(rows_mask) if len(snapshot.chunks) <= DENSE_POOL
                else np.array(sorted(set(dense) | set(lex_rank) | set(gloss_rank)), dtype=np.int64))
        translations = embedded[1:] if lang != q_lang and query.raw_translations else []
        dense_rank = sorted(dense, key=lambda r: -dense[r])[:CANDIDATES]
        lists, weights = [dense_rank, lex_rank], [1.0, 1.0]
        if gloss_rank:
            lists.append(gloss_rank)
            weights.append(1.0)
        if translations:
            # A translation is in the passages' own language: compare it uncentred with the raw vectors, as a
            # list of its own. Raw cosines (~0.8) and centred ones (~0.3) are on different scales, so taking
            # their max let the translation decide alone; by rank, both count (XQuAD mixed other@10
            # 0.843 → 0.883 for English questions, gold MRR@10 0.614 → 0.630).
            raw = (np.asarray(snapshot.vectors[cand]) @ query.vectors[translations].T).max(axis=1)
            lists.append([int(cand[i]) for i in np.argsort(-raw, kind="stable")[:CANDIDATES]])
            weights.append(1.0)
        if snapshot.sentences is not None and len(snapshot.sentences):
            lists.append(_sentence_rank(snapshot, query, vecs[0], translations, cand))
            weights.append(SENTENCE_WEIGHT)
        if query.latent is not None and snapshot.latent is not None:
            # The question's own latent terms score passages of both languages alike (the translation's
            # latent terms only added noise: XQuAD zh→en R@1 0.842 → 0.832 at weight 0.5).
            latent = np.asarray(snapshot.latent[cand] @ query.latent, dtype=np.float32).ravel()
            lists.append([int(cand[i]) for i in np.argsort(-latent, kind="stable")[:CANDIDATES] if latent[i] > 0])
            weights.append(LATENT_WEIGHT)
        # Divided by the total weight, so a language scored by more lists (the other language has the
        # translation's) does not outrank the question's own language on list count alone.
        total = sum(weights)
        out[lang] = (_sharp_order(lists, weights, total), dense)
    return out


def _sharp_order(lists: Sequence[Sequence[int]], weights: Sequence[float], total: float) -> dict[int, float]:
    """One language's fused scores: the order of RRF with WITHIN_LANGUAGE_K, the values of RRF with RRF_K.

    The i-th passage of the sharp order gets the i-th highest RRF_K score, so merging the languages and the
    language prior (a shift of a few ranks' worth, MAX_PRIOR_SHIFT) work on the scale they were measured on.
    """
    merge_scale = sorted(fuse_rrf(lists, weights=weights).values(), reverse=True)
    sharp = fuse_rrf(lists, k=WITHIN_LANGUAGE_K, weights=weights)
    order = sorted(sharp, key=lambda r: -sharp[r])
    return {r: v / total for r, v in zip(order, merge_scale, strict=True)}


def _sentence_rank(snapshot: IndexSnapshot, query: PreparedQuery, question: npt.NDArray[np.float32],
                   translations: Sequence[int], cand: npt.NDArray[np.int64]) -> list[int]:
    """Candidate chunk rows ranked by their best sentence: the centred question against the centred sentences,
    and (other language) raw translation vectors against raw sentences, as the chunk leg does."""
    sent = snapshot.sentences
    assert sent is not None
    idx = sent.of_chunks(cand)
    raw = np.asarray(sent.vectors[idx])
    rows = sent.rows[idx]
    scores = snapshot.transform.apply_documents(raw, list(snapshot.chunk_langs[rows])) @ question
    if translations:
        scores = np.maximum(scores, (raw @ query.vectors[list(translations)].T).max(axis=1))
    return best_rows(rows, scores.astype(np.float32), CANDIDATES)


# -- which language holds the answer --------------------------------------------------------------------------
# Merging the two language lists by RRF score alone interleaves them, so whichever language holds the answer, the
# other's best passages take every second slot: Chinese passages were in the top 5 for up to 51 of 166 answerable
# gold questions, English-evidence ones included. Each language's evidence is its best centred cosine plus half
# the term coverage of its best three passages; the language with more evidence moves up and the other down, each
# by at most MAX_PRIOR_SHIFT. The two signals err in opposite directions (the cosine favours English, the bilingual term
# groups favour Chinese); together they name the evidence language for 0.92 of the gold questions, either alone
# for 0.77 / 0.85. Gold hit@5 0.819 → 0.855, MRR@10 0.648 → 0.684, no language pair lower on hit@5
# (docs/experiments.md).
LANGUAGE_PRIOR = 0.01  # fused-score shift per unit of evidence difference
COVERAGE_WEIGHT = 0.5
PRIOR_PASSAGES = 3
# At most three ranks' worth at the top of a list: enough to put the answering language's best few passages
# first, not so much that the other language's best falls out of the top 10 (XQuAD mixed pool, where both
# languages hold the answer: other@10 0.918 / 0.941 without the prior, 0.892 / 0.930 with it; uncapped 0.75 / 0.81).
MAX_PRIOR_SHIFT = 1 / RRF_K - 1 / (RRF_K + 3)
# A question that names its source (rag/sources.py) gets that report's passages first: more than any fused score.
SOURCE_SHIFT = 1.0


def language_evidence(snapshot: IndexSnapshot, query: PreparedQuery, fused: dict[int, float],
                      dense: dict[int, float]) -> float:
    """How strongly one language's candidates answer the question: best cosine + weighted term coverage."""
    best = max(dense.values(), default=0.0)
    if not query.terms or not fused:
        return best
    top = heapq.nlargest(PRIOR_PASSAGES, fused, key=fused.__getitem__)
    cov = max(coverage(query.terms, set(tokenize(snapshot.chunks[r].text))) for r in top)
    return best + COVERAGE_WEIGHT * cov


def search_multilingual(snapshot: IndexSnapshot, query: PreparedQuery, k: int,
                        filters: Filters | None = None) -> list[Hit]:
    """Language-aware hybrid search: each language gets its own fused list, merged by RRF score.

    RRF scores depend only on ranks, so merging the two lists interleaves them: the best passage in each
    language takes one of the top two slots, and the question's own language wins ties. This keeps the
    multilingual model's preference for its own language from crowding out the other language's evidence.
    A language prior (`language_evidence`) then moves the language that looks like it holds the answer up by a
    few ranks.
    """
    allowed = allowed_rows(snapshot, filters or Filters())
    if allowed is not None and len(allowed) == 0:
        return []
    q_lang = language_group(query.langs[0])
    served = {"en", "zh", "other", detect_language(query.texts[0])}
    merged: dict[int, float] = {}
    cosine: dict[int, float] = {}
    lists = language_lists(snapshot, query, allowed)
    evidence = {lang: language_evidence(snapshot, query, fused, dense) for lang, (fused, dense) in lists.items()}
    for lang, (fused, dense) in lists.items():
        tie_break = 1e-9 if lang == q_lang else 0.0
        others = [v for other, v in evidence.items() if other != lang]
        shift = LANGUAGE_PRIOR * (evidence[lang] - others[0]) / 2 if others else 0.0
        shift = max(-MAX_PRIOR_SHIFT, min(MAX_PRIOR_SHIFT, shift))
        for row, score in fused.items():
            weight = 1.0 if snapshot.chunk_langs[row] in served else THIRD_LANGUAGE_WEIGHT
            merged[row] = score * weight + tie_break + shift
            if query.source_docs and snapshot.chunks[row].doc_id in query.source_docs:
                merged[row] += SOURCE_SHIFT
        cosine.update(dense)
    order = sorted(merged, key=lambda r: -merged[r])[:k]
    bm25 = lexical_scores(snapshot, query.texts)
    return [Hit(snapshot.chunks[r], merged[r], cosine.get(r, float("-inf")), float(bm25[r]), r) for r in order]
