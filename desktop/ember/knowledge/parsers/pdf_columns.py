"""Reading order for the text of one page, from where its pieces sit: columns one after another.

Pure geometry, no PDFium: :mod:`.pdf_layout` hands over :class:`Span` objects (a piece of a line
and its box, in a frame where the text runs left to right and y grows upwards) and gets back the
lines in reading order.

* **Rows** are spans at the same height; rows whose boxes overlap make one **band** (columns
  whose baselines do not line up come out as one band, aligned ones as a band per row).
* A band splits into **segments** where a gutter-wide strip of white space runs through it. A
  gap is taken for a gutter when it stays put: a gutter-wide strip of it is free in nearby bands
  too, or it has two lines or more on each side; in a band with many gaps (loosely justified
  words drawn one by one) only the clearly wider ones count. Word spaces wander from line to line.
* **Regions** are runs of bands whose segments fit the same columns. A band that bridges two
  columns with two lines or more each (a heading or footer across them), or that has a gutter
  inside a column (the columns start below a full-width paragraph), ends the region; so does
  a wide vertical gap.
* A region is read column by column when its columns hold running prose (long lines, most of
  them going on with the sentence of the line above) and the page draws their lines back and
  forth across the gutter; except that a line set apart above all the other columns (a page
  number, a running header) comes first and one set apart below them last. One column runs top
  to bottom. Anything else keeps the order the page draws it in, as PDFium's text did: table
  cells (short phrases, each starting afresh, in rows that look like a newsletter's lines; or
  cells that wrap like prose but are drawn whole, one after the other), a slide's text boxes,
  "label  value" lines, and columns already drawn one at a time.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from statistics import median

from ember.knowledge.parsers.hyphenation import BREAK

# A gap this many ems wide between two pieces of a line may be a gutter, not a word space (word
# spaces stay under half an em but in the loosest justified lines; LaTeX's gutter is an em of
# white space between the ink). Only gaps that stay put from line to line count.
GUTTER_EM = 1.0
MIN_GUTTER_PT = 3.0
# Rows further apart than this many ems are separate blocks, even if their gutters line up.
BLOCK_GAP_EM = 3.5
# A column reads as prose, not table cells, when its lines are at least this long (median).
PROSE_LINE_CHARS = 12
# ... and more than this share of its lines go on with the sentence of the line above: they
# start in lower case, or the line above ends with a comma, a semicolon or a hyphen.
PROSE_RUN_ON = 0.5
_RUNS_ON = frozenset(",;-" + BREAK)
_OPENERS = "\"'(\u201c\u2018\u00ab["  # quotes and brackets before a line's first letter
# Bounds on what one page may cost; past them rows keep their order.
MAX_ROW_SPANS = 40
MAX_COLUMNS = 8


@dataclass(slots=True)
class Span:
    """A piece of a line's text with its box, in the text's own frame (x right, y up)."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    em: float
    order: int  # its line's place in the text as the page draws it (PDFium's order)

    @property
    def middle(self) -> float:
        return (self.y0 + self.y1) / 2


def gutter_width(em: float) -> float:
    """The narrowest gap, in points, that may be a gutter for text ``em`` points high."""
    return max(GUTTER_EM * em, MIN_GUTTER_PT)


def layout(spans: list[Span]) -> list[str]:
    """The lines of one text direction, in reading order."""
    out: list[str] = []
    region: _Region | None = None
    bands = _bands(_rows(spans))
    segmented = _Segmented(bands)
    for k, band in enumerate(bands):
        segments = segmented.cut[k]
        if region is not None and (
            region.take(band, segments)
            or (len(sure := segmented.sure(k)) < len(segments) and region.take(band, sure))
            or ((fitted := region.fitted(segments)) is not None and region.take(band, fitted))
        ):
            continue
        if region is not None:
            out.extend(region.lines())
        sure = segmented.sure(k)
        region = _Region(band, sure)
        if len(sure) > MAX_ROW_SPANS:  # not a layout: keep the rows as they are
            out.extend(_by_row(band))
            region = None
    if region is not None:
        out.extend(region.lines())
    return out


def join_lines(lines: list[str]) -> str:
    """Lines joined by newlines, except that a line ending in a hyphen after a letter goes on
    through a :data:`BREAK` into a next line that starts with a letter or digit, for
    :func:`.hyphenation.rejoin_breaks` to decide between one word and a compound."""
    pieces: list[str] = []
    for line, following in itertools.zip_longest(lines, lines[1:], fillvalue=""):
        broken = line.endswith(BREAK) or (line[-1:] == "-" and line[-2:-1].isalpha())
        if broken and following[:1].isalnum():
            pieces.append(line[:-1] + BREAK)
        else:
            pieces.append(line + "\n")
    return "".join(pieces)[:-1]


# -- rows, bands and segments ------------------------------------------------------------------


def _rows(spans: list[Span]) -> list[list[Span]]:
    """Spans grouped into rows (top to bottom), each left to right, near neighbours merged."""
    rows: list[list[Span]] = []
    band = (0.0, 0.0)
    for span in sorted(spans, key=lambda s: (-s.middle, s.x0)):
        if rows and band[0] <= span.middle <= band[1]:
            rows[-1].append(span)
        else:
            rows.append([span])
            band = (span.y0, span.y1)
    return [_merge_close(sorted(row, key=lambda s: s.x0)) if len(row) > 1 else row for row in rows]


def _merge_close(row: list[Span]) -> list[Span]:
    merged = [row[0]]
    for span in row[1:]:
        last = merged[-1]
        if span.x0 - last.x1 < gutter_width(max(span.em, last.em)):
            merged[-1] = Span(
                f"{last.text} {span.text}",
                last.x0,
                min(last.y0, span.y0),
                max(last.x1, span.x1),
                max(last.y1, span.y1),
                max(last.em, span.em),
                min(last.order, span.order),
            )
        else:
            merged.append(span)
    return merged


@dataclass(slots=True)
class _Placed:
    """A span with the number of its row."""

    row: int
    span: Span


def _bands(rows: list[list[Span]]) -> list[list[_Placed]]:
    """Rows chained while their boxes overlap vertically. Columns whose baselines do not line up
    come out as one band holding both columns; aligned ones as one band per row."""
    bands: list[list[_Placed]] = []
    bottom = 0.0
    for number, row in enumerate(rows):
        top = max(s.y1 for s in row)
        if not bands or top <= bottom:
            bands.append([])
            bottom = min(s.y0 for s in row)
        bottom = min(bottom, *(s.y0 for s in row))
        bands[-1].extend(_Placed(number, s) for s in row)
    return bands


@dataclass
class _Column:
    x0: float
    x1: float
    items: list[_Placed] = field(default_factory=list)

    @property
    def confirmed(self) -> bool:
        """Two lines or more: the gutters beside it are real, not a wide word space."""
        return len(self.items) >= 2


def _segments(band: list[_Placed]) -> list[_Column]:
    """A band's text split where a gutter-wide vertical strip runs through all of it."""
    em = max(p.span.em for p in band)
    segments: list[_Column] = []
    for placed in sorted(band, key=lambda p: p.span.x0) if len(band) > 1 else band:
        span = placed.span
        if segments and span.x0 - segments[-1].x1 < gutter_width(em):
            segments[-1].x1 = max(segments[-1].x1, span.x1)
            segments[-1].items.append(placed)
        else:
            segments.append(_Column(span.x0, span.x1, [placed]))
    return segments


class _Segmented:
    """Each band's segments two ways: ``cut`` at every gutter-wide gap, and ``sure`` (worked out
    when asked for) cut only where the gap is sure to be a gutter: two lines or more on both
    sides within the band, or a gutter-wide strip of it also free in two of the (up to four)
    nearest bands that have gaps, or in the only one (word spaces wander from line to line; a
    gutter stays put), and, in a band with many gaps (loosely justified words drawn one by one),
    clearly wider than the typical one. A region tries the first, then the second: a gap that
    fits the columns above is a gutter too; a wide word space or a running header's gap is not.
    """

    def __init__(self, bands: list[list[_Placed]]) -> None:
        self.bands = bands
        self.cut = [_segments(band) for band in bands]
        self.gaps = [[(a.x1, b.x0) for a, b in itertools.pairwise(c)] for c in self.cut]
        self._extents: dict[int, tuple[float, float, float]] = {}

    def _extent(self, k: int) -> tuple[float, float, float]:
        if k not in self._extents:
            band = self.bands[k]
            self._extents[k] = (
                max(p.span.y1 for p in band),
                min(p.span.y0 for p in band),
                max(p.span.em for p in band),
            )
        return self._extents[k]

    def sure(self, k: int) -> list[_Column]:
        segments, gaps = self.cut[k], self.gaps
        if len(segments) == 1:
            return segments
        top, bottom, em = self._extent(k)
        gutter = gutter_width(em)
        nearby = []
        for j in (k - 2, k - 1, k + 1, k + 2):
            if 0 <= j < len(gaps) and gaps[j]:
                other_top, other_bottom, _ = self._extent(j)
                if max(bottom - other_top, other_bottom - top) <= 2 * BLOCK_GAP_EM * em:
                    nearby.append(gaps[j])
        needed = min(len(nearby), 2) or 1
        widths = [g1 - g0 for g0, g1 in gaps[k]]
        wide = 1.5 * median(widths) if len(widths) >= 3 else 0.0
        sure = [_Column(segments[0].x0, segments[0].x1, list(segments[0].items))]
        for (g0, g1), segment in zip(gaps[k], segments[1:], strict=True):
            if g1 - g0 >= wide and (
                _lined_up(g0, g1, nearby, gutter) >= needed
                or (_lines_in(sure[-1]) >= 2 and _lines_in(segment) >= 2)
            ):
                sure.append(_Column(segment.x0, segment.x1, list(segment.items)))
            else:
                sure[-1].x1 = max(sure[-1].x1, segment.x1)
                sure[-1].items.extend(segment.items)
        return sure


def _lined_up(g0: float, g1: float, nearby: list[list[tuple[float, float]]], width: float) -> int:
    """In how many of the ``nearby`` bands a strip ``width`` wide of the gap is free too."""
    count = 0
    for gaps in nearby:
        for b0, b1 in gaps:
            if min(g1, b1) - max(g0, b0) >= width:
                count += 1
                break
    return count


def _lines_in(segment: _Column) -> int:
    return len({placed.row for placed in segment.items})


# -- regions ------------------------------------------------------------------------------------


class _Region:
    """Consecutive bands that share gutters; read column by column if its columns hold prose."""

    def __init__(self, band: list[_Placed], segments: list[_Column]) -> None:
        self.columns = segments
        self.bottom = min(p.span.y0 for p in band)

    def take(self, band: list[_Placed], segments: list[_Column]) -> bool:
        """Add ``band``, cut into ``segments``, if it fits the columns (merging any that it shows
        to be one); else False."""
        em = max(p.span.em for p in band)
        if self.bottom - max(p.span.y1 for p in band) > BLOCK_GAP_EM * em:
            return False
        if len(segments) > MAX_ROW_SPANS:
            return False
        columns = self.columns
        if self._extend(segments, em):
            self.bottom = min(self.bottom, *(p.span.y0 for p in band))
            return True
        joins: dict[int, tuple[int, _Column]] = {}  # first column hit -> (last column hit, segment)
        used: set[int] = set()
        entries: list[_Entry] = []
        for segment in segments:
            hits = [i for i, c in enumerate(columns) if segment.x0 < c.x1 and segment.x1 > c.x0]
            if not hits:
                place = sum(1 for c in columns if c.x1 <= segment.x0)
                inside = 0 < place < len(columns)
                if inside and columns[place - 1].confirmed and columns[place].confirmed:
                    return False  # inside a confirmed gutter: a page number, a centred note
                entries.append((segment.x0, segment.x1, [], segment))
                continue
            if sum(columns[i].confirmed for i in hits) >= 2:
                return False  # across a confirmed gutter: a heading or footer over the columns
            if used.intersection(hits):
                return False  # the band has a gutter inside one of the columns: a new layout
            used.update(hits)
            joins[hits[0]] = (hits[-1], segment)
        index = 0
        while index < len(columns):
            last, segment = joins.get(index, (index, None))
            members = columns[index : last + 1]
            x0 = min(c.x0 for c in members)
            x1 = max(c.x1 for c in members)
            if segment is not None:
                x0, x1 = min(x0, segment.x0), max(x1, segment.x1)
            entries.append((x0, x1, members, segment))
            index = last + 1
        entries.sort(key=lambda entry: entry[0])
        # Neighbours closer than a gutter are one column, unless both have been confirmed.
        groups = [[entries[0]]]
        for entry in entries[1:]:
            previous = groups[-1]
            if entry[0] - max(e[1] for e in previous) >= gutter_width(em):
                groups.append([entry])
            elif _count(previous) >= 2 and _count([entry]) >= 2:
                return False
            else:
                previous.append(entry)
        if len(groups) > MAX_COLUMNS:
            return False
        self.columns = [_apply(group) for group in groups]
        self.bottom = min(self.bottom, *(p.span.y0 for p in band))
        return True

    def fitted(self, segments: list[_Column]) -> list[_Column] | None:
        """``segments`` joined where several lie on one column, if the region has two columns or
        more and each segment lies on a single column: a line with a wide word space inside a
        column of an established layout. None if that does not apply."""
        columns = self.columns
        if len(columns) < 2:
            return None
        joined: list[_Column] = []
        last_hit = -1
        for segment in segments:
            hits = [i for i, c in enumerate(columns) if segment.x0 < c.x1 and segment.x1 > c.x0]
            if len(hits) != 1:
                return None
            if hits[0] == last_hit:
                joined[-1] = _Column(
                    joined[-1].x0, max(joined[-1].x1, segment.x1), joined[-1].items + segment.items
                )
            else:
                joined.append(segment)
            last_hit = hits[0]
        return joined if len(joined) < len(segments) else None

    def _extend(self, segments: list[_Column], em: float) -> bool:
        """The common case, done in place: each segment lies on its own column and no column
        comes within a gutter of its neighbour."""
        columns = self.columns
        count = len(columns)
        targets: list[int] = []
        j = 0  # columns and segments both run left to right without overlapping
        for segment in segments:
            while j < count and columns[j].x1 <= segment.x0:
                j += 1
            if j == count or columns[j].x0 >= segment.x1:
                return False  # on no column
            if j + 1 < count and columns[j + 1].x0 < segment.x1:
                return False  # on two
            if targets and targets[-1] == j:
                return False  # two segments on one column
            targets.append(j)
        extents = [(c.x0, c.x1) for c in columns]
        for segment, i in zip(segments, targets, strict=True):
            extents[i] = (min(extents[i][0], segment.x0), max(extents[i][1], segment.x1))
        gutter = gutter_width(em)
        if any(b[0] - a[1] < gutter for a, b in itertools.pairwise(extents)):
            return False
        for segment, i in zip(segments, targets, strict=True):
            columns[i].x0, columns[i].x1 = extents[i]
            columns[i].items.extend(segment.items)
        return True

    def lines(self) -> list[str]:
        """Prose columns one after the other; one column top to bottom; anything else (table
        cells, a slide's text boxes side by side) in the order the page draws it, as before."""
        if len(self.columns) == 1:
            return _by_row(self.columns[0].items)
        confirmed = [c for c in self.columns if c.confirmed]
        prose = [c for c in confirmed if _reads_as_prose(c)]
        if len(prose) >= 2 and len(prose) == len(confirmed) and _drawn_across(self.columns):
            return self._by_column()
        return _by_row([item for column in self.columns for item in column.items], drawn=True)

    def _by_column(self) -> list[str]:
        """Column after column; but a line at the top of a column, above all the others' text
        and set apart from the column's next line (a running header, a page number), comes
        first, and one set apart at the bottom, below all the others' text, comes last."""
        head: list[_Placed] = []
        bodies: list[list[_Placed]] = []
        tail: list[_Placed] = []
        for column in self.columns:
            items = sorted(column.items, key=lambda p: (p.row, p.span.x0))
            others = [p.span for c in self.columns if c is not column for p in c.items]
            top, bottom = max(s.y1 for s in others), min(s.y0 for s in others)
            first, last = 0, len(items)
            while first < last and _set_apart(items[first].span, items[first + 1 : last], top):
                first += 1
            while last > first and _set_apart(
                items[last - 1].span, items[first : last - 1][-1:], bottom, below=True
            ):
                last -= 1
            head += items[:first]
            bodies.append(items[first:last])
            tail += items[last:]
        return _by_row(head) + [line for body in bodies for line in _by_row(body)] + _by_row(tail)


def _by_row(items: list[_Placed], *, drawn: bool = False) -> list[str]:
    """One line per row (or, ``drawn``, per line of PDFium's text), its spans left to right."""
    rows: dict[int, list[Span]] = {}
    for placed in items:
        rows.setdefault(placed.span.order if drawn else placed.row, []).append(placed.span)
    return [
        " ".join(s.text for s in sorted(rows[number], key=lambda s: s.x0))
        for number in sorted(rows)
    ]


_Entry = tuple[float, float, list[_Column], _Column | None]


def _set_apart(span: Span, rest: list[_Placed], edge: float, *, below: bool = False) -> bool:
    """Whether ``span`` lies wholly above ``edge`` (or below it), with at least an em of white
    space between it and the next line of its column (``rest[0]``; ``rest[-1]`` going up), if
    the column has one."""
    if below:
        gap = rest[-1].span.y0 - span.y1 if rest else math.inf
        return span.y1 < edge and gap >= span.em
    gap = span.y0 - rest[0].span.y1 if rest else math.inf
    return span.y0 > edge and gap >= span.em


def _count(entries: list[_Entry]) -> int:
    """How many lines the columns and band segments of ``entries`` hold together."""
    return sum(len(c.items) for e in entries for c in e[2]) + sum(
        len(e[3].items) for e in entries if e[3] is not None
    )


def _apply(entries: list[_Entry]) -> _Column:
    """One column from old columns and band segments that turned out to be one."""
    members = [c for e in entries for c in e[2]]
    segments = [e[3] for e in entries if e[3] is not None]
    column = members[0] if len(members) == 1 else _Column(0.0, 0.0, [])
    if len(members) > 1:
        column.items = [item for c in members for item in c.items]
    elif not members:
        column = segments.pop(0)
    for segment in segments:
        column.items.extend(segment.items)
    column.x0 = min(e[0] for e in entries)
    column.x1 = max(e[1] for e in entries)
    return column


def _reads_as_prose(column: _Column) -> bool:
    """Whether the column holds running prose rather than table cells: its lines are long
    enough, and most of them go on from the line above (a cell starts afresh, with a capital
    or a digit, after a cell that ends without a comma)."""
    lines = _by_row(column.items)
    if median(len(line) for line in lines) < PROSE_LINE_CHARS:
        return False
    running = sum(_runs_on(above, line) for above, line in itertools.pairwise(lines))
    return running > PROSE_RUN_ON * (len(lines) - 1)


def _runs_on(above: str, line: str) -> bool:
    """Whether ``line`` goes on with the sentence of the line ``above`` it."""
    return line.lstrip(_OPENERS)[:1].islower() or above.rstrip()[-1:] in _RUNS_ON


def _drawn_across(columns: list[_Column]) -> bool:
    """Whether the page draws the columns' lines back and forth across the gutter. Where it
    takes most lines of a column straight after the one above (a column at a time, or a table
    cell by cell), PDFium's order already keeps them together: a table drawn cell by cell
    wraps its cells like prose, but its rows must stay whole."""
    drawn = sorted(
        (p.span.order, p.span.x0, i, p.row)
        for i, column in enumerate(columns)
        for p in column.items
    )
    following = {(a[2], a[3]): (b[2], b[3]) for a, b in itertools.pairwise(drawn)}
    pairs = in_turn = 0
    for i, column in enumerate(columns):
        for above, below in itertools.pairwise(sorted({p.row for p in column.items})):
            pairs += 1
            in_turn += following.get((i, above)) == (i, below)
    return 2 * in_turn < pairs
