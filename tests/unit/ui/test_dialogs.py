"""The dialogs on their own: where a source is, and how its file is opened."""

from __future__ import annotations

from pathlib import Path

import pytest

from ember.knowledge.types import Citation
from ember.ui.dialogs import IndexReportDialog, SourceDialog


def _citation(path: Path, page: int | None, heading: str | None = None) -> Citation:
    return Citation(1, str(path), page, heading, "The kettle switches itself off.", 0.8)


def test_a_pdf_source_shows_its_page_and_opens_at_it(qtbot, tmp_path: Path) -> None:
    manual = tmp_path / "kettle manual.pdf"
    manual.write_bytes(b"%PDF-1.4\n")
    dialog = SourceDialog(_citation(manual, 12, "Safety"))
    qtbot.addWidget(dialog)
    assert "page 12" in dialog.location.text() and "Safety" in dialog.location.text()
    url = dialog.file_url()
    assert Path(url.toLocalFile()) == manual and url.fragment() == "page=12"
    assert dialog.open_button.isEnabled()


def test_a_text_source_opens_as_a_plain_file(qtbot, tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n", encoding="utf-8")
    dialog = SourceDialog(_citation(notes, None))
    qtbot.addWidget(dialog)
    assert not dialog.file_url().hasFragment()
    assert "page" not in dialog.location.text()


def test_a_source_whose_file_is_gone_cannot_be_opened(qtbot, tmp_path: Path) -> None:
    dialog = SourceDialog(_citation(tmp_path / "moved.pdf", 3))
    qtbot.addWidget(dialog)
    assert not dialog.open_button.isEnabled()
    assert "The kettle switches itself off." in dialog.snippet.toPlainText()


def test_the_index_report_lists_failures_and_warnings_apart(qtbot, tmp_path: Path) -> None:
    failed = [(str(tmp_path / "broken.pdf"), "damaged PDF: PDFium could not read its structure")]
    warned = [(str(tmp_path / "huge.log"), "only the first 15,000 passages were indexed")]
    dialog = IndexReportDialog("manuals", failed, warnings=warned)
    qtbot.addWidget(dialog)
    assert dialog.list.count() == 1 and "broken.pdf — damaged PDF" in dialog.list.item(0).text()
    assert (
        dialog.warnings.count() == 1
        and "huge.log — only the first" in dialog.warnings.item(0).text()
    )

    only_warned = IndexReportDialog("manuals", [], warnings=warned)
    qtbot.addWidget(only_warned)
    assert only_warned.windowTitle() == "manuals: indexing warnings"
    assert only_warned.list.isHidden() and not only_warned.warnings.isHidden()


def test_choosing_a_collection_says_what_the_embedder_understands(qtbot) -> None:
    from ember.ui.dialogs import CollectionDialog

    dialog = CollectionDialog(["manuals"], "manuals", 3)
    qtbot.addWidget(dialog)
    assert "English" in dialog.languages.text()
    assert "Chinese, Japanese or Korean" in dialog.languages.text()


# The offscreen platform (the tests' display) has no program to open files with, like a computer
# with no PDF viewer: Qt's openUrl answers False, and says so in a warning.
@pytest.mark.qt_log_ignore("does not support QPlatformServices")
def test_open_file_with_no_viewer_installed_says_so(qtbot, tmp_path: Path) -> None:
    manual = tmp_path / "kettle manual.pdf"
    manual.write_bytes(b"%PDF-1.4\n")
    dialog = SourceDialog(_citation(manual, 12))
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.open_problem.isVisible()
    dialog.open_button.click()
    assert dialog.open_problem.isVisible()
    text = dialog.open_problem.text()
    assert "No program is set up to open PDF files on this computer" in text
    assert str(manual) in text
