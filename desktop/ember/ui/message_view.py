"""Where :mod:`ember.ui.message` reaches the person: dialogs over the window, its status bar."""

from __future__ import annotations

from ember.ui import message
from ember.ui.qt import QMainWindow, QMessageBox, QObject, Qt


class MessageView(QObject):
    """Connects :data:`message.global_bridge` to one window while :meth:`attach` says so."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self._attached = False

    def attach(self, on: bool) -> None:
        """Start (or stop, when the window closes) showing the bridge's messages."""
        if on == self._attached:
            return
        self._attached = on
        bridge = message.global_bridge
        pairs = (
            (bridge.error_shown, self.show_error),
            (bridge.warning_shown, self.show_error),
            (bridge.info_shown, self.notify),
            (bridge.cleared, self.clear),
            (bridge.asked, self.ask),
        )
        for signal, slot in pairs:
            if on:
                signal.connect(slot)
            else:
                signal.disconnect(slot)

    def show_error(self, title: str, text: str) -> QMessageBox:
        """A window-modal error that does not block the event loop."""
        box = QMessageBox(
            QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self.window
        )
        box.setObjectName("ErrorDialog")
        box.setTextFormat(Qt.TextFormat.PlainText)  # file and collection names are not markup
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    def notify(self, text: str, ms: int = 5000) -> None:
        self.window.statusBar().showMessage(text, ms)

    def clear(self) -> None:
        self.window.statusBar().clearMessage()

    def ask(self, question: message.Question) -> QMessageBox:
        """A window-modal question; ``question.on_yes`` runs if the person agrees, ``on_no`` if
        they decline or close it."""
        buttons = QMessageBox.StandardButton
        box = QMessageBox(self.window)
        box.setObjectName(question.name)
        box.setIcon(QMessageBox.Icon.Question)
        box.setTextFormat(Qt.TextFormat.PlainText)  # file and collection names are not markup
        box.setWindowTitle(question.title)
        box.setText(question.text)
        box.setInformativeText(question.detail)
        if question.yes in ("open", "ok"):
            yes = box.addButton(buttons.Open if question.yes == "open" else buttons.Ok)
        else:
            yes = box.addButton(question.yes, QMessageBox.ButtonRole.AcceptRole)
        if question.no:
            no = box.addButton(question.no, QMessageBox.ButtonRole.RejectRole)
        else:
            no = box.addButton(buttons.Cancel)
        box.setDefaultButton(no)
        box.setEscapeButton(no)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def decided(_result: int) -> None:
            if box.clickedButton() is yes:
                if question.on_yes is not None:
                    question.on_yes()
            elif question.on_no is not None:
                question.on_no()

        box.finished.connect(decided)
        box.open()
        return box
