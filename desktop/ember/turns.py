"""Turns on the loaded model: one generation at a time, first come first served.

A llama.cpp context runs one generation at a time; the window's chat, ``ember serve`` and the MCP
server's ``ask_documents`` all share one loaded model, so each streams inside a
:meth:`ModelTurns.turn`. Python's own locks promise no order; here waiters are served strictly in
the order they asked (a ticket lock), so 32 clients queued on one model finish in arrival order
and none starves.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ember.cancel import CancelToken


class ModelTurns:
    """A FIFO lock over the loaded model; :attr:`waiting` counts turns not yet started."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._next_ticket = 0
        self._serving = 0
        self._abandoned: set[int] = set()  # tickets whose waiter gave up before its turn
        self._holder: int | None = None  # the thread whose turn it is

    @property
    def waiting(self) -> int:
        """Turns asked for and not yet started (the one running excluded)."""
        with self._condition:
            queued = self._next_ticket - self._serving - len(self._abandoned)
            return max(0, queued - 1)

    @contextmanager
    def turn(self, cancel: CancelToken | None = None, poll_s: float = 0.05) -> Iterator[bool]:
        """Wait for this caller's turn, then hold the model until the block ends.

        Yields True when the turn was taken; False when ``cancel`` was set while waiting (the
        block must then not touch the model). A waiter that gives up leaves the queue at once:
        its turn is skipped when it comes, so nobody stalls behind it. A thread that already
        holds the turn gets it again at once (loading the model inside an answer's turn).
        """
        if self._holder == threading.get_ident():
            yield True
            return
        with self._condition:
            ticket = self._next_ticket
            self._next_ticket += 1
            while self._serving != ticket:
                if cancel is not None and cancel.cancelled:
                    self._abandoned.add(ticket)
                    break
                self._condition.wait(poll_s if cancel is not None else None)
            granted = self._serving == ticket
            if granted:
                self._holder = threading.get_ident()
        if not granted:
            yield False
            return
        try:
            yield True
        finally:
            with self._condition:
                self._holder = None
                self._serving += 1
                while self._serving in self._abandoned:
                    self._abandoned.discard(self._serving)
                    self._serving += 1
                self._condition.notify_all()
