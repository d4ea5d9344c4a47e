"""The dialogs on their own: the index report, choosing a collection."""

from __future__ import annotations

from pathlib import Path

from ember.knowledge.types import Citation
from ember.ui.dialogs import IndexReportDialog


def _citation(path: Path, page: int | None, heading: str | None = None) -> Citation:
    return Citation(1, str(path), page, heading, "The kettle switches itself off.", 0.8)


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
