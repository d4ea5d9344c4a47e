"""An EPUB's package, read with the standard library: its reading order, title and table of contents.

``META-INF/container.xml`` names the package document (the OPF); its manifest lists the book's
files (``href`` relative to the OPF's folder, percent-encoded), its spine their reading order, its
metadata the title (``dc:title``). The table of contents comes from the EPUB 3 navigation document
(the manifest item with the ``nav`` property, its ``<nav epub:type="toc">``) or, in a book without
one, from the EPUB 2 NCX (``navPoint``: ``navLabel/text`` and ``content/@src``).

XML goes through defusedxml (no entities, no network); :mod:`zipguard` has vetted the archive
first (member sizes, names, no ENTITY declarations). All names here are ZIP member names, e.g.
``"OEBPS/Text/Chapter 1.xhtml"``.
"""

from __future__ import annotations

import posixpath
import zipfile
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from ember.errors import IngestError

CONTAINER = "META-INF/container.xml"
_CONTAINER_NS = "urn:oasis:names:tc:opendocument:xmlns:container"
_OPF_NS = "http://www.idpf.org/2007/opf"
_DC_NS = "http://purl.org/dc/elements/1.1/"
_XHTML_NS = "http://www.w3.org/1999/xhtml"
_OPS_NS = "http://www.idpf.org/2007/ops"
_NCX_NS = "http://www.daisy.org/z3986/2005/ncx/"
_OPF_MEDIA_TYPE = "application/oebps-package+xml"
_XHTML_MEDIA_TYPE = "application/xhtml+xml"
_NCX_MEDIA_TYPE = "application/x-dtbncx+xml"

DAMAGED = "damaged EPUB book: a part it needs is missing or corrupt"
NO_PACKAGE = "not an EPUB book: it has no package document"


@dataclass(frozen=True, slots=True)
class Package:
    """What the parser needs of a book: ``chapters`` are the spine's XHTML documents in reading
    order (the navigation document left out, ``linear="no"`` ones kept), ``toc_titles`` maps a
    document to its first title in the table of contents."""

    chapters: tuple[str, ...]
    title: str | None = None
    toc_titles: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Item:
    name: str  # ZIP member name
    media_type: str
    properties: tuple[str, ...]


def read_package(archive: zipfile.ZipFile) -> Package:
    """The package of the EPUB in ``archive``.

    Raises :class:`IngestError`: ``DAMAGED`` when the container, a manifest file, the manifest or
    the spine is missing or is not well-formed XML; ``NO_PACKAGE`` when the container names no
    package document or it is not in the archive. A table of contents that cannot be read only
    leaves the titles out.
    """
    members = set(archive.namelist())
    if CONTAINER not in members:
        raise IngestError(DAMAGED)
    container = _xml(archive.read(CONTAINER))
    opf_name = _rootfile(container)
    if not opf_name or opf_name not in members:
        raise IngestError(NO_PACKAGE)
    opf = _xml(archive.read(opf_name))
    manifest = opf.find(f"{{{_OPF_NS}}}manifest")
    spine = opf.find(f"{{{_OPF_NS}}}spine")
    if manifest is None or spine is None:
        raise IngestError(DAMAGED)
    items = _manifest(manifest, posixpath.dirname(opf_name))
    if any(item.name not in members for item in items.values()):
        raise IngestError(DAMAGED)  # ebooklib read every manifest file and failed the same way
    chapters = []
    for itemref in spine.iter(f"{{{_OPF_NS}}}itemref"):
        item = items.get(itemref.get("idref", ""))
        # linear="no" documents (notes, a colophon) are kept, as the parser always had them.
        if item and item.media_type == _XHTML_MEDIA_TYPE and not _not_chapter(item):
            chapters.append(item.name)
    return Package(tuple(chapters), _title(opf), _toc(archive, items, spine.get("toc")))


def _xml(data: bytes) -> Any:
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        return fromstring(data)
    except (ParseError, DefusedXmlException):
        raise IngestError(DAMAGED) from None


def _rootfile(container: Any) -> str | None:
    for rootfile in container.iter(f"{{{_CONTAINER_NS}}}rootfile"):
        if rootfile.get("media-type") == _OPF_MEDIA_TYPE and rootfile.get("full-path"):
            return posixpath.normpath(rootfile.get("full-path"))
    return None


def _manifest(manifest: Any, folder: str) -> dict[str, _Item]:
    items: dict[str, _Item] = {}
    for element in manifest.iter(f"{{{_OPF_NS}}}item"):
        href = element.get("href")
        if not href:
            raise IngestError(DAMAGED)
        item = _Item(
            _resolve(folder, href),
            (element.get("media-type") or "").strip().lower(),
            tuple((element.get("properties") or "").split()),
        )
        items.setdefault(element.get("id", ""), item)
    return items


def _resolve(folder: str, href: str) -> str:
    """The member a (percent-encoded, relative) reference points to, its #fragment dropped."""
    return posixpath.normpath(posixpath.join(folder, unquote(href.split("#", 1)[0])))


def _not_chapter(item: _Item) -> bool:
    # ebooklib's is_chapter(): False for the navigation document and an XHTML "cover" page.
    return "nav" in item.properties or "cover" in item.properties


def _title(opf: Any) -> str | None:
    metadata = opf.find(f"{{{_OPF_NS}}}metadata")
    element = metadata.find(f"{{{_DC_NS}}}title") if metadata is not None else None
    if element is None:
        return None
    return "".join(element.itertext()).strip() or None


def _toc(archive: zipfile.ZipFile, items: dict[str, _Item], ncx_id: str | None) -> dict[str, str]:
    """Document -> its first title in the EPUB 3 nav's toc, else in the NCX; {} if neither reads."""
    nav = next(
        (i for i in items.values() if "nav" in i.properties and i.media_type == _XHTML_MEDIA_TYPE),
        None,
    )
    ncx = items.get(ncx_id or "") or next(
        (i for i in items.values() if i.media_type == _NCX_MEDIA_TYPE), None
    )
    try:
        if nav is not None:
            return _nav_titles(_xml(archive.read(nav.name)), posixpath.dirname(nav.name))
        if ncx is not None:
            return _ncx_titles(_xml(archive.read(ncx.name)), posixpath.dirname(ncx.name))
    except IngestError:
        pass  # the book reads without its titles
    return {}


def _nav_titles(root: Any, folder: str) -> dict[str, str]:
    titles: dict[str, str] = {}
    for nav in root.iter(f"{{{_XHTML_NS}}}nav"):
        if "toc" not in (nav.get(f"{{{_OPS_NS}}}type") or "").split():
            continue
        for link in nav.iter(f"{{{_XHTML_NS}}}a"):
            _add(titles, folder, link.get("href"), "".join(link.itertext()))
        break
    return titles


def _ncx_titles(root: Any, folder: str) -> dict[str, str]:
    titles: dict[str, str] = {}
    for point in root.iter(f"{{{_NCX_NS}}}navPoint"):
        label = point.find(f"{{{_NCX_NS}}}navLabel/{{{_NCX_NS}}}text")
        content = point.find(f"{{{_NCX_NS}}}content")
        text = "".join(label.itertext()) if label is not None else ""
        _add(titles, folder, content.get("src") if content is not None else None, text)
    return titles


def _add(titles: dict[str, str], folder: str, href: str | None, text: str) -> None:
    title = " ".join(text.split())
    if href and title:
        titles.setdefault(_resolve(folder, href), title)
