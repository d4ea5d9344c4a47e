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


def test_the_pdf_parser_takes_the_same_pdfium_lock_as_locate(tmp_path) -> None:
    """Indexing code that reads a PDF in this process (tests, tools; the app's own parsing runs
    in the sandbox's child) waits while another thread uses PDFium, and then reads the file."""
    from tests.support.nasty_files import write_pdf

    from ember.knowledge.parsers.pdf import parse
    from ember.knowledge.pdfium_lock import PDFIUM

    path = write_pdf(tmp_path / "minutes.pdf", ["The marmalade budget was 4,200 euros."])
    parsed: list[str] = []
    reader = threading.Thread(target=lambda: parsed.append(parse(path).sections[0].text))
    with PDFIUM:  # as locate() holds it on a worker thread
        reader.start()
        reader.join(timeout=1.0)
        assert reader.is_alive() and not parsed, "the parser used PDFium while it was held"
    reader.join()
    assert "marmalade budget" in parsed[0]
