"""Real scans made in the test: pages of a real PDF rendered to pictures, made to look scanned,
saved as PNG/JPEG/TIFF or rebuilt into a PDF with no text layer; and hostile pictures.

Accuracy is measured as in ``benchmarks/ocr_engines.py``: 1 - normalised Levenshtein distance,
whitespace collapsed.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from pathlib import Path

from PIL import Image


def page_picture(pdf_path: Path, page: int, dpi: int) -> tuple[Image.Image, str]:
    """Page ``page`` (1-based) of a PDF rendered at ``dpi``, and its text layer."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        source = pdf[page - 1]
        text = source.get_textpage().get_text_range()
        picture = source.render(scale=dpi / 72).to_pil().convert("RGB")
        return picture, text
    finally:
        pdf.close()


def scanned(picture: Image.Image, seed: int, *, degrees: float = 1.0) -> Image.Image:
    """A grey, slightly rotated (±``degrees``), noisy copy, as a flatbed scanner makes."""
    import numpy as np

    rng = random.Random(seed)
    grey = picture.convert("L").rotate(
        rng.uniform(-degrees, degrees), expand=True, fillcolor=255, resample=Image.BILINEAR
    )
    pixels = np.asarray(grey, dtype=np.int16)
    noise = np.random.default_rng(seed).normal(0, 14, pixels.shape)
    return Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))


def image_only_pdf(path: Path, pictures: list[Image.Image], dpi: int) -> Path:
    """A PDF with one picture per page and no text layer at all (Pillow's PDF writer)."""
    first, *rest = [p.convert("RGB") for p in pictures]
    first.save(path, "PDF", resolution=float(dpi), save_all=True, append_images=rest)
    return path


def mixed_pdf(path: Path, typed: str, picture: Image.Image) -> Path:
    """A PDF of two A4 pages: ``typed`` on the first as a text layer, ``picture`` filling the
    second with no text layer (a document with one page scanned in)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(w=0, text=typed)
    pdf.add_page()
    pdf.image(picture.convert("RGB"), x=0, y=0, w=210, h=297, keep_aspect_ratio=True)
    pdf.output(str(path))
    return path


def text_frames(path: Path, lines: list[str]) -> Path:
    """A TIFF of one small picture per line of text: the first black on a transparent background
    (RGBA), the next in 16-bit grey (ink 6,000, paper 57,000 of 65,535), as some scanners save."""
    import numpy as np
    from PIL import ImageDraw, ImageFont

    font = ImageFont.load_default(size=48)
    frames: list[Image.Image] = []
    for number, line in enumerate(lines):
        grey = Image.new("L", (40 + 28 * len(line), 180), 255)
        ImageDraw.Draw(grey).text((30, 60), line, fill=0, font=font)
        if number % 2 == 0:
            clear = Image.new("RGBA", grey.size, (0, 0, 0, 0))
            clear.putalpha(Image.eval(grey, lambda v: 255 - v))  # ink opaque, paper transparent
            frames.append(clear)
        else:
            values = np.asarray(grey, dtype=np.uint16) * 200 + 6000
            frames.append(Image.fromarray(values.astype(np.uint16)))
    first, *rest = frames
    first.save(path, "TIFF", save_all=True, append_images=rest)
    return path


def accuracy(found: str, truth: str) -> float:
    """1 - Levenshtein(found, truth) / the longer's length, whitespace collapsed."""
    from rapidfuzz.distance import Levenshtein

    a, b = " ".join(found.split()), " ".join(truth.split())
    return 1.0 - Levenshtein.distance(a, b) / max(len(a), len(b), 1)


def blank_picture(path: Path) -> Path:
    """A white page with a grey smudge: a picture with no text in it."""
    picture = Image.new("L", (1200, 1600), 255)
    picture.paste(200, (300, 400, 500, 480))
    picture.save(path)
    return path


def png_bomb(path: Path, width: int = 100_000, height: int = 100_000) -> Path:
    """A valid-looking PNG of a few hundred bytes whose header claims ``width`` × ``height``
    pixels (10 gigapixels by default): decoding it would need 10 GB."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    rows = zlib.compress(b"\x00" + bytes(4096), 9)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )
    return path


def truncated_jpeg(path: Path) -> Path:
    """The first half of a real JPEG: its header is whole, its picture data cut off."""
    buffer = io.BytesIO()
    picture = Image.new("RGB", (800, 600), "white")
    picture.paste((20, 20, 20), (100, 100, 700, 140))
    picture.save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    path.write_bytes(data[: len(data) // 2])
    return path
