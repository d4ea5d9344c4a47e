"""The window's keyboard shortcuts, in one table: what installs them also lists them
(:class:`ShortcutsDialog`, opened with Ctrl+/ or F1, from the ⋯ menu and from Settings)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ember.ui import document_search, message
from ember.ui.qt import (
    QAction,
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QKeySequence,
    QLabel,
    QShortcut,
    Qt,
    QVBoxLayout,
    QWidget,
)


@dataclass(frozen=True, slots=True)
class Shortcut:
    keys: str  # QKeySequence text, e.g. "Ctrl+N"
    what: str  # shown in the Shortcuts list
    run: Callable[[Any], Callable[[], object]]  # the main window -> the slot to call
    also: tuple[str, ...] = ()  # other keys that do the same (listed on the same line)


def _focus_search(window: Any) -> Callable[[], None]:
    def focus() -> None:
        window.sidebar.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        window.sidebar.search.selectAll()

    return focus


def _focus_composer(window: Any) -> Callable[[], None]:
    return lambda: window.composer.input.setFocus(Qt.FocusReason.ShortcutFocusReason)


def last_answer_text(window: Any) -> str | None:
    """The text of the conversation's last answer as stored (Markdown), or None if there is
    none."""
    answers = [b for b in window.chat.bubbles if b.data.role == "assistant"]
    return answers[-1].data.text if answers else None


def _copy_last_answer(window: Any) -> Callable[[], None]:
    def copy() -> None:
        text = last_answer_text(window)
        if not text:
            message.info("There is no answer to copy yet.")
            return
        QApplication.clipboard().setText(text)
        message.info("The last answer is copied to the clipboard.")

    return copy


def _escape(window: Any) -> Callable[[], None]:
    """Esc: deny the approval card that waits, else stop the answer being written; with none,
    close the source viewer if it is open. (In the viewer itself Esc always closes it: the
    pane takes the key first.)"""

    def escape() -> None:
        viewer = getattr(window, "source_viewer", None)
        if window.generation is None and viewer is not None and viewer.isVisible():
            viewer.close_pane()
        else:
            window.generator.escape()

    return escape


def _search_documents(window: Any) -> Callable[[], object]:
    return lambda: document_search.open_search(window)


def _show_list(window: Any) -> Callable[[], object]:
    return lambda: show_shortcuts(window)


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("Ctrl+N", "New chat", lambda w: w.conversations.new_chat),
    Shortcut("Ctrl+K", "Search chats", _focus_search),
    Shortcut("Ctrl+L", "Go to the message box", _focus_composer),
    Shortcut("Ctrl+O", "Add documents…", lambda w: w.documents.choose),
    Shortcut("Ctrl+Shift+F", "Search your documents", _search_documents),
    Shortcut("Ctrl+,", "Settings", lambda w: w.models.open_settings),
    Shortcut("Ctrl+Shift+M", "Models: find, download, choose", lambda w: w.models.open_hub),
    Shortcut("Ctrl+Z", "Undo deleting a chat", lambda w: w.conversations.undo_delete),
    Shortcut(
        "Esc",
        "Stop the answer (a tool's approval card: Deny); with none, cancel an edit or close "
        "the source viewer",
        _escape,
    ),
    Shortcut("Ctrl+Shift+R", "Answer the last question again", lambda w: w.generator.regenerate),
    Shortcut("Ctrl+Shift+C", "Copy the last answer", _copy_last_answer),
    Shortcut("Ctrl+/", "Keyboard shortcuts", _show_list, also=("F1",)),
    Shortcut("Ctrl+Q", "Quit Ember", lambda w: w.close),
)

# What the message box does with keys (not window shortcuts: listed, not installed).
COMPOSER_KEYS: tuple[tuple[str, str], ...] = (
    ("Enter", "Send the message"),
    ("Shift+Enter", "New line in the message"),
)

# What the source viewer does with keys while the focus is in it (listed, not installed).
VIEWER_KEYS: tuple[tuple[str, str], ...] = (
    ("Esc", "Source viewer: close it"),
    ("Ctrl++, Ctrl+-", "Source viewer: zoom the PDF page in, out (or Ctrl+wheel)"),
    ("Ctrl+0", "Source viewer: fit the PDF page to the width"),
    ("PgUp, PgDown", "Source viewer: scroll; at the page's ends, the page before or after"),
)


def install(window: Any) -> None:
    """Give ``window`` (the :class:`~ember.ui.window.MainWindow`) every shortcut of :data:`SHORTCUTS` (window-wide)
    and a "Keyboard shortcuts" entry in its ⋯ menu (and "Search documents…" in + Add)."""
    for shortcut in SHORTCUTS:
        if shortcut.keys == "Ctrl+O":  # an action, so menus can show it too
            action = QAction(shortcut.what, window)
            action.setShortcut(QKeySequence(shortcut.keys))
            action.triggered.connect(shortcut.run(window))
            window.addAction(action)
            continue
        for keys in (shortcut.keys, *shortcut.also):
            made = QShortcut(QKeySequence(keys), window, shortcut.run(window))
            made.setContext(Qt.ShortcutContext.WindowShortcut)
    window.more_menu.addSeparator()
    window.more_menu.addAction("Keyboard shortcuts", _show_list(window))
    document_search.install(window)  # + Add → Search documents…


def keys_text(shortcut: Shortcut) -> str:
    """The keys as this platform writes them ("Ctrl+N", "⌘N"), alternatives joined by "or"."""
    native = QKeySequence.SequenceFormat.NativeText
    return " or ".join(QKeySequence(k).toString(native) for k in (shortcut.keys, *shortcut.also))


class ShortcutsDialog(QDialog):
    """Every keyboard shortcut of :data:`SHORTCUTS`, the message box's keys and the source
    viewer's, one per row."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ShortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        form.setHorizontalSpacing(24)
        rows = [(keys_text(s), s.what) for s in SHORTCUTS] + [*COMPOSER_KEYS, *VIEWER_KEYS]
        for keys, what in rows:
            label = QLabel(keys, self)
            label.setObjectName("ShortcutKeys")
            said = QLabel(what, self)
            said.setWordWrap(True)  # the list fits a small screen at a large font
            form.addRow(label, said)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def rows(self) -> list[tuple[str, str]]:
        """(keys, what) as shown, top to bottom (tests read it)."""
        form = self.findChild(QFormLayout)
        out = []
        for row in range(form.rowCount()):
            role = QFormLayout.ItemRole
            keys = form.itemAt(row, role.LabelRole).widget()
            what = form.itemAt(row, role.FieldRole).widget()
            out.append((keys.text(), what.text()))
        return out


def show_shortcuts(parent: QWidget) -> ShortcutsDialog:
    """Open the shortcuts list over ``parent`` (not modal: it may stay open while typing)."""
    dialog = ShortcutsDialog(parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
