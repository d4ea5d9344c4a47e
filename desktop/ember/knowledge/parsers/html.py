"""HTML through BeautifulSoup's pure-Python ``html.parser``: visible text, sectioned by h1-h6.

What is dropped, and why:

* Never visible: scripts, styles, ``<head>``, templates, SVG, canvas, iframes, objects.
* Navigation (``<nav>``, ``role=navigation``) wherever it appears: menus, breadcrumbs, a table of
  contents repeat text that is elsewhere on the page.
* Form controls (buttons, selects and their options, inputs): a form's labels, legends and text are
  content, but a hidden ``__VIEWSTATE`` value or a list of options is not.
* *Site* chrome only: a ``<header>``, ``<footer>`` or ``<aside>`` (or ``role=banner``,
  ``contentinfo``, ``complementary``, or an old-style ``<div id="footer">``) that is a direct child
  of ``<body>`` or of the wrapper(s) that hold the whole page (ASP.NET WebForms puts one ``<form>``
  around everything; many sites put one ``<div id="page">``). The same tags inside ``<main>``,
  ``<article>`` or ``<section>`` are the page's own title, standfirst, notes and corrections, and
  are kept. A top-level "header" that holds the page's only ``<h1>`` is the page's own header.
  If dropping chrome would leave no text at all, nothing but the invisible parts is dropped, and a
  page of nothing but headings keeps them as its text.

A ``<table>`` of short cells becomes a GitHub-flavoured Markdown pipe table (a header row, a
``| --- |`` separator, one line per row) so that a chunk of rows can carry its column names. Cells
keep the columns a browser shows them in: a ``colspan`` cell is said once and the columns it
covers are left empty, a ``rowspan`` cell is repeated in each row it covers, every row is padded
to the widest, and a first row that is one cell across the whole table is a title line above it.
A layout table (one column, one row, long blocks of text or headings in its cells) is read as
ordinary blocks instead, and so is a table wider than 63 columns or one whose pipe form would be
many times the size of its markup. Trees are walked iteratively, so deeply nested markup cannot exhaust the
recursion limit.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ember.knowledge.decode import DecodedText, decode_bytes, read_text
from ember.knowledge.parsers.base import (
    Blocks,
    normalize_newlines,
    parse_headed_text,
)
from ember.knowledge.types import ParsedDocument

if TYPE_CHECKING:
    from bs4 import PageElement, Tag

# Never rendered as text.
INVISIBLE = frozenset("script style noscript template svg canvas iframe object head title".split())
# Form controls: what a person reads in a form is its labels and legends, not these.
CONTROLS = frozenset("button select option optgroup datalist input".split())
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
# Landmarks that are site chrome when they sit at the top of the page, by tag and by ARIA role.
CHROME_TAGS = frozenset({"header", "footer", "aside", "nav"})
CHROME_ROLES = frozenset({"banner", "contentinfo", "complementary", "navigation"})
CONTENT_ROLES = frozenset({"main", "article"})
# The same landmarks spelled the pre-HTML5 way, as the whole id or one whole class of a top-level
# element: <div id="header">, <div class="footer">, <div id="menu">.
CHROME_NAMES = frozenset(
    "header footer nav navbar navigation menu sidebar masthead breadcrumb breadcrumbs".split()
)
# Elements that may wrap a whole page (so their children are the page's top level). <main>,
# <article> and <section> are content: a <header> inside them is the content's own.
WRAPPERS = frozenset({"html", "body", "div", "form", "center", "span"})
MAX_WRAPPERS = 8  # body > form > div#page > div#inner ... deep enough for real pages

# Elements that end a paragraph (a blank line in the text) or a line; everything else is inline.
PARAGRAPH = 2
LINE = 1
BREAKS = {
    **dict.fromkeys(
        "p blockquote pre table figure section article main header footer aside nav form"
        " fieldset address details hr".split(),
        PARAGRAPH,
    ),
    **dict.fromkeys(
        "div br li ul ol dl dt dd tr td th thead tbody tfoot caption figcaption summary legend"
        " label option".split(),
        LINE,
    ),
}
# A table gets pipe format only when every cell is at most this long; longer cells are blocks of
# text laid out side by side, not data.
MAX_PIPE_CELL_CHARS = 300
_MAX_NESTED_TABLES = 3  # tables in tables in tables in a cell: a page layout, not data
_MAX_TABLE_NODES = 200_000  # give up judging a table this big and read it as blocks
# A pipe table is at most this many columns wide; a wider one is read as blocks.
MAX_PIPE_COLUMNS = 63
_MAX_COLSPAN, _MAX_ROWSPAN = 1000, 65534  # as browsers clamp them
# Carrying rowspan cells down and padding rows may make a pipe table bigger than its markup, but
# no more than this many times bigger (plus a fixed allowance); past that it is read as blocks,
# each cell said once.
_PIPE_GROWTH = 4
_PIPE_ALLOWANCE = 256 * 1024
_LEADING_DIGITS = re.compile(r"\s*(\d+)")

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")

Dropped = Callable[["Tag"], bool]


def parse(path: Path) -> ParsedDocument:
    """A web page's visible text, sectioned by h1-h6.

    Raises :class:`IngestError` if the file cannot be read or has no visible text.
    """
    return parse_headed_text(
        path, "html", extract, decode=_decode, empty="no visible text in this web page"
    )


def _decode(path: Path) -> DecodedText:
    """Decode honouring ``<meta charset>`` when there is no BOM and the bytes are not UTF-8."""
    decoded = read_text(path)
    if decoded.bom or (decoded.encoding == "utf-8" and not decoded.replaced):
        return decoded
    with open(path, "rb") as stream:
        head = stream.read(4096)
    match = _META_CHARSET.search(head)
    if match is None:
        return decoded
    try:
        declared = codecs.lookup(match.group(1).decode("ascii")).name
    except LookupError:
        return decoded
    if declared == decoded.encoding:
        return decoded
    with open(path, "rb") as stream:
        data = stream.read(8 * 1024 * 1024)
    try:
        return DecodedText(normalize_newlines(data.decode(declared)), declared)
    except UnicodeDecodeError:
        return decode_bytes(data) if len(data) < 8 * 1024 * 1024 else decoded


def extract(markup: str) -> tuple[str | None, Blocks]:
    """The page title and ``(heading_path, text pieces)`` blocks of an HTML string."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    title_tag = soup.find("title")
    title = " ".join(title_tag.get_text(" ").split()) if title_tag else None

    chrome = {id(tag) for tag in _site_chrome(soup)}

    def content_only(tag: Tag) -> bool:
        return (
            tag.name in INVISIBLE
            or tag.name in CONTROLS
            or tag.name == "nav"
            or _role(tag) == "navigation"
            or id(tag) in chrome
        )

    def invisible(tag: Tag) -> bool:
        return tag.name in INVISIBLE

    first_heading, blocks = _Walk(content_only).run(soup)
    if not any(text.strip() for _, pieces in blocks for text in pieces):
        # Everything with text was chrome (a page that is only a menu, or only a form's buttons):
        # keeping it beats an empty page.
        first_heading, blocks = _Walk(invisible).run(soup)
    if not any(text.strip() for _, pieces in blocks for text in pieces):
        # Nothing but headings (a placeholder page, a page of section titles): they are its text.
        blocks = [((), ["\n".join(path[-1] for path, _ in blocks if path)])]
    return title or first_heading, blocks


# -- site chrome ------------------------------------------------------------------------------------


def _site_chrome(soup: Tag) -> list[Tag]:
    """The header/footer/aside/nav landmarks at the top level of the page.

    The top level is the children of the document, of ``<html>``, of ``<body>``, and of each
    wrapper that holds the rest of the page: a ``<form>`` or ``<div>`` that is the only child with
    text once the chrome beside it is set aside (``<header>`` + ``<div id="page">`` + ``<footer>``
    has ``div#page`` as its wrapper).
    """
    from bs4 import Tag

    chrome: list[Tag] = []
    node: Tag = soup
    for _ in range(MAX_WRAPPERS):
        kids = [
            child
            for child in node.children
            if isinstance(child, Tag) and child.name not in INVISIBLE and child.name not in CONTROLS
        ]
        here = [kid for kid in kids if _looks_like_chrome(kid)]
        chrome.extend(here)
        if any(_is_text(child) and child.strip() for child in node.children):
            break  # text right here: this element is content, not a wrapper
        rest = [kid for kid in kids if not _looks_like_chrome(kid) and _has_text(kid)]
        if len(rest) != 1 or rest[0].name not in WRAPPERS or _role(rest[0]) in CONTENT_ROLES:
            break
        node = rest[0]
    if not chrome:
        return chrome
    page_h1s = len(soup.find_all("h1"))  # once: per chrome tag would be quadratic
    return [tag for tag in chrome if not _holds_the_page_title(tag, page_h1s)]


def _looks_like_chrome(tag: Tag) -> bool:
    if tag.name in ("main", "article") or _role(tag) in CONTENT_ROLES:
        return False
    if tag.name in CHROME_TAGS or _role(tag) in CHROME_ROLES:
        return True
    names = [str(tag.get("id") or "")]
    classes = tag.get("class") or []
    names.extend(classes if isinstance(classes, list) else str(classes).split())
    return any(name.lower() in CHROME_NAMES for name in names)


def _holds_the_page_title(tag: Tag, page_h1s: int) -> bool:
    """Whether ``tag`` holds all ``page_h1s`` of the page's ``<h1>`` elements (at least one), and
    one of them has text outside a link (an h1 that is only a link home is a logo).

    Such a "header" is the page's own: its title and standfirst, not the site's banner. One pass
    over ``tag``, however deep: the chrome tags are disjoint, so judging them all is linear.
    """
    from bs4 import Tag

    if page_h1s == 0:
        return False
    h1s = 0
    titled = False
    todo: list[tuple[PageElement, bool, bool]] = [(tag, tag.find_parent("a") is not None, False)]
    while todo:
        node, in_link, in_h1 = todo.pop()
        if isinstance(node, Tag):
            h1s += node.name == "h1"
            in_link = in_link or node.name == "a"
            in_h1 = in_h1 or node.name == "h1"
            todo.extend((child, in_link, in_h1) for child in node.contents)
        elif in_h1 and not in_link and _is_text(node) and node.strip():
            titled = True
    return titled and h1s == page_h1s


def _role(tag: Tag) -> str:
    role = tag.get("role")
    if not isinstance(role, str) or not role.split():
        return ""
    return role.split()[0].lower()


def _is_text(node: object) -> bool:
    """Plain text: not a comment, CDATA, doctype, or the body of a script or style."""
    from bs4 import NavigableString

    return type(node) is NavigableString


def _has_text(tag: Tag) -> bool:
    from bs4 import Tag

    for node in tag.descendants:
        if _is_text(node) and node.strip():
            parent = node.parent
            if not (isinstance(parent, Tag) and parent.name in INVISIBLE):
                return True
    return False


# -- the walk ---------------------------------------------------------------------------------------


class _Text:
    """Text of one section, with line and paragraph breaks that never pile up."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pending = 0  # newlines owed before the next text

    def brk(self, newlines: int) -> None:
        if self.parts:
            self.pending = max(self.pending, newlines)

    def text(self, text: str) -> None:
        if not text.strip() and (self.pending or not self.parts):
            return  # whitespace between blocks
        if self.pending:
            self.parts.append("\n" * self.pending)
            self.pending = 0
        self.parts.append(text)

    def value(self) -> str:
        return "".join(self.parts)


class _Walk:
    """One pass over the page, skipping what ``dropped`` says, collecting sectioned text."""

    def __init__(self, dropped: Dropped) -> None:
        self.dropped = dropped
        self.blocks: list[tuple[tuple[str, ...], _Text]] = [((), _Text())]
        self.stack: list[tuple[int, str]] = []
        self.first_heading: str | None = None

    def run(self, root: Tag) -> tuple[str | None, Blocks]:
        from bs4 import Tag

        todo: list[tuple[PageElement, bool]] = [(root, False)]
        in_pre = 0
        while todo:
            node, closing = todo.pop()
            out = self.blocks[-1][1]
            if closing:
                assert isinstance(node, Tag)
                if node.name == "pre":
                    in_pre -= 1
                out.brk(BREAKS.get(node.name, 0))
                continue
            if isinstance(node, Tag):
                if node is not root and self.dropped(node):
                    continue
                if node.name in HEADINGS:
                    self._heading(node)
                    continue
                if node.name == "table":
                    lines = _pipe_table(node, self.dropped)
                    if lines is not None:
                        out.brk(PARAGRAPH)
                        for line in lines:
                            out.text(line)
                            out.brk(LINE)
                        out.brk(PARAGRAPH)
                        continue
                if node.name in BREAKS:
                    out.brk(BREAKS[node.name])
                    todo.append((node, True))
                if node.name == "pre":
                    in_pre += 1
                todo.extend((child, False) for child in reversed(node.contents))
            elif _is_text(node):
                out.text(str(node) if in_pre else _WHITESPACE.sub(" ", str(node)))
        blocks = [(path, [text.value()]) for path, text in self.blocks]
        return self.first_heading, blocks

    def _heading(self, node: Tag) -> None:
        text = _inline_text(node, self.dropped)
        if not text:
            return
        level = int(node.name[1])
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        self.stack.append((level, text))
        self.blocks.append((tuple(heading for _, heading in self.stack), _Text()))
        if self.first_heading is None:
            self.first_heading = text


def _inline_text(tag: Tag, dropped: Dropped) -> str:
    """The visible text under ``tag`` on one line, whitespace squeezed."""
    return " ".join(_strings(tag.contents, dropped))


def _strings(nodes: Iterable[PageElement], dropped: Dropped) -> list[str]:
    """Visible words under ``nodes``, a space wherever a block or a cell ends."""
    from bs4 import Tag

    pieces: list[str] = []
    todo = [(node, False) for node in reversed(list(nodes))]
    while todo:
        node, closing = todo.pop()
        if closing:
            pieces.append(" ")
        elif isinstance(node, Tag):
            if not dropped(node):
                if node.name in BREAKS or node.name in HEADINGS:
                    todo.append((node, True))
                todo.extend((child, False) for child in reversed(node.contents))
        elif _is_text(node):
            pieces.append(str(node))
    return "".join(pieces).split()


# -- tables -----------------------------------------------------------------------------------------

_Cell = tuple[str, int, int]  # text, colspan, rowspan (0: to the end of its row group)
_Group = list[list[_Cell]]  # the rows of a <thead>, a <tbody> or a <tfoot>


class _Layout(Exception):
    """Raised while reading a table that turns out to lay out a page rather than hold data."""


class _GridRow:
    """One row laid on the grid: its non-empty texts by column."""

    def __init__(self, texts: dict[int, str], title_span: int) -> None:
        self.texts = texts
        # The colspan of the row's one cell when that cell is all there is (nothing carried down
        # into the row, nothing beside it): a title row if it spans the whole table.
        self.title_span = title_span


def _pipe_table(table: Tag, dropped: Dropped) -> list[str] | None:
    """The table as Markdown pipe-table lines (a caption line first), or None for a layout table.

    Rows and cells are taken in document order, so rows and cells left unclosed (which
    ``html.parser`` nests inside one another) still come out side by side. A table inside a cell
    is flattened into that cell's text. Cells are laid on a grid as a browser lays them out: a
    ``colspan`` cell's text is said once, in its first column, and the columns it covers are
    empty; a ``rowspan`` cell's text is repeated in every row it covers, so that a row read alone
    keeps its label. Every row, the header included, is padded to the widest row, whose last
    non-empty cell says how wide the table is. A first row that is one cell spanning the table is
    its title: a line above the table, with the next row as the header.
    """
    try:
        caption, groups, size = _table_cells(table, dropped)
        budget = _PIPE_ALLOWANCE + _PIPE_GROWTH * size
        rows, spent = _grid(groups, budget)
    except _Layout:
        return None
    rows = [row for row in rows if row.texts]
    width = max((max(row.texts) + 1 for row in rows), default=0)
    lines = [caption] if caption else []
    if rows and width >= 2 and rows[0].title_span >= width:
        lines.append(rows.pop(0).texts[0])
    if len(rows) < 2 or width < 2:
        return None  # one row or one column: a box around text, not a grid
    if spent + 3 * width * (len(rows) + 1) > budget:
        return None  # padding a sparse table would make it many times the size of its markup
    cells = [[row.texts.get(column, "") for column in range(width)] for row in rows]
    lines.append(_pipe_row(cells[0]))
    lines.append("| " + " | ".join("---" for _ in range(width)) + " |")
    lines.extend(_pipe_row(row) for row in cells[1:])
    return lines


def _pipe_row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _grid(groups: list[_Group], budget: int) -> tuple[list[_GridRow], int]:
    """The rows of each row group laid on a grid, and roughly how many characters they render to.

    Raises :class:`_Layout` for a table wider than :data:`MAX_PIPE_COLUMNS`, or as soon as the
    rows would render to more than ``budget`` characters (a cell carried down thousands of rows).
    """
    out: list[_GridRow] = []
    spent = 0
    for group in groups:
        carried: dict[int, tuple[str, int]] = {}  # column: (text, rows still to cover)
        for index, cells in enumerate(group):
            texts = {column: text for column, (text, _) in carried.items() if text}
            taken = set(carried)
            title_span = cells[0][1] if len(cells) == 1 and not carried else 0
            carried = {c: (text, left - 1) for c, (text, left) in carried.items() if left > 1}
            below = len(group) - index - 1
            column = 0
            for text, colspan, rowspan in cells:
                while column in taken:
                    column += 1
                if column >= MAX_PIPE_COLUMNS:
                    raise _Layout  # too wide to read as a table
                if len(text) > MAX_PIPE_CELL_CHARS:
                    raise _Layout
                span = min(colspan, MAX_PIPE_COLUMNS - column)
                covers = below if rowspan == 0 else min(rowspan - 1, below)
                for spanned in range(column, column + span):
                    if spanned not in taken:
                        taken.add(spanned)
                        if spanned == column and text:
                            texts[column] = text
                        if covers:
                            carried[spanned] = (text if spanned == column else "", covers)
                column += span
            spent += 2 + sum(len(text) + 3 + text.count("|") for text in texts.values())
            if spent > budget:
                raise _Layout
            out.append(_GridRow(texts, title_span))
    return out, spent


def _span(tag: Tag, attribute: str, most: int) -> int:
    """A ``colspan`` or ``rowspan`` as browsers read it: leading digits, clamped; 1 if none."""
    value = tag.get(attribute)
    match = _LEADING_DIGITS.match(value) if isinstance(value, str) else None
    if match is None:
        return 1
    digits = match.group(1)
    return most if len(digits) > len(str(most)) else min(int(digits), most)


def _table_cells(table: Tag, dropped: Dropped) -> tuple[str, list[_Group], int]:
    """``(caption, row groups, size)`` of a table, each cell's text whitespace-squeezed.

    The row groups are the ``<thead>`` groups, then the body groups, then the ``<tfoot>`` groups,
    as they are shown. ``size`` is a lower bound on the length of the table's markup.
    Raises :class:`_Layout` as soon as the table shows it is a layout table.
    """
    from bs4 import Tag

    caption: list[str] = []
    head: list[list[list[tuple[list[str], int, int]]]] = []
    body: list[list[list[tuple[list[str], int, int]]]] = []
    foot: list[list[list[tuple[list[str], int, int]]]] = []
    group: list[list[tuple[list[str], int, int]]] | None = None
    target: list[str] | None = None  # where text goes: the current cell or the caption
    target_chars = 0  # roughly: enough to tell a paragraph from a data cell early
    nested = 0
    seen = 0
    size = 0
    todo: list[tuple[PageElement, bool]] = [(child, False) for child in reversed(table.contents)]
    while todo:
        node, closing = todo.pop()
        seen += 1
        if seen > _MAX_TABLE_NODES:
            raise _Layout
        if closing:
            assert isinstance(node, Tag)
            if node.name == "table":
                nested -= 1
            elif nested == 0 and node.name in ("thead", "tbody", "tfoot"):
                group = None
            elif nested == 0 and node.name == "caption":
                target = None
            if target is not None:
                target.append(" ")
            continue
        if isinstance(node, Tag):
            if dropped(node):
                continue
            name = node.name
            if name in HEADINGS:
                raise _Layout  # headings in cells: a page laid out in a grid
            if name == "table":
                nested += 1
                if nested > _MAX_NESTED_TABLES:
                    raise _Layout
            elif nested == 0:
                if name in ("thead", "tbody", "tfoot"):
                    group = []
                    {"thead": head, "tbody": body, "tfoot": foot}[name].append(group)
                elif name == "caption":
                    target = caption
                elif name in ("tr", "td", "th"):
                    if group is None:
                        group = []
                        body.append(group)
                    if name == "tr" or not group:
                        group.append([])
                    target = None
                    if name != "tr":
                        target, target_chars = [], 0
                        colspan = max(1, _span(node, "colspan", _MAX_COLSPAN))
                        group[-1].append((target, colspan, _span(node, "rowspan", _MAX_ROWSPAN)))
            todo.append((node, True))
            todo.extend((child, False) for child in reversed(node.contents))
        elif _is_text(node):
            size += len(node)
            if target is None:
                continue
            target.append(str(node))
            target_chars += len(" ".join(node.split()))
            if target is not caption and target_chars > MAX_PIPE_CELL_CHARS:
                raise _Layout  # a block of prose: this grid lays out text

    def squeeze(parts: list[str]) -> str:
        return " ".join("".join(parts).split())

    groups = [
        [[(squeeze(parts), colspan, rowspan) for parts, colspan, rowspan in row] for row in rows]
        for rows in head + body + foot
    ]
    return squeeze(caption), groups, size + 4 * seen
