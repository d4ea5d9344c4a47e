"""The documents page's "Import from GPT4All…" in the real window: GPT4All's LocalDocs database
(real SQLite, GPT4All's tables) in its own folder under a private HOME, the collections made on
the knowledge worker, then indexed by the real embedder in the knowledge helper process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.gpt4all_localdocs import gpt4all_home, localdocs_v3
from tests.support.ui_app import close_window, find_dialog, open_window, wait_chats

pytestmark = [pytest.mark.slow, pytest.mark.integration]

INDEX_TIMEOUT_MS = 240_000


def test_import_from_gpt4all_makes_the_collections_and_indexes_them(
    qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gpt4all = gpt4all_home(tmp_path / "home", monkeypatch)
    router = tmp_path / "router-manuals"
    router.mkdir()
    (router / "router.md").write_text(
        "# Zephyr router\n\nHold the red pinhole button for fifteen seconds to reset it.\n"
    )
    localdocs_v3(gpt4all / "localdocs_v3.db", {"Router": [router], "Lost": [tmp_path / "gone"]})
    window = open_window(qtbot, wait_for_model=False)
    try:
        window.documents.pageRequested.emit("")
        page = window.documents_admin.page
        qtbot.waitUntil(lambda: page.data is not None, timeout=30_000)

        page.import_button.click()
        qtbot.waitUntil(lambda: find_dialog(window, "ImportGpt4allQuestion") is not None)
        question = find_dialog(window, "ImportGpt4allQuestion")
        assert "“Router”" in question.text() and "Lost" not in question.text()
        assert "1 folder(s) not on this computer" in question.informativeText()
        qtbot.waitUntil(lambda: page.data is not None and page.data.collection == "Router")
        assert page.data.names == ("Router",) and page.data.rows == ()  # made, not indexed yet

        index_now = next(b for b in question.buttons() if b.text() == "Index now")
        index_now.click()
        qtbot.waitUntil(lambda: window.indexing is None, timeout=INDEX_TIMEOUT_MS)
        qtbot.waitUntil(
            lambda: (
                [(c.name, c.info.documents) for c in window.collection_infos] == [("Router", 1)]
            ),
            timeout=30_000,
        )
        wait_chats(qtbot, window)
    finally:
        close_window(window)
