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
