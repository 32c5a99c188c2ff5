"""FaissStore's IVF kind on real FAISS: recall against exact search, later adds, removal, persistence, auto."""

from pathlib import Path

import numpy as np
import pytest

from rag.stores.faiss_store import EXACT_LIMIT, IVF_NPROBE, FaissStore, ivf_lists

DIM = 32
ROWS = 4000


def _clustered(n: int, seed: int, clusters: int = 40) -> np.ndarray:
    """Unit vectors around `clusters` random centres: the shape an IVF's cells are made for."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).standard_normal((clusters, DIM)).astype(np.float32)
    x = centres[rng.integers(0, clusters, n)] + 0.35 * rng.standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / truth.shape[1] for f, t in zip(found, truth, strict=True)]))


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return _clustered(ROWS, seed=1)


@pytest.fixture(scope="module")
def queries() -> np.ndarray:
    return _clustered(50, seed=2)


@pytest.fixture
def ivf(data: np.ndarray) -> FaissStore:
    store = FaissStore(DIM, "ivf", expected_size=ROWS)
    store.add(np.arange(ROWS, dtype=np.int64), data)
    return store


def test_ivf_recall_at_10_against_flat_scanning_a_few_cells(ivf: FaissStore, data: np.ndarray,
                                                           queries: np.ndarray) -> None:
    flat = FaissStore(DIM, "flat")
    flat.add(np.arange(ROWS, dtype=np.int64), data)
    assert ivf.nlist == ROWS // 39 and ivf.nprobe == IVF_NPROBE  # few rows: as many cells as k-means can fit
    ivf.nprobe = 4  # 4 of 102 cells, so the result depends on how well the cells were trained
    scores, ids = ivf.search(queries, 10)
    truth_scores, truth = flat.search(queries, 10)
    assert _recall(ids, truth) >= 0.95
    assert np.all(scores[:, 0] <= truth_scores[:, 0] + 1e-5)  # exact cosines of the rows found


def test_rows_added_after_training_are_found(ivf: FaissStore, data: np.ndarray) -> None:
    nlist = ivf.nlist
    new = _clustered(5, seed=3)
    ivf.add(np.arange(10_000, 10_005, dtype=np.int64), new)  # e.g. an upload after the build
    assert len(ivf) == ROWS + 5 and ivf.nlist == nlist  # the trained cells are kept
    assert ivf.search(new, 1)[1][:, 0].tolist() == list(range(10_000, 10_005))


def test_removed_rows_are_not_returned_and_the_rest_still_are(ivf: FaissStore, data: np.ndarray) -> None:
    assert ivf.remove(np.array([3, 7, 123_456], dtype=np.int64)) == 2  # unknown ids are ignored
    assert len(ivf) == ROWS - 2
    _, ids = ivf.search(data[[3, 7, 8]], 10)
    assert 3 not in ids and 7 not in ids and ids[2, 0] == 8  # ids keep pointing at their own rows
    ivf.add(np.array([3], dtype=np.int64), data[3:4])
    assert ivf.search(data[3:4], 1)[1][0, 0] == 3


def test_save_load_keeps_kind_nprobe_and_results(ivf: FaissStore, queries: np.ndarray, tmp_path: Path) -> None:
    ivf.nprobe = 5
    ivf.save(tmp_path)
    back = FaissStore.load(tmp_path)
    assert (back.kind, back.nprobe, back.nlist, len(back)) == ("ivf", 5, ivf.nlist, ROWS)
    for allowed in (None, np.arange(0, ROWS, 7, dtype=np.int64)):
        s1, i1 = ivf.search(queries, 10, allowed)
        s2, i2 = back.search(queries, 10, allowed)
        assert np.array_equal(i1, i2) and np.array_equal(s1, s2)


def test_a_narrow_filter_still_gets_its_exact_top_k(ivf: FaissStore, data: np.ndarray, queries: np.ndarray) -> None:
    flat = FaissStore(DIM, "flat")
    flat.add(np.arange(ROWS, dtype=np.int64), data)
    ivf.nprobe = 2
    allowed = np.arange(0, ROWS, 250, dtype=np.int64)  # 16 rows, scattered over the cells
    _, ids = ivf.search(queries, 10, allowed)
    assert np.array_equal(ids, flat.search(queries, 10, allowed)[1])


def test_an_empty_ivf_searches_saves_and_trains_on_its_first_add(tmp_path: Path, data: np.ndarray) -> None:
    store = FaissStore(DIM, "ivf", expected_size=1_000_000)
    assert store.nlist == ivf_lists(1_000_000) == 4000  # ≈ 4·√rows
    assert (store.search(data[:1], 3)[1] == -1).all()
    store.save(tmp_path)
    back = FaissStore.load(tmp_path)
    assert back.kind == "ivf" and len(back) == 0
    back.add(np.arange(ROWS, dtype=np.int64), data)  # fewer rows than expected: fewer cells, each trainable
    assert back.nlist == ROWS // 39 and back.search(data[:1], 1)[1][0, 0] == 0


def test_auto_is_exact_up_to_the_limit_and_ivf_above() -> None:
    assert FaissStore(DIM, expected_size=EXACT_LIMIT).kind == "flat"
    big = FaissStore(DIM, expected_size=EXACT_LIMIT + 1)
    assert big.kind == "ivf" and big.nlist == ivf_lists(EXACT_LIMIT + 1) and big.nprobe == IVF_NPROBE
    with pytest.raises(ValueError, match="flat"):
        FaissStore(DIM, "pq")
    with pytest.raises(ValueError, match="nprobe"):
        FaissStore(DIM, "flat").nprobe = 4
