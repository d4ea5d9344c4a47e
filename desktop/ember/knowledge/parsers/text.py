"""Plain text: one section, cut into pieces of at most ``MAX_SECTION_CHARS`` when it is huge."""

from __future__ import annotations

from pathlib import Path

from ember.errors import IngestError
from ember.knowledge.decode import read_text
from ember.knowledge.parsers.base import TextBudget, sections_from_blocks
from ember.knowledge.types import ParsedDocument


def parse(path: Path) -> ParsedDocument:
    """A plain-text file as one section (cut into pieces when huge).

    Raises :class:`IngestError` if the file cannot be read or holds only whitespace.
    """
    decoded = read_text(path)
    budget = TextBudget()
    if decoded.truncated:
        budget.truncated()
    notes = []
    if decoded.replaced:
        notes.append(f"some bytes were not valid {decoded.encoding} and were replaced")
    sections = sections_from_blocks([((), [decoded.text])], budget)
    if not sections:
        raise IngestError("no text found (the file holds only whitespace)")
    return ParsedDocument(
        str(path),
        "text",
        sections,
        encoding=decoded.encoding,
        notes=tuple(budget.notes + notes),
    )
