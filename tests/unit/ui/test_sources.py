"""An answer's source chips: one per cited page, each naming the page a reader finds; every
[n] in the answer still opens its chip's passages."""

from __future__ import annotations

from ember.knowledge.types import Citation
from ember.ui.bubble import BubbleData, MessageBubble
from ember.ui.qt import QColor, QToolButton, QUrl
from ember.ui.sources import chip_text, chip_tooltip

MANUAL = "/docs/manual.pdf"
FIRST = Citation(1, MANUAL, 12, "Safety", "Unplug the kettle before cleaning.", 0.8)
OTHER = Citation(2, "/docs/notes.md", None, "Kettles", "Descale monthly.", 0.7)
SAME_PAGE = Citation(3, MANUAL, 12, "Cleaning", "Never put it in water.", 0.6)
LABELED = Citation(4, MANUAL, 178, None, "Red goes to L.", 0.5, "150", 261)


def _bubble(qtbot, citations: tuple[Citation, ...]) -> MessageBubble:
    text = "Unplug it [1][3], descale it [2], wire it [4]."
    bubble = MessageBubble(BubbleData(role="assistant", text=text), QColor("black"))
    qtbot.addWidget(bubble)
    bubble.set_citations(citations)
    return bubble


def _chips(bubble: MessageBubble) -> list[QToolButton]:
    return bubble.sources_row.findChildren(QToolButton)


def test_citations_of_one_page_share_one_chip(qtbot) -> None:
    bubble = _bubble(qtbot, (FIRST, OTHER, SAME_PAGE))
    assert [chip.text() for chip in _chips(bubble)] == [
        "[1, 3] manual.pdf · p. 12",
        "[2] notes.md",
    ]
    assert "Unplug the kettle" in _chips(bubble)[0].toolTip()
    assert "Never put it in water" in _chips(bubble)[0].toolTip()
    with qtbot.waitSignal(bubble.citationRequested) as asked:
        _chips(bubble)[0].click()
    assert asked.args == [(FIRST, SAME_PAGE)]


def test_each_number_in_the_text_opens_its_merged_chip(qtbot) -> None:
    bubble = _bubble(qtbot, (FIRST, OTHER, SAME_PAGE))
    for n, expected in ((1, (FIRST, SAME_PAGE)), (3, (FIRST, SAME_PAGE)), (2, (OTHER,))):
        with qtbot.waitSignal(bubble.citationRequested) as asked:
            bubble._on_link(QUrl(f"ember-cite:{n}"))
        assert asked.args == [expected]
    with qtbot.assertNotEmitted(bubble.citationRequested):
        bubble._on_link(QUrl("ember-cite:9"))


def test_a_chip_names_the_printed_page_with_the_physical_page_of_the_total(qtbot) -> None:
    bubble = _bubble(qtbot, (LABELED,))
    assert [chip.text() for chip in _chips(bubble)] == ["[4] manual.pdf · p. 150 (178 of 261)"]


LONG_NAME = "gardenprofessional_complete_handbook_of_perennials_2023_edition.pdf"
LONG = Citation(1, f"/docs/{LONG_NAME}", 162, None, "Cut them back in autumn.", 0.8, "156", 166)


def test_a_long_file_name_is_shortened_in_its_middle_and_the_page_stays_whole() -> None:
    text = chip_text((LONG,))
    assert text == "[1] gardenprofes…023_edition.pdf · p. 156 (162 of 166)"
    assert text.endswith("p. 156 (162 of 166)")
    assert len(text.split(" · ")[0].removeprefix("[1] ")) == 28  # at most, extension kept
    tip = chip_tooltip((LONG,))
    assert f"{LONG_NAME} · p. 156 (162 of 166)" in tip and "Cut them back in autumn." in tip


def test_a_short_name_and_odd_extensions_are_kept_sensibly() -> None:
    from ember.ui.sources import NAME_MAX_CHARS, short_name

    assert short_name("manual.pdf") == "manual.pdf"
    assert short_name("a" * 28) == "a" * 28
    assert short_name("a" * 40 + ".markdown") == "a" * 9 + "…" + "a" * 9 + ".markdown"
    odd = short_name("notes." + "x" * 40)  # no real extension: the name's end is kept instead
    assert len(odd) == NAME_MAX_CHARS and odd.startswith("notes.") and odd.endswith("x")
