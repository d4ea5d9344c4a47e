"""Parse documents so that one bad file fails alone: risky parsers run in a child process.

PDF, DOCX and HTML go to a long-lived worker process (``ember.knowledge.parse_worker``) that runs
under an address-space limit (``memory_mb``) and a CPU-time limit; the parent waits at most
``timeout_s`` for the answer and kills the worker if it does not come. A hang, a segfault or an
out-of-memory then costs that one file an :class:`IngestError` ("the PDF parser timed out after
30 s", "the PDF parser crashed (SIGSEGV)"), and the next file gets a fresh worker. Workers are
reused between files, so a normal PDF costs its parse time plus about a millisecond of IPC, not an
interpreter start. While a PDF is read, the worker sends page frames (``{"id", "page", "pages"}``)
a few times a second before its reply, so a caller can say "page 120/261"; and before each page
it OCRs (a scan: seconds per page) an ``"ocr": true`` frame, which also gives the file
``OCR_PAGE_TIMEOUT_S`` more time (and the worker more memory and CPU time for it: see
``parse_worker._allow_ocr``). A worker that loaded the OCR engine retires after that file.

Plain text, Markdown, reStructuredText, source code and CSV are parsed in this process: their
parsers are linear pure-Python code over text capped at ``MAX_TEXT_CHARS``.

Use :class:`ParserPool` for a batch (it owns its workers), or :func:`parse_file` for one-off calls
(it shares a module-level pool that is closed at interpreter exit).
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from ember.errors import IngestError
from ember.ipc import ChildProcess
from ember.knowledge.detect import FileIdentity, Probe, probe
from ember.knowledge.limits import MAX_TEXT_CHARS
from ember.knowledge.ocr import MAX_OCR_PAGES, OCR_PAGE_TIMEOUT_S
from ember.knowledge.page_progress import PageCallback, reporting
from ember.knowledge.parsers import (
    ABORT_MEANS_OUT_OF_MEMORY,
    LABELS,
    RISKY_KINDS,
    parse_in_this_process,
)
from ember.knowledge.types import TEXT_LAYER, ParsedDocument, Section, TextSource

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MEMORY_MB = 1024
STARTUP_TIMEOUT_S = 60.0  # importing pdfium, lxml and bs4 on a busy two-core machine
_MAX_FRAME_BYTES = 8 * MAX_TEXT_CHARS + 1024 * 1024  # 50 M chars as UTF-8 JSON, with escapes


class _WorkerDied(Exception):
    pass


class _Deadline:
    """When the parent stops waiting for one file: ``at``, in ``time.monotonic()`` seconds.

    Pages read do not extend it, but each page OCR'd (seconds of work on a picture) gets
    ``OCR_PAGE_TIMEOUT_S`` more, once, in page order, for at most ``MAX_OCR_PAGES`` pages. The
    child chooses ``page``/``pages`` and is not trusted: the first OCR frame fixes a ceiling,
    ``timeout_s + min(pages, MAX_OCR_PAGES) * OCR_PAGE_TIMEOUT_S`` after the start, that later
    frames never raise.
    """

    def __init__(self, timeout_s: float, start: float) -> None:
        self.at = start + timeout_s
        self._start, self._timeout_s = start, timeout_s
        self._ceiling: float | None = None
        self._ocr_page = 0
        self._granted = 0

    def ocr_page(self, page: int, pages: int, now: float) -> None:
        """The child is about to OCR ``page`` of ``pages`` (both positive, page <= pages)."""
        if self._ceiling is None:
            allowed = min(pages, MAX_OCR_PAGES) * OCR_PAGE_TIMEOUT_S
            self._ceiling = self._start + self._timeout_s + allowed
        if page <= self._ocr_page or self._granted >= MAX_OCR_PAGES:
            return
        self._ocr_page = page
        self._granted += 1
        self.at = min(self._ceiling, max(self.at, now + OCR_PAGE_TIMEOUT_S))


class _Worker:
    """One parser child process on :mod:`ember.ipc` (its stderr tail kept for messages)."""

    def __init__(self) -> None:
        self.child = ChildProcess("ember.knowledge.parse_worker", max_frame_bytes=_MAX_FRAME_BYTES)
        self.proc = self.child.process
        self._next_id = 0
        self._ready = False

    def _next_frame(self, deadline: float) -> dict[str, Any]:
        """The next reply; raises TimeoutError at ``deadline`` and _WorkerDied on EOF/garbage."""
        message = self.child.receive_until(deadline)
        if message is None:
            raise _WorkerDied
        return message

    def request(
        self,
        kind: str,
        path: Path,
        timeout_s: float,
        memory_mb: int,
        on_page: PageCallback | None = None,
    ) -> dict[str, Any]:
        """Send one parse request and wait for its reply, passing page frames to ``on_page``."""
        if not self._ready:
            try:
                self._next_frame(time.monotonic() + STARTUP_TIMEOUT_S)
            except (TimeoutError, _WorkerDied):
                # A child that died says why on stderr; one that hangs is killed here.
                status = self.child.exit_status(1.0)
                tail = self.child.last_words() if status is not None else "no answer"
                self.kill()
                raise IngestError(
                    "could not start the document parser process (is Ember installed "
                    f"correctly? {tail})"
                ) from None
            self._ready = True
        self._next_id += 1
        sent = self.child.send(
            {
                "id": self._next_id,
                "kind": kind,
                "path": os.fspath(path),
                "timeout_s": timeout_s,
                "memory_mb": memory_mb,
            }
        )
        if not sent:
            raise _WorkerDied
        deadline = _Deadline(timeout_s, time.monotonic())
        while True:
            reply = self._next_frame(deadline.at)
            if reply.get("id") != self._next_id:
                raise _WorkerDied
            if "ok" in reply:
                return reply
            page, pages = reply.get("page"), reply.get("pages")
            if not (_count(page) and _count(pages) and page <= pages):
                continue
            if reply.get("ocr") is True:
                deadline.ocr_page(page, pages, time.monotonic())
                if on_page is not None:
                    on_page(page, pages, ocr=True)
            elif on_page is not None:
                on_page(page, pages)

    def exit_status(self) -> int | None:
        return self.child.exit_status()

    def kill(self) -> None:
        self.child.kill()

    def close(self) -> None:
        """Ask the worker to finish (end of input), then make sure it is gone."""
        self.child.stop(grace_s=2)


class ParserPool:
    """Parses files with up to ``workers`` sandboxed child processes; safe to share between threads.

    ``with ParserPool() as pool: doc = pool.parse(path)``. Workers start on first need and are
    replaced after a crash or timeout.
    """

    def __init__(
        self,
        *,
        workers: int = 1,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        memory_mb: int = DEFAULT_MEMORY_MB,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self._slots = threading.BoundedSemaphore(workers)
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._closed = False

    def __enter__(self) -> ParserPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def parse(
        self,
        path: Path,
        *,
        timeout_s: float | None = None,
        memory_mb: int | None = None,
        on_page: PageCallback | None = None,
    ) -> ParsedDocument:
        """Parse one file; raises :class:`IngestError` with the reason if it cannot be indexed.

        ``on_page(page, pages)`` hears of each page read, for formats whose parser counts pages
        (PDF), a few times a second at most."""
        found = probe(Path(path))
        if found.kind in RISKY_KINDS:
            document = self._parse_in_child(
                found,
                self.timeout_s if timeout_s is None else timeout_s,
                self.memory_mb if memory_mb is None else memory_mb,
                on_page,
            )
        else:
            with reporting(on_page):
                document = parse_in_this_process(found.kind, found.path)
        check_unchanged(found)
        return document

    def _parse_in_child(
        self, found: Probe, timeout_s: float, memory_mb: int, on_page: PageCallback | None
    ) -> ParsedDocument:
        label = LABELS.get(found.kind, found.kind)
        with self._slots:
            worker = self._checkout()
            try:
                reply = worker.request(found.kind, found.path, timeout_s, memory_mb, on_page)
            except TimeoutError:
                self._discard(worker, kill=True)
                raise IngestError(f"the {label} parser timed out after {timeout_s:g} s") from None
            except _WorkerDied:
                status = worker.exit_status()
                self._discard(worker, kill=True)
                if worker.child.protocol_error:
                    raise IngestError(
                        f"the {label} parser sent a reply Ember cannot read "
                        f"({worker.child.protocol_error})"
                    ) from None
                # The person gets a short reason; the worker's own traceback goes to the log.
                log.warning(
                    "the %s parser died on %s:\n%s", label, found.path, worker.child.stderr_tail()
                )
                raise IngestError(
                    _death_message(found.kind, status, timeout_s, memory_mb)
                ) from None
            except BaseException:
                self._discard(worker, kill=True)
                raise
            if reply.get("fatal") or reply.get("retire"):
                self._discard(worker, kill=False)
            else:
                self._checkin(worker)
        if not reply.get("ok"):
            raise IngestError(str(reply.get("error") or f"the {label} parser failed"))
        try:
            return _document_from_json(found.path, reply["document"])
        except (KeyError, TypeError, ValueError):
            raise IngestError(f"the {label} parser returned a malformed result") from None

    def _checkout(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise RuntimeError("this ParserPool is closed")
            worker = self._idle.pop() if self._idle else None
        if worker is None or worker.proc.poll() is not None:
            if worker is not None:
                worker.kill()
            worker = _Worker()
        with self._lock:
            closed = self._closed  # close() may have come while the worker was started
            if not closed:
                self._busy.add(worker)
        if closed:
            worker.kill()
            raise IngestError("indexing stopped before this file was read")
        return worker

    def _checkin(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
            if not self._closed:
                self._idle.append(worker)
                return
        worker.close()

    def _discard(self, worker: _Worker, *, kill: bool) -> None:
        with self._lock:
            self._busy.discard(worker)
        if kill:
            worker.kill()
        else:
            worker.close()

    def close(self) -> None:
        """Stop every worker. Parses still running in other threads are killed and fail."""
        with self._lock:
            self._closed = True
            idle, busy = list(self._idle), list(self._busy)
            self._idle.clear()
        for worker in idle:
            worker.close()
        for worker in busy:
            worker.kill()


def _count(value: object) -> bool:
    """A positive int from the child (which is not trusted to send one)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _death_message(kind: str, status: int | None, timeout_s: float, memory_mb: int) -> str:
    label = LABELS.get(kind, kind)
    if status is not None and status < 0:
        signum = -status
        if signum == getattr(signal, "SIGXCPU", None):
            return f"the {label} parser timed out after {timeout_s:g} s (CPU limit)"
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        if signum == signal.SIGABRT and kind in ABORT_MEANS_OUT_OF_MEMORY:
            return (
                f"the {label} is too large when decompressed: reading it needs more than the "
                f"{memory_mb} MB the {label} parser may use (a decompression bomb, or a page "
                "far too large)"
            )
        if signum == signal.SIGKILL:
            return f"the {label} parser was killed (out of memory? limit {memory_mb} MB)"
        return f"the {label} parser crashed ({name}); the file is probably damaged"
    if status is None:
        return f"the {label} parser stopped answering"
    return f"the {label} parser crashed (exit status {status}); the file is probably damaged"


def _document_from_json(path: Path, data: dict[str, Any]) -> ParsedDocument:
    sections = []
    for text, page, heading_path, *rest in data["sections"]:
        if not isinstance(text, str) or not (page is None or isinstance(page, int)):
            raise TypeError("bad section")
        label = rest[0] if rest else None
        sections.append(
            Section(
                text,
                page=page,
                heading_path=tuple(str(h) for h in heading_path),
                page_label=str(label) if label is not None else None,
            )
        )
    title, encoding = data.get("title"), data.get("encoding")
    page_count = data.get("page_count")
    return ParsedDocument(
        os.fspath(path),
        str(data["kind"]),
        tuple(sections),
        title=str(title) if title is not None else None,
        encoding=str(encoding) if encoding is not None else None,
        notes=tuple(str(note) for note in data.get("notes", ())),
        page_count=page_count if isinstance(page_count, int) else None,
        text_source=_text_source(data.get("text_source")),
    )


def _text_source(data: object) -> TextSource:
    """The child's account of how the text was obtained, checked (it is not trusted)."""
    if not isinstance(data, dict) or data.get("method") not in ("text", "ocr"):
        return TEXT_LAYER
    pages, empty = data.get("ocr_pages"), data.get("ocr_empty_pages")
    pages = pages if _count(pages) else 0
    confidence = data.get("ocr_confidence")
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, (int, float))
        or not 0.0 <= confidence <= 1.0
    ):
        confidence = None
    return TextSource(
        str(data["method"]) if pages else "text",  # no page OCR'd: the text is the text layer
        ocr_pages=pages,
        ocr_confidence=float(confidence) if confidence is not None and pages else None,
        ocr_empty_pages=min(empty, pages) if _count(empty) else 0,
    )


def check_unchanged(found: Probe) -> None:
    """Raise :class:`IngestError` if the file was deleted or rewritten since it was probed."""
    try:
        now = FileIdentity.of(os.stat(found.path))
    except FileNotFoundError:
        raise IngestError("the file was deleted while it was being read") from None
    except OSError as exc:
        raise IngestError(f"could not check the file after reading it: {exc.strerror}") from None
    if now != found.identity:
        raise IngestError(
            "the file changed while it was being read; it will be read again once it is saved"
        )


_default_pool: ParserPool | None = None
_default_lock = threading.Lock()


def _shared_pool() -> ParserPool:
    global _default_pool
    with _default_lock:
        if _default_pool is None:
            _default_pool = ParserPool(workers=min(2, os.cpu_count() or 1))
            atexit.register(_default_pool.close)
        return _default_pool


def parse_file(
    path: Path, *, timeout_s: float = DEFAULT_TIMEOUT_S, memory_mb: int = DEFAULT_MEMORY_MB
) -> ParsedDocument:
    """Detect ``path``'s type by content and parse it, sandboxed where the format is risky.

    Raises :class:`IngestError` with a message for a person ("empty file", "password protected
    PDF: ...", "the PDF parser timed out after 30 s", ...).
    """
    return _shared_pool().parse(Path(path), timeout_s=timeout_s, memory_mb=memory_mb)
