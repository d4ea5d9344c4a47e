"""Markdown: sections by ATX (``# Title``) and setext (underlined) headings.

Headings inside fenced code blocks are code, not headings. YAML front matter is dropped, but its
``title:`` is used as the document title.
"""

from __future__ import annotations

import re
from pathlib import Path

from ember.knowledge.parsers.base import Blocks, parse_headed_text
from ember.knowledge.types import ParsedDocument

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_FRONT_TITLE = re.compile(r"""^title:\s*["']?(.*?)["']?\s*$""")


def parse(path: Path) -> ParsedDocument:
    """A Markdown file, sectioned by its headings.

    Raises :class:`IngestError` if the file cannot be read or holds no text.
    """
    return parse_headed_text(path, "markdown", split_sections)


def split_sections(text: str) -> tuple[str | None, Blocks]:
    """The title and ``(heading_path, lines)`` blocks of a Markdown text."""
    lines = text.split("\n")
    title, start = _front_matter(lines)
    blocks: Blocks = [((), [])]
    stack: list[tuple[int, str]] = []
    fence: str | None = None

    def open_section(level: int, heading: str) -> None:
        nonlocal title
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, heading))
        blocks.append((tuple(h for _, h in stack), []))
        if title is None and level == 1:
            title = heading

    for line in lines[start:]:
        fence_match = _FENCE.match(line)
        if fence is not None:
            if (
                fence_match
                and fence_match.group(1)[0] == fence[0]
                and len(fence_match.group(1)) >= len(fence)
            ):
                fence = None
            blocks[-1][1].append(line)
            continue
        if fence_match:
            fence = fence_match.group(1)
            blocks[-1][1].append(line)
            continue
        atx = _ATX.match(line)
        if atx and atx.group(2):
            open_section(len(atx.group(1)), atx.group(2).strip())
            continue
        setext = _SETEXT.match(line)
        body = blocks[-1][1]
        if setext and body and body[-1].strip() and not _ATX.match(body[-1]):
            heading = body.pop().strip()
            open_section(1 if setext.group(1)[0] == "=" else 2, heading)
            continue
        body.append(line)
    return title, blocks


def _front_matter(lines: list[str]) -> tuple[str | None, int]:
    if not lines or lines[0].strip() != "---":
        return None, 0
    for index in range(1, min(len(lines), 200)):
        if lines[index].strip() in ("---", "..."):
            title = None
            for line in lines[1:index]:
                match = _FRONT_TITLE.match(line)
                if match and match.group(1):
                    title = match.group(1)
            return title, index + 1
    return None, 0
