"""Nothing lost: the index survives kill -9 mid-rebuild, and a damaged index is refused with a 503, never served.

The index is immutable snapshots under `snapshots/<version>/` and a `current` symlink swapped with os.replace;
every file's sha256 is in the snapshot's manifest and is checked on load (rag/index.py, rag/stores/manifest.py).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rag.config import Settings
from rag.documents import iter_corpus
from rag.embedders import Embedder
from rag.engine import Engine
from rag.errors import IndexCorrupt, RagError
from rag.index import IndexSnapshot, build_index, load_index
from tests.conftest import CORPUS
from tests.reliability.live_server import kill_process, rag_env, record_figures, spawn

FDA_QUESTION = "How many AI-enabled medical devices has the FDA cleared?"
# The kill runs index a small corpus (two short reports) so each rebuild is seconds, not a minute.
SMALL_CORPUS = ["002_69e32223fb1822d6.txt", "003_d4c72938adbf6854.txt", "manifest.json"]
SMALL_QUESTION = "Why do foreigners seek medical treatment in China?"
# Made-up names, so a question about run i's document can only be answered by that document.
NAMES = ["Quarnix", "Velmora", "Zentrik", "Obrava", "Kestrin", "Draloom", "Mirvane", "Trelkor", "Posqua", "Fendrix",
         "Gravell", "Hoxley"]
FILLER = ["hospital", "triage", "kiosk", "radiology", "sepsis", "model", "clinic", "patients", "trial", "enrolled",
          "reduction", "diagnosis", "imaging", "cardiology", "nurses", "scheduling", "outcomes", "screening",
          "pathology", "follow-up", "budget", "procurement"]
KILL_RUNS = 8
EMBEDDED_ONE = re.compile(r"\| *[1-9]\d*/\d+ ")  # tqdm's "| 1/3 [" once a passage is embedded
SEED = 20261125


def _copy_index(index_dir: Path, dst: Path) -> Path:
    shutil.copytree(index_dir, dst, symlinks=True)
    return dst


def _snapshot_files(snap_dir: Path) -> set[str]:
    return {str(p.relative_to(snap_dir)) for p in snap_dir.rglob("*") if p.is_file()}


# -- damaged index: detected on load, refused by the API ---------------------------------------------------

def test_every_file_of_a_snapshot_is_checksummed(index_dir: Path) -> None:
    snap_dir = (index_dir / "current").resolve()
    manifest = load_index(index_dir).manifest
    assert (index_dir / "current").is_symlink() and snap_dir.parent.name == "snapshots"
    assert _snapshot_files(snap_dir) - {"manifest.json"} == set(manifest.files)
    assert all(len(digest) == 64 for digest in manifest.files.values())


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit, in the middle: a silent disk error
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def _empty(path: Path) -> None:
    os.truncate(path, 0)


def _delete(path: Path) -> None:
    path.unlink()


@pytest.mark.parametrize("damage", [_flip, _truncate, _empty, _delete], ids=["bit-flip", "truncated", "empty",
                                                                            "deleted"])
def test_any_damaged_file_is_detected_with_a_message_naming_rag_index(index_dir: Path, tmp_path: Path,
                                                                       damage: Callable[[Path], None]) -> None:
    files = sorted(load_index(index_dir).manifest.files) + ["manifest.json"]
    for rel in files:
        idx = _copy_index(index_dir, tmp_path / rel.replace("/", "_"))
        damage((idx / "current").resolve() / rel)
        with pytest.raises(IndexCorrupt, match="rag index"):
            load_index(idx)
        shutil.rmtree(idx)


def test_api_serves_503_with_the_reason_instead_of_a_corrupt_index(index_dir: Path, tmp_path: Path,
                                                                    embedder: Embedder) -> None:
    idx = _copy_index(index_dir, tmp_path / "index")
    _flip((idx / "current").resolve() / "vectors.npy")
    settings = Settings(index_dir=idx, corpus_dir=CORPUS, uploads_dir=tmp_path / "uploads")
    app = create_app(settings, embedder=embedder)
    with TestClient(app) as client:  # the lifespan tries to load, fails, and records why
        assert "rag index" in app.state.startup_error and app.state.engine is None
        assert client.get("/healthz").status_code == 200  # the process is up, so it is not restarted in a loop
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "rag index" in ready.json()["reason"]
        assert "checksum of vectors.npy" in ready.json()["reason"]
        for method, path, body in [("POST", "/v1/ask", {"question": FDA_QUESTION}),
                                   ("POST", "/v1/search", {"question": FDA_QUESTION}),
                                   ("GET", "/v1/documents", None)]:
            r = client.request(method, path, json=body)
            assert r.status_code == 503, (path, r.text)
            assert "checksum of vectors.npy" in r.json()["detail"] and "rag index" in r.json()["detail"]


# -- kill -9 during a rebuild ------------------------------------------------------------------------------

def _new_document(rng: random.Random, name: str) -> tuple[str, str]:
    """A ~1,000-character report about `name` (three chunks) and a question only it answers."""
    fact = f"The {name} triage programme cut emergency waiting times by {rng.randint(11, 89)} percent."
    paras = [" ".join(rng.choice(FILLER) for _ in range(45)) + "." for _ in range(2)]
    paras.insert(rng.randint(0, 2), fact)
    question = f"By how much did the {name} programme cut waiting times?"
    return f"{name} hospital report\n\n" + "\n\n".join(paras), question


def _building_dirs(index_dir: Path) -> set[str]:
    return {p.name for p in (index_dir / "snapshots").iterdir() if p.name.startswith(".building-")}


def _wait_for(predicate: object, proc: object, timeout: float = 120.0) -> bool:
    """Poll every millisecond until `predicate()` holds (True) or the process ends first (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        if proc.poll() is not None:  # type: ignore[attr-defined]
            return False
        time.sleep(0.001)
    return False


def _check_snapshot_answers(snap: IndexSnapshot, settings: Settings, embedder: Embedder,
                            texts: dict[str, str], questions: dict[str, str]) -> None:
    """An engine on the loaded snapshot answers, and every passage's offsets check out against the source files."""
    engine = Engine(settings, embedder, snap)
    for doc_id, question in [("", SMALL_QUESTION), *((d, q) for d, q in questions.items() if d in snap.documents)]:
        answer = engine.ask(question, top_k=3)
        assert answer.hits and answer.index_version == snap.version
        for hit in answer.hits:
            assert texts[hit.chunk.doc_id][hit.chunk.start:hit.chunk.end] == hit.chunk.text
        if doc_id:
            assert answer.hits[0].chunk.doc_id == doc_id, question


@pytest.mark.slow
def test_kill_9_during_rebuilds_always_leaves_a_complete_snapshot(tmp_path: Path, embedder: Embedder) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in SMALL_CORPUS:
        shutil.copy(CORPUS / name, corpus / name)
    idx = tmp_path / "index"
    settings = Settings(index_dir=idx, corpus_dir=corpus, uploads_dir=tmp_path / "uploads")
    build_index(list(iter_corpus(corpus)), embedder, settings)
    # Batch size 1: the embedding phase of each rebuild takes seconds, so timed kills land inside it.
    env = rag_env(embed_batch_size=1, uploads_dir=settings.uploads_dir)
    rng = random.Random(SEED)
    previous = load_index(idx, embedder.name)
    questions: dict[str, str] = {}
    # Kill points: a random time into the run; 0-0.5 s after the first passage is embedded (progress bar on
    # stderr); 0-30 ms after a new `.building-*` directory appears (snapshot files being written and fsynced);
    # right after `current` moves (old snapshots being pruned).
    modes = ["timer", "building", "embedding", "building", "swap", "timer", "embedding", "building"][:KILL_RUNS]
    runs: list[dict[str, object]] = []
    full_run_s = 0.0
    for i, mode in enumerate(["complete", *modes, "complete"]):
        doc_id = f"kill-run-{i:02d}"
        text, question = _new_document(rng, NAMES[i])
        (corpus / f"{doc_id}.txt").write_text(text, encoding="utf-8")
        questions[doc_id] = question
        docs = {d.id: d for d in iter_corpus(corpus)}
        log = tmp_path / f"index-{i}.log"
        proc = spawn(["-m", "rag.cli", "index", str(corpus), "--out", str(idx)], env, log)
        t0 = time.monotonic()
        delay = 0.0
        stale = _building_dirs(idx)
        try:
            link_before = os.readlink(idx / "current")
            if mode == "timer":
                delay = rng.uniform(0.2, 1.1 * full_run_s)
                _wait_for(lambda d=delay, t=t0: time.monotonic() - t >= d, proc)
            elif mode == "building":  # a new one: a killed run's leftover is only removed once a build starts
                _wait_for(lambda s=stale: bool(_building_dirs(idx) - s), proc)
                delay = rng.uniform(0.0, 0.03)
                time.sleep(delay)
            elif mode == "embedding":
                _wait_for(lambda f=log: EMBEDDED_ONE.search(f.read_text(errors="replace")) is not None, proc)
                delay = rng.uniform(0.0, 0.5)
                time.sleep(delay)
            elif mode == "swap":
                _wait_for(lambda b=link_before: os.readlink(idx / "current") != b, proc)
            if mode == "complete":
                assert proc.wait(timeout=300) == 0, log.read_text(errors="replace")
                full_run_s = full_run_s or time.monotonic() - t0  # the first run times the others' kills
            else:
                kill_process(proc)
        finally:
            kill_process(proc)
        killed = proc.returncode == -9
        leftovers = sorted(_building_dirs(idx))

        try:
            snap = load_index(idx, embedder.name)  # never IndexCorrupt: a complete snapshot or the one before
            if snap.version == previous.version:
                outcome = "previous"
            else:
                outcome = "new"
                assert snap.version > previous.version
                assert snap.manifest.documents == {d.id: d.sha256 for d in docs.values()}
                assert snap.manifest.chunk_count == len(snap.chunks) == len(snap.dense) == len(snap.lexical)
            _check_snapshot_answers(snap, settings, embedder, {d.id: d.text for d in docs.values()}, questions)
            if mode == "building":  # this build got the writer lock, so it removed the earlier leftovers
                assert not stale & set(leftovers), (stale, leftovers)
        except (RagError, AssertionError) as e:  # record and go on: the figures say how many runs survived
            outcome = f"FAILED: {type(e).__name__}: {e}"
        runs.append({"run": i, "mode": mode, "delay_s": round(delay, 3), "killed": killed, "loaded": outcome,
                     "leftovers": leftovers, "elapsed_s": round(time.monotonic() - t0, 2)})
        if outcome == "previous":  # the killed run's document was never indexed: drop it, so every run
            (corpus / f"{doc_id}.txt").unlink()  # embeds about the same amount (only its own document)
            del questions[doc_id]
        elif outcome == "new":
            previous = snap

    # the last, complete build cleared every half-written snapshot the killed ones left behind
    assert not _building_dirs(idx)
    killed_runs = [r for r in runs if r["mode"] != "complete"]
    figures = {
        "seed": SEED,
        "kill_runs": len(killed_runs),
        "killed_mid_build": sum(1 for r in killed_runs if r["killed"]),
        "survived": sum(1 for r in killed_runs if r["loaded"] in ("previous", "new")),
        "loaded_previous": sum(1 for r in killed_runs if r["loaded"] == "previous"),
        "loaded_new": sum(1 for r in killed_runs if r["loaded"] == "new"),
        "left_building_dirs": sum(1 for r in killed_runs if r["leftovers"]),
        "runs": runs,
    }
    print(f"kill -9 runs: {figures['survived']}/{figures['kill_runs']} survived "
          f"({figures['loaded_previous']} previous, {figures['loaded_new']} new, "
          f"{figures['left_building_dirs']} left a .building-* dir, cleaned by the next build)")
    record_figures("kill9_rebuild", figures)
    assert all(r["loaded"] in ("previous", "new") for r in runs), [r for r in runs if r["loaded"].startswith("F")]
    assert figures["survived"] == len(killed_runs) == KILL_RUNS
    assert figures["killed_mid_build"] >= KILL_RUNS // 2  # most kills really interrupted a build
