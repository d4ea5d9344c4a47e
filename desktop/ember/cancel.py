"""Cancellation shared by every long job: generation, indexing, downloads, child processes.

A :class:`CancelToken` is a thread-safe "stop now" flag. The job checks it between steps (tokens,
batches, progress lines); whoever started the job sets it. It is not an engine concept, so it lives
here, below every package that uses it.
"""

from __future__ import annotations

import threading


class CancelToken:
    """Thread-safe 'stop now' flag shared between the UI and a worker."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop at its next check. Idempotent."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` has been called."""
        return self._event.is_set()

    def wait(self, timeout_s: float) -> bool:
        """Block up to ``timeout_s`` seconds; True as soon as the token is cancelled."""
        return self._event.wait(timeout_s)


class CancelGroup:
    """The tokens of the jobs running now, to cancel them all at once (a server stopping).

    A token added after :meth:`cancel_all` is cancelled at once: nothing starts once the group
    is closed.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: set[CancelToken] = set()
        self._closed = False

    def add(self, token: CancelToken) -> CancelToken:
        """Track ``token`` until :meth:`discard`; returns it."""
        with self._lock:
            if self._closed:
                token.cancel()
            else:
                self._tokens.add(token)
        return token

    def discard(self, token: CancelToken) -> None:
        """Stop tracking ``token`` (its job ended)."""
        with self._lock:
            self._tokens.discard(token)

    def cancel_all(self) -> None:
        """Cancel every tracked token and every one added later."""
        with self._lock:
            self._closed = True
            tokens, self._tokens = self._tokens, set()
        for token in tokens:
            token.cancel()
