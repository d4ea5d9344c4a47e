"""The chat database's schema, as ordered, named migrations (append only; never edit a shipped one)."""

from __future__ import annotations

from ember.db import Migration

_CREATE_CHATS = """
CREATE TABLE conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    title_is_auto INTEGER NOT NULL DEFAULT 1,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    collections TEXT NOT NULL DEFAULT '[]',
    deleted_at REAL
);
CREATE INDEX conversations_updated ON conversations(deleted_at, updated);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'done'
        CHECK (state IN ('streaming', 'done', 'cancelled', 'error', 'interrupted')),
    error TEXT,
    ttft_s REAL,
    tokens_per_s REAL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    created REAL NOT NULL
);
CREATE INDEX messages_conversation ON messages(conversation_id, id);
CREATE INDEX messages_state ON messages(state);

CREATE TABLE citations (
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    source TEXT NOT NULL,
    page INTEGER,
    heading TEXT,
    snippet TEXT NOT NULL,
    score REAL NOT NULL,
    PRIMARY KEY (message_id, n)
);
"""

# External-content FTS5 tables kept in step by triggers, so search can never disagree with the
# data it indexes (both change in the same transaction). unicode61 + remove_diacritics lets
# "cafe" find "café"; no stemmer, because prefix search-as-you-type is what the sidebar does.
_CREATE_SEARCH = """
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;

CREATE VIRTUAL TABLE conversations_fts USING fts5(
    title, content='conversations', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO conversations_fts(rowid, title) VALUES (new.id, new.title);
END;
CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN
    INSERT INTO conversations_fts(conversations_fts, rowid, title) VALUES ('delete', old.id, old.title);
END;
CREATE TRIGGER conversations_fts_update AFTER UPDATE OF title ON conversations BEGIN
    INSERT INTO conversations_fts(conversations_fts, rowid, title) VALUES ('delete', old.id, old.title);
    INSERT INTO conversations_fts(rowid, title) VALUES (new.id, new.title);
END;
"""

# Message versions: messages form a tree. ``parent_id`` is the message before it in its branch
# (NULL for a chat's first message); siblings (same parent) are versions of one message, and
# ``chosen`` marks the version the chat shows, so following the chosen child from the root gives
# the conversation. Existing chats become one branch: each message's parent is the one before it.
VERSIONS_MIGRATION = "messages keep versions as a tree (parent and chosen version)"
_MESSAGE_VERSIONS = """
ALTER TABLE messages ADD COLUMN parent_id INTEGER REFERENCES messages(id) ON DELETE CASCADE;
ALTER TABLE messages ADD COLUMN chosen INTEGER NOT NULL DEFAULT 1;
UPDATE messages SET parent_id = (
    SELECT MAX(p.id) FROM messages p
    WHERE p.conversation_id = messages.conversation_id AND p.id < messages.id
);
CREATE INDEX messages_parent ON messages(parent_id);
"""

# Tools: each call the model made while answering (in order, with its text position, approval,
# result and timing; citations as a JSON list of Citation fields), a reasoning model's thinking
# beside the answer, and per chat the tools it may call and whether thinking is shown.
TOOLS_MIGRATION = "tool steps, thinking, and each chat's tools"
_TOOL_STEPS = """
CREATE TABLE tool_steps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    text_offset INTEGER NOT NULL DEFAULT 0,
    call_id TEXT NOT NULL DEFAULT '',
    tool TEXT NOT NULL,
    server TEXT NOT NULL DEFAULT '',
    arguments TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL CHECK (state IN
        ('approval', 'running', 'done', 'error', 'denied', 'cancelled', 'interrupted')),
    decision TEXT,
    result TEXT NOT NULL DEFAULT '',
    truncated INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    started REAL NOT NULL,
    finished REAL,
    citations TEXT NOT NULL DEFAULT '[]',
    UNIQUE (message_id, position)
);
CREATE INDEX tool_steps_state ON tool_steps(state);
ALTER TABLE messages ADD COLUMN thinking TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN tools TEXT NOT NULL DEFAULT '[]';
ALTER TABLE conversations ADD COLUMN show_thinking INTEGER NOT NULL DEFAULT 1;
"""

MIGRATIONS: list[Migration] = [
    Migration("create conversations, messages, citations", _CREATE_CHATS),
    Migration("full-text search over messages and titles", _CREATE_SEARCH),
    # A PDF citation keeps the page's printed label and the document's page count, so it still
    # reads "p. 150 (178 of 261)" after a restart; NULL for citations saved before.
    Migration(
        "citations keep page labels and page counts",
        "ALTER TABLE citations ADD COLUMN page_label TEXT;\n"
        "ALTER TABLE citations ADD COLUMN page_count INTEGER;",
    ),
    Migration(VERSIONS_MIGRATION, _MESSAGE_VERSIONS),
    # Where a cited passage is, for the source viewer: its section, its character offsets in that
    # section's text and the file's SHA-256 when it was indexed; NULL for citations saved before
    # (the viewer then looks for the snippet on the page).
    Migration(
        "citations keep where their passage is",
        "ALTER TABLE citations ADD COLUMN section INTEGER;\n"
        "ALTER TABLE citations ADD COLUMN start INTEGER;\n"
        'ALTER TABLE citations ADD COLUMN "end" INTEGER;\n'
        "ALTER TABLE citations ADD COLUMN content_hash TEXT;",
    ),
    Migration(TOOLS_MIGRATION, _TOOL_STEPS),
]
