"""Finding a cited passage again in the text the source viewer shows (ember.knowledge.locate):
through hyphenation, whitespace and reordered columns; and saying so when the file changed, is
gone, or the citation is older than offsets."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support import nasty_files
from tests.support.citations import cite, index_chunks
from tests.unit.knowledge.test_parsers_pdf import CANTEEN, PUMP

from ember.knowledge import KnowledgeBase
from ember.knowledge.grounding import ground
from ember.knowledge.locate import find_passage, locate
from ember.knowledge.types import Citation

NOTES = """# Garden notes

Intro line about the garden.

## Pruning

Cut the perennials back in late autumn, when the stems have browned. Leave the seed heads of
grasses standing over winter for the birds.

## Watering

Water the pots every morning in July, and the beds twice a week when it has not rained.
"""


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _shown(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    return " ".join(text[start:end] for start, end in spans)


def test_a_passage_is_found_across_a_line_end_hyphen_and_other_whitespace() -> None:
    page = "Intro.\r\nThe schedule for routine main-\r\ntenance lists   every\r\nfactor. Outro."
    spans = find_passage(page, "The schedule for routine maintenance lists every factor.")
    assert len(spans) == 1
    assert _shown(page, spans).startswith("The schedule") and "Outro" not in _shown(page, spans)


def test_a_passage_that_the_page_holds_in_another_order_comes_back_as_runs_in_its_order() -> None:
    page = "world, second half. Aside text here. First half of the hello "
    spans = find_passage(page, "First half of the hello world, second half.")
    assert len(spans) == 2
    assert _words(_shown(page, spans)) == _words("First half of the hello world, second half")


def test_a_passage_not_on_the_page_is_not_found() -> None:
    assert find_passage("Nothing of the sort is written here.", "The valve needs a new seal") == ()


def test_a_retrieved_citation_carries_its_section_offsets_and_the_files_hash(
    tmp_path: Path, tiny_kb: KnowledgeBase
) -> None:
    notes = tmp_path / "notes" / "garden.md"
    notes.parent.mkdir()
    notes.write_text(NOTES, encoding="utf-8")
    assert not tiny_kb.index([notes.parent], "notes").failed
    result = tiny_kb.search("water the pots every morning in July", k=1)
    citation = ground(result, question="water the pots in July").citations[0]
    hit = result.hits[0]
    assert (citation.start, citation.end) == (hit.start, hit.end) and hit.end > hit.start
    assert citation.section == hit.section is not None
    assert citation.content_hash == tiny_kb.store.documents("notes")[0].content_hash


def test_a_markdown_passage_is_highlighted_at_its_offsets_in_the_shown_text(
    tmp_path: Path,
) -> None:
    notes = tmp_path / "garden.md"
    notes.write_text(NOTES, encoding="utf-8")
    rows = index_chunks([notes], tmp_path / "kb")
    row = next(r for r in rows if "pots every morning" in r.text)
    location = locate(cite(row))
    assert location.state == "found" and location.kind == "markdown"
    assert _shown(location.text, location.spans) == row.text


def test_a_passage_of_a_column_read_row_by_row_is_highlighted_in_pdfiums_order(
    tmp_path: Path,
) -> None:
    # The content stream draws the two columns across the gutter, row by row: PDFium's text
    # (what the viewer highlights by) fuses them line by line; Ember read one column first.
    lines = nasty_files.column_lines([PUMP, CANTEEN], lefts=[60, 320], order="rows")
    path = nasty_files.write_layout_pdf(tmp_path / "newsletter.pdf", [lines])
    rows = index_chunks([path], tmp_path / "kb")
    row = next(r for r in rows if "zelvanic" in r.text)
    location = locate(cite(row))
    assert location.state == "found" and location.page == 1
    # The chunk is the whole page, left column first: a run per line of PDFium's fused rows.
    assert _words(row.text) == _words(" ".join(PUMP + CANTEEN))
    assert len(location.spans) >= 2 * len(PUMP) - 1
    assert _words(_shown(location.text, location.spans)) == _words(row.text)


def test_a_hyphenated_word_of_a_pdf_column_is_found(tmp_path: Path) -> None:
    left = ["The schedule for routine main-", "tenance lists every price-", "determining factor."]
    right = ["Each well-", "known supplier of self-", "contained units is listed here."]
    lines = nasty_files.column_lines([left, right], lefts=[60, 320])
    path = nasty_files.write_layout_pdf(tmp_path / "columns.pdf", [lines])
    rows = index_chunks([path], tmp_path / "kb")
    location = locate(cite(rows[0]))
    assert location.state == "found"
    joined = "".join(_words(_shown(location.text, location.spans)))
    assert "routinemaintenancelists" in joined and "selfcontainedunits" in joined


def test_a_file_changed_since_indexing_says_so_and_highlights_nothing(tmp_path: Path) -> None:
    notes = tmp_path / "garden.md"
    notes.write_text(NOTES, encoding="utf-8")
    row = next(r for r in index_chunks([notes], tmp_path / "kb") if "pots" in r.text)
    notes.write_text(NOTES.replace("## Pruning", "## Pruning and more\n\nNew text."), "utf-8")
    location = locate(cite(row))
    assert location.state == "changed" and location.spans == ()
    assert "changed since it was indexed" in (location.note or "")


def test_a_file_that_is_gone_says_so(tmp_path: Path) -> None:
    notes = tmp_path / "garden.md"
    notes.write_text(NOTES, encoding="utf-8")
    row = index_chunks([notes], tmp_path / "kb")[0]
    notes.unlink()
    location = locate(cite(row))
    assert location.state == "missing" and location.spans == ()
    assert "moved or deleted" in (location.note or "")


def test_an_old_citation_without_offsets_is_found_by_its_snippet_on_its_page(
    tmp_path: Path,
) -> None:
    lines = nasty_files.column_lines([PUMP, CANTEEN], lefts=[60, 320], order="columns")
    path = nasty_files.write_layout_pdf(tmp_path / "bulletin.pdf", [lines, lines])
    old = Citation(1, str(path), 2, None, " ".join(CANTEEN[:3]) + "…", 0.6)
    location = locate(old)
    assert location.state == "found" and location.page == 2
    assert _words(_shown(location.text, location.spans)) == _words(" ".join(CANTEEN[:3]))


def test_a_passage_across_the_keying_blocks_of_a_long_text_is_found_where_it_is() -> None:
    from ember.knowledge import locate as located

    block = located._KEY_BLOCK
    passage = "The brine valve must stay shut while the zelvanic pump is primed."
    filler = "Ünïcode fïller, ﬁne and ﬂat. " * (3 * block // 29)
    start = 2 * block - len(passage) // 2  # straddles the second block's end
    text = filler[:start] + passage + filler[start:]
    spans = find_passage(text, passage)
    assert len(spans) == 1 and text[spans[0][0] : spans[0][1]] == passage.rstrip(".")
