"""How each document's text was obtained (its text layer, or OCR with pages and mean
confidence): kept by the store, upgraded into an old database, carried from the sandboxed
parser and from the indexing helper. OCR itself is tested on one real scan in
tests/unit/cli/test_text_source.py and in test_ocr.py; nothing here OCRs."""

from __future__ import annotations

from pathlib import Path

from tests.support import nasty_files
from tests.support.tiny_embedder import TinyEmbedder

from ember.db import connect, migrate
from ember.knowledge import KnowledgeBase
from ember.knowledge.helper import report_from_json, report_to_json
from ember.knowledge.ingest import IngestReport
from ember.knowledge.listing import document_rows
from ember.knowledge.migrations import MIGRATIONS
from ember.knowledge.sandbox import _document_from_json
from ember.knowledge.store import KnowledgeStore
from ember.knowledge.types import TEXT_LAYER, OcrRead, TextSource


def test_a_typed_pdf_and_a_markdown_file_are_kept_as_text(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    nasty_files.write_pdf(docs / "typed.pdf", ["Descale the kettle with vinegar monthly."])
    (docs / "notes.md").write_text("# Garden\n\nWater the tomatoes every morning.\n")
    with KnowledgeBase(tmp_path / "kb", embedder=TinyEmbedder()) as kb:
        report = kb.index([docs], "home")
        rows = {Path(r.path).name: r for r in document_rows(kb.store, "home")}

    assert not report.failed and report.ocr == []
    assert rows["typed.pdf"].record.text_source == TextSource("text", 0, None, 0)
    assert rows["notes.md"].record.text_source == TEXT_LAYER
    assert rows["typed.pdf"].source == "text layer"


def test_a_file_that_fails_forgets_how_its_old_text_was_obtained(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    typed = nasty_files.write_pdf(docs / "typed.pdf", ["A page typed, not scanned."])
    with KnowledgeBase(tmp_path / "kb", embedder=TinyEmbedder()) as kb:
        kb.index([docs], "home")
        typed.write_bytes(b"%PDF-1.7\n1 0 obj <<\n")  # damaged since
        kb.index([docs], "home")
        (row,) = document_rows(kb.store, "home")

    assert row.state == "failed" and row.record.text_source is None and row.source == ""


def test_an_old_database_is_upgraded_text_formats_as_text_pdfs_unknown(tmp_path: Path) -> None:
    path = tmp_path / "knowledge.sqlite3"
    conn = connect(path)
    migrate(conn, MIGRATIONS[:6], label="knowledge")  # the schema before text sources
    conn.execute("INSERT INTO collections (name, created) VALUES ('old', 0)")
    for path_in_db, kind, state in (
        ("/docs/notes.md", "markdown", "done"),
        ("/docs/manual.pdf", "pdf", "done"),  # indexed by an Ember that may have OCR'd it
        ("/docs/scan.png", "image", "done"),
        ("/docs/broken.pdf", None, "failed"),
    ):
        conn.execute(
            "INSERT INTO documents (collection_id, path, kind, state) VALUES (1, ?, ?, ?)",
            (path_in_db, kind, state),
        )
    conn.commit()
    conn.close()

    store = KnowledgeStore(path)
    try:
        sources = {Path(r.path).name: r.text_source for r in store.documents("old")}
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    finally:
        store.close()
    assert sources == {
        "notes.md": TEXT_LAYER,
        "manual.pdf": None,  # not recorded: shown as unknown until indexed again
        "scan.png": None,
        "broken.pdf": None,
    }


def test_the_sandboxed_parser_s_account_is_checked_not_trusted() -> None:
    def parsed(source: object) -> TextSource:
        data = {"kind": "image", "sections": [["text", 1, [], None]], "text_source": source}
        return _document_from_json(Path("/x.png"), data).text_source

    sound = {"method": "ocr", "ocr_pages": 3, "ocr_confidence": 0.91, "ocr_empty_pages": 1}
    assert parsed(sound) == TextSource("ocr", 3, 0.91, 1)
    assert parsed(None) == TEXT_LAYER  # an older worker says nothing: its text layer
    assert parsed({"method": "magic"}) == TEXT_LAYER
    hostile = {"method": "ocr", "ocr_pages": -4, "ocr_confidence": 7.5, "ocr_empty_pages": "x"}
    assert parsed(hostile) == TEXT_LAYER  # no page OCR'd: "ocr" would show as "text layer"
    true = {"method": "ocr", "ocr_pages": 2, "ocr_confidence": True, "ocr_empty_pages": 0}
    assert parsed(true) == TextSource("ocr", 2, None, 0)  # a bool is no confidence, not 1.0
    more_empty = {"method": "ocr", "ocr_pages": 2, "ocr_confidence": 0.8, "ocr_empty_pages": 9}
    assert parsed(more_empty) == TextSource("ocr", 2, 0.8, 2)  # at most the pages OCR'd
    no_pages = {"method": "ocr", "ocr_pages": 0, "ocr_confidence": 0.8, "ocr_empty_pages": 0}
    assert parsed(no_pages) == TEXT_LAYER


def test_the_indexing_helper_hands_the_ocr_d_files_back_to_the_app() -> None:
    report = IngestReport(indexed=1, ocr=[OcrRead("/d/scan.tiff", TextSource("ocr", 2, 0.9), 2)])
    back = report_from_json(report_to_json(report))
    assert back.ocr == report.ocr
    assert back.ocr[0].text == "OCR'd 2 pages, mean confidence 0.90"
    assert report.as_json()["ocr"] == [{"path": "/d/scan.tiff", "pages": 2, "confidence": 0.9}]


def test_what_a_person_reads_of_each_kind_of_source() -> None:
    assert TEXT_LAYER.describe(12) == "text layer"
    assert TextSource("ocr", 1, 0.934).describe() == "OCR'd 1 page, mean confidence 0.93"
    assert TextSource("ocr", 12, 0.93).describe(12) == "OCR'd 12 pages, mean confidence 0.93"
    assert TextSource("ocr", 3, 0.93).describe(80) == (
        "text layer; 3 of 80 pages OCR'd, mean confidence 0.93"
    )
    assert TextSource("text", 2, None, 2).describe(5) == (
        "text layer; 2 of 5 pages OCR'd; no text found on 2 of them"
    )
    assert TextSource("ocr", 1, 0.5).worrying and not TextSource("ocr", 1, 0.9).worrying
