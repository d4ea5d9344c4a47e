"""A PDF page's text in reading order: side-by-side columns one after the other.

PDFium's page text follows the content stream. A report writer that draws a two-column page row by
row, across the gutter, therefore comes out with the columns fused line by line ("Before the first
Canteen notice. The kitchen closes"), and no sentence survives. Here the page is laid out again
from where its text sits:

* **Lines** are PDFium's own: its text split where it put a line break, and after each line-end
  hyphen it marked (it joins those lines into one). A line's place on the page comes from
  ``FPDFText_CountRects``/``FPDFText_GetRect`` (one rectangle per text object in it), and its
  direction and size from the first character's matrix and font size: a few calls per line, not
  one per character, so a 300-page manual costs little more than PDFium's text alone.
* A page is re-ordered only when it needs to be: two of PDFium's lines sit side by side, two
  lines near each other both have a gutter-wide gap between text objects in the same place, or
  the page has a /Rotate (PDFium orders the lines of a rotated page oddly). Any other page keeps
  PDFium's text exactly; so does a single line with a gap, such as a running header.
* **Spans**: lines cut where their text objects are a gutter apart (a line with more such gaps
  than a layout takes pieces in a row stays whole). Coordinates are turned so that each span's
  text runs left to right (text drawn turned by 90, 180 or 270 degrees, e.g. a landscape page
  that a /Rotate shows upright, is laid out in its own frame); text at other angles keeps
  PDFium's order, after the rest. :mod:`.pdf_columns` puts the spans of each direction in
  reading order.
* Line-end hyphens (PDFium's marks, and a letter + ``-`` ending a line of a re-ordered page
  before one that starts with a letter) are resolved by :mod:`.hyphenation`.

A gutter inside one text object (a whole row drawn by a single ``TJ`` that jumps the gutter) is not
seen: that would need a call per character.
"""

from __future__ import annotations

import ctypes
import itertools
import math
import re
from dataclasses import dataclass
from typing import Any

from ember.knowledge.parsers.hyphenation import BREAK, rejoin_breaks
from ember.knowledge.parsers.pdf_columns import (
    BLOCK_GAP_EM,
    MAX_ROW_SPANS,
    Span,
    gutter_width,
    join_lines,
    layout,
)

# Bounds on what one page may cost; past them the page keeps PDFium's order.
MAX_LINES = 5_000
MAX_NEIGHBOURS = 50
_QUARTER_TOLERANCE = 10.0  # degrees: text this close to a multiple of 90 counts as turned by it
_LINE_BREAK = re.compile(r"\r\n|[\r\n]")
_UNMAPPED = "\ufffe"  # what PDFium's text has for a glyph without Unicode, or a line-end hyphen


@dataclass(slots=True)
class _Line:
    start: int  # character range in the page's text
    end: int
    turn: int  # quarter turns of the text direction (0-3), -1 for other angles or none known
    em: float
    boxes: list[tuple[float, float, float, float]]  # one per text object, in the text's frame


def page_text(textpage: object, *, rotated: bool = False) -> str:
    """The text of a pypdfium2 ``PdfTextPage`` in reading order, line-end hyphens resolved.

    ``rotated``: the page has a /Rotate, whose line order PDFium gets wrong.
    """
    import pypdfium2.raw as pdfium_c

    handle = textpage.raw  # type: ignore[attr-defined]
    count = pdfium_c.FPDFText_CountChars(handle)
    if count <= 0:
        return ""
    probe = _Probe(pdfium_c, handle)
    text = probe.marked_text(count)
    lines = _lines(probe, text)
    if len(lines) > MAX_LINES or not (rotated or _needs_layout(lines)):
        return rejoin_breaks(text)
    return rejoin_breaks(_reading_order(probe, text, lines))


def raw_text(textpage: object) -> str:
    """PDFium's own text of a pypdfium2 ``PdfTextPage``, one character per character index (the
    indices QtPdf's selections count), a line-end hyphen as :data:`BREAK`."""
    import pypdfium2.raw as pdfium_c

    handle = textpage.raw  # type: ignore[attr-defined]
    count = pdfium_c.FPDFText_CountChars(handle)
    return _Probe(pdfium_c, handle).marked_text(count) if count > 0 else ""


# -- PDFium's text and lines --------------------------------------------------------------------


class _Probe:
    """PDFium calls about one text page, with their ctypes out-parameters allocated once."""

    def __init__(self, pdfium_c: Any, handle: object) -> None:
        self.c, self.handle = pdfium_c, handle
        self.matrix = pdfium_c.FS_MATRIX()
        self.edges = [ctypes.c_double() for _ in range(4)]  # left, top, right, bottom

    def direction(self, index: int) -> tuple[int, float]:
        """(quarter turns of the text direction or -1, the em size in points) at a character."""
        matrix = self.matrix
        if not self.c.FPDFText_GetMatrix(self.handle, index, matrix):
            return -1, 0.0
        angle = math.degrees(math.atan2(matrix.b, matrix.a)) % 360
        quarter = round(angle / 90)
        turn = quarter % 4 if abs(angle - 90 * quarter) <= _QUARTER_TOLERANCE else -1
        size = self.c.FPDFText_GetFontSize(self.handle, index)
        return turn, abs(size) * math.hypot(matrix.a, matrix.b)

    def boxes(self, start: int, count: int) -> list[tuple[float, float, float, float]]:
        """The page-space boxes of the text objects among ``count`` characters from ``start``."""
        c, handle, edges = self.c, self.handle, self.edges
        left, top, right, bottom = edges
        found = []
        for index in range(c.FPDFText_CountRects(handle, start, count)):
            c.FPDFText_GetRect(handle, index, left, top, right, bottom)
            found.append((left.value, bottom.value, right.value, top.value))
        return found

    def count_objects(self, start: int, count: int) -> int:
        return self.c.FPDFText_CountRects(self.handle, start, count)

    def marked_text(self, count: int) -> str:
        """The page's text, one character per PDFium character index, with :data:`BREAK` where
        PDFium marked a line-end hyphen (it leaves U+FFFE there, which cleaning would drop)."""
        c, handle = self.c, self.handle
        buffer = (ctypes.c_ushort * (2 * count + 2))()  # room for surrogate pairs
        written = c.FPDFText_GetText(handle, 0, count, buffer)
        raw = bytes(memoryview(buffer).cast("B")[: max(written - 1, 0) * 2])
        text = raw.decode("utf-16-le", errors="replace")
        if len(text) != count:  # PDFium left characters out (control codes): ask one by one
            text = "".join(self._char(i) for i in range(count))
        if _UNMAPPED not in text and "\x02" not in text:
            return text
        chars = list(text)
        for i, char in enumerate(chars):
            if char in (_UNMAPPED, "\x02"):
                chars[i] = BREAK if c.FPDFText_IsHyphen(handle, i) else _UNMAPPED
        return "".join(chars)

    def _char(self, index: int) -> str:
        code = self.c.FPDFText_GetUnicode(self.handle, index)
        return chr(code) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else _UNMAPPED


def _lines(probe: _Probe, text: str) -> list[_Line]:
    """PDFium's lines, cut again after each line-end hyphen, with their boxes and direction."""
    lines: list[_Line] = []
    start = 0
    for match in _LINE_BREAK.finditer(text + "\n"):
        piece_start = start
        while (hyphen := text.find(BREAK, piece_start, match.start())) >= 0:
            _add_line(probe, text, piece_start, hyphen + 1, lines)
            piece_start = hyphen + 1
        _add_line(probe, text, piece_start, match.start(), lines)
        start = match.end()
        if len(lines) > MAX_LINES:
            break
    return lines


def _add_line(probe: _Probe, text: str, start: int, end: int, lines: list[_Line]) -> None:
    while start < end and text[start] == " ":
        start += 1
    if start >= end:
        return
    turn, em = probe.direction(start)
    boxes = [_turned(box, turn) for box in probe.boxes(start, end - start)]
    if len(boxes) == 1 and boxes[0][2] - boxes[0][0] <= 0 and boxes[0][3] - boxes[0][1] <= 0:
        boxes = []  # PDFium's answer for a line whose characters all have empty boxes
    if boxes and not 0 < em < 2000:  # no usable font size: the boxes' height will do
        em = max(box[3] - box[1] for box in boxes)
    lines.append(_Line(start, end, turn, em, boxes))


def _turned(box: tuple[float, float, float, float], turn: int) -> tuple[float, float, float, float]:
    """A page-space box in the frame where text turned by ``turn`` quarters runs left to right."""
    x0, y0, x1, y1 = box
    if turn == 1:  # text runs up the page
        return (y0, -x1, y1, -x0)
    if turn == 2:  # upside down
        return (-x1, -y1, -x0, -y0)
    if turn == 3:  # text runs down the page
        return (-y1, x0, -y0, x1)
    return box


def _needs_layout(lines: list[_Line]) -> bool:
    """Whether PDFium's order may be wrong: two of its lines sit side by side, or two lines near
    each other both have a gutter-wide gap in the same place. (One line with a gap, like a
    running header "Service manual ... Chapter 3", reads the same in either order.)"""
    by_turn: dict[int, list[tuple[float, float, float, float, float, list[tuple[float, float]]]]]
    by_turn = {}
    for line in lines:
        if line.turn < 0 or not line.boxes:
            continue
        boxes = sorted(line.boxes) if len(line.boxes) > 1 else line.boxes
        gaps, right = [], boxes[0][2]
        for box in boxes[1:]:
            if box[0] - right >= gutter_width(line.em):
                gaps.append((right, box[0]))
            right = max(right, box[2])
        y0, y1 = min(b[1] for b in boxes), max(b[3] for b in boxes)
        by_turn.setdefault(line.turn, []).append((y1, y0, boxes[0][0], right, line.em, gaps))
    for extents in by_turn.values():
        extents.sort(key=lambda extent: -extent[0])  # top first
        gapped = [extent for extent in extents if extent[5]]
        for upper, lower in itertools.pairwise(gapped):
            if upper[1] - lower[0] <= BLOCK_GAP_EM * upper[4] and any(
                a0 < b1 and b0 < a1 for a0, a1 in upper[5] for b0, b1 in lower[5]
            ):
                return True
        for i, (top, bottom, x0, x1, em, _) in enumerate(extents):
            for other_top, other_bottom, ox0, ox1, _, _ in extents[i + 1 : i + 1 + MAX_NEIGHBOURS]:
                if other_top <= bottom:
                    break
                overlap = min(top, other_top) - max(bottom, other_bottom)
                if overlap > 0.3 * min(top - bottom, other_top - other_bottom) and (
                    max(ox0 - x1, x0 - ox1) >= gutter_width(em)
                ):
                    return True
    return False


# -- reading order ------------------------------------------------------------------------------


def _reading_order(probe: _Probe, text: str, lines: list[_Line]) -> str:
    """The page's text with each direction's spans laid out; other text after, in PDFium's order."""
    by_turn: dict[int, list[Span]] = {}
    leftovers: list[str] = []
    for order, line in enumerate(lines):
        if line.turn < 0 or not line.boxes:
            leftovers.append(text[line.start : line.end])
            continue
        by_turn.setdefault(line.turn, []).extend(_spans(probe, text, line, order))
    # The direction with the most text first: a margin note or a sideways caption is an aside.
    turns = sorted(by_turn, key=lambda t: -sum(len(s.text) for s in by_turn[t]))
    blocks = [join_lines(layout(by_turn[turn])) for turn in turns]
    return "\n".join([*blocks, *leftovers])


def _spans(probe: _Probe, text: str, line: _Line, order: int) -> list[Span]:
    """``line`` cut where its text objects are a gutter apart, or where the next one starts back
    to the left of the last (PDFium put two columns' lines into one line, right one first). A
    line with more cuts than a layout takes pieces in a row stays whole: no page has that many
    columns, and finding where each piece starts costs PDFium calls over the line."""
    boxes, gutter = line.boxes, gutter_width(line.em)
    cuts = [
        i + 1
        for i in range(len(boxes) - 1)
        if boxes[i + 1][0] - boxes[i][2] >= gutter or boxes[i + 1][2] <= boxes[i][0]
    ]
    if not cuts or len(cuts) >= MAX_ROW_SPANS:
        piece = text[line.start : line.end].strip(" ")
        x0, y0, x1, y1 = _extent(boxes)
        return [Span(piece, x0, y0, x1, y1, line.em, order)] if piece else []
    starts = [line.start, *_object_starts(probe, text, line, cuts)]
    bounds = [0, *cuts, len(boxes)]
    spans = []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else line.end
        piece = text[start:end].strip(" ")
        if piece:
            x0, y0, x1, y1 = _extent(boxes[bounds[k] : bounds[k + 1]])
            spans.append(Span(piece, x0, y0, x1, y1, line.em, order))
    return spans


def _extent(boxes: list[tuple[float, float, float, float]]) -> tuple[float, float, float, float]:
    if len(boxes) == 1:
        return boxes[0]
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _object_starts(probe: _Probe, text: str, line: _Line, rects: list[int]) -> list[int]:
    """Index of the first character of each of the line's text objects numbered in ``rects``
    (ascending).

    ``CountRects`` counts the objects among the characters from the first one of an object.
    Where objects a gutter apart meet, PDFium has put a space, so the spaces nearest to where
    the widths say the object begins are tried first; a binary search over the rest of the line
    settles anything else. Each search starts from the object found before.
    """
    end = line.end
    widths = list(itertools.accumulate((box[2] - box[0] for box in line.boxes), initial=0.0))
    scale = (end - line.start) / max(widths[-1], 1e-9)
    starts: list[int] = []
    base, passed = line.start, 0  # the first character of object number ``passed``
    for rect in rects:
        wanted = rect - passed  # objects between ``base`` and the one sought
        guess = line.start + round(widths[rect] * scale)
        spaces = [i for i in range(max(base, guess - 12), min(end, guess + 12)) if text[i] == " "]
        first = -1
        for space in sorted(spaces, key=lambda i: abs(i - guess))[:3]:
            if probe.count_objects(base, space + 1 - base) == wanted and (
                probe.count_objects(base, space + 2 - base) == wanted + 1
            ):
                first = space + 1
                break
        if first < 0:
            low, high = 1, end - base
            while low < high:
                middle = (low + high) // 2
                if probe.count_objects(base, middle) > wanted:
                    high = middle
                else:
                    low = middle + 1
            first = base + low - 1
        starts.append(first)
        base, passed = first, rect
    return starts
