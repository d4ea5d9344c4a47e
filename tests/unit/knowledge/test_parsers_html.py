"""The HTML parser: visible text only, sectioned by headings."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
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


def _text(document: ParsedDocument) -> str:
    return "\n\n".join(section.text for section in document.sections)


# -- site chrome versus the page's own header, footer and asides ------------------------------------

WEBFORMS_PAGE = """<!DOCTYPE html>
<html><head><title>Staff handbook - Leave policy</title></head>
<body>
<form method="post" action="./LeavePolicy.aspx" id="aspnetForm">
<input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" value="dDwtMTA4MTQ3MjYyNDs7Pg==" />
<div id="page">
  <div id="menu"><a href="/">Home</a> | <a href="/hr">HR</a></div>
  <div id="content">
    <h1>Leave policy</h1>
    <p>Employees accrue two and a half days of paid leave per month of service.</p>
    <h2>Trevalline sabbatical</h2>
    <p>After seven years of service an employee may take the Trevalline sabbatical.</p>
  </div>
</div>
</form>
</body></html>
"""


def test_a_page_wrapped_in_one_form_keeps_its_text(tmp_path: Path) -> None:
    document = _parse(tmp_path, WEBFORMS_PAGE)
    assert [(s.heading_path, s.text) for s in document.sections] == [
        (
            ("Leave policy",),
            "Employees accrue two and a half days of paid leave per month of service.",
        ),
        (
            ("Leave policy", "Trevalline sabbatical"),
            "After seven years of service an employee may take the Trevalline sabbatical.",
        ),
    ]


def test_a_form_keeps_its_labels_legends_and_text_but_not_its_controls(tmp_path: Path) -> None:
    page = """<html><body><form action="/contact" method="post">
    <input type="hidden" name="__VIEWSTATE" value="c2VjcmV0IHZpZXdzdGF0ZQ==">
    <header><a href="/">Intranet</a></header>
    <fieldset><legend>Contact details</legend>
      <label for="name">Your name</label> <input id="name" value="typed by someone">
      <label for="team">Team</label>
      <select id="team"><option>Payroll</option><option>Facilities</option></select>
    </fieldset>
    <p>The facilities desk answers within two working days.</p>
    <button type="submit">Send</button>
    <footer>Copyright Intranet. All rights reserved.</footer>
    </form></body></html>"""
    text = _text(_parse(tmp_path, page))
    assert text == (
        "Contact details\nYour name\nTeam\n\nThe facilities desk answers within two working days."
    )


def test_site_chrome_at_the_top_of_a_form_page_is_dropped(tmp_path: Path) -> None:
    page = """<html><body><form id="aspnetForm"><div id="wrapper">
    <div id="header"><a href="/">Parish council</a></div>
    <h1>Allotments</h1>
    <p>Plots are let from the first of March for a year.</p>
    <div id="footer">Copyright Parish council. All rights reserved.</div>
    </div></form></body></html>"""
    document = _parse(tmp_path, page)
    assert _text(document) == "Plots are let from the first of March for a year."
    assert document.sections[0].heading_path == ("Allotments",)


NEWS_ARTICLE = """<!DOCTYPE html>
<html><head><title>Town bulletin</title></head>
<body>
<header><a href="/">Town bulletin</a>
  <nav><a href="/news">News</a> <a href="/events">Events</a></nav></header>
<main>
<article>
  <header>
    <h1>New footbridge opens over the Almsbeck</h1>
    <p class="standfirst">The Oskarwend footbridge, paid for by a village lottery, links the two
    halves of the market for the first time in forty years.</p>
  </header>
  <p>The bridge was opened on Saturday by the oldest resident of the parish.</p>
  <aside class="note"><p>Note: the bridge is closed to all traffic when the river gauge reads
  above 2.4 metres.</p></aside>
  <footer><p>Correction: an earlier version of this article gave the span as 30 metres;
  the Oskarwend footbridge is 34 metres long.</p></footer>
</article>
</main>
<footer><p>Copyright Town bulletin. All rights reserved.</p></footer>
</body></html>
"""


def test_an_articles_own_header_aside_and_footer_are_content(tmp_path: Path) -> None:
    document = _parse(tmp_path, NEWS_ARTICLE)
    assert [(s.heading_path, s.text) for s in document.sections] == [
        (
            ("New footbridge opens over the Almsbeck",),
            "The Oskarwend footbridge, paid for by a village lottery, links the two halves of the"
            " market for the first time in forty years.\n\n"
            "The bridge was opened on Saturday by the oldest resident of the parish.\n\n"
            "Note: the bridge is closed to all traffic when the river gauge reads above 2.4"
            " metres.\n\n"
            "Correction: an earlier version of this article gave the span as 30 metres; the"
            " Oskarwend footbridge is 34 metres long.",
        )
    ]


def test_the_sites_own_header_and_footer_around_an_article_are_dropped(tmp_path: Path) -> None:
    text = _text(_parse(tmp_path, NEWS_ARTICLE))
    for chrome in ("Town bulletin", "Events", "Copyright", "All rights reserved"):
        assert chrome not in text


def test_a_header_and_footer_inside_main_or_a_section_are_content(tmp_path: Path) -> None:
    page = """<html><body>
    <header><a href="/">Field notes</a></header>
    <main>
      <header><h1>Spring survey</h1><p>Counted by twelve volunteers.</p></header>
      <section>
        <header><h2>Waders</h2><p>Counts at high tide.</p></header>
        <p>Forty-one redshank on the east marsh.</p>
        <footer><p>Recorded by the Kettleby group.</p></footer>
      </section>
    </main>
    <footer>Copyright Field notes. All rights reserved.</footer>
    </body></html>"""
    assert [(s.heading_path, s.text) for s in _parse(tmp_path, page).sections] == [
        (("Spring survey",), "Counted by twelve volunteers."),
        (
            ("Spring survey", "Waders"),
            "Counts at high tide.\n\nForty-one redshank on the east marsh.\n\n"
            "Recorded by the Kettleby group.",
        ),
    ]


def test_chrome_beside_the_wrapper_that_holds_the_page_is_dropped(tmp_path: Path) -> None:
    # The banner sits beside div#page; the navigation and the footer sit inside it. Landmarks by
    # ARIA role count as landmarks by tag.
    page = """<html><body>
    <div role="banner"><a href="/">Museum of Clocks</a></div>
    <div id="page">
      <div role="navigation"><a href="/visit">Visit</a></div>
      <div class="content"><p>The long-case collection reopens in May.</p></div>
      <div role="contentinfo">Copyright Museum of Clocks. All rights reserved.</div>
    </div>
    </body></html>"""
    assert _text(_parse(tmp_path, page)) == "The long-case collection reopens in May."


def test_navigation_is_dropped_even_inside_an_article(tmp_path: Path) -> None:
    page = """<html><body><article>
    <h1>Sharpening chisels</h1>
    <nav class="toc"><ol><li><a href="#stones">Choosing stones</a></li></ol></nav>
    <h2 id="stones">Choosing stones</h2>
    <p>Start on a 1000 grit stone.</p>
    <aside><p>Tip: flatten the stone before every session.</p></aside>
    </article></body></html>"""
    assert [(s.heading_path, s.text) for s in _parse(tmp_path, page).sections] == [
        (
            ("Sharpening chisels", "Choosing stones"),
            "Start on a 1000 grit stone.\n\nTip: flatten the stone before every session.",
        ),
    ]


def test_a_top_level_header_holding_the_pages_only_title_is_the_pages_own(tmp_path: Path) -> None:
    page = """<html><body>
    <header><h1>On walls</h1><p>An essay about dry-stone walling.</p></header>
    <p>A wall is built twice: once in the head, once on the ground.</p>
    <footer>Copyright the author. All rights reserved.</footer>
    </body></html>"""
    assert [(s.heading_path, s.text) for s in _parse(tmp_path, page).sections] == [
        (
            ("On walls",),
            "An essay about dry-stone walling.\n\n"
            "A wall is built twice: once in the head, once on the ground.",
        ),
    ]


def test_many_top_level_asides_each_with_an_h1_are_judged_in_linear_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each aside holds one h1 of 8,000, so none holds the page's title: all are chrome. Judging
    # that must not search the whole page once per aside (18.8 s for this page when it did).
    from bs4 import BeautifulSoup

    whole_page_searches = 0
    find_all = BeautifulSoup.find_all

    def counting(self: BeautifulSoup, *args: object, **kwargs: object) -> object:
        nonlocal whole_page_searches
        whole_page_searches += 1
        return find_all(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(BeautifulSoup, "find_all", counting)
    page = "<body>" + "".join(f"<aside><h1>{n}</h1></aside>" for n in range(8_000))
    started = time.perf_counter()
    document = _parse(tmp_path, page + "<p>real</p></body>")
    elapsed = time.perf_counter() - started
    assert _text(document) == "real"
    assert whole_page_searches <= 3
    assert elapsed < 5.0


def test_a_site_logo_in_a_top_level_h1_is_still_chrome(tmp_path: Path) -> None:
    page = """<html><body>
    <header><h1><a href="/">Kettleby Gazette</a></h1></header>
    <main><h2>Fete moved</h2><p>The summer fete moves to the cricket ground.</p></main>
    </body></html>"""
    assert [(s.heading_path, s.text) for s in _parse(tmp_path, page).sections] == [
        (("Fete moved",), "The summer fete moves to the cricket ground."),
    ]


def test_a_page_that_is_all_chrome_keeps_it_rather_than_come_out_empty(tmp_path: Path) -> None:
    sitemap = """<html><body><nav><ul><li><a href="/a">Opening hours</a></li>
    <li><a href="/b">Prices</a></li></ul></nav>
    <footer>Copyright Leisure centre</footer></body></html>"""
    assert _text(_parse(tmp_path, sitemap)) == "Opening hours\nPrices\n\nCopyright Leisure centre"
    only_a_button = "<html><body><form><div><button>Start the survey</button></div></form></body>"
    assert _text(_parse(tmp_path, only_a_button, "button.html")) == "Start the survey"


# -- tables -----------------------------------------------------------------------------------------


def test_a_data_table_becomes_a_markdown_pipe_table(tmp_path: Path) -> None:
    page = """<html><body><h1>Alloys</h1><p>Measured in the workshop.</p>
    <table>
      <caption>Workshop alloys</caption>
      <thead><tr><th>Alloy</th><th>Melting point (°C)</th></tr></thead>
      <tbody>
        <tr><td>Wenlumane</td><td>525</td></tr>
        <tr><td>  Brandolite </td><td><b>1 210</b></td></tr>
      </tbody>
    </table>
    <p>Figures are averages.</p></body></html>"""
    assert _parse(tmp_path, page).sections[0].text == (
        "Measured in the workshop.\n\n"
        "Workshop alloys\n"
        "| Alloy | Melting point (°C) |\n"
        "| --- | --- |\n"
        "| Wenlumane | 525 |\n"
        "| Brandolite | 1 210 |\n\n"
        "Figures are averages."
    )


def test_without_a_thead_the_first_row_is_the_header(tmp_path: Path) -> None:
    # Cells of any kind; a pipe inside a cell is escaped; a cell spanning columns is said once.
    page = """<table>
    <tr><td>Route</td><td>Stops</td><td>Note</td></tr>
    <tr><td>7 | 7A</td><td>Quay, Market</td><td>Sundays only</td></tr>
    <tr><td>12</td><td colspan="2">Withdrawn</td></tr>
    </table>"""
    assert _text(_parse(tmp_path, page)) == (
        "| Route | Stops | Note |\n"
        "| --- | --- | --- |\n"
        "| 7 \\| 7A | Quay, Market | Sundays only |\n"
        "| 12 | Withdrawn | |"
    )


def test_cells_after_a_colspan_stay_under_their_own_column(tmp_path: Path) -> None:
    # A spanning cell's text is said once, in its first column; the columns it covers are empty.
    page = """<table>
    <tr><th>Name</th><th>Q1</th><th>Q2</th></tr>
    <tr><td colspan="2">Acme</td><td>5</td></tr>
    <tr><td>Brill</td><td colspan="2">7 (both quarters)</td></tr>
    </table>"""
    assert _text(_parse(tmp_path, page)) == (
        "| Name | Q1 | Q2 |\n| --- | --- | --- |\n| Acme | | 5 |\n| Brill | 7 (both quarters) | |"
    )


def test_a_rowspan_cell_is_repeated_in_every_row_it_covers(tmp_path: Path) -> None:
    # Each row read alone keeps its label, and the cells beside it keep their columns.
    page = """<table>
    <tr><th>Region</th><th>Town</th><th>Population</th></tr>
    <tr><td rowspan="3">North</td><td>Ayrholm</td><td>10 400</td></tr>
    <tr><td>Butterley</td><td>2 150</td></tr>
    <tr><td>Carrow</td><td rowspan="2">900</td></tr>
    <tr><td>South</td><td>Dunmere</td></tr>
    </table>"""
    assert _text(_parse(tmp_path, page)) == (
        "| Region | Town | Population |\n"
        "| --- | --- | --- |\n"
        "| North | Ayrholm | 10 400 |\n"
        "| North | Butterley | 2 150 |\n"
        "| North | Carrow | 900 |\n"
        "| South | Dunmere | 900 |"
    )


def test_every_row_and_the_header_are_padded_to_the_widest_row(tmp_path: Path) -> None:
    page = """<table>
    <tr><th>Part</th><th>Stock</th></tr>
    <tr><td>Hinge</td><td>40</td><td>reorder</td></tr>
    <tr><td>Latch</td></tr>
    <tr><td>Catch</td><td>3</td><td></td><td></td><td></td></tr>
    </table>"""
    assert _text(_parse(tmp_path, page)) == (
        "| Part | Stock | |\n"
        "| --- | --- | --- |\n"
        "| Hinge | 40 | reorder |\n"
        "| Latch | | |\n"
        "| Catch | 3 | |"
    )


def test_a_first_row_spanning_the_whole_table_is_its_title_not_its_header(
    tmp_path: Path,
) -> None:
    # A colspan far wider than the table (a common way to say "all of them") does not widen it.
    page = """<table>
    <tr><th colspan="100">Ferry fares</th></tr>
    <tr><th>Ticket</th><th>Adult</th><th>Child</th></tr>
    <tr><td>Single</td><td>4.20</td><td>2.10</td></tr>
    <tr><td>Return</td><td>7.80</td><td>3.90</td></tr>
    </table>"""
    assert _text(_parse(tmp_path, page)) == (
        "Ferry fares\n"
        "| Ticket | Adult | Child |\n"
        "| --- | --- | --- |\n"
        "| Single | 4.20 | 2.10 |\n"
        "| Return | 7.80 | 3.90 |"
    )


def test_a_titled_table_of_one_row_reads_as_lines(tmp_path: Path) -> None:
    # Python's own docs list the built-in functions this way: a title spanning four columns over
    # one row of four cells. Without the title there is one row left, which is not a grid.
    page = """<table><thead><tr><th colspan="4"><p>Built-in Functions</p></th></tr></thead>
    <tbody><tr><td><div>A</div><div>abs()</div></td><td><div>E</div><div>eval()</div></td>
    <td><div>L</div><div>len()</div></td><td><div>R</div><div>range()</div></td></tr></tbody>
    </table>"""
    text = _text(_parse(tmp_path, page))
    assert "|" not in text
    assert text.split() == "Built-in Functions A abs() E eval() L len() R range()".split()


def test_a_crafted_table_cannot_multiply_its_size(tmp_path: Path) -> None:
    # 63 long cells carried down 20,000 empty rows would be a quarter of a gigabyte of pipe table;
    # past a budget proportional to the markup, the table is read as text, each cell said once.
    cell = "x" * 200
    first = "<tr>" + f'<td rowspan="0">{cell}</td>' * 63 + "</tr>"
    page = "<table>" + first + "<tr></tr>" * 20_000 + "</table>"
    text = _text(_parse(tmp_path, page))
    assert len(text) < 4 * len(page)
    assert text.count(cell) == 63


def test_a_table_wider_than_63_columns_reads_as_text(tmp_path: Path) -> None:
    header = "<tr>" + "".join(f"<th>c{n}</th>" for n in range(70)) + "</tr>"
    row = "<tr>" + "".join(f"<td>{n}</td>" for n in range(70)) + "</tr>"
    text = _text(_parse(tmp_path, f"<table>{header}{row}</table>"))
    assert "|" not in text
    assert text.split()[-1] == "69"


def test_a_table_inside_a_cell_is_flattened_into_that_cell(tmp_path: Path) -> None:
    page = """<table>
    <tr><th>Hut</th><th>Beds</th></tr>
    <tr><td>Glasbeck</td><td><table><tr><td>12 dorm</td></tr><tr><td>2 private</td></tr></table></td></tr>
    </table>"""
    assert _text(_parse(tmp_path, page)) == (
        "| Hut | Beds |\n| --- | --- |\n| Glasbeck | 12 dorm 2 private |"
    )


def test_rows_and_cells_left_unclosed_still_line_up(tmp_path: Path) -> None:
    page = "<table><tr><th>Day<th>Opens<tr><td>Monday<td>9:00<tr><td>Tuesday<td>10:00</table>"
    assert _text(_parse(tmp_path, page)) == (
        "| Day | Opens |\n| --- | --- |\n| Monday | 9:00 |\n| Tuesday | 10:00 |"
    )


def test_a_one_column_table_reads_as_lines(tmp_path: Path) -> None:
    page = "<table><tr><td>Flour</td></tr><tr><td>Water</td></tr><tr><td>Salt</td></tr></table>"
    assert _text(_parse(tmp_path, page)) == "Flour\nWater\nSalt"


def test_a_table_laying_out_a_page_reads_as_blocks_with_its_headings(tmp_path: Path) -> None:
    long_text = "The ferry leaves the north pier every hour between spring and autumn. " * 6
    page = f"""<html><body><table width="100%">
    <tr><td colspan="2"><a href="/">Ferry company</a></td></tr>
    <tr><td width="20%">Timetable<br>Fares</td>
        <td><h1>Crossings</h1><p>{long_text}</p></td></tr>
    </table></body></html>"""
    document = _parse(tmp_path, page)
    assert [(s.heading_path, s.text) for s in document.sections] == [
        ((), "Ferry company\nTimetable\nFares"),
        (("Crossings",), long_text.strip()),
    ]
    assert "|" not in _text(document)


def test_long_cells_side_by_side_read_as_blocks(tmp_path: Path) -> None:
    left = "The east wing holds the archive of parish registers, " * 8
    right = "The west wing holds the reading room and the map collection, " * 8
    page = f"<table><tr><td>{left}</td><td>{right}</td></tr><tr><td>a</td><td>b</td></tr></table>"
    assert _text(_parse(tmp_path, page)) == f"{left.strip()}\n{right.strip()}\na\nb"


def test_deeply_nested_tables_do_not_exhaust_the_stack(tmp_path: Path) -> None:
    page = "<table><tr><td>" * 5_000 + "innermost" + "</td></tr></table>" * 5_000
    assert _text(_parse(tmp_path, page)) == "innermost"


def test_a_page_of_nothing_but_headings_keeps_them_as_its_text(tmp_path: Path) -> None:
    page = "<html><body><h1>Under construction</h1><h2>Back in June</h2></body></html>"
    document = _parse(tmp_path, page)
    assert [(s.heading_path, s.text) for s in document.sections] == [
        ((), "Under construction\nBack in June")
    ]
