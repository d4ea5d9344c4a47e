"""Small helpers every parser shares: cleaning text, cutting it into bounded sections.

The bounds themselves (file size, characters kept, section length) are in
:mod:`ember.knowledge.limits`, shared with the text decoder.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ember.errors import IngestError
from ember.knowledge.decode import DecodedText, normalize_newlines, read_text
from ember.knowledge.limits import (
    MAX_FILE_BYTES,
    MAX_SECTION_CHARS,
    MAX_TEXT_CHARS,
    READ_CHUNK_BYTES,
)
from ember.knowledge.types import ParsedDocument, Section

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_SECTION_CHARS",
    "MAX_TEXT_CHARS",
    "READ_CHUNK_BYTES",
    "Blocks",
    "TextBudget",
    "clean_text",
    "located_sections",
    "normalize_newlines",
    "parse_headed_text",
    "sections_from_blocks",
    "split_long",
]

Blocks = list[tuple[tuple[str, ...], list[str]]]

# C0 controls other than tab/newline, DEL, and the non-characters PDF text layers like to emit.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
# Only runs that change: matching every single space would build millions of tiny strings.
_SPACES = re.compile(r"[ \t\u00a0]{2,}|[\t\u00a0]")
_BLANK_RUNS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


def clean_text(text: str) -> str:
    """Drop control characters, squeeze runs of spaces and of blank lines, strip the ends."""
    text = _CONTROL.sub("", normalize_newlines(text))
    text = _SPACES.sub(" ", text)
    text = _BLANK_RUNS.sub("\n\n", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def split_long(text: str, limit: int = MAX_SECTION_CHARS) -> Iterator[str]:
    """Cut ``text`` into pieces of at most ``limit`` characters, at a newline or space if possible.

    A generator, so a 50 M character text is never held twice in pieces.
    """
    start = 0
    while len(text) - start > limit:
        end = start + limit
        cut = text.rfind("\n", start + limit // 2, end)
        if cut < 0:
            cut = text.rfind(" ", start + limit // 2, end)
        if cut < 0:
            cut = end  # one enormous word: cut anywhere rather than keep it whole
        piece = text[start:cut].strip()
        if piece:
            yield piece
        start = cut
    piece = text[start:].strip() if start else text.strip()
    if piece:
        yield piece


@dataclass
class TextBudget:
    """Counts extracted characters against ``MAX_TEXT_CHARS`` and remembers whether it ran out."""

    limit: int = MAX_TEXT_CHARS
    used: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def exhausted(self) -> bool:
        """Whether the character limit has been reached."""
        return self.used >= self.limit

    def take(self, text: str) -> str:
        """The part of ``text`` that still fits; records a truncation note the first time."""
        room = self.limit - self.used
        if len(text) > room:
            text = text[: max(room, 0)]
            self.truncated()
        self.used += len(text)
        return text

    def truncated(self) -> None:
        """Record the truncation note (once)."""
        note = (
            f"text truncated: only the first {self.limit // 1_000_000} million characters were kept"
        )
        if note not in self.notes:
            self.notes.append(note)


def parse_headed_text(
    path: Path,
    kind: str,
    split_sections: Callable[[str], tuple[str | None, Blocks]],
    *,
    decode: Callable[[Path], DecodedText] | None = None,
    empty: str = "no text found (the file holds only whitespace or headings)",
) -> ParsedDocument:
    """A text format whose ``split_sections`` finds its title and heading blocks (Markdown, reST,
    HTML). ``decode`` reads the file (default: ``read_text``); ``empty`` is the reason given when
    no text is left."""
    decoded = (decode or read_text)(path)
    title, blocks = split_sections(decoded.text)
    budget = TextBudget()
    if decoded.truncated:
        budget.truncated()
    sections = sections_from_blocks(blocks, budget)
    if not sections:
        raise IngestError(empty)
    return ParsedDocument(
        str(path), kind, sections, title=title, encoding=decoded.encoding, notes=tuple(budget.notes)
    )


def sections_from_blocks(blocks: Blocks, budget: TextBudget) -> tuple[Section, ...]:
    """Turn ``(heading_path, lines)`` blocks into cleaned, size-bounded, non-empty sections."""
    sections: list[Section] = []
    for heading_path, lines in blocks:
        if budget.exhausted:
            budget.truncated()
            break
        # Cut first, then clean: cleaning works on at most one section's worth at a time.
        for raw in split_long("\n".join(lines)):
            if budget.exhausted:
                budget.truncated()
                break
            text = budget.take(clean_text(raw))
            if text:
                sections.append(Section(text, heading_path=heading_path))
    return tuple(sections)


def located_sections(
    text: str, heading_path: tuple[str, ...], where: str | None, budget: TextBudget
) -> list[Section]:
    """``text`` as cleaned, size-bounded sections under ``heading_path``, each located by
    ``where`` ("slide 7", "chapter 3": the ``page_label`` of a format without pages)."""
    found: list[Section] = []
    for piece in split_long(text):
        if budget.exhausted:
            budget.truncated()
            break
        cleaned = budget.take(clean_text(piece))
        if cleaned:
            found.append(Section(cleaned, heading_path=heading_path, page_label=where))
    return found
