"""PNG, JPEG and TIFF pictures of text (scans, photos of pages, screenshots), read by OCR.

Each picture is decoded by Pillow and read by :mod:`ember.knowledge.ocr`; a multi-page TIFF gives
one section per page (1-based), with progress ("OCR page 3/12"; a single picture is page 1/1). Before anything is decoded, the
size the header claims is checked: a picture over :data:`MAX_PIXELS` (a decompression bomb: a few
KB that claim 100,000 × 100,000 pixels) is refused with its size, and so is a TIFF claiming more
than :data:`MAX_FRAMES` pages. A truncated or damaged file fails with "damaged image: ...".

The document's ``text_source`` says what OCR made of it (pages OCR'd, mean confidence); a
picture in which OCR finds no text at all fails with "no text found", never indexed as nothing.
"""

from __future__ import annotations

from pathlib import Path

from ember.errors import IngestError
from ember.knowledge.ocr import MAX_OCR_PAGES, OcrTally, read_image
from ember.knowledge.page_progress import ocr_page
from ember.knowledge.parsers.base import TextBudget, clean_text
from ember.knowledge.types import ParsedDocument, Section

# 100 megapixels: a 300 dpi scan of an A0 poster; a page at 600 dpi is 35.
MAX_PIXELS = 100_000_000
MAX_FRAMES = MAX_OCR_PAGES

_FORMATS = ("PNG", "JPEG", "TIFF", "MPO")  # MPO: what Pillow calls many cameras' JPEGs


def parse(path: Path) -> ParsedDocument:
    """The text OCR reads on each page of the picture at ``path``.

    Raises :class:`IngestError` for a picture that is not PNG/JPEG/TIFF, too large, damaged, or
    in which no text was found.
    """
    from PIL import Image

    with _open(path) as picture:
        frames = _frames(picture)
        budget = TextBudget()
        tally = OcrTally()
        sections = []
        for index in range(frames):
            if budget.exhausted:
                budget.truncated()
                break
            ocr_page(index + 1, frames)  # "OCR page 3/12"; the sandbox's allowance for it
            result = _read_frame(picture, index, Image)
            tally.add(result)
            text = clean_text(result.text)
            if text:
                page = index + 1 if frames > 1 else None
                sections.append(Section(budget.take(text), page=page))
    if not sections:
        what = "this image" if frames == 1 else f"any of this image's {frames} pages"
        raise IngestError(f"no text found: OCR found no text in {what}")
    return ParsedDocument(
        str(path),
        "image",
        tuple(sections),
        notes=tuple(budget.notes),
        page_count=frames if frames > 1 else None,
        text_source=tally.source(),
    )


def _open(path: Path):  # type: ignore[no-untyped-def]
    """The picture, its header read (nothing decoded yet), or IngestError why not."""
    from PIL import Image, UnidentifiedImageError

    # Pillow's own bomb check (89 Mpx, no size in its message) gives way to ours, below, which
    # names the size; only the header is read here.
    pillows, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        picture = Image.open(path)
    except UnidentifiedImageError:
        raise IngestError("damaged image: Pillow cannot read it as PNG, JPEG or TIFF") from None
    except OSError as exc:
        raise IngestError(f"damaged image: {exc}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = pillows
    if picture.format not in _FORMATS:
        picture.close()
        raise IngestError(
            f"unsupported image format ({picture.format}); Ember OCRs PNG, JPEG, TIFF"
        )
    width, height = picture.size
    if width * height > MAX_PIXELS:
        picture.close()
        raise IngestError(_too_large_message((width, height)))
    return picture


def _frames(picture) -> int:  # type: ignore[no-untyped-def]
    try:
        frames = int(getattr(picture, "n_frames", 1))
    except (OSError, ValueError, EOFError):
        raise IngestError("damaged image: its pages cannot be counted") from None
    if frames > MAX_FRAMES:
        raise IngestError(f"the image has {frames:,} pages; Ember OCRs at most {MAX_FRAMES:,}")
    return frames


def _read_frame(picture, index: int, image_module):  # type: ignore[no-untyped-def]
    from PIL import ImageOps

    try:
        picture.seek(index)
        size = picture.size
        if size[0] * size[1] > MAX_PIXELS:
            raise IngestError(_too_large_message(size))
        frame = ImageOps.exif_transpose(picture)  # a copy, decoded: its damage shows here
        frame.load()  # its mode kept: ocr.as_rgb lays transparency on white, scales 16-bit grey
    except image_module.DecompressionBombError:
        raise IngestError(_too_large_message(None)) from None
    except (OSError, EOFError, ValueError, SyntaxError) as exc:
        where = f" (page {index + 1})" if index else ""
        raise IngestError(f"damaged image{where}: {exc}") from None
    return read_image(frame)


def _too_large_message(size: tuple[int, int] | None) -> str:
    claimed = f" ({size[0]:,} × {size[1]:,} pixels)" if size else ""
    return (
        f"the image is too large{claimed}: Ember OCRs images up to "
        f"{MAX_PIXELS // 1_000_000} megapixels (a decompression bomb?)"
    )
