"""The DOCX parser and the ZIP checks that run before python-docx sees a file."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support import nasty_files

from ember.errors import IngestError
from ember.knowledge.parsers import docx
from ember.knowledge.parsers.zipguard import ZipLimits, check_zip


def _manual(path: Path) -> Path:
    return nasty_files.write_docx(
        path,
        [
            ("title", "Heating Handbook"),
            ("p", "Read this first."),
            ("h1", "Installation"),
            ("p", "Mount the unit on a solid wall."),
            ("h2", "On brick"),
            ("p", "Use 8 mm plugs."),
            ("h1", "Maintenance"),
            ("table", [["Part", "Interval"], ["Filter", "6 months"]]),
        ],
    )


def test_headings_become_the_heading_path_of_the_text_below_them(tmp_path: Path) -> None:
    document = docx.parse(_manual(tmp_path / "manual.docx"))
    assert [(s.heading_path, s.text) for s in document.sections] == [
        ((), "Read this first."),
        (("Installation",), "Mount the unit on a solid wall."),
        (("Installation", "On brick"), "Use 8 mm plugs."),
        (("Maintenance",), "Part | Interval\nFilter | 6 months"),
    ]


def test_the_title_style_names_the_document(tmp_path: Path) -> None:
    assert docx.parse(_manual(tmp_path / "manual.docx")).title == "Heating Handbook"


def test_the_core_properties_title_wins_when_set(tmp_path: Path) -> None:
    path = nasty_files.write_docx(tmp_path / "t.docx", [("p", "x")], core_title="Official Title")
    assert docx.parse(path).title == "Official Title"


def test_a_zip_bomb_is_refused_before_python_docx_reads_it(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="zip bomb"):
        docx.parse(nasty_files.zip_bomb_docx(tmp_path / "bomb.docx"))


def test_an_archive_with_100k_members_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="100017 members"):
        docx.parse(nasty_files.many_members_docx(tmp_path / "many.docx"))


def test_a_member_name_with_dot_dot_is_refused_as_path_traversal(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="path traversal"):
        docx.parse(nasty_files.traversal_docx(tmp_path / "climb.docx"))


def test_xml_with_entity_declarations_is_refused_as_an_entity_bomb(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="XML entity bomb"):
        docx.parse(nasty_files.entity_bomb_docx(tmp_path / "lol.docx"))


def test_the_total_unpacked_size_is_limited(tmp_path: Path) -> None:
    path = _manual(tmp_path / "manual.docx")
    with pytest.raises(IngestError, match="unpacks to more than"):
        check_zip(path, ZipLimits(max_total_bytes=10_000))


def test_a_zip_that_is_not_a_word_document_says_so(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "photos.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("holiday/readme.txt", "not word")
    with pytest.raises(IngestError, match=r"not a Word document \(\.docx\)"):
        docx.parse(path)


def test_a_truncated_docx_is_reported_as_damaged(tmp_path: Path) -> None:
    path = _manual(tmp_path / "manual.docx")
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(IngestError, match="damaged Word document"):
        docx.parse(path)
