"""The settings dialog's "Local API" tab: the switch, the address, the API key.

The switch, host and port are saved with the other settings (``api_enabled``, ``api_host``,
``api_port``); the window's :class:`~ember.ui.api_control.ApiControl` then serves as they say.
The key is not a setting: it lives in its own file (``ember.api.config``); "New key" replaces it
at once, after the person agreed that apps using the old one will stop working. Saving an address
that other computers can reach asks first; declining puts the host back to 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ember.ui import message
from ember.ui.api_control import ApiControl, address
from ember.ui.qt import (
    QApplication,
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    Qt,
    QWidget,
)

if TYPE_CHECKING:
    from ember.config import Settings

LOOPBACK = "127.0.0.1"
HOW_TO_USE = (
    "How to use: point an OpenAI client's base URL at the address above and use the key as its "
    "API key. See “Use Ember from other apps” in Ember's README for the snippet, curl and the "
    "MCP client setup."
)


def _loopback(host: str) -> bool:
    from ember.api.config import is_loopback

    return is_loopback(host)


def _selectable(label: QLabel) -> QLabel:
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


class ApiSection(QWidget):
    """The tab's widgets. ``control`` is the window's API controller (None: a dialog without a
    window, where the key cannot be shown or changed)."""

    def __init__(
        self, settings: Settings, control: ApiControl | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("ApiSettings")
        self.control = control
        self._saved = settings
        form = QFormLayout(self)
        self.enabled = QCheckBox("Let other apps use Ember (OpenAI-compatible API)", self)
        self.enabled.setAccessibleName("Let other apps use Ember")
        self.enabled.setChecked(settings.api_enabled)
        form.addRow(self.enabled)
        self.host = QLineEdit(settings.api_host, self)
        self.host.setAccessibleName("API host")
        self.host.setPlaceholderText(LOOPBACK)
        self.host.setToolTip("127.0.0.1: this computer only. 0.0.0.0: every network it is on.")
        form.addRow("Host", self.host)
        self.port = QSpinBox(self)
        self.port.setAccessibleName("API port")
        self.port.setRange(1, 65535)
        self.port.setValue(settings.api_port)
        form.addRow("Port", self.port)
        self.idle = QSpinBox(self)
        self.idle.setAccessibleName("Unload the model after this many idle minutes")
        self.idle.setRange(0, 24 * 60)
        self.idle.setSuffix(" min")
        self.idle.setSpecialValueText("Never")
        self.idle.setValue(round(settings.api_idle_unload_s / 60))
        self.idle.setToolTip(
            "`ember serve` frees the model's memory after this long without requests and loads "
            "it again on the next one. The window keeps the model you chose loaded."
        )
        form.addRow("Unload after", self.idle)
        self.warning = QLabel("", self)
        self.warning.setObjectName("RemoteWarning")  # the warning colours of both themes
        self.warning.setWordWrap(True)
        self.warning.setText(
            "Other computers on your network will be able to reach Ember at this address "
            "(they still need the API key)."
        )
        form.addRow(self.warning)
        self.address = _selectable(QLabel("", self))
        self.address.setAccessibleName("API address")
        form.addRow("Address", self.address)
        self.mcp = _selectable(QLabel("", self))
        self.mcp.setObjectName("Muted")
        self.mcp.setAccessibleName("MCP address")
        form.addRow("MCP", self.mcp)

        key_row = QHBoxLayout()
        self.key = QLineEdit(self)
        self.key.setReadOnly(True)  # selectable, not editable
        self.key.setAccessibleName("API key")
        self.copy_button = QPushButton("Copy", self)
        self.copy_button.setAccessibleName("Copy the API key")
        self.copy_button.clicked.connect(self.copy_key)
        self.new_key_button = QPushButton("New key…", self)
        self.new_key_button.setAccessibleName("Make a new API key")
        self.new_key_button.clicked.connect(self.ask_new_key)
        key_row.addWidget(self.key, 1)
        key_row.addWidget(self.copy_button)
        key_row.addWidget(self.new_key_button)
        form.addRow("API key", key_row)
        self.state = _selectable(QLabel("", self))
        self.state.setObjectName("Muted")
        self.state.setAccessibleName("Local API state")
        form.addRow("", self.state)
        self.how = _selectable(QLabel(HOW_TO_USE, self))
        self.how.setObjectName("Muted")
        self.how.setAccessibleName("How to use the local API")
        form.addRow(self.how)

        self.host.textChanged.connect(self._address_changed)
        self.port.valueChanged.connect(self._address_changed)
        self.enabled.toggled.connect(self._show_state)
        self._address_changed()
        self._show_key()
        if control is not None:
            control.serving.connect(self._show_state)
            control.stopped.connect(self._show_state)
            control.failed.connect(self._show_state)
        self._show_state()

    # -- what the dialog reads ------------------------------------------------------------------

    def values(self) -> dict[str, object]:
        """The settings fields this tab sets."""
        return {
            "api_enabled": self.enabled.isChecked(),
            "api_host": self.host.text().strip() or LOOPBACK,
            "api_port": self.port.value(),
            "api_idle_unload_s": self._idle_seconds(),
        }

    def _idle_seconds(self) -> int:
        """The idle time in seconds: the saved value unless the minutes shown were changed."""
        saved = self._saved.api_idle_unload_s
        return saved if self.idle.value() == round(saved / 60) else self.idle.value() * 60

    def confirm(self, then: Callable[[], None]) -> bool:
        """True when these values may be saved now. An address other computers can reach,
        newly served, asks first: False is returned, and ``then`` runs once the person agreed
        (declining puts the host back to 127.0.0.1 and saves nothing)."""
        values = self.values()
        host = str(values["api_host"])
        saved = self._saved
        already = saved.api_enabled and saved.api_host.strip() == host
        if not values["api_enabled"] or _loopback(host) or already:
            return True

        def agreed() -> None:
            self._saved = saved.model_copy(update={"api_enabled": True, "api_host": host})
            then()

        message.ask(
            message.Question(
                name="ConfirmApiHost",
                title="Let other computers reach Ember?",
                text=(
                    f"Serving on {host} lets other computers on your network reach Ember's API. "
                    "Anyone with the API key can then use your model and ask your documents."
                ),
                detail="Choose Cancel to serve on this computer only (127.0.0.1).",
                yes="Allow other computers",
                on_yes=agreed,
                on_no=lambda: self.host.setText(LOOPBACK),
            )
        )
        return False

    # -- the key ---------------------------------------------------------------------------------

    def _show_key(self) -> None:
        from ember.errors import ConfigError

        usable = self.control is not None
        self.copy_button.setEnabled(usable)
        self.new_key_button.setEnabled(usable)
        if self.control is None:
            self.key.setText("")
            self.key.setPlaceholderText("Shown when Ember's window is open")
            return
        try:
            self.key.setText(self.control.key())
            self.key.setCursorPosition(0)  # its start shows, as a person reads it
        except ConfigError as exc:
            self.key.setText("")
            self.key.setPlaceholderText(str(exc))
            self.copy_button.setEnabled(False)

    def copy_key(self) -> None:
        if self.key.text():
            QApplication.clipboard().setText(self.key.text())
            message.info("API key copied.", 3000)

    def ask_new_key(self) -> None:
        message.ask(
            message.Question(
                name="ConfirmNewApiKey",
                title="Make a new API key?",
                text=(
                    "Apps using the current key will stop working until you give them the new "
                    "one. If the API is on, it restarts with the new key."
                ),
                yes="Make a new key",
                on_yes=self.new_key,
            )
        )

    def new_key(self) -> None:
        """Replace the API key now (the person agreed) and show the new one."""
        from ember.errors import ConfigError

        if self.control is None:
            return
        try:
            self.key.setText(self.control.rotate_key())
            self.key.setCursorPosition(0)
        except ConfigError as exc:
            message.error("No new API key", str(exc))

    # -- what is shown ---------------------------------------------------------------------------

    def _address_changed(self) -> None:
        host = self.host.text().strip() or LOOPBACK
        base = address(host, self.port.value())
        self.address.setText(f"{base}/v1")
        self.mcp.setText(f"MCP clients (streamable HTTP): {base}/mcp")
        self.warning.setVisible(not _loopback(host))

    def _show_state(self, *_args: object) -> None:
        url = self.control.url if self.control is not None else None
        wanted = self.enabled.isChecked()
        if url is not None and wanted:
            self.state.setText(f"On: serving at {url}")
        elif url is not None:
            self.state.setText(f"On at {url} until you save: then off.")
        elif wanted:
            self.state.setText("Off: serves once you save.")
        else:
            self.state.setText("Off: no other app can use Ember.")
