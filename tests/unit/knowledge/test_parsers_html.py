"""The HTML parser: visible text only, sectioned by headings."""

from __future__ import annotations

from pathlib import Path

from tests.support import nasty_files

from ember.knowledge.parsers import html
from ember.knowledge.types import ParsedDocument

PAGE = """<!DOCTYPE html>
<html><head><title>Garden  Guide</title><style>body { color: red }</style>
<script>var secret = "do not index me";</script></head>
<body>
<nav><a href="/">Home</a> | <a href="/about">About</a></nav>
<p>Welcome to the <b>garden</b> guide.</p>
<h1>Roses</h1>
<p>Prune in late winter.</p>
<h2>Climbing roses</h2>
<p>Tie in new shoots.</p><!-- an editor's comment -->
<h1>Tomatoes</h1>
<ul><li>Water daily</li><li>Feed weekly</li></ul>
<footer>Copyright 2024</footer>
<script>track()</script>
</body></html>
"""


def _parse(tmp_path: Path, markup: str, name: str = "page.html") -> ParsedDocument:
    path = tmp_path / name
    path.write_text(markup, encoding="utf-8")
    return html.parse(path)


def test_headings_become_sections_with_their_path(tmp_path: Path) -> None:
    document = _parse(tmp_path, PAGE)
    assert [(s.heading_path, s.text) for s in document.sections] == [
        ((), "Welcome to the garden guide."),
        (("Roses",), "Prune in late winter."),
        (("Roses", "Climbing roses"), "Tie in new shoots."),
        (("Tomatoes",), "Water daily\nFeed weekly"),
    ]


def test_scripts_styles_navigation_footers_and_comments_are_dropped(tmp_path: Path) -> None:
    text = " ".join(s.text for s in _parse(tmp_path, PAGE).sections)
    for hidden in ("secret", "color: red", "Home", "Copyright", "track()", "editor"):
        assert hidden not in text


def test_the_title_element_is_the_title(tmp_path: Path) -> None:
    assert _parse(tmp_path, PAGE).title == "Garden Guide"


def test_a_meta_charset_is_honoured_for_legacy_pages(tmp_path: Path) -> None:
    path = tmp_path / "legacy.html"
    markup = '<html><head><meta charset="windows-1252"></head><body><p>Café déjà vu</p></body>'
    path.write_bytes(markup.encode("cp1252"))
    document = html.parse(path)
    assert document.sections[0].text == "Café déjà vu"
    assert document.encoding == "cp1252"


def test_deeply_nested_markup_does_not_exhaust_the_stack(tmp_path: Path) -> None:
    document = html.parse(nasty_files.deeply_nested_html(tmp_path / "deep.html", depth=20_000))
    assert document.sections[0].text == "deep text"
