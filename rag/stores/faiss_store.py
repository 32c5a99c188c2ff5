"""FAISS vector store: exact inner product for small corpora, an inverted file (IVF) above a size where exact
search gets slow. HNSW stays available by name; eval/bench_scale.py measures all three."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import faiss
import numpy as np
import numpy.typing as npt

from rag.errors import IndexCorrupt
from rag.stores.base import Ids, Scores

logger = logging.getLogger(__name__)

FILE_NAME = "faiss.index"
# Exact search is a memory-bound scan: measured by eval/bench_scale.py at 100k rows, 14 ms p50 (as much as the
# query embedding itself) against 1.7 ms for the IVF at recall@10 0.995. Below 50k rows the scan stays under
# ~5 ms and exact, so only larger indexes pay IVF's approximation and k-means training.
EXACT_LIMIT = 50_000
HNSW_M = 32  # graph degree, faiss's 16-64; at efSearch 128 recall@10 is 0.99 at 10k rows but 0.89 at 100k
HNSW_EF_SEARCH = 128
# IVF: k-means cells over the vectors; a query scans the vectors of the IVF_NPROBE cells nearest to it.
# Measured by eval/bench_scale.py on replicated real vectors at 1M rows: recall@10 0.98-1.0 at ~4-5 ms per
# query and 1,550 bytes per row, where HNSW (M 32) reached 0.39 at efSearch 128 and 0.96 only at 4096 (12 ms).
IVF_LISTS_PER_SQRT = 4  # nlist ≈ 4·√rows, the low end of faiss's 4-16·√rows: k-means time grows with nlist²
IVF_MIN_TRAIN_PER_LIST = 39  # faiss's k-means warns below 39 training points per centroid
IVF_TRAIN_PER_LIST = 50  # k-means sample per centroid; more only slows training (faiss caps it at 256)
# Cells scanned per query, ≈ nprobe·√rows/4 rows: 128 gave 0.948 at 1M rows whose copies are as spread as real
# neighbours (the bench's sensitivity σ), 256 gave ≥ 0.978 in every measurement from 100k to 1M rows.
IVF_NPROBE = 256
KINDS = ("flat", "hnsw", "ivf")


def ivf_lists(rows: int, train_rows: int | None = None) -> int:
    """nlist for an IVF expected to hold `rows` vectors, trained on `train_rows` of them (default all)."""
    train_rows = rows if train_rows is None else train_rows
    return max(1, min(round(IVF_LISTS_PER_SQRT * math.sqrt(rows)), train_rows // IVF_MIN_TRAIN_PER_LIST))


def _ivf(dim: int, nlist: int, nprobe: int = IVF_NPROBE) -> faiss.IndexIVFFlat:
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.nprobe = nprobe  # written by write_index, so a loaded index scans as many cells as the saved one
    return ivf


class FaissStore:
    """Inner product over normalised vectors: an IDMap over IndexFlatIP (exact) or IndexHNSWFlat, or an
    IndexIVFFlat keeping the ids itself.

    The IVF is not wrapped in an IDMap: IndexIDMap.remove_ids assumes the inner index renumbers the rows left,
    which an IVF does not, so its own ids keep `remove` and `allowed` correct. It is trained on the first
    `add` (build_index adds a whole corpus in one call), with nlist from `expected_size` or, if larger, that
    first batch; later adds go to the trained cells.
    """

    def __init__(self, dim: int, kind: str = "auto", expected_size: int = 0) -> None:
        self.dim = dim
        if kind == "auto":
            kind = "ivf" if expected_size > EXACT_LIMIT else "flat"
        self.kind = kind
        self.expected_size = expected_size
        if kind == "flat":
            self._index: faiss.Index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        elif kind == "hnsw":
            inner = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efSearch = HNSW_EF_SEARCH
            self._index = faiss.IndexIDMap2(inner)
        elif kind == "ivf":
            self._index = _ivf(dim, ivf_lists(expected_size))  # resized to the data when trained, in add()
        else:
            raise ValueError(f"unknown FAISS index kind {kind!r}; expected one of {KINDS}")

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: Ids, vectors: npt.NDArray[np.float32]) -> None:
        if len(ids) == 0:
            return
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        if vecs.shape != (len(ids), self.dim):
            raise ValueError(f"expected vectors of shape ({len(ids)}, {self.dim}), got {vecs.shape}")
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if isinstance(self._index, faiss.IndexIVFFlat) and not self._index.is_trained:
            self._train(vecs)
        self._index.add_with_ids(vecs, ids)

    def _train(self, vecs: npt.NDArray[np.float32]) -> None:
        """k-means on a seeded sample of the first batch, with as many cells as that batch can train."""
        assert isinstance(self._index, faiss.IndexIVFFlat)
        nlist = ivf_lists(max(self.expected_size, len(vecs)), len(vecs))
        if nlist != self._index.nlist:  # still empty, so it can be replaced
            self._index = _ivf(self.dim, nlist, self._index.nprobe)
        sample = vecs
        if len(vecs) > IVF_TRAIN_PER_LIST * nlist:
            rows = np.random.default_rng(0).choice(len(vecs), IVF_TRAIN_PER_LIST * nlist, replace=False)
            sample = vecs[np.sort(rows)]
        # a store of under 39 rows has one cell; keep faiss from warning that its k-means lacks points
        self._index.cp.min_points_per_centroid = min(IVF_MIN_TRAIN_PER_LIST, len(sample) // nlist)
        self._index.train(sample)

    @property
    def nprobe(self) -> int:
        """IVF cells scanned per query (0 for flat and HNSW)."""
        return int(self._index.nprobe) if isinstance(self._index, faiss.IndexIVF) else 0

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        if not isinstance(self._index, faiss.IndexIVF):
            raise ValueError(f"nprobe applies to IVF indexes, not {self.kind}")
        self._index.nprobe = max(1, int(value))

    @property
    def nlist(self) -> int:
        """IVF cells (0 for flat and HNSW)."""
        return int(self._index.nlist) if isinstance(self._index, faiss.IndexIVF) else 0

    def remove(self, ids: Ids) -> int:
        if self.kind == "hnsw":
            raise NotImplementedError("HNSW indexes are rebuilt rather than edited")
        selector = faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))
        return int(self._index.remove_ids(selector))

    def search(self, queries: npt.NDArray[np.float32], k: int, allowed: Ids | None = None) -> tuple[Scores, Ids]:
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, len(self))) if len(self) else 1
        if len(self) == 0:
            return np.full((len(q), k), -np.inf, np.float32), np.full((len(q), k), -1, np.int64)
        params: faiss.SearchParameters | None = None
        selector = None if allowed is None else faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
        if isinstance(self._index, faiss.IndexIVF):
            # An IVF refuses plain SearchParameters, and its own default to nprobe 1: always pass both.
            ivf_params = faiss.SearchParametersIVF()
            ivf_params.nprobe = self._probes(None if allowed is None else len(allowed))
            ivf_params.sel = selector
            params = ivf_params
        elif selector is not None:
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        scores, ids = self._index.search(q, k, params=params)
        scores = np.where(ids < 0, -np.inf, scores).astype(np.float32)
        return scores, ids.astype(np.int64)

    def _probes(self, allowed: int | None) -> int:
        """nprobe, scaled up by how few rows a filter allows: the cells scanned then hold about as many allowed
        rows as an unfiltered search sees, so a narrow filter still finds its k (all cells: exact)."""
        if not allowed:
            return self.nprobe
        return min(self.nlist, math.ceil(self.nprobe * max(1.0, len(self) / allowed)))

    def save(self, directory: Path) -> list[Path]:
        path = directory / FILE_NAME
        faiss.write_index(self._index, str(path))
        return [path]

    @classmethod
    def load(cls, directory: Path) -> FaissStore:
        path = directory / FILE_NAME
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as e:
            raise IndexCorrupt(f"{path}: cannot read FAISS index ({e}); rebuild with `rag index`") from e
        store = cls.__new__(cls)
        store.dim = int(index.d)
        store.expected_size = int(index.ntotal)
        store._index = index
        if isinstance(index, faiss.IndexIVF):  # read_index returns the subclass it wrote
            store.kind = "ivf"
            store.nprobe = index.nprobe or IVF_NPROBE  # persisted by write_index; guard against a 0 from elsewhere
        else:  # the IDMap2 over flat or HNSW
            inner = faiss.downcast_index(index.index) if hasattr(index, "index") else index
            store.kind = "hnsw" if isinstance(inner, faiss.IndexHNSW) else "flat"
        return store
