"""Property tests of the text decoders and the chunker: any input, no crash, consistent output.

Deterministic (``derandomize``) and bounded, so CI sees the same examples every run.
"""

from __future__ import annotations

import codecs
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.tiny_embedder import TinyEmbedder

from ember.knowledge.chunking import ChunkingOptions, chunk_document, embedding_text
from ember.knowledge.decode import _read_streaming, decode_bytes, read_text
from ember.knowledge.parsers.base import normalize_newlines
from ember.knowledge.types import ParsedDocument, Section

FUZZ = settings(
    derandomize=True,
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
COUNT = TinyEmbedder().count_tokens
SMALL = ChunkingOptions(target_tokens=20, overlap_tokens=6, max_tokens=40)

# Bytes that look like the files people have: BOMs, UTF-16, legacy code pages, broken sequences.
_PREFIXES = st.sampled_from(
    [b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00"]
)
_TEXTS = st.text(max_size=300)
_ENCODED = st.builds(
    lambda text, encoding: text.encode(encoding, "replace"),
    _TEXTS,
    st.sampled_from(["utf-8", "utf-16-le", "utf-16-be", "cp1252", "shift_jis", "latin-1"]),
)
DATA = st.builds(lambda p, b: p + b, _PREFIXES, st.one_of(st.binary(max_size=600), _ENCODED))


@FUZZ
@given(DATA)
def test_decoding_any_bytes_never_fails_and_yields_bounded_valid_text(data: bytes) -> None:
    decoded = decode_bytes(data)
    assert isinstance(decoded.text, str)
    decoded.text.encode("utf-8", "surrogatepass")  # a real string, whatever came in
    assert len(decoded.text) <= len(data)  # never more characters than bytes
    codecs.lookup(decoded.encoding)  # the recorded codec exists


@FUZZ
@given(_TEXTS.filter(lambda t: "\x00" not in t), st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_self_describing_text_decodes_back_to_itself(text: str, encoding: str) -> None:
    data = text.encode(encoding, "surrogatepass")
    assert decode_bytes(data).text == normalize_newlines(text)


@FUZZ
@given(DATA, st.integers(min_value=1, max_value=200))
def test_streamed_reading_is_capped_and_never_fails(data: bytes, cap: int) -> None:
    streamed = _read_streaming(io.BytesIO(data), cap)
    assert len(streamed.text) <= cap
    assert "\r" not in streamed.text  # newlines come back as "\n", as decode_bytes gives them


# Bytes rich in the newline conventions people's files use: "\r\n" (Windows), a lone "\r" (old
# Mac OS), "\n", and runs that mix them, in every encoding, so that pieces split pairs apart.
_NEWLINE_TEXTS = st.lists(
    st.one_of(st.sampled_from(["\r", "\n", "\r\n", "\r\r\n", " "]), st.characters()),
    max_size=200,
).map("".join)
NEWLINE_DATA = st.one_of(
    DATA,
    st.builds(
        lambda prefix, text, encoding: prefix + text.encode(encoding, "replace"),
        _PREFIXES,
        _NEWLINE_TEXTS,
        st.sampled_from(["utf-8", "utf-16-le", "utf-16-be", "cp1252", "shift_jis"]),
    ),
)


@FUZZ
@given(
    NEWLINE_DATA, st.integers(min_value=1, max_value=64), st.integers(min_value=1, max_value=700)
)
def test_streamed_and_whole_reading_give_the_same_text_for_the_same_bytes(
    data: bytes, chunk_bytes: int, cap: int
) -> None:
    # The sample holds every byte, so both ways judge the encoding alike; the pieces are tiny,
    # so "\r\n" pairs and multi-byte characters straddle piece boundaries.
    streamed = _read_streaming(io.BytesIO(data), cap, sample_bytes=1 << 16, chunk_bytes=chunk_bytes)
    whole = decode_bytes(data)
    assert streamed.encoding == whole.encoding
    assert streamed.text == whole.text[:cap]
    assert streamed.truncated == (len(whole.text) > cap)


@settings(derandomize=True, max_examples=30, deadline=None)
@given(st.binary(max_size=4000))
def test_reading_a_file_of_any_bytes_never_fails(data: bytes) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "any.txt"
        path.write_bytes(data)
        decoded = read_text(path, max_chars=1000)
    assert len(decoded.text) <= 1000


SECTION = st.builds(
    lambda text, page, heading: Section(text, page=page, heading_path=heading),
    st.text(
        alphabet=st.one_of(st.sampled_from(list(" \n\n\t.!?,;:-")), st.characters(codec="utf-8")),
        max_size=800,
    ),
    st.one_of(st.none(), st.integers(min_value=1, max_value=999)),
    st.lists(st.text(max_size=20), max_size=3).map(tuple),
)


@FUZZ
@given(st.lists(SECTION, max_size=5), st.one_of(st.none(), st.text(max_size=30)))
def test_chunks_point_at_their_text_fit_the_limit_and_cover_every_word(
    sections: list[Section], title: str | None
) -> None:
    document = ParsedDocument("/fuzz/doc.txt", "text", tuple(sections), title=title)
    chunks = chunk_document(document, COUNT, SMALL)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        section = sections[chunk.section]
        assert 0 <= chunk.start < chunk.end <= len(section.text)
        assert section.text[chunk.start : chunk.end] == chunk.text
        assert chunk.text.strip(), "an empty chunk"
        assert COUNT([chunk.text])[0] <= SMALL.max_tokens
        assert (chunk.page, chunk.heading_path) == (section.page, section.heading_path)
        assert chunk.text in embedding_text(chunk, title)
    # Bounded output: overlap repeats a little, it never multiplies the text.
    total_in = sum(len(s.text) for s in sections)
    assert sum(len(c.text) for c in chunks) <= 3 * total_in + 1
    # Nothing is lost: every word of every section is in some chunk of that section.
    for index, section in enumerate(sections):
        covered = " ".join(c.text for c in chunks if c.section == index)
        for word in section.text.split():
            assert word in covered
