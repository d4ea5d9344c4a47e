"""The window's keyboard shortcuts, in one table: what installs them also lists them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ember.ui.qt import QAction, QKeySequence, QShortcut, Qt


@dataclass(frozen=True, slots=True)
class Shortcut:
    keys: str  # QKeySequence text, e.g. "Ctrl+N"
    what: str  # shown in the Shortcuts list
    run: Callable[[Any], Callable[[], object]]  # the main window -> the slot to call


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("Ctrl+N", "New chat", lambda w: w.conversations.new_chat),
    Shortcut("Ctrl+O", "Add documents…", lambda w: w.documents.choose),
    Shortcut("Ctrl+,", "Settings", lambda w: w.models.open_settings),
    Shortcut("Ctrl+Z", "Undo deleting a chat", lambda w: w.conversations.undo_delete),
    Shortcut("Esc", "Stop the answer", lambda w: w.generator.stop),
)


def install(window: Any) -> None:
    """Give ``window`` (the :class:`~ember.ui.window.MainWindow`) every shortcut of :data:`SHORTCUTS` (window-wide)."""
    for shortcut in SHORTCUTS:
        if shortcut.keys == "Ctrl+O":  # an action, so menus can show it too
            action = QAction(shortcut.what, window)
            action.setShortcut(QKeySequence(shortcut.keys))
            action.triggered.connect(shortcut.run(window))
            window.addAction(action)
            continue
        made = QShortcut(QKeySequence(shortcut.keys), window, shortcut.run(window))
        made.setContext(Qt.ShortcutContext.WindowShortcut)
