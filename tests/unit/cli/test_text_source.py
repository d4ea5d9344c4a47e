"""How each file's text was obtained, kept and shown: one real scan (a page of R's manual at 150
dpi, grey, rotated and noisy) and a typed PDF indexed once through ``ember index``; the store's
rows, ``ember index``'s lines and ``ember docs list`` (text and JSON) are checked on that run.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.support import nasty_files, scans
from tests.support.manuals import manual

from ember.cli import main
from ember.knowledge.store import DocumentRecord

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@dataclass(frozen=True)
class Run:
    folder: Path
    index_out: str
    list_out: str
    listed: list[dict[str, object]]
    records: dict[str, DocumentRecord]


def _cli(*argv: str) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(list(argv)) == 0
    return out.getvalue()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("sources")
    folder = root / "docs"
    folder.mkdir()
    picture, truth = scans.page_picture(manual("R-intro"), 10, 150)
    assert "save the data" in " ".join(truth.split()).lower()
    scans.scanned(picture, seed=10).save(folder / "scan.png", "PNG")
    nasty_files.write_pdf(folder / "typed.pdf", ["Descale the kettle with vinegar monthly."])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EMBER_HOME", str(root / "home"))
        index_out = _cli("index", str(folder), "--collection", "scans")
        list_out = _cli("docs", "list", "--collection", "scans")
        listed = json.loads(_cli("docs", "list", "--collection", "scans", "--json"))
        from ember.core import Core

        core = Core()
        try:
            records = {Path(r.path).name: r for r in core.knowledge().store.documents("scans")}
        finally:
            core.close()
    yield Run(folder, index_out, list_out, listed, records)


def test_the_store_keeps_ocr_with_its_confidence_and_a_text_layer_as_text(run: Run) -> None:
    scan, typed = run.records["scan.png"].text_source, run.records["typed.pdf"].text_source
    assert scan is not None and typed is not None
    assert (scan.method, scan.ocr_pages, scan.ocr_empty_pages) == ("ocr", 1, 0)
    assert scan.ocr_confidence is not None and 0.0 < scan.ocr_confidence <= 1.0
    assert (typed.method, typed.ocr_pages, typed.ocr_confidence) == ("text", 0, None)


def test_ember_index_names_the_file_it_ocrd_with_its_confidence(run: Run) -> None:
    confidence = run.records["scan.png"].text_source.ocr_confidence  # type: ignore[union-attr]
    line = f"  ocr: {run.folder / 'scan.png'}: OCR'd 1 page, mean confidence {confidence:.2f}"
    assert line in run.index_out.splitlines()
    assert "typed.pdf" not in run.index_out  # a text layer is nothing to report


def test_ember_docs_list_says_where_each_text_came_from(run: Run) -> None:
    confidence = run.records["scan.png"].text_source.ocr_confidence  # type: ignore[union-attr]
    lines = {
        Path(line.split("  [")[0].split()[-1]).name: line for line in run.list_out.splitlines()
    }
    assert lines["scan.png"].endswith(f"  [OCR'd 1 page, mean confidence {confidence:.2f}]")
    assert lines["typed.pdf"].endswith("  [text layer]")
    listed = {Path(str(row["path"])).name: row for row in run.listed}
    assert listed["scan.png"]["text_source"] == "ocr"
    assert listed["scan.png"]["ocr_pages"] == 1
    assert listed["scan.png"]["ocr_confidence"] == confidence
    assert listed["typed.pdf"]["text_source"] == "text"
    assert listed["typed.pdf"]["source"] == "text layer"
