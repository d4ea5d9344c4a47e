"""The source viewer pane on its own: an HTML source shows its text without fetching anything,
a missing file says so, every control has a name a screen reader reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.support.citations import cite, index_chunks
from tests.support.ui_app import ConnectionRecorder

from ember.knowledge.types import Citation
from ember.ui.qt import QToolButton
from ember.ui.source_viewer import SourceViewer, file_url


def _open(qtbot, viewer: SourceViewer, citation: Citation) -> None:
    with qtbot.waitSignal(viewer.opened, timeout=15_000):
        viewer.show_sources(citation)


def test_an_html_source_is_shown_as_text_and_loads_nothing_remote(
    qtbot, viewer, tmp_path: Path
) -> None:
    with ConnectionRecorder().running() as listener:
        base = f"http://127.0.0.1:{listener.port}"
        page = tmp_path / "article.html"
        page.write_text(
            f'<html><head><link rel="stylesheet" href="{base}/style.css">'
            f'<script src="{base}/tracker.js"></script>'
            f"<style>body {{ background: url({base}/bg.png); }}</style></head>"
            f'<body><article><h1>Descaling</h1><img src="{base}/beacon.png">'
            "<p>Fill the kettle with equal parts vinegar and water and let it stand an hour."
            f'<img src="{base}/pixel.gif?q=secret"></p></article></body></html>',
            encoding="utf-8",
        )
        row = next(r for r in index_chunks([page], tmp_path / "kb") if "vinegar" in r.text)
        _open(qtbot, viewer, cite(row))
        qtbot.wait(300)  # give any fetch the time to happen
        assert listener.connections == 0
    assert listener.connections == 0
    assert viewer.text_view.resource_requests == []
    assert viewer.stack.currentWidget() is viewer.text_view
    assert "equal parts vinegar" in viewer.highlighted_text()


def test_a_source_whose_file_is_gone_says_so(qtbot, viewer, tmp_path: Path) -> None:
    gone = Citation(1, str(tmp_path / "moved.pdf"), 3, None, "Red goes to L.", 0.6)
    _open(qtbot, viewer, gone)
    assert viewer.isVisible() and viewer.banner.isVisible()
    assert "moved or deleted" in viewer.banner.text()
    assert viewer.location is not None and viewer.location.state == "missing"


def test_every_control_of_the_pane_has_a_name_and_takes_the_keyboard(qtbot, viewer) -> None:
    viewer.show()
    for widget in (*viewer.findChildren(QToolButton), viewer.pdf_view, viewer.text_view):
        assert widget.accessibleName(), widget
        assert widget.focusPolicy() != widget.focusPolicy().NoFocus, widget.accessibleName()
    assert re.search("system viewer", viewer.system_button.accessibleName())


MANUAL = "/docs/kettle manual.pdf"


def test_a_merged_chip_names_every_passage_number_and_the_printed_page(qtbot, viewer) -> None:
    first = Citation(
        1, MANUAL, 178, "Safety", "Unplug the kettle before cleaning.", 0.8, "150", 261
    )
    same_page = Citation(3, MANUAL, 178, "Cleaning", "Never put it in water.", 0.6, "150", 261)
    _open(qtbot, viewer, (first, same_page))
    assert viewer.title.text() == "[1, 3] kettle manual.pdf · p. 150 (178 of 261)"
    assert MANUAL in viewer.title.toolTip()  # (below the whole title while it is shortened)


def test_the_system_viewer_opens_a_pdf_at_its_physical_page() -> None:
    labeled = Citation(4, MANUAL, 178, None, "Red goes to L.", 0.5, "150", 261)
    url = file_url(labeled)
    assert url.toLocalFile() == MANUAL and url.fragment() == "page=178"  # viewers count sheets
    notes = Citation(1, "/docs/notes.md", None, None, "Descale monthly.", 0.7)
    assert not file_url(notes).hasFragment()


# The offscreen platform (the tests' display) has no program to open files with, like a computer
# with no PDF viewer: Qt's openUrl answers False, and says so in a warning.
@pytest.mark.qt_log_ignore("does not support QPlatformServices")
def test_open_in_the_system_viewer_with_no_viewer_installed_says_so(
    qtbot, viewer, tmp_path: Path
) -> None:
    manual = tmp_path / "kettle manual.pdf"
    manual.write_bytes(b"%PDF-1.4\n")
    _open(qtbot, viewer, Citation(1, str(manual), 12, None, "The kettle switches off.", 0.8))
    viewer.system_button.click()
    assert viewer.banner.isVisible()
    text = viewer.banner.text()
    assert "No program is set up to open PDF files on this computer" in text
    assert str(manual) in text


def test_the_highlight_holds_the_passage_after_emoji_and_math_letters(
    qtbot, viewer, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text(
        "# Notes\n\n" + "🙂 𝑥 " * 60 + "\n\nDescale the kettle monthly with vinegar and water.\n",
        encoding="utf-8",
    )
    row = next(r for r in index_chunks([notes], tmp_path / "kb") if "vinegar" in r.text)
    _open(qtbot, viewer, cite(row))
    highlighted = viewer.highlighted_text()
    assert "Descale the kettle monthly with vinegar and water." in highlighted
    assert highlighted.replace("\u2029", "\n").strip() == row.text.strip()


def test_a_file_that_cannot_be_shown_does_not_keep_saying_opening(
    qtbot, viewer, tmp_path: Path
) -> None:
    _open(qtbot, viewer, Citation(1, str(tmp_path / "gone.md"), None, None, "Descale.", 0.6))
    assert viewer.banner.isVisible()
    assert viewer.stack.currentWidget() is viewer.empty
    assert viewer.empty.text() == "Nothing to show: the file is not there any more."


def test_a_long_text_shows_the_stretch_around_its_passage(qtbot, viewer, tmp_path: Path) -> None:
    from ember.ui.source_text import MAX_SHOWN_CHARS

    log = tmp_path / "build.log"
    filler = "step ok: compiled module and linked it without warnings\n"
    repeats = 3 * MAX_SHOWN_CHARS // len(filler)
    passage = "The kettle element failed its insulation test at 1250 volts."
    log.write_text(filler * repeats + passage + "\n" + filler * 100, encoding="utf-8")
    _open(qtbot, viewer, Citation(1, str(log), None, None, passage, 0.6))
    assert viewer.location is not None and viewer.location.state == "found"
    assert viewer.highlighted_text() == passage.rstrip(".")  # letters and digits are matched
    assert viewer.text_view.document().characterCount() <= MAX_SHOWN_CHARS + 1
    assert viewer.banner.isVisible() and "system viewer for the rest" in viewer.banner.text()
