"""The text-format parsers: Markdown, reStructuredText, plain text, source code, CSV."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from ember.errors import IngestError
from ember.knowledge.parsers import code, csv, markdown, rst, text
from ember.knowledge.parsers.base import MAX_SECTION_CHARS

MARKDOWN = """---
title: Front Matter Title
---
Intro line.

# Setup

Install it.

## On Linux

Use the package.

```bash
# not a heading
make install
```

Other part
----------

Setext body.
"""

RST = """=========
The Guide
=========

Opening words.

Install
=======

Run the installer.

From source
-----------

Build it yourself.

Usage
=====

Start the app.
"""


def _write(tmp_path: Path, name: str, content: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode(encoding))
    return path


def test_markdown_sections_follow_atx_and_setext_headings(tmp_path: Path) -> None:
    document = markdown.parse(_write(tmp_path, "doc.md", MARKDOWN))
    assert [(s.heading_path, s.text.split("\n")[0]) for s in document.sections] == [
        ((), "Intro line."),
        (("Setup",), "Install it."),
        (("Setup", "On Linux"), "Use the package."),
        (("Setup", "Other part"), "Setext body."),
    ]


def test_markdown_hashes_inside_code_fences_are_not_headings(tmp_path: Path) -> None:
    document = markdown.parse(_write(tmp_path, "doc.md", MARKDOWN))
    assert "# not a heading" in document.sections[2].text


def test_markdown_front_matter_gives_the_title_and_is_not_indexed(tmp_path: Path) -> None:
    document = markdown.parse(_write(tmp_path, "doc.md", MARKDOWN))
    assert document.title == "Front Matter Title"
    assert all("title:" not in s.text for s in document.sections)


def test_rst_sections_follow_underlines_in_order_of_first_use(tmp_path: Path) -> None:
    document = rst.parse(_write(tmp_path, "guide.rst", RST))
    assert document.title == "The Guide"
    assert [(s.heading_path, s.text) for s in document.sections] == [
        (("The Guide",), "Opening words."),
        (("The Guide", "Install"), "Run the installer."),
        (("The Guide", "Install", "From source"), "Build it yourself."),
        (("The Guide", "Usage"), "Start the app."),
    ]


def test_plain_text_keeps_its_paragraphs_and_records_the_encoding(tmp_path: Path) -> None:
    path = _write(tmp_path, "notes.txt", "First paragraph.\n\n\n\nSecond   paragraph.\n")
    document = text.parse(path)
    assert [s.text for s in document.sections] == ["First paragraph.\n\nSecond paragraph."]
    assert (document.kind, document.encoding) == ("text", "utf-8")


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_text_files_with_and_without_bom_parse(tmp_path: Path, codec: str) -> None:
    content = "Les notes de réunion du lundi.\n" * 20
    with_bom = _write(tmp_path, "bom.txt", "\ufeff" + content, codec)
    without = _write(tmp_path, "nobom.txt", content, codec)
    for path in (with_bom, without):
        assert text.parse(path).sections[0].text.startswith("Les notes de réunion du lundi.")


def test_cp1252_and_shift_jis_files_decode_and_record_their_encoding(tmp_path: Path) -> None:
    french = "Le cœur a ses raisons que la raison ne connaît point. Déjà vu, naïve café. " * 20
    japanese = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。" * 20
    western = text.parse(_write(tmp_path, "fr.txt", french, "cp1252"))
    eastern = text.parse(_write(tmp_path, "jp.txt", japanese, "shift_jis"))
    assert western.sections[0].text == french.strip()
    assert eastern.sections[0].text == japanese
    assert western.encoding == "cp1252"
    assert codecs.lookup(eastern.encoding or "").name in {"shift_jis", "cp932", "shift_jis_2004"}


def test_invalid_utf8_is_read_without_failing(tmp_path: Path) -> None:
    path = tmp_path / "mixed.txt"
    path.write_bytes(b"Readable start of the file.\n" * 5 + b"\xc3\x28\xa0\xa1 bad bytes \xff end")
    document = text.parse(path)
    assert "Readable start of the file." in document.sections[0].text
    assert document.encoding


def test_very_long_text_is_cut_into_bounded_sections(tmp_path: Path) -> None:
    path = _write(tmp_path, "long.txt", ("word " * 500_000))
    document = text.parse(path)
    assert len(document.sections) >= 2
    assert all(len(s.text) <= MAX_SECTION_CHARS for s in document.sections)


def test_whitespace_only_text_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no text found"):
        text.parse(_write(tmp_path, "blank.txt", "   \n\n\t\n"))


def test_code_keeps_indentation_and_splits_at_blank_lines(tmp_path: Path) -> None:
    functions = "\n\n".join(f"def f{i}():\n    return {i}\n" for i in range(400))
    document = code.parse(_write(tmp_path, "many.py", functions))
    assert document.kind == "code"
    assert len(document.sections) > 1
    assert document.sections[0].text.startswith("def f0():\n    return 0")
    assert all(s.text.startswith("def f") for s in document.sections)


def test_csv_rows_are_written_out_with_their_header_names(tmp_path: Path) -> None:
    path = _write(tmp_path, "parts.csv", "Part,Price,Stock\nFilter,12.50,4\nPump,80,\n")
    document = csv.parse(path)
    assert (
        document.sections[0].text == "Part: Filter; Price: 12.50; Stock: 4\nPart: Pump; Price: 80"
    )


def test_tsv_files_split_on_tabs(tmp_path: Path) -> None:
    document = csv.parse(_write(tmp_path, "parts.tsv", "Part\tPrice\nFilter, large\t12\n"))
    assert document.sections[0].text == "Part: Filter, large; Price: 12"


def test_a_csv_with_a_runaway_quoted_field_is_reported_as_damaged(tmp_path: Path) -> None:
    from tests.support import nasty_files

    with pytest.raises(IngestError, match="damaged CSV"):
        csv.parse(nasty_files.corrupt_csv(tmp_path / "broken.csv"))
