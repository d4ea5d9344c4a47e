"""Real files of the newer formats, good and hostile, written by the formats' own libraries.

Good ones: :func:`write_pptx` (python-pptx, with speaker notes), :func:`write_xlsx` (openpyxl, two
sheets under header rows), :func:`write_ods` and :func:`write_odt` (odfpy), :func:`write_epub`
(ebooklib), :func:`write_eml` and :func:`write_mbox` (the standard ``email``/``mailbox``),
:func:`write_ipynb` (plain JSON, nbformat 4), :func:`write_rtf`. Hostile ones, one per format, come
from :func:`generate_hostile` with the reason each must fail with (:data:`HOSTILE_REASONS`).
"""

from __future__ import annotations

import json
import mailbox
import zipfile
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path

Slide = tuple[str, str, str]  # title, body, notes
Sheet = tuple[str, Sequence[Sequence[object]]]  # name, rows (the first is the header)
Chapter = tuple[str, str]  # title, body text


def write_pptx(path: Path, slides: Sequence[Slide], *, title: str | None = None) -> Path:
    """A deck with one "Title and Content" slide per ``(title, body, notes)``."""
    from pptx import Presentation

    deck = Presentation()
    if title:
        deck.core_properties.title = title
    for heading, body, notes in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = heading
        slide.placeholders[1].text = body
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    deck.save(str(path))
    return path


def write_xlsx(path: Path, sheets: Sequence[Sheet]) -> Path:
    """A workbook with one sheet per ``(name, rows)``, rows from row 1 (the header)."""
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets:
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
    workbook.save(str(path))
    return path


def write_ods(path: Path, sheets: Sequence[Sheet]) -> Path:
    """An OpenDocument spreadsheet with one table per ``(name, rows)``, ended as LibreOffice ends
    a sheet: a million empty rows in one repeated row."""
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    for name, rows in sheets:
        table = Table(name=name)
        for row in rows:
            element = TableRow()
            for value in row:
                cell = TableCell()
                cell.addElement(P(text=str(value)))
                element.addElement(cell)
            table.addElement(element)
        table.addElement(TableRow(numberrowsrepeated=1_048_000))
        document.spreadsheet.addElement(table)
    document.save(str(path))
    return path


def write_odt(path: Path, blocks: Sequence[tuple[str, str]]) -> Path:
    """An OpenDocument text from ``("h1".."h9" | "p", text)`` blocks."""
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    document = OpenDocumentText()
    for kind, text in blocks:
        if kind.startswith("h"):
            document.text.addElement(H(outlinelevel=int(kind[1:]), text=text))
        else:
            document.text.addElement(P(text=text))
    document.save(str(path))
    return path


def write_epub(path: Path, chapters: Sequence[Chapter], *, title: str = "A Book") -> Path:
    """An EPUB 3 with one XHTML document per chapter, in the spine in order, each headed by its
    title. Written by ebooklib, a dev-only dependency (AGPL-3.0; Ember's reader never imports it)."""
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("ember-test-book")
    book.set_title(title)
    book.set_language("en")
    items = []
    for number, (heading, body) in enumerate(chapters, start=1):
        item = epub.EpubHtml(title=heading, file_name=f"chap_{number}.xhtml", lang="en")
        paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
        item.content = f"<h1>{heading}</h1>{paragraphs}"
        book.add_item(item)
        items.append(item)
    book.toc = items
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *items]
    epub.write_epub(str(path), book)
    return path


def email_message(subject: str, body: str, sender: str = "ada@example.org") -> EmailMessage:
    """A plain-text message with the usual headers."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "team@example.org"
    message["Subject"] = subject
    message["Date"] = "Tue, 01 Oct 2024 09:30:00 +0000"
    message.set_content(body)
    return message


def write_eml(path: Path, subject: str, body: str, *, html: str | None = None) -> Path:
    """One message as an .eml file; with ``html``, an HTML alternative too."""
    message = email_message(subject, body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    path.write_bytes(bytes(message))
    return path


def write_mbox(path: Path, messages: Sequence[tuple[str, str]]) -> Path:
    """An mbox of plain-text ``(subject, body)`` messages, written by :mod:`mailbox`."""
    box = mailbox.mbox(str(path))
    try:
        for subject, body in messages:
            box.add(email_message(subject, body))
        box.flush()
    finally:
        box.close()
    return path


def write_ipynb(path: Path, cells: Sequence[tuple[str, str]]) -> Path:
    """A notebook (nbformat 4) of ``("markdown" | "code", source)`` cells; a code cell gets a
    stream output."""
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "cells": [
            {
                "cell_type": kind,
                "id": f"cell-{number}",
                "metadata": {},
                "source": source.splitlines(keepends=True),
                **(
                    {
                        "execution_count": number,
                        "outputs": [{"output_type": "stream", "name": "stdout", "text": ["ok\n"]}],
                    }
                    if kind == "code"
                    else {}
                ),
            }
            for number, (kind, source) in enumerate(cells, start=1)
        ],
    }
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    return path


def write_rtf(path: Path, paragraphs: Sequence[str], *, title: str | None = None) -> Path:
    """An RTF document with a font table and one ``\\par`` per paragraph."""
    info = "{\\info{\\title " + title + "}}" if title else ""
    escaped = (p.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}") for p in paragraphs)
    body = "".join(f"{p}\\par\n" for p in escaped)
    path.write_text(
        "{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times New Roman;}}"
        + info
        + "\n\\f0\\fs24 "
        + body
        + "}",
        encoding="ascii",
    )
    return path


# -- hostile ---------------------------------------------------------------------------------------


def zip_bomb(path: Path, good: Path, member: str, unpacked_mb: int = 64) -> Path:
    """A copy of the real package ``good`` with ``member`` added: ``unpacked_mb`` MB of zeros that
    compress about 1000:1."""
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            out.writestr(info, source.read(info))
        with out.open(member, "w", force_zip64=True) as bomb:
            block = bytes(1024 * 1024)
            for _ in range(unpacked_mb):
                bomb.write(block)
    return path


BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
    + b"".join(
        b'<!ENTITY lol%d "%s">\n' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
        for n in range(1, 10)
    )
    + b"]>\n"
)


def entity_bomb_odt(path: Path, good: Path) -> Path:
    """A real ODT whose content.xml declares the billion-laughs entities (and uses them)."""
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "content.xml":
                body = data.split(b"?>", 1)[1]
                data = BILLION_LAUGHS + body.replace(
                    b"</office:text>", b"<text:p>&lol9;</text:p></office:text>"
                )
            out.writestr(info, data)
    return path


def deeply_nested_rtf(path: Path, depth: int = 2_000_000) -> Path:
    """An RTF of ``depth`` nested groups and no text: 4 MB of braces."""
    path.write_bytes(b"{\\rtf1" + b"{" * depth + b"}" * depth + b"}")
    return path


def malformed_mbox(path: Path) -> Path:
    """A file named .mbox that is no mailbox: no ``From `` separator line, only binary junk."""
    path.write_bytes(b"Subject: lost\n\n" + bytes(range(1, 9)) * 1000)
    return path


def generate_hostile(folder: Path, sources: Path | None = None) -> dict[str, Path]:
    """One hostile file per format in ``folder``; the good files they are made from go to
    ``sources`` (default: a folder beside ``folder``)."""
    folder.mkdir(parents=True, exist_ok=True)
    good = sources or folder.parent / f"{folder.name}-good"
    good.mkdir(parents=True, exist_ok=True)
    deck = write_pptx(good / "deck.pptx", [("Title", "Body", "Notes")])
    book = write_xlsx(good / "book.xlsx", [("Sheet", [["A"], ["1"]])])
    epub = write_epub(good / "book.epub", [("Chapter", "Text.")])
    odt = write_odt(good / "doc.odt", [("p", "Text.")])
    return {
        "zip_bomb.pptx": zip_bomb(folder / "zip_bomb.pptx", deck, "ppt/media/image1.png"),
        "zip_bomb.xlsx": zip_bomb(folder / "zip_bomb.xlsx", book, "xl/media/image1.png"),
        "zip_bomb.epub": zip_bomb(folder / "zip_bomb.epub", epub, "EPUB/images/cover.png"),
        "entity_bomb.odt": entity_bomb_odt(folder / "entity_bomb.odt", odt),
        "deep_groups.rtf": deeply_nested_rtf(folder / "deep_groups.rtf"),
        "malformed.mbox": malformed_mbox(folder / "malformed.mbox"),
    }


# The reason the ingest report must give for each file of :func:`generate_hostile`.
HOSTILE_REASONS = {
    "zip_bomb.pptx": "refusing this PowerPoint presentation: it looks like a zip bomb",
    "zip_bomb.xlsx": "refusing this Excel workbook: it looks like a zip bomb",
    "zip_bomb.epub": "refusing this EPUB book: it looks like a zip bomb",
    "entity_bomb.odt": "refusing this OpenDocument text: XML entity bomb risk",
    "deep_groups.rtf": "refusing this RTF file: its groups nest",
    "malformed.mbox": "not a mailbox (.mbox)",
}
