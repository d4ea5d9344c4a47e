"""OpenDocument (ODT, ODS) read through odfpy: opening a vetted package, and text out of elements.

odfpy parses with defusedxml's SAX parser (no external entities); :mod:`zipguard` has refused any
DTD before that. Its own ``teletype.extractText`` recurses and writes ``<text:s text:c="N"/>`` as
N spaces, whatever N is: a crafted ``c="1000000000"`` is a gigabyte. Here text is gathered with
an explicit stack and a run of spaces is capped at :data:`MAX_SPACES`.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ember.errors import IngestError
from ember.knowledge.parsers.zipguard import check_zip

TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
MAX_SPACES = 100
_ELEMENT, _TEXT = 1, 3  # DOM node types
_S, _TAB, _BREAK = (TEXT_NS, "s"), (TEXT_NS, "tab"), (TEXT_NS, "line-break")
# Inside a paragraph: not shown on the page as its text (the note's mark, tracked deletions).
_SKIP = frozenset({(TEXT_NS, "note-citation"), (TEXT_NS, "tracked-changes")})


def load(path: Path, what: str) -> Any:
    """The document opened by odfpy, after :func:`check_zip`; ``what`` names it in messages."""
    check_zip(path, what=what)
    from odf.opendocument import load as odf_load

    try:
        return odf_load(str(path))
    except (KeyError, zipfile.BadZipFile, zlib.error, EOFError):
        raise IngestError(f"damaged {what}: a part it needs is missing or corrupt") from None
    except Exception as exc:  # SAXParseException, defusedxml's refusals, odfpy's own checks
        if type(exc).__module__.startswith(("xml.", "defusedxml", "odf")):
            raise IngestError(f"damaged {what}: its XML is malformed") from None
        raise


def attribute(element: Any, namespace: str, name: str) -> str | None:
    """The attribute ``namespace:name`` of ``element``, or None."""
    return element.attributes.get((namespace, name))


def children(element: Any) -> Iterator[Any]:
    """The element children of ``element``, in order."""
    return (child for child in element.childNodes if child.nodeType == _ELEMENT)


def inline_text(element: Any) -> str:
    """The text of ``element`` and everything in it, in order, without recursion."""
    parts: list[str] = []
    stack = [iter(element.childNodes)]
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
            continue
        if node.nodeType == _TEXT:
            parts.append(node.data)
        elif node.nodeType == _ELEMENT:
            qname = node.qname
            if qname == _S:
                parts.append(" " * min(_count(attribute(node, TEXT_NS, "c")), MAX_SPACES))
            elif qname == _TAB:
                parts.append("\t")
            elif qname == _BREAK:
                parts.append("\n")
            elif qname == (TEXT_NS, "p") or qname == (TEXT_NS, "h"):
                parts.append("\n")
                stack.append(iter(node.childNodes))
            elif qname not in _SKIP:
                stack.append(iter(node.childNodes))
    return "".join(parts)


def repeat(element: Any, name: str) -> int:
    """An ODF ``table:number-*-repeated`` count (1 when absent or not a number)."""
    return _count(attribute(element, TABLE_NS, name))


def _count(value: str | None) -> int:
    """A count attribute as a number: 1 when absent or not a number; at most 12 digits read."""
    value = (value or "").strip()
    return max(int(value[:12]), 1) if value.isdigit() else 1
