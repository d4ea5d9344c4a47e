"""Text decoding: BOMs, UTF-16 without BOM, strict UTF-8, legacy code pages, and bounded reads."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from ember.errors import IngestError
from ember.knowledge import decode
from ember.knowledge.decode import decode_bytes, read_text

FRENCH = "Le cœur a ses raisons que la raison ne connaît point. Déjà vu, naïve café. " * 20
JAPANESE = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。" * 20


@pytest.mark.parametrize(
    ("bom", "codec", "expected"),
    [
        (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32-be"),
    ],
)
def test_a_byte_order_mark_decides_the_encoding_and_is_not_part_of_the_text(
    bom: bytes, codec: str, expected: str
) -> None:
    decoded = decode_bytes(bom + FRENCH.encode(codec))
    assert decoded.text == FRENCH
    assert decoded.encoding == expected
    assert decoded.bom


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_recognised_despite_its_nul_bytes(codec: str) -> None:
    decoded = decode_bytes(("Plain English notes about the boiler.\n" * 30).encode(codec))
    assert decoded.encoding == codec
    assert decoded.text.startswith("Plain English notes")


def test_valid_utf8_is_taken_as_utf8() -> None:
    decoded = decode_bytes(JAPANESE.encode("utf-8"))
    assert (decoded.text, decoded.encoding, decoded.replaced) == (JAPANESE, "utf-8", False)


def test_cp1252_text_is_decoded_by_guessing_the_legacy_code_page() -> None:
    decoded = decode_bytes(FRENCH.encode("cp1252"))
    assert decoded.text == FRENCH
    assert decoded.encoding != "utf-8"


def test_shift_jis_text_is_decoded_by_guessing_the_legacy_code_page() -> None:
    decoded = decode_bytes(JAPANESE.encode("shift_jis"))
    assert decoded.text == JAPANESE
    assert codecs.lookup(decoded.encoding).name in {"shift_jis", "cp932", "shift_jis_2004"}


def test_invalid_utf8_falls_back_without_failing_and_keeps_the_readable_text() -> None:
    data = b"hello world, this part is fine\n" * 10 + b"\xff\xfe\xc3\x28 broken \xe2\x82\n"
    decoded = decode_bytes(data)
    assert "hello world, this part is fine" in decoded.text
    assert "broken" in decoded.text
    assert decoded.encoding


def test_read_text_normalises_windows_newlines(tmp_path: Path) -> None:
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"one\r\ntwo\rthree\n")
    assert read_text(path).text == "one\ntwo\nthree\n"


@pytest.mark.parametrize(
    "text",
    [
        "old Mac\rline endings\rthroughout\r",
        "Windows\r\nline endings\r\n",
        "mixed\r\n\rand\n\r\r\nruns\r",
        "\r\r\r\n\n\r",
    ],
    ids=["old-mac", "windows", "mixed", "only-newlines"],
)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "cp1252"])
def test_whole_and_streamed_reads_give_the_same_text_for_every_newline_convention(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, encoding: str
) -> None:
    path = tmp_path / "lines.txt"
    path.write_bytes((text * 40).encode(encoding))
    whole = read_text(path)
    monkeypatch.setattr(decode, "WHOLE_FILE_BYTES", 0)  # as if the file were large
    monkeypatch.setattr(decode, "READ_CHUNK_BYTES", 3)  # pieces that split "\r\n" pairs
    streamed = read_text(path)
    expected = (text * 40).replace("\r\n", "\n").replace("\r", "\n")
    assert streamed.text == whole.text == decode_bytes(path.read_bytes()).text == expected


def test_a_file_whose_first_piece_is_only_a_byte_order_mark_is_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decode, "WHOLE_FILE_BYTES", 0)
    monkeypatch.setattr(decode, "SAMPLE_BYTES", 3)  # exactly the UTF-8 BOM
    monkeypatch.setattr(decode, "READ_CHUNK_BYTES", 4)
    path = tmp_path / "bom.txt"
    path.write_bytes(codecs.BOM_UTF8 + "après le BOM\r\nsuite\n".encode())
    assert read_text(path).text == "après le BOM\nsuite\n"


def test_streamed_reads_keep_crlf_pairs_split_across_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decode, "WHOLE_FILE_BYTES", 0)
    monkeypatch.setattr(decode, "SAMPLE_BYTES", 5)
    monkeypatch.setattr(decode, "READ_CHUNK_BYTES", 5)
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"abcd\r\nefgh\r\nij\r\n")
    assert read_text(path).text == "abcd\nefgh\nij\n"


def test_streamed_reads_decode_multibyte_characters_split_across_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decode, "WHOLE_FILE_BYTES", 0)
    monkeypatch.setattr(decode, "SAMPLE_BYTES", 7)
    monkeypatch.setattr(decode, "READ_CHUNK_BYTES", 7)
    path = tmp_path / "jp.txt"
    path.write_bytes(JAPANESE.encode("utf-8"))
    decoded = read_text(path)
    assert (decoded.text, decoded.encoding, decoded.replaced) == (JAPANESE, "utf-8", False)


def test_reading_stops_at_the_character_cap_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("x" * 10_000)
    decoded = read_text(path, max_chars=1_000)
    assert (len(decoded.text), decoded.truncated) == (1_000, True)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="file not found"):
        read_text(tmp_path / "gone.txt")


def test_cyrillic_cp1251_is_not_mistaken_for_western_cp1252() -> None:
    russian = "Съешь же ещё этих мягких французских булок, да выпей чаю. " * 10
    decoded = decode_bytes(russian.encode("cp1251"))
    assert decoded.text == russian
