"""Scanned PDFs and pictures of text, read by OCR, on real scans made here from R's manual.

Pages of "An Introduction to R" are rendered to pictures (300 dpi clean, where accuracy is
measured; 150 dpi grey, rotated and noisy as a scanner makes them, where finding is), saved as
PNG/JPEG/TIFF or put into a PDF as a page with no text layer, and read back through the sandbox
as indexing reads them. OCR takes seconds a page here, so each test reads as few pages as it can.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from tests.support import nasty_files, scans
from tests.support.manuals import manual
from tests.support.tiny_embedder import TinyEmbedder

from ember.errors import IngestError
from ember.knowledge import KnowledgeBase
from ember.knowledge.detect import sniff
from ember.knowledge.parsers import pdf
from ember.knowledge.progress import ProgressEvent, stage_text
from ember.knowledge.sandbox import ParserPool
from ember.knowledge.types import TextSource

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def pool() -> Iterator[ParserPool]:
    with ParserPool(timeout_s=30) as shared:  # the default limits: OCR pages get their own
        yield shared


def test_a_scanned_page_is_read_by_ocr_at_95_percent_and_a_typed_one_from_its_text_layer(
    pool: ParserPool, tmp_path: Path
) -> None:
    picture, truth = scans.page_picture(manual("R-intro"), 12, 300)
    mixed = scans.mixed_pdf(tmp_path / "mixed.pdf", "A cover page, typed.", picture)
    heard: list[tuple[int, int, bool]] = []

    def on_page(page: int, count: int, *, ocr: bool = False) -> None:
        heard.append((page, count, ocr))

    document = pool.parse(mixed, on_page=on_page)

    typed, scanned = document.sections
    assert (typed.page, typed.text) == (1, "A cover page, typed.")
    assert scanned.page == 2 and scans.accuracy(scanned.text, truth) >= 0.95
    assert (2, 2, True) in heard and (1, 2, True) not in heard  # "OCR page 2/2" only
    assert document.page_count == 2
    source = document.text_source  # structured, across the sandbox: not a note to parse
    assert (source.method, source.ocr_pages, source.ocr_empty_pages) == ("ocr", 1, 0)
    assert source.ocr_confidence is not None and 0.9 <= source.ocr_confidence <= 1.0
    assert source.describe(2).startswith("text layer; 1 of 2 pages OCR'd, mean confidence 0.9")


def test_a_multi_page_tiff_is_a_section_per_page_transparent_and_16_bit_ones_read(
    pool: ParserPool, tmp_path: Path
) -> None:
    lines = ["Transparent labels read", "Sixteen bit scans read"]
    heard: list[tuple[int, int, bool]] = []

    def on_page(page: int, count: int, *, ocr: bool = False) -> None:
        heard.append((page, count, ocr))

    document = pool.parse(scans.text_frames(tmp_path / "labels.tiff", lines), on_page=on_page)

    assert [(s.page, s.text) for s in document.sections] == [(1, lines[0]), (2, lines[1])]
    assert heard == [(1, 2, True), (2, 2, True)]
    assert document.page_count == 2
    assert document.text_source.describe(2).startswith("OCR'd 2 pages, mean confidence ")


def test_pages_past_the_ocr_limit_are_left_with_a_note_not_read_for_days(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdf, "MAX_OCR_PAGES", 0)  # 2,000: a crafted 100,000-page PDF stops there
    picture = Image.new("L", (600, 800), 255)
    picture.paste(0, (100, 100, 500, 140))
    document = pdf.parse(scans.mixed_pdf(tmp_path / "mixed.pdf", "Typed.", picture))
    assert [(s.page, s.text) for s in document.sections] == [(1, "Typed.")]
    assert document.notes == (
        "1 more pages without a text layer were not OCR'd: Ember OCRs at most 0 pages of one file",
    )
    with pytest.raises(IngestError, match=r"^no text found: 2 more pages without a text layer"):
        pdf.parse(nasty_files.write_image_only_pdf(tmp_path / "scan.pdf", pages=2))


def test_a_pdf_with_a_text_layer_is_not_ocrd(tmp_path: Path) -> None:
    path = nasty_files.write_pdf(tmp_path / "typed.pdf", ["A page typed, not scanned."])
    document = pdf.parse(path)
    assert document.sections[0].text == "A page typed, not scanned."
    assert document.text_source == TextSource("text", ocr_pages=0)
    assert document.text_source.describe(1) == "text layer"


# picture file -> (its format, the page of R's manual it shows, words on that page)
PICTURES = {
    "scan.png": ("PNG", 10, "save the data from your r session"),
    "photo.jpg": ("JPEG", 23, "unordered factors"),
    "fax.tiff": ("TIFF", 31, "linear equations and inversion"),
}


@pytest.fixture(scope="module")
def scanned_kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KnowledgeBase, Any]]:
    """One collection of the three pictures (150 dpi scans: what is tested here is that they are
    found, not how well they read) and a text file, indexed once."""
    root = tmp_path_factory.mktemp("scans")
    docs = root / "docs"
    docs.mkdir()
    for name, (fmt, page, words) in PICTURES.items():
        picture, truth = scans.page_picture(manual("R-intro"), page, 150)
        assert words in " ".join(truth.split()).lower()  # the words looked for are on the page
        scans.scanned(picture, seed=page).save(docs / name, fmt)
    (docs / "other.txt").write_text("Sourdough needs a long, cool proof.\n")
    with KnowledgeBase(root / "kb", embedder=TinyEmbedder()) as kb:
        report = kb.index([docs], "scans")
        yield kb, report


@pytest.mark.parametrize("name", sorted(PICTURES))
def test_scanned_pictures_are_indexed_and_found_by_search(
    scanned_kb: tuple[KnowledgeBase, Any], name: str
) -> None:
    kb, report = scanned_kb
    words = PICTURES[name][2]
    hits = kb.search(words, ["scans"]).hits

    assert not report.failed
    assert hits and hits[0].source.endswith(name)
    found = " ".join(hit.text for hit in hits if hit.source.endswith(name))
    assert words in " ".join(found.split()).lower()  # read right, not just somewhere near
    (read,) = [r for r in report.ocr if r.path.endswith(name)]
    assert read.text.startswith("OCR'd 1 page, mean confidence ")


def test_a_picture_without_text_reports_no_text_found(pool: ParserPool, tmp_path: Path) -> None:
    path = scans.blank_picture(tmp_path / "blank.png")
    with pytest.raises(IngestError, match=r"^no text found: OCR found no text in this image$"):
        pool.parse(path)


def test_a_decompression_bomb_picture_fails_alone_with_its_size(
    pool: ParserPool, tmp_path: Path
) -> None:
    bomb = scans.png_bomb(tmp_path / "bomb.png", 20_000, 20_000)  # 400 Mpx: Ember's own check
    with pytest.raises(IngestError, match=r"too large \(20,000 × 20,000 pixels\).*100 megapixels"):
        pool.parse(bomb)
    huge = scans.png_bomb(tmp_path / "huge.png")  # 10 Gpx: Pillow's check refuses it first
    with pytest.raises(IngestError, match=r"^the image is too large"):
        pool.parse(huge)
    good = nasty_files.write_pdf(tmp_path / "after.pdf", ["The next file parses."])
    assert pool.parse(good).sections[0].text == "The next file parses."


def test_a_truncated_jpeg_fails_alone_as_damaged(pool: ParserPool, tmp_path: Path) -> None:
    cut = scans.truncated_jpeg(tmp_path / "cut.jpg")
    with pytest.raises(IngestError, match=r"^damaged image: image file is truncated"):
        pool.parse(cut)


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "scan.png"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.txt"),  # the bytes decide
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "photo.jpeg"),
        (b"II*\x00\x08\x00\x00\x00", "fax.tif"),
        (b"MM\x00*\x00\x00\x00\x08", "fax.tiff"),
    ],
)
def test_png_jpeg_and_tiff_are_images_whatever_their_name(head: bytes, name: str) -> None:
    assert sniff(head + bytes(64), Path(name)) == "image"


def test_ocr_progress_reads_ocr_page() -> None:
    event = ProgressEvent(
        files_done=0,
        files_total=1,
        chunks_done=0,
        bytes_done=0,
        bytes_total=10,
        current="/docs/scan.pdf",
        eta_s=None,
        elapsed_s=1.0,
        stage="reading",
        page=12,
        pages=80,
        ocr=True,
    )
    assert stage_text(event) == "Reading scan.pdf, OCR page 12/80"


NO_NETWORK = """
import socket, sys
class NoNetwork(socket.socket):
    def connect(self, *args):
        raise OSError("network use at run time")
    connect_ex = connect
socket.socket = NoNetwork
socket.create_connection = lambda *a, **k: NoNetwork.connect(None)
from PIL import Image, ImageDraw, ImageFont
from ember.knowledge.ocr import read_image
picture = Image.new("RGB", (900, 200), "white")
font = ImageFont.load_default(size=48)
ImageDraw.Draw(picture).text((40, 60), "Offline reading works", fill="black", font=font)
print(read_image(picture).text)
"""


def test_the_ocr_engine_reads_with_no_network_at_all() -> None:
    import shutil
    import subprocess
    import sys

    from tests.support.children import REPO_ROOT, child_env

    # In a network namespace of its own where there is one (root, Linux): no interface at all.
    alone = bool(shutil.which("unshare")) and (
        subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    )
    done = subprocess.run(
        [*(["unshare", "-n"] if alone else []), sys.executable, "-c", NO_NETWORK],
        cwd=REPO_ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "Offline reading works"
