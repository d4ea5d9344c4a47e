from __future__ import annotations

import itertools
import re

from tests.support.tiny_embedder import TinyEmbedder

from ember.knowledge.chunking import ChunkingOptions, chunk_document, embedding_text
from ember.knowledge.embedder import MiniLMEmbedder
from ember.knowledge.types import ParsedDocument, Section

COUNT = TinyEmbedder().count_tokens
SMALL = ChunkingOptions(target_tokens=20, overlap_tokens=6, max_tokens=60)


def sentences(n: int, words: int = 5) -> str:
    return " ".join(f"Sentence {i} has " + "word " * (words - 3) + "end." for i in range(n))


def doc(*sections: Section, title: str | None = None) -> ParsedDocument:
    return ParsedDocument("/x/doc.txt", "text", tuple(sections), title=title)


def test_every_chunk_fits_the_target_size() -> None:
    chunks = chunk_document(doc(Section(sentences(40))), COUNT, SMALL)
    assert len(chunks) > 5
    assert all(COUNT([c.text])[0] <= SMALL.target_tokens + SMALL.overlap_tokens for c in chunks)


def test_offsets_point_at_the_chunk_text_in_its_section() -> None:
    text = "First paragraph here.\n\n" + sentences(12)
    chunks = chunk_document(doc(Section("intro"), Section(text, page=2)), COUNT, SMALL)
    for chunk in chunks:
        section_text = ["intro", text][chunk.section]
        assert section_text[chunk.start : chunk.end] == chunk.text


def test_chunks_never_cross_sections_and_keep_page_and_headings() -> None:
    chunks = chunk_document(
        doc(
            Section("Page one text.", page=1, heading_path=("Manual", "Setup")),
            Section("Page two text.", page=2, heading_path=("Manual", "Use")),
        ),
        COUNT,
        SMALL,
    )
    assert [(c.text, c.page, c.heading) for c in chunks] == [
        ("Page one text.", 1, "Manual > Setup"),
        ("Page two text.", 2, "Manual > Use"),
    ]


def test_neighbouring_chunks_overlap_by_whole_sentences() -> None:
    options = ChunkingOptions(target_tokens=22, overlap_tokens=8, max_tokens=60)
    chunks = chunk_document(doc(Section(sentences(20))), COUNT, options)  # 7 tokens a sentence
    assert len(chunks) > 3
    for before, after in itertools.pairwise(chunks):
        assert after.start < before.end, "no overlap"
        assert before.text.endswith(after.text[: before.end - after.start])


def test_a_paragraph_break_is_preferred_over_filling_the_chunk() -> None:
    first = "Alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi."
    text = f"{first}\n\nOmicron pi rho. Sigma tau."
    chunks = chunk_document(doc(Section(text)), COUNT, SMALL)
    assert chunks[0].text == first
    assert chunks[1].text.startswith("Omicron")


def test_an_overlong_sentence_is_cut_between_words() -> None:
    text = " ".join(f"w{i}" for i in range(200))
    chunks = chunk_document(doc(Section(text)), COUNT, SMALL)
    assert len(chunks) >= 10
    assert all(COUNT([c.text])[0] <= SMALL.target_tokens + SMALL.overlap_tokens for c in chunks)
    for c in chunks:
        # Cut between words: each end of the chunk is a word boundary of the section text, so
        # every piece is a whole word ("w12", never "w1" from "w12"), and no blank is kept.
        assert text[c.start : c.end] == c.text == c.text.strip()
        assert c.start == 0 or text[c.start - 1] == " ", c.text
        assert c.end == len(text) or text[c.end] == " ", c.text
        assert all(re.fullmatch(r"w\d+", word) for word in c.text.split()), c.text
    covered = " ".join(c.text for c in chunks)
    assert "w0" in covered and "w199" in covered


def test_blank_sections_make_no_chunks() -> None:
    assert chunk_document(doc(Section("  \n\t "), Section("")), COUNT, SMALL) == []


def test_embedding_text_puts_title_and_heading_path_before_the_text() -> None:
    chunk = chunk_document(
        doc(Section("Hold the button.", heading_path=("Reset",)), title="Router guide"),
        COUNT,
        SMALL,
    )[0]
    assert embedding_text(chunk, "Router guide") == "Router guide > Reset\nHold the button."


def test_embedding_text_leaves_out_a_top_heading_that_repeats_the_title() -> None:
    heading_path = ("git-push(1) Manual Page", "DESCRIPTION")
    chunk = chunk_document(
        doc(Section("Updates remote refs.", heading_path=heading_path), title="git-push(1)"),
        COUNT,
        SMALL,
    )[0]
    assert embedding_text(chunk, "git-push(1)") == "git-push(1) > DESCRIPTION\nUpdates remote refs."
    other = chunk_document(doc(Section("x", heading_path=("Gitk basics",))), COUNT, SMALL)[0]
    assert embedding_text(other, "Git") == "Git > Gitk basics\nx"  # not the same word


def test_default_chunks_fit_minilm_in_its_own_tokens() -> None:
    embedder = MiniLMEmbedder()  # the tokenizer alone: no torch needed
    text = "\n\n".join(sentences(30, words=12) for _ in range(3)) + " " + "x" * 3000
    options = ChunkingOptions()
    chunks = chunk_document(doc(Section(text, heading_path=("Long",))), embedder.count_tokens)
    sizes = embedder.count_tokens([embedding_text(c, "Title") for c in chunks])
    assert max(sizes) <= embedder.max_tokens - 2
    body_sizes = embedder.count_tokens([c.text for c in chunks[:-3]])
    assert max(body_sizes) <= options.target_tokens + options.overlap_tokens
