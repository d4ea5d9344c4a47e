"""Index and retrieve in a helper process, so a GUI never waits on torch, MiniLM or FAISS.

Importing torch, loading MiniLM, tokenizing and some FAISS calls hold Python's GIL for hundreds of
milliseconds at a time; in a GUI process that freezes the window however the threads are
arranged. The desktop app therefore runs :mod:`ember.knowledge.helper_main` as a child process
(on :mod:`ember.ipc`) and calls it from worker threads through this module: waiting on a pipe
releases the GIL. The child speaks in the core's own types (:class:`ProgressEvent`,
:class:`IngestReport`, :class:`Grounding`), which cross the pipe as JSON.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ember.cancel import CancelToken
from ember.errors import StorageError
from ember.ipc import ChildProcess
from ember.knowledge.ingest import Failure, IngestReport, Notice, ProgressEvent
from ember.knowledge.types import Citation, Grounding, OcrRead, StaleSource, TextSource

if TYPE_CHECKING:
    import numpy as np

    from ember.knowledge.retrieval import SearchResult

HELPER_MODULE = "ember.knowledge.helper_main"
# Cancel stops the run between batches; a child busy in one long call (importing torch, say) is
# killed after this long: the knowledge base repairs a half-written batch when next opened.
CANCEL_GRACE_S = 0.6
_POLL_S = 0.05
RETRIEVE_TIMEOUT_S = 180.0  # the first question also loads torch and MiniLM


def _why_it_stopped(child: ChildProcess) -> str:
    """Why a child that stopped answering stopped: let it finish writing its traceback (a
    second at most, then it is killed), and only then read it."""
    child.exit_status(1.0)
    message = f"The knowledge helper process stopped unexpectedly ({child.last_words()})."
    child.kill()
    return message


def index_in_helper(
    directory: Path,
    paths: Sequence[Path],
    collection: str,
    progress: Callable[[ProgressEvent], None],
    cancel: CancelToken,
    *,
    again: bool = False,
    watched: bool = False,
) -> IngestReport:
    """*worker* Index ``paths`` into ``collection`` of the knowledge base in ``directory`` in a
    child process, calling ``progress`` with each :class:`ProgressEvent`; with ``again``, index
    them anew (:meth:`KnowledgeBase.redo`); ``watched``: a watch's run (see
    :meth:`KnowledgeBase.index`).

    Cancelling stops the run between batches (everything finished so far stays indexed); a child
    that does not stop within ``CANCEL_GRACE_S`` seconds is killed. Raises :class:`StorageError`
    when the child fails or dies."""
    child = ChildProcess(HELPER_MODULE, ["index", os.fspath(directory)])
    request = {
        "paths": [os.fspath(p) for p in paths],
        "collection": collection,
        "again": again,
        "watched": watched,
    }
    child.send(request)
    last: ProgressEvent | None = None
    cancel_sent_at: float | None = None
    try:
        while True:
            if cancel.cancelled and cancel_sent_at is None:
                child.send({"op": "cancel"})
                cancel_sent_at = time.monotonic()
            if cancel_sent_at is not None and time.monotonic() - cancel_sent_at > CANCEL_GRACE_S:
                child.kill()
                return _cancelled(last)
            try:
                message = child.receive(_POLL_S)
            except TimeoutError:
                continue
            if message is None:
                if cancel_sent_at is not None:
                    return _cancelled(last)
                raise StorageError(_why_it_stopped(child))
            kind = message.get("event")
            if kind == "progress":
                last = ProgressEvent(**message["progress"])
                progress(last)
            elif kind == "result":
                return report_from_json(message["report"])
            elif kind == "error":
                raise StorageError(str(message["message"]))
    finally:
        # Its answer is in (or it is being abandoned): the knowledge base is closed, so a child
        # still tearing torch down need not be waited for.
        child.stop(grace_s=0.3)


def report_to_json(report: IngestReport) -> dict[str, Any]:
    """An :class:`IngestReport` as a JSON-ready dict (every field)."""
    return dataclasses.asdict(report)


def report_from_json(data: dict[str, Any]) -> IngestReport:
    """The :class:`IngestReport` that :func:`report_to_json` gave ``data`` for."""
    return IngestReport(
        **{
            **data,
            "failed": [Failure(**f) for f in data["failed"]],
            "warnings": [Notice(**w) for w in data["warnings"]],
            "passed_over": [Failure(**f) for f in data.get("passed_over", ())],
            "ocr": [
                OcrRead(o["path"], TextSource(**o["source"]), o["page_count"])
                for o in data.get("ocr", ())
            ],
        }
    )


def _cancelled(last: ProgressEvent | None) -> IngestReport:
    """What a run stopped by force achieved, as far as its last progress report tells."""
    # Only the chunks saved at its last checkpoint are known to be kept (files_done also counts
    # skipped and failed files); later ones were embedded but never written.
    return IngestReport(chunks=last.passages_saved if last else 0, cancelled=True)


def grounding_to_json(grounding: Grounding) -> dict[str, Any]:
    """A :class:`Grounding` as a JSON-ready dict; ``extra`` keeps only plain values (str, numbers,
    bool, None)."""
    data = dataclasses.asdict(grounding)
    data["extra"] = {k: v for k, v in grounding.extra.items() if _plain(v)}
    return data


def search_to_json(result: SearchResult) -> dict[str, Any]:
    """A :class:`SearchResult` as a JSON-ready dict (hits, best similarity, stale files)."""
    return {
        "hits": [dataclasses.asdict(hit) for hit in result.hits],
        "best_similarity": result.best_similarity,
        "chunk_total": result.chunk_total,
        "stale": [dataclasses.asdict(s) for s in result.stale],
    }


def search_from_json(data: dict[str, Any]) -> SearchResult:
    """The :class:`SearchResult` that :func:`search_to_json` gave ``data`` for (without the
    keyword evidence, which only the abstain decision reads, in the helper)."""
    from ember.knowledge.retrieval import Hit, SearchResult

    return SearchResult(
        hits=tuple(Hit(**hit) for hit in data["hits"]),
        best_similarity=data["best_similarity"],
        chunk_total=int(data.get("chunk_total", 0)),
        stale=tuple(StaleSource(**s) for s in data.get("stale", ())),
    )


def grounding_from_json(data: dict[str, Any]) -> Grounding:
    """The :class:`Grounding` that :func:`grounding_to_json` gave ``data`` for."""
    return Grounding(
        **{
            **data,
            "citations": tuple(Citation(**c) for c in data["citations"]),
            "stale": tuple(StaleSource(**s) for s in data.get("stale", ())),
        },
    )


def _plain(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


class RetrievalHelper:
    """The assistant's Retriever, answered by a long-lived child that keeps MiniLM loaded."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._child: ChildProcess | None = None
        self._lock = threading.Lock()

    def _request(self, message: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if self._child is None or not self._child.alive():
                if self._child is not None:
                    self._child.kill()  # reap the one that died before starting another
                self._child = ChildProcess(HELPER_MODULE, ["serve", os.fspath(self.directory)])
            child = self._child
            if not child.send(message):
                self._child = None
                raise StorageError(_why_it_stopped(child))
            try:
                answer = child.receive(RETRIEVE_TIMEOUT_S)
            except TimeoutError:
                child.stop(0.1)
                self._child = None
                raise StorageError(
                    "Searching your documents took too long; try again, or restart Ember."
                ) from None
            if answer is None:
                self._child = None
                raise StorageError(_why_it_stopped(child))
            if not answer.get("ok"):
                raise StorageError(str(answer.get("message")))
            return answer

    def warm(self) -> None:
        """*worker* Start the helper and load the embedder before the first question needs it."""
        self._request({"op": "warm"})

    def retrieve(self, question: str, collections: Sequence[str] | None) -> Grounding:
        """*worker* Sources and citations for ``question`` (the Retriever protocol)."""
        answer = self._request(
            {
                "op": "retrieve",
                "question": question,
                "collections": None if collections is None else list(collections),
            }
        )
        return grounding_from_json(answer["grounding"])

    def search(
        self, query: str, collections: Sequence[str] | None, k: int | None = None
    ) -> SearchResult:
        """*worker* The best chunks for ``query`` (what ``KnowledgeBase.search`` gives), found
        in the helper so torch never loads in the caller's process."""
        answer = self._request(
            {
                "op": "search",
                "query": query,
                "collections": None if collections is None else list(collections),
                "k": k,
            }
        )
        return search_from_json(answer["result"])

    def embed(self, texts: Sequence[str]) -> tuple[np.ndarray, list[int]]:
        """*worker* ``texts`` as the embedder's normalised vectors, ``(len(texts), dimension)``
        float32 (exactly the child's), with the tokens each text takes (no special tokens)."""
        import numpy as np

        answer = self._request({"op": "embed", "texts": list(texts)})
        raw = base64.b64decode(answer["vectors"])
        vectors = np.frombuffer(raw, dtype="<f4").reshape(len(texts), int(answer["dimension"]))
        return vectors, [int(n) for n in answer["tokens"]]

    def close(self) -> None:
        """Stop the helper process; a question waiting on it fails with :class:`StorageError`, and
        the next request starts a new one."""
        # Without the lock: a question waiting on the helper ends as soon as it is stopped.
        child, self._child = self._child, None
        if child is not None:
            child.stop()
