"""reStructuredText: sections by underlined (optionally overlined) titles.

As in docutils, levels are not fixed characters: the first underline style seen is level 1, the
next new one level 2, and so on.
"""

from __future__ import annotations

from pathlib import Path

from ember.knowledge.parsers.base import Blocks, parse_headed_text
from ember.knowledge.types import ParsedDocument

_ADORNMENT = set("=-`:'\"~^_*+#<>.")


def parse(path: Path) -> ParsedDocument:
    """A reStructuredText file, sectioned by its titles.

    Raises :class:`IngestError` if the file cannot be read or holds no text.
    """
    return parse_headed_text(path, "rst", split_sections)


def _adornment(line: str) -> str | None:
    """The character of an adornment line like ``=====``, or None."""
    stripped = line.rstrip()
    if len(stripped) >= 3 and stripped[0] in _ADORNMENT and stripped == stripped[0] * len(stripped):
        return stripped[0]
    return None


def split_sections(text: str) -> tuple[str | None, Blocks]:
    """The title and ``(heading_path, lines)`` blocks of a reStructuredText document."""
    lines = text.split("\n")
    styles: list[tuple[str, bool]] = []  # (character, overlined) in order of first appearance
    blocks: Blocks = [((), [])]
    stack: list[tuple[int, str]] = []
    title: str | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        heading: str | None = None
        style: tuple[str, bool] | None = None
        over = _adornment(line)
        nxt = lines[index + 1] if index + 1 < len(lines) else ""
        after = lines[index + 2] if index + 2 < len(lines) else ""
        if over and nxt.strip() and _adornment(after) == over and not _adornment(nxt):
            heading, style, step = nxt.strip(), (over, True), 3
        elif (
            line.strip()
            and not line.startswith((" ", "\t"))
            and not over
            and _adornment(nxt)
            and len(nxt.rstrip()) >= len(line.strip())
        ):
            heading, style, step = line.strip(), (_adornment(nxt) or "", False), 2
        if heading is None or style is None:
            blocks[-1][1].append(line)
            index += 1
            continue
        if style not in styles:
            styles.append(style)
        level = styles.index(style) + 1
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, heading))
        blocks.append((tuple(h for _, h in stack), []))
        if title is None:
            title = heading
        index += step
    return title, blocks
