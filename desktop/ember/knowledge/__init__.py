"""The offline knowledge base: collections of documents, indexed for hybrid search.

:class:`KnowledgeBase` is the one object the CLI, the assistant and the Qt UI use::

    kb = KnowledgeBase()                       # under ember_paths().knowledge_dir
    report = kb.index([Path("~/notes")], collection="notes", progress=print, cancel=token)
    result = kb.search("how do I reset the router?", collections=["notes"], k=5)
    grounding = kb.retrieve("how do I reset the router?", ["notes"])   # the assistant's Retriever

Importing this package is cheap: SQLite opens on first use, FAISS on the first search or write,
torch and the embedding model on the first embedding. One process writes at a time (a lock file);
others may search meanwhile and see the index as of its last checkpoint.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from ember.errors import StorageError
from ember.files import shown_path

if TYPE_CHECKING:
    from filelock import BaseFileLock

    from ember.cancel import CancelToken
    from ember.knowledge.chunking import ChunkingOptions
    from ember.knowledge.embedder import Embedder
    from ember.knowledge.grounding import DocumentRetriever, GroundingOptions
    from ember.knowledge.ingest import Ingestor, IngestReport, Parser, ProgressEvent
    from ember.knowledge.listing import DocumentRow
    from ember.knowledge.repair import RepairReport
    from ember.knowledge.retrieval import RetrievalOptions, SearchResult
    from ember.knowledge.store import CollectionInfo, DocumentRecord, KnowledgeStore
    from ember.knowledge.types import Grounding
    from ember.knowledge.vectors import VectorIndex

__all__ = ["DEFAULT_COLLECTION", "KnowledgeBase"]

DEFAULT_COLLECTION = "default"
DB_NAME = "knowledge.sqlite3"
VECTORS_NAME = "vectors.faiss"
LOCK_NAME = "writer.lock"
_LOCK_WAIT_S = 3.0


class KnowledgeBase:
    """Collections of indexed documents in one folder (SQLite + FAISS)."""

    def __init__(
        self,
        directory: Path | None = None,
        *,
        embedder: Embedder | None = None,
        parse: Parser | None = None,
        chunking: ChunkingOptions | None = None,
        retrieval: RetrievalOptions | None = None,
        grounding: GroundingOptions | None = None,
        ann_threshold: int | None = None,
        checkpoint_s: float | None = None,
    ) -> None:
        if directory is None:
            from ember.paths import ember_paths

            directory = ember_paths().knowledge_dir
        self.directory = Path(directory)
        self._embedder = embedder
        self._parse = parse
        self._chunking = chunking
        self._retrieval = retrieval
        self._grounding = grounding
        self._ann_threshold = ann_threshold
        self._checkpoint_s = checkpoint_s
        self._store: KnowledgeStore | None = None
        self._vectors: VectorIndex | None = None
        self._vectors_stamp: tuple[int, int] | None = None
        self._lock = threading.RLock()
        self._lock_file: BaseFileLock | None = None  # held while this object is the writer
        self.repair_report: RepairReport | None = None

    # -- parts, opened on demand ----------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        """The embedding model (default: the process's shared MiniLM, 384 dimensions), created on
        first use; its weights load on the first embedding."""
        if self._embedder is None:
            from ember.knowledge.embedder import default_embedder

            self._embedder = default_embedder()
        return self._embedder

    @property
    def store(self) -> KnowledgeStore:
        """The SQLite store, opened and migrated on first use.

        Raises :class:`StorageError` if the file is damaged and :class:`~ember.errors.SchemaTooNew`
        if a newer Ember wrote it.
        """
        with self._lock:
            if self._store is None:
                from ember.knowledge.store import KnowledgeStore

                self._store = KnowledgeStore(self.directory / DB_NAME)
            return self._store

    @property
    def vectors(self) -> VectorIndex:
        """The vector index; re-read when another process saved a newer one (readers only)."""
        with self._lock:
            path = self.directory / VECTORS_NAME
            if self._vectors is None or (
                self._lock_file is None and self._stamp(path) != self._vectors_stamp
            ):
                from ember.knowledge.vectors import DEFAULT_ANN_THRESHOLD, VectorIndex

                threshold = self._ann_threshold or DEFAULT_ANN_THRESHOLD
                self._vectors_stamp = self._stamp(path)
                self._vectors = VectorIndex.open(
                    path, self.embedder.dimension, ann_threshold=threshold
                )
            return self._vectors

    @staticmethod
    def _stamp(path: Path) -> tuple[int, int] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    # -- reading --------------------------------------------------------------------------------

    def collections(self) -> list[CollectionInfo]:
        """Every collection with its count of searchable documents and chunks."""
        return self.store.collections()

    def documents(self, collection: str | None = None) -> list[DocumentRecord]:
        """Every document (done, pending or failed with its reason), by collection and path."""
        return self.store.documents(collection)

    def document_rows(self, collection: str) -> list[DocumentRow]:
        """``collection``'s documents as a list shows them: state, reason, passages, pages."""
        from ember.knowledge.listing import document_rows

        return document_rows(self.store, collection)

    def watched_folders(self) -> dict[str, tuple[str, ...]]:
        """The folders each collection watches, by collection name (none: absent)."""
        return self.store.watched_folders()

    def search(
        self, query: str, collections: Sequence[str] | None = None, k: int | None = None
    ) -> SearchResult:
        """The best chunks for ``query`` in ``collections`` (every collection when ``None``)."""
        from ember.knowledge.retrieval import HybridSearcher

        with self._lock:
            self._check_model()
            searcher = HybridSearcher(self.store, self.vectors, self.embedder, self._retrieval)
            return searcher.search(query, collections, k)

    def retrieve(self, question: str, collections: Sequence[str] | None) -> Grounding:
        """The assistant's Retriever protocol: sources + citations, or an abstention."""
        return self.retriever().retrieve(question, collections)

    def retriever(self, options: GroundingOptions | None = None) -> DocumentRetriever:
        """A :class:`DocumentRetriever` over this knowledge base with ``options`` (default: those
        given at construction)."""
        from ember.knowledge.grounding import DocumentRetriever

        return DocumentRetriever(self, options or self._grounding)

    def _check_model(self) -> None:
        from ember.knowledge.repair import META_MODEL

        recorded = self.store.get_meta(META_MODEL)
        if recorded is not None and recorded != self.embedder.name and self._lock_file is None:
            raise StorageError(
                f"Your documents were indexed with the embedding model {recorded}, but this Ember "
                f"uses {self.embedder.name}. Run `ember docs reindex` to index them again."
            )

    # -- writing --------------------------------------------------------------------------------

    def index(
        self,
        paths: Sequence[Path | str],
        collection: str = DEFAULT_COLLECTION,
        *,
        progress: Callable[[ProgressEvent], None] | None = None,
        cancel: CancelToken | None = None,
        watched: bool = False,
    ) -> IngestReport:
        """Index files and folders into ``collection``: new and changed files are (re)embedded,
        unchanged ones skipped, files gone from those folders removed; ``paths`` become the
        collection's roots (what a watch follows, :mod:`ember.knowledge.roots`).

        ``watched``: a run a watch started over the roots; a root that is not there (an unplugged
        drive, a folder moved away) is passed over and keeps its documents, and no roots are
        recorded. Only runs the person asks for forget documents under a missing root."""
        from ember.knowledge import roots

        _check_collection_name(collection)
        with self._lock:
            ingestor = self._ingestor()
            before = [] if watched else roots.files_before_roots(self.store, collection)
            report = ingestor.run(
                [Path(p) for p in paths],
                collection,
                progress=progress,
                cancel=cancel,
                watched=watched,
            )
            if not watched:
                roots.record_roots(self.store, collection, [*before, *paths])
            return report

    def reindex(
        self,
        collection: str | None = None,
        *,
        everything: bool = False,
        progress: Callable[[ProgressEvent], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> IngestReport:
        """Finish unfinished documents and retry failed ones; with ``everything``, redo all."""
        with self._lock:
            return self._ingestor().reindex(
                collection, everything=everything, progress=progress, cancel=cancel
            )

    def remove(self, path: Path | str, collection: str | None = None) -> int:
        """Forget a document, or every document under a folder; returns how many went. Roots
        and watched paths at or under it go too (no watch brings it back)."""
        from ember.knowledge.roots import forget_roots

        with self._lock:
            removed = self._remove(path, collection)
            forget_roots(
                self.store, os.path.abspath(os.fspath(Path(path).expanduser())), collection
            )
            return removed

    def _remove(self, path: Path | str, collection: str | None) -> int:
        target = os.path.abspath(os.fspath(Path(path).expanduser()))
        with self._lock:
            self._writer()
            removed = 0
            for record in self.store.documents(collection):
                # A name that is not UTF-8 may be given as it is shown, with U+FFFD.
                names = {record.path, shown_path(record.path)}
                if any(n == target or n.startswith(target.rstrip(os.sep) + os.sep) for n in names):
                    self.vectors.remove(self.store.remove_document(record.id))
                    removed += 1
            self.vectors.save()
            return removed

    def delete_collection(self, name: str) -> bool:
        """Delete a collection with its documents, chunks and vectors; False if there is none.

        Takes the writer's lock: :class:`StorageError` while another process indexes.
        """
        with self._lock:
            self._writer()
            if self.store.collection_id(name) is None:
                return False
            self.vectors.remove(self.store.delete_collection(name))
            self.vectors.save()
            return True

    def rename_collection(self, old: str, new: str) -> None:
        """Call collection ``old`` ``new``. Raises :class:`StorageError` for an invalid name, a
        name in use, no collection ``old``, or while another process indexes (writer's lock)."""
        _check_collection_name(new)
        with self._lock:
            self._writer()
            self.store.rename_collection(old, new)

    def add_collection(self, name: str, roots: Sequence[Path | str]) -> tuple[str, ...]:
        """Make collection ``name`` (kept as it is when it exists) with ``roots`` (files and
        folders) added to what it indexes, nothing read yet: indexing it with no paths
        (:meth:`redo`) reads them. Returns its roots now. Raises :class:`StorageError` for an
        invalid name, or while another process indexes (writer's lock)."""
        from ember.knowledge.roots import record_roots, recorded_roots

        _check_collection_name(name)
        with self._lock:
            self._writer()
            with self.store.transaction():
                self.store.collection_id(name, create=True)
            record_roots(self.store, name, roots)
            return recorded_roots(self.store, name)

    def watch_folders(self, collection: str, on: bool) -> tuple[str, ...]:
        """Start (``on``) or stop watching the files and folders added to ``collection`` (its
        roots; indexed before roots were recorded: its documents' files, never the folders
        around them); returns the paths now watched (absolute). :class:`StorageError` as above."""
        from ember.knowledge.roots import roots_to_watch

        with self._lock:
            self._writer()
            folders = roots_to_watch(self.store, collection) if on else []
            self.store.set_watched_folders(collection, folders)
            return tuple(folders)

    def redo(
        self,
        paths: Sequence[Path | str],
        collection: str,
        *,
        progress: Callable[[ProgressEvent], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> IngestReport:
        """Index ``paths`` of ``collection`` again from scratch (read, split and embedded anew,
        failed and skipped files retried, a deleted one forgotten); no paths: every document,
        or (a collection made with folders but never indexed, :meth:`add_collection`) its
        folders."""
        if not paths:
            from ember.knowledge.roots import recorded_roots

            roots = (
                () if self.store.documents(collection) else recorded_roots(self.store, collection)
            )
            if roots:
                return self.index(list(roots), collection, progress=progress, cancel=cancel)
            return self.reindex(collection, everything=True, progress=progress, cancel=cancel)
        from ember.knowledge.ingest import IngestReport

        with self._lock:
            removed = sum(self._remove(p, collection) for p in paths)  # roots stay
            present = [p for p in paths if os.path.lexists(p)]
            if not present:
                return IngestReport(removed=removed)
            return self.index(present, collection, progress=progress, cancel=cancel)

    def repair(self) -> RepairReport:
        """Take the writer's lock and make the vectors agree with SQLite (done on first write)."""
        with self._lock:
            self._writer()
            assert self.repair_report is not None
            return self.repair_report

    def _ingestor(self) -> Ingestor:
        from ember.knowledge.ingest import CHECKPOINT_S, Ingestor

        self._writer()
        return Ingestor(
            self.store,
            self.vectors,
            self.embedder,
            parse=self._parse,
            chunking=self._chunking,
            checkpoint_s=self._checkpoint_s if self._checkpoint_s is not None else CHECKPOINT_S,
        )

    def _writer(self) -> None:
        """Become the one writer: lock file, then reconcile FAISS with SQLite."""
        if self._lock_file is not None:
            return
        from filelock import FileLock, Timeout

        self.directory.mkdir(parents=True, exist_ok=True)
        # thread_local=False: close() may release it from another thread than the one that took it.
        lock = FileLock(self.directory / LOCK_NAME, timeout=_LOCK_WAIT_S, thread_local=False)
        try:
            lock.acquire(poll_interval=0.1)
        except Timeout:
            raise StorageError(
                "Another Ember process is indexing these documents right now (for example "
                "`ember index --watch`). Wait for it to finish, or stop it, and try again."
            ) from None
        self._lock_file = lock
        self._vectors = None  # reload: the last writer may have saved since we read it
        from ember.knowledge.repair import reconcile

        self.repair_report = reconcile(self.store, self.vectors, self.embedder)

    # -- lifetime -------------------------------------------------------------------------------

    def close(self) -> None:
        """Save the vectors if this object is the writer, close the database and release the
        writer's lock."""
        with self._lock:
            if self._vectors is not None and self._lock_file is not None:
                self._vectors.save()
            if self._store is not None:
                self._store.close()
                self._store = None
            self._vectors = None
            if self._lock_file is not None:
                self._lock_file.release()
                self._lock_file = None

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _check_collection_name(name: str) -> None:
    if not name or not name.strip() or len(name) > 200 or any(ord(c) < 32 for c in name):
        raise StorageError(f"{name!r} cannot be a collection name: use 1-200 printable characters.")
