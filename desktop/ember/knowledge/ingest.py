"""The indexing pipeline: discover → skip unchanged → parse → chunk → record → embed → checkpoint.

Durability protocol (what makes ``kill -9`` at any point harmless):

1. A (re)parsed document's chunks are committed to SQLite in one transaction, state ``pending``.
2. Its chunks are embedded in batches (chunks of many small files share a batch) and added to
   the in-memory FAISS index.
3. At a checkpoint (every few seconds, at cancel and at the end) the FAISS file is written
   atomically, and only then are the documents whose every vector it holds marked ``done``.

On open, :func:`ember.knowledge.repair.reconcile` makes FAISS agree with SQLite: vectors without a
chunk row are removed, ``done`` documents with missing vectors become ``pending``, and ``pending`` documents whose vectors
all made it are ``done``. A resumed run embeds exactly the chunks still missing, so it ends with
the same chunks a clean run makes. Searches only ever see ``done`` documents.

Unchanged files cost a ``stat``: size and mtime equal to the record's mean skip; otherwise the
content hash decides.

A document gets at most ``ChunkingOptions.max_chunks`` chunks (15,000 by default): a 200 MB
one-line file would otherwise be ~116k chunks and an hour of embedding. Its first chunks are
indexed and the report carries a warning naming the file, rather than failing it: the beginning
of a huge log or dump is still worth finding. Chunks are made lazily, so the cap also bounds the
memory and tokenizing such a file costs. Parser notes (replaced bytes, unreadable PDF pages,
truncated text) reach the report as warnings too; files read by OCR are listed in it with their
pages and mean confidence (a warning too when that is low), and every document keeps how its text
was obtained.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ember.cancel import CancelToken
from ember.errors import IngestError
from ember.files import shown_path
from ember.knowledge.chunking import Chunk, ChunkingOptions
from ember.knowledge.embedder import Embedder
from ember.knowledge.freshness import source_state
from ember.knowledge.keywords import mostly_cjk
from ember.knowledge.progress import ProgressEvent, ProgressMeter
from ember.knowledge.read_ahead import Prepared, ReadAhead
from ember.knowledge.store import DocumentRecord, KnowledgeStore
from ember.knowledge.types import OcrRead, ParsedDocument
from ember.knowledge.vectors import VectorIndex

if TYPE_CHECKING:
    import numpy as np

    from ember.knowledge.page_progress import PageCallback

Parser = Callable[[Path], ParsedDocument]

CHECKPOINT_S = 5.0
# Chunks gathered before embedding: many small files fill one batch, and sorting a pool by
# length keeps padding (wasted attention) low.
EMBED_POOL = 256
# Batches are sized to take about this long, so a cancel is honoured within a second while the
# batch stays as large as the machine's speed allows (larger batches embed faster per chunk).
BATCH_TARGET_S = 0.8
MIN_BATCH, MAX_BATCH = 16, 64
# Discovery reasons that are not failures when met inside a folder the user chose.
_QUIET_SKIPS = ("hidden", "cache folder", "Ember's own data folder", "unsupported file type")

# Said once per document written mostly in Chinese, Japanese or Korean.
CJK_NOTE = (
    "mostly Chinese, Japanese or Korean text: the built-in embedding model understands English "
    "only, so this document is found by its words rather than by meaning"
)


@dataclass(frozen=True, slots=True)
class Failure:
    """A file that could not be indexed, with the reason a person reads."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class Notice:
    """Something a person should know about a file that was indexed anyway (it is searchable)."""

    path: str
    message: str


@dataclass(slots=True)
class IngestReport:
    """What an indexing run did: documents and chunks counted, failures and warnings; ``elapsed_s``
    and ``stages`` in seconds."""

    indexed: int = 0  # documents (re)indexed in this run
    skipped: int = 0  # unchanged documents
    removed: int = 0  # documents whose files are gone
    chunks: int = 0  # chunks embedded in this run
    failed: list[Failure] = field(default_factory=list)
    # Indexed, but not all of it or not cleanly: "indexed only the first 15,000 chunks ...".
    warnings: list[Notice] = field(default_factory=list)
    # Files read by OCR, with how many pages and how surely (a warning too where that is low).
    ocr: list[OcrRead] = field(default_factory=list)
    # Files recorded as skipped with their reason (a binary file, an empty one): listed, not read.
    passed_over: list[Failure] = field(default_factory=list)
    cancelled: bool = False
    elapsed_s: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage

    def as_json(self) -> dict[str, object]:
        """The counts, failures and warnings as a JSON-ready dict (no timings)."""
        return {
            "indexed": self.indexed,
            "skipped": self.skipped,
            "failed": [{"path": shown_path(f.path), "reason": f.reason} for f in self.failed],
            "chunks": self.chunks,
            "warnings": [{"path": shown_path(w.path), "message": w.message} for w in self.warnings],
            "removed": self.removed,
            "ocr": [
                {
                    "path": shown_path(o.path),
                    "pages": o.source.ocr_pages,
                    "confidence": o.source.ocr_confidence,
                }
                for o in self.ocr
            ],
            "skipped_files": [
                {"path": shown_path(f.path), "reason": f.reason} for f in self.passed_over
            ],
            "cancelled": self.cancelled,
        }


@dataclass(slots=True)
class _Plan:
    path: str
    size: int
    mtime_ns: int
    kind: str
    record: DocumentRecord | None


class Ingestor:
    """Runs indexing passes over one store + vector index with one embedder (one thread)."""

    def __init__(
        self,
        store: KnowledgeStore,
        vectors: VectorIndex,
        embedder: Embedder,
        *,
        parse: Parser | None = None,
        chunking: ChunkingOptions | None = None,
        checkpoint_s: float = CHECKPOINT_S,
        batch_size: int = 32,
    ) -> None:
        self.store = store
        self.vectors = vectors
        self.embedder = embedder
        self.parse = parse
        self.chunking = chunking or ChunkingOptions(max_tokens=embedder.max_tokens - 2)
        self.checkpoint_s = checkpoint_s
        self.batch_size = batch_size

    # -- entry points --------------------------------------------------------------------------

    def run(
        self,
        inputs: Sequence[Path],
        collection: str,
        *,
        progress: Callable[[ProgressEvent], None] | None = None,
        cancel: CancelToken | None = None,
        watched: bool = False,
    ) -> IngestReport:
        """Index files and folders into ``collection``; gone files under them are removed.
        ``watched`` (a watch's run): inputs not there now are passed over, documents kept."""
        from ember.knowledge.discover import Candidate, discover

        if watched:  # an unplugged drive must not empty the collection
            inputs = [p for p in inputs if os.path.exists(p)]

        run = _Run(self, collection, progress, cancel)
        run.emit(phase="discovering", stage="discovering")
        started = time.perf_counter()
        explicit = {os.path.abspath(os.fspath(p)) for p in inputs}
        plans: list[_Plan] = []
        kept: set[str] = set()  # files skipped, with their reason kept in the store
        for found in discover([Path(p) for p in inputs]):
            path = os.path.abspath(os.fspath(found.path))
            if isinstance(found, Candidate):
                record = self.store.document(collection, path)
                plans.append(_Plan(path, found.size, found.mtime_ns, found.kind, record))
            elif found.reason == "not found" and self.store.document(collection, path):
                continue  # a named file that was deleted: forgotten below, not a failure
            elif path in explicit or not found.reason.startswith(_QUIET_SKIPS):
                if found.reason != "empty file" or path in explicit:
                    run.report.failed.append(Failure(path, found.reason))
                if run.keep_skip(path, found.reason):
                    kept.add(path)
            elif found.reason.startswith(_QUIET_SKIPS[-1]) and run.keep_skip(path, found.reason):
                kept.add(path)  # a binary file, a photo: listed with its reason, not a failure
        run.stage("discover", started)
        seen = {plan.path for plan in plans} | kept
        run.remove_gone([p for p in inputs if not watched or os.path.exists(p)], seen)
        run.process(plans)
        return run.finish()

    def reindex(
        self,
        collection: str | None = None,
        *,
        everything: bool = False,
        progress: Callable[[ProgressEvent], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> IngestReport:
        """Bring the stored documents up to date: unfinished ones, and finished ones whose file
        was deleted (forgotten) or changed (indexed again) since; all with ``everything``."""
        from ember.knowledge.discover import Candidate, discover

        report = IngestReport()
        by_collection: dict[str, list[tuple[DocumentRecord, str]]] = {}
        for record in self.store.documents(collection):
            state = source_state(record.path, record.size, record.mtime_ns)
            if everything or record.state != "done" or state != "ok":
                by_collection.setdefault(record.collection, []).append((record, state))
        for name, records in by_collection.items():
            run = _Run(self, name, progress, cancel)
            plans = []
            for record, state in records:
                if state == "unavailable":  # an unplugged drive: keep what was indexed
                    continue
                if state == "deleted":
                    self.vectors.remove(self.store.remove_document(record.id))
                    run.report.removed += 1
                    continue
                # The checks indexing made (a FIFO, an empty or huge file...) apply again.
                found = next(iter(discover([Path(record.path)])), None)
                if not isinstance(found, Candidate):
                    if found is not None:
                        run.keep_skip(record.path, found.reason)
                    continue
                # Forget what we knew (parse and embed again) for everything and for failures.
                known = None if everything or record.state == "failed" else record
                plans.append(_Plan(record.path, found.size, found.mtime_ns, found.kind, known))
            run.process(plans)
            part = run.finish()
            report.indexed += part.indexed
            report.skipped += part.skipped
            report.removed += part.removed
            report.chunks += part.chunks
            report.failed.extend(part.failed)
            report.warnings.extend(part.warnings)
            report.ocr.extend(part.ocr)
            report.passed_over.extend(part.passed_over)
            report.cancelled = report.cancelled or part.cancelled
            report.elapsed_s += part.elapsed_s
            if part.cancelled:
                break
        return report


class _Run:
    """State of one indexing pass."""

    def __init__(
        self,
        owner: Ingestor,
        collection: str,
        progress: Callable[[ProgressEvent], None] | None,
        cancel: CancelToken | None,
    ) -> None:
        self.owner = owner
        self.store = owner.store
        self.vectors = owner.vectors
        self.embedder = owner.embedder
        self.collection = collection
        self.progress = progress
        self.cancel = cancel
        self.report = IngestReport()
        self.started = time.perf_counter()
        self.last_checkpoint = self.started
        self.meter = ProgressMeter()
        self.pool: list[tuple[int, int, str]] = []  # (document id, chunk id, text to embed)
        self.remaining: dict[int, int] = {}  # document id -> chunks still to embed
        self.embedded_documents: list[int] = []  # all vectors in memory, not yet saved
        self._parser_pool: object | None = None
        self.reader: ReadAhead | None = None

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.cancelled

    def stage(self, name: str, since: float) -> None:
        self.report.stages[name] = self.report.stages.get(name, 0.0) + time.perf_counter() - since

    def emit(self, phase: str = "indexing", stage: str = "reading") -> None:
        if self.progress is not None:
            self.progress(
                self.meter.event(
                    phase=phase,
                    stage=stage,
                    chunks_done=self.report.chunks,
                    failed=len(self.report.failed),
                )
            )

    def keep_skip(self, path: str, reason: str) -> bool:
        """Record a file that discovery skipped (empty, too large, unreadable...) as failed with
        its reason, so that the documents list shows it instead of losing it. Returns whether it
        was recorded: not for a path that is not a file (missing, a folder)."""
        try:
            st = os.lstat(path)
        except OSError:
            return False
        if stat.S_ISDIR(st.st_mode):
            return False
        self.report.passed_over.append(Failure(path, reason))
        record = self.store.document(self.collection, path)
        if record is not None and record.skipped and record.error == reason:
            if (record.size, record.mtime_ns) == (st.st_size, st.st_mtime_ns):
                return True
        self.vectors.remove(
            self.store.record_failure(
                self.collection,
                path,
                reason,
                size=st.st_size,
                mtime_ns=st.st_mtime_ns,
                skipped=True,
            )
        )
        return True

    # -- removal -------------------------------------------------------------------------------

    def remove_gone(self, inputs: Sequence[Path], seen: set[str]) -> None:
        """Documents under the given folders (or named files) that discovery no longer finds."""
        roots = [os.path.abspath(os.fspath(p)) for p in inputs]
        for record in self.store.documents(self.collection):
            if record.path in seen:
                continue
            if any(
                record.path == root or record.path.startswith(root.rstrip(os.sep) + os.sep)
                for root in roots
            ):
                self.vectors.remove(self.store.remove_document(record.id))
                self.report.removed += 1

    # -- the work ------------------------------------------------------------------------------

    def process(self, plans: Iterable[_Plan]) -> None:
        plans = list(plans)
        meter = self.meter
        meter.files_total = len(plans)
        todo: list[_Plan] = []
        for plan in plans:
            record = plan.record
            if record is not None and record.size == plan.size and record.mtime_ns == plan.mtime_ns:
                if record.state == "done":
                    self.report.skipped += 1
                    meter.files_done += 1
                    continue
                if record.state == "failed":
                    self.report.skipped += 1
                    self.report.failed.append(Failure(plan.path, record.error or "failed"))
                    meter.files_done += 1
                    continue
            todo.append(plan)
        meter.bytes_total = sum(p.size for p in todo)
        self.emit()
        if self.owner.parse is None and todo:
            from ember.knowledge.sandbox import ParserPool

            self._parser_pool = ParserPool()  # here, not on the read-ahead thread: closed below
        reader = self.reader = ReadAhead(
            self.parse, self.embedder.count_tokens, self.owner.chunking
        )
        try:
            if todo:
                reader.submit(todo[0].path, todo[0].record)
            for number, plan in enumerate(todo):
                if self.cancelled:
                    break
                meter.start_file(plan.path, plan.size)
                self.emit()
                prepared = reader.wait(
                    plan.path, cancelled=lambda: self.cancelled, on_wait=self._reading
                )
                if prepared is None:
                    break  # cancelled while reading: nothing of this file was recorded
                last_page = reader.take_page(plan.path)
                if last_page is not None:  # the last page read always shows
                    meter.page, meter.pages, meter.ocr = last_page
                    self.emit()
                if number + 1 < len(todo):  # read the next file while this one embeds
                    reader.submit(todo[number + 1].path, todo[number + 1].record)
                self.index_file(plan, prepared)
                meter.end_file()
                if len(self.pool) >= EMBED_POOL:
                    self.embed_pool()
                self.maybe_checkpoint()
            if not self.cancelled:
                self.embed_pool()
        finally:
            meter.current = None
            self.emit(phase="saving", stage="saving")
            self.checkpoint()
            self._close_parser()  # stops a parse still running for a file read ahead
            reader.close()

    def _reading(self) -> None:
        """Still waiting for the current file's text: tell which page the parser is on."""
        page = self.reader.take_page(self.meter.current or "") if self.reader else None
        if page is not None:
            self.meter.page, self.meter.pages, self.meter.ocr = page
        self.emit()

    def index_file(self, plan: _Plan, prepared: Prepared) -> None:
        """Record one file read by :func:`~ember.knowledge.read_ahead.prepare` (this thread
        writes; the read ahead never does)."""
        record = plan.record
        for stage_name, seconds in prepared.seconds.items():
            self.report.stages[stage_name] = self.report.stages.get(stage_name, 0.0) + seconds
        if prepared.digest is None or prepared.error is not None:
            self.fail(plan, prepared.error or "cannot read the file")
            return
        digest = prepared.digest
        if prepared.document is None and record is not None:
            if record.state == "done":
                # Saved again with the same bytes: remember the new mtime, embed nothing.
                self.store.touch(record.id, size=plan.size, mtime_ns=plan.mtime_ns)
                self.report.skipped += 1
                return
            self.resume(record)  # pending, chunks recorded: embed those with no vector
            return
        document, chunks, texts = prepared.document, prepared.chunks, prepared.texts
        assert document is not None
        if not chunks:
            self.fail(plan, "no text found: nothing to index in this file")
            return
        notices = list(document.notes)
        if document.text_source.ocr_pages:
            read = OcrRead(plan.path, document.text_source, document.page_count)
            self.report.ocr.append(read)
            if document.text_source.worrying:  # low confidence, or pages where none was found
                notices.insert(0, read.text)
        if prepared.cut:
            notices.append(_cap_message(document, chunks))
        if getattr(self.embedder, "english_only", False) and mostly_cjk(
            " ".join(chunk.text for chunk in chunks[:50])
        ):
            notices.append(CJK_NOTE)
        self.report.warnings.extend(Notice(plan.path, message) for message in notices)
        started = time.perf_counter()
        document_id, chunk_ids, removed = self.store.replace_document(
            self.collection,
            plan.path,
            kind=document.kind,
            encoding=document.encoding,
            title=document.title,
            size=plan.size,
            mtime_ns=plan.mtime_ns,
            content_hash=digest,
            chunks=chunks,
            embed_texts=texts,
            page_count=document.page_count,
            text_source=document.text_source,
        )
        self.vectors.remove(removed)
        self.stage("store", started)
        self.queue(document_id, list(zip(chunk_ids, texts, strict=True)))

    def resume(self, record: DocumentRecord) -> None:
        """A pending document whose chunks are recorded: embed only the chunks with no vector."""
        rows = self.store.pending_chunks(record.id)
        present = self.vectors._contains(_ids([r[0] for r in rows])) if rows else []
        missing = [row for row, has in zip(rows, present, strict=True) if not has]
        self.queue(record.id, missing)

    def queue(self, document_id: int, chunks: list[tuple[int, str]]) -> None:
        if not chunks:
            self.embedded_documents.append(document_id)
            return
        self.remaining[document_id] = len(chunks)
        self.meter.passages_found += len(chunks)
        self.pool.extend((document_id, chunk_id, text) for chunk_id, text in chunks)

    def fail(self, plan: _Plan, reason: str) -> None:
        removed = self.store.record_failure(
            self.collection, plan.path, reason, size=plan.size, mtime_ns=plan.mtime_ns
        )
        self.vectors.remove(removed)
        self.report.failed.append(Failure(plan.path, reason))

    def embed_pool(self) -> None:
        """Embed everything pooled, shortest first, one small batch at a time (cancel between)."""
        import numpy as np

        pool = sorted(self.pool, key=lambda item: len(item[2]))
        self.pool = []
        if pool and not getattr(self.embedder, "loaded", True):
            self.emit(stage="loading")  # the model's cold start: torch and its weights
            self.embedder.load()  # type: ignore[attr-defined]
        start = 0
        while start < len(pool):
            if self.cancelled:
                return  # what is left stays pending; the next run embeds it
            batch = pool[start : start + self.owner.batch_size]
            start += len(batch)
            began = time.perf_counter()
            vectors = self.embedder.embed([text for _, _, text in batch])
            spent = time.perf_counter() - began
            self.owner.batch_size = _next_batch_size(len(batch), spent, self.owner.batch_size)
            self.stage("embed", began)
            added = time.perf_counter()
            self.vectors.add(
                np.array([chunk_id for _, chunk_id, _ in batch], dtype=np.int64), vectors
            )
            self.stage("faiss", added)
            self.meter.embed_s += time.perf_counter() - began
            self.report.chunks += len(batch)
            for document_id, _, _ in batch:
                self.remaining[document_id] -= 1
                if self.remaining[document_id] == 0:
                    del self.remaining[document_id]
                    self.embedded_documents.append(document_id)
            self.emit(stage="embedding")
            self.maybe_checkpoint()

    def maybe_checkpoint(self) -> None:
        if time.perf_counter() - self.last_checkpoint >= self.owner.checkpoint_s:
            self.checkpoint()

    def checkpoint(self) -> None:
        """Save vectors durably, then (only then) call their documents done."""
        started = time.perf_counter()
        embedded = self.report.chunks
        self.vectors.save()
        self.meter.passages_saved = embedded
        done, self.embedded_documents = self.embedded_documents, []
        self.store.mark_done(done)
        self.report.indexed += len(done)
        self.last_checkpoint = time.perf_counter()
        self.stage("save", started)

    def finish(self) -> IngestReport:
        self.report.cancelled = self.cancelled
        self.report.elapsed_s = time.perf_counter() - self.started
        self.emit(phase="done", stage="done")
        return self.report

    def _close_parser(self) -> None:
        pool = self._parser_pool
        self._parser_pool = None
        if pool is not None:
            pool.close()  # type: ignore[attr-defined]

    def parse(self, path: Path, on_page: PageCallback | None = None) -> ParsedDocument:
        """Parse one file (on the read-ahead thread): the Ingestor's parser, else the sandbox."""
        if self.owner.parse is not None:
            return self.owner.parse(path)
        pool = self._parser_pool
        if pool is None:
            raise IngestError("indexing stopped before this file was read")
        return pool.parse(path, on_page=on_page)  # type: ignore[attr-defined]


def _cap_message(document: ParsedDocument, chunks: list[Chunk]) -> str:
    last = chunks[-1]
    covered = sum(len(s.text) for s in document.sections[: last.section]) + last.end
    return (
        f"indexed only the first {len(chunks):,} chunks of a very large file (its first "
        f"{covered:,} characters); the rest cannot be found by search. Split the file into "
        "smaller ones to index all of it"
    )


def _next_batch_size(done: int, seconds: float, current: int) -> int:
    """A batch size that takes about ``BATCH_TARGET_S`` at the speed just measured."""
    if seconds <= 0 or done < current:
        return current  # a short final batch says little about speed
    wanted = int(BATCH_TARGET_S * done / seconds)
    return max(MIN_BATCH, min(MAX_BATCH, wanted))


def _ids(values: Iterable[int]) -> np.ndarray:
    import numpy as np

    return np.asarray(list(values), dtype=np.int64)
