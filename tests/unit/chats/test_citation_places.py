"""A saved citation keeps where its passage is (section, character offsets, the file's hash at
indexing) for the source viewer; citations saved before load without them."""

from __future__ import annotations

from pathlib import Path

from tests.support.old_chats import chat_db_before

from ember.chats.store import ChatStore
from ember.knowledge.types import Citation

PLACED = Citation(
    1, "/docs/manual.pdf", 12, None, "Red to L.", 0.7, "10", 40, 11, 140, 455, "ab" * 32
)


def test_a_citations_section_offsets_and_hash_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    with ChatStore(path) as store:
        chat = store.create()
        answer = store.add_message(chat.id, "assistant", "Red goes to L [1].")
        store.save_citations(answer.id, [PLACED])
    with ChatStore(path) as store:
        (citation,) = store.messages(chat.id)[-1].citations
    assert citation == PLACED
    assert (citation.section, citation.start, citation.end) == (11, 140, 455)
    assert citation.content_hash == "ab" * 32


def test_citations_saved_before_offsets_load_without_them(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    chat_db_before(path, 3)  # the schema before offsets and hashes
    with ChatStore(path) as store:
        (citation,) = store.citations(1)
    assert (citation.page, citation.snippet) == (12, "Red to L.")
    assert (citation.section, citation.start, citation.end, citation.content_hash) == (None,) * 4
