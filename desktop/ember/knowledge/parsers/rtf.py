"""Rich Text Format (.rtf): its text, through ``striprtf``.

Before striprtf sees the file, the nesting of its groups is measured (escaped braces aside) and
a file nesting deeper than :data:`MAX_GROUP_DEPTH` is refused: no word processor writes that, and
the converter keeps a stack entry per open group. At most :data:`MAX_RTF_BYTES` are read
(embedded pictures make RTF files large; what follows is left out with a note). Bytes outside
ASCII, which RTF writers escape, are read as Windows-1252, RTF's default code page.
RTF has no reliable headings, so the text is one run cut at paragraphs by the chunker.
"""

from __future__ import annotations

import re
from itertools import accumulate
from pathlib import Path

from ember.errors import IngestError
from ember.knowledge.parsers.base import TextBudget, located_sections
from ember.knowledge.types import ParsedDocument
from ember.units import size_text

MAX_GROUP_DEPTH = 1_000
MAX_RTF_BYTES = 256 * 1024 * 1024
_ESCAPED = re.compile(r"\\[\\{}]")
_NOT_BRACE = re.compile(r"[^{}]+")
_TITLE = re.compile(r"{\\title\s*([^{}\\]*)}")


def parse(path: Path) -> ParsedDocument:
    """An RTF document's text, titled from its ``\\title`` where it has one.

    Raises :class:`IngestError` for a file nested far too deep, or one without text.
    """
    budget = TextBudget()
    with open(path, "rb") as stream:
        data = stream.read(min(Path(path).stat().st_size, MAX_RTF_BYTES + 1))
    if len(data) > MAX_RTF_BYTES:
        data = data[:MAX_RTF_BYTES]
        budget.notes.append(f"only the first {size_text(MAX_RTF_BYTES)} of the file were read")
    raw = data.decode("cp1252", "replace")
    del data
    depth = group_depth(raw)
    if depth > MAX_GROUP_DEPTH:
        raise IngestError(
            f"refusing this RTF file: its groups nest {depth} deep (more than "
            f"{MAX_GROUP_DEPTH}; no word processor writes that)"
        )
    from striprtf.striprtf import rtf_to_text

    title_match = _TITLE.search(raw[: 64 * 1024])
    text = rtf_to_text(raw, errors="ignore")
    del raw
    sections = located_sections(text, (), None, budget)
    if not sections:
        raise IngestError("no text found in this RTF file")
    title = " ".join(title_match.group(1).split()) if title_match else ""
    return ParsedDocument(
        str(path), "rtf", tuple(sections), title=title or None, notes=tuple(budget.notes)
    )


def group_depth(raw: str) -> int:
    """How deep the groups (``{`` ... ``}``) of RTF source ``raw`` nest at most."""
    braces = _NOT_BRACE.sub("", _ESCAPED.sub("", raw))
    if not braces:
        return 0
    return max(accumulate(1 if brace == "{" else -1 for brace in braces))
