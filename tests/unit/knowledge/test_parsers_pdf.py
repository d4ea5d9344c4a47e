"""The PDF parser (PDFium), on real PDFs made with fpdf2."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support import nasty_files

from ember.errors import IngestError
from ember.knowledge.parsers import hyphenation, pdf
from ember.knowledge.sandbox import ParserPool

PAGES = [
    "The boiler pressure should read between 1 and 1.5 bar.",
    "Bleed the radiators once a year, starting downstairs.",
    "Call a registered engineer if the pilot light keeps going out.",
]


def test_text_comes_back_page_by_page_with_1_based_page_numbers(tmp_path: Path) -> None:
    document = pdf.parse(nasty_files.write_pdf(tmp_path / "manual.pdf", PAGES))
    assert document.kind == "pdf"
    assert [section.page for section in document.sections] == [1, 2, 3]
    assert [section.text for section in document.sections] == PAGES


def test_the_title_comes_from_the_pdf_metadata(tmp_path: Path) -> None:
    path = nasty_files.write_pdf(tmp_path / "m.pdf", PAGES[:1], title="Boiler Manual")
    assert pdf.parse(path).title == "Boiler Manual"


def test_pages_without_text_are_left_out_but_numbering_is_kept(tmp_path: Path) -> None:
    path = nasty_files.write_pdf(tmp_path / "gap.pdf", ["first page", "", "third page"])
    document = pdf.parse(path)
    assert [(s.page, s.text) for s in document.sections] == [(1, "first page"), (3, "third page")]


def test_a_pdf_encrypted_with_an_empty_user_password_opens(tmp_path: Path) -> None:
    path = nasty_files.write_pdf(tmp_path / "restricted.pdf", PAGES[:1], user_password="")
    assert pdf.parse(path).sections[0].text == PAGES[0]


def test_a_pdf_with_a_user_password_is_refused_as_password_protected(tmp_path: Path) -> None:
    path = nasty_files.write_pdf(tmp_path / "locked.pdf", PAGES[:1], user_password="hunter2")
    with pytest.raises(IngestError, match="password protected"):
        pdf.parse(path)


def test_a_scanned_pdf_without_a_text_layer_says_ocr_is_not_supported(tmp_path: Path) -> None:
    path = nasty_files.write_image_only_pdf(tmp_path / "scan.pdf")
    with pytest.raises(IngestError, match=r"no extractable text \(scanned PDF\? OCR is not"):
        pdf.parse(path)


def test_a_truncated_pdf_is_reported_as_damaged(tmp_path: Path) -> None:
    path = nasty_files.truncated_pdf(tmp_path / "cut.pdf")
    with pytest.raises(IngestError, match="damaged PDF"):
        pdf.parse(path)


def test_a_decompression_bomb_is_refused_as_too_large_when_decompressed(tmp_path: Path) -> None:
    # 130 KB that inflate to 128 MB: PDFium aborts when the sandbox's memory limit refuses it.
    bomb = nasty_files.pdf_decompression_bomb(tmp_path / "bomb.pdf", unpacked_mb=128)
    good = nasty_files.write_pdf(tmp_path / "good.pdf", PAGES[:1])
    with ParserPool(memory_mb=256) as pool:
        with pytest.raises(IngestError) as failure:
            pool.parse(bomb)
        assert str(failure.value).startswith("the PDF is too large when decompressed")
        assert "256 MB" in str(failure.value)
        assert pool.parse(good).sections[0].text == PAGES[0]  # the next file gets a new worker


# -- words broken at a line end ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "right", "keeps"),
    [
        ("main", "tenance", False),  # halves that are not both words: one word
        ("in", "formation", False),  # both words, but so is "information"
        ("price", "determining", True),  # both words, "pricedetermining" is not
        ("well", "known", True),
        ("x", "ray", True),
        ("COVID", "19", True),  # a number goes on: never one word
        ("Franco", "Prussian", True),  # a capital after a lower-case half: a compound
        ("MAIN", "TENANCE", False),  # capitals throughout: still one word
        ("non", "commercially", False),  # a prefix that does not stand alone goes on
        ("re", "enter", True),  # ... unless the same vowel would meet
    ],
)
def test_a_hyphen_is_kept_when_both_halves_are_words_and_the_joined_form_is_not(
    left: str, right: str, keeps: bool
) -> None:
    assert hyphenation.keeps_hyphen(left, right) is keeps


def test_the_word_list_is_the_embedders_vocabulary() -> None:
    words = hyphenation.vocabulary()
    assert words is not None and 20_000 < len(words) < 40_000
    assert {"maintenance", "price", "determining"} <= words
    assert "pricedetermining" not in words


def test_without_a_word_list_a_broken_word_is_joined_as_before() -> None:
    no_words: frozenset[str] = frozenset()
    assert hyphenation.rejoin_breaks("price\x02determining", no_words) == "pricedetermining"
    assert hyphenation.rejoin_breaks("route\x0266 and end\x02", no_words) == "route-66 and end-"
