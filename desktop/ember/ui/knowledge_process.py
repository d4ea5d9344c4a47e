"""The GUI process's side of :mod:`ember.ui.knowledge_child`: index and retrieve in a child.

Called from worker threads only (the knowledge worker for indexing, the engine worker for
retrieval); reading a pipe releases the GIL, so the window never waits on torch or FAISS. No Qt.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from ember.cancel import CancelToken
from ember.errors import StorageError
from ember.ui.services import IndexProgress, IndexResult

# Cancel stops the run between batches; a child busy in one long call (importing torch, say) is
# terminated after this long: the knowledge base repairs a half-written batch when next opened.
CANCEL_GRACE_S = 0.6
_POLL_S = 0.05
_STDERR_TAIL = 4000
RETRIEVE_TIMEOUT_S = 180.0  # the first question also loads torch and MiniLM


class _Child:
    """One helper process: JSON lines in, JSON lines out (read by a thread), stderr kept short."""

    def __init__(self, mode: str, directory: Path) -> None:
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0) if sys.platform == "win32" else 0
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ember.ui.knowledge_child", mode, str(directory)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
            creationflags=flags,
        )
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._stderr: list[str] = []
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True),
            threading.Thread(target=self._drain, args=(self.process.stderr,), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            try:
                self.messages.put(json.loads(line))
            except ValueError:
                continue
        self.messages.put(None)  # end of output: the child exited

    def _drain(self, stream: IO[str]) -> None:
        for line in stream:
            self._stderr.append(line)
            while sum(map(len, self._stderr)) > _STDERR_TAIL and len(self._stderr) > 1:
                self._stderr.pop(0)

    def send(self, message: dict[str, Any] | str) -> bool:
        text = message if isinstance(message, str) else json.dumps(message)
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(text + "\n")
            self.process.stdin.flush()
        except (OSError, ValueError):  # the child is gone
            return False
        return True

    def alive(self) -> bool:
        return self.process.poll() is None

    def why_it_stopped(self) -> str:
        tail = "".join(self._stderr).strip().splitlines()
        last = tail[-1] if tail else f"exit status {self.process.poll()}"
        return f"The knowledge helper process stopped unexpectedly ({last})."

    def stop(self, grace_s: float = 1.0) -> None:
        """Close its input (it exits on its own), then terminate it if it lingers."""
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(grace_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        for reader in self._readers:  # they see end of file once the child is gone
            reader.join(2)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def index_in_child(
    directory: Path,
    paths: Sequence[Path],
    collection: str,
    report: Callable[[object], None],
    cancel: CancelToken,
) -> IndexResult:
    """*worker* Index ``paths`` into ``collection`` in a child process, reporting IndexProgress."""
    child = _Child("index", directory)
    child.send({"paths": [os.fspath(p) for p in paths], "collection": collection})
    last: IndexProgress | None = None
    cancel_sent_at: float | None = None
    try:
        while True:
            if cancel.cancelled and cancel_sent_at is None:
                child.send("cancel")
                cancel_sent_at = time.monotonic()
            if cancel_sent_at is not None and time.monotonic() - cancel_sent_at > CANCEL_GRACE_S:
                child.process.kill()
                child.process.wait(5)
                return _cancelled(collection, last)
            try:
                message = child.messages.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if message is None:
                if cancel_sent_at is not None:
                    return _cancelled(collection, last)
                raise StorageError(child.why_it_stopped())
            kind = message.get("event")
            if kind == "progress":
                last = IndexProgress(
                    files_done=message["files_done"],
                    files_total=message["files_total"],
                    chunks=message["chunks"],
                    eta_s=message["eta_s"],
                    current=message["current"],
                    failed=message["failed"],
                    phase=message["phase"],
                )
                report(last)
            elif kind == "result":
                return IndexResult(
                    collection=collection,
                    files_indexed=message["indexed"],
                    files_skipped=message["skipped"],
                    chunks=message["chunks"],
                    errors=tuple((f["path"], f["reason"]) for f in message["failed"]),
                    cancelled=message["cancelled"],
                    warnings=tuple((w["path"], w["message"]) for w in message["warnings"]),
                )
            elif kind == "error":
                raise StorageError(str(message["message"]))
    finally:
        # Its answer is in (or it is being abandoned): the knowledge base is closed, so a child
        # still tearing torch down need not be waited for.
        child.stop(grace_s=0.3)


def _cancelled(collection: str, last: IndexProgress | None) -> IndexResult:
    """What a run stopped by force achieved, as far as its last progress report tells."""
    return IndexResult(
        collection=collection,
        files_indexed=last.files_done if last else 0,
        files_skipped=0,
        chunks=last.chunks if last else 0,
        errors=(),
        cancelled=True,
    )


class RetrievalProcess:
    """The assistant's Retriever, answered by a long-lived child that keeps MiniLM loaded."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._child: _Child | None = None
        self._lock = threading.Lock()

    def _request(self, message: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if self._child is None or not self._child.alive():
                self._child = _Child("serve", self.directory)
            child = self._child
            if not child.send(message):
                self._child = None
                raise StorageError(child.why_it_stopped())
            try:
                answer = child.messages.get(timeout=RETRIEVE_TIMEOUT_S)
            except queue.Empty:
                child.stop(0.1)
                self._child = None
                raise StorageError(
                    "Searching your documents took too long; try again, or restart Ember."
                ) from None
            if answer is None:
                self._child = None
                raise StorageError(child.why_it_stopped())
            if not answer.get("ok"):
                raise StorageError(str(answer.get("message")))
            return answer

    def warm(self) -> None:
        """*worker* Start the helper and load the embedder before the first question needs it."""
        self._request({"op": "warm"})

    def retrieve(self, question: str, collections: Sequence[str] | None) -> Any:
        """*engine worker* Sources and citations for ``question`` (the Retriever protocol)."""
        from ember.knowledge.types import Citation, Grounding

        answer = self._request(
            {
                "op": "retrieve",
                "question": question,
                "collections": None if collections is None else list(collections),
            }
        )
        data = answer["grounding"]
        return Grounding(
            context=data["context"],
            citations=tuple(Citation(**c) for c in data["citations"]),
            abstained=data["abstained"],
            best_similarity=data["best_similarity"],
            extra=data["extra"],
        )

    def close(self) -> None:
        # Without the lock: a question waiting on the helper ends as soon as it is stopped.
        child, self._child = self._child, None
        if child is not None:
            child.stop()
