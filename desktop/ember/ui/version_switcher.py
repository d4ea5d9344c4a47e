"""The ``‹ 2/3 ›`` switcher on a message that has versions (an edited question, a regenerated
answer): its buttons ask for the previous or next version by message id; the conversation
controller (:mod:`ember.ui.versions`) makes the switch in the chat history and re-threads the
chat below it. Hidden while the message has a single version."""

from __future__ import annotations

from ember.ui.qt import QHBoxLayout, QLabel, QToolButton, QWidget, Signal


class VersionSwitcher(QWidget):
    """Previous / "n/N" / next; ``versionChosen(message_id)`` when a button is pressed (mouse,
    or Space with the keyboard: both buttons are in the Tab order)."""

    versionChosen = Signal(int)  # the id of the version to show

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("VersionSwitcher")
        self._versions: tuple[int, ...] = ()
        self._index = 0
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.previous = QToolButton(self)
        self.previous.setText("‹")
        self.previous.setAccessibleName("Previous version")
        self.previous.clicked.connect(lambda: self._step(-1))
        self.label = QLabel("", self)
        self.label.setObjectName("Meta")
        self.next = QToolButton(self)
        self.next.setText("›")
        self.next.setAccessibleName("Next version")
        self.next.clicked.connect(lambda: self._step(1))
        for widget in (self.previous, self.label, self.next):
            layout.addWidget(widget)
        self.hide()

    def show_versions(self, message_id: int | None, versions: tuple[int, ...]) -> None:
        """Show where ``message_id`` stands among ``versions`` (ids, oldest first); hidden when
        there is only one."""
        self._versions = versions
        if message_id is None or message_id not in versions or len(versions) < 2:
            self.hide()
            return
        self._index = versions.index(message_id)
        number, count = self._index + 1, len(versions)
        self.label.setText(f"{number}/{count}")
        self.label.setAccessibleName(f"Version {number} of {count}")
        self.previous.setEnabled(number > 1)
        self.next.setEnabled(number < count)
        self.previous.setToolTip(f"Previous version ({number} of {count})")
        self.next.setToolTip(f"Next version ({number} of {count})")
        self.show()

    @property
    def text(self) -> str:
        """What the switcher reads, e.g. "2/3" ("" while hidden)."""
        return self.label.text() if not self.isHidden() else ""

    def _step(self, delta: int) -> None:
        index = self._index + delta
        if 0 <= index < len(self._versions):
            self.versionChosen.emit(self._versions[index])
