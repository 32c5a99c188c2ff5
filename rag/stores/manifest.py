"""The index manifest (read first on load) and crash-safe file writes."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from rag.errors import IndexCorrupt

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"


class Manifest(BaseModel):
    """What an index was built from and with; verified before any other file is trusted."""

    format_version: int = FORMAT_VERSION
    version: str = Field(description="Snapshot id; also the answer-cache key.")
    created_at: str
    embedder: str
    dim: int
    chunk_size: int
    chunk_overlap: int
    dense_transform: str = "none"
    documents: dict[str, str] = Field(default_factory=dict, description="doc id → sha256 of its text")
    chunk_count: int = 0
    sentence_count: int = Field(0, description="sentence vectors (rag/sentences.py); 0 in older snapshots")
    glossed: bool = Field(False, description="a BM25 index over English glosses of Chinese chunks (rag/translate.py); "
                          "false in older snapshots")
    latent: bool = Field(False, description="latent-term rows of the chunks (rag/embedders.py, LatentTermEncoder); "
                         "false in older snapshots and for embedders without such a head")
    latent_recipe: str = Field("bare", description="how the latent rows were read (LatentTermEncoder.latent_recipe): "
                               "\"bare\" (the text alone; older snapshots) or \"passage-context\" (rag/native)")
    gloss_source: str = Field("", description="sha256 of the glossary the glosses were made with (rag/translate.py); "
                              "empty in older snapshots, whose glosses a rebuild makes anew")
    files: dict[str, str] = Field(default_factory=dict, description="relative path → sha256 of its bytes")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary sibling, fsync, rename over `path`, fsync the directory: all or nothing."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def write_manifest(directory: Path, manifest: Manifest) -> None:
    write_atomic(directory / MANIFEST_NAME, manifest.model_dump_json(indent=2).encode("utf-8"))


def read_manifest(directory: Path, verify: bool = True) -> Manifest:
    """Parse the manifest and, with `verify`, check every listed file's checksum."""
    path = directory / MANIFEST_NAME
    if not path.exists():
        raise IndexCorrupt(f"{directory}: no {MANIFEST_NAME}; rebuild with `rag index`")
    try:
        manifest = Manifest.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as e:
        raise IndexCorrupt(f"{path}: unreadable manifest ({e.__class__.__name__}); rebuild with `rag index`") from e
    if manifest.format_version != FORMAT_VERSION:
        raise IndexCorrupt(
            f"{directory}: index format {manifest.format_version}, this version reads {FORMAT_VERSION}; "
            "rebuild with `rag index`"
        )
    if verify:
        for rel, digest in manifest.files.items():
            file = directory / rel
            if not file.exists():
                raise IndexCorrupt(f"{directory}: {rel} is missing; rebuild with `rag index`")
            if sha256_file(file) != digest:
                raise IndexCorrupt(
                    f"{directory}: checksum of {rel} does not match the manifest; rebuild with `rag index`"
                )
    return manifest
