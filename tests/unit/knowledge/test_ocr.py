"""Scanned PDFs and pictures of text, read by OCR, on real scans made here from R's manual.

Pages of "An Introduction to R" are rendered to pictures (300 dpi clean; 200 dpi grey, rotated
and noisy as a scanner makes them), saved as PNG/JPEG/TIFF or rebuilt into a PDF with no text
layer, and read back through the sandbox as indexing reads them. OCR takes seconds a page here,
so each test reads as few pages as it can.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import nasty_files, scans
from tests.support.manuals import manual
from tests.support.tiny_embedder import TinyEmbedder

from ember.errors import IngestError
from ember.knowledge import KnowledgeBase
from ember.knowledge.detect import sniff
from ember.knowledge.parsers import pdf
from ember.knowledge.progress import ProgressEvent, stage_text
from ember.knowledge.sandbox import ParserPool

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def pool() -> Iterator[ParserPool]:
    with ParserPool(timeout_s=30) as shared:  # the default limits: OCR pages get their own
        yield shared


def test_a_scanned_pdf_is_read_by_ocr_in_the_sandbox_at_95_percent_of_its_characters(
    pool: ParserPool, tmp_path: Path
) -> None:
    source = manual("R-intro")
    pages = [scans.page_picture(source, number, 300) for number in (12, 40)]
    scan = scans.image_only_pdf(tmp_path / "scan.pdf", [picture for picture, _ in pages], 300)
    heard: list[tuple[int, int, bool]] = []

    def on_page(page: int, count: int, *, ocr: bool = False) -> None:
        heard.append((page, count, ocr))

    document = pool.parse(scan, on_page=on_page)

    assert [section.page for section in document.sections] == [1, 2]
    for section, (_, truth) in zip(document.sections, pages, strict=True):
        assert scans.accuracy(section.text, truth) >= 0.95
    assert (1, 2, True) in heard and (2, 2, True) in heard  # "OCR page 1/2", "OCR page 2/2"
    assert document.page_count == 2
    (note,) = [n for n in document.notes if "OCR" in n]
    assert note.startswith("2 of 2 pages had no text layer and were OCR'd: mean confidence 0.9")


def test_a_pdf_with_a_text_layer_is_not_ocrd(tmp_path: Path) -> None:
    path = nasty_files.write_pdf(tmp_path / "typed.pdf", ["A page typed, not scanned."])
    document = pdf.parse(path)
    assert document.sections[0].text == "A page typed, not scanned."
    assert not [note for note in document.notes if "OCR" in note]


@pytest.mark.parametrize(
    ("name", "fmt", "page", "words"),
    [
        ("scan.png", "PNG", 10, "save the data from your r session"),
        ("photo.jpg", "JPEG", 23, "unordered factors"),
        ("fax.tiff", "TIFF", 31, "linear equations and inversion"),
    ],
)
def test_scanned_pictures_are_indexed_and_found_by_search(
    tmp_path: Path, name: str, fmt: str, page: int, words: str
) -> None:
    picture, truth = scans.page_picture(manual("R-intro"), page, 200)
    assert words in " ".join(truth.split()).lower()  # the words looked for are on the page
    path = tmp_path / "docs" / name
    path.parent.mkdir()
    scans.scanned(picture, seed=page).save(path, fmt)
    (path.parent / "other.txt").write_text("Sourdough needs a long, cool proof.\n")

    with KnowledgeBase(tmp_path / "kb", embedder=TinyEmbedder()) as kb:
        report = kb.index([path.parent], "scans")
        hits = kb.search(words, ["scans"]).hits

    assert not report.failed
    assert hits and hits[0].source.endswith(name)
    found = " ".join(hit.text for hit in hits if hit.source.endswith(name))
    assert words in " ".join(found.split()).lower()  # read right, not just somewhere near
    (warning,) = [w.message for w in report.warnings if w.path.endswith(name)]
    assert warning.startswith("the image OCR'd: mean confidence ")


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
