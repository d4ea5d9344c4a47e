"""The PDF parser (PDFium), on real PDFs: made with fpdf2, or object by object where fpdf2 cannot
make the shape (text drawn in a chosen order or direction, filled-in form fields)."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pytest
from tests.support import nasty_files

from ember.errors import IngestError
from ember.knowledge.parsers import hyphenation, pdf, pdf_forms, pdf_layout
from ember.knowledge.parsers.base import clean_text
from ember.knowledge.sandbox import ParserPool

PAGES = [
    "The boiler pressure should read between 1 and 1.5 bar.",
    "Bleed the radiators once a year, starting downstairs.",
    "Call a registered engineer if the pilot light keeps going out.",
]


def test_text_comes_back_page_by_page_with_1_based_page_numbers(tmp_path: Path) -> None:
    document = pdf.parse(nasty_files.write_pdf(tmp_path / "manual.pdf", PAGES))
    assert document.kind == "pdf"
    assert [section.page for section in document.sections] == [1, 2, 3]
    assert [section.text for section in document.sections] == PAGES


def test_the_title_comes_from_the_pdf_metadata(tmp_path: Path) -> None:
    path = nasty_files.write_pdf(tmp_path / "m.pdf", PAGES[:1], title="Boiler Manual")
    assert pdf.parse(path).title == "Boiler Manual"


def test_pages_without_text_are_left_out_but_numbering_is_kept(tmp_path: Path) -> None:
    path = nasty_files.write_pdf(tmp_path / "gap.pdf", ["first page", "", "third page"])
    document = pdf.parse(path)
    assert [(s.page, s.text) for s in document.sections] == [(1, "first page"), (3, "third page")]


def test_a_pdf_encrypted_with_an_empty_user_password_opens(tmp_path: Path) -> None:
    path = nasty_files.write_pdf(tmp_path / "restricted.pdf", PAGES[:1], user_password="")
    assert pdf.parse(path).sections[0].text == PAGES[0]


def test_a_pdf_with_a_user_password_is_refused_as_password_protected(tmp_path: Path) -> None:
    path = nasty_files.write_pdf(tmp_path / "locked.pdf", PAGES[:1], user_password="hunter2")
    with pytest.raises(IngestError, match="password protected"):
        pdf.parse(path)


def test_a_pdf_of_pictures_without_text_says_no_text_was_found(tmp_path: Path) -> None:
    path = nasty_files.write_image_only_pdf(tmp_path / "scan.pdf")  # framed blanks: OCR'd, empty
    with pytest.raises(IngestError, match=r"^no text found: the PDF has no text layer, and OCR"):
        pdf.parse(path)


def test_a_truncated_pdf_is_reported_as_damaged(tmp_path: Path) -> None:
    path = nasty_files.truncated_pdf(tmp_path / "cut.pdf")
    with pytest.raises(IngestError, match="damaged PDF"):
        pdf.parse(path)


def test_a_decompression_bomb_is_refused_as_too_large_when_decompressed(tmp_path: Path) -> None:
    # 130 KB that inflate to 128 MB: PDFium aborts when the sandbox's memory limit refuses it.
    bomb = nasty_files.pdf_decompression_bomb(tmp_path / "bomb.pdf", unpacked_mb=128)
    good = nasty_files.write_pdf(tmp_path / "good.pdf", PAGES[:1])
    with ParserPool(memory_mb=256) as pool:
        with pytest.raises(IngestError) as failure:
            pool.parse(bomb)
        assert str(failure.value).startswith("the PDF is too large when decompressed")
        assert "256 MB" in str(failure.value)
        assert pool.parse(good).sections[0].text == PAGES[0]  # the next file gets a new worker


# -- reading order: columns one after the other ------------------------------------------------

PUMP = [
    "Pump room procedure. Before the first",
    "start of the season the zelvanic pump",
    "must be primed with warm brine from",
    "tank three, never with fresh water,",
    "because fresh water cracks the seals.",
]
CANTEEN = [
    "Canteen notice. The kitchen closes",
    "at four on Fridays during the summer",
    "months. Lunch vouchers for visiting",
    "contractors are issued at reception",
    "and are valid for one meal only.",
]
STORES = [
    "Stores notice. Spare gaskets are",
    "kept in the blue cabinet next to",
    "the compressor and must be signed",
    "out in the ledger by the foreman",
    "before the end of every shift.",
]


def _flat(text: str) -> str:
    """The text on one line: line breaks are not what these tests are about."""
    return " ".join(text.split())


def _reads_in_order(text: str, *passages: list[str]) -> bool:
    """Each passage appears whole (its lines joined), and the passages in the order given."""
    flat = _flat(text)
    found = [flat.find(" ".join(passage)) for passage in passages]
    return -1 not in found and found == sorted(found)


def test_a_two_column_page_drawn_row_by_row_is_read_one_column_after_the_other(
    tmp_path: Path,
) -> None:
    # The content stream draws left line 1, right line 1, left line 2, ... across the gutter:
    # PDFium's own text fuses the columns line by line and no sentence survives.
    lines = nasty_files.column_lines([PUMP, CANTEEN], lefts=[60, 320], order="rows")
    path = nasty_files.write_layout_pdf(tmp_path / "newsletter.pdf", [lines])
    [section] = pdf.parse(path).sections
    assert section.page == 1
    assert "must be primed with warm brine from tank three" in _flat(section.text)
    assert _reads_in_order(section.text, PUMP, CANTEEN)


def test_three_columns_come_out_left_to_right_each_whole(tmp_path: Path) -> None:
    lines = nasty_files.column_lines([PUMP, STORES, CANTEEN], lefts=[40, 230, 420])
    path = nasty_files.write_layout_pdf(tmp_path / "three.pdf", [lines], size=8)
    assert _reads_in_order(pdf.parse(path).sections[0].text, PUMP, STORES, CANTEEN)


def test_columns_drawn_one_after_the_other_keep_that_order(tmp_path: Path) -> None:
    lines = nasty_files.column_lines([PUMP, CANTEEN], lefts=[60, 320], order="columns")
    path = nasty_files.write_layout_pdf(tmp_path / "drawn_by_column.pdf", [lines])
    assert _reads_in_order(pdf.parse(path).sections[0].text, PUMP, CANTEEN)


def test_columns_whose_baselines_do_not_line_up_are_read_apart(tmp_path: Path) -> None:
    # Different line spacing in each column: PDFium sees one line here, two lines there.
    title = [(200, 750, "Quarterly Plant Bulletin")]
    lines = nasty_files.column_lines([PUMP, CANTEEN], lefts=[60, 320], leading=[15, 13.3])
    path = nasty_files.write_layout_pdf(tmp_path / "uneven.pdf", [title + lines])
    text = pdf.parse(path).sections[0].text
    assert _flat(text).startswith("Quarterly Plant Bulletin")
    assert _reads_in_order(text, PUMP, CANTEEN)


def test_a_heading_an_intro_a_footer_and_the_page_number_stay_around_the_columns(
    tmp_path: Path,
) -> None:
    heading = [(150, 770, "Quarterly Plant Bulletin, spring edition")]
    intro = [
        (60, 750, "This introduction runs across the whole width of the page, as newsletters"),
        (60, 736, "often do at the top, before the two columns of notices begin below it."),
    ]
    columns = nasty_files.column_lines([PUMP, CANTEEN], lefts=[60, 320], top=712)
    footer = [
        (60, 620, "Printed on recycled paper by the works office; please pass it on to others."),
        (300, 40, "3"),
    ]
    path = nasty_files.write_layout_pdf(
        tmp_path / "bulletin.pdf", [heading + intro + columns + footer]
    )
    lines = pdf.parse(path).sections[0].text.split("\n")
    assert lines[0] == "Quarterly Plant Bulletin, spring edition"
    assert lines[1].startswith("This introduction runs across the whole width")
    assert _reads_in_order("\n".join(lines[3:-2]), PUMP, CANTEEN)
    assert lines[-2:] == [footer[0][2], "3"]


def test_wide_word_spaces_between_words_drawn_one_by_one_do_not_split_a_column(
    tmp_path: Path,
) -> None:
    # Loosely justified lines whose words are separate text objects: their spaces are over an
    # em wide, wider than the least gap taken for a gutter, and some line up from one line to
    # the next like rivers. The real gutter is 40 points wide and runs down the whole page.
    lines = nasty_files.column_lines([PUMP, CANTEEN], lefts=[60, 320])
    words = nasty_files.word_by_word(lines, width=220)
    path = nasty_files.write_layout_pdf(tmp_path / "justified.pdf", [words])
    assert _reads_in_order(pdf.parse(path).sections[0].text, PUMP, CANTEEN)


def test_a_page_number_above_one_column_comes_first_and_one_below_comes_last(
    tmp_path: Path,
) -> None:
    header = [(520, 740, "32")]
    columns = nasty_files.column_lines([PUMP, CANTEEN], lefts=[60, 320], top=700, order="columns")
    footer = [(60, 560, "Plant bulletin")]
    path = nasty_files.write_layout_pdf(tmp_path / "numbered.pdf", [header + columns + footer])
    lines = pdf.parse(path).sections[0].text.split("\n")
    assert lines[0] == "32"
    assert lines[-1] == "Plant bulletin"
    assert _reads_in_order("\n".join(lines[1:-1]), PUMP, CANTEEN)


def test_a_table_is_still_read_row_by_row(tmp_path: Path) -> None:
    # Cells line up in columns too, but they are short: reading them column by column would
    # separate every region from its yield.
    cells = [("Region", "Yield", "Change"), ("North", "4.1 t", "+0.2"), ("South", "3.7 t", "-0.1")]
    table = [
        (x, 680 - 15 * row, cell)
        for row, values in enumerate(cells)
        for x, cell in zip((72, 200, 300), values, strict=True)
    ]
    caption = [(72, 700, "Yield by region, tonnes per hectare, for the last season:")]
    path = nasty_files.write_layout_pdf(tmp_path / "table.pdf", [caption + table])
    assert pdf.parse(path).sections[0].text.split("\n")[1:] == [
        "Region Yield Change",
        "North 4.1 t +0.2",
        "South 3.7 t -0.1",
    ]


SPECIFICATIONS = [
    ("Operating voltage range", "220 to 240 volts, 50 Hz"),
    ("Maximum water pressure", "1 MPa (10 bar) at the inlet"),
    ("Spin speed settings", "400, 800, 1200 or 1400 rpm"),
    ("Net weight when empty", "about 68 kg without packing"),
    ("Noise level when spinning", "74 dB(A) re 1 pW"),
]


def test_a_table_of_short_phrases_made_by_fpdf2_is_read_row_by_row(tmp_path: Path) -> None:
    # Cells long enough to pass for lines of a narrow column, drawn row by row across the
    # gap like a newsletter: nothing runs on from one line to the next, so they are table rows.
    from fpdf import FPDF

    document = FPDF()
    document.add_page()
    document.set_font("Helvetica", size=11)
    document.multi_cell(0, 6, "The following table lists the technical data of the appliance.")
    with document.table(borders_layout="NONE", first_row_as_headings=True) as table:
        for cells in [("Parameter", "Value"), *SPECIFICATIONS]:
            row = table.row()
            for cell in cells:
                row.cell(cell)
    document.output(str(tmp_path / "specifications.pdf"))
    text = _flat(pdf.parse(tmp_path / "specifications.pdf").sections[0].text)
    for label, value in SPECIFICATIONS:
        assert f"{label} {value}" in text


def test_label_and_value_lines_aligned_at_a_tab_stop_stay_together(tmp_path: Path) -> None:
    lines = [(60, 720, "Technical data")]
    for i, (label, value) in enumerate(SPECIFICATIONS):
        lines += [(60, 700 - 14 * i, f"{label}:"), (260, 700 - 14 * i, value)]
    path = nasty_files.write_layout_pdf(tmp_path / "data.pdf", [lines])
    text = pdf.parse(path).sections[0].text
    assert [f"{label}: {value}" for label, value in SPECIFICATIONS] == text.split("\n")[1:]


TROUBLESHOOTING = [
    (
        ["The unit does not power on", "at all after installation or", "after a power cut"],
        [
            "Check that the power cord is firmly",
            "connected and that the wall outlet",
            "works, then reset the breaker.",
        ],
    ),
    (
        ["The display shows error E4", "during the rinse cycle and", "the drum stops turning"],
        [
            "The drain hose is kinked or blocked:",
            "straighten the hose and clean the",
            "filter under the front cover.",
        ],
    ),
    (
        ["Water leaks from the door", "seal after every wash, or", "from under the machine"],
        ["Inspect the door gasket for cracks", "and replace it if it is damaged."],
    ),
]


def test_a_table_with_wrapped_cells_drawn_cell_by_cell_is_read_row_by_row(
    tmp_path: Path,
) -> None:
    # A word processor's table: each cell's lines are drawn together, row after row. Its cells
    # wrap and run on like lines of prose; but the page draws each cell whole, next to its row,
    # and that order stands.
    lines = [(60, 720, "Troubleshooting"), (60, 700, "Problem"), (300, 700, "What to do")]
    top = 680
    for problem, remedy in TROUBLESHOOTING:
        lines += [(60, top - 13 * i, text) for i, text in enumerate(problem)]
        lines += [(300, top - 13 * i, text) for i, text in enumerate(remedy)]
        top -= 13 * max(len(problem), len(remedy)) + 8
    path = nasty_files.write_layout_pdf(tmp_path / "troubleshooting.pdf", [lines])
    cells = [cell for row in TROUBLESHOOTING for cell in row]
    assert _reads_in_order(pdf.parse(path).sections[0].text, *cells)


def test_side_by_side_boxes_of_short_lines_keep_the_order_they_are_drawn_in(
    tmp_path: Path,
) -> None:
    # A slide with two text boxes of bullet points, drawn one box after the other: they line up
    # like columns, but short lines are not prose, so PDFium's order stands.
    left = ["Pumps", "Valves", "Gauges", "Seals"]
    right = ["Monday", "Tuesday", "Wednesday", "Thursday"]
    lines = nasty_files.column_lines([left, right], lefts=[60, 320], order="columns")
    path = nasty_files.write_layout_pdf(tmp_path / "slide.pdf", [lines])
    assert pdf.parse(path).sections[0].text.split("\n") == left + right


@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_a_rotated_two_column_page_is_read_column_by_column(tmp_path: Path, rotate: int) -> None:
    # /Rotate turns the page for display; its text is drawn turned the other way so that it
    # reads upright: the columns run across what is, in the page's own coordinates, its height.
    lines = nasty_files.column_lines([PUMP, CANTEEN], lefts=[60, 420], top=540)
    path = nasty_files.write_layout_pdf(tmp_path / f"turned{rotate}.pdf", [lines], rotate=rotate)
    assert _reads_in_order(pdf.parse(path).sections[0].text, PUMP, CANTEEN)


def test_the_lines_of_a_rotated_page_come_top_to_bottom(tmp_path: Path) -> None:
    # Landscape content on a page shown turned by /Rotate 90: PDFium's text puts the second
    # line first.
    raw = nasty_files.RawPdf()
    ops = nasty_files.pdf_text_ops(
        [
            (72, 500, "Storage rule: plinkovar drums are stacked at most three high."),
            (72, 480, "Keep them away from the loading dock heaters."),
        ]
    )
    raw.page(ops, size=(792, 612), rotate=90)
    text = pdf.parse(raw.save(tmp_path / "landscape.pdf")).sections[0].text
    assert text == (
        "Storage rule: plinkovar drums are stacked at most three high.\n"
        "Keep them away from the loading dock heaters."
    )


def test_a_caption_running_up_the_margin_is_kept_whole(tmp_path: Path) -> None:
    raw = nasty_files.RawPdf()
    caption = nasty_files.pdf_text_ops(
        [(80, 150, "Table 4: trimbleweed seed yield per hectare by region")], direction=90
    )
    body = nasty_files.pdf_text_ops([(120, 700, "North 4.1 t, South 3.7 t, East 2.9 t.")])
    raw.page(caption + body)
    text = pdf.parse(raw.save(tmp_path / "caption.pdf")).sections[0].text
    assert "Table 4: trimbleweed seed yield per hectare by region" in text.split("\n")
    assert "North 4.1 t, South 3.7 t, East 2.9 t." in text.split("\n")


def test_an_ordinary_page_keeps_pdfiums_own_text(tmp_path: Path) -> None:
    import pypdfium2

    paragraphs = [" ".join(PUMP), " ".join(CANTEEN), " ".join(STORES)]
    path = nasty_files.write_pdf(tmp_path / "plain.pdf", ["\n\n".join(paragraphs)])
    document = pypdfium2.PdfDocument(str(path))
    try:
        page = document[0]
        expected = clean_text(page.get_textpage().get_text_range())
    finally:
        document.close()
    assert pdf.parse(path).sections[0].text == expected


@pytest.mark.parametrize(
    ("rotate", "rows", "size", "step"),
    [(90, 1, 1, 5), (0, 2, 4, 12)],  # one line on a /Rotate page; two close lines on any page
)
def test_a_line_of_16_000_text_objects_a_gutter_apart_is_laid_out_in_bounded_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rotate: int, rows: int, size: int, step: int
) -> None:
    # Tiny words a gutter apart: each gap would start a new piece of the line, and finding where
    # each piece starts in the text costs PDFium calls over the line. Far more pieces than any
    # layout has columns: the line stays whole, at no cost per piece.
    count = 16_000 // rows
    raw = nasty_files.RawPdf()
    items = [(10 + i * step, 400 - 6 * row, "ab") for row in range(rows) for i in range(count)]
    raw.page(
        nasty_files.pdf_text_ops(items, size=size), size=(20 + count * step, 800), rotate=rotate
    )
    calls = 0
    counting = pdf_layout._Probe.count_objects

    def counted(self: pdf_layout._Probe, start: int, length: int) -> int:
        nonlocal calls
        calls += 1
        return counting(self, start, length)

    monkeypatch.setattr(pdf_layout._Probe, "count_objects", counted)
    started = time.perf_counter()
    text = pdf.parse(raw.save(tmp_path / "crowded.pdf")).sections[0].text
    assert calls <= 100  # one per piece and step of a search, not one per piece per object
    assert time.perf_counter() - started < 10  # generous: 38 s before, well under 1 s now
    assert text.split().count("ab") == 16_000


# -- words broken at a line end ------------------------------------------------------------------

BROKEN = [
    "The schedule for routine main-",
    "tenance lists every price-",
    "determining factor and each well-",
    "known supplier of self-",
    "contained units for the plant.",
]
WHOLE = (
    "The schedule for routine maintenance lists every price-determining factor"
    " and each well-known supplier of self-contained units for the plant."
)


def test_a_word_split_at_a_line_end_is_joined_and_a_compound_keeps_its_hyphen(
    tmp_path: Path,
) -> None:
    # PDFium marks each line-end hyphen and drops the line break; cleaning used to drop the
    # mark too, turning "price-" / "determining" into "pricedetermining".
    lines = [(72, 700 - 14 * i, text) for i, text in enumerate(BROKEN)]
    path = nasty_files.write_layout_pdf(tmp_path / "hyphens.pdf", [lines])
    assert _flat(pdf.parse(path).sections[0].text) == WHOLE


def test_a_soft_hyphen_at_a_line_end_still_joins_its_word(tmp_path: Path) -> None:
    lines = [(72, 700, "Check the valve for wear and tear be\xad"), (72, 686, "fore every season.")]
    path = nasty_files.write_layout_pdf(tmp_path / "soft.pdf", [lines])
    assert _flat(pdf.parse(path).sections[0].text) == (
        "Check the valve for wear and tear before every season."
    )


def test_line_end_hyphens_inside_columns_join_the_right_lines(tmp_path: Path) -> None:
    # Drawn row by row, the next line in the stream after "main-" is the other column's; the
    # word goes on in the next line of its own column.
    left = ["The schedule for routine main-", "tenance lists every price-", "determining factor."]
    right = ["Each well-", "known supplier of self-", "contained units is listed here."]
    lines = nasty_files.column_lines([left, right], lefts=[60, 320])
    path = nasty_files.write_layout_pdf(tmp_path / "columns.pdf", [lines])
    assert _flat(pdf.parse(path).sections[0].text) == (
        "The schedule for routine maintenance lists every price-determining factor."
        " Each well-known supplier of self-contained units is listed here."
    )


@pytest.mark.parametrize(
    ("left", "right", "keeps"),
    [
        ("main", "tenance", False),  # halves that are not both words: one word
        ("in", "formation", False),  # both words, but so is "information"
        ("price", "determining", True),  # both words, "pricedetermining" is not
        ("well", "known", True),
        ("x", "ray", True),
        ("COVID", "19", True),  # a number goes on: never one word
        ("Franco", "Prussian", True),  # a capital after a lower-case half: a compound
        ("MAIN", "TENANCE", False),  # capitals throughout: still one word
        ("non", "commercially", False),  # a prefix that does not stand alone goes on
        ("re", "enter", True),  # ... unless the same vowel would meet
    ],
)
def test_a_hyphen_is_kept_when_both_halves_are_words_and_the_joined_form_is_not(
    left: str, right: str, keeps: bool
) -> None:
    assert hyphenation.keeps_hyphen(left, right) is keeps


@pytest.mark.parametrize(
    "broken",
    [
        # A suffix on the next line: the joined form may be missing from the word list.
        "read-able",
        "call-able",
        "print-able",
        "install-able",
        "format-ting",
        "for-matter",  # "format" + "t" + "er": a doubled consonant before a suffix
        # A bound syllable before the break, though the word list has it ("con", "pro").
        "con-figure",
        "pro-cure",
        "ex-tractor",
        # Compounds usually written as one word.
        "time-out",
        "file-name",
        "user-name",
        "work-around",
        "back-slash",
    ],
)
def test_a_word_split_the_way_latex_hyphenates_is_joined(broken: str) -> None:
    assert hyphenation.rejoin_breaks(broken.replace("-", "\x02")) == broken.replace("-", "")


@pytest.mark.parametrize(
    "compound", ["price-determining", "well-known", "self-contained", "re-enter", "high-level"]
)
def test_a_hyphenated_compound_keeps_its_hyphen(compound: str) -> None:
    assert hyphenation.rejoin_breaks(compound.replace("-", "\x02")) == compound


def test_the_word_list_is_the_embedders_vocabulary() -> None:
    words = hyphenation.vocabulary()
    assert words is not None and 20_000 < len(words) < 40_000
    assert {"maintenance", "price", "determining"} <= words
    assert "pricedetermining" not in words


def test_without_a_word_list_a_broken_word_is_joined_as_before() -> None:
    no_words: frozenset[str] = frozenset()
    assert hyphenation.rejoin_breaks("price\x02determining", no_words) == "pricedetermining"
    assert hyphenation.rejoin_breaks("route\x0266 and end\x02", no_words) == "route-66 and end-"


@pytest.mark.parametrize("failing", ["layout", "rejoin_breaks"])
def test_a_page_whose_reading_order_fails_keeps_pdfiums_own_text(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    failing: str,
) -> None:
    # A bug in putting a page in order, or in deciding its line-end hyphens, costs that page its
    # order (it gets PDFium's text, hyphen marks dropped as before), not the whole file.
    import pypdfium2

    def broken(*_: object) -> None:
        raise ValueError("a bug")

    left = ["The schedule for routine main-", "tenance lists every price-", "determining factor."]
    right = ["Each well-", "known supplier of self-", "contained units is listed here."]
    columns = nasty_files.column_lines([left, right], lefts=[60, 320])
    path = nasty_files.write_layout_pdf(tmp_path / "two.pdf", [columns, [(72, 700, PAGES[0])]])
    document = pypdfium2.PdfDocument(str(path))
    try:
        expected = [clean_text(page.get_textpage().get_text_range()) for page in document]
    finally:
        document.close()
    monkeypatch.setattr(pdf_layout, failing, broken)
    with caplog.at_level(logging.DEBUG, logger=pdf.__name__):
        sections = pdf.parse(path).sections
    assert [section.text for section in sections] == expected
    assert sections[0].text.startswith("The schedule for routine main- Each")  # rows, fused
    assert "ValueError: a bug" in caplog.text


# -- filled-in form fields -------------------------------------------------------------------------

GRANT_LABELS = [
    (72, 700, "Grant application form (filled in)"),
    (72, 655, "Applicant name:"),
    (72, 615, "Project title:"),
    (72, 575, "Requested budget:"),
]


def test_values_typed_into_a_form_are_indexed_with_their_labels_on_their_page(
    tmp_path: Path,
) -> None:
    # Saved without flattening: the page draws only the labels, the values live in the fields.
    fields = [
        nasty_files.FormField("applicant", "Velmora Quistrand", rect=(200, 650, 450, 670)),
        nasty_files.FormField(
            "project_title", "Kestrelwick drainage survey", rect=(200, 610, 450, 630)
        ),
        nasty_files.FormField("budget", "48 300 crowns", rect=(200, 570, 450, 590)),
    ]
    path = nasty_files.write_form_pdf(tmp_path / "grant.pdf", [GRANT_LABELS], fields)
    document = pdf.parse(path)
    [section] = document.sections
    assert section.page == 1
    assert section.text.split("\n\n")[1].split("\n") == [
        "Applicant: Velmora Quistrand",
        "Project title: Kestrelwick drainage survey",
        "Budget: 48 300 crowns",
    ]
    assert document.notes == ()


def test_tooltips_ticked_boxes_radio_buttons_lists_and_several_lines(tmp_path: Path) -> None:
    fields = [
        nasty_files.FormField(
            "f1_01[0]", "Harrow & Sons", tooltip="Name of the company", rect=(200, 700, 450, 720)
        ),
        nasty_files.FormField("agree", "Yes", kind="checkbox", rect=(200, 660, 212, 672)),
        nasty_files.FormField(
            "shipping",
            "Express",
            kind="radio",
            options=("Standard", "Express"),
            rect=(200, 620, 212, 632),
        ),
        nasty_files.FormField(
            "colour", "Teal", kind="combo", options=("Red", "Teal"), rect=(200, 560, 450, 580)
        ),
        nasty_files.FormField(
            "notes",
            "Deliver to the side gate.\nCall the foreman first.",
            kind="multiline",
            rect=(200, 460, 450, 540),
        ),
        nasty_files.FormField("city", "Ostravel", parent="address", rect=(200, 420, 450, 440)),
    ]
    path = nasty_files.write_form_pdf(tmp_path / "order.pdf", [[(72, 740, "Order form")]], fields)
    assert pdf.parse(path).sections[0].text == (
        "Order form\n\n"
        "Name of the company: Harrow & Sons\n"
        "Agree: Yes\n"
        "Shipping: Express\n"
        "Colour: Teal\n"
        "Notes: Deliver to the side gate.\nCall the foreman first.\n"
        "City: Ostravel"
    )


def test_a_field_shown_in_two_places_is_indexed_once_with_its_own_name_and_value(
    tmp_path: Path,
) -> None:
    # The field holds the name, tooltip and value; its two widgets only show them.
    client = nasty_files.FormField(
        "client",
        "Zoë Ünal, 東京",
        tooltip="Client name",
        rect=(200, 700, 450, 720),
        also_at=[(200, 100, 450, 120)],
    )
    path = nasty_files.write_form_pdf(tmp_path / "shared.pdf", [[(72, 740, "Order")]], [client])
    assert pdf.parse(path).sections[0].text == "Order\n\nClient name: Zoë Ünal, 東京"


def test_empty_fields_unticked_boxes_and_passwords_are_left_out(tmp_path: Path) -> None:
    fields = [
        nasty_files.FormField("applicant", "Velmora Quistrand", rect=(200, 650, 450, 670)),
        nasty_files.FormField("middle_name", "", rect=(200, 610, 450, 630)),
        nasty_files.FormField("newsletter", "", kind="checkbox", rect=(200, 570, 212, 582)),
        nasty_files.FormField("pin", "4711", kind="password", rect=(200, 530, 450, 550)),
    ]
    path = nasty_files.write_form_pdf(tmp_path / "sparse.pdf", [GRANT_LABELS], fields)
    text = pdf.parse(path).sections[0].text
    assert text.endswith("\n\nApplicant: Velmora Quistrand")
    assert "4711" not in text


def test_a_field_is_indexed_on_the_page_of_its_widget(tmp_path: Path) -> None:
    pages = [[(72, 700, "Part one: the applicant")], [(72, 700, "Part two: the project")]]
    fields = [
        nasty_files.FormField("applicant", "Velmora Quistrand", page=0),
        nasty_files.FormField("project", "Kestrelwick drainage survey", page=1),
    ]
    document = pdf.parse(nasty_files.write_form_pdf(tmp_path / "two_pages.pdf", pages, fields))
    assert [(s.page, s.text.split("\n")[-1]) for s in document.sections] == [
        (1, "Applicant: Velmora Quistrand"),
        (2, "Project: Kestrelwick drainage survey"),
    ]


def test_a_form_whose_pages_have_no_text_of_their_own_is_not_taken_for_a_scan(
    tmp_path: Path,
) -> None:
    fields = [nasty_files.FormField("applicant", "Velmora Quistrand")]
    path = nasty_files.write_form_pdf(tmp_path / "bare.pdf", [[]], fields)
    assert pdf.parse(path).sections[0].text == "Applicant: Velmora Quistrand"


def test_field_values_are_cleaned_and_cut_like_page_text(tmp_path: Path) -> None:
    fields = [
        nasty_files.FormField("motto", "ring\x07 the   bell\x00", rect=(200, 650, 450, 670)),
        nasty_files.FormField(
            "essay", "word " * 5_000, kind="multiline", rect=(200, 400, 450, 600)
        ),
    ]
    path = nasty_files.write_form_pdf(tmp_path / "dirty.pdf", [[(72, 700, "Form")]], fields)
    motto, essay = pdf.parse(path).sections[0].text.split("\n\n")[1].split("\n")
    assert motto == "Motto: ring the bell"
    assert essay.startswith("Essay: word word")
    assert len(essay) <= len("Essay: ") + pdf_forms.MAX_VALUE_CHARS


def test_a_form_that_cannot_be_read_costs_only_its_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: pdf_forms.FormReader) -> None:
        raise RuntimeError("PDFium choked")

    monkeypatch.setattr(pdf_forms.FormReader, "read", broken)
    fields = [nasty_files.FormField("applicant", "Velmora Quistrand")]
    document = pdf.parse(nasty_files.write_form_pdf(tmp_path / "form.pdf", [GRANT_LABELS], fields))
    assert document.sections[0].text.startswith("Grant application form (filled in)")
    assert document.notes == ("the values typed into this PDF's form fields could not be read",)


def test_a_form_with_100_000_widgets_is_read_in_bounded_time_with_a_note(
    tmp_path: Path,
) -> None:
    # PDFium's form API would build a tree of all the fields first, in time that grows with the
    # square of their number (minutes for this file); past a few thousand widgets each widget's
    # own entries are read instead, and only so many of them.
    path = nasty_files.pdf_with_many_widgets(tmp_path / "widgets.pdf", count=100_000)
    started = time.monotonic()
    document = pdf.parse(path)
    assert time.monotonic() - started < 10
    lines = document.sections[0].text.split("\n\n")[1].split("\n")
    assert len(lines) == pdf_forms.MAX_FIELDS
    assert all(re.fullmatch(r"F\d+: value \d+", line) for line in lines)
    assert any("more form fields that were not read" in note for note in document.notes)
