"""Word (.docx) text in reading order, sectioned by its headings.

The archive is vetted by :mod:`zipguard` first: python-docx would otherwise read a zip bomb whole.
python-docx opens the package; its XML is then walked by :mod:`docx_xml`, which reads what
``Paragraph.text`` misses (text boxes, content controls, tracked insertions, fields, symbols).
Tables become Markdown pipe tables where they stand in the text (a table of one row or one column,
a callout or layout box, its paragraphs). Headers, footers, footnotes, endnotes and comments
follow the body as sections of their own, under the heading paths ``("Header",)``,
``("Footer",)``, ``("Footnotes",)``, ``("Endnotes",)`` and ``("Comments",)``; a header or footer
repeated by several document sections is said once (notes and comments are all kept, however
alike). A damaged (malformed) notes, comments, header or footer part costs only itself, with a
note on the document; a damaged body, styles or other part the document cannot do without costs the
whole document.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any

from ember.errors import IngestError
from ember.knowledge.parsers.base import Blocks, TextBudget, sections_from_blocks
from ember.knowledge.parsers.docx_xml import W_VAL, Item, Paragraph, StoryReader, Table
from ember.knowledge.parsers.zipguard import check_zip
from ember.knowledge.types import ParsedDocument

_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_CORE_PROPERTIES = (
    "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
)
_WML_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml."
# Parts python-docx parses on opening whose damage costs only themselves: content type -> (what
# the note calls the part, the root element an emptied copy gets).
_SPARE_PARTS = {
    f"{_WML_TYPE}comments+xml": ("the comments", "comments"),
    f"{_WML_TYPE}header+xml": ("a header", "hdr"),
    f"{_WML_TYPE}footer+xml": ("a footer", "ftr"),
}
_CONTENT_TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_DAMAGED = "damaged Word document: its XML is malformed"
# Footnotes and endnotes Word keeps for its own separator lines, not notes anyone wrote.
_SEPARATOR_NOTES = frozenset({"separator", "continuationSeparator", "continuationNotice"})


def parse(path: Path) -> ParsedDocument:
    """A Word document as sections under its headings, then its headers, footers, notes and
    comments; titled from its properties, its Title style or its first heading.

    Raises :class:`IngestError` for an unsafe archive, a file that is not a (sound) Word document,
    or one without text.
    """
    check_zip(path)
    document, notes = _open(path)
    reader = StoryReader()
    body = document.element.body
    items = reader.read(body) if body is not None else []
    blocks, title, first_heading = _body_blocks(items, _paragraph_styles(document))
    blocks.extend(_furniture(document, reader, notes))
    budget = TextBudget(notes=notes)
    if reader.exhausted:
        budget.truncated()
    sections = sections_from_blocks(blocks, budget)
    if not sections:
        raise IngestError("no text found in this Word document")
    core_title = _core_title(document)
    return ParsedDocument(
        str(path),
        "docx",
        sections,
        title=core_title or title or first_heading,
        notes=tuple(budget.notes),
    )


def _open(path: Path) -> tuple[Any, list[str]]:
    """The document opened by python-docx, and notes on the parts it had to do without: where
    malformed XML stops python-docx, a copy with each damaged comments, header or footer part
    emptied is opened instead."""
    from lxml.etree import XMLSyntaxError

    try:
        return _load(str(path)), []
    except XMLSyntaxError:
        pass
    mended, notes = _mend(path)
    if mended is not None:
        try:
            return _load(mended), notes
        except XMLSyntaxError:
            pass
    raise IngestError(_DAMAGED)


def _load(source: str | io.BytesIO) -> Any:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        return docx.Document(source)
    except PackageNotFoundError:
        raise IngestError("not a Word document (.docx): the package has no document") from None
    except (KeyError, ValueError):
        raise IngestError(
            "not a Word document (.docx): it is some other kind of ZIP file"
        ) from None


def _mend(path: Path) -> tuple[io.BytesIO | None, list[str]]:
    """An in-memory copy of the package with every malformed comments, header and footer part
    emptied, and a note for each kind emptied; None when there is no such part to empty."""
    from lxml import etree

    emptied: dict[str, bytes] = {}
    notes: list[str] = []
    try:
        with zipfile.ZipFile(path) as archive:
            for name, (label, root) in _spare_parts(archive).items():
                if _parse(archive.read(name)) is not None:
                    continue
                emptied[name] = etree.tostring(etree.Element(f"{_W}{root}"))
                note = f"{label} could not be read: the part is damaged"
                if note not in notes:
                    notes.append(note)
            if not emptied:
                return None, []
            copy = io.BytesIO()
            with zipfile.ZipFile(copy, "w") as mended:
                for info in archive.infolist():
                    data = emptied.get(info.filename) or archive.read(info)
                    mended.writestr(info, data, compresslevel=1)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, zlib.error):
        return None, []
    copy.seek(0)
    return copy, notes


def _spare_parts(archive: zipfile.ZipFile) -> dict[str, tuple[str, str]]:
    """Member name -> (label, root) of each comments, header and footer part the package's
    ``[Content_Types].xml`` names (and the archive holds)."""
    members = set(archive.namelist())
    content_types = _parse(archive.read("[Content_Types].xml"))
    if content_types is None:
        return {}
    parts: dict[str, tuple[str, str]] = {}
    for override in content_types.iterchildren(f"{_CONTENT_TYPES}Override"):
        name = (override.get("PartName") or "").lstrip("/")
        spare = _SPARE_PARTS.get(override.get("ContentType") or "")
        if spare is not None and name in members:
            parts[name] = spare
    return parts


def _core_title(document: Any) -> str:
    """The title in the document's properties; none when it has no properties part (python-docx
    would make one up, titled "Word Document")."""
    package_rels = document.part.package.rels.values()
    if not any(rel.reltype == _CORE_PROPERTIES for rel in package_rels):
        return ""
    return (document.core_properties.title or "").strip()


def _body_blocks(
    items: list[Item], styles: tuple[dict[str, str], str]
) -> tuple[Blocks, str | None, str | None]:
    """The body's blocks under their headings, the Title-style text and the first heading."""
    names, default_name = styles
    blocks: Blocks = [((), [])]
    stack: list[tuple[int, str]] = []  # (level, heading text) from the outermost down
    title: str | None = None
    first_heading: str | None = None
    for item in items:
        if isinstance(item, Table):
            blocks[-1][1].extend(_table_lines(item))
            continue
        text = item.text.strip()
        if not text:
            continue
        level = None
        if not item.in_box:
            level = _heading_level(names.get(item.style_id or "", default_name))
        if level == 0 and title is None:  # the "Title" style names the document
            title = " ".join(text.split())
            continue
        if not level:  # body text (a second Title-style paragraph too)
            blocks[-1][1].append(text)
            continue
        heading = " ".join(text.split())
        first_heading = first_heading or heading
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, heading))
        blocks.append((tuple(heading for _, heading in stack), []))
    return blocks, title, first_heading


def _table_lines(table: Table) -> list[str]:
    lines = table.lines
    return ["", *lines, ""] if lines else []  # blank lines keep the table a block of its own


def _paragraph_styles(document: Any) -> tuple[dict[str, str], str]:
    """Paragraph style id -> style name, and the default paragraph style's name (what a paragraph
    without a style, or with an unknown one, has)."""
    names: dict[str, str] = {}
    default = ""
    for style in document.styles.element.iterchildren(f"{_W}style"):
        if style.get(f"{_W}type", "paragraph") != "paragraph":
            continue
        name_element = style.find(f"{_W}name")
        name = (name_element.get(W_VAL) if name_element is not None else None) or ""
        names[style.get(f"{_W}styleId") or ""] = name
        if style.get(f"{_W}default") in ("1", "true", "on") and not default:
            default = name
    return names, default


def _heading_level(name: str) -> int | None:
    """0 for the Title style, 1-9 for Heading 1-9, None for body text."""
    name = name.strip()
    if name.lower() == "title":
        return 0
    match = _HEADING_STYLE.match(name)
    return int(match.group(1)) if match else None


# -- headers, footers, notes, comments ---------------------------------------------------------


def _furniture(document: Any, reader: StoryReader, notes: list[str]) -> Blocks:
    """The header, footer, footnotes, endnotes and comments sections; a part too damaged to read
    is left out, with a note in ``notes``."""
    blocks: Blocks = []
    for label, kind in (("Header", "header"), ("Footer", "footer")):
        stories = _roots(_header_footer_parts(document, kind), f"a {kind}", notes)
        blocks.append(((label,), _story_lines(stories, reader, once=True)))
    for label, kind in (("Footnotes", "footnote"), ("Endnotes", "endnote")):
        stories = [
            note
            for root in _roots(_related_parts(document, f"{kind}s"), f"the {kind}s", notes)
            for note in root.iterchildren(f"{_W}{kind}")
            if note.get(f"{_W}type") not in _SEPARATOR_NOTES
        ]
        blocks.append(((label,), _story_lines(stories, reader)))
    comments = [
        comment
        for root in _roots(_related_parts(document, "comments"), "the comments", notes)
        for comment in root.iterchildren(f"{_W}comment")
    ]
    blocks.append((("Comments",), _story_lines(comments, reader, author=True)))
    return [(heading_path, lines) for heading_path, lines in blocks if lines]


def _story_lines(
    stories: list[Any], reader: StoryReader, *, once: bool = False, author: bool = False
) -> list[str]:
    """Each story's lines; with ``once`` (headers and footers, which several document sections
    repeat) a story whose text was already said is left out. Notes and comments are all kept, the
    same "Ibid." or "Agreed." twice included. A comment's first line is prefixed by its author's
    name."""
    lines: list[str] = []
    seen: set[tuple[str, ...]] = set()
    for story in stories:
        own = _item_lines(reader.read(story))
        if not own or (once and tuple(own) in seen):
            continue
        if once:
            seen.add(tuple(own))
        name = (story.get(f"{_W}author") or "").strip() if author else ""
        if name:
            first = next(index for index, line in enumerate(own) if line)
            own[first] = f"{name}: {own[first]}"
        lines.extend(own)
    return lines


def _item_lines(items: list[Item]) -> list[str]:
    lines: list[str] = []
    for item in items:
        if isinstance(item, Paragraph):
            if item.text.strip():
                lines.append(item.text.strip())
        else:
            lines.extend(_table_lines(item))
    return lines


def _header_footer_parts(document: Any, kind: str) -> list[Any]:
    """The document's header (or footer) parts in the order its sections refer to them, then any
    it relates but never refers to."""
    rels = document.part.rels
    reltype = _RELS + kind
    parts: list[Any] = []
    body = document.element.body
    references = body.iter(f"{_W}{kind}Reference") if body is not None else ()
    for reference in references:
        rel = rels.get(reference.get(_R_ID))
        if rel is not None and rel.reltype == reltype and not rel.is_external:
            if rel.target_part not in parts:
                parts.append(rel.target_part)
    for part in _related_parts(document, kind):
        if part not in parts:
            parts.append(part)
    return parts


def _related_parts(document: Any, kind: str) -> list[Any]:
    reltype = _RELS + kind
    return [
        rel.target_part
        for rel in document.part.rels.values()
        if rel.reltype == reltype and not rel.is_external
    ]


def _roots(parts: list[Any], label: str, notes: list[str]) -> list[Any]:
    """The root elements of ``parts``; one too damaged to read is left out, with a note that
    ``label`` (the footnotes, a header) could not be read."""
    roots = []
    for part in parts:
        root = _root(part)
        if root is not None:
            roots.append(root)
        elif (note := f"{label} could not be read: the part is damaged") not in notes:
            notes.append(note)
    return roots


def _root(part: Any) -> Any:
    """A part's root element: python-docx's own for the parts it knows (headers, footers,
    comments), else its bytes parsed here; None when they are malformed."""
    element = getattr(part, "element", None)
    return element if element is not None else _parse(part.blob)


def _parse(xml: bytes) -> Any:
    """XML parsed with no network, no entities and lxml's depth limits; None when malformed."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        return etree.fromstring(xml, parser)
    except etree.XMLSyntaxError:
        return None
