"""Chunk vectors in FAISS, keyed by SQLite chunk ids.

The durable store is an exact ``IndexIDMap2(IndexFlatIP)`` (``vectors.faiss``): inner product of
normalised vectors is cosine similarity. Past ``ann_threshold`` vectors, searches go through an
HNSW index (``vectors.hnsw``) derived from it: HNSW cannot delete, so removed ids stay in it as
tombstones that searches skip, and it is rebuilt once they pile up. The exact index stays the
truth; the HNSW file is reconciled against it whenever it is loaded.

Files are written with ``faiss.write_index`` to a temporary file, fsynced, then renamed over the
old one (and the folder fsynced): a crash leaves either the old or the new file, never half of
one. No pickle.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ember.errors import StorageError

if TYPE_CHECKING:
    import numpy as np

DEFAULT_ANN_THRESHOLD = 200_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
HNSW_EF_SEARCH = 256  # recall@10 0.92 on random 384-d vectors (worst case), ~2 ms
_TOMBSTONE_REBUILD_FRACTION = 0.1


_configured = False


def _faiss() -> Any:
    global _configured
    import faiss

    if not _configured:
        # FAISS's OpenMP threads spin-wait after each call and starve torch's own threads: the
        # next query embedding took 0.5 s instead of 15 ms. One query at a time gains nothing
        # from threads anyway (a 100k exact search is a few ms on one core).
        faiss.omp_set_num_threads(1)
        _configured = True
    return faiss


class VectorIndex:
    """Normalised float32 vectors with int64 ids; exact search, approximate past a threshold."""

    def __init__(
        self, path: Path, dimension: int, *, ann_threshold: int = DEFAULT_ANN_THRESHOLD
    ) -> None:
        faiss = _faiss()
        self.path = path
        self.dimension = dimension
        self.ann_threshold = ann_threshold
        self.index: Any = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        self.dirty = False
        self.load_problem: str | None = None  # why an existing file was not usable
        self._ann: Any = None
        self._ann_dirty = False
        self._tombstones = 0
        self._sorted_ids: np.ndarray | None = None

    @property
    def ann_path(self) -> Path:
        return self.path.with_suffix(".hnsw")

    # -- loading and saving --------------------------------------------------------------------

    @classmethod
    def open(
        cls, path: Path, dimension: int, *, ann_threshold: int = DEFAULT_ANN_THRESHOLD
    ) -> VectorIndex:
        """Load ``path`` if it holds a usable index of this dimension, else start empty.

        An unusable file is not fatal: SQLite is the truth, and the caller re-embeds whatever
        has no vector. ``load_problem`` says what happened.
        """
        vectors = cls(path, dimension, ann_threshold=ann_threshold)
        if not path.exists():
            return vectors
        faiss = _faiss()
        try:
            loaded = faiss.read_index(os.fspath(path))
        except RuntimeError as exc:
            vectors.load_problem = f"the vector file could not be read ({exc})"
            vectors.dirty = True
            return vectors
        if not isinstance(loaded, faiss.IndexIDMap2) or loaded.d != dimension:
            vectors.load_problem = (
                f"the vector file holds {loaded.d}-dimensional vectors, not {dimension}"
            )
            vectors.dirty = True
            return vectors
        vectors.index = loaded
        return vectors

    def save(self) -> None:
        """Write the index durably (temp file, fsync, rename) if it changed."""
        if self.dirty:
            _write_atomically(self.index, self.path)
            self.dirty = False
        if self.approximate:
            self._ensure_ann()  # built by the writer, so searching processes can just load it
        if self._ann is not None and self._ann_dirty:
            _write_atomically(self._ann, self.ann_path)
            self._ann_dirty = False

    # -- contents ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def ids(self) -> np.ndarray:
        faiss = _faiss()
        return faiss.vector_to_array(self.index.id_map).astype("int64", copy=False)

    def add(self, ids: Any, vectors: Any) -> None:
        import numpy as np

        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(ids) == 0:
            return
        if vectors.shape != (len(ids), self.dimension):
            raise ValueError(
                f"expected {len(ids)} vectors of {self.dimension}, got {vectors.shape}"
            )
        self.index.add_with_ids(vectors, ids)
        self.dirty = True
        self._sorted_ids = None
        if self._ann is not None:
            self._ann.add_with_ids(vectors, ids)
            self._ann_dirty = True

    def remove(self, ids: Any) -> int:
        import numpy as np

        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return 0
        removed = int(self.index.remove_ids(_faiss().IDSelectorBatch(ids)))
        if removed:
            self.dirty = True
            self._sorted_ids = None
            self._tombstones += removed if self._ann is not None else 0
        return removed

    def reconstruct(self, ids: Any) -> np.ndarray:
        """The stored vectors of ``ids`` (each must be present)."""
        import numpy as np

        out = np.empty((len(ids), self.dimension), dtype=np.float32)
        for row, chunk_id in enumerate(ids):
            out[row] = self.index.reconstruct(int(chunk_id))
        return out

    # -- search --------------------------------------------------------------------------------

    @property
    def approximate(self) -> bool:
        return len(self) >= self.ann_threshold

    def search(self, query: Any, k: int, *, exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` (scores, ids) for one normalised query vector; ids of -1 pad a short result."""
        import numpy as np

        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, self.dimension)
        if len(self) == 0 or k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        if exact or not self.approximate:
            scores, ids = self.index.search(query, min(k, len(self)))
            keep = ids[0] >= 0
            return scores[0][keep], ids[0][keep]
        ann = self._ensure_ann()
        wanted = min(k + self._tombstones, k * 4 + 16)
        scores, ids = ann.search(query, wanted)
        scores, ids = scores[0], ids[0]
        keep = ids >= 0
        if self._tombstones:
            keep &= self._contains(ids)
        return scores[keep][:k], ids[keep][:k]

    def _contains(self, ids: np.ndarray) -> np.ndarray:
        import numpy as np

        if self._sorted_ids is None:
            self._sorted_ids = np.sort(self.ids())
        sorted_ids = self._sorted_ids
        if len(sorted_ids) == 0:
            return np.zeros(len(ids), dtype=bool)
        where = np.clip(np.searchsorted(sorted_ids, ids), 0, len(sorted_ids) - 1)
        return sorted_ids[where] == ids

    def _ensure_ann(self) -> Any:
        """The HNSW index, loaded from disk and reconciled, or built from the exact one."""
        import numpy as np

        if self._ann is not None and self._tombstones <= _TOMBSTONE_REBUILD_FRACTION * len(self):
            return self._ann
        faiss = _faiss()
        ann = None
        if self._ann is None and self.ann_path.exists():
            try:
                ann = faiss.read_index(os.fspath(self.ann_path))
            except RuntimeError:
                ann = None
            if ann is not None and ann.d != self.dimension:
                ann = None
        if ann is not None:
            ann_ids = faiss.vector_to_array(ann.id_map).astype(np.int64)
            truth = self.ids()
            stale = np.setdiff1d(ann_ids, truth, assume_unique=True)
            if len(stale) <= _TOMBSTONE_REBUILD_FRACTION * len(truth):
                missing = np.setdiff1d(truth, ann_ids, assume_unique=True)
                if len(missing):
                    ann.add_with_ids(self.reconstruct(missing), missing)
                    self._ann_dirty = True
                self._ann, self._tombstones = ann, len(stale)
                faiss.downcast_index(ann.index).hnsw.efSearch = HNSW_EF_SEARCH
                return ann
        self._ann = self._build_ann()
        self._tombstones = 0
        self._ann_dirty = True
        return self._ann

    def _build_ann(self) -> Any:
        faiss = _faiss()
        hnsw = faiss.IndexHNSWFlat(self.dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        hnsw.hnsw.efSearch = HNSW_EF_SEARCH
        ann = faiss.IndexIDMap2(hnsw)
        total = len(self)
        ids = self.ids()
        step = 50_000
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # a build is worth every core
        try:
            for start in range(0, total, step):
                end = min(total, start + step)
                ann.add_with_ids(self.index.index.reconstruct_n(start, end - start), ids[start:end])
        finally:
            faiss.omp_set_num_threads(1)
        return ann


def _write_atomically(index: Any, path: Path) -> None:
    faiss = _faiss()
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        faiss.write_index(index, os.fspath(temp))
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except (OSError, RuntimeError) as exc:
        try:
            temp.unlink()
        except OSError:
            pass
        raise StorageError(
            f"Could not save the vector index to {path} ({exc}). Free some disk space and index "
            "again; nothing already indexed was lost."
        ) from None
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # Windows cannot open folders; its rename is durable enough there
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
