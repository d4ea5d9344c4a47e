"""Text follows the system's font size: at 1.5 times the default font, in an 800×600 window and
in the Settings dialog, no label, button or text field is squeezed below the size its text needs.

The real window (pytest-qt, offscreen) over a real chat history whose answer cites a page; the
application font is made 1.5 times larger before the window is built, as a system setting is."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ember.chats.store import ChatStore
from ember.knowledge.types import Citation
from ember.paths import ember_paths
from ember.ui.elided import ElidedLabel
from ember.ui.model_picker import ModelPicker
from ember.ui.qt import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QTabWidget,
    QWidget,
)
from tests.support.ui_app import close_window, settle, wait_chats

pytestmark = pytest.mark.integration

SCALE = 1.5


def _checked() -> tuple[type, ...]:
    from PySide6.QtWidgets import QAbstractSpinBox

    return (QLabel, QAbstractButton, QLineEdit, QComboBox, QAbstractSpinBox)


CHECKED = _checked()


def squeezed(root: QWidget) -> list[str]:
    """Each visible label, button or text field under ``root`` smaller than its minimum size
    hint (what its text needs), as "Class#objectName 'text': size < hint"."""
    found = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, CHECKED) or isinstance(widget, (ElidedLabel, ModelPicker)):
            continue  # (these shorten their text with "…" by design; their tooltips hold it)
        if widget.objectName().startswith("qt_"):
            continue  # Qt's own parts (a spin box's text field): their owner is checked
        if not widget.isVisibleTo(root) or not widget.isVisible():
            continue
        hint = widget.minimumSizeHint()
        size = widget.size()
        if size.width() < hint.width() or size.height() < hint.height():
            text = widget.text() if hasattr(widget, "text") else ""
            found.append(
                f"{type(widget).__name__}#{widget.objectName()} {text[:40]!r}: "
                f"{size.width()}×{size.height()} < {hint.width()}×{hint.height()}"
            )
    return found


@pytest.fixture
def big_font(qapp: QApplication) -> Iterator[float]:
    from ember.ui.app import create_application

    create_application()
    before = QApplication.font()
    font = QApplication.font()
    font.setPointSizeF(before.pointSizeF() * SCALE)
    QApplication.setFont(font)
    yield font.pointSizeF()
    QApplication.setFont(before)


@pytest.fixture
def window(qtbot, big_font):  # type: ignore[no-untyped-def]
    from ember.ui.app import create_window

    with ChatStore(ember_paths().ensure().chats_db) as store:
        chat = store.create("Router")
        store.add_message(chat.id, "user", "How do I reset the router?")
        answer = store.add_message(chat.id, "assistant", "Hold the red button [1].", model="S")
        citation = Citation(1, "/docs/router_manual.pdf", 12, None, "Hold it.", 0.8, "12", 40)
        store.save_citations(answer.id, (citation,))
    win = create_window(start_background=False)
    qtbot.addWidget(win)
    win.resize(800, 600)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: win.started, timeout=10_000)
    win.open_conversation(chat.id)
    wait_chats(qtbot, win)
    qtbot.waitUntil(lambda: len(win.chat.bubbles) == 2, timeout=10_000)
    settle(qtbot)
    yield win
    close_window(win)


def test_the_styled_text_follows_the_system_font(qtbot, window, big_font) -> None:
    composer = window.composer.input
    assert composer.font().pointSizeF() >= big_font  # the message box: the body text size
    title = window.title_label
    assert title.font().pointSizeF() > big_font  # a heading: larger than the body text


def test_nothing_is_squeezed_at_150_percent_in_an_800_by_600_window(qtbot, window) -> None:
    assert window.width() == 800 and window.height() == 600
    found = squeezed(window)
    assert not found, "\n".join(found)


def test_nothing_is_squeezed_at_150_percent_in_the_settings(qtbot, window) -> None:
    dialog = window.open_settings()
    qtbot.waitExposed(dialog)
    tabs = dialog.findChild(QTabWidget)
    for index in range(tabs.count()):
        tabs.setCurrentIndex(index)
        settle(qtbot)
        found = squeezed(dialog)
        assert not found, f"{tabs.tabText(index)}:\n" + "\n".join(found)
    dialog.close()
