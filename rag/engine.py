"""The engine: one object holding the embedder and the current index snapshot; the API, CLI and eval use it."""

from __future__ import annotations

import logging
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import faiss
import numpy as np
import numpy.typing as npt
from scipy import sparse

from rag.abstain import GENERIC_SHARE, AbstentionModel, Signals, entity_terms, idf, question_terms, signals
from rag.answer import (
    CANDIDATE_PASSAGES,
    DISCLAIMER,
    NO_FIGURE,
    NO_NAME,
    NOT_COVERED,
    RERANK_DEPTH,
    UNREAD_LANGUAGE,
    Answer,
    Extract,
    Lang,
    Quote,
    extractive_answer,
    sentence_rerank,
)
from rag.cache import LRUCache
from rag.config import Settings
from rag.doc_store import DocStore
from rag.documents import Document
from rag.embedders import Embedder, QueryLatentEncoder, embedder_for, latent_encoder
from rag.errors import DocumentNotFound, InvalidQuery
from rag.figures import (
    SUBJECT_CONTEXT,
    answer_checks,
    counted_groups,
    counted_named,
    lowercase_words,
    names_covered,
    subject_groups,
)
from rag.index import IndexSnapshot, build_index, glossary_source, load_index
from rag.langid import unread_language
from rag.langid import warm_up as load_language_identifier
from rag.retrieval import Filters, Hit, PreparedQuery, Term, language_group, search_multilingual
from rag.sources import NamedSource, TitleTable, named_source, title_table
from rag.spelling import Correction, Speller
from rag.text import PERCENT, is_percentage, question_language, tokenize
from rag.translate import QueryExpander

logger = logging.getLogger(__name__)


def validate_question(question: str, max_chars: int) -> str:
    """Strip and check a question: not empty, not too long, no control characters."""
    q = question.strip()
    if not q:
        raise InvalidQuery("the question is empty")
    if len(q) > max_chars:
        raise InvalidQuery(f"the question is {len(q)} characters long; the limit is {max_chars}")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in q):
        raise InvalidQuery("the question contains control characters (e.g. NUL)")
    return q


def cache_key(text: str) -> str:
    """What a cached embedding or answer is filed under: the text as the model reads it, so NFKC and outer
    whitespace only. Not case-folded: the model is cased, and "how big is india's market" filed with "How big is
    India's market" got the other's vector, so a question's answer depended on which form was asked first."""
    return unicodedata.normalize("NFKC", text).strip()


@dataclass
class SearchResult:
    question: str
    language: str
    queries: list[str]
    hits: list[Hit]
    timing_ms: dict[str, float]
    # raw embedding of `question` (row 0 of the query variants): the abstention signals reuse it, so a
    # question is embedded once per request even when the query cache is off (RAG_CACHE_SIZE=0)
    question_vector: npt.NDArray[np.float32] | None = None
    # the snapshot the hits come from: a document write can swap `Engine.snapshot` mid-request, and signals
    # (rows of `vectors`), `index_version` and titles must come from the same version as the hits
    snapshot: IndexSnapshot | None = None
    # the question's terms with their translations and IDF weights: retrieval's language prior and the
    # abstention signals both use them
    terms: tuple[Term, ...] = ()
    # the reports the question names as its source; `queries[0]` is then the question without that phrase
    source: NamedSource | None = None
    filters: Filters | None = None
    # the top passages' sentence cosines (Engine.sentence_similarity), kept from the rerank for the answer step
    similarity: dict[int, dict[int, float]] | None = None
    # misspelt words corrected before searching (rag/spelling.py); `question` is then the corrected text
    corrections: list[Correction] = field(default_factory=list)
    # the language the question is written in when the service does not read it (rag/langid.py), else None
    unread_language: str | None = None
    # the passages ranked at SEARCH_DEPTH, of which `hits` are the first top_k: the abstention signals read these,
    # so whether a question is answered does not depend on how many passages the client asked for
    pool: list[Hit] = field(default_factory=list)


# Passages every search ranks, whatever top_k the client asks for. The sentence rerank reorders the first five of
# them and the abstention model was fitted on signals read from ten (eval/calibrate.py), so ranking fewer made both
# depend on top_k: top_k=1 gave another first passage than top_k=10 for 22 of the 196 gold questions, and the web
# page's own example "Is it cheaper to get treated in China?" was answered at top_k 5 but refused at 3.
SEARCH_DEPTH = 10


class Engine:
    """Answers questions from the current snapshot; document updates swap in a new snapshot atomically."""

    def __init__(self, settings: Settings, embedder: Embedder, snapshot: IndexSnapshot) -> None:
        # Process-wide: a query's FAISS search is small, and spinning OpenMP workers compete with the embedder.
        faiss.omp_set_num_threads(settings.search_threads)
        self.settings = settings
        self.embedder = embedder
        self.snapshot = snapshot
        self.expander = QueryExpander(vocabulary=snapshot.lexical.vocabulary())
        self._doc_freq = with_percent(snapshot.lexical.document_frequencies())
        self._han_tokens = han_tokens(self._doc_freq)
        self.abstention = AbstentionModel()
        self._query_cache: LRUCache[npt.NDArray[np.float32]] = LRUCache(settings.cache_size)
        self._latent_cache: LRUCache[sparse.csr_matrix] = LRUCache(settings.cache_size)
        self._latent = latent_encoder(embedder) if settings.latent_terms else None
        self._answer_cache: LRUCache[Answer] = LRUCache(settings.cache_size)
        self._write_lock = threading.Lock()
        self._titles: tuple[str, TitleTable] = ("", {})  # (snapshot version, title tokens): see _title_table
        self._lowercase: tuple[str, frozenset[str]] = ("", frozenset())  # (snapshot version, words): _subject_groups
        self._doc_lowercase: dict[str, frozenset[str]] = {}  # document sha256 → its lower-case words
        self._speller: tuple[dict[str, int], Speller] | None = None  # (the doc-freq table it was built from, speller)

    @classmethod
    def from_settings(cls, settings: Settings, embedder: Embedder | None = None) -> Engine:
        embedder = embedder or embedder_for(settings)
        snapshot = load_index(settings.index_dir, embedder.name)
        encoder = latent_encoder(embedder)
        recipe = snapshot.manifest.latent_recipe
        if snapshot.latent is not None and encoder is not None and recipe != encoder.latent_recipe:
            # Served as it is (questions still match), but not as measured: `rag index` re-reads only those rows.
            logger.warning("the index's latent terms were read %r, this embedder reads them %r; run `rag index` "
                           "(make index) to re-read them", recipe, encoder.latent_recipe)
        if snapshot.glossed is not None and snapshot.manifest.gloss_source != glossary_source():
            # English questions still meet the Chinese passages through the old glosses, but the glossary's new
            # entries reach only the questions until the passages are glossed anew.
            logger.warning("the index's passage glosses were made with another glossary than rag/data/glossary.tsv; "
                           "run `rag index` (make index) to gloss them anew")
        engine = cls(settings, embedder, snapshot)
        engine.warm_up()
        return engine

    def warm_up(self) -> None:
        """Load jieba's dictionary and the language identifier and run one query, so the first user request is
        not the slow one."""
        load_language_identifier()
        self.expander.warm_up()
        self.search("warm up 预热", 1)
        self._query_cache.clear()
        self._latent_cache.clear()

    # -- queries -------------------------------------------------------------------------------------
    def _embed_queries(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        rows: list[npt.NDArray[np.float32] | None] = [self._query_cache.get(cache_key(t)) for t in texts]
        missing = [i for i, r in enumerate(rows) if r is None]
        if missing:
            fresh = self.embedder.embed_queries([texts[i] for i in missing])
            for i, v in zip(missing, fresh, strict=True):
                self._query_cache.put(cache_key(texts[i]), v)
                rows[i] = v
        return np.stack([r for r in rows if r is not None]) if rows else np.zeros((0, self.embedder.dim), np.float32)

    def _embed_with_latent(self, texts: Sequence[str],
                           snapshot: IndexSnapshot) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32] | None]:
        """The query variants' vectors and the question's (`texts[0]`) latent terms. One model pass over all the
        variants where the embedder reads both at once (rag/native), so a question's vector and latent terms never
        depend on which variants another question left in the cache; else, or for a text too long for one window,
        the cached path and a second pass."""
        fused = self.embedder if isinstance(self.embedder, QueryLatentEncoder) else None
        key = cache_key(texts[0])
        if (fused is not None and self._latent is not None and snapshot.latent is not None
                and self._latent_cache.get(key) is None):
            out = fused.embed_queries_with_latent(list(texts))
            if out is not None:
                vectors, latent = out
                for t, v in zip(texts, vectors, strict=True):
                    self._query_cache.put(cache_key(t), v)
                self._latent_cache.put(key, latent)
                return vectors, np.asarray(latent.toarray(), dtype=np.float32).ravel()
        return self._embed_queries(texts), self._latent_terms(texts[0], snapshot)

    def _latent_terms(self, text: str, snapshot: IndexSnapshot) -> npt.NDArray[np.float32] | None:
        """The question's latent terms as a dense row, when both the embedder and the snapshot have them."""
        if self._latent is None or snapshot.latent is None:
            return None
        key = cache_key(text)
        row = self._latent_cache.get(key)
        if row is None:
            row = self._latent.latent_terms([text])
            self._latent_cache.put(key, row)
        return np.asarray(row.toarray(), dtype=np.float32).ravel()

    def search(self, question: str, top_k: int | None = None, filters: Filters | None = None,
               snapshot: IndexSnapshot | None = None, *, read_source: bool = True) -> SearchResult:
        """Ranked passages for a question (no answer text), from `snapshot` (default: the current one).

        With `read_source` (and `Settings.source_phrases`), a phrase naming one of the reports chooses that
        report instead of being searched for (rag/sources.py).
        """
        q = validate_question(question, self.settings.max_question_chars)
        k = self._check_top_k(top_k)
        snap = snapshot or self.snapshot  # one snapshot per request: never mix two index versions
        t0 = time.perf_counter()
        # A French or Spanish question's words are no misspelt English ones: "corrected", they read as English
        unread = unread_language(q)
        q, corrections = self.speller().correct(q) if self.settings.spelling and not unread else (q, [])
        lang = question_language(q)
        source = self.named_source(q, snap) if read_source else None
        content = source.content if source else q
        queries = self.expander.expand(content, lang)
        terms = question_terms(snap, self.expander.term_groups(content), self._doc_freq)
        other = "en" if lang == "zh" else "zh"
        t1 = time.perf_counter()
        mode = self.settings.translation_vectors
        if mode == "auto":
            # English → Chinese word-by-word translations add noise to the dense leg (gold en→zh and XQuAD en→zh
            # were both better without them); Chinese → English glosses find English evidence the question misses.
            mode = "raw" if lang == "zh" else "off"
        vectors, latent = self._embed_with_latent(queries if mode != "off" else queries[:1], snap)
        prepared = PreparedQuery(queries, [lang] + [other] * (len(queries) - 1), vectors, mode == "raw", terms,
                                 source.doc_ids if source else frozenset(), latent,
                                 self.expander.aliases(content, lang))
        t2 = time.perf_counter()
        hits = search_multilingual(snap, prepared, max(k, SEARCH_DEPTH), filters)
        result = SearchResult(q, lang, queries, hits, {}, prepared.vectors[0], snap, terms, source, filters,
                              corrections=corrections, unread_language=unread)
        if self.settings.sentence_rerank:
            result.similarity = self.sentence_similarity(result)  # the same top rows before and after the rerank
            # An English question's Chinese passages among those the rerank moves are ordered by their English
            # glosses: scored only when there are some, as a BM25 pass over the whole glossed index.
            chinese = [h.row for h in hits[:RERANK_DEPTH] if language_group(h.chunk.lang) == "zh"]
            glossed = None
            if chinese and language_group(lang) == "en" and snap.glossed is not None:
                scores = snap.glossed.scores(tokenize(queries[0]))
                glossed = {row: float(scores[row]) for row in chinese}
            result.hits = sentence_rerank(queries, hits, result.similarity, self._idf_weight(snap), lang,
                                          glossed=glossed)
        result.pool, result.hits = result.hits, result.hits[:k]
        t3 = time.perf_counter()
        result.timing_ms = {"expand": (t1 - t0) * 1e3, "embed": (t2 - t1) * 1e3, "retrieve": (t3 - t2) * 1e3}
        return result

    def speller(self) -> Speller:
        """The spelling corrector for the current corpus vocabulary, built on the first question after a swap."""
        doc_freq = self._doc_freq
        built = self._speller
        if built is None or built[0] is not doc_freq:  # the table itself, not its id: ids of freed objects recur
            built = (doc_freq, Speller(doc_freq, frozenset(self.expander.gloss_en_zh)))
            self._speller = built  # one tuple: a reader never sees a half-updated pair
        return built[1]

    def named_source(self, question: str, snapshot: IndexSnapshot) -> NamedSource | None:
        """The reports a question names as its source ("according to the NVIDIA survey"), if any."""
        if not self.settings.source_phrases:
            return None
        return named_source(question, lambda: self._title_table(snapshot), self._translate_phrase)

    def _title_table(self, snapshot: IndexSnapshot) -> TitleTable:
        """The snapshot's title tokens, built on the first question that names a source and kept per version."""
        version, table = self._titles
        if version != snapshot.version:
            table = title_table({doc_id: doc.title for doc_id, doc in snapshot.documents.items()})
            self._titles = (snapshot.version, table)  # one tuple: a reader never sees a half-updated pair
        return table

    def _translate_phrase(self, phrase: str, lang: str) -> str:
        return self.expander.to_chinese(phrase) if lang == "en" else self.expander.to_english(phrase)

    def ask(self, question: str, top_k: int | None = None, filters: Filters | None = None) -> Answer:
        """Extractive answer with citations, or a refusal when the reports don't cover the question."""
        t0 = time.perf_counter()
        k = self._check_top_k(top_k)
        snap = self.snapshot  # read once: a swap during this request must not mix two index versions
        key = (cache_key(question), k, filters, snap.version)
        cached = self._answer_cache.get(key)
        if cached is not None:
            return cached
        result = self.search(question, k, filters, snapshot=snap)
        lang: Lang = "zh" if result.language == "zh" else "en"
        t1 = time.perf_counter()
        confidence = self.abstention.confidence(self.signals(result))
        unread = result.unread_language
        answered = bool(result.hits) and confidence >= self.abstention.threshold and not unread
        refusal: Literal["not_covered", "language"] | None = None
        text, citations, quotes = self.extract(result) if answered else ("", [], [])
        missing = self.missing_answer(result, quotes) if answered else None
        if unread:
            refusal, text = "language", UNREAD_LANGUAGE
        elif not answered or missing:
            reason = NO_FIGURE if missing == "figure" else NO_NAME if missing == "name" else NOT_COVERED
            refusal, text = "not_covered", reason[lang]
        if refusal:
            answered, citations, quotes = False, [], []
        timing = dict(result.timing_ms, answer=(time.perf_counter() - t1) * 1e3,
                      total=(time.perf_counter() - t0) * 1e3)
        answer = Answer(lang, answered, text, citations, result.hits, DISCLAIMER[lang], confidence=confidence,
                        index_version=snap.version, timing_ms=timing,
                        titles={h.chunk.doc_id: snap.documents[h.chunk.doc_id].title for h in result.hits},
                        quotes=quotes, named_source=result.source, corrections=result.corrections, refusal=refusal,
                        unread_language=unread, missing=missing)
        self._answer_cache.put(key, answer)
        return answer

    def missing_answer(self, result: SearchResult,
                       quotes: Sequence[Quote] | None = None) -> Literal["figure", "name"] | None:
        """What the question asks for that none of the sentences the answer quotes (`quotes`, else those of
        `extract`) gives (rag/figures.py): "figure" for an amount, date or price, "name" for the hospitals,
        countries or companies asked about; None when nothing is missing or the question asks for neither. A figure
        counts only from a passage that, with the text just before its sentence or its report's title, names what the
        question names (`_subject_groups`): the FDA's count is no answer to "How many … has Health Canada licensed?".
        And a count of something no passage names is "figure" too (`_counts_what_no_passage_names`)."""
        if not self.settings.figure_check:
            return None
        # The question's translations: a cross-lingual answer naming what the question names names nothing new.
        checks = answer_checks(result.queries[0], (t for group, _ in result.terms for t in group))
        if not checks:
            return None
        quotes = self.extract(result).quotes if quotes is None else quotes
        hits = [result.hits[q.rank - 1] if 0 < q.rank <= len(result.hits) else None for q in quotes]
        passages = [h.chunk.text if h else "" for h in hits]  # the year check reads them, and the subject check
        subjects = self._subject_groups(result) if any(kind != "name" for kind, _ in checks) else []
        named = [self._names_its_subject(result, subjects, q, h) for q, h in zip(quotes, hits, strict=True)]
        for kind, gives in checks:  # amounts, dates and prices before names: "figure" wins when both are missing
            if not any(gives(q.text, passage) and (kind == "name" or ok)
                       for q, passage, ok in zip(quotes, passages, named, strict=True)):
                return "name" if kind == "name" else "figure"
        if any(kind == "amount" for kind, _ in checks) and self._counts_what_no_passage_names(result):
            return "figure"
        return None

    def _counts_what_no_passage_names(self, result: SearchResult) -> bool:
        """Whether a "how many" question counts something (rag/figures.py, `counted_groups`) that no passage of the
        index names, in any form or translation: beds, where the reports mention none."""
        groups = counted_groups(result.question, self.expander)
        return bool(groups) and not counted_named(groups, self._doc_freq, self._han_tokens)

    def _names_its_subject(self, result: SearchResult, subjects: list[set[str]], quote: Quote,
                           hit: Hit | None) -> bool:
        """Whether a quote's passage, the text just before the quote or its report's title names each of `subjects`."""
        if hit and language_group(hit.chunk.lang) == "zh" and language_group(result.language) != "zh":
            # A Chinese passage writes a name in Chinese: one the dictionary cannot translate ("Broncos") cannot be
            # looked for there. Asked of XQuAD's Chinese paragraphs, 16 of 400 English questions were refused.
            subjects = [g for g in subjects if not all(t.isascii() for t in g)]
        elif hit and language_group(hit.chunk.lang) == "en" and language_group(result.language) == "zh":
            # And the other way: a Chinese name the glossary and dictionary cannot translate cannot be looked for in
            # an English passage. XQuAD zh→en answered 0.765 → 0.740 before this rule (docs/experiments.md).
            subjects = [g for g in subjects if any(t.isascii() for t in g)]
        if not subjects:
            return True
        doc = (result.snapshot or self.snapshot).documents.get(quote.doc_id)
        title, before = (doc.title, doc.text[max(0, quote.start - SUBJECT_CONTEXT):quote.start]) if doc else ("", "")
        return names_covered(subjects, f"{title}\n{before}\n{hit.chunk.text if hit else quote.text}")

    def _subject_groups(self, result: SearchResult) -> list[set[str]]:
        """What a figure's passage must name (rag/figures.py, `subject_groups`), read against this snapshot."""
        snap = result.snapshot or self.snapshot
        version, lowercase = self._lowercase
        if version != snap.version:  # once per index version, on the first question that asks for a figure
            # Each document read once while it is in the index (20 MB of text take ~0.8 s): an upload reads only itself
            known = self._doc_lowercase
            per_doc = {d.sha256: known.get(d.sha256) or frozenset(lowercase_words(d.text))
                       for d in snap.documents.values()}
            self._doc_lowercase = per_doc
            lowercase = frozenset().union(*per_doc.values())
            self._lowercase = (snap.version, lowercase)  # one tuple: a reader never sees a half-updated pair
        return subject_groups(result.question, self.expander, self._doc_freq, GENERIC_SHARE * len(snap.chunks),
                              lowercase)

    def extract(self, result: SearchResult) -> Extract:
        """The extractive answer from a search result's top passages, shared words weighted by their IDF."""
        similarity = result.similarity if result.similarity is not None else self.sentence_similarity(result)
        return extractive_answer(result.queries, result.hits, similarity,
                                 self._idf_weight(result.snapshot or self.snapshot), result.language)

    def _idf_weight(self, snapshot: IndexSnapshot) -> Callable[[str], float]:
        """A shared word's weight in sentence scoring (answer and rerank alike): its IDF in `snapshot`."""
        doc_freq = self._doc_freq
        return lambda tok: idf(snapshot, tok, doc_freq)

    def sentence_similarity(self, result: SearchResult) -> dict[int, dict[int, float]]:
        """Per top hit (row): its sentences' cosines with the question, keyed by start in the chunk.

        The sentence vectors are already in the index (rag/sentences.py); both sides are centred per language,
        as for retrieval, so a Chinese sentence can answer an English question. Empty without sentence vectors.
        """
        snap = result.snapshot or self.snapshot
        sent = snap.sentences
        if sent is None or not len(sent) or result.question_vector is None or not result.hits:
            return {}
        rows = np.array(sorted({h.row for h in result.hits[:CANDIDATE_PASSAGES]}), dtype=np.int64)
        idx = sent.of_chunks(rows)
        if not len(idx):
            return {}
        question = snap.transform.apply_query(result.question_vector[None, :], result.language)[0]
        sent_rows = sent.rows[idx]
        centred = snap.transform.apply_documents(np.asarray(sent.vectors[idx]), list(snap.chunk_langs[sent_rows]))
        cosines = centred @ question
        out: dict[int, dict[int, float]] = {}
        for i, row, cos in zip(idx.tolist(), sent_rows.tolist(), cosines.tolist(), strict=True):
            out.setdefault(row, {})[sent.spans[i][0] - snap.chunks[row].start] = cos
        return out

    def signals(self, result: SearchResult) -> Signals:
        """The abstention model's inputs for one search result."""
        # Each distinctive word of a name is checked on its own: "Health Canada" hinges on "canada".
        snap = result.snapshot or self.snapshot
        common = GENERIC_SHARE * len(snap.chunks)
        if result.source is not None:
            # Whether the reports cover a question is judged on the whole question and what it retrieves as asked:
            # with the phrase naming a report left out (rag/sources.py), the rest reads as a vaguer question, and
            # 3 of the 8 gold questions that name a report were refused (answerable refused 0.048 → 0.066).
            result = self.search(result.question, SEARCH_DEPTH, result.filters, snap, read_source=False)
        groups = self.expander.token_groups(result.question)
        # A name's word with the question's own term group where it has one: that group knows the glossary word
        # it was split from (蚂蚁阿福 → 蚂蚁 + 阿福, both "ant health affu"), where the word alone translates as
        # 阿福 "fortune" and read as missing from an English report ("蚂蚁阿福的月活跃用户有多少？" was refused).
        names = [self.expander.name_group(tok, groups.get(tok) or self.expander.token_group(tok))
                 for term in entity_terms(result.question) for tok in tokenize(term)
                 if self._doc_freq.get(tok, 0) < common]
        vector = result.question_vector
        if vector is None:
            vector = self._embed_queries([result.question])[0]
        terms = result.terms or question_terms(snap, list(groups.values()), self._doc_freq)
        return signals(snap, vector, terms, (result.pool or result.hits)[:SEARCH_DEPTH], self._doc_freq, names,
                       result.language, self.abstention.cross_offset(snap, result.language))

    def _check_top_k(self, top_k: int | None) -> int:
        k = self.settings.top_k if top_k is None else top_k
        if not 1 <= k <= self.settings.max_top_k:
            raise InvalidQuery(f"top_k must be between 1 and {self.settings.max_top_k}, got {k}")
        return k

    # -- documents -----------------------------------------------------------------------------------
    def documents(self) -> list[Document]:
        return sorted(self.snapshot.documents.values(), key=lambda d: d.id)

    def document(self, doc_id: str) -> Document:
        doc = self.snapshot.documents.get(doc_id)
        if doc is None:
            raise DocumentNotFound(f"no document with id {doc_id!r}")
        return doc

    def add_document(self, doc_id: str, data: bytes, filename: str, title: str = "", source: str = "",
                     date: str = "") -> IndexSnapshot:
        """Parse, durably store, then index one document (only its chunks are embedded); atomic swap."""
        store = DocStore(self.settings)
        doc = store.parse(doc_id, data, filename, title, source, date)  # refuse bad input before writing
        with self._write_lock:
            store.save(doc, data, filename)
            docs = {d.id: d for d in self.snapshot.documents.values()}
            docs[doc.id] = doc
            return self._swap(list(docs.values()))

    def remove_document(self, doc_id: str) -> IndexSnapshot:
        """Delete a document from the store and the index; DocumentNotFound if it is not indexed."""
        with self._write_lock:
            DocStore(self.settings).remove(doc_id, set(self.snapshot.documents))
            return self._swap([d for d in self.snapshot.documents.values() if d.id != doc_id])

    def recover(self) -> bool:
        """At start: index uploads and deletions the index does not reflect yet (a crash before indexing)."""
        wanted = DocStore(self.settings).all_documents()
        if {d.id: d.sha256 for d in wanted} == self.snapshot.manifest.documents:
            return False
        logger.warning("index out of date with stored documents; re-indexing (%d documents)", len(wanted))
        self.rebuild(wanted)
        return True

    def _swap(self, documents: list[Document]) -> IndexSnapshot:
        snap = build_index(documents, self.embedder, self.settings, previous=self.snapshot)
        self.snapshot = snap
        self.expander = QueryExpander(translator=self.expander.translator, vocabulary=snap.lexical.vocabulary())
        self._doc_freq = with_percent(snap.lexical.document_frequencies())
        self._han_tokens = han_tokens(self._doc_freq)
        self._answer_cache.clear()
        return snap

    def rebuild(self, documents: list[Document]) -> IndexSnapshot:
        """Index `documents` (re-embedding only new text) and swap the result in for new requests."""
        with self._write_lock:
            return self._swap(documents)


def han_tokens(doc_freq: dict[str, int]) -> str:
    """The index's Chinese tokens, one per line: one substring search finds a word inside any of them
    (`counted_named`), where a loop over the vocabulary cost each such question time in proportion to the corpus."""
    return "\n".join(t for t in doc_freq if not t.isascii())


def with_percent(doc_freq: dict[str, int]) -> dict[str, int]:
    """Document frequencies with PERCENT as a word of its own: a question asking for a percentage asks for what
    the corpus writes as "53%" (rag/text.py). Its count is the commonest percentage's, a lower bound."""
    counts = [n for tok, n in doc_freq.items() if is_percentage(tok)]
    return {**doc_freq, PERCENT: max(counts)} if counts else doc_freq


def corpus_documents(settings: Settings) -> list[Document]:
    """The documents `rag index` indexes: the corpus directory minus deletions, plus stored uploads."""
    return DocStore(settings).all_documents()
