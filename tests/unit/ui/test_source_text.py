"""What the source viewer's text view shows of a located text: the stretch around the passage
of a long text, cut at line ends, and spans in the UTF-16 units QTextDocument counts."""

from __future__ import annotations

from ember.ui.source_text import shown_text


def test_a_short_ascii_text_is_shown_whole_with_its_spans() -> None:
    shown = shown_text("one\ntwo three\n", [(4, 7)])
    assert (shown.text, shown.spans, shown.is_part) == ("one\ntwo three\n", ((4, 7),), False)


def test_spans_count_utf16_units_after_characters_outside_the_bmp() -> None:
    text = "🙂 a 𝑥 b: the passage"
    start = text.index("the passage")
    shown = shown_text(text, [(start, len(text))])
    units = text.encode("utf-16-le")
    begin, end = shown.spans[0]
    assert units[2 * begin : 2 * end].decode("utf-16-le") == "the passage"


def test_a_long_text_is_cut_around_the_passage_at_line_ends() -> None:
    lines = [f"line {i:05d} of the log\n" for i in range(5000)]
    text = "".join(lines)
    target = text.index("line 04000")
    shown = shown_text(text, [(target, target + 10)], limit=10_000)
    assert shown.is_part and 0 < shown.start < target < shown.end < len(text)
    assert len(shown.text) <= 10_000
    assert shown.text.startswith("line ") and shown.text.endswith("\n")
    begin, end = shown.spans[0]
    assert shown.text[begin:end] == "line 04000"


def test_a_long_text_without_a_passage_shows_its_start() -> None:
    text = "word " * 10_000
    shown = shown_text(text, [], limit=1_000)
    assert shown.start == 0 and len(shown.text) <= 1_000 and shown.spans == ()
