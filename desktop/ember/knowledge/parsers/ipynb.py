"""Jupyter notebooks (.ipynb): every cell in order, each located as "cell 5".

The notebook is plain JSON (nbformat 4, and 3's worksheets), read with :mod:`json` after
:func:`~ember.knowledge.decode.read_text` (so the file size and text caps apply). Markdown cells'
headings make the heading path for the cells below them; a code cell is its source followed by
its text outputs (streams, plain-text results, error names), images and HTML left out.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ember.errors import IngestError
from ember.knowledge.decode import read_text
from ember.knowledge.parsers.base import TextBudget, located_sections
from ember.knowledge.types import ParsedDocument, Section

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
MAX_OUTPUT_CHARS = 20_000  # of each output: a loop's million printed lines are not the notebook


def parse(path: Path) -> ParsedDocument:
    """A notebook as one section per cell (longer cells cut), under the headings above it.

    Raises :class:`IngestError` for a file that is not a notebook, or one without text.
    """
    decoded = read_text(path)
    try:
        notebook = json.loads(decoded.text)
    except ValueError:
        raise IngestError("not a Jupyter notebook: the file is not valid JSON") from None
    cells = _cells(notebook)
    budget = TextBudget()
    if decoded.truncated:
        budget.truncated()
    sections: list[Section] = []
    path_: list[str] = []
    first_heading = None
    for number, cell in enumerate(cells, start=1):
        if budget.exhausted:
            budget.truncated()
            break
        if not isinstance(cell, dict):
            continue
        source = _text(cell.get("source", cell.get("input", "")))
        if cell.get("cell_type") == "markdown":
            for line in source.splitlines():
                match = _HEADING.match(line)
                if match:
                    del path_[len(match.group(1)) - 1 :]
                    path_.append(match.group(2))
                    first_heading = first_heading or match.group(2)
        elif cell.get("cell_type") == "code":
            outputs = [_output(o) for o in cell.get("outputs") or () if isinstance(o, dict)]
            shown = "\n".join(o for o in outputs if o)
            if shown:
                source = f"{source}\n\nOutput:\n{shown}"
        sections.extend(located_sections(source, tuple(path_), f"cell {number}", budget))
    if not sections:
        raise IngestError("no text found in this Jupyter notebook")
    metadata = notebook.get("metadata") if isinstance(notebook, dict) else None
    title = metadata.get("title") if isinstance(metadata, dict) else None
    return ParsedDocument(
        str(path),
        "ipynb",
        tuple(sections),
        title=str(title) if isinstance(title, str) and title.strip() else first_heading,
        encoding=decoded.encoding,
        notes=tuple(budget.notes),
    )


def _cells(notebook: Any) -> list[Any]:
    if not isinstance(notebook, dict):
        raise IngestError("not a Jupyter notebook: the JSON is not an object")
    cells = notebook.get("cells")
    if cells is None and isinstance(notebook.get("worksheets"), list):  # nbformat 3
        cells = [
            c for w in notebook["worksheets"] if isinstance(w, dict) for c in w.get("cells") or ()
        ]
    if not isinstance(cells, list):
        raise IngestError("not a Jupyter notebook: it has no cells")
    return cells


def _text(value: Any) -> str:
    """A notebook's multi-line string: one string, or a list of lines."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return ""


def _output(output: dict[str, Any]) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        text = _text(output.get("text"))
    elif kind in ("execute_result", "display_data", "pyout"):
        data = output.get("data") if isinstance(output.get("data"), dict) else output
        text = _text(data.get("text/plain", data.get("text")))
    elif kind in ("error", "pyerr"):
        text = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
    else:
        text = ""
    return text[:MAX_OUTPUT_CHARS].strip()
