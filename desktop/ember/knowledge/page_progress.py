"""Page-by-page progress from a parser to whoever reads the file (``Reading manual.pdf, page
120/261``).

A parser calls :func:`page_read` after each page; the caller that wants to hear of it wraps the
parse in :func:`reporting`. The callback is per thread, so parsers need no extra argument and a
parse nobody listens to costs one attribute lookup per page.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

PageCallback = Callable[[int, int], None]  # (page read, 1-based; pages in the file)

_local = threading.local()


@contextmanager
def reporting(callback: PageCallback | None) -> Iterator[None]:
    """Call ``callback(page, pages)`` for each page a parser reads on this thread meanwhile."""
    previous = getattr(_local, "callback", None)
    _local.callback = callback
    try:
        yield
    finally:
        _local.callback = previous


def page_read(page: int, pages: int) -> None:
    """Tell the listener, if any, that page ``page`` (1-based) of ``pages`` has been read."""
    callback = getattr(_local, "callback", None)
    if callback is not None:
        callback(page, pages)
