"""Text follows the system's font size: at 1.5 times the default font, in an 800×600 window (with
the source viewer open or not, and with a real PDF's page and zoom controls) and in every dialog
on an 800×600 screen, no label, button or text field is squeezed below the size its text needs,
and nothing is cut off by the window's edge.

The real window (pytest-qt, offscreen) over a real chat history whose answer cites a page; the
application font is made 1.5 times larger before the window is built, as a system setting is.
(The offscreen screen is larger than 800×600: a dialog is given at most 800×600, as a window
manager on such a screen would, after checking that its minimum fits.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
    QRect,
    QSize,
    Qt,
    QTabWidget,
    QToolButton,
    QWidget,
)
from tests.support.nasty_files import write_pdf
from tests.support.ui_app import close_window, open_window_on_chat, settle, wait_chats

pytestmark = pytest.mark.integration

SCALE = 1.5
SMALL = QSize(800, 600)
LONG_TITLE = "How do I reset the router after the firmware update failed twice?"
LONG_MODEL = "Qwen2.5-7B-Instruct-Q4_K_M.gguf (embedded, llama.cpp)"
LONG_COLLECTION = "Household appliance manuals and warranties"


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
        if isinstance(widget, QLineEdit) and isinstance(widget.parentWidget(), QComboBox):
            continue  # an editable combo box's field: the box sizes it, and the box is checked
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


def cut_off(root: QWidget) -> list[str]:
    """Each visible control under ``root`` that reaches past ``root``'s edge (those in a scroll
    area scroll into view: the area itself lies within ``root``, or its own owner is caught)."""
    found = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, CHECKED) or not widget.isVisible():
            continue
        if widget.objectName().startswith("qt_") or _scrolls(widget, root):
            continue
        where = QRect(widget.mapTo(root, widget.rect().topLeft()), widget.size())
        if not root.rect().contains(where):
            found.append(f"{type(widget).__name__} {widget.accessibleName()!r}: {where}")
    return found


def _scrolls(widget: QWidget, root: QWidget) -> bool:
    """True when ``widget`` is inside a scroll area's viewport below ``root``."""
    parent = widget.parentWidget()
    while parent is not None and parent is not root:
        if parent.objectName() == "qt_scrollarea_viewport":
            return True
        parent = parent.parentWidget()
    return False


def on_small_screen(qtbot, dialog: QWidget) -> QWidget:  # type: ignore[no-untyped-def]
    """``dialog`` shown within its screen's free area, then given at most 800×600."""
    qtbot.waitExposed(dialog)
    settle(qtbot)
    free = dialog.screen().availableGeometry()
    assert free.contains(dialog.frameGeometry()), f"{dialog.frameGeometry()} not in {free}"
    least = dialog.minimumSizeHint()
    assert least.width() <= SMALL.width() and least.height() <= SMALL.height(), least
    dialog.resize(dialog.size().boundedTo(SMALL))
    settle(qtbot)
    return dialog


@pytest.fixture
def big_font(qapp: QApplication, request: pytest.FixtureRequest) -> Iterator[float]:
    """The application font made ``request.param`` (default :data:`SCALE`) times larger."""
    from ember.ui.app import create_application

    create_application()
    before = QApplication.font()
    font = QApplication.font()
    font.setPointSizeF(before.pointSizeF() * getattr(request, "param", SCALE))
    QApplication.setFont(font)
    yield font.pointSizeF()
    QApplication.setFont(before)


def _window_citing(qtbot, citation: Citation):  # type: ignore[no-untyped-def]
    """The window at 800×600 over a chat whose answer cites ``citation``."""
    with ChatStore(ember_paths().ensure().chats_db) as store:
        chat = store.create("Router")
        store.add_message(chat.id, "user", "How do I reset the router?")
        answer = store.add_message(chat.id, "assistant", "Hold the red button [1].", model="S")
        store.save_citations(answer.id, (citation,))
    win = open_window_on_chat(qtbot, chat.id, size=(800, 600))
    qtbot.waitUntil(lambda: len(win.chat.bubbles) == 2, timeout=10_000)
    settle(qtbot)
    return win


@pytest.fixture
def window(qtbot, big_font):  # type: ignore[no-untyped-def]
    """The window over an answer citing page 12 of a PDF that is not there any more."""
    gone = Citation(1, "/docs/router_manual.pdf", 12, None, "Hold it.", 0.8, "12", 40)
    win = _window_citing(qtbot, gone)
    yield win
    close_window(win)


# A real manual's length, so the page row reads "118 / 120" (wider than "2 / 3").
ROUTER_PAGES = [f"Router manual, page {n}. Keep the router dry." for n in range(1, 121)]
ROUTER_PAGES[117] = "Resetting. Hold the red button on the back for ten seconds until it blinks."


@pytest.fixture
def pdf_window(qtbot, big_font, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The window over an answer citing page 118 of a real 120-page PDF."""
    manual = write_pdf(tmp_path / "router manual.pdf", ROUTER_PAGES)
    cited = Citation(1, str(manual), 118, None, ROUTER_PAGES[117], 0.8, "118", len(ROUTER_PAGES))
    win = _window_citing(qtbot, cited)
    yield win
    close_window(win)


def test_the_styled_text_follows_the_system_font(qtbot, window, big_font) -> None:
    composer = window.composer.input
    assert composer.font().pointSizeF() >= big_font  # the message box: the body text size
    title = window.title_label
    assert title.font().pointSizeF() > big_font  # a heading: larger than the body text


def test_nothing_is_squeezed_at_150_percent_in_an_800_by_600_window(qtbot, window) -> None:
    assert window.minimumSizeHint().width() <= 800 and window.minimumSizeHint().height() <= 600
    assert window.width() == 800 and window.height() == 600
    found = squeezed(window) + cut_off(window)
    assert not found, "\n".join(found)


def test_long_names_in_the_top_bar_shorten_instead_of_widening_the_window(qtbot, window) -> None:
    window.rename_to(window.conversation_id, LONG_TITLE)
    window.set_chat_collections((LONG_COLLECTION,))
    window.model_picker.addItem(LONG_MODEL)
    window.model_picker.setCurrentIndex(window.model_picker.count() - 1)
    wait_chats(qtbot, window)
    qtbot.waitUntil(lambda: window.title_label.text() == LONG_TITLE, timeout=5000)
    settle(qtbot)
    assert window.minimumSizeHint().width() <= 800
    assert window.width() == 800
    found = squeezed(window) + cut_off(window)
    assert not found, "\n".join(found)
    button = window.collections_button
    assert button.elided() and "…" in button.shown_text()
    # Shortened on screen, whole where it is read: the tooltip and the screen reader's name.
    assert button.accessibleName() == f"Documents: {LONG_COLLECTION}"
    assert button.toolTip().startswith(f"Documents: {LONG_COLLECTION}")
    assert window.title_label.elided() and window.title_label.toolTip().startswith(LONG_TITLE)
    assert LONG_MODEL in window.model_picker.toolTip()


def _open_source(qtbot, window):  # type: ignore[no-untyped-def]
    """Click the answer's source chip; the viewer once it has opened (here: the file is gone)."""
    chip = window.chat.bubbles[-1].sources_row.findChildren(QToolButton)[0]
    chip.setFocus()
    chip.click()
    viewer = window.source_viewer
    qtbot.waitUntil(lambda: viewer.banner.isVisible(), timeout=10_000)
    settle(qtbot)
    return chip, viewer


def test_at_150_percent_in_800_by_600_a_source_opens_over_the_chat(qtbot, window) -> None:
    chip, viewer = _open_source(qtbot, window)
    chat_column = window.chat.parentWidget()
    assert window.width() == 800 and window.height() == 600  # the window did not grow for it
    assert viewer.isVisible() and viewer.room.mode == "over" and not chat_column.isVisible()
    assert window.sidebar.isVisible()
    found = squeezed(window) + cut_off(window)
    assert not found, "\n".join(found)
    assert viewer.width() >= viewer.minimumSizeHint().width()
    for control in (viewer.system_button, viewer.close_button):
        assert control.isVisible() and control.width() >= control.sizeHint().width()

    qtbot.keyClick(viewer.stack, Qt.Key.Key_Escape)  # back to the chat, at the chip
    assert not viewer.isVisible() and chat_column.isVisible()
    assert window.width() == 800
    assert chip.hasFocus()
    assert chat_column.width() >= chat_column.minimumSizeHint().width()


def test_at_150_percent_a_wider_window_puts_the_source_beside_the_chat(qtbot, window) -> None:
    _chip, viewer = _open_source(qtbot, window)
    window.resize(1400, 600)
    settle(qtbot)
    chat_column = window.chat.parentWidget()
    assert viewer.room.mode == "beside" and chat_column.isVisible() and window.sidebar.isVisible()
    assert not squeezed(window) and not cut_off(window)
    window.resize(800, 600)  # and narrow again: over the chat, the window as narrow as before
    settle(qtbot)
    assert window.width() == 800 and viewer.room.mode == "over"
    assert not squeezed(window) and not cut_off(window)


def test_at_150_percent_in_800_by_600_a_pdfs_page_controls_fit(qtbot, pdf_window) -> None:
    window = pdf_window
    chip = window.chat.bubbles[-1].sources_row.findChildren(QToolButton)[0]
    chip.setFocus()
    chip.click()
    viewer = window.source_viewer  # made by the first click
    qtbot.waitUntil(lambda: viewer.location is not None, timeout=15_000)  # the page is drawn
    settle(qtbot)
    assert viewer.location is not None and viewer.location.state == "found"
    assert viewer.stack.currentWidget() is viewer.pdf_view and viewer.pdf_view.highlight_rects()
    assert window.width() == 800 and window.height() == 600
    tools = viewer.page_tools
    assert tools.isVisible() and tools.page_label.text() == "118 / 120"
    found = squeezed(window) + cut_off(window) + cut_off(viewer)
    assert not found, "\n".join(found)
    controls = (
        tools.previous_button,
        tools.page_label,
        tools.next_button,
        tools.zoom_out_button,
        tools.zoom_label,
        tools.zoom_in_button,
        tools.fit_button,
    )
    for control in controls:  # each whole, in the row, left to right, none over another
        assert control.isVisible(), control.accessibleName() or control.text()
        assert control.width() >= control.sizeHint().width(), control.text()
        assert control.height() >= control.minimumSizeHint().height(), control.text()
    lefts = [control.mapTo(tools, control.rect().topLeft()).x() for control in controls]
    rights = [left + control.width() for left, control in zip(lefts, controls, strict=True)]
    assert all(r <= left for r, left in zip(rights, lefts[1:], strict=False)), (lefts, rights)
    assert rights[-1] <= tools.width()
    for press in (tools.zoom_in_button, tools.zoom_in_button):  # "100%" becomes "150%"
        press.click()
    settle(qtbot)
    assert tools.zoom_label.text() == "150%"
    found = squeezed(window) + cut_off(window) + cut_off(viewer)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("big_font", [1.0], indirect=True)
def test_at_the_default_size_in_800_by_600_the_sidebar_folds_for_the_source(qtbot, window) -> None:
    _chip, viewer = _open_source(qtbot, window)
    chat_column = window.chat.parentWidget()
    assert window.width() == 800
    assert viewer.room.mode == "folded" and not window.sidebar.isVisible()
    assert chat_column.isVisible()  # the answer beside the page it cites
    chat_right = chat_column.mapTo(window, chat_column.rect().topRight()).x()
    assert viewer.mapTo(window, viewer.rect().topLeft()).x() >= chat_right
    found = squeezed(window) + cut_off(window)
    assert not found, "\n".join(found)
    viewer.close_button.click()
    assert window.sidebar.isVisible() and chat_column.isVisible() and not viewer.isVisible()
    assert window.width() == 800


def test_nothing_is_squeezed_at_150_percent_in_the_settings(qtbot, window) -> None:
    dialog = on_small_screen(qtbot, window.open_settings())
    tabs = dialog.findChild(QTabWidget)
    for index in range(tabs.count()):
        tabs.setCurrentIndex(index)
        settle(qtbot)
        found = squeezed(dialog) + cut_off(dialog)
        assert not found, f"{tabs.tabText(index)}:\n" + "\n".join(found)
    dialog.close()


def _collection_dialog(window):  # type: ignore[no-untyped-def]
    from ember.ui.dialogs import CollectionDialog

    dialog = CollectionDialog(["manuals", LONG_COLLECTION], LONG_COLLECTION, 12, window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog


def _shortcuts_dialog(window):  # type: ignore[no-untyped-def]
    from ember.ui.shortcuts import show_shortcuts

    return show_shortcuts(window)


@pytest.mark.parametrize(
    "open_dialog",
    [
        _collection_dialog,
        _shortcuts_dialog,
        lambda window: window.documents_admin.open(),
    ],
    ids=["collection", "shortcuts", "documents page"],
)
def test_nothing_is_squeezed_at_150_percent_in_the_dialogs(qtbot, window, open_dialog) -> None:
    dialog = on_small_screen(qtbot, open_dialog(window))
    found = squeezed(dialog) + cut_off(dialog)
    assert not found, "\n".join(found)
    dialog.close()


@pytest.mark.qt_log_ignore(  # the offscreen plugin cannot raise a popup or grab the keyboard
    "This plugin does not support raise", "This plugin does not support grabbing"
)
def test_the_model_list_fits_the_screen_at_150_percent(qtbot, window) -> None:
    picker = window.model_picker
    picker.addItem(LONG_MODEL)
    picker.showPopup()
    popup = picker.view().window()
    qtbot.waitUntil(popup.isVisible, timeout=5000)
    free = popup.screen().availableGeometry()
    assert free.contains(popup.geometry())
    assert popup.width() >= picker.view().fontMetrics().horizontalAdvance(LONG_MODEL)
    picker.hidePopup()
