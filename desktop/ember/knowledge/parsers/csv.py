"""CSV/TSV: each row as ``column: value; ...`` text under its header, rows grouped into sections.

Spelling the header out on every row keeps a retrieved chunk meaningful on its own ("Price: 12"
rather than a bare "12").
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ember.errors import IngestError
from ember.knowledge.decode import read_text
from ember.knowledge.parsers.base import TextBudget
from ember.knowledge.types import ParsedDocument, Section

ROWS_PER_SECTION = 50
MAX_FIELD_CHARS = 1_000_000


def parse(path: Path) -> ParsedDocument:
    """A CSV file (tab-separated for ``.tsv``) as sections of ``column: value`` rows.

    Raises :class:`IngestError` if the file cannot be read or has no rows.
    """
    decoded = read_text(path)
    budget = TextBudget()
    if decoded.truncated:
        budget.truncated()
    sections = rows_to_sections(
        decoded.text, tab=Path(path).suffix.lower() == ".tsv", budget=budget
    )
    if not sections:
        raise IngestError("no rows found in this CSV file")
    return ParsedDocument(
        str(path),
        "csv",
        sections,
        encoding=decoded.encoding,
        notes=tuple(budget.notes),
    )


def _dialect(sample: str, tab: bool) -> type[csv.Dialect] | csv.Dialect:
    if tab:
        return csv.excel_tab
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def rows_to_sections(text: str, *, tab: bool = False, budget: TextBudget) -> tuple[Section, ...]:
    """Sections of ``ROWS_PER_SECTION`` rows each, every row labelled with the header's names."""
    previous_limit = csv.field_size_limit(MAX_FIELD_CHARS)
    try:
        reader = csv.reader(io.StringIO(text), _dialect(text[: 64 * 1024], tab))
        header: list[str] | None = None
        sections: list[Section] = []
        lines: list[str] = []
        for row in reader:
            cells = [" ".join(cell.split()) for cell in row]
            if not any(cells):
                continue
            if header is None:
                header = [cell or f"column {i + 1}" for i, cell in enumerate(cells)]
                continue
            pairs = [
                f"{header[i] if i < len(header) else f'column {i + 1}'}: {value}"
                for i, value in enumerate(cells)
                if value
            ]
            lines.append("; ".join(pairs))
            if len(lines) == ROWS_PER_SECTION:
                sections.append(Section(budget.take("\n".join(lines)), heading_path=()))
                lines = []
                if budget.exhausted:
                    break
        if lines and not budget.exhausted:
            sections.append(Section(budget.take("\n".join(lines))))
        if not sections and header is not None:
            sections.append(Section(budget.take("; ".join(header))))
    except csv.Error as exc:
        raise IngestError(f"damaged CSV file: {exc}") from None
    finally:
        csv.field_size_limit(previous_limit)
    return tuple(section for section in sections if section.text)
