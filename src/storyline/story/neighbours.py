"""Nearest documents by meaning: an approximate nearest-neighbour index of opening vectors.

Story detection asks, for each new document, which stored documents read most like it, and
takes their stories as the candidates; so the cost of assigning a document does not grow with
the number stored. The index is usearch's HNSW graph (cosine, half precision); below
``exact_below`` vectors it is searched exhaustively, which is exact and as fast at that size,
so small piles get the same answer whatever their order.

The index is a cache of what the store keeps (each document's vector is stored with its story
features): ``save`` writes it atomically, ``load`` reads it back and returns None when the file
is missing or unreadable, and the caller catches it up from the store with the documents stored
after its ``newest`` key. A killed run therefore costs a catch-up, never a wrong answer.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from usearch.index import Index

# HNSW graph degree: usearch's default; more links cost memory for little recall at our sizes.
CONNECTIVITY = 16


class VectorIndex:
    """Unit vectors under integer keys (document numbers), searched by cosine."""

    def __init__(self, dimensions: int, *, exact_below: int = 5_000) -> None:
        self.dimensions = dimensions
        self.exact_below = exact_below
        self._index = Index(ndim=dimensions, metric="cos", dtype="f16", connectivity=CONNECTIVITY)
        self.newest = -1  # the largest key added

    def __len__(self) -> int:
        return len(self._index)

    def keys(self) -> list[int]:
        """The keys held."""
        return [int(key) for key in np.asarray(self._index.keys)]

    def add(self, keys: Sequence[int], vectors: NDArray[np.float32]) -> None:
        """Add vectors under new keys (a writer's own in increasing order; another writer's,
        caught up with, may lie below ``newest``)."""
        if not len(keys):
            return
        # One thread: the graph, and so every later answer, is the same on every run.
        self._index.add(np.asarray(keys, dtype=np.uint64), np.asarray(vectors, dtype=np.float32),
                        threads=1)
        self.newest = max(self.newest, int(max(keys)))

    def nearest(self, vector: NDArray[np.float32], count: int) -> list[tuple[int, float]]:
        """Up to ``count`` (key, cosine similarity) pairs, most similar first."""
        if not len(self._index):
            return []
        matches = self._index.search(np.asarray(vector, dtype=np.float32), min(count, len(self)),
                                     exact=len(self) < self.exact_below, threads=1)
        return [(int(key), 1.0 - float(distance))
                for key, distance in zip(matches.keys, matches.distances)]

    def vector(self, key: int) -> NDArray[np.float32] | None:
        """The vector stored under ``key`` (as kept: half precision), None when there is none."""
        if key not in self._index:
            return None
        return np.asarray(self._index.get(key), dtype=np.float32).reshape(-1)

    def save(self, path: Path) -> None:
        """Write the index to ``path`` atomically (a reader never sees half a file)."""
        # A name of this process's own: two writers on one machine may save at once.
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        self._index.save(str(temporary))
        os.replace(temporary, path)

    @classmethod
    def load(cls, path: Path, dimensions: int, *, exact_below: int = 5_000) -> VectorIndex | None:
        """The index saved at ``path``; None when there is none or it cannot be read."""
        if not path.is_file():
            return None
        index = cls(dimensions, exact_below=exact_below)
        try:
            index._index.load(str(path))
        except (OSError, RuntimeError, ValueError):
            return None
        if index._index.ndim != dimensions:
            return None
        keys = np.asarray(index._index.keys)
        index.newest = int(keys.max()) if len(keys) else -1
        return index
