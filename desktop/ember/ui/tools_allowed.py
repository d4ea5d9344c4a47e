"""Settings → Tools, "Always allowed": the tools that run without asking first
(``Settings.tools_always_allowed``, keys "server/tool"), each removable; the dialog's Save keeps
the change (:meth:`AllowedTools.keys`)."""

from __future__ import annotations

from ember.tools.types import BUILTIN
from ember.ui.accessibility import name
from ember.ui.qt import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    Qt,
    QVBoxLayout,
    QWidget,
)


def allowed_label(key: str) -> str:
    """How a ``tools_always_allowed`` key ("server/tool") reads in the list."""
    server, _, tool = key.partition("/")
    if not tool:
        return key
    return f"{tool} (built-in)" if server == BUILTIN else f"{tool} (server {server})"


def wrapped_label(text: str, parent: QWidget, object_name: str = "Muted") -> QLabel:
    """A wrapped plain-text label (``object_name`` "Muted" or "Error" picks its look)."""
    label = QLabel(text, parent)
    label.setObjectName(object_name)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


class AllowedTools(QGroupBox):
    """The list (or "None"), and Remove for the chosen rows."""

    def __init__(self, keys: list[str], parent: QWidget | None = None) -> None:
        super().__init__("Always allowed", parent)
        column = QVBoxLayout(self)
        column.addWidget(
            wrapped_label(
                "These tools run without asking you first (you chose “Always allow”). Remove "
                "one to be asked again; the dialog's Save keeps the change.",
                self,
            )
        )
        self.list = QListWidget(self)
        name(self.list, "Tools always allowed")
        for key in keys:
            item = QListWidgetItem(allowed_label(key))
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setToolTip(key)
            self.list.addItem(item)
        column.addWidget(self.list)
        self.none = wrapped_label("None: every tool that can change something asks first.", self)
        column.addWidget(self.none)
        row = QHBoxLayout()
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.setAccessibleName("Remove from always allowed")
        self.remove_button.clicked.connect(self.remove_chosen)
        self.list.itemSelectionChanged.connect(self._changed)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        column.addLayout(row)
        self._changed()

    def keys(self) -> list[str]:
        """The keys left, in order (the ``tools_always_allowed`` to save)."""
        return [
            str(self.list.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.list.count())
        ]

    def remove_chosen(self) -> None:
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))
        self._changed()

    def _changed(self) -> None:
        empty = self.list.count() == 0
        self.list.setVisible(not empty)
        self.none.setVisible(empty)
        self.remove_button.setEnabled(bool(self.list.selectedItems()))
