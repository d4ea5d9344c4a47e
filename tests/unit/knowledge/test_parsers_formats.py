"""The newer formats (PPTX, XLSX, ODS, ODT, EPUB, RTF, EML, MBOX, ipynb): real files written by
their own libraries, told apart by their bytes, parsed in the sandbox with the right locator on
every section; and one hostile file of each, failing alone with its reason."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import format_files as ff

from ember.errors import IngestError
from ember.knowledge.detect import probe
from ember.knowledge.limits import MAX_SECTION_CHARS
from ember.knowledge.parsers.rtf import group_depth
from ember.knowledge.sandbox import ParserPool
from ember.knowledge.types import page_reference


@pytest.fixture(scope="module")
def pool() -> Iterator[ParserPool]:
    with ParserPool(timeout_s=30) as shared:
        yield shared


def located(document) -> list[tuple[str | None, tuple[str, ...], str]]:  # type: ignore[no-untyped-def]
    return [(s.page_label, s.heading_path, s.text) for s in document.sections]


def test_a_deck_is_slides_then_their_notes_each_located_by_slide(
    tmp_path: Path, pool: ParserPool
) -> None:
    deck = ff.write_pptx(
        tmp_path / "talk.pptx",
        [("Welcome", "Agenda for today", "Greet everyone"), ("Budget", "Spend 40k", "")],
    )
    assert probe(deck).kind == "pptx"
    document = pool.parse(deck)
    assert document.kind == "pptx" and document.title == "Welcome"
    assert located(document) == [
        ("slide 1", ("Welcome",), "Welcome\nAgenda for today"),
        ("slide 1, notes", ("Welcome", "Notes"), "Greet everyone"),
        ("slide 2", ("Budget",), "Budget\nSpend 40k"),
    ]
    assert {s.page for s in document.sections} == {None}


def test_a_workbook_is_rows_under_their_header_located_by_sheet_and_row(
    tmp_path: Path, pool: ParserPool
) -> None:
    book = ff.write_xlsx(
        tmp_path / "figures.xlsx",
        [
            ("Q3", [["Region", "Revenue"], ["North", 1200], ["South", 950.5]]),
            ("Staff", [["Name", "Role"], ["Ada", "Engineer"]]),
        ],
    )
    assert probe(book).kind == "xlsx"
    assert located(pool.parse(book)) == [
        (
            'sheet "Q3", rows 2-3',
            ("Q3",),
            "Region: North; Revenue: 1200\nRegion: South; Revenue: 950.5",
        ),
        ('sheet "Staff", row 2', ("Staff",), "Name: Ada; Role: Engineer"),
    ]


def test_a_long_sheet_repeats_its_header_in_every_section_with_the_rows_it_holds(
    tmp_path: Path, pool: ParserPool
) -> None:
    rows = [["Invoice", "Customer", "Amount"]] + [
        [f"INV-{n:04}", f"Customer number {n}", n * 10] for n in range(1, 200)
    ]
    document = pool.parse(ff.write_xlsx(tmp_path / "invoices.xlsx", [("Invoices", rows)]))
    assert len(document.sections) > 5
    for section in document.sections:
        match = re.fullmatch(r'sheet "Invoices", rows? (\d+)(?:-(\d+))?', section.page_label)
        assert match, section.page_label
        first, last = match.group(1), match.group(2) or match.group(1)
        lines = section.text.splitlines()
        assert len(lines) == int(last) - int(first) + 1
        assert all(line.startswith("Invoice: INV-") and "Customer: " in line for line in lines)
        assert lines[0].startswith(f"Invoice: INV-{int(first) - 1:04}")  # row 2 is invoice 1


def test_a_shape_of_no_known_geometry_costs_nothing_and_grouped_text_is_read(
    tmp_path: Path, pool: ParserPool
) -> None:
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE
    from pptx.util import Inches

    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[6])  # blank
    odd = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, 0, 0, Inches(2), Inches(1))
    odd.text = "Kept although its shape is unknown"
    geometry = odd._element.spPr.prstGeom  # other programs write shapes without one
    geometry.getparent().remove(geometry)
    group = slide.shapes.add_group_shape()
    group.shapes.add_textbox(0, Inches(2), Inches(2), Inches(1)).text = "Inside a group"
    path = tmp_path / "odd.pptx"
    deck.save(str(path))

    assert located(pool.parse(path)) == [
        ("slide 1", (), "Kept although its shape is unknown\nInside a group")
    ]


def test_a_sheet_longer_than_a_file_keeps_is_read_only_that_far_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ember.knowledge.parsers import sheet_rows, xlsx

    monkeypatch.setattr(sheet_rows, "MAX_SECTIONS", 3)  # 15,000 sections: some 64,000 rows
    rows = [["Invoice", "Customer", "Amount"]] + [
        [f"INV-{n:04}", f"Customer number {n}", n * 10] for n in range(1, 200)
    ]
    book = ff.write_xlsx(tmp_path / "long.xlsx", [("Invoices", rows), ("Later", rows[:2])])
    document = xlsx.parse(book)

    assert len(document.sections) == 3
    last = document.sections[-1].page_label
    assert last is not None and last.startswith('sheet "Invoices", rows ')
    assert document.notes == (
        f'rows after sheet "Invoices", row {last.rsplit("-", 1)[1]} were not read: Ember '
        "indexes at most 3 passages of one file",
    )


def test_a_row_longer_than_a_section_is_cut_under_the_rows_locator(
    tmp_path: Path, pool: ParserPool
) -> None:
    import random

    rng = random.Random(7)  # words that do not compress 400:1, as "xxx..." would (a zip bomb)
    wide = [" ".join(f"{rng.getrandbits(40):x}" for _ in range(900)) for _ in range(150)]
    book = ff.write_xlsx(tmp_path / "wide.xlsx", [("Wide", [["Name"], wide])])
    document = pool.parse(book)
    assert len(document.sections) == 2
    assert all(len(s.text) <= MAX_SECTION_CHARS for s in document.sections)
    assert {s.page_label for s in document.sections} == {'sheet "Wide", row 2'}
    assert document.sections[-1].text.endswith("column 150: " + wide[-1])


def test_an_ods_spreadsheet_reads_like_a_workbook_past_its_million_empty_rows(
    tmp_path: Path, pool: ParserPool
) -> None:
    sheet = ff.write_ods(
        tmp_path / "figures.ods",
        [("Q3", [["Region", "Revenue"], ["North", "1200"]]), ("Staff", [["Name"], ["Ada"]])],
    )
    assert probe(sheet).kind == "ods"
    assert located(pool.parse(sheet)) == [
        ('sheet "Q3", row 2', ("Q3",), "Region: North; Revenue: 1200"),
        ('sheet "Staff", row 2', ("Staff",), "Name: Ada"),
    ]


def test_an_odt_is_sectioned_by_its_headings(tmp_path: Path, pool: ParserPool) -> None:
    text = ff.write_odt(
        tmp_path / "guide.odt",
        [("h1", "Kettle"), ("p", "Boil water."), ("h2", "Cleaning"), ("p", "Use vinegar.")],
    )
    assert probe(text).kind == "odt"
    document = pool.parse(text)
    assert document.title == "Kettle"
    assert located(document) == [
        (None, ("Kettle",), "Boil water."),
        (None, ("Kettle", "Cleaning"), "Use vinegar."),
    ]


def test_an_epub_is_chapters_in_reading_order_headed_by_their_titles(
    tmp_path: Path, pool: ParserPool
) -> None:
    book = ff.write_epub(
        tmp_path / "novel.epub",
        [("The Harbour", "Ships came in.\n\nGulls cried."), ("The Storm", "Rain fell.")],
        title="Sea Stories",
    )
    assert probe(book).kind == "epub"
    document = pool.parse(book)
    assert document.title == "Sea Stories"
    assert located(document) == [
        ("chapter 1", ("The Harbour",), "Ships came in.\n\nGulls cried."),
        ("chapter 2", ("The Storm",), "Rain fell."),
    ]


def test_an_rtf_file_is_its_text_and_title(tmp_path: Path, pool: ParserPool) -> None:
    rtf = ff.write_rtf(tmp_path / "memo.rtf", ["Kettles {and} toasters.", "Second."], title="Memo")
    rtf_named_txt = shutil.copy(rtf, tmp_path / "memo.txt")
    assert probe(rtf).kind == "rtf" and probe(Path(rtf_named_txt)).kind == "rtf"
    document = pool.parse(rtf)
    assert document.title == "Memo"
    assert located(document) == [(None, (), "Kettles {and} toasters.\nSecond.")]


def test_an_email_is_its_headers_and_plain_body_under_its_subject(
    tmp_path: Path, pool: ParserPool
) -> None:
    message = ff.write_eml(
        tmp_path / "note.eml", "Budget review", "Moved to Thursday.", html="<p>Moved!</p>"
    )
    document = pool.parse(message)
    assert document.kind == "eml" and document.title == "Budget review"
    [(label, heading, text)] = located(document)
    assert (label, heading) == (None, ("Budget review",))
    assert text.startswith("From: ada@example.org\nTo: team@example.org\n")
    assert text.endswith("Subject: Budget review\n\nMoved to Thursday.")


def test_a_mailbox_is_its_messages_each_located_by_number(tmp_path: Path, pool: ParserPool) -> None:
    box = ff.write_mbox(tmp_path / "inbox.mbox", [("Hello", "Hi all."), ("Offsite", "Lisbon.")])
    document = pool.parse(box)
    assert [
        (s.page_label, s.heading_path, s.text.split("\n\n")[-1]) for s in document.sections
    ] == [
        ("message 1", ("Hello",), "Hi all."),
        ("message 2", ("Offsite",), "Lisbon."),
    ]


def test_a_notebook_is_its_cells_under_their_markdown_headings(
    tmp_path: Path, pool: ParserPool
) -> None:
    notebook = ff.write_ipynb(
        tmp_path / "analysis.ipynb",
        [("markdown", "# Analysis\nLoad the data."), ("code", "x = 1"), ("markdown", "## Results")],
    )
    document = pool.parse(notebook)
    assert document.title == "Analysis"
    assert located(document) == [
        ("cell 1", ("Analysis",), "# Analysis\nLoad the data."),
        ("cell 2", ("Analysis",), "x = 1\n\nOutput:\nok"),
        ("cell 3", ("Analysis", "Results"), "## Results"),
    ]


def test_a_locator_without_a_page_is_shown_as_it_is_and_pages_are_unchanged() -> None:
    assert page_reference(None, "slide 7") == "slide 7"
    assert page_reference(None, 'sheet "Q3", row 14', word="page") == 'sheet "Q3", row 14'
    assert page_reference(None, None) is None
    assert page_reference(178, "150", 261) == "p. 150 (178 of 261)"


def test_rtf_group_depth_skips_escaped_braces() -> None:
    assert group_depth(r"{\rtf1{\b x}\{ \} {{y}}}") == 3


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return ff.generate_hostile(tmp_path_factory.mktemp("hostile") / "corpus")


@pytest.mark.parametrize("name", sorted(ff.HOSTILE_REASONS))
def test_each_hostile_file_fails_alone_with_its_reason(
    name: str, hostile: dict[str, Path], pool: ParserPool, tmp_path: Path
) -> None:
    with pytest.raises(IngestError) as failure:
        pool.parse(hostile[name])
    assert ff.HOSTILE_REASONS[name] in str(failure.value)
    good = ff.write_pptx(tmp_path / "after.pptx", [("Still", "working", "")])
    assert pool.parse(good).sections[0].page_label == "slide 1"
