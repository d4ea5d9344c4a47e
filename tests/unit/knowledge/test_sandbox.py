"""Parsing in a sandboxed worker: one bad file fails alone, quickly, with a reason."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.support import nasty_files

from ember.errors import IngestError
from ember.knowledge import sandbox
from ember.knowledge.detect import TEST_HOOK_ENV
from ember.knowledge.ocr import MAX_OCR_PAGES, OCR_PAGE_TIMEOUT_S
from ember.knowledge.sandbox import ParserPool, _Deadline, parse_file


@pytest.fixture(scope="module")
def pool() -> Iterator[ParserPool]:
    """A warm pool shared by this module, with the misbehaving test parser enabled."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(TEST_HOOK_ENV, "1")
        with ParserPool(timeout_s=20) as shared:
            yield shared


@pytest.fixture(scope="module")
def good_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pdf")
    return nasty_files.write_pdf(folder / "good.pdf", ["page one text", "page two text"])


def _hook(tmp_path: Path, command: str, name: str = "hook.txt") -> Path:
    path = tmp_path / name
    path.write_text(f"EMBER-TEST-PARSER {command}\nhook body text\n")
    return path


def test_parse_file_reads_a_pdf_through_the_sandbox(good_pdf: Path) -> None:
    document = parse_file(good_pdf)
    assert [(s.page, s.text) for s in document.sections] == [
        (1, "page one text"),
        (2, "page two text"),
    ]
    assert document.path == str(good_pdf)


def test_a_pdf_named_docx_is_parsed_as_the_pdf_it_is(tmp_path: Path) -> None:
    path = nasty_files.pdf_named_docx(tmp_path / "report.docx", "really a PDF")
    document = parse_file(path)
    assert (document.kind, document.sections[0].text) == ("pdf", "really a PDF")


def test_text_formats_parse_without_a_worker_process(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("# Title\n\nBody.\n")
    with ParserPool() as fresh:
        document = fresh.parse(path)
        assert fresh._idle == [] and fresh._busy == set()  # no child was ever started
    assert document.sections[0].heading_path == ("Title",)


def test_a_hanging_parser_times_out_and_the_batch_goes_on(
    pool: ParserPool, good_pdf: Path, tmp_path: Path
) -> None:
    hang = _hook(tmp_path, "hang")
    assert pool.parse(good_pdf).sections
    started = time.monotonic()
    with pytest.raises(IngestError, match=r"the test parser timed out after 1\.5 s"):
        pool.parse(hang, timeout_s=1.5)
    assert time.monotonic() - started < 5
    assert pool.parse(good_pdf).sections[0].text == "page one text"


@pytest.mark.parametrize(
    ("command", "signal_name"), [("abort", "SIGABRT"), ("segfault", "SIGSEGV")]
)
def test_a_crashing_parser_fails_that_file_alone(
    pool: ParserPool, good_pdf: Path, tmp_path: Path, command: str, signal_name: str
) -> None:
    with pytest.raises(IngestError, match=rf"the test parser crashed \({signal_name}\)"):
        pool.parse(_hook(tmp_path, command))
    assert pool.parse(good_pdf).sections[1].page == 2


def test_a_parser_over_its_memory_limit_fails_that_file_alone(
    pool: ParserPool, good_pdf: Path, tmp_path: Path
) -> None:
    with pytest.raises(IngestError, match=r"ran out of memory \(limit 512 MB\)"):
        pool.parse(_hook(tmp_path, "alloc 2048"), memory_mb=512)
    assert pool.parse(good_pdf).sections


def wait_for(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s"
        time.sleep(0.01)


def _while_parsing(
    pool: ParserPool, path: Path, ready: Path, act: Callable[[], None]
) -> BaseException | None:
    """Parse ``path`` (a ``handshake`` hook) and run ``act`` while the parser is inside it:
    after the child has signalled READY, before it is let go. Returns what ``parse`` raised."""
    outcome: list[BaseException | None] = []

    def parse() -> None:
        try:
            pool.parse(path)
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    parsing = threading.Thread(target=parse)
    parsing.start()
    try:
        wait_for(ready.exists)
        act()
    finally:
        ready.unlink(missing_ok=True)  # let the parser finish
        parsing.join(timeout=60)
    assert outcome, "the parse did not finish"
    return outcome[0]


def test_a_file_changed_while_being_parsed_is_reported(pool: ParserPool, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    path = _hook(tmp_path, f"handshake {ready}")
    error = _while_parsing(pool, path, ready, lambda: path.write_text(path.read_text() + "more\n"))
    assert isinstance(error, IngestError) and "changed while it was being read" in str(error)


def test_a_file_deleted_while_being_parsed_is_reported(pool: ParserPool, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    path = _hook(tmp_path, f"handshake {ready}")
    error = _while_parsing(pool, path, ready, path.unlink)
    assert isinstance(error, IngestError) and "deleted while it was being read" in str(error)


def test_a_file_left_alone_while_being_parsed_parses(pool: ParserPool, tmp_path: Path) -> None:
    """The control for the two above: the handshake itself does not fail a parse."""
    ready = tmp_path / "ready"
    path = _hook(tmp_path, f"handshake {ready}")
    assert _while_parsing(pool, path, ready, lambda: None) is None


def test_a_warm_pool_parses_small_pdfs_in_milliseconds(pool: ParserPool, good_pdf: Path) -> None:
    pool.parse(good_pdf)  # the worker is started and warm
    started = time.perf_counter()
    for _ in range(30):
        pool.parse(good_pdf)
    per_file = (time.perf_counter() - started) / 30
    assert per_file < 0.05, f"{per_file * 1000:.1f} ms per small PDF"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("zip_bomb.docx", "zip bomb"),
        ("many_members.docx", "100017 members"),
        ("traversal.docx", "path traversal"),
        ("entity_bomb.docx", "XML entity bomb"),
        ("truncated.pdf", "damaged PDF"),
        ("binary.txt", "binary file, not text"),
        ("png.txt", "damaged image"),  # the bytes say PNG: the image parser refuses it
        ("empty.txt", "empty file"),
        ("fifo.txt", "not a regular file"),
        ("sparse_5gb.txt", "file is too large"),
        ("corrupt.csv", "damaged CSV"),
    ],
)
def test_every_hostile_file_fails_alone_with_its_reason(
    hostile: dict[str, Path], pool: ParserPool, name: str, message: str
) -> None:
    with pytest.raises(IngestError, match=message):
        pool.parse(hostile[name])


def test_hostile_files_that_are_really_fine_documents_parse(
    hostile: dict[str, Path], pool: ParserPool
) -> None:
    assert pool.parse(hostile["pdf_named.docx"]).kind == "pdf"
    assert pool.parse(hostile["nested.html"]).sections[0].text == "deep text"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return nasty_files.generate(tmp_path_factory.mktemp("hostile"))


_MEASURE = """
import json, sys
from pathlib import Path
from ember.knowledge.sandbox import parse_file
document = parse_file(Path(sys.argv[1]))
print(json.dumps({
    "chars": sum(len(s.text) for s in document.sections),
    "sections": len(document.sections),
    "notes": list(document.notes),
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forking parent (pytest,
    # with models loaded), which would measure the parent instead of this process.
    "max_rss_mb": next(int(line.split()[1]) for line in open("/proc/self/status")
                       if line.startswith("VmHWM:")) / 1024,
}))
"""


def test_a_200_mb_single_line_text_file_parses_with_bounded_memory(tmp_path: Path) -> None:
    path = nasty_files.single_line_text(tmp_path / "one-line.txt", 200 * 1024 * 1024)
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(result.stdout)
    assert report["chars"] <= 50_000_000
    assert report["sections"] >= 50
    assert any("truncated" in note for note in report["notes"])
    assert report["max_rss_mb"] < 400, report  # measured ~115 MB


def test_with_two_workers_a_hang_does_not_hold_up_other_files(
    good_pdf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TEST_HOOK_ENV, "1")
    hanging_now = tmp_path / "hanging"
    hang = _hook(tmp_path, f"hang {hanging_now}")
    errors: list[str] = []
    with ParserPool(workers=2, timeout_s=3) as two:
        two.parse(good_pdf)  # one warm worker; the hang will get its own

        def parse_hang() -> None:
            try:
                two.parse(hang)
            except IngestError as exc:
                errors.append(str(exc))

        hanging = threading.Thread(target=parse_hang)
        hanging.start()
        wait_for(hanging_now.exists)  # one worker is stuck in the hang now
        started = time.monotonic()
        assert two.parse(good_pdf).sections
        assert time.monotonic() - started < 2
        hanging.join()
    assert errors == ["the test parser timed out after 3 s"]


def test_ocr_frames_extend_a_file_s_time_up_to_a_ceiling_the_child_cannot_raise() -> None:
    deadline = _Deadline(30.0, start=1000.0)
    assert deadline.at == 1030.0
    deadline.ocr_page(1, 2, now=1001.0)  # a scan of two pages: 30 s + 2 x 120 s at most
    assert deadline.at == 1001.0 + OCR_PAGE_TIMEOUT_S
    deadline.ocr_page(1, 2, now=1100.0)  # the same page again earns nothing
    assert deadline.at == 1001.0 + OCR_PAGE_TIMEOUT_S
    # The child now claims a million pages, and page after page: the ceiling stays.
    for page in range(2, 50):
        deadline.ocr_page(page, 10**6, now=1000.0 + 100 * page)
    assert deadline.at == 1000.0 + 30.0 + 2 * OCR_PAGE_TIMEOUT_S


def test_ocr_frames_earn_time_for_max_ocr_pages_pages_at_most() -> None:
    deadline = _Deadline(30.0, start=0.0)
    for page in range(1, MAX_OCR_PAGES + 1):
        deadline.ocr_page(page, 10**6, now=float(page))
    assert deadline.at == MAX_OCR_PAGES + OCR_PAGE_TIMEOUT_S
    deadline.ocr_page(MAX_OCR_PAGES + 1, 10**6, now=MAX_OCR_PAGES + 1.0)
    assert deadline.at == MAX_OCR_PAGES + OCR_PAGE_TIMEOUT_S  # no page beyond earns more


def test_a_pool_closed_while_it_starts_a_worker_kills_that_worker(
    good_pdf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[sandbox._Worker] = []
    fresh = ParserPool()

    class ClosedWhileStarting(sandbox._Worker):
        """A real worker, during whose start the pool is closed (as ReadAhead.close() may)."""

        def __init__(self) -> None:
            super().__init__()
            started.append(self)
            fresh.close()

    monkeypatch.setattr(sandbox, "_Worker", ClosedWhileStarting)
    with pytest.raises(IngestError, match="indexing stopped before this file was read"):
        fresh.parse(good_pdf)
    assert started[0].proc.poll() is not None  # not left running where close() cannot see it
    assert fresh._busy == set()
