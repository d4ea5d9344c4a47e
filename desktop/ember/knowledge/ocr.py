"""Text read from pictures of pages (OCR), locally, with the PP-OCR models inside ``rapidocr``.

Why this engine: measured by ``benchmarks/ocr_engines.py`` on pages 12, 40 and 77 of R's "An
Introduction to R" rendered by PDFium at 150 and 300 dpi, clean and as a "scan" (grey, rotated
up to 1.5°, noise, JPEG q60). Accuracy = 1 - normalised Levenshtein distance to the page's text
layer; wall seconds per page on this two-core machine under a load of 7-10 from other work (so
comparable between rows only roughly); CPU seconds per page (all threads) from a second run on
pages 12 and 40:

==========================  =====  =====  =====  =====  ==========  ==========  =========
accuracy / seconds           150    150    300    300   wall s/p    wall s/p    CPU s/p
                            clean  scan   clean  scan   150 dpi     300 dpi     150 / 300
==========================  =====  =====  =====  =====  ==========  ==========  =========
rapidocr 3.10 (PP-OCRv6)    0.984  0.985  0.995  0.976  11.5        13.7        7.9 / 9.3
rapidocr_onnxruntime 1.4.4  0.985  0.969  0.987  0.992  24.2        36.9        --
tesseract 5.3 (Debian)      0.978  0.975  0.995  0.991  53.6        59.5        28 / 99+
==========================  =====  =====  =====  =====  ==========  ==========  =========

(tesseract's OpenMP threads spin under load: its CPU seconds at 300 dpi, 99-116, say more
about the load than about tesseract; its wall time is the fairer figure.)

On clean 300 dpi pages the engines read alike (0.995); tesseract reads noisy 300 dpi scans a
little better (0.991 vs 0.976), rapidocr is 3-4 times faster per page. The choice is rapidocr:
its detection, direction and recognition models ship in the wheel (PP-OCRv6 small, ONNX, ~32
MB), run by ONNX Runtime in this process, and it is installed by pip like every other
dependency, so ``make setup``, CI and a user's ``pip install`` (on any OS) need no system
package; tesseract would need ``apt-get install tesseract-ocr`` in the Makefile (and its
equivalent on every other system) and a subprocess per page. ``rapidocr_onnxruntime`` (the older
packaging, PP-OCRv4) is slower and requires ``opencv-python``, whose bundled Qt clashes with
PySide6's, and Python < 3.13. Nothing is downloaded at run time: the model files are passed by
path (so rapidocr's download-if-missing code is never reached) and checked to exist; the
benchmark and ``test_the_ocr_engine_reads_with_no_network_at_all`` run with no network.

Use :func:`read_image` on a PIL image; the engine is loaded on first use in each process (about
a second) and kept. Units: confidence is the recogniser's mean score (0..1), weighted by the
length of each line.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ember.errors import IngestError
from ember.knowledge.types import TextSource

if TYPE_CHECKING:
    from PIL.Image import Image

# Lines the recogniser is less sure of than this are dropped (rapidocr's own default).
MIN_LINE_SCORE = 0.5
# The longest side an image is given to the engine with, in pixels: 300 dpi on an A4 page. A
# larger scan is scaled down first (its text is still several times the recogniser's 48 px).
MAX_SIDE_PX = 3508
# Boxes whose vertical centres are closer than this share of a line's height are one line.
_SAME_LINE = 0.5
# A page's OCR may take this long (wall clock, on a busy two-core machine ~50 s were seen at
# 300 dpi) and map this much address space (ONNX Runtime peaks at ~1.9 GB; ~0.9 GB resident).
# The sandbox grants each page OCR'd these on top of the file's own limits.
OCR_PAGE_TIMEOUT_S = 120.0
OCR_MEMORY_MB = 3072
# Pages of one file OCR'd at most (a PDF's pages without a text layer, a TIFF's pages): at
# seconds a page, hours of work; a crafted PDF of 100,000 near-empty pages would take days.
MAX_OCR_PAGES = 2_000
_MODELS = (
    "PP-OCRv6_det_small.onnx",
    "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    "PP-OCRv6_rec_small.onnx",
)

_lock = threading.Lock()
_engine: Any = None


@dataclass(frozen=True, slots=True)
class OcrResult:
    """What OCR read on one picture: its ``text`` (lines in reading order, "" when none), the
    mean ``confidence`` (0..1; 0.0 when no text) and the number of ``lines``."""

    text: str
    confidence: float
    lines: int


def _threads() -> int:
    """ONNX Runtime threads per engine: the cores, at most four (more buys little on one page)."""
    return max(1, min(4, os.cpu_count() or 1))


def engine() -> Any:
    """This process's rapidocr engine, loaded on first use from the models in its wheel."""
    global _engine
    with _lock:
        if _engine is None:
            _engine = _load()
        return _engine


def _load() -> Any:
    try:
        import rapidocr
        from rapidocr import RapidOCR
    except ImportError as exc:  # a broken install, not a bad file
        raise IngestError(
            f"OCR is not available: the rapidocr package is missing ({exc})"
        ) from None
    models = Path(rapidocr.__file__).parent / "models"
    det, cls, rec = (models / name for name in _MODELS)
    missing = [path.name for path in (det, cls, rec) if not path.is_file()]
    if missing:  # never let rapidocr fetch them: Ember does not download at run time
        raise IngestError(
            f"OCR is not available: the rapidocr package lacks its models ({', '.join(missing)})"
        )
    threads = _threads()
    return RapidOCR(
        params={
            "Global.log_level": "error",
            "Global.text_score": MIN_LINE_SCORE,
            "Global.model_root_dir": str(models),
            "Det.model_path": str(det),
            "Cls.model_path": str(cls),
            "Rec.model_path": str(rec),
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
    )


def read_image(image: Image) -> OcrResult:
    """OCR one picture of a page (any PIL mode); lines come top to bottom, left to right."""
    import numpy as np

    picture = as_rgb(image)
    longest = max(picture.size)
    if longest > MAX_SIDE_PX:
        scale = MAX_SIDE_PX / longest
        picture = picture.resize(
            (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
        )
    output = engine()(np.asarray(picture))
    if not output.txts:
        return OcrResult("", 0.0, 0)
    boxes = [[(float(x), float(y)) for x, y in box] for box in output.boxes]
    text, lines = _reading_order(boxes, list(output.txts))
    weights = [max(1, len(t.strip())) for t in output.txts]
    confidence = sum(float(s) * w for s, w in zip(output.scores, weights, strict=True)) / sum(
        weights
    )
    return OcrResult(text, round(confidence, 4), lines)


def as_rgb(image: Image) -> Image:
    """``image`` as 8-bit RGB as it looks on screen: transparency laid on white (a PNG of black
    text on a transparent background would turn black on black), and 16- or 32-bit grey scaled
    down to 8 bits (Pillow's conversion clips it: the dark grey of a 16-bit scan's ink, 5,000 of
    65,535, would turn white)."""
    from PIL import Image as PilImage

    if image.mode == "I" or image.mode.startswith("I;16"):
        import numpy as np

        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        image = PilImage.fromarray(np.clip(values * (255.0 / top), 0, 255).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        layer = image.convert("RGBA")
        white = PilImage.new("RGBA", layer.size, (255, 255, 255, 255))
        return PilImage.alpha_composite(white, layer).convert("RGB")
    return image.convert("RGB")


def _reading_order(boxes: list[list[tuple[float, float]]], texts: list[str]) -> tuple[str, int]:
    """The recognised pieces as text: pieces on one line joined by spaces, lines by newlines."""
    pieces = []
    for box, text in zip(boxes, texts, strict=True):
        ys = [y for _, y in box]
        top, bottom = min(ys), max(ys)
        pieces.append(((top + bottom) / 2, max(1.0, bottom - top), min(x for x, _ in box), text))
    pieces.sort()
    lines: list[list[tuple[float, str]]] = []
    centre = height = 0.0
    for middle, tall, left, text in pieces:
        if lines and abs(middle - centre) < _SAME_LINE * min(tall, height):
            lines[-1].append((left, text))
            continue
        lines.append([(left, text)])
        centre, height = middle, tall
    rows = [" ".join(t.strip() for _, t in sorted(line)) for line in lines]
    rows = [row for row in rows if row]
    return "\n".join(rows), len(rows)


def loaded() -> bool:
    """Whether this process has loaded the OCR engine (it keeps about 1.5 GB mapped)."""
    return _engine is not None


class OcrTally:
    """The pages of one file OCR'd so far: ``add(result)`` after each page OCR'd; ``source()``
    says how the file's text was obtained (see :class:`~ember.knowledge.types.TextSource`)."""

    def __init__(self) -> None:
        self.pages = 0
        self.pages_with_text = 0
        self._weighted = 0.0
        self._chars = 0

    def add(self, result: OcrResult) -> None:
        self.pages += 1
        if result.text:
            self.pages_with_text += 1
            chars = len(result.text)
            self._weighted += result.confidence * chars
            self._chars += chars

    @property
    def confidence(self) -> float:
        """Mean confidence over the text read (0..1; 0.0 when none was)."""
        return self._weighted / self._chars if self._chars else 0.0

    def source(self) -> TextSource:
        """ "ocr" with the pages OCR'd and their mean confidence when OCR read any text, else
        "text" (the text layer), with the pages OCR'd in vain, if any."""
        return TextSource(
            "ocr" if self.pages_with_text else "text",
            ocr_pages=self.pages,
            ocr_confidence=round(self.confidence, 4) if self.pages_with_text else None,
            ocr_empty_pages=self.pages - self.pages_with_text,
        )
