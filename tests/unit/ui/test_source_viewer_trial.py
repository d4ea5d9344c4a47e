"""Found by trying the source viewer as a person would: a source that cannot be shown does not
leave "Opening…" under its banner, and the keyboard focus lands on something a screen reader
can name."""

from __future__ import annotations

from pathlib import Path

from ember.knowledge.types import Citation
from ember.ui.qt import QApplication


def test_a_source_whose_file_is_gone_does_not_still_say_opening(
    qtbot, viewer, tmp_path: Path
) -> None:
    gone = Citation(1, str(tmp_path / "moved.docx"), None, None, "Paddle float rescue.", 0.6)
    with qtbot.waitSignal(viewer.opened, timeout=15_000):
        viewer.show_sources(gone)
    assert viewer.banner.isVisible()
    assert viewer.stack.currentWidget() is not viewer.waiting, "still says 'Opening…'"
    assert viewer.stack.currentWidget() is viewer.empty and viewer.empty.isVisible()
    assert "not there any more" in viewer.empty.text()
    assert QApplication.focusWidget() is viewer.empty  # a screen reader reads why
    assert viewer.empty.accessibleName() == viewer.empty.text()
    assert not viewer.system_button.isEnabled()  # nothing to open in another program


def test_the_focus_after_opening_a_source_is_on_a_named_control(
    qtbot, viewer, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("The marmalade budget was 4,200 euros.\n", encoding="utf-8")
    with qtbot.waitSignal(viewer.opened, timeout=15_000):
        viewer.show_sources(Citation(1, str(notes), None, None, "marmalade budget", 0.6))
    focused = QApplication.focusWidget()
    assert focused is not None and focused.accessibleName(), (
        f"focus is on {type(focused).__name__}, which has no accessible name"
    )
    assert focused is viewer.text_view and focused.accessibleName() == "Cited text"
