"""A chat history made with an older schema: what a person who updates Ember already has."""

from __future__ import annotations

from pathlib import Path

from ember.chats.migrations import MIGRATIONS
from ember.db import connect, migrate


def chat_db_before(path: Path, migrations: int) -> None:
    """A chat database at ``path`` with the first ``migrations`` of the schema, holding one chat
    whose answer (message 1) cites one PDF page: /docs/manual.pdf p. 12, "Red to L."."""
    conn = connect(path)
    migrate(conn, MIGRATIONS[:migrations], label="chats")
    conn.execute("INSERT INTO conversations (title, created, updated) VALUES ('Old chat', 0, 0)")
    conn.execute(
        "INSERT INTO messages (conversation_id, role, content, created) "
        "VALUES (1, 'assistant', 'See [1].', 0)"
    )
    conn.execute(
        "INSERT INTO citations (message_id, n, source, page, heading, snippet, score) "
        "VALUES (1, 1, '/docs/manual.pdf', 12, NULL, 'Red to L.', 0.6)"
    )
    conn.commit()
    conn.close()
