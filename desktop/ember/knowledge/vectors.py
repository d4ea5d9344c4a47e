"""Chunk vectors in FAISS, keyed by SQLite chunk ids.

The durable store is an exact ``IndexIDMap2(IndexFlatIP)`` (``vectors.faiss``): inner product of
normalised vectors is cosine similarity. Past ``ann_threshold`` vectors, searches go through an
inverted-file index (``vectors.ivf``, IVF with 8-bit scalar-quantised codes) derived from it, and
its candidates are re-scored with the exact vectors, so scores stay exact cosines.

Why IVF and not HNSW: HNSW took ~130 s to build 100k vectors on 2 cores and cannot delete;
IVF trains its cells once (seconds, on a sample), then every add and remove is incremental, and
the 8-bit codes cost a quarter of the exact vectors' memory. The writer builds it in ``save``
once the threshold is crossed; until a built one exists, searches stay exact. The exact index
stays the truth; the IVF file is reconciled against it whenever it is loaded.

Files are written with ``faiss.write_index`` to a temporary file, fsynced, then renamed over the
old one (and the folder fsynced): a crash leaves either the old or the new file, never half of
one. No pickle.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ember.errors import StorageError

if TYPE_CHECKING:
    import numpy as np

DEFAULT_ANN_THRESHOLD = 200_000
IVF_LISTS = 1024  # cells; ~1k vectors each at 1M
IVF_TRAIN_PER_LIST = 40  # training sample per cell (k-means wants >= 39)
IVF_TRAIN_ITERATIONS = 10
# Cells searched per query. On clustered 384-d vectors at 1M (benchmarks/retrieval.py) recall@10
# was 0.94 at 8, 0.99 at 16 and 1.00 at 32. Real questions far from every chunk have looser
# neighbourhoods (0.92 on 3k real MiniLM vectors): 64 (~6% of 1M, ~4 ms) buys a margin.
IVF_PROBES = 64
RERANK_FACTOR = 4  # candidates re-scored exactly per result wanted


_configured = threading.local()


def _faiss() -> Any:
    import faiss

    if not getattr(_configured, "done", False):
        # FAISS's OpenMP threads spin-wait after each call and starve torch's own threads: the
        # next query embedding took 0.5 s instead of 15 ms. One query at a time gains nothing
        # from threads anyway (a 100k exact search is a few ms on one core). OpenMP's thread
        # count is per calling thread, so each thread that searches sets it.
        faiss.omp_set_num_threads(1)
        _configured.done = True
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
        self._ann_unusable: tuple[int, int] | None = None  # (mtime, size) of a bad IVF file
        self._sorted_ids: np.ndarray | None = None

    @property
    def ann_path(self) -> Path:
        return self.path.with_suffix(".ivf")

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
        if self.approximate and self._load_ann() is None:
            self._ann = self._build_ann()  # by the writer, so searching processes just load it
            self._ann_dirty = True
        if self._ann is not None and self._ann_dirty:
            _write_atomically(self._ann, self.ann_path)
            self._ann_dirty = False
            self.path.with_suffix(".hnsw").unlink(missing_ok=True)  # an older Ember's index

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
            self._ann.add_with_ids(vectors, ids)  # incremental: the cells are already trained
            self._ann_dirty = True

    def remove(self, ids: Any) -> int:
        import numpy as np

        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return 0
        selector = _faiss().IDSelectorBatch(ids)
        removed = int(self.index.remove_ids(selector))
        if removed:
            self.dirty = True
            self._sorted_ids = None
            if self._ann is not None:
                self._ann.remove_ids(selector)
                self._ann_dirty = True
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

        _faiss()  # this thread's OpenMP settings
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, self.dimension)
        if len(self) == 0 or k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        ann = None if exact or not self.approximate else self._load_ann()
        if ann is None:
            scores, ids = self.index.search(query, min(k, len(self)))
            keep = ids[0] >= 0
            return scores[0][keep], ids[0][keep]
        _, found = ann.search(query, max(k * RERANK_FACTOR, 64))
        found = found[0][found[0] >= 0]
        # Re-score with the exact vectors: 8-bit codes blur close scores, and callers compare
        # similarities against thresholds calibrated on exact cosines.
        exact_scores = self.reconstruct(found) @ query[0]
        order = np.argsort(-exact_scores, kind="stable")[:k]
        return exact_scores[order].astype(np.float32), found[order]

    def _contains(self, ids: np.ndarray) -> np.ndarray:
        import numpy as np

        if self._sorted_ids is None:
            self._sorted_ids = np.sort(self.ids())
        sorted_ids = self._sorted_ids
        if len(sorted_ids) == 0:
            return np.zeros(len(ids), dtype=bool)
        where = np.clip(np.searchsorted(sorted_ids, ids), 0, len(sorted_ids) - 1)
        return sorted_ids[where] == ids

    # -- the approximate index -----------------------------------------------------------------

    @property
    def ann_ready(self) -> bool:
        """Whether approximate searches have a built IVF index (in memory or saved)."""
        return self._load_ann() is not None

    def _load_ann(self) -> Any:
        """The IVF index in memory, else the saved one reconciled with the exact index, else None.

        Never builds: searching processes stay exact until the writer has saved one.
        """
        if self._ann is not None:
            return self._ann
        try:
            st = os.stat(self.ann_path)
        except OSError:
            return None  # not built yet (a stat per search until the writer saves one)
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._ann_unusable:
            return None
        faiss = _faiss()
        try:
            ann = faiss.read_index(os.fspath(self.ann_path))
        except RuntimeError:
            ann = None
        if ann is None or not isinstance(ann, faiss.IndexIVF) or ann.d != self.dimension:
            self._ann_unusable = stamp  # the writer's next save replaces it
            return None
        self._reconcile(ann)
        self._ann = ann
        return ann

    def _reconcile(self, ann: Any) -> None:
        """Make a loaded IVF index hold exactly the exact index's ids (a crash may part them)."""
        import numpy as np

        faiss = _faiss()
        ann.nprobe = min(IVF_PROBES, ann.nlist)
        ann_ids = _ivf_ids(ann)
        truth = self.ids()
        stale = np.setdiff1d(ann_ids, truth)
        if len(stale):
            ann.remove_ids(faiss.IDSelectorBatch(stale))
            self._ann_dirty = True
        missing = np.setdiff1d(truth, ann_ids)
        if len(missing):
            ann.add_with_ids(self.reconstruct(missing), missing)
            self._ann_dirty = True

    def _build_ann(self) -> Any:
        """Train the IVF cells on a sample of the vectors, then add them all (seconds at 1M)."""
        import numpy as np

        faiss = _faiss()
        total = len(self)
        lists = max(1, min(IVF_LISTS, total // IVF_TRAIN_PER_LIST))
        quantizer = faiss.IndexFlatIP(self.dimension)
        ann = faiss.IndexIVFScalarQuantizer(
            quantizer,
            self.dimension,
            lists,
            faiss.ScalarQuantizer.QT_8bit,
            faiss.METRIC_INNER_PRODUCT,
        )
        ann.cp.niter = IVF_TRAIN_ITERATIONS
        ann.nprobe = min(IVF_PROBES, lists)
        ids = self.ids()
        flat = faiss.downcast_index(self.index.index)
        # A zero-copy view of the stored vectors (row i has id ids[i]); valid until the next add.
        stored = faiss.rev_swig_ptr(flat.get_xb(), total * self.dimension).reshape(
            total, self.dimension
        )
        sample_size = min(total, lists * IVF_TRAIN_PER_LIST)
        rows = np.sort(np.random.default_rng(0).choice(total, sample_size, replace=False))
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # a build is worth every core
        try:
            ann.train(np.ascontiguousarray(stored[rows]))
            step = 50_000
            for start in range(0, total, step):
                ann.add_with_ids(stored[start : start + step], ids[start : start + step])
        finally:
            faiss.omp_set_num_threads(1)
        return ann


def _ivf_ids(ann: Any) -> np.ndarray:
    """Every id stored in an IVF index's cells."""
    import numpy as np

    faiss = _faiss()
    invlists = ann.invlists
    parts = [
        faiss.rev_swig_ptr(invlists.get_ids(cell), size).copy()
        for cell in range(ann.nlist)
        if (size := invlists.list_size(cell))
    ]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)


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
