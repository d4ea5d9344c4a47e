"""PDF page labels: a citation names the page a reader finds ("p. 150 (178 of 261)"), from the
parser through the index to the citation."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.labeled_pdf import FIRST_BODY_PAGE, PAGE_COUNT, write_labeled_manual

from ember.db import connect, migrate
from ember.knowledge import KnowledgeBase
from ember.knowledge.grounding import ground, source_label
from ember.knowledge.migrations import MIGRATIONS
from ember.knowledge.parsers.pdf import parse
from ember.knowledge.store import KnowledgeStore
from ember.knowledge.types import Citation, page_reference


def test_each_page_keeps_its_printed_label_and_the_document_its_page_count(
    tmp_path: Path,
) -> None:
    document = parse(write_labeled_manual(tmp_path / "kettle.pdf"))
    assert document.page_count == PAGE_COUNT
    assert [(s.page, s.page_label) for s in document.sections] == [
        (1, "i"),
        (2, "ii"),
        (3, "1"),
        (4, "2"),
        (5, "3"),
        (6, "4"),
    ]


def test_a_pdf_without_page_labels_has_none(tmp_path: Path) -> None:
    document = parse(write_labeled_manual(tmp_path / "plain.pdf", labels=False))
    assert document.page_count == PAGE_COUNT
    assert {s.page_label for s in document.sections} == {None}


@pytest.mark.parametrize(
    ("page", "label", "count", "shown"),
    [
        (178, "150", 261, "p. 150 (178 of 261)"),
        (178, "178", 261, "p. 178"),
        (178, None, 261, "p. 178"),
        (178, None, None, "p. 178"),
        (4, "iv", None, "p. iv (4)"),
        (None, None, 10, None),
        # A format without pages: the label is the whole locator.
        (None, "slide 7", None, "slide 7"),
    ],
)
def test_a_page_reads_as_its_label_with_the_physical_page_where_they_differ(
    page: int | None, label: str | None, count: int | None, shown: str | None
) -> None:
    assert page_reference(page, label, count) == shown


def test_a_citation_says_where_in_the_file_with_the_chosen_word() -> None:
    citation = Citation(1, "/m.pdf", 178, None, "text", 0.5, page_label="150", page_count=261)
    assert citation.page_text() == "p. 150 (178 of 261)"
    assert citation.page_text("page") == "page 150 (178 of 261)"


def test_an_indexed_pdf_hit_and_its_citation_carry_label_and_page_count(
    tmp_path: Path, tiny_kb: KnowledgeBase
) -> None:
    manual = write_labeled_manual(tmp_path / "kettle.pdf")
    report = tiny_kb.index([manual], "manuals")
    assert not report.failed, report.failed
    result = tiny_kb.search("descaling the kettle with vinegar limescale", k=1)
    hit = result.hits[0]
    assert (hit.page, hit.page_label, hit.page_count) == (FIRST_BODY_PAGE + 1, "2", PAGE_COUNT)
    assert source_label(hit).startswith(f"kettle.pdf, page 2 ({FIRST_BODY_PAGE + 1} of 6)")
    citation = ground(result, question="descaling the kettle with vinegar").citations[0]
    assert citation.page_text() == f"p. 2 ({FIRST_BODY_PAGE + 1} of 6)"
    assert tiny_kb.store.documents("manuals")[0].page_count == PAGE_COUNT


def test_an_index_from_before_page_labels_is_migrated_and_still_searchable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "knowledge.sqlite3"
    conn = connect(path)
    migrate(conn, MIGRATIONS[:3], label="knowledge")  # the schema before page labels
    conn.execute("INSERT INTO collections (name, created) VALUES ('old', 0)")
    conn.execute(
        "INSERT INTO documents (collection_id, path, state) VALUES (1, '/docs/kettle.pdf', 'done')"
    )
    contents = "Contents\nUnpacking the kettle ........ 1\nDescaling the kettle ........ 2"
    body = "Fill the jug halfway with vinegar and water, then boil it."
    for ordinal, text in enumerate((contents, body)):
        conn.execute(
            'INSERT INTO chunks (document_id, ordinal, text, embed_text, section, start, "end", '
            "page) VALUES (1, ?, ?, ?, ?, 0, ?, ?)",
            (ordinal, text, text, ordinal, len(text), ordinal + 2),
        )
    conn.commit()
    conn.close()

    store = KnowledgeStore(path)
    try:
        rows = store.chunk_rows([1, 2])
        assert [(r.page, r.page_label, r.page_count, r.is_toc) for r in rows.values()] == [
            (2, None, None, True),
            (3, None, None, False),
        ]
        assert store.documents("old")[0].page_count is None
        assert store.keyword_search('"vinegar"', None, 5) == [2]
    finally:
        store.close()
