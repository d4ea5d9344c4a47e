"""A PDF's outline (bookmarks) heads the text of its pages: real PDFs made with fpdf2."""

from __future__ import annotations

from pathlib import Path

from tests.support.nasty_files import write_pdf

from ember.knowledge.chunking import ChunkingOptions, chunk_document, embedding_text
from ember.knowledge.parsers.pdf import parse

SMALL = ChunkingOptions(target_tokens=40, overlap_tokens=0, max_tokens=60)


def count(texts: list[str]) -> list[int]:
    return [len(t.split()) for t in texts]


def write_manual(path: Path) -> Path:
    """Two pages: "Installation" (with "On Linux" under it, mid-page 1, running onto page 2),
    then "Plotting" starting mid-page 2."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("Widget manual")
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.start_section("Installation", level=0)
    pdf.multi_cell(
        w=0,
        text="Installation\nUnpack the archive into a folder of your choice.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.start_section("On Linux", level=1)
    pdf.multi_cell(
        w=0, text="On Linux\nRun the setup script as root.", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.add_page()
    pdf.multi_cell(w=0, text="Then log out and back in.", new_x="LMARGIN", new_y="NEXT")
    pdf.start_section("Plotting", level=0)
    pdf.multi_cell(
        w=0, text="Plotting\nThe plot command draws a curve.", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.output(str(path))
    return path


def test_pages_are_cut_where_outline_topics_start_and_headed_by_them(tmp_path: Path) -> None:
    document = parse(write_manual(tmp_path / "manual.pdf"))

    pieces = [(s.page, s.heading_path, " ".join(s.text.split())) for s in document.sections]
    assert pieces == [
        (1, ("Installation",), "Installation Unpack the archive into a folder of your choice."),
        (1, ("Installation", "On Linux"), "On Linux Run the setup script as root."),
        (2, ("Installation", "On Linux"), "Then log out and back in."),
        (2, ("Plotting",), "Plotting The plot command draws a curve."),
    ]


def test_a_chunk_of_a_pdf_page_is_embedded_with_its_topic(tmp_path: Path) -> None:
    document = parse(write_manual(tmp_path / "manual.pdf"))
    chunks = chunk_document(document, count, SMALL)

    continued = next(c for c in chunks if "log out" in c.text)
    assert continued.page == 2
    assert embedding_text(continued, document.title).startswith(
        "Widget manual > Installation > On Linux\n"
    )


def test_a_pdf_without_an_outline_keeps_one_unheaded_section_per_page(tmp_path: Path) -> None:
    document = parse(write_pdf(tmp_path / "plain.pdf", ["Page one text.", "Page two text."]))

    assert [(s.page, s.heading_path) for s in document.sections] == [(1, ()), (2, ())]
