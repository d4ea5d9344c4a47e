"""Page-by-page progress from a parser to whoever reads the file (``Reading manual.pdf, page
120/261``).

A parser calls :func:`page_read` after each page, and :func:`ocr_page` before OCR'ing one (a
picture of a page: seconds each, "OCR page 12/80"); the caller that wants to hear of it wraps the
parse in :func:`reporting`. The callback is per thread, so parsers need no extra argument and a
parse nobody listens to costs one attribute lookup per page.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# (page, 1-based; pages in the file), called with ``ocr=True`` as a keyword, and only then, when
# the page is about to be OCR'd: a callback that never hears of OCR may take two arguments.
PageCallback = Callable[..., None]

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


def ocr_page(page: int, pages: int) -> None:
    """Tell the listener, if any, that page ``page`` (1-based) of ``pages`` is being OCR'd now."""
    callback = getattr(_local, "callback", None)
    if callback is not None:
        callback(page, pages, ocr=True)
