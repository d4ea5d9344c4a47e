"""A PDF's outline (bookmarks) heads the text of its pages: real PDFs made with fpdf2."""

from __future__ import annotations

from pathlib import Path

from tests.support.citations import cite, index_chunks
from tests.support.nasty_files import write_pdf

from ember.knowledge.chunking import ChunkingOptions, chunk_document, embedding_text
from ember.knowledge.locate import locate
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


LONG_STEPS = (
    "Open a terminal in the unpacked folder, check that the archive's checksum matches the one "
    "printed on the download page, make the setup script executable, run it with sudo, answer "
    "the questions about the install prefix and the service account, and wait for the widget "
    "daemon to report that its socket is listening before you close the terminal window."
)


def test_a_passage_below_a_topic_mid_page_is_highlighted_whole(tmp_path: Path) -> None:
    # Its offsets are in the page's piece under "On Linux", not in the page: the viewer must
    # still find the whole chunk, not only the first 240 characters its snippet holds.
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.start_section("Installation", level=0)
    pdf.multi_cell(w=0, text="Installation\nUnpack the archive.", new_x="LMARGIN", new_y="NEXT")
    pdf.start_section("On Linux", level=1)
    pdf.multi_cell(w=0, text=f"On Linux\n{LONG_STEPS}", new_x="LMARGIN", new_y="NEXT")
    path = tmp_path / "manual.pdf"
    pdf.output(str(path))
    rows = index_chunks([path], tmp_path / "kb")
    row = next(r for r in rows if "checksum" in r.text)
    assert row.start > 0 or len(" ".join(row.text.split())) > 240

    location = locate(cite(row))

    assert location.state == "found"
    shown = " ".join(location.text[a:b] for a, b in location.spans)
    assert _words(shown) == _words(row.text)


def _words(text: str) -> list[str]:
    import re

    return re.findall(r"[a-z0-9]+", text.lower())


def test_an_outline_out_of_page_order_still_heads_every_page(tmp_path: Path) -> None:
    # Merged PDFs, or an "Index" bookmark listed first: the outline's order is not the pages'.
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for title, body in [
        ("Installation", "Unpack the archive."),
        ("Plotting", "The plot command draws a curve."),
        ("Index", "archive, curve, plot"),
    ]:
        pdf.add_page()
        pdf.start_section(title, level=0)
        pdf.multi_cell(w=0, text=f"{title}\n{body}", new_x="LMARGIN", new_y="NEXT")
    pdf._outline.insert(0, pdf._outline.pop())  # the bookmark to page 3 comes first
    path = tmp_path / "merged.pdf"
    pdf.output(str(path))

    document = parse(path)

    assert [(s.page, s.heading_path) for s in document.sections] == [
        (1, ("Installation",)),
        (2, ("Plotting",)),
        (3, ("Index",)),
    ]


class _Bookmark:
    """What PDFium gives for a bookmark with no destination (a crafted outline's filler)."""

    level = 0

    def get_dest(self) -> None:
        return None

    def get_title(self) -> str:
        return "Filler"


class _Outline:
    """An open document whose outline is ``size`` bookmarks without a page; counts those read."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.read = 0

    def get_toc(self, max_depth: int) -> object:
        for _ in range(self.size):
            self.read += 1
            yield _Bookmark()


def test_a_huge_outline_without_destinations_is_read_only_up_to_the_cap() -> None:
    from ember.knowledge.parsers.pdf_outline import MAX_ENTRIES, read_outline

    document = _Outline(MAX_ENTRIES * 5)

    assert read_outline(document) == []
    assert document.read <= MAX_ENTRIES
