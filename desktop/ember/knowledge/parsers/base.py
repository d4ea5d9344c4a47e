"""Limits and small helpers every parser shares.

The bounds below are what keeps one hostile or enormous file from taking the machine with it:

* ``MAX_FILE_BYTES``: files larger than this are refused before anything reads them.
* ``MAX_TEXT_CHARS``: a document keeps at most this many characters of extracted text; the rest is
  dropped with a note on the :class:`ParsedDocument`. Text formats are read in ``READ_CHUNK_BYTES``
  pieces and reading stops at the cap, so a 200 MB one-line file costs about 50 M characters of
  memory (plus one copy while sections are cut), never the whole file.
* ``MAX_SECTION_CHARS``: one section never holds more than this; longer runs are cut at whitespace.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ember.errors import IngestError
from ember.knowledge.types import ParsedDocument, Section

Blocks = list[tuple[tuple[str, ...], list[str]]]

MAX_FILE_BYTES = 1024 * 1024 * 1024  # 1 GiB
MAX_TEXT_CHARS = 50_000_000
MAX_SECTION_CHARS = 1_000_000
READ_CHUNK_BYTES = 1024 * 1024

# C0 controls other than tab/newline, DEL, and the non-characters PDF text layers like to emit.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
# Only runs that change: matching every single space would build millions of tiny strings.
_SPACES = re.compile(r"[ \t\u00a0]{2,}|[\t\u00a0]")
_BLANK_RUNS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


def human_size(n_bytes: int) -> str:
    """``1536`` -> ``"1.5 KB"``; sizes for messages, in powers of 1024 like file managers show."""
    size = float(n_bytes)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


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
    decode: Callable[[Path], Any] | None = None,
    empty: str = "no text found (the file holds only whitespace or headings)",
) -> ParsedDocument:
    """A text format whose ``split_sections`` finds its title and heading blocks (Markdown, reST,
    HTML). ``decode`` reads the file (default: ``read_text``); ``empty`` is the reason given when
    no text is left."""
    if decode is None:
        from ember.knowledge.decode import read_text as decode  # decode builds on this module

    decoded = decode(path)
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
