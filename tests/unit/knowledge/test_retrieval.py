from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.knowledge_corpus import QUESTIONS
from tests.support.tiny_embedder import TinyEmbedder

from ember.knowledge import KnowledgeBase
from ember.knowledge.chunking import ChunkingOptions
from ember.knowledge.embedder import MiniLMEmbedder
from ember.knowledge.retrieval import Hit, RetrievalOptions, fts_query, selective_words

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("question", "name", "page"), QUESTIONS)
def test_a_paraphrased_question_finds_its_passage_first(
    indexed_kb: tuple[KnowledgeBase, Path], question: str, name: str, page: int | None
) -> None:
    kb, _ = indexed_kb
    best = kb.search(question, ["manuals"], k=3).hits[0]
    assert Path(best.source).name == name
    assert best.page == page


def test_a_pdf_hit_carries_its_page_and_a_similarity_score(
    indexed_kb: tuple[KnowledgeBase, Path],
) -> None:
    kb, _ = indexed_kb
    hits = kb.search("patching a bicycle inner tube", k=3).hits
    assert (Path(hits[0].source).name, hits[0].page) == ("guide.pdf", 2)
    assert 0.3 < hits[0].similarity <= 1.0
    assert [h.rank_score for h in hits] == sorted((h.rank_score for h in hits), reverse=True)


def test_exact_terms_are_found_by_keyword_search(indexed_kb: tuple[KnowledgeBase, Path]) -> None:
    kb, _ = indexed_kb
    hits = kb.search("192.168.1.1", k=3).hits
    assert "192.168.1.1" in hits[0].text


def test_a_search_reports_the_questions_words_with_the_chunks_holding_each(
    indexed_kb: tuple[KnowledgeBase, Path],
) -> None:
    kb, _ = indexed_kb
    result = kb.search("What oven temperature for the loaf of zyxwvut?", k=3)
    counts = dict(result.terms)
    assert list(counts) == ["oven", "temperature", "loaf", "zyxwvut"]
    assert counts["zyxwvut"] == 0 and 0 < counts["oven"] <= result.chunk_total
    assert result.chunk_total == kb.store.chunk_count()


def test_an_unknown_collection_finds_nothing(indexed_kb: tuple[KnowledgeBase, Path]) -> None:
    kb, _ = indexed_kb
    result = kb.search("router reset", ["no-such-collection"])
    assert result.hits == () and result.best_similarity is None


def test_top_k_is_respected_and_results_are_distinct(
    indexed_kb: tuple[KnowledgeBase, Path],
) -> None:
    kb, _ = indexed_kb
    hits = kb.search("baking bread in the oven", k=4).hits
    assert len(hits) == 4
    assert len({h.chunk_id for h in hits}) == 4


def test_near_duplicate_chunks_come_back_once(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    passage = "The espresso machine descaling cycle takes twenty minutes with citric acid."
    (folder / "copy1.txt").write_text(passage)
    (folder / "copy2.txt").write_text(passage + " ")
    (folder / "other.txt").write_text("Espresso beans keep best in an airtight tin.")
    with KnowledgeBase(tmp_path / "kb", embedder=TinyEmbedder()) as kb:
        kb.index([folder], "c")
        hits = kb.search("espresso machine descaling", k=3).hits
    assert sum(h.text.strip() == passage for h in hits) == 1
    assert len(hits) == 2


def _zip_corpus(folder: Path) -> None:
    """A long page about zip archives and a short note that holds the actual answer."""
    folder.mkdir()
    sections = [
        "ZipFile objects open a zip archive for reading or writing members.",
        "ZipFile.write adds one file to a zip archive under an archive name.",
        "ZipFile.extractall unpacks every member of a zip archive into a folder.",
        "ZipFile.namelist lists the member names stored in the zip archive.",
        "Zip archives compress each member with deflate, bzip2 or lzma.",
        "ZipInfo describes one member of a zip archive: its name, size and date.",
    ]
    (folder / "zipfile.md").write_text(
        "\n\n".join(f"## {text.split()[0]}\n\n{text}" for text in sections)
    )
    (folder / "shutil.md").write_text(
        "## Archiving\n\nshutil.make_archive packs a whole directory tree into a zip or tar "
        "file in one call."
    )


def test_one_long_document_does_not_crowd_out_the_others(
    tmp_path: Path, minilm: MiniLMEmbedder
) -> None:
    folder = tmp_path / "docs"
    _zip_corpus(folder)
    question = "How can I pack a whole folder into a zip file with one function call?"
    unspread = RetrievalOptions(same_source_decay=1.0)
    small = ChunkingOptions(target_tokens=24, overlap_tokens=0)
    with KnowledgeBase(tmp_path / "kb", embedder=minilm, chunking=small, retrieval=unspread) as kb:
        kb.index([folder], "c")
        crowded = kb.search(question, k=2).hits
    with KnowledgeBase(tmp_path / "kb", embedder=minilm, chunking=small) as kb:
        spread = kb.search(question, k=2).hits

    def names(hits: tuple[Hit, ...]) -> list[str]:
        return [Path(h.source).name for h in hits]

    assert names(crowded) == ["zipfile.md"] * 2  # what happened before spreading
    assert "shutil.md" in names(spread)
    assert [h.rank_score for h in spread] == sorted((h.rank_score for h in spread), reverse=True)
    # Within the long page the order is the one it had without spreading.
    zip_ids = [h.chunk_id for h in spread if Path(h.source).name == "zipfile.md"]
    assert zip_ids == [h.chunk_id for h in crowded][: len(zip_ids)]


def test_the_pages_of_one_long_document_are_not_duplicates_of_each_other(tmp_path: Path) -> None:
    """A second passage from the same section is spread further than one from another section of
    the same document: a long manual's other pages are answers, not repeats."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "manual.md").write_text(
        "## Labels\n\nPlot axis label.\n\nPlot axis label again.\n\n"
        "## Export\n\nPlot axis label with many other export words like png pdf svg canvas.\n"
    )
    small = ChunkingOptions(target_tokens=6, overlap_tokens=0)
    per_document_only = RetrievalOptions(same_section_decay=1.0)
    with KnowledgeBase(
        tmp_path / "kb", embedder=TinyEmbedder(), chunking=small, retrieval=per_document_only
    ) as kb:
        kb.index([folder], "c")
        before = kb.search("plot axis label", k=3).hits
    with KnowledgeBase(tmp_path / "kb", embedder=TinyEmbedder(), chunking=small) as kb:
        after = kb.search("plot axis label", k=3).hits

    assert [h.heading for h in before] == ["Labels", "Labels", "Export"]  # the old order
    assert [h.heading for h in after] == ["Labels", "Export", "Labels"]
    assert [h.rank_score for h in after] == sorted((h.rank_score for h in after), reverse=True)


def test_fts_query_quotes_words_and_drops_operators_and_stopwords() -> None:
    assert fts_query('What is "NEAR(x" OR the -flag AND *?') == '"near" OR "flag"'
    assert fts_query("the of and") == ""


def test_every_word_ranks_when_the_rows_fit_the_budget() -> None:
    words = ["license", "covers", "package"]
    assert selective_words(words, [900, 50, 40], total=10_000, budget=1000) == words


def test_words_matching_nothing_are_left_out() -> None:
    assert selective_words(["xyzzy", "proxy"], [0, 12], total=10_000) == ["proxy"]


def test_common_words_are_left_out_once_the_rare_ones_fill_the_budget() -> None:
    words = ["configure", "network", "proxy"]
    kept = selective_words(words, [36_000, 800, 1_250], total=1_000_000, budget=8_000)
    assert kept == ["network", "proxy"]  # in the question's order


def test_the_rarest_word_ranks_even_past_the_budget() -> None:
    kept = selective_words(["options", "output"], [67_000, 26_000], total=1_000_000, budget=8_000)
    assert kept == ["output"]


def test_a_question_of_only_very_common_words_skips_keyword_search() -> None:
    assert selective_words(["license"], [176_000], total=1_000_000, budget=8_000) == []
