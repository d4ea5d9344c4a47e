"""OCR engines compared on real pages: character accuracy and seconds per page.

Renders pages of a real PDF (R's "An Introduction to R" by default) to images at 150 and 300 dpi
with PDFium, makes a "scan" of each (grey, slight rotation, noise, JPEG at quality 60) and OCRs
the clean and the scanned image with each engine found: ``rapidocr`` (PP-OCR ONNX models inside
its wheel), ``rapidocr_onnxruntime`` (its older packaging) and Debian's ``tesseract`` command.
Seconds are wall time and CPU time (all threads; the
machine's load changes the first, much less the second). Accuracy is 1 - normalised Levenshtein distance between the OCR text and the page's text layer,
both with whitespace collapsed (so line breaks and reading order of columns count little).

    python benchmarks/ocr_engines.py [--pdf PATH] [--pages 12,40,77] [--engines rapidocr,tesseract]

Prints a table and one JSON object last. Not part of ``make bench`` (an engine comparison made
once to choose; kept so that the figures in ember/knowledge/ocr.py can be re-made).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _norm(text: str) -> str:
    return " ".join(text.split())


def accuracy(found: str, truth: str) -> float:
    """1 - Levenshtein(found, truth) / max(len): 1.0 is a perfect read."""
    from rapidfuzz.distance import Levenshtein

    a, b = _norm(found), _norm(truth)
    if not b:
        return 1.0 if not a else 0.0
    return 1.0 - Levenshtein.distance(a, b) / max(len(a), len(b))


def scanned(image, seed: int):  # type: ignore[no-untyped-def]
    """A grey, slightly rotated, noisy JPEG of ``image`` (a PIL image)."""
    import numpy as np
    from PIL import Image

    rng = random.Random(seed)
    grey = image.convert("L").rotate(rng.uniform(-1.5, 1.5), expand=True, fillcolor=255)
    pixels = np.asarray(grey, dtype=np.int16)
    noise = np.random.default_rng(seed).normal(0, 18, pixels.shape)
    noisy = Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    noisy.save(buffer, "JPEG", quality=60)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def _cpu_s() -> float:
    """CPU seconds used by this process and its finished children (tesseract runs as one)."""
    import resource

    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def _rapidocr():  # type: ignore[no-untyped-def]
    from rapidocr import RapidOCR

    engine = RapidOCR(params={"Global.log_level": "error"})

    def read(image) -> str:  # type: ignore[no-untyped-def]
        import numpy as np

        result = engine(np.asarray(image))
        return "\n".join(result.txts or ())

    return read


def _rapidocr_onnxruntime():  # type: ignore[no-untyped-def]
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR()

    def read(image) -> str:  # type: ignore[no-untyped-def]
        import numpy as np

        result, _ = engine(np.asarray(image))
        return "\n".join(line[1] for line in result or ())

    return read


def _tesseract():  # type: ignore[no-untyped-def]
    if not shutil.which("tesseract"):
        raise ImportError("no tesseract command")

    def read(image) -> str:  # type: ignore[no-untyped-def]
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "page.png"
            image.save(path)
            out = subprocess.run(
                ["tesseract", str(path), "-", "-l", "eng"],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "OMP_THREAD_LIMIT": "2"},
            )
            return out.stdout

    return read


ENGINES = {
    "rapidocr": _rapidocr,
    "rapidocr_onnxruntime": _rapidocr_onnxruntime,
    "tesseract": _tesseract,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_pdf = Path.home() / ".cache" / "ember" / "manuals" / "R-intro.pdf"
    parser.add_argument("--pdf", type=Path, default=default_pdf)
    parser.add_argument("--pages", default="12,40,77", help="1-based pages, comma separated")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--dpi", default="150,300")
    args = parser.parse_args()
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(args.pdf))
    pages = [int(p) for p in args.pages.split(",")]
    images, truths = {}, {}
    for number in pages:
        page = pdf[number - 1]
        truths[number] = page.get_textpage().get_text_range()
        for dpi in (int(d) for d in args.dpi.split(",")):
            clean = page.render(scale=dpi / 72).to_pil().convert("RGB")
            images[(number, dpi, "clean")] = clean
            images[(number, dpi, "scan")] = scanned(clean, number * dpi)
    rows = []
    for name in args.engines.split(","):
        try:
            read = ENGINES[name]()
        except ImportError as exc:
            print(f"{name}: not installed ({exc})", file=sys.stderr)
            continue
        read(images[next(iter(images))])  # warm-up: model load is not a page's cost
        for (number, dpi, variant), image in images.items():
            started, cpu = time.perf_counter(), _cpu_s()
            text = read(image)
            seconds = time.perf_counter() - started
            cpu_s = _cpu_s() - cpu
            rows.append(
                {
                    "engine": name,
                    "page": number,
                    "dpi": dpi,
                    "variant": variant,
                    "accuracy": round(accuracy(text, truths[number]), 4),
                    "seconds": round(seconds, 2),
                    "cpu_s": round(cpu_s, 2),
                }
            )
            print(
                f"{name:22} p{number:<4} {dpi:4} dpi {variant:5} "
                f"acc {rows[-1]['accuracy']:.3f}  {seconds:5.2f} s  {cpu_s:5.2f} cpu s",
                flush=True,
            )
    summary = {}
    for row in rows:
        key = f"{row['engine']} {row['dpi']}dpi {row['variant']}"
        summary.setdefault(key, []).append(row)
    print("\nengine / dpi / variant              mean acc   s/page  cpu s/page")
    table = {}
    for key, group in summary.items():
        acc = sum(r["accuracy"] for r in group) / len(group)
        sec = sum(r["seconds"] for r in group) / len(group)
        cpu = sum(r["cpu_s"] for r in group) / len(group)
        table[key] = {
            "accuracy": round(acc, 4),
            "seconds_per_page": round(sec, 2),
            "cpu_seconds_per_page": round(cpu, 2),
        }
        print(f"{key:36} {acc:8.3f} {sec:8.2f} {cpu:8.2f}")
    print(json.dumps({"pdf": str(args.pdf), "pages": pages, "table": table}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
