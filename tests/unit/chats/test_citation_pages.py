"""A saved citation keeps its PDF page label and page count, so it reads the same after a restart;
citations saved before labels existed still load."""

from __future__ import annotations

from pathlib import Path

from tests.support.old_chats import chat_db_before

from ember.chats.store import ChatStore
from ember.knowledge.types import Citation

LABELED = Citation(1, "/docs/manual.pdf", 178, "Wiring", "Red to L.", 0.7, "150", 261)


def test_a_citations_page_label_and_page_count_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    with ChatStore(path) as store:
        chat = store.create()
        answer = store.add_message(chat.id, "assistant", "Red goes to L [1].")
        store.save_citations(answer.id, [LABELED])
    with ChatStore(path) as store:
        (citation,) = store.messages(chat.id)[-1].citations
        assert citation == LABELED
        assert citation.page_text() == "p. 150 (178 of 261)"
        assert store.citations(answer.id) == (LABELED,)


def test_citations_saved_before_page_labels_load_without_them(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    chat_db_before(path, 2)  # the schema before page labels
    with ChatStore(path) as store:
        (citation,) = store.citations(1)
    assert (citation.page, citation.page_label, citation.page_count) == (12, None, None)
    assert citation.page_text() == "p. 12"


def test_the_markdown_export_names_the_printed_page(tmp_path: Path) -> None:
    with ChatStore(tmp_path / "chats.sqlite3") as store:
        chat = store.create()
        answer = store.add_message(chat.id, "assistant", "Red goes to L [1].")
        store.save_citations(answer.id, [LABELED])
        markdown = store.export_markdown(chat.id)
    assert "1. /docs/manual.pdf, page 150 (178 of 261) — Wiring" in markdown
