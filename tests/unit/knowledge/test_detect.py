"""Detecting a file's type by its bytes first, its name second."""

from __future__ import annotations

import codecs
import time
from pathlib import Path

import pytest
from tests.support import nasty_files

from ember.errors import IngestError
from ember.knowledge.detect import probe


def test_a_pdf_is_recognised_by_its_magic_bytes_whatever_its_name(tmp_path: Path) -> None:
    path = nasty_files.pdf_named_docx(tmp_path / "report.docx")
    assert probe(path).kind == "pdf"


def test_a_docx_is_recognised_as_a_zip_container(tmp_path: Path) -> None:
    path = nasty_files.write_docx(tmp_path / "notes.bin", [("p", "hello")])
    assert probe(path).kind == "docx"


def test_html_saved_as_txt_is_parsed_as_html(tmp_path: Path) -> None:
    path = tmp_path / "page.txt"
    path.write_text("<!DOCTYPE html>\n<html><body><p>hi</p></body></html>")
    assert probe(path).kind == "html"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("notes.md", "markdown"),
        ("guide.rst", "rst"),
        ("table.csv", "csv"),
        ("main.py", "code"),
        ("Makefile", "code"),
        ("README", "text"),
        ("letter.txt", "text"),
    ],
)
def test_text_files_take_their_kind_from_the_name(tmp_path: Path, name: str, kind: str) -> None:
    path = tmp_path / name
    path.write_text("some ordinary text\n")
    assert probe(path).kind == kind


def test_utf16_text_with_nul_bytes_is_text_not_binary(tmp_path: Path) -> None:
    path = tmp_path / "utf16.txt"
    path.write_bytes("Notes in UTF-16 without a byte-order mark.\n".encode("utf-16-le") * 20)
    assert probe(path).kind == "text"


def test_utf16_text_with_a_bom_is_text(tmp_path: Path) -> None:
    path = tmp_path / "utf16.txt"
    path.write_bytes(codecs.BOM_UTF16_BE + "Notes.\n".encode("utf-16-be"))
    assert probe(path).kind == "text"


def test_binary_named_txt_is_refused_as_binary(tmp_path: Path) -> None:
    path = nasty_files.binary_named_txt(tmp_path / "data.txt")
    with pytest.raises(IngestError, match="binary file, not text"):
        probe(path)


def test_an_image_named_txt_is_read_as_the_image_it_is(tmp_path: Path) -> None:
    path = nasty_files.png_named_txt(tmp_path / "photo.txt")
    assert probe(path).kind == "image"  # OCR'd (ember.knowledge.parsers.image), not refused


def test_an_empty_file_is_refused_as_empty(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"^empty file$"):
        probe(nasty_files.empty_file(tmp_path / "empty.txt"))


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    path = nasty_files.fifo(tmp_path / "pipe.txt")
    with pytest.raises(IngestError, match="not a regular file: it is a FIFO"):
        probe(path)


def test_a_5_gb_sparse_file_is_refused_by_size_at_once(tmp_path: Path) -> None:
    path = nasty_files.sparse_file(tmp_path / "huge.txt")
    started = time.monotonic()
    with pytest.raises(IngestError, match=r"file is too large \(5\.0 GB\)"):
        probe(path)
    assert time.monotonic() - started < 1.0


def test_a_pdf_name_without_pdf_bytes_is_a_damaged_pdf(tmp_path: Path) -> None:
    path = tmp_path / "fake.pdf"
    path.write_text("this is not a pdf at all")
    with pytest.raises(IngestError, match="damaged PDF"):
        probe(path)


def test_an_encrypted_office_file_named_docx_is_reported_as_password_protected(
    tmp_path: Path,
) -> None:
    path = tmp_path / "secret.docx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1000))
    with pytest.raises(IngestError, match="password protected"):
        probe(path)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("secret.xlsx", "this file is password protected (encrypted); save an unprotected copy"),
        ("secret.pptx", "this file is password protected (encrypted); save an unprotected copy"),
        ("budget.xls", "old Excel format (.xls) is not supported; save it as .xlsx or .ods"),
        ("talk.ppt", "old PowerPoint format (.ppt) is not supported; save it as .pptx or PDF"),
        ("letter.doc", "old Word format (.doc) is not supported; save it as .docx or PDF"),
        (
            "thing.bin",
            "old Microsoft Office format (.doc, .xls, .ppt) is not supported; "
            "save it as .docx, .xlsx, .pptx or PDF",
        ),
    ],
)
def test_an_ole_office_file_says_what_to_save_it_as(tmp_path: Path, name: str, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1000))
    with pytest.raises(IngestError) as caught:
        probe(path)
    assert str(caught.value) == reason


def test_a_missing_file_is_reported_as_not_found(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="file not found"):
        probe(tmp_path / "nope.pdf")
