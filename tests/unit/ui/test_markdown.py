"""Answers render as Markdown without ever loading or running anything from the model's text."""

from __future__ import annotations

from ember.ui.markdown import (
    CITE_SCHEME,
    COPY_SCHEME,
    SafeTextBrowser,
    render_markdown,
    sanitize_markdown,
)
from ember.ui.qt import QUrl


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
