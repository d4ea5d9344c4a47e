"""Excel (.xlsx, .xlsm): every sheet's rows under its header, located as ``sheet "Q3", row 14``.

The archive is vetted by :mod:`zipguard` first. openpyxl reads the workbook in read-only mode
(rows streamed, never the whole sheet in memory; it parses XML through defusedxml where that is
installed) and with the values last calculated for formulas. The sheet's declared dimensions are
dropped before reading, so a crafted ``A1:XFD1048576`` does not pad every row 16,384 cells wide.
Rows become text as :mod:`sheet_rows` writes them, and only as many as it keeps of a file (a
million-row sheet is read some 64,000 rows far). Chart sheets have no cells and are passed over.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import Any

from ember.errors import IngestError
from ember.knowledge.parsers import sheet_rows
from ember.knowledge.parsers.base import TextBudget
from ember.knowledge.parsers.sheet_rows import sheet_sections
from ember.knowledge.parsers.zipguard import check_zip
from ember.knowledge.types import ParsedDocument, Section

_WHAT = "Excel workbook"


def parse(path: Path) -> ParsedDocument:
    """A workbook as sections of rows, sheet by sheet.

    Raises :class:`IngestError` for an unsafe archive, a file that is not a (sound) workbook, or
    one without any filled cell.
    """
    check_zip(path, what=_WHAT)
    from openpyxl.utils.exceptions import InvalidFileException

    budget = TextBudget()
    sections: list[Section] = []
    try:
        workbook = _open(path)
        try:
            for sheet in workbook.worksheets:
                if budget.exhausted or len(sections) >= sheet_rows.MAX_SECTIONS:
                    break
                if not hasattr(sheet, "iter_rows"):
                    continue  # a chart sheet
                sheet.reset_dimensions()
                rows = enumerate(sheet.iter_rows(values_only=True), start=1)
                sections.extend(
                    sheet_sections(
                        sheet.title, rows, budget, sheet_rows.MAX_SECTIONS - len(sections)
                    )
                )
            title = (workbook.properties.title or "").strip() or None
        finally:
            workbook.close()
    except (InvalidFileException, KeyError, zipfile.BadZipFile, zlib.error, EOFError):
        raise IngestError("not an Excel workbook (.xlsx), or a damaged one") from None
    except (SyntaxError, ValueError, TypeError) as exc:  # ElementTree's ParseError, bad values
        raise IngestError(f"damaged Excel workbook: {type(exc).__name__}") from None
    if not sections:
        raise IngestError("no text found in this Excel workbook (every sheet is empty)")
    return ParsedDocument(
        str(path), "xlsx", tuple(sections), title=title, notes=tuple(budget.notes)
    )


def _open(path: Path) -> Any:
    import openpyxl

    return openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
