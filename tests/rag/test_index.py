import os
from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings
from rag.documents import iter_corpus, make_document
from rag.embedders import CountingEmbedder, Embedder, HashEmbedder
from rag.errors import EmbedderMismatch, IndexCorrupt, IndexMissing
from rag.index import IndexSnapshot, _gloss_expander, build_index, load_index
from rag.text import unglue
from tests.conftest import CORPUS


def test_loaded_index_matches_the_corpus(index_dir: Path, embedder: Embedder) -> None:
    snap = load_index(index_dir, embedder.name)
    docs = {d.id: d for d in iter_corpus(CORPUS)}
    assert snap.manifest.documents == {i: d.sha256 for i, d in docs.items()}
    assert snap.manifest.chunk_count == len(snap.chunks) == len(snap.dense) == len(snap.lexical)
    assert snap.manifest.embedder == embedder.name and snap.manifest.dim == 384
    for c in snap.chunks:
        assert docs[c.doc_id].text[c.start:c.end] == c.text


def test_reindexing_an_unchanged_corpus_embeds_nothing(fresh_settings: Settings, embedder: Embedder) -> None:
    previous = load_index(fresh_settings.index_dir, embedder.name)
    counting = CountingEmbedder(embedder)
    glossings = _gloss_expander.cache_info()
    snap = build_index(list(iter_corpus(CORPUS)), counting, fresh_settings, previous=previous)
    assert counting.passages == 0 and counting.latent_texts == 0
    assert snap.latent is not None and previous.latent is not None
    assert (snap.latent != previous.latent).nnz == 0  # latent-term rows reused as they were
    assert np.array_equal(snap.vectors, previous.vectors)
    # unchanged chunks keep their glosses: the glossing step (and its dictionary load) did not run
    assert _gloss_expander.cache_info() == glossings
    assert snap.glossed is not None and previous.glossed is not None
    query = ["nvidia", "adoption"]
    np.testing.assert_array_equal(snap.glossed.scores(query), previous.glossed.scores(query))
    # adding one document embeds only its chunks
    extra = make_document("extra-doc", "Hospitals in Shenzhen piloted AI triage kiosks in 2025. " * 3)
    counting2 = CountingEmbedder(embedder)
    snap2 = build_index([*snap.documents.values(), extra], counting2, fresh_settings, previous=snap)
    new_rows = [i for i, c in enumerate(snap2.chunks) if c.doc_id == "extra-doc"]
    assert snap2.sentences is not None
    new_sentences = {snap2.documents["extra-doc"].text[s:e]
                     for r, (s, e) in zip(snap2.sentences.rows, snap2.sentences.spans, strict=True) if r in new_rows}
    assert len(new_rows) == 1 and len(new_sentences) == 1  # the same sentence three times is embedded once
    assert counting2.passages == len(new_rows) + len(new_sentences)
    assert counting2.latent_texts == len(new_rows)  # only the new chunk's latent terms are encoded
    assert snap2.latent is not None and snap2.latent.shape[0] == len(snap2.chunks)
    old_row = next(i for i, c in enumerate(snap.chunks) if c.doc_id != "extra-doc")
    new_row = next(i for i, c in enumerate(snap2.chunks) if c.id == snap.chunks[old_row].id)
    assert (snap2.latent[new_row] != snap.latent[old_row]).nnz == 0
    old_rows = {c.id: i for i, c in enumerate(snap.chunks)}
    for i, c in enumerate(snap2.chunks):  # every row lands at its own chunk, reused or freshly encoded
        expected = snap.latent[old_rows[c.id]] if c.id in old_rows else counting2.latent_terms([c.text])
        assert (snap2.latent[i] != expected).nnz == 0, c.id
    assert _gloss_expander.cache_info() != glossings  # new chunks: glossed again
    assert snap2.glossed is not None and len(snap2.glossed) == len(snap2.chunks)
    assert load_index(fresh_settings.index_dir).version == snap2.version


def test_an_edited_glossary_glosses_the_chunks_anew(fresh_settings: Settings, embedder: Embedder) -> None:
    """The glosses are made with the glossary (rag/data/glossary.tsv): a snapshot glossed with another one must not
    lend its glosses to a rebuild, or an edited glossary would reach questions but never the passages."""
    previous = load_index(fresh_settings.index_dir, embedder.name)
    assert previous.manifest.gloss_source and previous.glossed is not None
    glossings = _gloss_expander.cache_info()
    stale = IndexSnapshot(previous.path, previous.manifest.model_copy(update={"gloss_source": "another glossary"}),
                          previous.documents, previous.chunks, previous.vectors, previous.dense, previous.lexical,
                          previous.transform, previous.embed_keys, previous.sentences, previous.glossed,
                          previous.latent)
    snap = build_index(list(iter_corpus(CORPUS)), CountingEmbedder(embedder), fresh_settings, previous=stale)
    assert _gloss_expander.cache_info() != glossings  # glossed again
    assert snap.glossed is not None and snap.glossed is not previous.glossed
    assert snap.manifest.gloss_source == previous.manifest.gloss_source  # the shipped glossary's, recorded anew
    query = ["nvidia", "adoption"]
    np.testing.assert_array_equal(snap.glossed.scores(query), previous.glossed.scores(query))


def test_serving_an_index_glossed_with_another_glossary_says_how_to_gloss_it_anew(
        tmp_path: Path, embedder: Embedder, caplog: pytest.LogCaptureFixture) -> None:
    from rag.engine import Engine
    from rag.stores.manifest import write_manifest

    settings = Settings(index_dir=tmp_path)
    snap = build_index([make_document("d1", "深圳的医院在2025年试点了AI分诊机。")], embedder, settings)
    with caplog.at_level("WARNING", logger="rag.engine"):
        Engine.from_settings(settings, embedder)
    assert "glossary" not in caplog.text  # glossed with the shipped glossary: nothing to say
    write_manifest(snap.path, snap.manifest.model_copy(update={"gloss_source": ""}))  # as an older snapshot records it
    caplog.clear()
    with caplog.at_level("WARNING", logger="rag.engine"):
        engine = Engine.from_settings(settings, embedder)
    assert "another glossary" in caplog.text and "run `rag index`" in caplog.text
    assert engine.search("Where were AI triage kiosks piloted?", 1).hits[0].chunk.doc_id == "d1"  # still served


def test_sentence_vectors_cover_every_chunk_with_exact_offsets(index_dir: Path, embedder: Embedder) -> None:
    snap = load_index(index_dir, embedder.name)
    sent = snap.sentences
    assert sent is not None and len(sent) == snap.manifest.sentence_count > len(snap.chunks)
    assert sent.vectors.shape == (len(sent), 384)
    assert set(sent.rows.tolist()) == set(range(len(snap.chunks)))  # every chunk has at least one sentence
    for row, (start, end) in zip(sent.rows.tolist(), sent.spans, strict=True):
        chunk = snap.chunks[row]
        assert chunk.start <= start < end <= chunk.end
        text = snap.documents[chunk.doc_id].text[start:end]
        assert text == text.strip() and len(text) >= 8
    # the stored raw vector is the embedding of that sentence
    r, (s, e) = int(sent.rows[3]), sent.spans[3]
    again = embedder.embed_documents([unglue(snap.documents[snap.chunks[r].doc_id].text[s:e])])[0]
    assert float(again @ sent.vectors[3]) > 0.999


def test_snapshot_without_sentence_vectors_still_loads_and_answers(tmp_path: Path, embedder: Embedder) -> None:
    """Snapshots written before sentence vectors existed (or with RAG_SENTENCE_VECTORS=false) keep working."""
    settings = Settings(index_dir=tmp_path / "idx", sentence_vectors=False)
    docs = list(iter_corpus(CORPUS))[:2]
    built = build_index(docs, embedder, settings)
    snap = load_index(settings.index_dir, embedder.name)
    assert built.manifest.sentence_count == 0 and snap.sentences is not None and len(snap.sentences) == 0
    assert not (snap.path / "sentences.jsonl").exists()
    from rag.engine import Engine

    assert Engine(settings, embedder, snap).search("What does the report say about hospitals?", 3).hits


def test_index_built_by_another_embedder_is_refused(fresh_settings: Settings) -> None:
    with pytest.raises(EmbedderMismatch, match="RAG_EMBEDDER"):
        load_index(fresh_settings.index_dir, "sentence-transformers:other")


def test_missing_index_says_how_to_build_one(tmp_path: Path) -> None:
    with pytest.raises(IndexMissing, match="rag index"):
        load_index(tmp_path / "nothing")


def test_corrupted_file_is_detected_not_served(fresh_settings: Settings) -> None:
    current = (fresh_settings.index_dir / "current").resolve()
    vec = current / "vectors.npy"
    data = bytearray(vec.read_bytes())
    data[-10] ^= 0xFF
    vec.write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt, match="checksum"):
        load_index(fresh_settings.index_dir)


def test_truncated_file_is_detected(fresh_settings: Settings) -> None:
    current = (fresh_settings.index_dir / "current").resolve()
    faiss_file = current / "faiss.index"
    os.truncate(faiss_file, faiss_file.stat().st_size // 2)
    with pytest.raises(IndexCorrupt):
        load_index(fresh_settings.index_dir)


def test_stale_half_built_snapshot_is_removed_and_previous_kept(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "idx")
    emb = HashEmbedder(32)
    docs = [make_document("a", "Alpha text about AI in radiology."), make_document("b", "Beta text on payment.")]
    first = build_index(docs, emb, settings)
    stale = tmp_path / "idx" / "snapshots" / ".building-crashed"
    stale.mkdir()
    (stale / "vectors.npy").write_bytes(b"half")
    assert load_index(settings.index_dir).version == first.version
    second = build_index(docs[:1], emb, settings, previous=first)
    assert not stale.exists()
    assert sorted(load_index(settings.index_dir).documents) == ["a"] and second.version != first.version


def test_chinese_chunks_get_an_english_glossed_bm25_index(tmp_path: Path) -> None:
    """English question words score Chinese chunks through their English glosses; English chunks have none."""
    docs = [make_document("zh-pump", "研究人员发现，胰岛素泵可以改善糖尿病患者的血糖控制。"),
            make_document("zh-food", "上海的小笼包和生煎包是很受欢迎的早餐。"),
            make_document("en-pump", "Insulin pumps are small devices worn on the body.")]
    settings = Settings(index_dir=tmp_path / "idx", sentence_vectors=False)
    built = build_index(docs, HashEmbedder(), settings)
    snap = load_index(settings.index_dir)
    assert built.manifest.glossed and built.glossed is not None and snap.glossed is not None
    assert len(snap.glossed) == len(snap.chunks)
    scores = snap.glossed.scores(["insulin", "pump", "diabetes"])
    rows = {c.doc_id: i for i, c in enumerate(snap.chunks)}
    assert scores[rows["zh-pump"]] > 0 and scores[rows["zh-food"]] == 0 and scores[rows["en-pump"]] == 0
    np.testing.assert_allclose(scores, built.glossed.scores(["insulin", "pump", "diabetes"]))  # saved == built
    from rag.engine import Engine

    hits = Engine(settings, HashEmbedder(), snap).search("Do insulin pumps help diabetes patients?", 3).hits
    assert "zh-pump" in [h.chunk.doc_id for h in hits[:2]]


def test_snapshot_without_glosses_loads_and_answers(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "idx", sentence_vectors=False, passage_glosses=False)
    build_index(list(iter_corpus(CORPUS))[:2], HashEmbedder(), settings)
    snap = load_index(settings.index_dir)
    assert not snap.manifest.glossed and snap.glossed is None and not (snap.path / "bm25_gloss").exists()
    from rag.engine import Engine

    assert Engine(settings, HashEmbedder(), snap).search("What does the report say about hospitals?", 3).hits


def test_a_language_the_corpus_lacks_is_centred_by_its_reference_mean(tmp_path: Path, embedder: Embedder,
                                                                      snapshot: IndexSnapshot) -> None:
    """The bilingual corpus fits both means itself; the English reports alone take the Chinese one from the shipped
    reference means, so a Chinese question is centred by a Chinese mean rather than by the English corpus's."""
    from rag.transform import fit_transform, reference_means

    reference = reference_means(embedder.name)
    assert set(reference) == {"en", "zh"} and reference_means("another-embedder") == {}
    vectors = np.asarray(snapshot.vectors)
    langs = [c.lang for c in snapshot.chunks]
    both = fit_transform(vectors, langs, "center", reference)
    for lang in ("en", "zh"):
        rows = vectors[[i for i, x in enumerate(langs) if ("zh" if x in ("zh", "ja") else x) == lang]]
        np.testing.assert_allclose(both.means[lang], rows.mean(axis=0), atol=1e-6)
    english = [i for i, x in enumerate(langs) if x == "en"]
    alone = fit_transform(vectors[english], ["en"] * len(english), "center", reference)
    np.testing.assert_array_equal(alone.means["zh"], reference["zh"])
    np.testing.assert_allclose(alone.means["en"], vectors[english].mean(axis=0), atol=1e-6)
    # without reference means (another embedder), a missing language falls back to the corpus's mean, as before
    assert "zh" not in fit_transform(vectors[english], ["en"] * len(english), "center").means
    # an index build takes them: an English-only index keeps the reference Chinese mean with its own English one
    docs = [d for d in iter_corpus(CORPUS) if d.id.startswith(("001_", "002_", "003_"))]
    snap = build_index(docs, embedder, Settings(index_dir=tmp_path), previous=snapshot)
    np.testing.assert_array_equal(snap.transform.means["zh"], reference["zh"])
