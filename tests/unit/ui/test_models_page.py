"""The Models page's widget shows what the hub says as plain text, never as markup."""

from __future__ import annotations

from ember.hub.types import DownloadEvent, HubFile, Quant, RepoModels
from ember.ui.download_rows import DownloadRows
from ember.ui.models_page import ModelsPage
from ember.ui.qt import QLabel, Qt

MARKUP = '<img src="file:///etc/passwd"><a href="http://x">click</a>'


def test_hub_strings_are_never_rendered_as_rich_text(qtbot) -> None:  # type: ignore[no-untyped-def]
    page = ModelsPage()
    qtbot.addWidget(page)
    repo = RepoModels(
        repo_id="someone/Model-GGUF",
        revision="0" * 40,
        license=MARKUP,
        gated=False,
        quants=(Quant("Q4_K_M", (HubFile("model-Q4_K_M.gguf", 10),)),),
        architecture=MARKUP,
    )
    page.show_repo(repo)
    page.show_detail_note(MARKUP, MARKUP)
    for label in page.findChildren(QLabel):
        assert label.textFormat() == Qt.TextFormat.PlainText, label.text()
    assert MARKUP in page.detail_note.text()

    rows = DownloadRows()
    qtbot.addWidget(rows)
    row = rows.show_event(
        DownloadEvent("j1", "someone/Model-GGUF", "failed", 0, 10, message=MARKUP)
    )
    assert row.status_label.textFormat() == Qt.TextFormat.PlainText
    assert MARKUP in row.status_label.text()
