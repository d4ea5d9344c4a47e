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

Beside each file, ``<name>.check`` (JSON) records its size and CRC-32, so a damaged file is caught
before FAISS parses it (FAISS trusts the counts in a file, and a flipped bit in one can exhaust
memory or crash). The check file is replaced first and also accepts the file it replaces, so a
crash between the two renames leaves a pair that still agrees. A file without a check file (from
an older Ember) is handed to FAISS as before, and gains one at the next save.
"""

from __future__ import annotations

import json
import os
import threading
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ember.errors import StorageError
from ember.files import replacing as replacing_file
from ember.files import write_atomically

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    # Chunk ids: SQLite's integer primary keys, as a sequence of ints or a 1-d integer array.
    Ids = Sequence[int] | npt.NDArray[np.integer[Any]]

DEFAULT_ANN_THRESHOLD = 200_000
IVF_LISTS = 1024  # cells; ~1k vectors each at 1M
IVF_TRAIN_PER_LIST = 40  # training sample per cell (k-means wants >= 39)
IVF_TRAIN_ITERATIONS = 10
# Cells searched per query. On clustered 384-d vectors at 1M (benchmarks/retrieval.py) recall@10
# was 0.94 at 8, 0.99 at 16 and 1.00 at 32. Real questions far from every chunk have looser
# neighbourhoods (0.92 on 3k real MiniLM vectors): 64 (~6% of 1M, ~4 ms) buys a margin.
IVF_PROBES = 64
RERANK_FACTOR = 4  # candidates re-scored exactly per result wanted

CHECK_SUFFIX = ".check"
_CHECK_FORMAT = 1
# What a person can do about an unusable vector file; SQLite keeps every chunk's text.
REBUILD_ADVICE = (
    "Ember rebuilds the vectors from the text in its database (no document is read again) the "
    "next time you index, or now with `ember docs reindex`; until then, documents indexed "
    "before are left out of search."
)

Fingerprint = tuple[int, int]  # (size in bytes, CRC-32) of a saved file


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
        # The fingerprints of the files on disk as this object last read or wrote them: a save
        # lets its check file accept them too, in case the save dies before its rename.
        self._on_disk: dict[Path, Fingerprint] = {}

    @property
    def ann_path(self) -> Path:
        """The approximate (IVF) index's file: the exact index's path with suffix ``.ivf``."""
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
        faiss = _faiss()
        loaded: Any = None
        problem: str | None = None
        for _ in range(3):  # again if a writer replaced the file while it was being read
            before = _identity(path)
            if before is None:
                return vectors
            fingerprint, problem = _verify(path)
            loaded = None
            if problem is None:
                try:
                    loaded = faiss.read_index(os.fspath(path))
                except RuntimeError:  # FAISS's own text names C++ internals, not the remedy
                    problem = (
                        f"the vector file {path.name} could not be read (it is damaged, or not "
                        "a FAISS index)"
                    )
            if _identity(path) == before:
                break
        if problem is None and (not isinstance(loaded, faiss.IndexIDMap2) or loaded.d != dimension):
            problem = (
                f"the vector file {path.name} holds {loaded.d}-dimensional vectors, not "
                f"{dimension} (it was made for another embedding model)"
            )
        if problem is not None:
            vectors.load_problem = f"{problem}. {REBUILD_ADVICE}"
            vectors.dirty = True  # the next save replaces the unusable file
            return vectors
        vectors.index = loaded
        if fingerprint is not None:
            vectors._on_disk[path] = fingerprint
        return vectors

    def save(self) -> None:
        """Write the index durably (temp file, fsync, rename) if it changed."""
        if self.dirty:
            self._write(self.index, self.path)
            self.dirty = False
        if self.approximate and self._load_ann() is None:
            self._ann = self._build_ann()  # by the writer, so searching processes just load it
            self._ann_dirty = True
        if self._ann is not None and self._ann_dirty:
            self._write(self._ann, self.ann_path)
            self._ann_dirty = False
            self.path.with_suffix(".hnsw").unlink(missing_ok=True)  # an older Ember's index

    def _write(self, index: Any, path: Path) -> None:
        self._on_disk[path] = _write_atomically(index, path, self._on_disk.get(path))

    # -- contents ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def ids(self) -> np.ndarray:
        """Every stored id, shape ``(len(self),)``, int64, in storage order (not sorted)."""
        faiss = _faiss()
        return faiss.vector_to_array(self.index.id_map).astype("int64", copy=False)

    def add(self, ids: Ids, vectors: npt.ArrayLike) -> None:
        """Add ``vectors`` (shape ``(len(ids), dimension)``, converted to float32) under ``ids``.

        The vectors should be L2-normalised (inner product is then cosine similarity); ids must
        not be present already (FAISS would keep both). Nothing is written until :meth:`save`.
        Raises :class:`ValueError` if the shape does not match.
        """
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

    def remove(self, ids: Ids) -> int:
        """Remove the vectors of ``ids`` (absent ids are ignored); returns how many went.

        Nothing is written until :meth:`save`.
        """
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

    def reconstruct(self, ids: Ids) -> np.ndarray:
        """The stored vectors of ``ids``: shape ``(len(ids), dimension)``, float32, in order.

        Each id must be present; FAISS raises :class:`RuntimeError` for one that is not.
        """
        import numpy as np

        out = np.empty((len(ids), self.dimension), dtype=np.float32)
        for row, chunk_id in enumerate(ids):
            out[row] = self.index.reconstruct(int(chunk_id))
        return out

    # -- search --------------------------------------------------------------------------------

    @property
    def approximate(self) -> bool:
        """Whether ``ann_threshold`` or more vectors are stored, so that searches go through the
        approximate index once one is saved."""
        return len(self) >= self.ann_threshold

    def search(
        self, query: npt.ArrayLike, k: int, *, exact: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` stored vectors nearest ``query``, best first: ``(similarities, ids)``.

        ``query`` is one normalised vector of ``dimension`` floats (any shape that reshapes to
        ``(1, dimension)``). Returns two 1-d arrays of at most ``k`` items: cosine similarities
        (float32, -1..1, exact even when the approximate index found the candidates) and their
        ids (int64). Fewer than ``k`` come back when fewer are stored. ``exact`` skips the
        approximate index.
        """
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
        """A boolean array, shape ``ids.shape``: which of ``ids`` (int64) are stored."""
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
        fingerprint, problem = _verify(self.ann_path)
        try:
            ann = None if problem else faiss.read_index(os.fspath(self.ann_path))
        except RuntimeError:
            ann = None
        if ann is None or not isinstance(ann, faiss.IndexIVF) or ann.d != self.dimension:
            self._ann_unusable = stamp  # the writer's next save replaces it
            return None
        self._reconcile(ann)
        self._ann = ann
        if fingerprint is not None:
            self._on_disk[self.ann_path] = fingerprint
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


def _write_atomically(index: Any, path: Path, replacing: Fingerprint | None) -> Fingerprint:
    """Write ``index`` to ``path`` and its check file; returns the new file's fingerprint.

    ``replacing`` is the fingerprint of the file now at ``path`` (if known and sound): the new
    check file accepts it too, for the moment between the two renames.
    """
    faiss = _faiss()
    try:
        with replacing_file(path) as temp:
            faiss.write_index(index, os.fspath(temp))
            fingerprint = _fingerprint(temp)  # read back from the page cache: fast
            accepted = [fingerprint] + (
                [replacing] if replacing and replacing != fingerprint else []
            )
            _write_check(path, accepted)  # replaced first: see the module's docstring
    except (OSError, RuntimeError) as exc:
        raise StorageError(
            f"Could not save the vector index to {path} ({exc}). Free some disk space and index "
            "again; nothing already indexed was lost."
        ) from None
    return fingerprint


def check_path(path: Path) -> Path:
    """Where the size and checksum of the index file ``path`` are kept."""
    return path.with_name(path.name + CHECK_SUFFIX)


def _write_check(path: Path, accepted: list[Fingerprint]) -> None:
    record = {
        "format": _CHECK_FORMAT,
        "accept": [{"size": size, "crc32": crc} for size, crc in accepted],
    }
    write_atomically(check_path(path), json.dumps(record))


def _read_check(path: Path) -> list[Fingerprint] | None:
    """The fingerprints the check file accepts, or None if there is no usable check file."""
    try:
        with open(check_path(path), encoding="utf-8") as handle:
            record = json.load(handle)
        if record.get("format") != _CHECK_FORMAT:
            return None
        return [(int(item["size"]), int(item["crc32"])) for item in record["accept"]]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None  # no check file (an older Ember's index), or an unreadable one


def _fingerprint(path: Path) -> Fingerprint:
    crc, size = 0, 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            crc = zlib.crc32(block, crc)
            size += len(block)
    return size, crc


def _verify(path: Path) -> tuple[Fingerprint | None, str | None]:
    """``(fingerprint, None)`` if ``path`` may go to FAISS, else ``(None, what is wrong)``.

    Read the file before the check file: a writer replaces the check file first, so the check
    file read afterwards accepts whatever file was there (see :meth:`VectorIndex.open`).
    """
    try:
        fingerprint = _fingerprint(path)
    except OSError as exc:
        return None, f"the vector file {path.name} could not be read ({exc.strerror or exc})"
    accepted = _read_check(path)
    if accepted is None or fingerprint in accepted:
        return fingerprint, None
    if fingerprint[0] not in {size for size, _ in accepted}:
        what = f"{fingerprint[0]:,} bytes long where {accepted[0][0]:,} were saved"
    else:
        what = "its contents do not match the checksum saved with it"
    return None, f"the vector file {path.name} is damaged ({what})"


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)
