"""EPUB books read on the standard library: a book written by hand with zipfile (EPUB 2, an NCX and
no navigation document, the OPF in a subfolder, percent-encoded hrefs, a ``linear="no"`` page),
so the reader is checked against a producer other than ebooklib; broken packages fail with their
reason; and the parser never imports ebooklib (AGPL), which only writes the other test books."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from tests.support import format_files as ff
from tests.support.children import python

from ember.errors import IngestError
from ember.knowledge.detect import probe
from ember.knowledge.parsers import epub

CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles>
    <rootfile full-path="{opf}" media-type="application/oebps-package+xml"/>
  </rootfiles>
</container>"""

OPF = """<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" unique-identifier="uid" version="2.0">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:opf="http://www.idpf.org/2007/opf">
    <dc:title>  Hand Made Tales </dc:title>
    <dc:identifier id="uid">hand-made-1</dc:identifier>
    <dc:language>en</dc:language>
  </metadata>
  <manifest>
    <item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>
    <item id="css" href="../Styles/book.css" media-type="text/css"/>
    <item id="morning" href="../Text/Chapter%201.xhtml" media-type="application/xhtml+xml"/>
    <item id="notes" href="../Text/notes.xhtml" media-type="application/xhtml+xml"/>
    <item id="evening" href="../Text/ch2.xhtml" media-type="application/xhtml+xml"/>
    <item id="blank" href="../Text/blank.xhtml" media-type="application/xhtml+xml"/>
  </manifest>
  <spine toc="ncx">
    <itemref idref="morning"/>
    <itemref idref="notes" linear="no"/>
    <itemref idref="css"/>
    <itemref idref="blank"/>
    <itemref idref="evening"/>
  </spine>
</package>"""

NCX = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE ncx PUBLIC "-//NISO//DTD ncx 2005-1//EN" "http://www.daisy.org/z3986/2005/ncx-2005-1.dtd">
<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1">
  <head><meta name="dtb:uid" content="hand-made-1"/></head>
  <docTitle><text>Hand Made Tales</text></docTitle>
  <navMap>
    <navPoint id="p1" playOrder="1">
      <navLabel><text>The   Morning</text></navLabel>
      <content src="../Text/Chapter%201.xhtml#start"/>
      <navPoint id="p1a" playOrder="2">
        <navLabel><text>A later name for the morning</text></navLabel>
        <content src="../Text/Chapter%201.xhtml#later"/>
      </navPoint>
    </navPoint>
    <navPoint id="p2" playOrder="3">
      <navLabel><text>Dusk</text></navLabel>
      <content src="../Text/ch2.xhtml"/>
    </navPoint>
  </navMap>
</ncx>"""

XHTML = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN" "http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>t</title></head>
<body>{body}</body></html>"""

PARTS = {
    "OEBPS/content/book.opf": OPF,
    "OEBPS/content/toc.ncx": NCX,
    "OEBPS/Styles/book.css": "p { margin: 0 }",
    "OEBPS/Text/Chapter 1.xhtml": XHTML.format(body='<p id="start">The sun rose.</p>'),
    "OEBPS/Text/notes.xhtml": XHTML.format(body="<p>A note on sources.</p>"),
    "OEBPS/Text/blank.xhtml": XHTML.format(body="<div></div>"),
    "OEBPS/Text/ch2.xhtml": XHTML.format(body="<h1>Evening</h1><p>The lamps were lit.</p>"),
}


def write_hand_epub(
    path: Path, parts: dict[str, str] = PARTS, opf: str | None = "OEBPS/content/book.opf"
) -> Path:
    """An EPUB written member by member with zipfile: the stored ``mimetype`` first, then the
    container naming ``opf`` (the package document's member name; None: no container), then
    ``parts``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        if opf is not None:
            archive.writestr("META-INF/container.xml", CONTAINER.format(opf=opf))
        for name, text in parts.items():
            archive.writestr(name, text)
    return path


def located(document) -> list[tuple[str | None, tuple[str, ...], str]]:  # type: ignore[no-untyped-def]
    return [(s.page_label, s.heading_path, s.text) for s in document.sections]


def test_a_hand_written_epub2_is_read_in_spine_order_with_its_ncx_titles(tmp_path: Path) -> None:
    book = write_hand_epub(tmp_path / "tales.epub")
    assert probe(book).kind == "epub"
    document = epub.parse(book)
    assert document.kind == "epub" and document.title == "Hand Made Tales"
    # "Chapter%201.xhtml" is the member "Chapter 1.xhtml"; the NCX's first entry for it names it;
    # the linear="no" notes stay in reading order; the CSS itemref and the empty page are no
    # chapters; a heading in the document wins over the NCX's title.
    assert located(document) == [
        ("chapter 1", ("The Morning",), "The sun rose."),
        ("chapter 2", (), "A note on sources."),
        ("chapter 3", ("Evening",), "The lamps were lit."),
    ]


def test_an_epub3_nav_document_gives_the_titles_and_is_no_chapter(tmp_path: Path) -> None:
    nav = XHTML.format(
        body='<nav xmlns:epub="http://www.idpf.org/2007/ops" epub:type="toc"><ol>'
        '<li><a href="../Text/Chapter%201.xhtml">Sunrise</a></li>'
        '<li><a href="../Text/notes.xhtml">Sources</a></li></ol></nav>'
    ).replace("<html ", '<html xmlns:epub="http://www.idpf.org/2007/ops" ', 1)
    opf = OPF.replace(
        '<item id="css"',
        '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>\n'
        '    <item id="css"',
    ).replace('<itemref idref="morning"/>', '<itemref idref="nav"/><itemref idref="morning"/>')
    parts = {**PARTS, "OEBPS/content/book.opf": opf, "OEBPS/content/nav.xhtml": nav}
    document = epub.parse(write_hand_epub(tmp_path / "tales3.epub", parts))
    assert [(label, heading) for label, heading, _ in located(document)] == [
        ("chapter 1", ("Sunrise",)),  # the nav wins over the NCX when a book has both
        ("chapter 2", ("Sources",)),
        ("chapter 3", ("Evening",)),
    ]


DAMAGED = "damaged EPUB book: a part it needs is missing or corrupt"
OPF_NAME = "OEBPS/content/book.opf"


@pytest.mark.parametrize(
    ("parts", "opf", "message"),
    [
        (PARTS, None, DAMAGED),
        (PARTS, "OEBPS/missing.opf", "not an EPUB book: it has no package document"),
        ({**PARTS, OPF_NAME: OPF[:400]}, OPF_NAME, DAMAGED),
        ({k: v for k, v in PARTS.items() if k != "OEBPS/Text/ch2.xhtml"}, OPF_NAME, DAMAGED),
        ({**PARTS, OPF_NAME: OPF.replace("manifest>", "x>")}, OPF_NAME, DAMAGED),
    ],
    ids=["no-container", "no-package", "malformed-package", "missing-document", "no-manifest"],
)
def test_a_broken_package_fails_with_its_reason(
    tmp_path: Path, parts: dict[str, str], opf: str | None, message: str
) -> None:
    book = write_hand_epub(tmp_path / "broken.epub", parts, opf)
    with pytest.raises(IngestError) as failure:
        epub.parse(book)
    assert str(failure.value) == message


def test_a_book_without_text_says_so(tmp_path: Path) -> None:
    parts = {**PARTS}
    for name in ("OEBPS/Text/Chapter 1.xhtml", "OEBPS/Text/notes.xhtml", "OEBPS/Text/ch2.xhtml"):
        parts[name] = XHTML.format(body="<p> </p>")
    with pytest.raises(IngestError, match=r"^no text found in this EPUB book$"):
        epub.parse(write_hand_epub(tmp_path / "empty.epub", parts))


def test_parsing_an_epub_never_imports_ebooklib(tmp_path: Path) -> None:
    # One book from each producer, parsed in a fresh interpreter: ebooklib is AGPL-3.0 and must
    # stay out of Ember's runtime (and its bundle).
    books = [
        write_hand_epub(tmp_path / "hand.epub"),
        ff.write_epub(tmp_path / "lib.epub", [("One", "Text.")], title="Lib"),
    ]
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from ember.knowledge.parsers import epub\n"
        "titles = [epub.parse(Path(p)).title for p in sys.argv[1:]]\n"
        "print(json.dumps([titles, sorted(m for m in sys.modules if m.startswith('ebooklib'))]))\n"
    )
    done = python("-c", script, *map(str, books))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [["Hand Made Tales", "Lib"], []]
