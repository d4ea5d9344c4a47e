"""A half-written message stays with its chat: one composer draft per conversation.

The conversations controller calls :meth:`Drafts.leave` before another chat shows (the
composer's text is kept under the chat being left, and the composer empties at once, so Enter
can never send it to the next chat) and :meth:`Drafts.enter` when a chat shows (its own draft
comes back; a new chat's key is ``None``). Drafts are kept across restarts in ``ui.ini``
(:class:`~ember.ui.state.UiState`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ember.ui.qt import QTextCursor

if TYPE_CHECKING:
    from ember.ui.composer import Composer
    from ember.ui.state import UiState


class Drafts:
    """Unsent text per conversation id (``None``: the new chat not yet created)."""

    def __init__(self, composer: Composer) -> None:
        self.composer = composer
        self.texts: dict[int | None, str] = {}

    def leave(self, conversation_id: int | None) -> None:
        """Keep the composer's text under ``conversation_id`` and empty the composer.

        A message being edited is not a draft: the edit is cancelled by the switch."""
        composer = self.composer
        text = "" if composer.editing_message_id is not None else composer.input.toPlainText()
        if text.strip():
            self.texts[conversation_id] = text
        else:
            self.texts.pop(conversation_id, None)
        composer.input.clear()

    def enter(self, conversation_id: int | None) -> None:
        """Show ``conversation_id``'s draft (or nothing) in the composer.

        The draft leaves the table: what is in the composer now is the draft, kept again by
        the next :meth:`leave` (or gone once sent)."""
        text = self.texts.pop(conversation_id, "")
        if self.composer.input.toPlainText() != text:
            self.composer.input.setPlainText(text)
            self.composer.input.moveCursor(QTextCursor.MoveOperation.End)

    def load(self, state: UiState) -> None:
        """Take the drafts kept at the last close (those of chats, not of an unsaved new one)."""
        self.texts.update(state.drafts)

    def save(self, state: UiState, current: int | None) -> None:
        """Keep every chat's draft, the open chat's included, for the next start."""
        kept = {k: v for k, v in self.texts.items() if k is not None}
        text = self.composer.input.toPlainText()
        if current is not None and self.composer.editing_message_id is None:
            if text.strip():
                kept[current] = text
            else:
                kept.pop(current, None)
        state.save_drafts(kept)
