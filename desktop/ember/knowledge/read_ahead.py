"""Read the next file while the current one embeds: hash, parse and chunk on one helper thread.

Indexing does two kinds of work: reading (hash, parse — in the sandbox process for PDF, DOCX and
HTML — and chunk) and embedding. Done in turn, the cores wait on one while the other runs.
:class:`ReadAhead` reads file *n+1* on its own thread while the indexing thread records file *n*
and embeds its passages (ONNX Runtime and the parser process both run without the GIL).

What it keeps from doing the work in turn:

- **Nothing is written** on the helper thread: :func:`prepare` only reads the file and returns a
  :class:`Prepared`; the indexing thread records it (SQLite, FAISS, the report) in file order.
  A crash or a cancel loses at most the one file read ahead, which was never recorded.
- **One bad file fails alone**: an :class:`~ember.errors.EmberError` from the parser becomes
  ``Prepared.error`` for that file; anything else is raised again on the indexing thread when
  that file's turn comes, as before.
- **Progress** is told by the indexing thread only: the parser's latest page count per file is
  kept (:meth:`ReadAhead.take_page`) and reported by the indexing thread while it waits for
  that file, and once more when the file is read (so its last page always shows).
- **Memory**: at most one file is read ahead.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ember.errors import EmberError
from ember.files import sha256_file
from ember.knowledge.chunking import Chunk, ChunkingOptions, embedding_text, iter_chunks

if TYPE_CHECKING:
    from ember.knowledge.page_progress import PageCallback
    from ember.knowledge.store import DocumentRecord
    from ember.knowledge.types import ParsedDocument

ParseWithPages = Callable[[Path, "PageCallback"], "ParsedDocument"]
POLL_S = 0.2  # how often a waiting indexing thread reports pages and checks for cancel


@dataclass(slots=True)
class Prepared:
    """One file read for indexing. ``digest`` None: it could not be read (``error`` says why).
    ``document`` None with a digest: the record already holds these bytes, nothing was parsed.
    ``seconds``: time per stage ("hash", "parse", "chunk") on the helper thread."""

    digest: str | None = None
    error: str | None = None
    document: ParsedDocument | None = None
    chunks: list[Chunk] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # what is embedded for each chunk
    cut: bool = False  # more text than ``max_chunks`` chunks
    seconds: dict[str, float] = field(default_factory=dict)


def prepare(
    path: Path,
    record: DocumentRecord | None,
    parse: Callable[[Path], ParsedDocument],
    count_tokens: Callable[[Sequence[str]], list[int]],
    options: ChunkingOptions,
) -> Prepared:
    """Hash ``path``; unless ``record`` holds the same bytes, parse and chunk it. Writes nothing.

    Parser errors (:class:`EmberError`) are returned as ``Prepared.error``; other exceptions
    propagate.
    """
    import dataclasses

    from ember.files import shown_path

    result = Prepared()
    started = time.perf_counter()
    try:
        result.digest = sha256_file(path)
    except OSError as exc:
        result.error = f"cannot read the file: {exc.strerror or exc}"
        return result
    finally:
        result.seconds["hash"] = time.perf_counter() - started
    if record is not None and record.content_hash == result.digest:
        if record.state == "done" or (record.state == "pending" and record.chunk_count > 0):
            return result  # unchanged bytes: the indexing thread touches or resumes the record
    started = time.perf_counter()
    try:
        document = parse(path)
    except EmberError as exc:
        result.error = str(exc)
        return result
    finally:
        result.seconds["parse"] = time.perf_counter() - started
    if document.title:  # from a file name or metadata: may hold bytes that are not UTF-8
        document = dataclasses.replace(document, title=shown_path(document.title))
    started = time.perf_counter()
    chunks = list(
        itertools.islice(iter_chunks(document, count_tokens, options), options.max_chunks + 1)
    )
    result.cut = len(chunks) > options.max_chunks
    del chunks[options.max_chunks :]
    result.document, result.chunks = document, chunks
    result.texts = [embedding_text(chunk, document.title) for chunk in chunks]
    result.seconds["chunk"] = time.perf_counter() - started
    return result


class ReadAhead:
    """Runs :func:`prepare` for one file at a time on a helper thread, one file ahead.

    The parser's page counts (PDF) are kept per file for :meth:`take_page`.
    """

    def __init__(
        self,
        parse: ParseWithPages,
        count_tokens: Callable[[Sequence[str]], list[int]],
        options: ChunkingOptions,
    ) -> None:
        self._parse = parse
        self._count_tokens = count_tokens
        self._options = options
        self._executor: ThreadPoolExecutor | None = None
        self._pending: dict[str, Future[Prepared]] = {}
        self._pages: dict[str, tuple[int, int, bool]] = {}
        self._lock = threading.Lock()

    def submit(self, path: str, record: DocumentRecord | None) -> None:
        """Start reading ``path`` on the helper thread (after the file before it)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ember-read")
        self._pending[path] = self._executor.submit(self._read, path, record)

    def _read(self, path: str, record: DocumentRecord | None) -> Prepared:
        def on_page(page: int, pages: int, *, ocr: bool = False) -> None:
            with self._lock:
                self._pages[path] = (page, pages, ocr)

        def parse(file: Path) -> ParsedDocument:
            return self._parse(file, on_page)

        return prepare(Path(path), record, parse, self._count_tokens, self._options)

    def take_page(self, path: str) -> tuple[int, int, bool] | None:
        """The latest ``(page, pages, ocr)`` the parser told for ``path`` since the last call, if
        any (``ocr``: that page is being OCR'd)."""
        with self._lock:
            return self._pages.pop(path, None)

    def wait(
        self,
        path: str,
        *,
        cancelled: Callable[[], bool],
        on_wait: Callable[[], None],
    ) -> Prepared | None:
        """The prepared file (re-raising what reading it raised); None if cancelled first.
        ``on_wait`` runs every :data:`POLL_S` while the file is still being read."""
        future = self._pending.pop(path)
        while True:
            if cancelled():
                future.cancel()
                return None
            try:
                return future.result(timeout=POLL_S)
            except TimeoutError:
                on_wait()

    def close(self) -> None:
        """Drop files read ahead and wait for the helper thread (the caller first stops a parse
        that may be running, by closing its parser pool)."""
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        with self._lock:  # after the helper is gone: a page it told last is not left behind
            self._pages.clear()
