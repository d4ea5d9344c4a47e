"""What a file really is, judged by its bytes first and its name second.

A PDF renamed ``.docx`` is parsed as a PDF; a PNG renamed ``.txt`` is refused as binary. The file
is opened non-blocking and checked to be a regular file *after* opening, so a FIFO swapped in at
the last moment cannot hang the caller.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ember.errors import IngestError
from ember.knowledge.decode import bom_encoding, utf16_without_bom
from ember.knowledge.limits import MAX_FILE_BYTES
from ember.units import size_text

SUPPORTED_KINDS: frozenset[str] = frozenset(
    {"pdf", "docx", "html", "markdown", "rst", "text", "code", "csv"}
    | {"pptx", "xlsx", "ods", "odt", "epub", "rtf", "eml", "mbox", "ipynb"}
)
SUPPORTED_KINDS |= {"image"}  # PNG, JPEG, TIFF: read by OCR (ember.knowledge.parsers.image)

CODE_EXTENSIONS: frozenset[str] = frozenset(
    ".py .pyi .js .mjs .cjs .jsx .ts .tsx .java .kt .kts .scala .c .h .cc .cpp .cxx .hpp .hh .cs"
    " .go .rs .rb .php .swift .m .mm .lua .pl .pm .r .jl .sh .bash .zsh .fish .ps1 .bat .sql"
    " .hs .ml .mli .ex .exs .erl .clj .dart .vue .svelte .css .scss .less .toml .yaml .yml .ini"
    " .cfg .json .xml .gradle .cmake .mk .proto .tf .nix .el .vim .zig .nim .f90 .asm".split()
)
CODE_FILENAMES: frozenset[str] = frozenset(
    {"makefile", "dockerfile", "cmakelists.txt", "gemfile", "rakefile", "justfile"}
)

EXTENSION_KINDS: dict[str, str] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdown": "markdown",
    ".rst": "rst",
    ".rest": "rst",
    ".txt": "text",
    ".text": "text",
    ".log": "text",
    ".csv": "csv",
    ".tsv": "csv",
    **{ext: "code" for ext in CODE_EXTENSIONS},
    ".pptx": "pptx",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".ods": "ods",
    ".odt": "odt",
    ".epub": "epub",
    ".rtf": "rtf",
    ".eml": "eml",
    ".mbox": "mbox",
    ".ipynb": "ipynb",
}
# ZIP-based formats: OOXML is told apart by name, or by its parts' folder in the first local
# headers; ODF and EPUB by the ``mimetype`` member they must store first, uncompressed.
_OOXML_KINDS = frozenset({"docx", "pptx", "xlsx"})
_OOXML_FOLDERS = ((b"word/", "docx"), (b"ppt/", "pptx"), (b"xl/", "xlsx"))
_ZIP_MIMETYPES = (
    (b"mimetypeapplication/epub+zip", "epub"),
    (b"mimetypeapplication/vnd.oasis.opendocument.text", "odt"),
    (b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet", "ods"),
)
_RTF_MAGIC = b"{\\rtf"
EXTENSION_KINDS.update(dict.fromkeys((".png", ".jpg", ".jpeg", ".tif", ".tiff"), "image"))

# Pictures Ember reads by OCR, whatever their name says: PNG, JPEG, TIFF (both byte orders).
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")

# Kinds that only a test may ask for; see ember.knowledge.parsers.testhook.
TEST_HOOK_ENV = "EMBER_PARSER_TEST_HOOKS"
TEST_HOOK_MAGIC = b"EMBER-TEST-PARSER "

HEAD_BYTES = 8192

# Binary formats people keep next to their documents, with what to say about each.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "an image (PNG)"),
    (b"\xff\xd8\xff", "an image (JPEG)"),
    (b"GIF87a", "an image (GIF)"),
    (b"GIF89a", "an image (GIF)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x7fELF", "a program (ELF)"),
    (b"MZ", "a Windows program"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"GGUF", "a GGUF model file"),
)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"

_FILE_TYPES = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFDIR: "a folder",
}


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """Enough of a stat result to tell whether a file changed between two looks at it."""

    size: int
    mtime_ns: int
    inode: int
    device: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileIdentity:
        """The identity recorded in a ``stat`` result."""
        return cls(st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)


@dataclass(frozen=True, slots=True)
class Probe:
    """What :func:`probe` found: the file, its document kind (e.g. "pdf") and its identity then."""

    path: Path
    kind: str
    identity: FileIdentity


def kind_from_name(path: Path) -> str | None:
    """The kind a file's name suggests, or None when the name says nothing we support."""
    if path.name.lower() in CODE_FILENAMES:
        return "code"
    return EXTENSION_KINDS.get(path.suffix.lower())


def not_regular_reason(mode: int) -> str | None:
    """Why a file of this ``st_mode`` cannot be read as a document, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return f"not a regular file: it is {_FILE_TYPES.get(stat.S_IFMT(mode), 'a special file')}"


def probe(path: Path) -> Probe:
    """Stat, open and sniff ``path``: the kind of document it is, or :class:`IngestError` why not."""
    try:
        st = os.stat(path)
        reason = not_regular_reason(st.st_mode)
        if reason:
            raise IngestError(reason)
        _check_size(st.st_size)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            st = os.fstat(fd)  # the file actually opened, not whatever the name pointed at before
            reason = not_regular_reason(st.st_mode)
            if reason:
                raise IngestError(reason)
            _check_size(st.st_size)
            head = os.read(fd, HEAD_BYTES)
        finally:
            os.close(fd)
    except FileNotFoundError:
        raise IngestError("file not found (was it moved or deleted?)") from None
    except PermissionError:
        raise IngestError("permission denied: Ember may not read this file") from None
    except OSError as exc:
        raise IngestError(f"could not read the file: {exc.strerror or exc}") from None
    if not head:
        raise IngestError("empty file")
    return Probe(Path(path), sniff(head, path), FileIdentity.of(st))


def _check_size(size: int) -> None:
    if size == 0:
        raise IngestError("empty file")
    if size > MAX_FILE_BYTES:
        raise IngestError(
            f"file is too large ({size_text(size)}); Ember indexes files up to "
            f"{size_text(MAX_FILE_BYTES)}"
        )


def sniff(head: bytes, path: Path) -> str:
    """The kind of a file from its first bytes and its name; raises IngestError for binary files."""
    named = kind_from_name(path)
    if os.environ.get(TEST_HOOK_ENV) == "1" and head.startswith(TEST_HOOK_MAGIC):
        return "test-hook"
    if bom_encoding(head) is not None or utf16_without_bom(head) is not None:
        return _text_kind(named, head)
    if b"%PDF-" in head[:1024]:  # PDF readers accept some junk before the header; so does PDFium
        return "pdf"
    if head.startswith(_IMAGE_MAGIC):
        return "image"
    if head.startswith(_ZIP_MAGIC):
        return _zip_kind(named, head)
    if head.startswith(_OLE_MAGIC):
        if named in ("pptx", "xlsx"):
            raise IngestError(
                "this file is password protected (encrypted); save an unprotected copy"
            )
        if named == "docx":
            raise IngestError(
                "this Word document is password protected (encrypted); save an unprotected copy"
            )
        raise IngestError(_old_office_message(path))
    if named == "pdf":
        raise IngestError("damaged PDF: the file does not start with a PDF header")
    if named == "docx":
        raise IngestError("damaged Word document: the file is not a ZIP archive")
    if named in ("pptx", "xlsx", "ods", "odt", "epub"):
        raise IngestError(f"damaged .{named} file: the file is not a ZIP archive")
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(_RTF_MAGIC):
        return "rtf"
    if b"\x00" in head:
        for magic, what in _MAGIC:
            if head.startswith(magic):
                raise IngestError(f"binary file, not text: it looks like {what}")
        raise IngestError("binary file, not text")
    for magic, what in _MAGIC:
        if head.startswith(magic) and magic not in (b"MZ", b"GGUF"):
            raise IngestError(f"binary file, not text: it looks like {what}")
    return _text_kind(named, head)


# The old binary Office formats by name: what each is, and what to save it as instead.
_OLD_OFFICE = {
    ".doc": ("Word", ".docx or PDF"),
    ".dot": ("Word", ".docx or PDF"),
    ".xls": ("Excel", ".xlsx or .ods"),
    ".xlt": ("Excel", ".xlsx or .ods"),
    ".ppt": ("PowerPoint", ".pptx or PDF"),
    ".pps": ("PowerPoint", ".pptx or PDF"),
    ".pot": ("PowerPoint", ".pptx or PDF"),
}


def old_office_reason(path: Path) -> str | None:
    """Why a file named as an old binary Office file (.doc, .xls, .ppt...) is not indexed, with
    the format to save it as instead; None for any other name."""
    known = _OLD_OFFICE.get(path.suffix.lower())
    if known is None:
        return None
    program, instead = known
    return f"old {program} format ({path.suffix.lower()}) is not supported; save it as {instead}"


def _old_office_message(path: Path) -> str:
    """Why an OLE compound file (an old .doc/.xls/.ppt, or something else in that container) is
    refused, naming the format to save it as where its name tells which program wrote it."""
    return old_office_reason(path) or (
        "old Microsoft Office format (.doc, .xls, .ppt) is not supported; "
        "save it as .docx, .xlsx, .pptx or PDF"
    )


def _zip_kind(named: str | None, head: bytes) -> str:
    """The kind of a ZIP file: EPUB or ODF by its ``mimetype`` member, else an OOXML kind by name,
    else by the folder of its first parts; else DOCX (whose parser says so if it is some other
    ZIP)."""
    for mimetype, kind in _ZIP_MIMETYPES:
        if mimetype in head[:256]:
            return kind
    if named in _OOXML_KINDS:
        return named
    found = [(at, kind) for folder, kind in _OOXML_FOLDERS if (at := head.find(folder)) >= 0]
    return min(found)[1] if found else "docx"


def _text_kind(named: str | None, head: bytes) -> str:
    if named in (None, "text") and _looks_like_html(head):
        return "html"
    if named in (None, "pdf", "docx", "pptx", "xlsx", "ods", "odt", "epub", "rtf"):
        return "text"
    return named


def _looks_like_html(head: bytes) -> bool:
    # NULs out (UTF-16), then any BOM bytes and leading space: enough to see the first tag.
    start = head[:2048].replace(b"\x00", b"").lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n").lower()
    return start.startswith((b"<!doctype html", b"<html"))
