"""sha256 of a file while it is being written, so verifying a download costs no extra pass.

:class:`FileHasher` follows a growing file from a second thread (``hashlib`` releases the GIL,
so it runs beside the download), reading only bytes already written; :meth:`FileHasher.finish`
hashes the rest once the writer is done. A file cut shorter meanwhile (the server ignored a
Range request and the download restarted) is hashed again from the start. (A whole file at
rest: :func:`ember.files.sha256_file`.)
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

_BLOCK = 4 << 20


class FileHasher:
    """Hashes ``path`` as it grows; use as a context manager around the writing, then
    :meth:`finish` (after the writer flushed) for the hex digest of the whole file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._digest = hashlib.sha256()
        self._pos = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="ember-hash", daemon=True)
        self._fd = -1

    def __enter__(self) -> FileHasher:
        self._fd = os.open(self._path, os.O_RDONLY)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _stop(self) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()

    def _follow(self) -> None:
        while not self._done.is_set():
            if not self._step():
                # Caught up: look again soon, so little is left to hash when the download ends.
                self._done.wait(0.005)

    def _step(self) -> bool:
        """Hash what was written since the last step; False when there was nothing new."""
        size = os.fstat(self._fd).st_size
        if size < self._pos:  # cut short: start again
            self._digest, self._pos = hashlib.sha256(), 0
        if size == self._pos:
            return False
        while self._pos < size:
            block = os.pread(self._fd, min(_BLOCK, size - self._pos), self._pos)
            if not block:
                break
            self._digest.update(block)
            self._pos += len(block)
        return True

    def finish(self) -> str:
        """The sha256 of the file as it is now (the writer must have flushed)."""
        self._stop()
        self._step()
        return self._digest.hexdigest()
