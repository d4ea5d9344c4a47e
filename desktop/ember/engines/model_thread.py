"""One thread per loaded llama.cpp model, on which every generation of that model runs.

llama-cpp-python is built with OpenMP, and OpenMP keeps a team of worker threads for each thread
that calls into it. With a team per calling thread (the window's worker, one thread per API
request), libgomp manages more threads than the machine has cores and switches every barrier
to short spinning and sleeping: a prompt evaluated after another thread has generated took
about 20% longer on a 2-core machine (250 ms against 208 ms to the first token, measured for
``benchmarks/api_overhead.py``'s prompt). Running every generation of a model on one thread
keeps one team, whoever asks.

:meth:`ModelThread.relay` runs an iterator on that thread and hands its items to the caller as
they come; closing the caller's generator stops the iterator at its next item, on its own thread,
before the close returns (so the model is idle when a caller's turn ends).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from ember.cancel import CancelToken

_END = object()


class ModelThread:
    """A daemon thread running one job at a time; :meth:`close` ends it after its last job."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def ident(self) -> int | None:
        """The thread's identifier (what ``threading.get_ident()`` returns on it)."""
        return self._thread.ident

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()

    def relay(
        self, make: Callable[[], Iterator[Any]], cancel: CancelToken | None = None
    ) -> Iterator[Any]:
        """Iterate ``make()`` on this thread, yielding its items here. Exceptions it raises are
        raised here. Closing the returned generator (or leaving it at an exception), or setting
        ``cancel``, stops the iterator at its next item and closes it there; a close waits until
        it has."""
        items: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        stop = threading.Event()
        done = threading.Event()

        def job() -> None:
            source: Any = None
            try:
                source = make()
                for item in source:
                    items.put(("item", item))
                    if stop.is_set() or (cancel is not None and cancel.cancelled):
                        break
                items.put(("end", _END))
            except BaseException as exc:  # every failure reaches the caller
                items.put(("error", exc))
            finally:
                close = getattr(source, "close", None)
                if close is not None:
                    close()
                done.set()

        self._jobs.put(job)
        try:
            while True:
                kind, value = items.get()
                if kind == "item":
                    yield value
                elif kind == "error":
                    raise value
                else:
                    return
        finally:
            stop.set()
            done.wait()

    def close(self) -> None:
        """End the thread once the jobs already given have run."""
        self._jobs.put(None)
