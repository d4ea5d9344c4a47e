"""Real documents, good and hostile, generated on demand (no binary blobs in git).

Good ones: :func:`write_pdf` (fpdf2, known text per page, optional encryption), :func:`write_docx`
(python-docx, headings and tables). Hostile ones: zip bombs, entity bombs, path traversal,
truncated and mislabelled files, FIFOs, symlink loops, sparse giants. :func:`generate` writes the
whole hostile corpus into a folder in well under a few seconds.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

# A DOCX block: ("title" | "h1".."h9" | "p", text) or ("table", rows).
Block = tuple[str, object]


def write_pdf(
    path: Path,
    pages: Sequence[str],
    *,
    user_password: str | None = None,
    title: str | None = None,
) -> Path:
    """A PDF with one page per string; ``user_password=""`` encrypts with an empty user password."""
    from fpdf import FPDF

    pdf = FPDF()
    if title:
        pdf.set_title(title)
    if user_password is not None:
        pdf.set_encryption(owner_password="owner-secret", user_password=user_password)
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(w=0, text=text)
    pdf.output(str(path))
    return path


def write_image_only_pdf(path: Path, pages: int = 2) -> Path:
    """A "scanned" PDF: every page is a picture, there is no text layer at all."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (400, 200), "white")
    ImageDraw.Draw(picture).rectangle((20, 20, 380, 180), outline="black", width=5)
    pdf = FPDF()
    for _ in range(pages):
        pdf.add_page()
        pdf.image(picture, x=10, y=10, w=180)
    pdf.output(str(path))
    return path


def write_docx(path: Path, blocks: Sequence[Block], *, core_title: str | None = None) -> Path:
    """A Word document built with python-docx from ``blocks`` in order."""
    import docx

    document = docx.Document()
    if core_title:
        document.core_properties.title = core_title
    for kind, content in blocks:
        if kind == "title":
            document.add_heading(str(content), level=0)
        elif kind.startswith("h"):
            document.add_heading(str(content), level=int(kind[1:]))
        elif kind == "table":
            rows = list(content)  # type: ignore[call-overload]
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    table.cell(r, c).text = str(value)
        else:
            document.add_paragraph(str(content))
    document.save(str(path))
    return path


def _simple_docx_bytes() -> bytes:
    buffer = io.BytesIO()
    import docx

    document = docx.Document()
    document.add_heading("Harmless heading", level=1)
    document.add_paragraph("Harmless text.")
    document.save(buffer)
    return buffer.getvalue()


def rebuild_docx(
    path: Path,
    *,
    replace: dict[str, bytes] | None = None,
    extra: dict[str, bytes] | None = None,
) -> Path:
    """A valid DOCX with some members replaced and some added (names are written verbatim)."""
    replace = replace or {}
    with (
        zipfile.ZipFile(io.BytesIO(_simple_docx_bytes())) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, replace.get(info.filename, source.read(info)))
        for name, data in (extra or {}).items():
            target.writestr(zipfile.ZipInfo(name), data)
    return path


def zip_bomb_docx(path: Path, unpacked_mb: int = 64) -> Path:
    """A DOCX with a media member of ``unpacked_mb`` MB of zeros that compresses ~1000:1."""
    rebuild_docx(path)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("word/media/image1.png", "w", force_zip64=True) as member:
            block = bytes(1024 * 1024)
            for _ in range(unpacked_mb):
                member.write(block)
    return path


def many_members_docx(path: Path, members: int = 100_000) -> Path:
    """A DOCX padded with ``members`` empty extra members.

    Written as raw ZIP64 records: zipfile would take seconds for 100k entries, this takes ~0.1 s.
    """
    with zipfile.ZipFile(io.BytesIO(_simple_docx_bytes())) as source:
        entries = [(info.filename, source.read(info)) for info in source.infolist()]
    entries += [(f"customXml/item{index}.bin", b"") for index in range(members)]
    local: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for name, data in entries:
        raw_name = name.encode()
        crc = zlib.crc32(data)
        size = len(data)
        # Version 2.0, no flags, stored, dated 1980-01-01; the central entry points at the local one.
        header = struct.pack(
            "<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0x21, crc, size, size, len(raw_name), 0
        )
        entry = (20, 20, 0, 0, 0, 0x21, crc, size, size, len(raw_name), 0, 0, 0, 0, 0, offset)
        central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", *entry) + raw_name)
        local += (header, raw_name, data)
        offset += len(header) + len(raw_name) + len(data)
    directory = b"".join(central)
    count = len(entries)
    zip64_end = struct.pack(
        "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(directory), offset
    )
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, offset + len(directory), 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, len(directory), offset, 0)
    path.write_bytes(b"".join(local) + directory + zip64_end + locator + end)
    return path


def traversal_docx(path: Path) -> Path:
    """A DOCX carrying a member whose name climbs out of the extraction folder."""
    return rebuild_docx(path, extra={"../../evil.txt": b"owned"})


ENTITY_BOMB_XML = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>
"""


def entity_bomb_docx(path: Path) -> Path:
    """A DOCX whose main part is a "billion laughs" XML entity bomb."""
    return rebuild_docx(path, replace={"word/document.xml": ENTITY_BOMB_XML})


def truncated_pdf(path: Path) -> Path:
    """The first 300 bytes of a real PDF: header present, body and cross-references gone."""
    full = write_pdf(path, ["This PDF will lose most of its bytes."])
    full.write_bytes(full.read_bytes()[:300])
    return path


def pdf_named_docx(path: Path, text: str = "I am a PDF wearing a .docx name.") -> Path:
    return write_pdf(path, [text])


def binary_named_txt(path: Path) -> Path:
    """Bytes that are not text (NULs and high bytes), under a .txt name."""
    path.write_bytes(bytes(range(256)) * 64)
    return path


def png_named_txt(path: Path) -> Path:
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200))
    return path


def empty_file(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def fifo(path: Path) -> Path:
    """A named pipe: opening it for reading would block forever if nobody writes."""
    os.mkfifo(path)
    return path


def symlink_loop(folder: Path) -> Path:
    """``folder/loop -> folder`` plus ``folder/self -> self``: naive walkers never finish."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "note.txt").write_text("inside the loop\n")
    (folder / "loop").symlink_to(folder, target_is_directory=True)
    (folder / "self.txt").symlink_to(folder / "self.txt")
    return folder


def sparse_file(path: Path, size: int = 5_000_000_000) -> Path:
    """A ``size``-byte file that takes no disk space (``truncate``)."""
    with open(path, "wb") as stream:
        stream.truncate(size)
    return path


def single_line_text(path: Path, size: int) -> Path:
    """``size`` bytes of text with no newline at all, written in 8 MB pieces."""
    piece = (b"lorem ipsum dolor sit amet " * (8 * 1024 * 1024 // 27 + 1))[: 8 * 1024 * 1024]
    with open(path, "wb") as stream:
        written = 0
        while written < size:
            chunk = piece[: size - written]
            stream.write(chunk)
            written += len(chunk)
    return path


def deeply_nested_html(path: Path, depth: int = 50_000) -> Path:
    """An HTML page nested ``depth`` divs deep, with text at the bottom."""
    path.write_text(
        "<html><body>" + "<div>" * depth + "deep text" + "</div>" * depth + "</body></html>"
    )
    return path


def corrupt_csv(path: Path) -> Path:
    """A CSV with an unterminated quote swallowing a 2 MB field."""
    path.write_text('name,notes\nalpha,"' + "x" * (2 * 1024 * 1024) + "\n")
    return path


def generate(folder: Path) -> dict[str, Path]:
    """Write the whole hostile corpus into ``folder``; returns name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "zip_bomb.docx": zip_bomb_docx(folder / "zip_bomb.docx"),
        "many_members.docx": many_members_docx(folder / "many_members.docx"),
        "traversal.docx": traversal_docx(folder / "traversal.docx"),
        "entity_bomb.docx": entity_bomb_docx(folder / "entity_bomb.docx"),
        "truncated.pdf": truncated_pdf(folder / "truncated.pdf"),
        "pdf_named.docx": pdf_named_docx(folder / "pdf_named.docx"),
        "binary.txt": binary_named_txt(folder / "binary.txt"),
        "png.txt": png_named_txt(folder / "png.txt"),
        "empty.txt": empty_file(folder / "empty.txt"),
        "fifo.txt": fifo(folder / "fifo.txt"),
        "loop": symlink_loop(folder / "loop"),
        "sparse_5gb.txt": sparse_file(folder / "sparse_5gb.txt"),
        "nested.html": deeply_nested_html(folder / "nested.html"),
        "corrupt.csv": corrupt_csv(folder / "corrupt.csv"),
    }


# -- more hostile PDFs ----------------------------------------------------------------------------


def _raw_pdf(objects: dict[int, bytes], root: int = 1, *, xref: bool = True) -> bytes:
    """A PDF from numbered object bodies, with a correct cross-reference table unless told not to."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    start = len(out)
    size = max(objects) + 1
    if xref:
        out += b"xref\n0 %d\n0000000000 65535 f \n" % size
        for number in range(1, size):
            out += b"%010d 00000 n \n" % offsets.get(number, 0)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, root, start)
    return bytes(out)


def pdf_decompression_bomb(path: Path, unpacked_mb: int = 512) -> Path:
    """A one-page PDF whose content stream inflates from ~0.5 MB to ``unpacked_mb`` MB."""
    compressor = zlib.compressobj(9)
    block = b" " * (1024 * 1024)
    packed = b"".join(compressor.compress(block) for _ in range(unpacked_mb)) + compressor.flush()
    stream = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        4: stream + b"\nendstream",
    }
    path.write_bytes(_raw_pdf(objects))
    return path


def pdf_circular_xref(path: Path) -> Path:
    """A PDF whose trailer's /Prev points back at its own cross-reference table (a loop)."""
    body = _raw_pdf(
        {
            1: b"<< /Type /Catalog /Pages 2 0 R >>",
            2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        }
    )
    start = int(body.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    body = body.replace(b"/Root 1 0 R >>", b"/Root 1 0 R /Prev %d >>" % start)
    path.write_bytes(body)
    return path


def pdf_self_referencing_pages(path: Path) -> Path:
    """A page tree whose /Pages node lists itself among its kids (an infinite tree)."""
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    }
    path.write_bytes(_raw_pdf(objects))
    return path


# -- text in every encoding, and files that are hard to reach ----------------------------------------

SAMPLE_TEXT = "Crème brûlée costs 5 € at the café. Naïve façade, déjà vu."


def utf16_text(path: Path, *, bom: bool) -> Path:
    path.write_bytes(SAMPLE_TEXT.encode("utf-16" if bom else "utf-16-le"))
    return path


def encoded_text(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def invalid_utf8(path: Path) -> Path:
    path.write_bytes(b"Valid start, then \xff\xfe\xc3\x28 broken bytes, then valid again.\n" * 20)
    return path


def text_with_nuls(path: Path) -> Path:
    """Mostly text with a few NUL bytes sprinkled in (a log file with a glitch)."""
    path.write_bytes(b"Line of a log file.\n" * 50 + b"\x00\x00\x00" + b"More log text.\n" * 50)
    return path


def unreadable(path: Path) -> Path:
    path.write_text("You may not read me.\n")
    path.chmod(0)
    return path


def very_long_path(folder: Path) -> Path:
    """A file about 3,900 characters deep (PATH_MAX is 4,096), in 250-character folder names."""
    current = folder
    while len(str(current)) < 3_600:
        current = current / ("d" * 250)
    current.mkdir(parents=True, exist_ok=True)
    target = current / ("long-name-" + "n" * 200 + ".txt")
    target.write_text("A note at the end of a very long path.\n")
    return target


def generate_all(folder: Path, *, data_dir: Path | None = None) -> dict[str, Path]:
    """:func:`generate` plus every other hostile and awkward input, one folder each kind."""
    files = generate(folder)
    pdfs = {
        "decompression_bomb.pdf": pdf_decompression_bomb(folder / "decompression_bomb.pdf"),
        "circular_xref.pdf": pdf_circular_xref(folder / "circular_xref.pdf"),
        "self_pages.pdf": pdf_self_referencing_pages(folder / "self_pages.pdf"),
        "encrypted_empty.pdf": write_pdf(
            folder / "encrypted_empty.pdf", ["Opens without a password."], user_password=""
        ),
        "encrypted_real.pdf": write_pdf(
            folder / "encrypted_real.pdf", ["Secret text."], user_password="hunter2"
        ),
        "image_only.pdf": write_image_only_pdf(folder / "image_only.pdf"),
    }
    texts = {
        "utf16_bom.txt": utf16_text(folder / "utf16_bom.txt", bom=True),
        "utf16_nobom.txt": utf16_text(folder / "utf16_nobom.txt", bom=False),
        "cp1252.txt": encoded_text(folder / "cp1252.txt", SAMPLE_TEXT, "cp1252"),
        "shift_jis.txt": encoded_text(
            folder / "shift_jis.txt",
            "東京の天気は晴れです。明日は雨が降るでしょう。" * 5,
            "shift_jis",
        ),
        "invalid_utf8.txt": invalid_utf8(folder / "invalid_utf8.txt"),
        "nuls.txt": text_with_nuls(folder / "nuls.txt"),
        "one_line_200mb.txt": single_line_text(folder / "one_line_200mb.txt", 200 * 1024 * 1024),
        "unreadable.txt": unreadable(folder / "unreadable.txt"),
        "long_path.txt": very_long_path(folder / "deep"),
    }
    # New extraction paths, new ways to explode: content controls nested past lxml's depth limit,
    # and a form with 100,000 widgets (PDFium's form set-up grows with the square of the count).
    pdfs["many_widgets.pdf"] = pdf_with_many_widgets(folder / "many_widgets.pdf")
    files["deep_controls.docx"] = deeply_nested_controls_docx(folder / "deep_controls.docx", 5_000)
    files.update(pdfs)
    files.update(texts)
    files.update(_hostile_pictures(folder))
    if data_dir is not None:
        files["data_dir"] = data_dir
    return files


def _hostile_pictures(folder: Path) -> dict[str, Path]:
    """Pictures for the OCR parser: decompression bombs, a truncated JPEG, a page with no text."""
    from tests.support import scans

    return {
        "bomb.png": scans.png_bomb(folder / "bomb.png", 20_000, 20_000),
        "huge.png": scans.png_bomb(folder / "huge.png"),
        "truncated.jpg": scans.truncated_jpeg(folder / "truncated.jpg"),
        "blank.png": scans.blank_picture(folder / "blank.png"),
    }


# == Hand-written WordprocessingML (the DOCX parser's tests) =======================================
# A .docx zipped from XML strings, so a test holds exactly the construct it is about (a text box,
# a content control, a tracked change, a footnote) however Word or another program would write it.

WORD_NAMESPACES = (
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:wpg="http://schemas.microsoft.com/office/word/2010/wordprocessingGroup" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:v="urn:schemas-microsoft-com:vml" '
    'xmlns:m="http://schemas.openxmlformats.org/officeDocument/2006/math" '
    'xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml" '
    'mc:Ignorable="w14"'
)
_WML = "application/vnd.openxmlformats-officedocument.wordprocessingml."
_OFFICE_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_PLAIN_STYLES = "".join(
    f'<w:style w:type="paragraph" w:styleId="{style_id}"><w:name w:val="{name}"/></w:style>'
    for style_id, name in [
        ("Title", "Title"),
        ("Heading1", "heading 1"),
        ("Heading2", "heading 2"),
        ("Heading3", "heading 3"),
    ]
)
DEFAULT_STYLES_XML = (
    '<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/>'
    f"</w:style>{_PLAIN_STYLES}"
)


def write_raw_docx(
    path: Path,
    body_xml: str,
    *,
    headers: Sequence[str] = (),
    footers: Sequence[str] = (),
    footnotes_xml: str | None = None,
    endnotes_xml: str | None = None,
    comments_xml: str | None = None,
    styles_xml: str = DEFAULT_STYLES_XML,
) -> Path:
    """A .docx whose ``w:body`` holds ``body_xml``, with the parts given: each header (footer) is
    the inside of a ``w:hdr`` (``w:ftr``), related as ``rIdHeader1``... (``rIdFooter1``...);
    the final section refers to the first of each. The notes and comments are the inside of
    ``w:footnotes``, ``w:endnotes``, ``w:comments``; ``styles_xml`` the inside of ``w:styles``.
    """
    parts: dict[str, tuple[str, str, str]] = {}  # name -> (content type, relationship, xml)
    for kind, root, contents in (("header", "hdr", headers), ("footer", "ftr", footers)):
        for number, inner in enumerate(contents, 1):
            parts[f"{kind}{number}.xml"] = (
                kind,
                kind,
                f"<w:{root} {WORD_NAMESPACES}>{inner}</w:{root}>",
            )
    for kind, inner in (
        ("footnotes", footnotes_xml),
        ("endnotes", endnotes_xml),
        ("comments", comments_xml),
    ):
        if inner is not None:
            parts[f"{kind}.xml"] = (kind, kind, f"<w:{kind} {WORD_NAMESPACES}>{inner}</w:{kind}>")
    references = "".join(
        f'<w:{kind}Reference w:type="default" r:id="rId{kind.title()}1"/>'
        for kind, contents in (("header", headers), ("footer", footers))
        if contents
    )
    document = (
        f"<w:document {WORD_NAMESPACES}><w:body>{body_xml}"
        f'<w:sectPr>{references}<w:pgSz w:w="12240" w:h="15840"/></w:sectPr></w:body></w:document>'
    )
    overrides = "".join(
        f'<Override PartName="/word/{name}" ContentType="{_WML}{kind}+xml"/>'
        for name, (kind, _, _) in parts.items()
    )
    content_types = (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/word/document.xml" ContentType="{_WML}document.main+xml"/>'
        f'<Override PartName="/word/styles.xml" ContentType="{_WML}styles+xml"/>'
        f"{overrides}</Types>"
    )
    root_rels = _relationships(
        f'<Relationship Id="rId1" Type="{_OFFICE_RELS}officeDocument" Target="word/document.xml"/>'
    )
    document_rels = _relationships(
        f'<Relationship Id="rIdStyles" Type="{_OFFICE_RELS}styles" Target="styles.xml"/>'
        + "".join(
            f'<Relationship Id="rId{name[:-4].title()}" Type="{_OFFICE_RELS}{relationship}" '
            f'Target="{name}"/>'
            for name, (_, relationship, _) in parts.items()
        )
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("_rels/.rels", root_rels)
        archive.writestr("word/_rels/document.xml.rels", document_rels)
        archive.writestr("word/document.xml", document)
        archive.writestr("word/styles.xml", f"<w:styles {WORD_NAMESPACES}>{styles_xml}</w:styles>")
        for name, (_, _, xml) in parts.items():
            archive.writestr(f"word/{name}", xml)
    return path


def _relationships(inner: str) -> str:
    return (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f"{inner}</Relationships>"
    )


def deeply_nested_controls_docx(path: Path, depth: int, text: str = "Deep inside.") -> Path:
    """A .docx whose only paragraph sits ``depth`` block-level content controls deep."""
    body = (
        "<w:sdt><w:sdtContent>" * depth
        + f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"
        + "</w:sdtContent></w:sdt>" * depth
    )
    return write_raw_docx(path, body)


# == PDF layouts, filled-in forms and line-end hyphens (raw PDF objects) ==========================
# fpdf2 cannot make these shapes: content streams that draw a page's text in a chosen order or
# direction, and AcroForm fields whose values live only in the field and its widget's look (a
# form filled in but never flattened). Text is latin-1 in WinAnsi Helvetica, so PDFium maps
# every glyph back to Unicode.

Line = tuple[float, float, str]  # (x, y, text): a line drawn with its baseline starting at x, y


def _pdf_string(text: str) -> str:
    """``text`` as a PDF literal string, e.g. ``(a \\(b\\))``; other than ASCII as octal
    escapes of its latin-1 bytes (``?`` where latin-1 has no such letter)."""
    body = []
    for char in text:
        if char in "()\\":
            body.append("\\" + char)
        elif " " <= char <= "~":
            body.append(char)
        else:
            body.append(f"\\{ord(char.encode('latin-1', errors='replace')):03o}")
    return "(" + "".join(body) + ")"


def _pdf_text(text: str) -> str:
    """``text`` as a PDF text string (a field's name or value): literal if latin-1 will do,
    else UTF-16BE with a byte order mark."""
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"
    return _pdf_string(text)


def _pdf_name(text: str) -> str:
    return "/" + "".join(c if c.isalnum() else f"#{ord(c):02x}" for c in text)


class RawPdf:
    """A PDF assembled object by object. Every page can use Helvetica as /F1, every widget
    appearance as /Helv; fields added to ``fields`` make up the AcroForm."""

    def __init__(self) -> None:
        self._objects: list[bytes] = []
        self._pages: list[tuple[int, int, tuple[float, float], int]] = []  # id, content, size, rot
        self._annots: dict[int, list[int]] = {}  # page index -> its widgets
        self._tree = self.reserve()
        self.font = self.add(
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
        )
        self.fields: list[int] = []

    def add(self, body: bytes | str) -> int:
        """A new object; returns its number."""
        self._objects.append(body.encode("latin-1") if isinstance(body, str) else body)
        return len(self._objects)

    def reserve(self) -> int:
        """A number for an object written later with :meth:`set` (objects that point at each
        other, like a field and its widgets)."""
        return self.add(b"null")

    def set(self, number: int, body: str) -> None:
        self._objects[number - 1] = body.encode("latin-1")

    def stream(self, data: bytes, extra: str = "") -> int:
        """A Flate-compressed stream; ``extra`` adds entries to its dictionary."""
        packed = zlib.compress(data)
        head = f"<< /Length {len(packed)} /Filter /FlateDecode {extra}>>\nstream\n"
        return self.add(head.encode("latin-1") + packed + b"\nendstream")

    def page(
        self, ops: Sequence[str], *, size: tuple[float, float] = (612, 792), rotate: int = 0
    ) -> int:
        """Append a page that draws ``ops`` (content-stream operators); returns its index."""
        content = self.stream("\n".join(ops).encode("latin-1"))
        self._pages.append((self.reserve(), content, size, rotate))
        return len(self._pages) - 1

    def page_ref(self, index: int) -> str:
        return f"{self._pages[index][0]} 0 R"

    def appearance(self, ops: str, width: float, height: float) -> int:
        """A form XObject drawing ``ops`` in a ``width`` x ``height`` box: how a widget looks."""
        return self.stream(
            ops.encode("latin-1"),
            f"/Type /XObject /Subtype /Form /BBox [0 0 {width} {height}]"
            f" /Resources << /Font << /Helv {self.font} 0 R >> >> ",
        )

    def widget(self, page: int, entries: str, number: int | None = None) -> int:
        """A widget annotation on ``page``; ``entries`` are its dictionary's own entries."""
        body = f"<< /Type /Annot /Subtype /Widget /F 4 /P {self.page_ref(page)} {entries} >>"
        if number is None:
            number = self.add(body)
        else:
            self.set(number, body)
        self._annots.setdefault(page, []).append(number)
        return number

    def save(self, path: Path) -> Path:
        for index, (number, content, (width, height), rotate) in enumerate(self._pages):
            extra = f" /Rotate {rotate}" if rotate else ""
            if index in self._annots:
                extra += " /Annots [" + " ".join(f"{a} 0 R" for a in self._annots[index]) + "]"
            self.set(
                number,
                f"<< /Type /Page /Parent {self._tree} 0 R /MediaBox [0 0 {width} {height}]"
                f" /Resources << /Font << /F1 {self.font} 0 R >> >>"
                f" /Contents {content} 0 R{extra} >>",
            )
        kids = " ".join(f"{number} 0 R" for number, *_ in self._pages)
        self.set(self._tree, f"<< /Type /Pages /Kids [{kids}] /Count {len(self._pages)} >>")
        form = ""
        if self.fields:
            form = (
                " /AcroForm << /Fields [" + " ".join(f"{f} 0 R" for f in self.fields) + "]"
                f" /DA (/Helv 0 Tf 0 g) /DR << /Font << /Helv {self.font} 0 R >> >> >>"
            )
        catalog = self.add(f"<< /Type /Catalog /Pages {self._tree} 0 R{form} >>")
        objects = dict(enumerate(self._objects, start=1))
        path.write_bytes(_raw_pdf(objects, root=catalog))
        return path


def pdf_text_ops(items: Sequence[Line], *, size: float = 10, direction: int = 0) -> list[str]:
    """Operators drawing each ``(x, y, text)`` with its own text matrix, in the order given (the
    order a text extractor meets them). ``direction`` turns the text counter-clockwise by 0, 90,
    180 or 270 degrees."""
    cos, sin = {0: (1, 0), 90: (0, 1), 180: (-1, 0), 270: (0, -1)}[direction]
    ops = ["BT", f"/F1 {size} Tf"]
    for x, y, text in items:
        ops.append(f"{cos} {sin} {-sin} {cos} {x:.2f} {y:.2f} Tm {_pdf_string(text)} Tj")
    ops.append("ET")
    return ops


def _to_page_space(
    x: float, y: float, rotate: int, media: tuple[float, float]
) -> tuple[float, float]:
    """A point as a viewer shows the page (after /Rotate) -> the page's own coordinates."""
    width, height = media
    return {0: (x, y), 90: (width - y, x), 180: (width - x, height - y), 270: (y, height - x)}[
        rotate
    ]


def write_layout_pdf(
    path: Path, pages: Sequence[Sequence[Line]], *, rotate: int = 0, size: float = 10
) -> Path:
    """One page per list of ``(x, y, text)`` lines, placed as a viewer shows the page and drawn in
    the order given. With ``rotate`` (90, 180, 270) the page carries that /Rotate and its text is
    drawn turned the other way in the page's own coordinates, so that it reads upright."""
    pdf = RawPdf()
    media = (792.0, 612.0) if rotate in (90, 270) else (612.0, 792.0)
    for lines in pages:
        placed = [(*_to_page_space(x, y, rotate, media), text) for x, y, text in lines]
        pdf.page(pdf_text_ops(placed, size=size, direction=rotate), size=media, rotate=rotate)
    return pdf.save(path)


def column_lines(
    columns: Sequence[Sequence[str]],
    *,
    order: str = "rows",
    lefts: Sequence[float] | None = None,
    top: float = 700,
    leading: float | Sequence[float] = 15,
) -> list[Line]:
    """``(x, y, text)`` lines for side-by-side columns. ``order="rows"`` draws them as many
    report writers do, across the gutter row by row; ``"columns"`` one column after the other.
    ``leading`` may differ per column, so that baselines do not line up."""
    lefts = list(lefts or [60 + i * 500 / len(columns) for i in range(len(columns))])
    leads = [leading] * len(columns) if isinstance(leading, int | float) else list(leading)
    placed = [
        [(lefts[c], top - row * leads[c], text) for row, text in enumerate(lines)]
        for c, lines in enumerate(columns)
    ]
    drawn = [line for column in placed for line in column]
    if order == "rows":
        drawn.sort(key=lambda line: (-line[1], line[0]))
    return drawn


class FormField:
    """One AcroForm field for :func:`write_form_pdf`.

    ``kind``: ``text``, ``multiline``, ``password``, ``checkbox``, ``radio`` or ``combo``.
    ``value``: a text field's text; the on-state of a ticked checkbox (``"Yes"``), the chosen
    radio button or combo entry; ``""`` leaves the field empty or unticked. ``tooltip`` is the
    alternate name (/TU) a viewer shows; ``parent`` nests the field under a parent field of that
    name (full name ``parent.name``); ``options`` are a radio group's buttons (a widget each)
    or a combo box's entries; ``rect`` is where the (first) widget sits on page ``page``, and
    ``also_at`` where a text field shows again (its widgets are then kids of the field, which
    alone holds the name, the tooltip and the value).
    """

    def __init__(
        self,
        name: str,
        value: str = "",
        *,
        kind: str = "text",
        tooltip: str | None = None,
        parent: str | None = None,
        options: Sequence[str] = (),
        page: int = 0,
        rect: tuple[float, float, float, float] = (200, 650, 450, 670),
        also_at: Sequence[tuple[float, float, float, float]] = (),
    ) -> None:
        self.name, self.value, self.kind, self.tooltip = name, value, kind, tooltip
        self.parent, self.options, self.page, self.rect = parent, tuple(options), page, rect
        self.also_at = tuple(also_at)


_TEXT_FLAGS = {"text": 0, "multiline": 1 << 12, "password": 1 << 13, "combo": 1 << 17}


def _add_field(pdf: RawPdf, field: FormField, parents: dict[str, tuple[int, list[int]]]) -> None:
    x0, y0, x1, y1 = field.rect
    width, height = x1 - x0, y1 - y0
    number = pdf.reserve()
    own = f"/T {_pdf_text(field.name)}"
    if field.tooltip:
        own += f" /TU {_pdf_text(field.tooltip)}"
    if field.parent:
        if field.parent not in parents:
            parents[field.parent] = (pdf.reserve(), [])
            pdf.fields.append(parents[field.parent][0])
        parent, kids = parents[field.parent]
        kids.append(number)
        own += f" /Parent {parent} 0 R"
    else:
        pdf.fields.append(number)
    rect = f"/Rect [{x0} {y0} {x1} {y1}] /DA (/Helv 10 Tf 0 g)"
    if field.kind in _TEXT_FLAGS:
        shown = "*" * len(field.value) if field.kind == "password" else field.value
        draw = " ".join(
            f"1 0 0 1 2 {height - 12 - 12 * i} Tm {_pdf_string(line)} Tj"
            for i, line in enumerate(shown.splitlines())
        )
        look = pdf.appearance(f"/Tx BMC BT /Helv 10 Tf 0 g {draw} ET EMC", width, height)
        kind = f"/FT /Tx /Ff {_TEXT_FLAGS[field.kind]}"
        if field.kind == "combo":
            entries = " ".join(_pdf_string(option) for option in field.options)
            kind = f"/FT /Ch /Ff {_TEXT_FLAGS['combo']} /Opt [{entries}]"
        value = f" /V {_pdf_text(field.value)}" if field.value else ""
        if not field.also_at:
            pdf.widget(field.page, f"{own} {kind}{value} {rect} /AP << /N {look} 0 R >>", number)
            return
        places = [
            pdf.widget(
                field.page,
                f"/Parent {number} 0 R /Rect [{a} {b} {c} {d}] /DA (/Helv 10 Tf 0 g)"
                f" /AP << /N {look} 0 R >>",
            )
            for a, b, c, d in (field.rect, *field.also_at)
        ]
        kids = " ".join(f"{place} 0 R" for place in places)
        pdf.set(number, f"<< {own} {kind}{value} /Kids [{kids}] >>")
        return
    ticked = pdf.appearance("0 g 2 2 m 8 8 l S", width, height)
    blank = pdf.appearance("", width, height)
    if field.kind == "checkbox":
        state = _pdf_name(field.value) if field.value else "/Off"
        looks = f"<< {_pdf_name(field.value or 'Yes')} {ticked} 0 R /Off {blank} 0 R >>"
        entries = f"{own} /FT /Btn /Ff 0 /V {state} /AS {state} {rect} /AP << /N {looks} >>"
        pdf.widget(field.page, entries, number)
        return
    # A radio group: the field holds the choice; each button is a widget among its kids.
    buttons = []
    for i, option in enumerate(field.options):
        state = _pdf_name(option) if option == field.value else "/Off"
        top = y1 - i * (height + 4)
        looks = f"<< {_pdf_name(option)} {ticked} 0 R /Off {blank} 0 R >>"
        buttons.append(
            pdf.widget(
                field.page,
                f"/Parent {number} 0 R /Rect [{x0} {top - height} {x1} {top}] /AS {state}"
                f" /DA (/Helv 10 Tf 0 g) /AP << /N {looks} >>",
            )
        )
    value = _pdf_name(field.value) if field.value else "/Off"
    kids = " ".join(f"{b} 0 R" for b in buttons)
    pdf.set(number, f"<< {own} /FT /Btn /Ff {1 << 15} /V {value} /Kids [{kids}] >>")


def write_form_pdf(
    path: Path, pages: Sequence[Sequence[Line]], fields: Sequence[FormField]
) -> Path:
    """A filled-in form that was never flattened: its pages draw only the printed labels
    (``(x, y, text)``); what was typed in lives only in the fields and their widgets' looks."""
    pdf = RawPdf()
    for lines in pages:
        pdf.page(pdf_text_ops(lines, size=11))
    parents: dict[str, tuple[int, list[int]]] = {}
    for field in fields:
        _add_field(pdf, field, parents)
    for name, (number, kids) in parents.items():
        refs = " ".join(f"{kid} 0 R" for kid in kids)
        pdf.set(number, f"<< /T {_pdf_string(name)} /Kids [{refs}] >>")
    return pdf.save(path)


def pdf_with_many_widgets(path: Path, count: int = 100_000) -> Path:
    """One page carrying ``count`` filled-in text fields: a form made to keep a reader busy."""
    pdf = RawPdf()
    pdf.page(pdf_text_ops([(72, 720, "A page with very many form fields.")]))
    look = pdf.appearance("", 10, 10)
    for i in range(count):
        x, y = 20 + (i % 50) * 11, 20 + (i // 50) % 60 * 11
        pdf.fields.append(
            pdf.widget(
                0,
                f"/T (f{i}) /FT /Tx /V (value {i}) /Rect [{x} {y} {x + 10} {y + 10}]"
                f" /DA (/Helv 8 Tf 0 g) /AP << /N {look} 0 R >>",
            )
        )
    return pdf.save(path)


def word_by_word(lines: Sequence[Line], width: float, *, size: float = 10) -> list[Line]:
    """Each line cut into its words, spread to fill ``width`` points (justified), every word
    drawn on its own as some producers do: wide word spaces between separate text objects."""
    from fpdf import FPDF

    metrics = FPDF(unit="pt")
    metrics.set_font("Helvetica", size=size)
    words: list[Line] = []
    for x, y, text in lines:
        parts = text.split()
        spare = width - sum(metrics.get_string_width(part) for part in parts)
        space = spare / max(len(parts) - 1, 1)
        for part in parts:
            words.append((x, y, part))
            x += metrics.get_string_width(part) + space
    return words
