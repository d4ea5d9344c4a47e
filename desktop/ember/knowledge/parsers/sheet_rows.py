"""Spreadsheet rows as text a retrieved chunk can stand on: shared by the XLSX and ODS parsers.

Each sheet's first non-empty row is its header; every later row is written ``column: value; ...``
with the header's names (as the CSV parser does), so the header is repeated in every chunk. Rows
are grouped into sections of about :data:`SECTION_CHARS` characters (one chunk, roughly), each
located by its sheet and rows as the spreadsheet numbers them: ``sheet "Q3", row 14`` or
``sheet "Q3", rows 14-16``, under the heading path ``(sheet name,)``; a row longer than a section
may hold (a thousand wide cells) is cut into several, each with the row's locator.

A file gets at most :data:`MAX_SECTIONS` sections of rows, as many as the chunker keeps of one
file (each section is at least one chunk): a sheet of a million rows is read only that far (some
64,000 rows of four short cells: seconds, where reading it all would take minutes and be thrown
away), with a note saying after which row reading stopped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time

from ember.knowledge.chunking import MAX_CHUNKS_PER_DOCUMENT
from ember.knowledge.parsers.base import TextBudget, clean_text, split_long
from ember.knowledge.types import Section

SECTION_CHARS = 300  # about one 80-token chunk: a citation's rows are the chunk's rows
MAX_COLUMNS = 1_000  # cells past this in a row are not read (a crafted row 16,384 wide)
MAX_CELL_CHARS = 10_000
MAX_SECTIONS = MAX_CHUNKS_PER_DOCUMENT  # of one file, all its sheets together


def cell_text(value: object) -> str:
    """A cell's value as a person reads it: whole floats without ".0", dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes").removesuffix(" 00:00")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return " ".join(str(value)[:MAX_CELL_CHARS].split())


def locator(sheet: str, first: int, last: int) -> str:
    """``sheet "Q3", row 14`` for one row, ``sheet "Q3", rows 14-16`` for several."""
    rows = f"row {first}" if first == last else f"rows {first}-{last}"
    return f'sheet "{sheet}", {rows}'


def sheet_sections(
    sheet: str,
    rows: Iterable[tuple[int, Sequence[object]]],
    budget: TextBudget,
    room: int | None = None,
) -> list[Section]:
    """The sections of one sheet from its ``(row number, cell values)`` pairs, in order; at most
    ``room`` of them (the file's :data:`MAX_SECTIONS` less those of its sheets before). Rows past
    that are not read, and a note in ``budget.notes`` says so: a caller stops at a full file.

    A sheet with a header row only becomes one section holding the header.
    """
    room = MAX_SECTIONS if room is None else room
    header: list[str] | None = None
    header_row = 0
    sections: list[Section] = []
    lines: list[str] = []
    first = last = 0
    size = 0

    def flush(text: str) -> None:
        where = locator(sheet, first, last)
        for piece in split_long(text):
            cleaned = budget.take(clean_text(piece))
            if cleaned:
                sections.append(Section(cleaned, heading_path=(sheet,), page_label=where))

    for number, values in rows:
        if budget.exhausted:
            budget.truncated()
            break
        cells = [cell_text(value) for value in values[:MAX_COLUMNS]]
        if not any(cells):
            continue
        if header is None:
            header = [cell or f"column {i + 1}" for i, cell in enumerate(cells)]
            header_row = number
            continue
        line = "; ".join(
            f"{header[i] if i < len(header) else f'column {i + 1}'}: {value}"
            for i, value in enumerate(cells)
            if value
        )
        if lines and size + len(line) > SECTION_CHARS:
            flush("\n".join(lines))
            lines, size = [], 0
        if not lines:
            if len(sections) >= room:
                budget.notes.append(
                    f'rows after sheet "{sheet}", row {last:,} were not read: Ember indexes at '
                    f"most {MAX_SECTIONS:,} passages of one file"
                )
                return sections
            first = number
        lines.append(line)
        last = number
        size += len(line) + 1
    if lines:
        flush("\n".join(lines))
    if not sections and header is not None:
        first = last = header_row
        flush("; ".join(header))
    return sections
