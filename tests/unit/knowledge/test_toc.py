"""Table-of-contents passages: told from body text at chunk time, ranked after body text."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.labeled_pdf import CONTENTS_PAGE, FIRST_BODY_PAGE, TOPICS, write_labeled_manual
from tests.support.tiny_embedder import TinyEmbedder

from ember.knowledge import KnowledgeBase
from ember.knowledge.chunking import ChunkingOptions, chunk_document
from ember.knowledge.embedder import MiniLMEmbedder
from ember.knowledge.toc import looks_like_toc
from ember.knowledge.types import ParsedDocument, Section

CONTENTS = [
    "Contents\n1 Installation ........ 12\n1.1 On Linux ....... 13\n"
    "1.2 On Windows . . . . . . . 15\n2 Configuration ........ 21",
    # lines run together by a PDF's text layer
    "Contents 1 Installation ........ 12 1.1 On Linux ....... 13 1.2 On Windows . . . . . 15 "
    "2 Configuration ........ 21",
    "Preface ........ ix\nAcknowledgements ...... xi\nIntroduction ....... 1",
    "Overview \u2026\u2026\u2026\u2026 3\nGetting help \u2026\u2026\u2026\u2026 9",
    # no leaders: titles and page numbers, rising
    "Contents\n1 Getting started 1\n1.1 Installing 3\n1.2 First steps 7\n"
    "2 Working with files 15\n2.1 Opening a file 16",
    # chunks an older Ember cut out of a contents page: a number or a title parted from its line
    "2\nReplacing the water filter ...... 3\nResetting the cut-out ...... 4",
    "Contents\nUnpacking the kettle ....... 1\nDescaling the kettle with vinegar .......",
    # a single entry whose leaders filled a whole chunk
    f"Descaling the kettle with vinegar {'. ' * 40} 12",
]

BODY = [
    "Install the package with pip. Then run the setup script.... it takes a minute. "
    "See section 3.4.1 for details.",
    "1. Open the lid\n2. Fill with water up to 1.7\n3. Close the lid and press the switch\n"
    "4. Wait for the click",
    "Timeout in seconds 30\nRetries 5\nPort 8080\nMaximum connections 100",
    "Voltage ........ 230\nPower ........ 2200\nCapacity ........ 1.7\nWeight ....... 1",
    "| Model | Watts |\n| --- | --- |\n| K100 | 1200 |\n| K200 | 1500 |\n| K300 | 2200 |",
    "x = 1\ny = 2\nfor i in range(10):\n    print(i)\nz = 3",
    "The results were as follows. Speed ........ 12\nWe then measured the temperature of the "
    "water and found it boiling after three minutes, as expected.",
    "Wait... then wait more.... and then some. Loading.... 100% done. Nearly there... really.",
    "Python 3.8 released 2019\nPython 3.9 released 2020\nPython 3.10 released 2021\n"
    "Python 3.11 released 2022",
    "Open 192.168.1.1 in a browser.\nLog in as admin.\nThe default port is 80",
    "See chapter 4 ........ for the wiring diagram, and the safety notes before you start.",
]


@pytest.mark.parametrize("text", CONTENTS)
def test_contents_entries_are_recognised(text: str) -> None:
    assert looks_like_toc(text)


@pytest.mark.parametrize("text", BODY)
def test_body_text_with_a_few_dotted_numbers_is_not_contents(text: str) -> None:
    assert not looks_like_toc(text)


def test_a_contents_line_is_never_cut_between_its_title_and_its_page_number() -> None:
    lines = [f"Chapter title number {n} {'.' * 20} {n * 3}" for n in range(1, 30)]
    document = ParsedDocument("/m.pdf", "pdf", (Section("\n".join(lines), page=2),))
    chunks = chunk_document(document, TinyEmbedder().count_tokens, ChunkingOptions(40, 5, 120))
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.is_toc
        for line in chunk.text.splitlines():
            assert line.split()[-1].isdigit(), line


def test_chunks_of_a_contents_page_are_flagged_and_body_pages_are_not(tmp_path: Path) -> None:
    from ember.knowledge.parsers.pdf import parse

    document = parse(write_labeled_manual(tmp_path / "kettle.pdf"))
    chunks = chunk_document(document, TinyEmbedder().count_tokens)
    assert {c.page for c in chunks if c.is_toc} == {CONTENTS_PAGE}
    assert all(not c.is_toc for c in chunks if c.page != CONTENTS_PAGE)


def test_contents_come_after_every_body_passage(tmp_path: Path, tiny_kb: KnowledgeBase) -> None:
    tiny_kb.index([write_labeled_manual(tmp_path / "kettle.pdf")], "manuals")
    hits = tiny_kb.search("Unpacking the kettle", k=10).hits
    flags = [hit.is_toc for hit in hits]
    assert True in flags  # the contents are still there, when nothing better is
    assert flags == sorted(flags)  # ... but after all the body text
    assert hits[0].page == FIRST_BODY_PAGE


@pytest.mark.slow
@pytest.mark.parametrize(("number", "topic"), list(enumerate(TOPICS)))
def test_a_question_in_the_contents_words_finds_the_body_page_first(
    tmp_path: Path, minilm: MiniLMEmbedder, number: int, topic: tuple[str, str]
) -> None:
    with KnowledgeBase(tmp_path / "kb", embedder=minilm) as kb:
        kb.index([write_labeled_manual(tmp_path / "kettle.pdf")], "manuals")
        title, _ = topic
        hits = kb.search(f"How do I go about {title.lower()}?", k=3).hits
    assert hits[0].page == FIRST_BODY_PAGE + number
    assert CONTENTS_PAGE not in [hit.page for hit in hits]
