"""HTML through BeautifulSoup's pure-Python ``html.parser``: visible text, sectioned by h1-h6.

Scripts, styles and page furniture (navigation, headers, footers, forms) are dropped. The tree is
walked iteratively, so deeply nested markup cannot exhaust the recursion limit.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from ember.knowledge.decode import DecodedText, decode_bytes, read_text
from ember.knowledge.parsers.base import (
    normalize_newlines,
    parse_headed_text,
)
from ember.knowledge.types import ParsedDocument

DROP_TAGS = (
    "script",
    "style",
    "noscript",
    "template",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "button",
    "select",
    "svg",
    "canvas",
    "iframe",
    "object",
    "head",
)
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
# Elements that end a line of text; everything else flows inline.
BLOCKS = frozenset(
    "p div br li ul ol dl dt dd tr table thead tbody section article main blockquote pre hr"
    " figure figcaption caption address details summary h1 h2 h3 h4 h5 h6".split()
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.IGNORECASE)


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


def extract(markup: str) -> tuple[str | None, list[tuple[tuple[str, ...], list[str]]]]:
    """The page title and ``(heading_path, text pieces)`` blocks of an HTML string."""
    from bs4 import BeautifulSoup, NavigableString, Tag

    soup = BeautifulSoup(markup, "html.parser")
    title_tag = soup.find("title")
    title = " ".join(title_tag.get_text(" ").split()) if title_tag else None
    for tag in soup.find_all(DROP_TAGS):
        if not tag.decomposed:
            tag.decompose()

    blocks: list[tuple[tuple[str, ...], list[str]]] = [((), [])]
    stack: list[tuple[int, str]] = []
    inside_heading: Tag | None = None
    for node in soup.descendants:
        if inside_heading is not None:
            if _is_inside(node, inside_heading):
                continue
            inside_heading = None
        if isinstance(node, Tag):
            if node.name in HEADINGS:
                inside_heading = node
                level = int(node.name[1])
                text = " ".join(node.get_text(" ").split())
                if not text:
                    continue
                while stack and stack[-1][0] >= level:
                    stack.pop()
                stack.append((level, text))
                blocks.append((tuple(heading for _, heading in stack), []))
            elif node.name in BLOCKS:
                blocks[-1][1].append("\n")
        elif type(node) is NavigableString:  # not comments, CDATA, doctypes, ...
            blocks[-1][1].append(str(node))
    joined = [(path, ["".join(pieces)]) for path, pieces in blocks]
    if title is None and stack:
        title = stack[0][1]
    return title or None, joined


def _is_inside(node: object, ancestor: object) -> bool:
    parent = getattr(node, "parent", None)
    while parent is not None:
        if parent is ancestor:
            return True
        parent = parent.parent
    return False
