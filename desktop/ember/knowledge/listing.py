"""A collection's documents as a person reads them: state, reason, passages and pages.

``ember docs list`` and the app's documents page show the same thing: a finished document whose
file went or changed since is listed as such (one ``stat`` each, see :mod:`freshness`), a failed
or skipped one with the reason indexing gave, an indexed one with how its text was obtained (its
text layer, or OCR with the pages read and their mean confidence).
"""

from __future__ import annotations

from dataclasses import dataclass

from ember.knowledge.freshness import listed_state
from ember.knowledge.store import DocumentRecord, KnowledgeStore

# What a listed state means, for the states that carry no reason of their own.
STATE_NOTES = {
    "deleted": "deleted since it was indexed",
    "unavailable": "cannot be found now (an unplugged drive?)",
    "changed": "changed since it was indexed",
    "pending": "unfinished: indexing stopped before this file was done",
}


@dataclass(frozen=True, slots=True)
class DocumentRow:
    """One document of a collection as listed.

    ``state``: "done", "failed", "skipped", "pending", "deleted", "changed" or "unavailable";
    ``reason``: why it failed or was skipped, or what its state means ("" for a sound one);
    ``pages``: distinct pages with text (0 for documents without pages)."""

    record: DocumentRecord
    state: str
    reason: str
    pages: int

    @property
    def path(self) -> str:
        """The document's absolute path."""
        return self.record.path

    @property
    def source(self) -> str:
        """How its text was obtained ("text layer", "OCR'd 12 pages, mean confidence 0.93"),
        for a document indexed; "" for one failed, skipped or indexed before Ember kept it."""
        source = self.record.text_source
        if source is None or self.record.state == "failed":
            return ""
        return source.describe(self.record.page_count)

    @property
    def passages(self) -> int:
        """The chunks it was split into (0 unless indexed)."""
        return self.record.chunk_count


def document_rows(store: KnowledgeStore, collection: str) -> list[DocumentRow]:
    """*worker* Every document of ``collection``, by path, as :class:`DocumentRow`."""
    pages = page_counts(store, collection)
    rows = []
    for record in store.documents(collection):
        state = listed_state(record)
        if state in ("failed", "skipped"):
            reason = record.error or ("could not be read" if state == "failed" else "skipped")
        else:
            reason = STATE_NOTES.get(state, "")
        rows.append(DocumentRow(record, state, reason, pages.get(record.id, 0)))
    return rows


def page_counts(store: KnowledgeStore, collection: str) -> dict[int, int]:
    """How many distinct pages have text in each document of ``collection``, by document id
    (documents without pages, such as Markdown, are absent)."""
    rows = store.conn.execute(
        "SELECT ch.document_id, COUNT(DISTINCT ch.page) FROM chunks ch "
        "JOIN documents d ON d.id = ch.document_id JOIN collections c ON c.id = d.collection_id "
        "WHERE c.name = ? AND ch.page IS NOT NULL GROUP BY ch.document_id",
        (collection,),
    )
    return {int(r[0]): int(r[1]) for r in rows}
