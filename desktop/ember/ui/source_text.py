"""The part of a located document's text the viewer's text view shows, with its passage's spans
in the view's own positions.

Two things stand between :class:`ember.knowledge.locate.Location` and ``QTextDocument``:

* **Length**: a document keeps up to 50 M characters, and laying out a text takes the GUI thread
  about 15 ms a megabyte. The view shows at most :data:`MAX_SHOWN_CHARS` characters: the stretch
  around the passage (cut at line ends where it can), or the start when there is no passage.
* **Positions**: Python counts code points, ``QTextDocument`` UTF-16 units, so every character
  outside the Basic Multilingual Plane (emoji, 𝑥) before the passage would move the highlight
  one place early. Spans come back in UTF-16 units of the shown text.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

Span = tuple[int, int]

MAX_SHOWN_CHARS = 400_000
LINE_SEARCH = 2_000  # how far from a cut to look for a line end to cut at instead
_WIDE = re.compile("[\U00010000-\U0010ffff]")  # two UTF-16 units each


@dataclass(frozen=True, slots=True)
class ShownText:
    """``text`` (a part of the document when ``start`` > 0 or ``end`` < ``total``: characters
    ``start``..``end`` of ``total``) and ``spans`` in UTF-16 units of ``text``."""

    text: str
    spans: tuple[Span, ...]
    start: int
    end: int
    total: int

    @property
    def is_part(self) -> bool:
        return self.start > 0 or self.end < self.total


def shown_text(text: str, spans: Sequence[Span], limit: int = MAX_SHOWN_CHARS) -> ShownText:
    """What the text view shows of ``text`` with the passage at ``spans`` (code points). Run
    it off the GUI thread: it reads the whole shown part once."""
    total = len(text)
    start, end = 0, total
    if total > limit:
        middle = (spans[0][0] + spans[0][1]) // 2 if spans else limit // 2
        start = min(max(0, middle - limit // 2), total - limit)
        end = start + limit
        if start > 0:
            line = text.find("\n", start, start + LINE_SEARCH)
            start = line + 1 if line >= 0 else start
        if end < total:
            line = text.rfind("\n", end - LINE_SEARCH, end)
            end = line + 1 if line >= 0 else end
    part = text[start:end]
    kept = [(max(a, start) - start, min(b, end) - start) for a, b in spans if a < end and b > start]
    return ShownText(part, tuple(_utf16(part, kept)), start, end, total)


def _utf16(text: str, spans: Sequence[Span]) -> list[Span]:
    """``spans`` (code points of ``text``) in UTF-16 units."""
    wide = [match.start() for match in _WIDE.finditer(text)]
    if not wide:
        return list(spans)

    def unit(i: int) -> int:
        return i + bisect.bisect_left(wide, i)

    return [(unit(a), unit(b)) for a, b in spans]
