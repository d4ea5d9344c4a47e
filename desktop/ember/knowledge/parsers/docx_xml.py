"""WordprocessingML read in document order: the text Word shows, as paragraphs and tables.

One "story" at a time (the body, a header, a footnote, a comment) is walked element by element,
so nothing hides from the reader behind an element python-docx's ``Paragraph.text`` does not know:

* runs: ``w:t``, tabs and breaks as whitespace, ``w:sym`` symbols, non-breaking hyphens, math
  (``m:t``), VML WordArt (``v:textpath``);
* containers, read through: hyperlinks, smart tags, custom XML, simple fields (their shown result),
  content controls (``w:sdt``) around blocks, runs, rows and cells, but for two: a control
  showing its placeholder ("Click or tap here to enter text.", ``w:showingPlcHdr``) holds no
  one's text, and Word's table-of-contents control (``w:docPartGallery`` "Table of Contents")
  repeats the headings;
* ruby (``w:ruby``): the base text, not the reading set above it (``w:rt``);
* tracked changes as the document now reads: insertions and moves kept (``w:ins``,
  ``w:moveTo``), deletions and moved-away text dropped (``w:del``, ``w:delText``,
  ``w:moveFrom``), deleted table rows and cells dropped;
* text boxes, DrawingML (``wps:txbx``) and VML (``v:textbox``), wherever they are anchored: their
  paragraphs follow the paragraph that holds them. Of an ``mc:AlternateContent`` only the first
  branch with text is read, so a box Word saves twice (a DrawingML choice, a VML fallback) is
  read once;
* tables, rendered as Markdown pipe tables (:attr:`Table.lines`) at most 63 columns wide (Word's
  limit; the text of cells past it joins the last column), columns empty in every row left out,
  and the rendering counted against the character budget like text; a table inside a cell, and
  anything else in a cell, is flattened into that cell's text. A table with text in only one row
  or only one column is no grid but a box around text (a callout, a page laid out in a table):
  its cells' paragraphs and tables are read as if the table were not there, headings included.

Left out, as Word leaves it out of the page: field codes (``w:instrText``), content-control and
other properties.

The walk is iterative (lxml's ``iterwalk`` and an explicit stack of open paragraphs, tables and
text boxes): however deeply a crafted file nests controls or boxes, no Python recursion is spent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

from ember.knowledge.limits import MAX_TEXT_CHARS

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
_V = "{urn:schemas-microsoft-com:vml}"

W_VAL = f"{_W}val"
_P, _TBL, _TR, _TC, _TXBX = f"{_W}p", f"{_W}tbl", f"{_W}tr", f"{_W}tc", f"{_W}txbxContent"
_CHOICE, _FALLBACK = f"{_MC}Choice", f"{_MC}Fallback"
_TEXTPATH = f"{_V}textpath"
_SYM, _SDT = f"{_W}sym", f"{_W}sdt"
_TEXT_TAGS = (f"{_W}t", f"{_M}t")
_WHITESPACE = {
    f"{_W}tab": "\t",
    f"{_W}ptab": "\t",
    f"{_W}br": "\n",
    f"{_W}cr": "\n",
    f"{_W}noBreakHyphen": "-",
}
# Subtrees never shown as text: tracked deletions and moves away, field codes, properties.
_SKIP = frozenset(
    f"{_W}{name}"
    for name in (
        "del",
        "moveFrom",
        "delText",
        "instrText",
        "delInstrText",
        "pPr",
        "rPr",
        "sectPr",
        "tblPr",
        "tblGrid",
        "trPr",
        "tcPr",
        "sdtPr",
        "sdtEndPr",
        "customXmlPr",
        "smartTagPr",
        "fldData",
        "rubyPr",
        "rt",
    )
)
# Word's own column limit, for a whole table: a crafted gridSpan of a billion, or thousands of
# cells in a row, must not be honoured (each extra column costs every row of the table).
_MAX_COLUMNS = 63


@dataclass(slots=True)
class Paragraph:
    """One paragraph's text; ``style_id`` from its ``w:pStyle`` (None: the default style)."""

    text: str
    style_id: str | None = None
    in_box: bool = False  # from a text box: never a heading of the surrounding document


@dataclass(slots=True)
class Table:
    """A table's rows of cell texts, one entry per grid column (merged cells said once), rows
    without text left out; ``lines``, its Markdown pipe-table lines (none for a table read inside
    an outer table's cell, which is only ever flattened)."""

    rows: list[list[str]]
    lines: list[str] = field(default_factory=list)

    def flat(self) -> str:
        """All the table's text on one line, as it is kept inside an outer table's cell."""
        return " ".join(text for row in self.rows for text in row if text)


Item = Paragraph | Table


def _markdown(rows: list[list[str]], room: int) -> tuple[list[str], bool]:
    """GitHub-flavoured Markdown pipe-table lines of ``rows``: the first as the header, a
    ``| --- |`` separator, then the others; columns empty in every row left out, the other columns
    said in every row, ``|`` in a cell escaped. Lines stop before they (and a newline each) would
    exceed ``room`` characters; True when they did."""
    columns = sorted({column for row in rows for column, text in enumerate(row) if text})
    separator = "| " + " | ".join(["---"] * len(columns)) + " |"
    lines: list[str] = []
    used = 0
    for row in rows:
        new = [_markdown_row([row[column] if column < len(row) else "" for column in columns])]
        if not lines:
            new.append(separator)
        used += sum(len(line) + 1 for line in new)
        if used > room:
            return lines, True
        lines.extend(new)
    return lines, False


def _markdown_row(cells: list[str]) -> str:
    return "|" + "|".join(f" {_escape(cell)} " if cell else " " for cell in cells) + "|"


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|")


# -- the frames open during a walk -------------------------------------------------------------


@dataclass(slots=True, eq=False)
class _Flow:
    """Somewhere paragraphs and tables go: the story itself, a text box, a table cell."""

    element: object
    items: list[Item] = field(default_factory=list)
    loose: list[str] = field(default_factory=list)  # runs found outside any paragraph

    def add(self, item: Item) -> None:
        self.flush()
        self.items.append(item)

    def flush(self) -> None:
        if self.loose:
            self.items.append(Paragraph("".join(self.loose)))
            self.loose.clear()


@dataclass(slots=True, eq=False)
class _Box(_Flow):
    """A text box's content."""


@dataclass(slots=True, eq=False)
class _Cell(_Flow):
    span: int = 1
    vmerge: str | None = None  # "restart", "continue" or None
    hmerge_continue: bool = False


@dataclass(slots=True, eq=False)
class _Para:
    element: object
    style_id: str | None
    pieces: list[str] = field(default_factory=list)
    after: list[Item] = field(default_factory=list)  # text boxes anchored in this paragraph


@dataclass(slots=True, eq=False)
class _Table:
    element: object
    start: int  # the reader's character count when the table began
    rows: list[list[str]] = field(default_factory=list)
    above: dict[int, str] = field(default_factory=dict)  # column -> text of a vertical merge
    # The cells' own paragraphs and tables, kept while the table may yet prove a box around text
    # (text in one row or one column only); None once it has text in two rows and two columns.
    contents: list[Item] | None = field(default_factory=list)
    text_columns: set[int] = field(default_factory=set)


@dataclass(slots=True, eq=False)
class _Row:
    element: object
    cells: list[str] = field(default_factory=list)
    overflow: list[str] = field(default_factory=list)  # text of cells past the last column


_Frame = _Flow | _Para | _Table | _Row


class StoryReader:
    """Reads stories into :data:`Item` lists, all of them together keeping about ``limit``
    characters; past that, :attr:`exhausted` is set and the rest is not read."""

    def __init__(self, limit: int = MAX_TEXT_CHARS) -> None:
        self.limit = limit
        self.chars = 0

    @property
    def exhausted(self) -> bool:
        """Whether the character limit has been reached (later text was not read)."""
        return self.chars > self.limit

    def read(self, root: etree._Element) -> list[Item]:
        """The paragraphs and tables of the story under ``root``, in document order."""
        story = _Flow(root)
        stack: list[_Frame] = [story]
        walker = etree.iterwalk(root, events=("start", "end"))
        for event, element in walker:
            if event == "end":
                if len(stack) > 1 and stack[-1].element is element:
                    self._close(stack)
                continue
            if self.exhausted or element.tag in _SKIP:
                walker.skip_subtree()
            elif not self._open(element, stack):
                walker.skip_subtree()
        story.flush()
        return story.items

    def _open(self, element: etree._Element, stack: list[_Frame]) -> bool:
        """Act on an element's start; False to skip what it holds."""
        tag = element.tag
        top = stack[-1]
        if tag in _TEXT_TAGS:
            self._text(stack, element.text or "")
        elif tag in _WHITESPACE:
            self._text(stack, _WHITESPACE[tag])
        elif tag == _SYM:
            self._text(stack, _symbol(element))
        elif tag == _P:
            if not isinstance(top, _Para):  # a paragraph in a paragraph (invalid): one text
                stack.append(_Para(element, _style_id(element)))
        elif tag == _TBL:
            stack.append(_Table(element, self.chars))
        elif tag == _TR:
            if isinstance(top, _Table):
                if _has(element, "trPr", "del"):
                    return False
                stack.append(_Row(element, [""] * _count(element, "trPr", "gridBefore", 0)))
        elif tag == _TC:
            if isinstance(top, _Row):
                if _has(element, "tcPr", "cellDel"):
                    return False
                stack.append(_cell(element))
        elif tag == _TXBX:
            stack.append(_Box(element))
        elif tag == _SDT:
            return not _placeholder_or_contents(element)
        elif tag in (_CHOICE, _FALLBACK):
            return element is _chosen_branch(element.getparent())
        elif tag == _TEXTPATH:
            text = element.get("string") or ""
            if text.strip():
                self.chars += len(text)
                _deliver(stack, Paragraph(text, in_box=True))
        return True

    def _text(self, stack: list[_Frame], text: str) -> None:
        if not text:
            return
        self.chars += len(text)
        for frame in reversed(stack):
            if isinstance(frame, _Para):
                frame.pieces.append(text)
                return
            if isinstance(frame, _Flow):
                frame.loose.append(text)
                return

    def _close(self, stack: list[_Frame]) -> None:
        """The element of the innermost open frame has ended: hand what it holds outwards."""
        frame = stack.pop()
        if not isinstance(frame, _Table):
            _close(frame, stack)
        elif frame.contents is not None:  # a box around text, not a grid
            for item in frame.contents:
                if isinstance(item, Table):  # a table in a cell: not rendered yet
                    self._render(item, stack, self.chars - sum(map(len, _texts(item))))
                _deliver(stack, item)
        else:
            table = Table(frame.rows)
            self._render(table, stack, frame.start)
            _deliver(stack, table)

    def _render(self, table: Table, stack: list[_Frame], start: int) -> None:
        """Render a table unless it goes into an outer table's cell (where it is flattened);
        ``start``, the character count before its text. What the rendering adds to the text read
        (pipes, padding, merged text said again) is counted too."""
        if isinstance(_flow(stack), _Cell):
            return
        table.lines, cut = _markdown(table.rows, self.limit - start)
        rendered = sum(len(line) + 1 for line in table.lines)
        self.chars = max(self.chars, start + rendered)
        if cut:
            self.chars = max(self.chars, self.limit + 1)


def _flow(stack: list[_Frame]) -> _Flow | None:
    """The innermost open story, text box or cell: where a finished table ends up."""
    for frame in reversed(stack):
        if isinstance(frame, _Flow):
            return frame
    return None


def _close(frame: _Frame, stack: list[_Frame]) -> None:
    """Hand what a finished paragraph, cell, box or row holds outwards."""
    if isinstance(frame, _Para):
        text = "".join(frame.pieces)
        if text.strip():
            _deliver(stack, Paragraph(text, frame.style_id))
        for item in frame.after:
            _deliver(stack, item)
    elif isinstance(frame, _Cell):
        frame.flush()
        row, table = stack[-1], stack[-2]
        assert isinstance(row, _Row) and isinstance(table, _Table)
        _place_cell(frame, row, table)
    elif isinstance(frame, _Box):
        frame.flush()
        for item in frame.items:
            if isinstance(item, Paragraph):
                item.in_box = True
            _deliver(stack, item)
    elif isinstance(frame, _Row):
        table = stack[-1]
        assert isinstance(table, _Table)
        if frame.overflow:
            frame.cells[-1] = " ".join(text for text in (frame.cells[-1], *frame.overflow) if text)
        if any(frame.cells):  # a row without text is never said: not kept
            table.rows.append(frame.cells)
            if table.contents is not None:
                table.text_columns.update(i for i, text in enumerate(frame.cells) if text)
                if len(table.rows) > 1 and len(table.text_columns) > 1:
                    table.contents = None  # a grid: its cells are said as cells


def _deliver(stack: list[_Frame], item: Item) -> None:
    """Put a finished paragraph or table where it belongs: after the paragraph holding it (a text
    box's), else into the nearest story, box or cell."""
    for frame in reversed(stack):
        if isinstance(frame, _Para):
            frame.after.append(item)
            return
        if isinstance(frame, _Flow):
            frame.add(item)
            return


def _place_cell(cell: _Cell, row: _Row, table: _Table) -> None:
    if table.contents is not None:
        table.contents.extend(cell.items)
    column = len(row.cells)
    text = " ".join(" ".join(_flat(item) for item in cell.items).split())
    if column >= _MAX_COLUMNS:  # past Word's last column: the text joins the last one
        if text and not cell.hmerge_continue:
            row.overflow.append(text)
        return
    span = min(cell.span, _MAX_COLUMNS - column)
    if cell.hmerge_continue:
        text = ""
    elif cell.vmerge == "continue":
        text = text or table.above.get(column, "")  # the merged text, in every row it spans
    elif cell.vmerge == "restart":
        for offset in range(span):
            table.above[column + offset] = text
    else:
        for offset in range(span):
            table.above.pop(column + offset, None)
    row.cells.append(text)
    row.cells.extend([""] * (span - 1))  # a horizontally merged cell is said once


def _texts(table: Table) -> Iterator[str]:
    return (text for row in table.rows for text in row)


def _flat(item: Item) -> str:
    return item.flat() if isinstance(item, Table) else item.text


def _cell(element: etree._Element) -> _Cell:
    cell = _Cell(element, span=_count(element, "tcPr", "gridSpan", 1))
    vmerge = element.find(f"{_W}tcPr/{_W}vMerge")
    if vmerge is not None:
        cell.vmerge = "restart" if vmerge.get(W_VAL) == "restart" else "continue"
    hmerge = element.find(f"{_W}tcPr/{_W}hMerge")
    cell.hmerge_continue = hmerge is not None and hmerge.get(W_VAL) != "restart"
    return cell


def _has(element: etree._Element, properties: str, name: str) -> bool:
    return element.find(f"{_W}{properties}/{_W}{name}") is not None


def _count(element: etree._Element, properties: str, name: str, default: int) -> int:
    """A small count property (``w:gridSpan``, ``w:gridBefore``), clamped to Word's limits."""
    found = element.find(f"{_W}{properties}/{_W}{name}")
    try:
        value = int(found.get(W_VAL, "")) if found is not None else default
    except ValueError:
        return default
    return min(max(value, default), _MAX_COLUMNS)


def _placeholder_or_contents(control: etree._Element) -> bool:
    """Whether a content control shows only its placeholder, or is Word's table of contents."""
    placeholder = control.find(f"{_W}sdtPr/{_W}showingPlcHdr")
    if placeholder is not None and _on(placeholder):
        return True
    gallery = control.find(f"{_W}sdtPr/{_W}docPartObj/{_W}docPartGallery")
    return gallery is not None and (gallery.get(W_VAL) or "").lower() == "table of contents"


def _on(toggle: etree._Element) -> bool:
    """A ``w:ST_OnOff`` property: on when present, unless its value says off."""
    return (toggle.get(W_VAL) or "true").lower() not in ("0", "false", "off")


def _style_id(paragraph: etree._Element) -> str | None:
    style = paragraph.find(f"{_W}pPr/{_W}pStyle")
    return style.get(W_VAL) if style is not None else None


def _symbol(element: etree._Element) -> str:
    """The character of a ``w:sym`` (hex code point, often in the Private Use Area)."""
    try:
        code = int(element.get(f"{_W}char") or "", 16)
        return chr(code) if 0x20 <= code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else ""
    except ValueError:
        return ""


def _chosen_branch(alternate: etree._Element | None) -> etree._Element | None:
    """Of an ``mc:AlternateContent``, the first branch (a choice, else the fallback) with text."""
    if alternate is None:
        return None
    for branch in alternate:
        if branch.tag in (_CHOICE, _FALLBACK) and _has_text(branch):
            return branch
    return None


def _has_text(element: etree._Element) -> bool:
    for found in element.iter(*_TEXT_TAGS, _SYM, _TEXTPATH):
        if found.tag == _TEXTPATH:
            if (found.get("string") or "").strip():
                return True
        elif found.tag == _SYM or (found.text or "").strip():
            return True
    return False
