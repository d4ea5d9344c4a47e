"""What the window remembers between runs: geometry, splitter sizes, the last open chat, the
unsent drafts.

Kept in ``ui.ini`` next to the settings file (QSettings in INI format, never the registry), so
``EMBER_HOME`` isolates it like everything else.
"""

from __future__ import annotations

import json

from ember.paths import Paths
from ember.ui.qt import QByteArray, QSettings


class UiState:
    def __init__(self, paths: Paths) -> None:
        self.path = paths.config_dir / "ui.ini"
        self._settings = QSettings(str(self.path), QSettings.Format.IniFormat)

    def _bytes(self, key: str) -> QByteArray | None:
        value = self._settings.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    @property
    def geometry(self) -> QByteArray | None:
        return self._bytes("window/geometry")

    @property
    def splitter(self) -> QByteArray | None:
        return self._bytes("window/splitter")

    @property
    def last_conversation(self) -> int | None:
        value = self._settings.value("chats/last")
        try:
            return int(value) if value not in (None, "") else None  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None

    def save(
        self, geometry: QByteArray, splitter: QByteArray, last_conversation: int | None
    ) -> None:
        self._settings.setValue("window/geometry", geometry)
        self._settings.setValue("window/splitter", splitter)
        self._settings.setValue(
            "chats/last", "" if last_conversation is None else last_conversation
        )
        self._settings.sync()

    def remember_conversation(self, conversation_id: int | None) -> None:
        """Keep ``conversation_id`` as the chat to reopen at the next start, now (a tiny INI
        write), so a crash or ``kill -9`` reopens the chat that was open, not the one open at the
        last clean close."""
        value = "" if conversation_id is None else conversation_id
        if self._settings.value("chats/last") != value:
            self._settings.setValue("chats/last", value)
            self._settings.sync()

    @property
    def drafts(self) -> dict[int, str]:
        """Unsent text per conversation id, as kept at the last close (unreadable: none)."""
        try:
            raw = json.loads(str(self._settings.value("chats/drafts") or "{}"))
            return {int(k): v for k, v in raw.items() if isinstance(v, str) and v.strip()}
        except (ValueError, TypeError, AttributeError):
            return {}

    def save_drafts(self, drafts: dict[int, str]) -> None:
        self._settings.setValue("chats/drafts", json.dumps({str(k): v for k, v in drafts.items()}))
        self._settings.sync()
