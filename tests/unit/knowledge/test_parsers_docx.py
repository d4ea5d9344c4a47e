"""The DOCX parser and the ZIP checks that run before python-docx sees a file."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from tests.support import nasty_files

from ember.errors import IngestError
from ember.knowledge.parsers import docx
from ember.knowledge.parsers.docx_xml import Paragraph, StoryReader, Table
from ember.knowledge.parsers.zipguard import ZipLimits, check_zip
from ember.knowledge.types import ParsedDocument


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
        (("Maintenance",), "| Part | Interval |\n| --- | --- |\n| Filter | 6 months |"),
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


# -- hand-written WordprocessingML: the constructs Paragraph.text never saw ------------------------


def _run(text: str, properties: str = "") -> str:
    return f'<w:r>{properties}<w:t xml:space="preserve">{escape(text)}</w:t></w:r>'


def _para(*inner: str, style: str | None = None) -> str:
    properties = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
    return (
        f"<w:p>{properties}{''.join(_run(x) if not x.startswith('<') else x for x in inner)}</w:p>"
    )


def _cell(*inner: str, properties: str = "") -> str:
    return f"<w:tc><w:tcPr>{properties}</w:tcPr>{''.join(inner)}</w:tc>"


def _table(*rows: str) -> str:
    return f"<w:tbl><w:tblPr/><w:tblGrid/>{''.join(rows)}</w:tbl>"


def _row(*cells: str, properties: str = "") -> str:
    return f"<w:tr><w:trPr>{properties}</w:trPr>{''.join(cells)}</w:tr>"


def _drawingml_box(text: str) -> str:
    """A run holding a DrawingML text box (what Word 2010+ writes inside mc:Choice)."""
    return (
        '<w:drawing><wp:anchor><wp:docPr id="1" name="Text Box 1"/><a:graphic>'
        '<a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
        f"<wps:wsp><wps:txbx><w:txbxContent>{_para(text)}</w:txbxContent></wps:txbx></wps:wsp>"
        "</a:graphicData></a:graphic></wp:anchor></w:drawing>"
    )


def _vml_box(text: str) -> str:
    """A run's VML text box (Word 2003, and Word's fallback for older readers)."""
    return (
        '<w:pict><v:shape id="TextBox1" type="#_x0000_t202"><v:textbox><w:txbxContent>'
        f"{_para(text)}</w:txbxContent></v:textbox></v:shape></w:pict>"
    )


def _text_box_with_fallback(text: str) -> str:
    return (
        '<w:r><mc:AlternateContent><mc:Choice Requires="wps">'
        f"{_drawingml_box(text)}</mc:Choice><mc:Fallback>{_vml_box(text)}</mc:Fallback>"
        "</mc:AlternateContent></w:r>"
    )


def _control(inner: str, alias: str = "Field") -> str:
    return (
        f'<w:sdt><w:sdtPr><w:alias w:val="{alias}"/><w:id w:val="7"/></w:sdtPr>'
        f"<w:sdtContent>{inner}</w:sdtContent></w:sdt>"
    )


_CHANGE = 'w:id="{}" w:author="Reviewer" w:date="2025-01-10T10:00:00Z"'


def _inserted(inner: str, tag: str = "ins") -> str:
    return f"<w:{tag} {_CHANGE.format(1)}>{inner}</w:{tag}>"


def _deleted(text: str, tag: str = "del") -> str:
    run = f'<w:r><w:delText xml:space="preserve">{escape(text)}</w:delText></w:r>'
    return f"<w:{tag} {_CHANGE.format(2)}>{run}</w:{tag}>"


def _parse_raw(tmp_path: Path, body: str, **parts: Any) -> ParsedDocument:
    return docx.parse(nasty_files.write_raw_docx(tmp_path / "raw.docx", body, **parts))


def _text(document: ParsedDocument) -> str:
    return "\n".join(section.text for section in document.sections)


# -- text boxes -------------------------------------------------------------------------------------


def test_a_text_box_saved_with_its_vml_fallback_is_read_once_after_its_paragraph(
    tmp_path: Path,
) -> None:
    box = "Safety callout: never open the brivelton valve while the tank is pressurised."
    document = _parse_raw(
        tmp_path,
        _para("Tank farm operating notes", style="Heading1")
        + _para("Pressure readings are logged in the blue binder.", _text_box_with_fallback(box))
        + _para("Report any leak to the control room at once."),
    )
    assert [(s.heading_path, s.text) for s in document.sections] == [
        (
            ("Tank farm operating notes",),
            "Pressure readings are logged in the blue binder.\n"
            f"{box}\n"
            "Report any leak to the control room at once.",
        )
    ]


def test_a_vml_text_box_without_drawingml_is_read(tmp_path: Path) -> None:
    document = _parse_raw(
        tmp_path, _para("Anchor.", f"<w:r>{_vml_box('Old-style sidebar.')}</w:r>")
    )
    assert _text(document) == "Anchor.\nOld-style sidebar."


def test_a_drawingml_text_box_inside_a_shape_group_is_read(tmp_path: Path) -> None:
    grouped = (
        _drawingml_box("Grouped callout text.")
        .replace("<wps:wsp>", "<wpg:wgp><wps:wsp>")
        .replace("</wps:wsp>", "</wps:wsp></wpg:wgp>")
    )
    assert "Grouped callout text." in _text(_parse_raw(tmp_path, _para(f"<w:r>{grouped}</w:r>")))


def test_a_fallback_is_read_when_the_choice_holds_no_text(tmp_path: Path) -> None:
    picture_only = '<w:drawing><wp:inline><wp:docPr id="2" name="Picture"/></wp:inline></w:drawing>'
    alternate = (
        f'<w:r><mc:AlternateContent><mc:Choice Requires="wps">{picture_only}</mc:Choice>'
        f"<mc:Fallback>{_vml_box('Only the fallback says this.')}</mc:Fallback>"
        "</mc:AlternateContent></w:r>"
    )
    assert _text(_parse_raw(tmp_path, _para(alternate))) == "Only the fallback says this."


def test_a_text_box_in_a_header_is_read_under_the_header_heading(tmp_path: Path) -> None:
    header = _para("Company letterhead", _text_box_with_fallback("Confidential: plant 7 only."))
    document = _parse_raw(tmp_path, _para("Body text."), headers=[header])
    assert [(s.heading_path, s.text) for s in document.sections] == [
        ((), "Body text."),
        (("Header",), "Company letterhead\nConfidential: plant 7 only."),
    ]


def test_a_text_box_in_a_table_cell_joins_that_cell(tmp_path: Path) -> None:
    body = _table(
        _row(_cell(_para("Valve")), _cell(_para("Note"))),
        _row(_cell(_para("V-12")), _cell(_para("Check", _text_box_with_fallback("weekly!")))),
    )
    assert _text(_parse_raw(tmp_path, body)) == (
        "| Valve | Note |\n| --- | --- |\n| V-12 | Check weekly! |"
    )


def test_vml_wordart_text_is_read(tmp_path: Path) -> None:
    wordart = '<w:r><w:pict><v:shape><v:textpath string="DRAFT COPY"/></v:shape></w:pict></w:r>'
    assert _text(_parse_raw(tmp_path, _para("Page one.", wordart))) == "Page one.\nDRAFT COPY"


# -- content controls -------------------------------------------------------------------------------


def test_a_template_whose_whole_body_is_one_content_control_is_read(tmp_path: Path) -> None:
    body = _control(
        _para("Quennel maintenance handbook", style="Heading1")
        + _para("Lubricate the quennel gearbox every 400 operating hours with grade 46 oil.")
        + _para("Replace the drive belt when cracks appear on its inner face."),
        alias="Template body",
    )
    document = _parse_raw(tmp_path, body)
    assert [(s.heading_path, s.text) for s in document.sections] == [
        (
            ("Quennel maintenance handbook",),
            "Lubricate the quennel gearbox every 400 operating hours with grade 46 oil.\n"
            "Replace the drive belt when cracks appear on its inner face.",
        )
    ]


def test_a_run_level_content_control_is_read_in_its_sentence(tmp_path: Path) -> None:
    sentence = _para(
        "Prepared for ",
        _control(_run("Halvercrest Logistics"), alias="Client"),
        " by the operations team.",
    )
    document = _parse_raw(tmp_path, _control(_para("Morrowgate project charter.")) + sentence)
    assert _text(document) == (
        "Morrowgate project charter.\nPrepared for Halvercrest Logistics by the operations team."
    )


def test_content_controls_in_cells_and_around_rows_and_cells_are_read(tmp_path: Path) -> None:
    body = _table(
        _row(_cell(_para("Site")), _cell(_para("Contact"))),
        _row(_cell(_control(_para("North yard"))), _cell(_para(_control(_run("Ada Brandt"))))),
        _control(_row(_cell(_para("South yard")), _control(_cell(_para("Ben Okafor"))))),
    )
    assert _text(_parse_raw(tmp_path, body)) == (
        "| Site | Contact |\n| --- | --- |\n| North yard | Ada Brandt |\n| South yard | Ben Okafor |"
    )


def test_a_content_controls_properties_are_not_text(tmp_path: Path) -> None:
    control = (
        '<w:sdt><w:sdtPr><w:alias w:val="Colour"/><w:dropDownList>'
        '<w:listItem w:displayText="Blue" w:value="Blue"/></w:dropDownList>'
        '<w:placeholder><w:docPart w:val="Hint"/></w:placeholder></w:sdtPr>'
        f"<w:sdtContent>{_run('Green')}</w:sdtContent></w:sdt>"
    )
    assert _text(_parse_raw(tmp_path, _para("Colour: ", control))) == "Colour: Green"


# -- tracked changes --------------------------------------------------------------------------------


def test_tracked_insertions_are_kept_and_deletions_dropped(tmp_path: Path) -> None:
    body = _para(
        "The warranty period for the Zentrivo controller is ",
        _deleted("twelve"),
        _inserted(_run("thirty-six")),
        " months from the date of delivery.",
    ) + _para(_inserted(_run("Claims must be filed through the Ostrowind service portal.")))
    assert _text(_parse_raw(tmp_path, body)) == (
        "The warranty period for the Zentrivo controller is thirty-six months from the date of "
        "delivery.\nClaims must be filed through the Ostrowind service portal."
    )


def test_a_moved_passage_is_read_at_its_new_place_only(tmp_path: Path) -> None:
    body = _para("First. ", _deleted("Moved sentence.", tag="moveFrom")) + _para(
        "Second. ", _inserted(_run("Moved sentence."), tag="moveTo")
    )
    assert _text(_parse_raw(tmp_path, body)) == "First.\nSecond. Moved sentence."


def test_tracked_changes_in_a_table_keep_insertions_and_drop_deleted_rows(tmp_path: Path) -> None:
    deleted_row = '<w:del w:id="5" w:author="Reviewer" w:date="2025-01-10T10:00:00Z"/>'
    body = _table(
        _row(_cell(_para("Part")), _cell(_para("Interval"))),
        _row(_cell(_para("Filter")), _cell(_para(_deleted("3"), _inserted(_run("6")), " months"))),
        _row(_cell(_para("Gasket")), _cell(_para("never")), properties=deleted_row),
    )
    assert _text(_parse_raw(tmp_path, body)) == (
        "| Part | Interval |\n| --- | --- |\n| Filter | 6 months |"
    )


def test_field_codes_are_dropped_and_their_results_kept(tmp_path: Path) -> None:
    field = (
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        '<w:r><w:instrText xml:space="preserve"> REF budget \\h </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
        + _run("4,200 EUR")
        + '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
    )
    simple = f'<w:fldSimple w:instr=" DATE ">{_run("3 May 2025")}</w:fldSimple>'
    document = _parse_raw(tmp_path, _para("Budget: ", field, ", as of ", simple, "."))
    assert _text(document) == "Budget: 4,200 EUR, as of 3 May 2025."


# -- runs -------------------------------------------------------------------------------------------


def test_hyperlinks_smart_tags_and_custom_xml_keep_their_text(tmp_path: Path) -> None:
    body = _para(
        "See ",
        f'<w:hyperlink r:id="rIdNone" w:history="1">{_run("the manual")}</w:hyperlink>',
        " in ",
        f'<w:smartTag w:uri="urn:places" w:element="City"><w:smartTagPr/>{_run("Oslo")}</w:smartTag>',
        " by ",
        f'<w:customXml w:element="owner">{_run("Kari")}</w:customXml>',
        ".",
    )
    assert _text(_parse_raw(tmp_path, body)) == "See the manual in Oslo by Kari."


def test_tabs_and_breaks_are_whitespace_and_symbols_are_characters(tmp_path: Path) -> None:
    body = _para(
        "Name",
        "<w:r><w:tab/></w:r>",
        '<w:r><w:t>Value</w:t><w:br/><w:t>Next line</w:t><w:sym w:font="Symbol" w:char="2192"/>'
        "<w:t>end</w:t><w:noBreakHyphen/><w:t>part</w:t></w:r>",
    )
    assert _text(_parse_raw(tmp_path, body)) == "Name Value\nNext line→end-part"


def test_math_text_is_kept(tmp_path: Path) -> None:
    math = "<m:oMath><m:r><m:t>E=mc</m:t></m:r><m:sSup><m:e/><m:sup><m:r><m:t>2</m:t></m:r></m:sup></m:sSup></m:oMath>"
    assert _text(_parse_raw(tmp_path, _para("Energy: ", math))) == "Energy: E=mc2"


# -- headers, footers, notes, comments --------------------------------------------------------------


def test_headers_and_footers_are_sections_of_their_own_a_repeated_one_said_once(
    tmp_path: Path,
) -> None:
    section_break = (
        '<w:p><w:pPr><w:sectPr><w:headerReference w:type="default" r:id="rIdHeader2"/>'
        '<w:headerReference w:type="first" r:id="rIdHeader3"/></w:sectPr></w:pPr></w:p>'
    )
    document = _parse_raw(
        tmp_path,
        _para("Chapter one.") + section_break + _para("Chapter two."),
        headers=[_para("ACME Pumps manual"), _para("ACME Pumps manual"), _para("Cover sheet")],
        footers=[_para("Page ", '<w:fldSimple w:instr="PAGE">' + _run("1") + "</w:fldSimple>")],
    )
    assert [(s.heading_path, s.text) for s in document.sections] == [
        ((), "Chapter one.\nChapter two."),
        (("Header",), "ACME Pumps manual\nCover sheet"),
        (("Footer",), "Page 1"),
    ]


def test_footnotes_and_endnotes_are_sections_of_their_own(tmp_path: Path) -> None:
    separators = (
        '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
        '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/>'
        "</w:r></w:p></w:footnote>"
    )
    footnotes = separators + (
        f'<w:footnote w:id="1">{_para("Measured at 20 °C.", _deleted(" Roughly."))}</w:footnote>'
        f'<w:footnote w:id="2">{_para("Per EN 806-5.")}</w:footnote>'
    )
    endnotes = f'<w:endnote w:id="1">{_para("Source: field trials 2024.")}</w:endnote>'
    reference = '<w:r><w:footnoteReference w:id="1"/></w:r>'
    document = _parse_raw(
        tmp_path,
        _para("Pressure is 3 bar.", reference),
        footnotes_xml=footnotes,
        endnotes_xml=endnotes,
    )
    assert [(s.heading_path, s.text) for s in document.sections] == [
        ((), "Pressure is 3 bar."),
        (("Footnotes",), "Measured at 20 °C.\nPer EN 806-5."),
        (("Endnotes",), "Source: field trials 2024."),
    ]


def test_comments_are_a_section_with_their_authors(tmp_path: Path) -> None:
    comments = (
        f'<w:comment w:id="0" w:author="Ines Vale" w:initials="IV">{_para("Check the torque.")}'
        f"{_para('Second thought.')}</w:comment>"
        f'<w:comment w:id="1">{_para("Anonymous remark.")}</w:comment>'
    )
    body = _para(
        '<w:commentRangeStart w:id="0"/>', "Tighten to 40 Nm.", '<w:commentRangeEnd w:id="0"/>'
    )
    document = _parse_raw(tmp_path, body, comments_xml=comments)
    assert [(s.heading_path, s.text) for s in document.sections][1:] == [
        (("Comments",), "Ines Vale: Check the torque.\nSecond thought.\nAnonymous remark."),
    ]


def test_a_document_with_text_only_in_a_footer_is_not_empty(tmp_path: Path) -> None:
    document = _parse_raw(tmp_path, _para(""), footers=[_para("Printed 2025.")])
    assert [(s.heading_path, s.text) for s in document.sections] == [(("Footer",), "Printed 2025.")]


@pytest.mark.parametrize(
    ("part", "label"),
    [
        ("footnotes_xml", "the footnotes"),
        ("endnotes_xml", "the endnotes"),
        ("comments_xml", "the comments"),
    ],
)
def test_a_malformed_notes_or_comments_part_costs_only_that_part_with_a_note(
    tmp_path: Path, part: str, label: str
) -> None:
    document = _parse_raw(
        tmp_path, _para("Body."), footers=[_para("Page 1")], **{part: "<w:footnote>"}
    )
    assert [(s.heading_path, s.text) for s in document.sections] == [
        ((), "Body."),
        (("Footer",), "Page 1"),
    ]
    assert document.notes == (f"{label} could not be read: the part is damaged",)


def test_a_malformed_header_costs_only_that_header(tmp_path: Path) -> None:
    document = _parse_raw(
        tmp_path, _para("Body."), headers=["<w:p>", _para("Second header")], footers=["<w:p"]
    )
    assert [(s.heading_path, s.text) for s in document.sections] == [
        ((), "Body."),
        (("Header",), "Second header"),
    ]
    assert document.notes == (
        "a header could not be read: the part is damaged",
        "a footer could not be read: the part is damaged",
    )


def test_a_malformed_main_document_part_is_still_reported_as_damaged(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="damaged Word document: its XML is malformed"):
        _parse_raw(tmp_path, "<w:p>", comments_xml="<w:comment>")


# -- tables -----------------------------------------------------------------------------------------


def test_a_pipe_in_a_cell_is_escaped_and_cell_whitespace_squeezed(tmp_path: Path) -> None:
    body = _table(
        _row(_cell(_para("Command")), _cell(_para("Meaning"))),
        _row(_cell(_para("a | b")), _cell(_para("pipe  a"), _para("into   b"))),
    )
    assert _text(_parse_raw(tmp_path, body)) == (
        "| Command | Meaning |\n| --- | --- |\n| a \\| b | pipe a into b |"
    )


def test_merged_cells_are_said_once_and_every_row_keeps_the_tables_width(tmp_path: Path) -> None:
    span = '<w:gridSpan w:val="2"/>'
    body = _table(
        _row(_cell(_para("Pump")), _cell(_para("Limits"), properties=span)),
        _row(
            _cell(_para("P-1"), properties='<w:vMerge w:val="restart"/>'),
            _cell(_para("min")),
            _cell(_para("2 bar")),
        ),
        _row(
            _cell(_para(""), properties="<w:vMerge/>"), _cell(_para("max")), _cell(_para("6 bar"))
        ),
    )
    assert _text(_parse_raw(tmp_path, body)) == (
        "| Pump | Limits | |\n| --- | --- | --- |\n| P-1 | min | 2 bar |\n| P-1 | max | 6 bar |"
    )


def test_identical_neighbouring_cells_are_both_kept(tmp_path: Path) -> None:
    body = _table(
        _row(_cell(_para("Left")), _cell(_para("Right"))),
        _row(_cell(_para("Yes")), _cell(_para("Yes"))),
    )
    assert _text(_parse_raw(tmp_path, body)).endswith("| Yes | Yes |")


def test_a_nested_table_is_flattened_into_its_cell(tmp_path: Path) -> None:
    inner = _table(_row(_cell(_para("a1")), _cell(_para("a2"))), _row(_cell(_para("b1"))))
    body = _table(
        _row(_cell(_para("Outer")), _cell(_para("Detail"))),
        _row(_cell(_para("x")), _cell(_para("see:"), inner)),
    )
    assert _text(_parse_raw(tmp_path, body)) == (
        "| Outer | Detail |\n| --- | --- |\n| x | see: a1 a2 b1 |"
    )


def test_a_table_stands_apart_from_the_paragraphs_around_it(tmp_path: Path) -> None:
    grid = _table(
        _row(_cell(_para("A")), _cell(_para("B"))), _row(_cell(_para("1")), _cell(_para("2")))
    )
    body = _para("Before.") + grid + _para("After.")
    assert _text(_parse_raw(tmp_path, body)) == (
        "Before.\n\n| A | B |\n| --- | --- |\n| 1 | 2 |\n\nAfter."
    )


# -- headings ---------------------------------------------------------------------------------------


def test_headings_are_found_by_style_name_whatever_their_style_id(tmp_path: Path) -> None:
    german = (
        '<w:style w:type="paragraph" w:default="1" w:styleId="Standard">'
        '<w:name w:val="Normal"/></w:style>'
        '<w:style w:type="paragraph" w:styleId="berschrift1"><w:name w:val="heading 1"/></w:style>'
    )
    body = _para("Wartung", style="berschrift1") + _para("Filter alle 6 Monate wechseln.")
    document = _parse_raw(tmp_path, body, styles_xml=german)
    assert [(s.heading_path, s.text) for s in document.sections] == [
        (("Wartung",), "Filter alle 6 Monate wechseln.")
    ]


def test_a_second_title_style_paragraph_is_kept_as_text(tmp_path: Path) -> None:
    body = _para("Pump Guide", style="Title") + _para("Second edition", style="Title")
    document = _parse_raw(tmp_path, body + _para("Intro."))
    assert (document.title, _text(document)) == ("Pump Guide", "Second edition\nIntro.")


def test_a_document_without_properties_is_named_by_its_first_heading(tmp_path: Path) -> None:
    body = _para("Installation", style="Heading1") + _para("x") + _para("Upkeep", style="Heading1")
    assert _parse_raw(tmp_path, body + _para("y")).title == "Installation"


# -- hostile nesting --------------------------------------------------------------------------------


def test_content_controls_nested_to_the_xml_depth_limit_are_read(tmp_path: Path) -> None:
    path = nasty_files.deeply_nested_controls_docx(tmp_path / "deep.docx", depth=120)
    assert _text(docx.parse(path)) == "Deep inside."


def test_nesting_past_the_xml_depth_limit_is_reported_as_damaged(tmp_path: Path) -> None:
    path = nasty_files.deeply_nested_controls_docx(tmp_path / "deeper.docx", depth=5_000)
    with pytest.raises(IngestError, match="damaged Word document"):
        docx.parse(path)


def test_the_walk_spends_no_python_recursion_on_nesting(tmp_path: Path) -> None:
    from lxml import etree

    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    body = etree.Element(f"{w}body")
    inner = body
    for level in range(3_000):  # far past the recursion limit; alternate controls and boxes
        if level % 2:
            inner = etree.SubElement(etree.SubElement(inner, f"{w}sdt"), f"{w}sdtContent")
        else:
            run = etree.SubElement(etree.SubElement(inner, f"{w}p"), f"{w}r")
            inner = etree.SubElement(etree.SubElement(run, f"{w}pict"), f"{w}txbxContent")
    etree.SubElement(
        etree.SubElement(etree.SubElement(inner, f"{w}p"), f"{w}r"), f"{w}t"
    ).text = "core"
    assert StoryReader().read(body) == [Paragraph("core", in_box=True)]


# -- review fixes -----------------------------------------------------------------------------------


def test_identical_footnotes_and_comments_by_different_people_are_all_kept(
    tmp_path: Path,
) -> None:
    footnotes = (
        f'<w:footnote w:id="1">{_para("Ibid.")}</w:footnote>'
        f'<w:footnote w:id="2">{_para("Ibid.")}</w:footnote>'
    )
    comments = (
        f'<w:comment w:id="0" w:author="Ann">{_para("Agreed.")}</w:comment>'
        f'<w:comment w:id="1" w:author="Bob">{_para("Agreed.")}</w:comment>'
        f'<w:comment w:id="2" w:author="Bob">{_para("Agreed.")}</w:comment>'
    )
    document = _parse_raw(
        tmp_path, _para("See the sources."), footnotes_xml=footnotes, comments_xml=comments
    )
    assert [(s.heading_path, s.text) for s in document.sections][1:] == [
        (("Footnotes",), "Ibid.\nIbid."),
        (("Comments",), "Ann: Agreed.\nBob: Agreed.\nBob: Agreed."),
    ]


def test_the_table_of_contents_control_is_left_out(tmp_path: Path) -> None:
    toc_entry = _para(
        "Introduction",
        "<w:r><w:tab/></w:r>",
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        '<w:r><w:instrText xml:space="preserve"> PAGEREF _Toc1 \\h </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>',
        "3",
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>',
    )
    toc = (
        '<w:sdt><w:sdtPr><w:docPartObj><w:docPartGallery w:val="Table of Contents"/>'
        "<w:docPartUnique/></w:docPartObj></w:sdtPr>"
        f"<w:sdtContent>{_para('Contents', style='TOCHeading')}{toc_entry}</w:sdtContent></w:sdt>"
    )
    document = _parse_raw(
        tmp_path, toc + _para("Introduction", style="Heading1") + _para("Body text here.")
    )
    assert [(s.heading_path, s.text) for s in document.sections] == [
        (("Introduction",), "Body text here.")
    ]


def test_the_placeholder_text_of_an_empty_content_control_is_left_out(tmp_path: Path) -> None:
    placeholder = (
        "<w:sdt><w:sdtPr><w:showingPlcHdr/><w:text/></w:sdtPr><w:sdtContent>"
        + _run(
            "Click or tap here to enter text.", '<w:rPr><w:rStyle w:val="PlaceholderText"/></w:rPr>'
        )
        + "</w:sdtContent></w:sdt>"
    )
    filled = _control(_run("Halvercrest"), alias="Client")
    not_showing = (
        '<w:sdt><w:sdtPr><w:showingPlcHdr w:val="false"/></w:sdtPr>'
        f"<w:sdtContent>{_run('Ostrowind')}</w:sdtContent></w:sdt>"
    )
    body = _para("Customer name: ", placeholder) + _para("Client: ", filled, " and ", not_showing)
    assert _text(_parse_raw(tmp_path, body)) == "Customer name:\nClient: Halvercrest and Ostrowind"


def test_ruby_readings_are_left_out_and_their_base_text_kept(tmp_path: Path) -> None:
    ruby = (
        "<w:r><w:ruby><w:rubyPr/><w:rt>"
        + _run("とうきょう")
        + "</w:rt><w:rubyBase>"
        + _run("東京")
        + "</w:rubyBase></w:ruby></w:r>"
    )
    assert _text(_parse_raw(tmp_path, _para(ruby, "に行く"))) == "東京に行く"


def test_a_crafted_table_of_2000_cells_each_spanning_63_columns_stays_small(
    tmp_path: Path,
) -> None:
    wide = _row(_cell(_para("x")), *[_cell(properties='<w:gridSpan w:val="63"/>')] * 2_000)
    body = _table(wide, *[_row(_cell(_para("y")))] * 2_000)
    path = nasty_files.write_raw_docx(tmp_path / "wide.docx", body)
    assert path.stat().st_size < 5_000
    text = _text(docx.parse(path))
    assert len(text) < 20_000  # was 50 million characters of "|  |  |", the whole text budget
    assert text.split().count("x") == 1 and text.split().count("y") == 2_000


def test_a_table_is_never_wider_than_63_columns_and_keeps_the_text_past_them(
    tmp_path: Path,
) -> None:
    row = _row(*[_cell(_para(f"c{number}")) for number in range(1, 71)])
    lines = _text(_parse_raw(tmp_path, _table(row, row))).split("\n")
    assert lines[1] == "| " + " | ".join(["---"] * 63) + " |"
    assert lines[0].endswith("| c62 | c63 c64 c65 c66 c67 c68 c69 c70 |")


def test_columns_empty_in_every_row_are_left_out(tmp_path: Path) -> None:
    body = _table(
        _row(_cell(_para("Part")), _cell(), _cell(_para("Interval")), _cell()),
        _row(_cell(_para("Filter")), _cell(), _cell(_para("6 months"))),
    )
    assert _text(_parse_raw(tmp_path, body)) == (
        "| Part | Interval |\n| --- | --- |\n| Filter | 6 months |"
    )


def test_a_rendered_table_counts_against_the_text_budget(tmp_path: Path) -> None:
    from lxml import etree

    row = _row(*[_cell(_para("x"))] * 63)  # 63 characters of text, 253 rendered
    body = etree.fromstring(
        f"<w:body {nasty_files.WORD_NAMESPACES}>{_table(*[row] * 100)}{_para('After.')}</w:body>"
    )
    reader = StoryReader(limit=10_000)
    items = reader.read(body)
    assert reader.exhausted  # 6,300 characters of text, but 25,300 rendered
    assert len(items) == 1 and isinstance(items[0], Table)
    assert 9_000 < sum(len(line) + 1 for line in items[0].lines) <= 10_000


def test_a_one_cell_table_is_read_as_paragraphs(tmp_path: Path) -> None:
    callout = _table(_row(_cell(_para("Note"), _para("Keep the  drain valve closed."))))
    body = _para("Before.") + callout + _para("After.")
    assert _text(_parse_raw(tmp_path, body)) == (
        "Before.\nNote\nKeep the drain valve closed.\nAfter."
    )


def test_a_one_row_or_one_column_table_is_read_as_paragraphs(tmp_path: Path) -> None:
    one_row = _table(_row(_cell(_para("Left column.")), _cell(), _cell(_para("Right column."))))
    one_column = _table(
        _row(_cell(_para("First box."))),
        _row(_cell(_para("Second box."), properties='<w:vMerge w:val="restart"/>'), _cell()),
        _row(_cell(properties="<w:vMerge/>")),  # said once, not again for the merged row
    )
    assert _text(_parse_raw(tmp_path, one_row + one_column)) == (
        "Left column.\nRight column.\nFirst box.\nSecond box."
    )


def test_a_layout_table_keeps_the_headings_and_tables_inside_it(tmp_path: Path) -> None:
    data = _table(
        _row(_cell(_para("Part")), _cell(_para("Interval"))),
        _row(_cell(_para("Filter")), _cell(_para("6 months"))),
    )
    page = _table(
        _row(_cell(_para("Upkeep", style="Heading1"), _para("Service the unit yearly."), data))
    )
    document = _parse_raw(tmp_path, _para("Intro.") + page)
    assert [(s.heading_path, s.text) for s in document.sections] == [
        ((), "Intro."),
        (
            ("Upkeep",),
            "Service the unit yearly.\n\n| Part | Interval |\n| --- | --- |\n| Filter | 6 months |",
        ),
    ]
