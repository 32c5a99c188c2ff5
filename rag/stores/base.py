"""The VectorStore contract every backend (FAISS, Milvus, …) implements; tests/rag/stores run it on each."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Ids = npt.NDArray[np.int64]
Scores = npt.NDArray[np.float32]


@runtime_checkable
class VectorStore(Protocol):
    """Inner-product search over L2-normalised vectors keyed by int64 ids.

    Contract:
    - `add(ids, vectors)` stores rows; ids are unique and non-negative.
    - `remove(ids)` deletes rows; unknown ids are ignored. Returns how many were removed.
    - `search(queries, k)` returns (scores, ids), both shaped (n_queries, k), best first; missing slots
      have id -1 and score -inf. With `allowed` set, only those ids can be returned.
    - `save(dir)` writes files into an existing directory; `load(dir)` reads them back identically.
    """

    dim: int

    def __len__(self) -> int: ...

    def add(self, ids: Ids, vectors: npt.NDArray[np.float32]) -> None: ...

    def remove(self, ids: Ids) -> int: ...

    def search(self, queries: npt.NDArray[np.float32], k: int, allowed: Ids | None = None) -> tuple[Scores, Ids]: ...

    def save(self, directory: Path) -> list[Path]: ...
