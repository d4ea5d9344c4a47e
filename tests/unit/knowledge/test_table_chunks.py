"""A long table cut into chunks: every chunk of its rows still says what the columns are.

After chunking, later rows of a long table used to be bare numbers ("| Wenlumane | 525 | 10.3 |"),
so neither search nor the model could tell a melting point from a density (case 12 of the shared
cases; Open WebUI #30413). Every parser writes tables as Markdown pipe tables, and the chunker
repeats the header row and its separator at the top of each chunk that starts among the rows.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from tests.support import nasty_files
from tests.support.tiny_embedder import TinyEmbedder

from ember.knowledge import KnowledgeBase
from ember.knowledge.chunking import ChunkingOptions, chunk_document, embedding_text
from ember.knowledge.embedder import MiniLMEmbedder
from ember.knowledge.parsers import parse_in_this_process
from ember.knowledge.types import ParsedDocument, Section

COUNT = TinyEmbedder().count_tokens
HEADER = "| Pump | Flow (l/min) | Head (m) | Price (EUR) |"
RULE = "| --- | --- | --- | --- |"


def _rows(n: int) -> list[list[str]]:
    rng = random.Random(7)
    return [
        [
            f"Model {chr(65 + i % 26)}{i}",
            str(rng.randint(10, 90)),
            str(rng.randint(2, 40)),
            str(rng.randint(80, 900)),
        ]
        for i in range(n)
    ]


def _markdown_table(rows: list[list[str]]) -> str:
    return "\n".join([HEADER, RULE, *("| " + " | ".join(r) + " |" for r in rows)])


def _table_chunks(document: ParsedDocument) -> list[str]:
    return [c.text for c in chunk_document(document, COUNT) if "| Model " in c.text]


def test_every_chunk_of_a_long_markdown_table_starts_with_its_header() -> None:
    text = "Pumps we stock, measured in our workshop.\n\n" + _markdown_table(_rows(60))
    chunks = _table_chunks(ParsedDocument("/x/pumps.md", "markdown", (Section(text),)))
    assert len(chunks) > 3
    assert all(chunk.startswith(f"{HEADER}\n{RULE}\n") or HEADER in chunk for chunk in chunks)
    assert sum(chunk.count(HEADER) for chunk in chunks) == len(chunks)  # said once per chunk


def test_a_chunk_that_begins_above_the_table_is_not_given_a_second_header() -> None:
    text = "Intro sentence.\n" + _markdown_table(_rows(3))
    [chunk] = chunk_document(ParsedDocument("/x/p.md", "markdown", (Section(text),)), COUNT)
    assert chunk.text == text and chunk.text.count(HEADER) == 1


def test_offsets_still_point_at_the_rows_themselves() -> None:
    text = _markdown_table(_rows(60))
    document = ParsedDocument("/x/pumps.md", "markdown", (Section(text),))
    for chunk in chunk_document(document, COUNT)[1:]:
        assert chunk.text.endswith(text[chunk.start : chunk.end])


def test_a_header_that_would_overflow_the_chunk_is_not_repeated() -> None:
    wide = "| " + " | ".join(f"Column number {i}" for i in range(12)) + " |"
    rule = "|" + " --- |" * 12
    rows = ["| " + " | ".join(str(i * j) for j in range(12)) + " |" for i in range(80)]
    text = "\n".join([wide, rule, *rows])
    options = ChunkingOptions(target_tokens=40, overlap_tokens=6, max_tokens=60)
    chunks = chunk_document(ParsedDocument("/x/w.md", "markdown", (Section(text),)), COUNT, options)
    assert all(COUNT([c.text])[0] <= options.max_tokens for c in chunks)


def test_a_long_word_table_is_chunked_with_its_header(tmp_path: Path) -> None:
    rows = [["Pump", "Flow (l/min)", "Head (m)", "Price (EUR)"], *_rows(60)]
    path = nasty_files.write_docx(tmp_path / "pumps.docx", [("p", "Stock list."), ("table", rows)])
    chunks = _table_chunks(parse_in_this_process("docx", path))
    assert len(chunks) > 3 and all(chunk.startswith(HEADER) for chunk in chunks[1:])


def test_a_long_html_table_is_chunked_with_its_header(tmp_path: Path) -> None:
    cells = "".join(f"<tr><td>{'</td><td>'.join(r)}</td></tr>" for r in _rows(60))
    head = "<tr><th>Pump</th><th>Flow (l/min)</th><th>Head (m)</th><th>Price (EUR)</th></tr>"
    path = tmp_path / "pumps.html"
    path.write_text(f"<html><body><h1>Pumps</h1><table>{head}{cells}</table></body></html>")
    chunks = _table_chunks(parse_in_this_process("html", path))
    assert len(chunks) > 3 and all(chunk.startswith(HEADER) for chunk in chunks[1:])


@pytest.mark.slow
def test_a_row_far_from_the_header_is_found_with_its_column_names(
    tmp_path: Path, minilm: MiniLMEmbedder
) -> None:
    rows = _rows(60)
    target = rows[50]
    (tmp_path / "pumps.md").write_text("# Pump list\n\n" + _markdown_table(rows), encoding="utf-8")
    with KnowledgeBase(tmp_path / "kb", embedder=minilm) as kb:
        kb.index([tmp_path / "pumps.md"], "pumps")
        hit = kb.search(f"What is the flow of the {target[0]} pump?", None, 3).hits[0]
    assert f"| {target[0]} | {target[1]} |" in hit.text
    assert "Flow (l/min)" in hit.text


def test_a_chunk_that_starts_on_the_separator_line_gets_the_header_row() -> None:
    from ember.knowledge.chunking import _header_above, _tables

    text = "Some prose.\n" + _markdown_table(_rows(3))
    tables = _tables(text)
    assert _header_above(tables, text.index(RULE)) == HEADER
    assert _header_above(tables, text.index("| Model")) == f"{HEADER}\n{RULE}"
    assert _header_above(tables, text.index(HEADER)) is None
    assert _header_above(tables, 0) is None


def test_with_its_title_and_headings_no_table_chunk_exceeds_the_embedders_limit(
    minilm: MiniLMEmbedder,
) -> None:
    columns = 20
    wide = "| " + " | ".join(f"Temp {i}" for i in range(columns)) + " |"
    rule = "|" + " --- |" * columns
    rows = ["| " + " | ".join(str(98765 * i + j) for j in range(columns)) + " |" for i in range(40)]
    section = Section("\n".join([wide, rule, *rows]), heading_path=("Appendix C", "Raw data"))
    document = ParsedDocument("/x/w.md", "markdown", (section,), title="Station log " * 10)
    chunks = chunk_document(document, minilm.count_tokens)
    embedded = [embedding_text(c, document.title) for c in chunks]
    assert max(minilm.count_tokens(embedded)) <= ChunkingOptions().max_tokens
