"""Bytes to text: byte-order marks, UTF-16 without a BOM, strict UTF-8, then legacy code pages.

Order matters. A BOM is the only certain answer, so it wins. UTF-16 text is full of NUL bytes and
would otherwise look binary, so it is recognised next. Strict UTF-8 comes before any guessing
because valid UTF-8 is almost never an accident. Only then does charset-normalizer guess a legacy
code page (CP1252, Shift-JIS, ...). If nothing fits, UTF-8 with replacement characters keeps the
readable parts instead of failing the whole file.
"""

from __future__ import annotations

import codecs
import itertools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ember.errors import IngestError
from ember.knowledge.limits import MAX_TEXT_CHARS, READ_CHUNK_BYTES

# Longest first: the UTF-32-LE BOM starts with the UTF-16-LE one.
BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Files up to this size are judged on all their bytes; bigger ones on their first SAMPLE_BYTES.
WHOLE_FILE_BYTES = 8 * 1024 * 1024
SAMPLE_BYTES = 1024 * 1024
# charset-normalizer is slow on large inputs and needs far less to decide.
_GUESS_BYTES = 256 * 1024
_CP1252_MARGIN = 0.1


def normalize_newlines(text: str) -> str:
    """``text`` with Windows (CRLF) and old Mac (CR) line ends turned into ``\\n``."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True, slots=True)
class DecodedText:
    """A file's decoded text, with the codec used and whether a BOM was present, bytes were replaced
    by U+FFFD or reading stopped at the character cap."""

    text: str
    encoding: str  # Python codec name, e.g. "utf-8", "utf-16-le", "cp1252", "shift_jis"
    bom: bool = False
    replaced: bool = False  # some bytes were not valid in ``encoding`` and became U+FFFD
    truncated: bool = False  # reading stopped at the character cap


def bom_encoding(data: bytes) -> tuple[str, int] | None:
    """The encoding announced by a byte-order mark at the start of ``data``, and the BOM's length."""
    for bom, name in BOMS:
        if data.startswith(bom):
            return name, len(bom)
    return None


def utf16_without_bom(data: bytes) -> str | None:
    """``"utf-16-le"``/``"utf-16-be"`` if ``data`` looks like BOM-less UTF-16 text, else None.

    Text in Latin or mixed scripts encoded as UTF-16 has a NUL in most high bytes (every other
    byte) and almost none in the low bytes; binary formats scatter NULs without that rhythm.
    """
    sample = data[:4096]
    if len(sample) < 4:
        return None
    sample = sample[: len(sample) - len(sample) % 2]
    even, odd = sample[0::2], sample[1::2]
    even_nuls, odd_nuls = even.count(0), odd.count(0)
    half = len(sample) // 2
    for name, high, low in (("utf-16-le", odd_nuls, even_nuls), ("utf-16-be", even_nuls, odd_nuls)):
        if high >= 0.3 * half and low <= 0.02 * half:
            try:
                text = sample.decode(name)
            except UnicodeDecodeError:
                continue
            if _mostly_printable(text):
                return name
    return None


def _mostly_printable(text: str) -> bool:
    if not text:
        return False
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\n\r\t")
    return printable >= 0.95 * len(text)


def _valid_utf8(data: bytes, *, final: bool) -> bool:
    """Strict UTF-8 check; when not ``final``, a sequence cut off at the end is allowed."""
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(data, final=final)
    except UnicodeDecodeError:
        return False
    return True


def guess_legacy(data: bytes) -> str | None:
    """A legacy code page for ``data`` according to charset-normalizer, or None if it cannot say."""
    from charset_normalizer import from_bytes

    matches = from_bytes(data[:_GUESS_BYTES])
    best = matches.best()
    if best is None:
        return None
    chosen = best.encoding
    # charset-normalizer often cannot tell single-byte Latin code pages apart (it ranks mac_latin2
    # over cp1252 for plain French). CP1252 is by far the most common of them in real files, so
    # it wins any near-tie.
    for match in matches:
        if match.encoding == "cp1252" and match.chaos <= best.chaos + _CP1252_MARGIN:
            chosen = "cp1252"
    try:
        return codecs.lookup(chosen).name
    except LookupError:
        return None


def sniff_encoding(data: bytes, *, complete: bool) -> tuple[str, int]:
    """The codec to decode ``data`` with and how many leading BOM bytes to skip.

    ``complete`` says ``data`` is the whole file, not just its beginning.
    """
    found = bom_encoding(data)
    if found is not None:
        return found
    utf16 = utf16_without_bom(data)
    if utf16 is not None:
        return utf16, 0
    if _valid_utf8(data, final=complete):
        return "utf-8", 0
    return guess_legacy(data) or "utf-8", 0


def decode_bytes(data: bytes) -> DecodedText:
    """Decode a complete byte string (see the module docstring for the order of attempts).

    Newlines come back as ``\\n`` (``\\r\\n`` and a lone ``\\r`` alike), as from :func:`read_text`.
    """
    encoding, skip = sniff_encoding(data, complete=True)
    body = data[skip:]
    try:
        text, replaced = body.decode(encoding), False
    except UnicodeDecodeError:
        text, replaced = body.decode(encoding, "replace"), True
    return DecodedText(normalize_newlines(text), encoding, bom=skip > 0, replaced=replaced)


def read_text(path: Path, *, max_chars: int = MAX_TEXT_CHARS) -> DecodedText:
    """Read and decode a text file with bounded memory, keeping at most ``max_chars`` characters.

    Newlines come back as ``\\n``. Files up to ``WHOLE_FILE_BYTES`` are decoded whole, larger ones
    streamed (their encoding judged on the first ``SAMPLE_BYTES``); given the same encoding, both
    ways give the same text. Raises :class:`IngestError` if the file cannot be read.
    """
    try:
        with open(path, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size <= WHOLE_FILE_BYTES:
                decoded = decode_bytes(stream.read(WHOLE_FILE_BYTES + 1))
                truncated = len(decoded.text) > max_chars
                return DecodedText(
                    decoded.text[:max_chars] if truncated else decoded.text,
                    decoded.encoding,
                    bom=decoded.bom,
                    replaced=decoded.replaced,
                    truncated=truncated,
                )
            return _read_streaming(stream, max_chars)
    except FileNotFoundError:
        raise IngestError("file not found (was it moved or deleted?)") from None
    except PermissionError:
        raise IngestError("permission denied: Ember may not read this file") from None
    except IsADirectoryError:
        raise IngestError("this is a folder, not a file") from None
    except OSError as exc:
        raise IngestError(f"could not read the file: {exc.strerror or exc}") from None


class _NewlineNormaliser:
    """``\\r\\n`` and lone ``\\r`` to ``\\n`` over text that arrives in pieces.

    A ``\\r`` at the end of a piece is held back: the next piece may start with the ``\\n`` of
    the same pair. The result is exactly :func:`normalize_newlines` of the whole text.
    """

    def __init__(self) -> None:
        self._held_cr = False

    def feed(self, text: str, *, final: bool = False) -> str:
        if self._held_cr:
            text = "\r" + text
        self._held_cr = text.endswith("\r") and not final
        if self._held_cr:
            text = text[:-1]
        return normalize_newlines(text)


def _read_streaming(
    stream: BinaryIO,
    max_chars: int,
    *,
    sample_bytes: int | None = None,
    chunk_bytes: int | None = None,
) -> DecodedText:
    """Decode ``stream`` piece by piece, judging the encoding on its first ``sample_bytes``.

    When the sample holds the whole stream, the encoding is judged exactly as
    :func:`decode_bytes` judges it; newlines are normalised the same way in either case.
    """
    sample_bytes = SAMPLE_BYTES if sample_bytes is None else sample_bytes
    chunk_bytes = READ_CHUNK_BYTES if chunk_bytes is None else chunk_bytes
    head = stream.read(sample_bytes)
    encoding, skip = sniff_encoding(head, complete=len(head) < sample_bytes)
    body = head[skip:]
    # The sample is decoded in chunk_bytes pieces too (one piece with the default sizes).
    blocks = itertools.chain(
        (body[at : at + chunk_bytes] for at in range(0, len(body), chunk_bytes)),
        iter(lambda: stream.read(chunk_bytes), b""),
    )
    decoder = codecs.getincrementaldecoder(encoding)("replace")
    newlines = _NewlineNormaliser()
    pieces: list[str] = []
    count = 0
    replaced = False
    truncated = False
    final = False
    while not final:
        block = next(blocks, None)
        final = block is None
        text = newlines.feed(decoder.decode(block or b"", final=final), final=final)
        replaced = replaced or "\ufffd" in text
        if count + len(text) > max_chars:
            pieces.append(text[: max_chars - count])
            truncated = True
            break
        pieces.append(text)
        count += len(text)
    return DecodedText(
        "".join(pieces), encoding, bom=skip > 0, replaced=replaced, truncated=truncated
    )
