"""The window's layout holds: long titles elide, widths stay put, 800×600 shows everything.

The real window over real chat histories (pytest-qt, offscreen); its model is not loaded (layout
does not need it), but the picker is filled with the real catalog's names as at start."""

from __future__ import annotations

import pytest

from ember.chats.store import ChatStore
from ember.paths import ember_paths
from ember.ui.qt import (
    QPushButton,
    QStyle,
    QStyleOptionComboBox,
    QWidget,
)
from tests.support.ui_app import close_window, rect_in, settle, wait_chats

pytestmark = pytest.mark.integration

LONG_TITLE = ("Notes on descaling the kettle and what the manual says about the filter " * 5)[:300]


@pytest.fixture
def chats() -> dict[str, int]:
    with ChatStore(ember_paths().ensure().chats_db) as store:
        ids = {}
        for key, title in (("short", "Kettle"), ("long", LONG_TITLE)):
            chat = store.create(title)
            store.add_message(chat.id, "user", "How long does the kettle take to boil?")
            ids[key] = chat.id
    return ids


@pytest.fixture
def window(qtbot, chats):  # type: ignore[no-untyped-def]
    from ember.ui.app import create_application, create_window

    create_application()
    win = create_window(start_background=False)
    qtbot.addWidget(win)
    win.resize(1180, 780)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: win.started, timeout=10_000)
    win.models.read_settings()  # what start_background does, without loading the model
    win.models.fill_picker()
    yield win
    close_window(win)


def _open(qtbot, window, chat_id: int) -> None:  # type: ignore[no-untyped-def]
    window.open_conversation(chat_id)
    wait_chats(qtbot, window)
    qtbot.waitUntil(lambda: window.conversation_id == chat_id, timeout=10_000)
    settle(qtbot)


def _clipped(window, parents: list[QWidget]) -> list[str]:  # type: ignore[no-untyped-def]
    """Visible widgets inside ``parents`` that do not lie wholly inside the window."""
    bounds = window.rect()
    found = []
    for parent in parents:
        for child in [parent, *parent.findChildren(QWidget)]:
            if child.isVisible() and not child.isWindow():
                rect = rect_in(child, window)
                if not bounds.contains(rect):
                    found.append(f"{type(child).__name__} {child.objectName()!r} at {rect}")
    return found


def _name_fits(picker) -> bool:  # type: ignore[no-untyped-def]
    """Whether the picker's field is wide enough for its whole current name."""
    option = QStyleOptionComboBox()
    picker.initStyleOption(option)
    field = picker.style().subControlRect(
        QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField, picker
    )
    return picker.fontMetrics().horizontalAdvance(picker.currentText()) <= field.width()


def test_a_long_title_elides_and_neither_widens_the_window_nor_moves_the_sidebar(
    qtbot, window, chats
) -> None:
    _open(qtbot, window, chats["short"])
    size, sizes = window.size(), window.splitter.sizes()
    _open(qtbot, window, chats["long"])
    assert window.title_label.text() == LONG_TITLE
    assert window.title_label.toolTip() == LONG_TITLE
    assert window.title_label.shown_text().endswith("…")
    assert window.minimumSizeHint().width() <= 800
    assert window.size() == size  # it did not widen itself
    assert window.splitter.sizes() == sizes
    _open(qtbot, window, chats["short"])
    assert window.splitter.sizes() == sizes
    assert window.title_label.shown_text() == "Kettle"


@pytest.mark.parametrize("chat", ["short", "long"])
def test_at_800_by_600_the_bars_and_the_composer_are_whole(qtbot, window, chats, chat) -> None:
    _open(qtbot, window, chats[chat])
    long_status = "SmolLM2 135M Instruct (embedded) · llama.cpp · 2 threads · 2,048 tokens " * 2
    window.model_label.setText(long_status)
    window.resize(800, 600)
    settle(qtbot)
    assert window.size().width() == 800 and window.size().height() == 600
    hint = window.minimumSizeHint()
    assert hint.width() <= 800 and hint.height() <= 600
    top = window.title_label.parentWidget()
    assert _clipped(window, [top, window.statusBar(), window.composer]) == []
    assert window.composer.button.isVisible() and window.composer.input.isVisible()
    assert window.model_label.toolTip() == long_status  # cut with "…", not mid-word
    assert window.model_label.shown_text().endswith("…")
    # The composer's lines are all in view, none scrolled away.
    window.composer.input.setPlainText("first line\nsecond line")
    settle(qtbot)
    assert window.composer.input.verticalScrollBar().maximum() == 0


@pytest.mark.parametrize("width", [800, 1400])
def test_the_suggestion_chips_are_whole_inside_the_chat(qtbot, window, width) -> None:
    window.new_chat()
    window.resize(width, 700)
    settle(qtbot)
    viewport = window.chat.viewport()
    chips = window.chat.empty.findChildren(QPushButton)
    assert len(chips) == 3
    for chip in chips:
        assert chip.isVisible()
        assert viewport.rect().contains(rect_in(chip, viewport)), chip.text()
        assert chip.width() >= chip.sizeHint().width(), f"{chip.text()} is squeezed"


def test_the_model_picker_names_the_whole_model_at_1400_and_elides_at_800(qtbot, window) -> None:
    picker = window.model_picker
    name = picker.currentText()
    assert name and not name.startswith("Loading")
    assert name in picker.toolTip()
    window.resize(1400, 800)
    settle(qtbot)
    assert _name_fits(picker)
    assert picker.shown_text() == name
    window.resize(800, 600)
    settle(qtbot)
    top = window.title_label.parentWidget()
    assert top.rect().contains(rect_in(picker, top))
    if not _name_fits(picker):  # short of room: shortened with "…", never cut mid-letter
        assert picker.shown_text().endswith("…")


def test_the_message_box_has_the_focus_when_the_window_starts(qtbot, window) -> None:
    window.activateWindow()
    qtbot.waitUntil(lambda: window.focusWidget() is window.composer.input, timeout=5000)
