"""Each newer format indexed with the real embedder into one collection and found by a question,
its citation naming the place in the file as a reader finds it ("slide 2", 'sheet "Q3", row 3',
"chapter 2") wherever a citation is shown: the terminal's source lines, the window's chips, the
API's citations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import format_files as ff

from ember.api.routes_chat import _citation
from ember.cli.common import source_lines
from ember.knowledge import KnowledgeBase
from ember.knowledge.embedder import MiniLMEmbedder
from ember.knowledge.grounding import ground, source_label
from ember.knowledge.types import Citation
from ember.ui.sources import chip_text, group_citations

pytestmark = pytest.mark.slow

# question -> (file, the locator its citation must show)
QUESTIONS = {
    "how long does the espresso machine take to heat up": ("espresso.pptx", "slide 2"),
    "what should the presenter mention about grinder burrs": ("espresso.pptx", "slide 2, notes"),
    "which warehouse in Rotterdam holds the copper cable stock": (
        "inventory.xlsx",
        'sheet "Stock", rows 2-3',  # rows are grouped about a chunk at a time
    ),
    "who is the lighthouse keeper's daughter": ("novel.epub", "chapter 2"),
    "when does the volleyball tournament start": ("club.mbox", "message 2"),
    "how is the regression model's error measured": ("analysis.ipynb", "cell 3"),
    "what cheese is ripened in caves for the fondue": ("recipes.ods", 'sheet "Cheese", row 2'),
}


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory, minilm: MiniLMEmbedder) -> Iterator[KnowledgeBase]:
    root = tmp_path_factory.mktemp("formats")
    docs = root / "docs"
    docs.mkdir()
    ff.write_pptx(
        docs / "espresso.pptx",
        [
            ("Welcome", "Barista training for new staff", "Introduce yourself"),
            (
                "Machine warm-up",
                "The espresso machine needs twenty minutes to reach brewing temperature.",
                "Remind everyone that grinder burrs must be replaced every six months.",
            ),
        ],
    )
    ff.write_xlsx(
        docs / "inventory.xlsx",
        [
            (
                "Stock",
                [
                    ["Item", "Warehouse", "City"],
                    ["Steel bolts", "North depot", "Hamburg"],
                    ["Copper cable", "Harbour hall 7", "Rotterdam"],
                ],
            ),
            ("Suppliers", [["Supplier", "Country"], ["Acme Metals", "Belgium"]]),
        ],
    )
    ff.write_epub(
        docs / "novel.epub",
        [
            ("The Harbour", "Fishing boats crowded the quay at dawn."),
            ("The Lighthouse", "Mara, the lighthouse keeper's daughter, trimmed the lamp wicks."),
        ],
    )
    ff.write_mbox(
        docs / "club.mbox",
        [
            ("Membership fees", "Annual fees are due in March."),
            ("Volleyball", "The volleyball tournament starts on Saturday at nine."),
        ],
    )
    ff.write_ipynb(
        docs / "analysis.ipynb",
        [
            ("markdown", "# Housing prices\nWe load the sales data."),
            ("code", "import pandas as pd\nsales = pd.read_csv('sales.csv')"),
            ("markdown", "## Evaluation\nThe regression error is measured as mean absolute error."),
        ],
    )
    ff.write_ods(
        docs / "recipes.ods",
        [("Cheese", [["Cheese", "Note"], ["Gruyère", "ripened in caves, melts well in fondue"]])],
    )
    ff.write_odt(docs / "garden.odt", [("h1", "Roses"), ("p", "Prune roses in late winter.")])
    ff.write_rtf(docs / "memo.rtf", ["The office closes early on Friday for the boiler repair."])
    ff.write_eml(docs / "invite.eml", "Team lunch", "Lunch is at the Thai place on Thursday.")
    with KnowledgeBase(root / "kb", embedder=minilm) as base:
        report = base.index([docs], "formats")
        assert not report.failed, report.failed
        assert report.indexed == 9, report
        yield base


@pytest.mark.parametrize("question", sorted(QUESTIONS))
def test_a_question_finds_its_passage_cited_with_the_right_locator(
    kb: KnowledgeBase, question: str
) -> None:
    name, where = QUESTIONS[question]
    result = kb.search(question, k=3)
    assert Path(result.hits[0].source).name == name, [h.source for h in result.hits]
    assert source_label(result.hits[0]).startswith(f"{name}, {where}")  # the model's sources
    citation = ground(result, question=question).citations[0]
    assert citation.page is None and citation.page_text() == where
    assert f"{name}, {where}" in source_lines([citation])  # `ember ask`
    assert chip_text(group_citations([citation])[0]) == f"[1] {name} · {where}"  # the window
    api = _citation(citation)
    assert (api["page"], api["page_label"], api["page_text"]) == (None, where, where)


def test_formats_without_locators_cite_file_and_heading(kb: KnowledgeBase) -> None:
    for question, name, heading in (
        ("when should roses be pruned", "garden.odt", "Roses"),
        ("why does the office close early", "memo.rtf", None),
        ("where is the team lunch", "invite.eml", "Team lunch"),
    ):
        hit = kb.search(question, k=1).hits[0]
        assert (Path(hit.source).name, hit.heading, hit.page, hit.page_label) == (
            name,
            heading,
            None,
            None,
        )


def test_two_slides_of_one_deck_are_two_chips_and_one_slide_one() -> None:
    def cited(n: int, slide: int) -> Citation:
        return Citation(n, "/d/espresso.pptx", None, None, "text", 0.5, page_label=f"slide {slide}")

    chips = group_citations([cited(1, 2), cited(2, 5), cited(3, 2)])
    assert [chip_text(chip) for chip in chips] == [
        "[1, 3] espresso.pptx · slide 2",
        "[2] espresso.pptx · slide 5",
    ]
