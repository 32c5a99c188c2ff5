"""ONNX Runtime inference for sentence-transformers models shaped Transformer → Pooling → optional Normalize.

sentence-transformers still loads the model (hub or local directory); only its transformer is exported to ONNX,
once per model and exporter version, and run by ONNX Runtime: one short MiniLM query took a p50 of 10 ms instead
of torch's 23 ms on one thread (load average 2 on 2 cores; 6.7 vs 19 ms on a quieter run), with the same vectors.
sentence-transformers' own `backend="onnx"` needs optimum-onnx, which pins a transformers older than
sentence-transformers 6 accepts.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import re
import tempfile
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from rag.errors import ModelUnavailable

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]

POOLING_MODES = ("mean", "cls", "max")
# sentence-transformers < 6 stores the pooling mode as one boolean per mode.
_LEGACY_POOLING_KEYS = {"pooling_mode_cls_token": "cls", "pooling_mode_max_tokens": "max",
                        "pooling_mode_mean_tokens": "mean", "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
                        "pooling_mode_weightedmean_tokens": "weightedmean", "pooling_mode_lasttoken": "lasttoken"}
_TOKEN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_OUTPUT = "last_hidden_state"
# Bump when the export below changes, so files written by the old code are not reused.
_EXPORT_FORMAT = 1
# Files whose change means different weights or architecture (tokenizer files do not change the graph).
_FINGERPRINT_SUFFIXES = {".safetensors", ".bin", ".pt", ".pth", ".json"}
# Padded on purpose: a batch with padding makes the traced graph use the attention mask, and the start-up parity
# check below covers the padded case.
_SAMPLE = ["query: a", "passage: the FDA cleared more devices; 美国食品药品监督管理局批准了更多的人工智能医疗器械。"]
# Float32 reordering moves normalised vectors by ~1e-7 (MiniLM: 1.6e-7); a stale export or a mis-traced mask
# moves them by >1e-2.
_PARITY_ATOL = 1e-3


def _module_classes() -> tuple[type, type, type]:
    try:
        modules = importlib.import_module("sentence_transformers.sentence_transformer.modules")
    except ImportError:  # sentence-transformers < 6
        modules = importlib.import_module("sentence_transformers.models")
    return modules.Transformer, modules.Pooling, modules.Normalize


def pooling_mode(pooling: Any) -> str:
    """The Pooling module's mode as read from its config, e.g. `mean`; combined modes are joined by `+`."""
    config = pooling.get_config_dict()
    mode = config.get("pooling_mode")
    if mode is None:
        mode = [m for key, m in _LEGACY_POOLING_KEYS.items() if config.get(key)]
    return mode if isinstance(mode, str) else "+".join(mode)


def unsupported_reason(model: SentenceTransformer) -> str | None:
    """Why `model` cannot run on ONNX Runtime here, or None when it can."""
    transformer_cls, pooling_cls, normalize_cls = _module_classes()
    modules = list(model)
    layout = " → ".join(type(m).__name__ for m in modules)
    shape_ok = (len(modules) in (2, 3) and type(modules[0]) is transformer_cls and type(modules[1]) is pooling_cls
                and (len(modules) == 2 or type(modules[2]) is normalize_cls))
    if not shape_ok:
        return f"modules are {layout}, not Transformer → Pooling → optional Normalize"
    mode = pooling_mode(modules[1])
    if mode not in POOLING_MODES:
        return f"pooling mode {mode!r} is not one of {', '.join(POOLING_MODES)}"
    modalities = getattr(modules[0], "modality_config", None) or {"text": {}}  # absent before v6: text only
    text = modalities.get("text", {})
    if set(modalities) != {"text"} or text.get("method", "forward") != "forward" \
            or text.get("method_output_name", _OUTPUT) != _OUTPUT:
        return "the transformer is not a text encoder whose output is last_hidden_state"
    if getattr(modules[0], "query_expansion", None) or getattr(model, "default_prompt_name", None):
        return "the model configures query expansion or a default prompt"
    if getattr(model, "tokenizer", None) is None:
        return "the model has no text tokenizer"
    return None


def _model_dir(name_or_path: str) -> Path | None:
    """The directory the weights were read from: a local path, or the hub snapshot (named by its commit)."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    hit = try_to_load_from_cache(name_or_path, "config.json")
    return Path(hit).parent if isinstance(hit, str) else None


def export_key(name_or_path: str) -> str:
    """sha256 over the weight/config files (names, sizes, mtimes) and the exporter's versions."""
    import onnx
    import torch
    import transformers

    h = hashlib.sha256()
    for part in (f"format={_EXPORT_FORMAT}", f"torch={torch.__version__}", f"onnx={onnx.__version__}",
                 f"transformers={transformers.__version__}"):
        h.update(part.encode() + b"\0")
    model_dir = _model_dir(name_or_path)
    if model_dir is None:  # not found locally: the name alone; the parity check catches an outdated export
        h.update(f"name={name_or_path}".encode())
        return h.hexdigest()
    h.update(f"dir={model_dir.resolve()}".encode() + b"\0")
    for f in sorted(model_dir.rglob("*")):
        if f.suffix in _FINGERPRINT_SUFFIXES and f.is_file():
            st = f.stat()
            h.update(f"{f.relative_to(model_dir).as_posix()}:{st.st_size}:{st.st_mtime_ns}".encode() + b"\0")
    return h.hexdigest()


def _export(model: SentenceTransformer, input_names: list[str], path: Path) -> None:
    """Trace the transformer (dynamic batch and sequence axes) into `path`, atomically: temp file, then replace."""
    import torch

    class LastHiddenState(torch.nn.Module):
        """BertModel & co. take their inputs as keywords; the exporter passes them by position."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(input_names, inputs, strict=True))).last_hidden_state  # type: ignore[no-any-return]

    transformer: Any = model[0]
    sample = model.tokenizer(_SAMPLE, padding=True, truncation=True, max_length=model.max_seq_length,
                             return_tensors="pt")
    axes = {n: {0: "batch", 1: "sequence"} for n in [*input_names, _OUTPUT]}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    os.close(fd)
    t0 = time.perf_counter()
    try:
        # The tracer warns about every Python-level branch and index op, and torch >= 2.9 that the TorchScript
        # exporter (dynamo=False, the one measured) is deprecated; the parity check decides whether the file is good.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(LastHiddenState(transformer.auto_model).eval(), tuple(sample[n] for n in input_names),
                              tmp, input_names=input_names, output_names=[_OUTPUT], dynamic_axes=axes, dynamo=False)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the cache from a service running as another user
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    logger.info("exported %s in %.1f s", path.name, time.perf_counter() - t0)


def pool_tokens(hidden: npt.NDArray[np.float32], mask: npt.NDArray[np.int64], mode: str) -> Vectors:
    """sentence-transformers' Pooling on (batch, tokens, dim) states: mean, cls (first unmasked) or max."""
    if mode == "cls":
        return np.asarray(hidden[np.arange(len(hidden)), mask.argmax(axis=1)], dtype=np.float32)
    if mode == "max":
        return np.asarray(np.where(mask[..., None] > 0, hidden, -np.inf).max(axis=1), dtype=np.float32)
    weights = mask[..., None].astype(np.float32)
    return np.asarray((hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9), dtype=np.float32)


class OnnxEncoder:
    """Tokenizer → ONNX Runtime session → pooling: unnormalised sentence vectors.

    Safe to call from several threads without a lock: `InferenceSession.run` is thread-safe, and every
    tokenizer call passes the same padding/truncation, so transformers never reconfigures the shared Rust
    tokenizer (reconfiguring it mid-call is what raises "Already borrowed", huggingface/tokenizers#537).
    """

    def __init__(self, session: Any, tokenizer: Any, input_names: list[str], mode: str,
                 max_length: int | None) -> None:
        self._session, self._tokenizer, self._input_names = session, tokenizer, input_names
        self._mode, self._max_length = mode, max_length

    def _encode_batch(self, texts: list[str]) -> Vectors:
        feats = self._tokenizer(texts, padding=True, truncation=True, max_length=self._max_length,
                                return_tensors="np")
        inputs = {n: np.asarray(feats[n], dtype=np.int64) for n in self._input_names}
        hidden = self._session.run([_OUTPUT], inputs)[0]
        return pool_tokens(hidden, inputs["attention_mask"], self._mode)

    def encode(self, texts: list[str], batch_size: int = 32) -> Vectors:
        """(len(texts), dim) pooled rows; batches are formed longest first, as sentence-transformers does, so
        texts of similar length share a batch and little padding is computed."""
        order = np.argsort([-len(t) for t in texts], kind="stable")
        rows = np.concatenate([self._encode_batch([texts[i] for i in order[s:s + batch_size]])
                               for s in range(0, len(texts), batch_size)])
        out = np.empty_like(rows)
        out[order] = rows
        return out


def _session(path: Path, num_threads: int | None) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    if num_threads:
        options.intra_op_num_threads = num_threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _parity_error(model: SentenceTransformer, encoder: OnnxEncoder) -> float:
    """Largest difference between torch's and ONNX Runtime's normalised vectors on the padded sample."""
    want = np.asarray(model.encode(_SAMPLE, normalize_embeddings=True, show_progress_bar=False), dtype=np.float32)
    got = encoder.encode(_SAMPLE)
    got /= np.maximum(np.linalg.norm(got, axis=1, keepdims=True), 1e-12)
    return float(np.abs(want - got).max())


def load_onnx_encoder(model: SentenceTransformer, name_or_path: str, cache_dir: Path,
                      num_threads: int | None = None) -> OnnxEncoder:
    """Export `model`'s transformer to `cache_dir` (reused on later starts) and load it into ONNX Runtime.

    Args:
        model: a loaded model of the supported shape (see `unsupported_reason`).
        num_threads: ONNX Runtime intra-op threads; None uses its default (one per physical core).

    Returns:
        an encoder checked against torch on a padded sample at every start, so a stale file is re-exported.

    Raises:
        ModelUnavailable: the model is not supported, onnxruntime is missing, or export/loading failed.
    """
    reason = unsupported_reason(model)
    if reason:
        raise ModelUnavailable(f"ONNX Runtime cannot run {name_or_path!r}: {reason}")
    try:
        import onnxruntime  # noqa: F401
    except ImportError as e:
        raise ModelUnavailable("onnxruntime is not installed; `pip install onnxruntime onnx onnxscript`") from e
    tokenizer = model.tokenizer
    produced = tokenizer(["a"], padding=True, truncation=True, max_length=model.max_seq_length, return_tensors="np")
    input_names = [n for n in _TOKEN_INPUTS if n in produced]
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name_or_path).name or name_or_path)[:60]
    path = cache_dir / f"{slug}-{export_key(name_or_path)[:24]}.onnx"
    mode = pooling_mode(model[1])

    def load() -> tuple[OnnxEncoder, float]:
        encoder = OnnxEncoder(_session(path, num_threads), tokenizer, input_names, mode, model.max_seq_length)
        return encoder, _parity_error(model, encoder)

    # The exporter and ONNX Runtime raise many unrelated types (ORT's derive from Exception only); any of them
    # means "no ONNX path here", which the caller reports or falls back from.
    try:
        fresh = not path.exists()
        if fresh:
            _export(model, input_names, path)
        encoder, err = load()
        if err > _PARITY_ATOL and not fresh:
            logger.info("cached %s differs from torch by %.1e; exporting again", path.name, err)
            _export(model, input_names, path)
            encoder, err = load()
    except Exception as e:
        raise ModelUnavailable(f"ONNX export of {name_or_path!r} failed ({type(e).__name__}: {e})") from e
    if err > _PARITY_ATOL:
        raise ModelUnavailable(f"ONNX export of {name_or_path!r} differs from torch by {err:.1e}")
    logger.info("onnx backend: %s (%s), parity %.1e, threads %s", path.name, "exported" if fresh else "cached", err,
                num_threads or "default")
    return encoder
