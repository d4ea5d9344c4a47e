"""Checks a ZIP container (DOCX, PPTX, XLSX, EPUB, ODT, ODS) before any XML parser or the format's
library sees it.

python-docx (like python-pptx, openpyxl and odfpy) reads every part of the package whole into
memory with no size limit, Ember's EPUB reader reads each part it needs whole, and XML parsers
have been tricked by entity expansion. So, first: count members from the end-of-central-directory
record (a 20-million-entry archive must not be listed to find that out), then check declared
sizes, compression ratios, member names, and scan every XML member for DTD declarations (EPUB's
XHTML may carry a plain ``<!DOCTYPE html>``, so there only ``<!ENTITY`` is refused).

Declared sizes can be trusted as upper bounds here because zipfile never inflates a member past
its declared size (it stops and then fails the CRC check).
"""

from __future__ import annotations

import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ember.errors import IngestError
from ember.units import size_text


@dataclass(frozen=True, slots=True)
class ZipLimits:
    """Bounds an archive must keep: member count, uncompressed bytes in all and per member, and the
    compression ratio of members over ``ratio_floor_bytes``."""

    max_members: int = 5_000
    max_total_bytes: int = 256 * 1024 * 1024  # uncompressed, all members together
    max_member_bytes: int = 128 * 1024 * 1024
    max_ratio: float = 100.0  # uncompressed / compressed, for members big enough to matter
    ratio_floor_bytes: int = 1024 * 1024  # smaller members may compress as well as they like


DEFAULT_LIMITS = ZipLimits()

_EOCD = b"PK\x05\x06"
_EOCD_SIZE = 22
_MAX_COMMENT = 65535
_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_ENTITY = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)
_XML_SUFFIXES = (".xml", ".rels", ".vml")
# EPUB's members are XHTML, package and navigation XML, SVG: all of them are parsed.
EPUB_XML_SUFFIXES = (".xml", ".xhtml", ".html", ".htm", ".opf", ".ncx", ".svg", ".smil")
_SCAN_CHUNK = 1024 * 1024


def declared_member_count(path: Path) -> int | None:
    """Members listed in the end-of-central-directory record, or None if it is not found."""
    with open(path, "rb") as stream:
        stream.seek(0, 2)
        size = stream.tell()
        tail_len = min(size, _EOCD_SIZE + _MAX_COMMENT)
        stream.seek(size - tail_len)
        tail = stream.read(tail_len)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < _EOCD_SIZE:
        return None
    (total,) = struct.unpack_from("<H", tail, at + 10)
    return total  # 0xFFFF means ZIP64: zipfile reads the real count, still under the limits below


def check_zip(
    path: Path,
    limits: ZipLimits = DEFAULT_LIMITS,
    *,
    what: str = "Word document",
    xml_suffixes: tuple[str, ...] = _XML_SUFFIXES,
    allow_doctype: bool = False,
) -> None:
    """Raise :class:`IngestError` if the archive at ``path`` is unsafe to hand to its library.

    ``what`` names the file in messages ("Word document", "PowerPoint presentation");
    ``xml_suffixes`` are the members scanned for DTD declarations; ``allow_doctype`` lets a plain
    DOCTYPE pass (EPUB's XHTML) while an ENTITY declaration is still refused.
    """
    count = declared_member_count(path)
    if count is None:
        raise IngestError(f"damaged {what}: the ZIP directory is missing (truncated file?)")
    if count > limits.max_members and count != 0xFFFF:
        raise IngestError(_too_many(count, limits, what))
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > limits.max_members:
                raise IngestError(_too_many(len(infos), limits, what))
            _check_infos(infos, limits, what)
            for info in infos:
                if info.filename.lower().endswith(xml_suffixes):
                    _check_no_dtd(archive, info, what, _ENTITY if allow_doctype else _DTD)
    except zipfile.BadZipFile:
        raise IngestError(f"damaged {what}: the ZIP archive is corrupt") from None
    except (NotImplementedError, RuntimeError):
        raise IngestError(
            f"this {what} uses unsupported ZIP features (encryption or compression)"
        ) from None


def _too_many(count: int, limits: ZipLimits, what: str) -> str:
    return (
        f"refusing this {what}: its archive has {count} members "
        f"(more than {limits.max_members}; a real document has far fewer)"
    )


def _check_infos(infos: list[zipfile.ZipInfo], limits: ZipLimits, what: str) -> None:
    total = 0
    for info in infos:
        if _unsafe_name(info.filename):
            raise IngestError(
                f"refusing this {what}: unsafe member name {info.filename!r} (path traversal)"
            )
        size = info.file_size
        if size > limits.max_member_bytes:
            raise IngestError(
                f"refusing this {what}: member {info.filename!r} unpacks to "
                f"{size_text(size)} (limit {size_text(limits.max_member_bytes)})"
            )
        if size >= limits.ratio_floor_bytes and size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise IngestError(
                f"refusing this {what}: it looks like a zip bomb (member "
                f"{info.filename!r} is compressed {size // max(info.compress_size, 1)}:1)"
            )
        total += size
        if total > limits.max_total_bytes:
            raise IngestError(
                f"refusing this {what}: it unpacks to more than "
                f"{size_text(limits.max_total_bytes)} (zip bomb?)"
            )


def _unsafe_name(name: str) -> bool:
    if name.startswith(("/", "\\")) or "\\" in name or "\x00" in name:
        return True
    pure = PurePosixPath(name)
    return ".." in pure.parts or (len(name) > 1 and name[1] == ":")


def _check_no_dtd(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, what: str, pattern: re.Pattern[bytes]
) -> None:
    overlap = b""
    declares = "a DOCTYPE or ENTITY" if pattern is _DTD else "an ENTITY"
    writer = "Word never writes" if what == "Word document" else "no office program writes"
    with archive.open(info) as member:
        while chunk := member.read(_SCAN_CHUNK):
            if pattern.search(overlap + chunk):
                raise IngestError(
                    f"refusing this {what}: XML entity bomb risk ({info.filename!r} "
                    f"declares {declares}, which {writer})"
                )
            overlap = chunk[-16:]
