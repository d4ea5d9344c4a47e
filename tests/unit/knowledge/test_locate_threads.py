"""Two sources opened at once: the source viewer finds each passage in a worker of the task
pool, so two clicks in quick succession run :func:`ember.knowledge.locate.locate` on two threads
at the same time. PDFium is not thread-safe; neither open may come back "damaged"."""

from __future__ import annotations

import threading

from tests.support.manuals import manual

from ember.knowledge.locate import locate
from ember.knowledge.types import Citation


def _cite(source: str, page: int) -> Citation:
    return Citation(
        n=1, source=source, page=page, heading=None, snippet="R_registerRoutines", similarity=0.5
    )


def test_pdf_passages_located_on_several_threads_at_once_are_all_read() -> None:
    source = str(manual("R-exts"))
    states: list[str] = []
    start = threading.Barrier(4)

    def open_pages(page: int) -> None:
        start.wait()
        for _ in range(10):
            states.append(locate(_cite(source, page)).state)

    threads = [threading.Thread(target=open_pages, args=(p,)) for p in (147, 152, 147, 152)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(states) == 40
    assert "unreadable" not in states, f"{states.count('unreadable')} of 40 opens said damaged"
