"""Turns on the loaded model: one generation at a time, in order, the person at the window first.

A llama.cpp context runs one generation at a time; the window's chat, ``ember serve`` and the MCP
server's ``ask_documents`` all share one loaded model, so each streams inside a
:meth:`ModelTurns.turn`. Python's own locks promise no order; here waiters are served strictly in
the order they asked, so 32 clients queued on one model finish in arrival order and none starves.

One exception to the order: a turn asked with ``priority`` (the window's own answers and model
loads) goes ahead of every waiting turn without it, never ahead of another priority turn and never
interrupting the turn being served. The person at the window then waits for at most one answer
of another program, not for the whole queue.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from ember.cancel import CancelToken


class _Waiter:
    __slots__ = ("priority",)

    def __init__(self, priority: bool) -> None:
        self.priority = priority


class ModelTurns:
    """An ordered lock over the loaded model; :attr:`waiting` counts turns not yet started."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._queue: deque[_Waiter] = deque()
        self._holder: int | None = None  # the thread whose turn it is
        self._busy = False

    @property
    def waiting(self) -> int:
        """Turns asked for and not yet started (the one running excluded)."""
        with self._condition:
            return len(self._queue)

    @property
    def busy(self) -> bool:
        """Whether a turn is being served now (something generates or loads)."""
        with self._condition:
            return self._busy

    @contextmanager
    def turn(
        self, cancel: CancelToken | None = None, *, priority: bool = False, poll_s: float = 0.05
    ) -> Iterator[bool]:
        """Wait for this caller's turn, then hold the model until the block ends.

        Yields True when the turn was taken; False when ``cancel`` was set while waiting (the
        block must then not touch the model). A waiter that gives up leaves the queue at once.
        ``priority`` goes ahead of the waiters without it (see the module's docstring). A thread
        that already holds the turn gets it again at once (loading the model inside an answer's
        turn).
        """
        if self._holder == threading.get_ident():
            yield True
            return
        waiter = _Waiter(priority)
        granted = False
        with self._condition:
            if priority:  # behind the other priority waiters, ahead of the rest
                ahead = sum(1 for w in self._queue if w.priority)
                self._queue.insert(ahead, waiter)
            else:
                self._queue.append(waiter)
            while self._busy or self._queue[0] is not waiter:
                if cancel is not None and cancel.cancelled:
                    self._queue.remove(waiter)
                    self._condition.notify_all()  # the next in line may be free to go now
                    break
                self._condition.wait(poll_s if cancel is not None else None)
            else:
                self._queue.popleft()
                self._busy = True
                self._holder = threading.get_ident()
                granted = True
        if not granted:
            yield False
            return
        try:
            yield True
        finally:
            with self._condition:
                self._busy = False
                self._holder = None
                self._condition.notify_all()
