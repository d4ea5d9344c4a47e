"""Source code: indentation kept, split at blank lines into sections of about ``TARGET_CHARS``.

Blank-line blocks are the natural units of code (a function, a class, a group of imports), so a
section never cuts through one unless a single block is itself enormous.
"""

from __future__ import annotations

import re
from pathlib import Path

from ember.errors import IngestError
from ember.files import shown_path
from ember.knowledge.decode import read_text
from ember.knowledge.parsers.base import TextBudget, split_long
from ember.knowledge.types import ParsedDocument, Section

TARGET_CHARS = 4000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK = re.compile(r"\n[ \t]*\n")


def parse(path: Path) -> ParsedDocument:
    """A source file as sections of blank-line blocks.

    Raises :class:`IngestError` if the file cannot be read or holds only whitespace.
    """
    decoded = read_text(path)
    budget = TextBudget()
    if decoded.truncated:
        budget.truncated()
    sections = tuple(Section(text) for text in split_blocks(budget.take(decoded.text)))
    if not sections:
        raise IngestError("no text found (the file holds only whitespace)")
    return ParsedDocument(
        str(path),
        "code",
        sections,
        title=shown_path(Path(path).name),
        encoding=decoded.encoding,
        notes=tuple(budget.notes),
    )


def split_blocks(text: str, target: int = TARGET_CHARS) -> list[str]:
    """Group blank-line-separated blocks of ``text`` into pieces of about ``target`` characters."""
    text = _CONTROL.sub("", text).expandtabs(4)
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for block in _BLANK.split(text):
        block = "\n".join(line.rstrip() for line in block.split("\n")).strip("\n")
        if not block.strip():
            continue
        if current and size + len(block) > target:
            pieces.append("\n\n".join(current))
            current, size = [], 0
        current.append(block)
        size += len(block) + 2
    if current:
        pieces.append("\n\n".join(current))
    return [part for piece in pieces for part in split_long(piece)]
