"""Answers render as Markdown without ever loading or running anything from the model's text."""

from __future__ import annotations

import pytest

from ember.ui.markdown import (
    CITE_SCHEME,
    COPY_SCHEME,
    SafeTextBrowser,
    render_markdown,
    sanitize_markdown,
)
from ember.ui.qt import Qt, QUrl


def _render(qtbot, text: str, citations: frozenset[int] = frozenset()) -> SafeTextBrowser:
    view = SafeTextBrowser()
    qtbot.addWidget(view)
    view.resize(600, 200)
    render_markdown(view.document(), text, citations)
    return view


def test_raw_html_is_shown_as_text(qtbot) -> None:
    view = _render(qtbot, "Hello <b>bold</b> and <script>alert(1)</script>")
    text = view.document().toPlainText()
    assert "<b>bold</b>" in text
    assert "<script>alert(1)</script>" in text


def test_an_img_tag_is_text_and_requests_nothing(qtbot) -> None:
    view = _render(qtbot, 'Look: <img src="http://127.0.0.1:9/beacon.png">')
    assert '<img src="http://127.0.0.1:9/beacon.png">' in view.document().toPlainText()
    assert view.resource_requests == []


def test_a_markdown_image_becomes_a_plain_link(qtbot) -> None:
    view = _render(qtbot, "![secret](http://127.0.0.1:9/beacon.png?q=data)")
    assert "image: secret" in view.document().toPlainText()
    assert "￼" not in view.document().toPlainText()  # no image object in the document
    assert view.resource_requests == []


def test_reference_style_images_are_defused() -> None:
    safe = sanitize_markdown("![x][ref]\n\n[ref]: http://127.0.0.1:9/b.png")
    assert "![" not in safe.text.replace("\\![", "")


def test_headings_lists_and_tables_are_formatted(qtbot) -> None:
    view = _render(qtbot, "# Title\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    document = view.document()
    assert document.toPlainText().startswith("Title")
    assert document.begin().blockFormat().headingLevel() == 1
    assert "<table" in document.toHtml()


def test_code_blocks_keep_their_text_and_get_a_copy_link() -> None:
    safe = sanitize_markdown("Try:\n\n```python\nprint('<hi>')\n```\nDone.")
    assert safe.code_blocks == ["print('<hi>')"]
    assert f"({COPY_SCHEME}:0)" in safe.text


def test_an_unfinished_code_block_renders_while_streaming() -> None:
    safe = sanitize_markdown("```sh\necho hi")
    assert safe.code_blocks == ["echo hi"]


def test_code_is_not_rewritten() -> None:
    safe = sanitize_markdown("`![x](http://a/b.png)` and [1]", frozenset({1}))
    assert "`![x](http://a/b.png)`" in safe.text
    assert f"({CITE_SCHEME}:1)" in safe.text


def test_only_known_citation_numbers_become_links() -> None:
    safe = sanitize_markdown("See [1] and [7].", frozenset({1}))
    assert f"({CITE_SCHEME}:1)" in safe.text
    assert "[7]" in safe.text and f"{CITE_SCHEME}:7" not in safe.text


def test_clicking_a_link_asks_instead_of_navigating(qtbot) -> None:
    view = _render(qtbot, "[site](http://127.0.0.1:9/page)")
    with qtbot.waitSignal(view.linkRequested) as blocker:
        view.setSource(QUrl("http://127.0.0.1:9/page"))
    assert blocker.args[0].toString() == "http://127.0.0.1:9/page"
    assert view.document().toPlainText() == "site"  # nothing was loaded into the view


# -- math ---------------------------------------------------------------------------------------

OBJECT = "\ufffc"  # what an image is in a document's plain text


@pytest.fixture
def mathtext(qtbot):  # type: ignore[no-untyped-def]
    """mathtext loaded (on its own thread, as in the app)."""
    from ember.ui import markdown_math

    markdown_math.load_in_background()
    qtbot.waitUntil(markdown_math.ready, timeout=60_000)


def test_until_mathtext_has_loaded_a_formula_shows_its_source(qtbot, monkeypatch) -> None:
    from ember.ui import markdown_math

    monkeypatch.setattr(markdown_math, "_state", "loading")  # its thread has not finished yet
    view = _render(qtbot, "Euler: $e^{i\\pi}+1=0$.")
    assert "e^{i\\pi}+1=0" in view.document().toPlainText()
    assert OBJECT not in view.document().toPlainText()


def test_inline_and_display_math_are_drawn_as_images_from_the_document_itself(
    qtbot, mathtext
) -> None:
    from ember.ui.qt import QImage, QTextDocument

    view = _render(qtbot, "Euler: $e^{i\\pi}+1=0$.\n\n$$\\frac{a}{b}$$\n\nDone.")
    text = view.document().toPlainText()
    assert "\\pi" not in text and "\\frac" not in text and "$" not in text
    assert text.count(OBJECT) == 2
    for n in (0, 1):
        image = view.document().resource(
            QTextDocument.ResourceType.ImageResource, QUrl(f"ember-math:{n}")
        )
        assert isinstance(image, QImage) and not image.isNull()
    assert view.resource_requests == []  # nothing was loaded for them
    display = view.document().findBlock(text.index(OBJECT, text.index(OBJECT) + 1))
    assert display.blockFormat().alignment() & Qt.AlignmentFlag.AlignHCenter


def test_dollar_amounts_are_not_math() -> None:
    for text in ("It costs $5 and $10.", "From $5 to $ 10", "Pay $3.50 or $4", "a \\$x\\$ b"):
        safe = sanitize_markdown(text)
        assert safe.formulas == [], text
        assert safe.text == text


def test_math_inside_code_stays_code() -> None:
    safe = sanitize_markdown("Use `$x$` literally.\n\n```\necho $HOME$x$\n```")
    assert safe.formulas == []
    assert "`$x$`" in safe.text


def test_a_formula_that_does_not_parse_is_shown_as_its_source(qtbot) -> None:
    view = _render(qtbot, "Broken: $\\frac{a$ and fine.")
    text = view.document().toPlainText()
    assert "$\\frac{a$" in text and OBJECT not in text


def test_math_is_found_before_citations_and_images() -> None:
    safe = sanitize_markdown("Sum $x_[1]$ here [1].", frozenset({1}))
    assert [f.source for f in safe.formulas] == ["x_[1]"]
    assert safe.text.count(f"({CITE_SCHEME}:1)") == 1


# -- code, quotes -------------------------------------------------------------------------------


def _foregrounds(view: SafeTextBrowser, word: str) -> set[str]:
    from ember.ui.qt import QTextCursor

    document = view.document()
    start = document.toPlainText().index(word)
    colors = set()
    for offset in range(len(word)):
        cursor = QTextCursor(document)
        cursor.setPosition(start + offset + 1)
        fmt = cursor.charFormat()
        colors.add(
            fmt.foreground().color().name() if fmt.hasProperty(fmt.Property.ForegroundBrush) else ""
        )
    return colors


def test_code_is_coloured_by_its_language_and_labelled(qtbot) -> None:
    view = _render(qtbot, "```python\ndef greet(name):\n    return 'hi'\n```\n")
    assert _foregrounds(view, "def") - {""}, "the keyword should be coloured"
    assert _foregrounds(view, "'hi'") - {""}
    assert _foregrounds(view, "def") != _foregrounds(view, "'hi'")
    assert "python · Copy code" in view.document().toPlainText()


def test_code_in_an_unknown_language_stays_plain(qtbot) -> None:
    view = _render(qtbot, "```nosuchlanguage\ndef greet(name):\n```\n\n```\ndef other():\n```\n")
    assert _foregrounds(view, "def greet") == {""}
    assert _foregrounds(view, "def other") == {""}


def test_a_block_quote_has_a_bar_down_its_left_side(qtbot) -> None:
    from ember.ui.markdown import quote_bars
    from ember.ui.qt import QPoint

    view = _render(qtbot, "Said:\n\n> quoted words\n\nNot quoted.")
    view.show()
    qtbot.waitExposed(view)
    bars = quote_bars(view.document())
    assert len(bars) == 1
    image = view.viewport().grab().toImage()
    bar = bars[0].center().toPoint()
    beside = bar - QPoint(8, 0)  # the page left of the bar
    assert image.pixelColor(bar) != image.pixelColor(beside)
    assert image.pixelColor(bar).lightness() < image.pixelColor(beside).lightness()
    plain = _render(qtbot, "Said:\n\nquoted words\n\nNot quoted.")
    assert quote_bars(plain.document()) == []


def test_an_answer_shows_its_formulas_once_mathtext_has_loaded(qtbot, monkeypatch) -> None:
    """mathtext loads on its own thread at the first formula (the window never waits for it);
    the answer shows the source meanwhile, then is drawn again with the formula."""
    from ember.ui import markdown_math
    from ember.ui.bubble import BubbleData, MessageBubble
    from ember.ui.qt import QColor

    monkeypatch.setattr(markdown_math, "_state", "cold")
    bubble = MessageBubble(BubbleData(role="assistant", text="So $x^2 \\geq 0$."), QColor("#eee"))
    qtbot.addWidget(bubble)
    assert "x^2" in bubble.body.document().toPlainText()
    qtbot.waitUntil(lambda: OBJECT in bubble.body.document().toPlainText(), timeout=60_000)
    assert "x^2" not in bubble.body.document().toPlainText()
