"""Every control a screen reader meets in the window and its dialogs has a name (and the role Qt
gives its kind): the tests walk the real window's accessibility tree (``QAccessible``
interfaces) and list each visible interactive element without one, by class and objectName.

The real window (pytest-qt, offscreen) over a real chat history whose answer cites two pages;
its model is not loaded (names do not need it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.ui_app import close_window, settle, wait_chats

from ember.chats.store import ChatStore
from ember.knowledge.types import Citation
from ember.paths import ember_paths
from ember.ui.accessibility import label_of
from ember.ui.qt import (
    QAccessible,
    QApplication,
    QComboBox,
    Qt,
    QTabWidget,
    QToolButton,
    QWidget,
)

pytestmark = pytest.mark.integration

_ROLE = QAccessible.Role
INTERACTIVE = {
    _ROLE.PushButton,
    _ROLE.CheckBox,
    _ROLE.RadioButton,
    _ROLE.ComboBox,
    _ROLE.EditableText,
    _ROLE.List,
    _ROLE.ListItem,
    _ROLE.PageTab,
    _ROLE.PageTabList,
    _ROLE.SpinBox,
    _ROLE.Slider,
    _ROLE.Link,
    _ROLE.MenuItem,
    _ROLE.ButtonMenu,
    _ROLE.ButtonDropDown,
    _ROLE.Table,
    _ROLE.Tree,
    _ROLE.TreeItem,
    _ROLE.ColumnHeader,
    _ROLE.RowHeader,
    _ROLE.HotkeyField,
}  # fmt: skip  (a table's cells are named by their text, which may rightly be empty)

CITATIONS = (
    Citation(1, "/docs/router_manual.pdf", 12, None, "Hold the red button.", 0.8, "12", 40),
    Citation(2, "/docs/kettle.md", None, None, "Descale it monthly.", 0.7),
)


def _says_something(text: str) -> bool:
    """A name is more than symbols ("⋯" or "▾" alone say nothing to a screen reader)."""
    return any(ch.isalnum() for ch in text)


def _named(iface: QAccessible) -> bool:
    if iface.role() == _ROLE.ComboBox:
        # On Linux Qt reports a combo box's current text as its name; what names it is its
        # own accessible name or the label it is the buddy of.
        widget = iface.object()
        labelled = iface.relations(QAccessible.RelationFlag.Label)
        own = widget.accessibleName() if isinstance(widget, QWidget) else ""
        return _says_something(own) or bool(labelled)
    return _says_something(iface.text(QAccessible.Text.Name))


def _walk(iface: QAccessible, depth: int = 0) -> Iterator[QAccessible]:
    if iface is None or not iface.isValid() or iface.state().invisible or depth > 40:
        return
    yield iface
    for i in range(iface.childCount()):
        yield from _walk(iface.child(i), depth + 1)


def unnamed(root: QWidget) -> list[str]:
    """Each visible interactive element under ``root`` without a name: "Role Class#objectName
    (parent Class#objectName)"."""
    found = []
    for iface in _walk(QAccessible.queryAccessibleInterface(root)):
        if iface.role() not in INTERACTIVE or _named(iface):
            continue
        obj = iface.object()
        parent = iface.parent().object() if iface.parent() is not None else None
        found.append(
            f"{iface.role().name} {type(obj).__name__}#{obj.objectName() if obj else ''}"
            f" (in {type(parent).__name__}#{parent.objectName() if parent else ''})"
        )
    return found


@pytest.fixture
def chat_id() -> int:
    with ChatStore(ember_paths().ensure().chats_db) as store:
        chat = store.create("Router and kettle")
        store.add_message(chat.id, "user", "How do I reset the router?")
        answer = store.add_message(
            chat.id, "assistant", "Hold the red button [1] and descale [2].", model="SmolLM2"
        )
        store.save_citations(answer.id, CITATIONS)
        store.create("An empty chat")
    return chat.id


@pytest.fixture
def window(qtbot, chat_id):  # type: ignore[no-untyped-def]
    from ember.ui.app import create_application, create_window

    create_application()
    win = create_window(start_background=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: win.started, timeout=10_000)
    win.open_conversation(chat_id)
    wait_chats(qtbot, win)
    qtbot.waitUntil(lambda: win.conversation_id == chat_id, timeout=10_000)
    qtbot.waitUntil(lambda: len(win.chat.bubbles) == 2, timeout=10_000)
    settle(qtbot)
    yield win
    for widget in QApplication.topLevelWidgets():
        if widget is not win and widget.isVisible():
            widget.close()
    close_window(win)


def _walked(root: QWidget) -> int:
    return sum(1 for _ in _walk(QAccessible.queryAccessibleInterface(root)))


def test_every_control_of_the_window_has_a_name(qtbot, window) -> None:
    answer = window.chat.bubbles[-1]
    assert answer.sources_row.isVisible()  # its chips are in the tree
    assert window.sidebar.chats.count() == 2  # and the chats
    assert _walked(window) > 40
    assert unnamed(window) == []


def test_a_message_and_its_chips_say_what_they_are(qtbot, window) -> None:
    question, answer = window.chat.bubbles
    name = QAccessible.Text.Name
    assert QAccessible.queryAccessibleInterface(question.body).text(name) == "Your message"
    assert QAccessible.queryAccessibleInterface(answer.body).text(name) == "Answer from SmolLM2"
    chip = answer.sources_row.findChildren(QWidget, "Chip")[0]
    iface = QAccessible.queryAccessibleInterface(chip)
    assert iface.role() == _ROLE.PushButton
    assert iface.text(name).startswith("Source [1] router_manual.pdf")
    assert iface.text(QAccessible.Text.Description) == "Opens the cited passage"


def test_every_tab_of_the_settings_has_names(qtbot, window) -> None:
    dialog = window.open_settings()
    qtbot.waitExposed(dialog)
    tabs = dialog.findChild(QTabWidget)
    for index in range(tabs.count()):
        tabs.setCurrentIndex(index)
        settle(qtbot)
        assert unnamed(dialog) == [], tabs.tabText(index)


def test_the_other_dialogs_have_names(qtbot, window) -> None:
    from ember.ui.dialogs import CollectionDialog
    from ember.ui.document_search import open_search
    from ember.ui.documents_page import RenameDialog
    from ember.ui.shortcuts import show_shortcuts

    dialogs = [
        show_shortcuts(window),
        open_search(window),
        window.documents_admin.open(),
        window.show_citation(CITATIONS[:1]),
    ]
    for made in (
        CollectionDialog(["manuals"], "manuals", 2, window),
        RenameDialog("manuals", ("manuals",), window),
    ):
        made.show()
        dialogs.append(made)
    for dialog in dialogs:
        qtbot.waitExposed(dialog)
        settle(qtbot)
        assert _walked(dialog) > 3, dialog.objectName()
        assert unnamed(dialog) == [], dialog.objectName()


@pytest.mark.qt_log_ignore(
    "This plugin does not support raise", "does not support grabbing the keyboard", extend=True
)
def test_the_menus_items_have_names(qtbot, window) -> None:
    for menu in (window.more_menu, window.collections_menu, window.sidebar.add_docs.menu()):
        menu.popup(window.mapToGlobal(window.rect().center()))
        qtbot.waitExposed(menu)
        items = [i for i in _walk(QAccessible.queryAccessibleInterface(menu))]
        assert any(i.role() == _ROLE.MenuItem for i in items)
        assert unnamed(menu) == []
        menu.close()


def _tab_through(qtbot, window, start: QWidget, presses: int, back: bool = False) -> list[QWidget]:  # type: ignore[no-untyped-def]
    """The widgets Tab (Shift+Tab with ``back``) stops at from ``start``, each once, in order."""
    start.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(start.hasFocus, timeout=2000)
    seen = [start]
    for _ in range(presses):
        focused = QApplication.focusWidget()
        if back:
            qtbot.keyClick(focused, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
        else:
            qtbot.keyClick(focused, Qt.Key.Key_Tab)
        now = QApplication.focusWidget()
        if now is not seen[-1]:
            seen.append(now)
    return seen


def test_tab_goes_from_the_sidebar_through_the_conversation_to_send(qtbot, window) -> None:
    question, answer = window.chat.bubbles
    chips = answer.sources_row.findChildren(QToolButton, "Chip")
    assert len(chips) == 2
    s, c = window.sidebar, window.composer
    expected = [
        s.new_chat, s.search, s.chats, s.add_docs, s.collections, s.models_button,
        s.settings_button,
        window.collections_button, window.model_picker, window.more_button, window.chat,
        question.body, question.edit_button, question.copy_button,
        answer.body, *chips, answer.regenerate_button, answer.copy_button,
        c.input, window.chat_tools.button, c.button,  # (Tools ▾ sits before Send)
    ]  # fmt: skip
    expected = [w for w in expected if w.isVisible()]
    walked = _tab_through(qtbot, window, s.new_chat, 40)
    assert walked[: len(expected)] == expected, [
        f"{type(w).__name__} {w.accessibleName()}" for w in walked
    ]
    # And back: Shift+Tab from the message box reaches the answer's sources, then its text.
    back = _tab_through(qtbot, window, c.input, 5, back=True)
    assert back[1:4] == [answer.copy_button, answer.regenerate_button, chips[-1]]


def test_a_message_added_later_takes_its_place_in_the_tab_order(qtbot, window) -> None:
    from ember.ui.bubble import BubbleData

    added = window.chat.add_bubble(BubbleData(role="user", text="And the kettle?"))
    qtbot.waitUntil(added.isVisible, timeout=2000)
    settle(qtbot)
    back = _tab_through(qtbot, window, window.composer.input, 2, back=True)
    assert back[1] is added.copy_button  # right before the message box, not after the window


@pytest.mark.qt_log_ignore(
    "This plugin does not support raise", "does not support grabbing the keyboard", extend=True
)
def test_every_drop_down_list_has_a_name_when_it_opens(qtbot, window) -> None:
    from ember.ui.dialogs import CollectionDialog

    settings = window.open_settings()
    qtbot.waitExposed(settings)
    tabs = settings.findChild(QTabWidget)
    for index in range(tabs.count()):  # (every page built and shown once)
        tabs.setCurrentIndex(index)
        settle(qtbot)
    collection = CollectionDialog(["manuals"], "manuals", 2, window)
    documents = window.documents_admin.open()
    combos = [window.model_picker]
    for dialog in (settings, collection, documents):
        combos += dialog.findChildren(QComboBox)
    assert len(combos) >= 5
    for combo in combos:
        combo.showPopup()
        popup = combo.view().window()
        qtbot.waitExposed(popup)
        assert unnamed(popup) == [], combo.objectName() or label_of(combo)
        assert combo.view().accessibleName().endswith("choices")
        combo.hidePopup()
    assert window.model_picker.view().accessibleName() == "Model choices"
    assert documents.chooser.view().accessibleName() == "Collection choices"
    collection.close()
