"""Split a parsed document into chunks sized in the embedding model's own tokens.

Structure first: a chunk never crosses a section (a heading's body, a PDF page), prefers to end at
a paragraph, and otherwise ends at a sentence; only a sentence longer than a chunk is cut between
words. Neighbouring chunks share a little text (whole sentences, up to ``overlap_tokens``) so an
answer that straddles a boundary is still found whole in one of them.

Small chunks retrieve better with MiniLM: about 300 characters (~80 tokens) found the right page
clearly more often than 512-1000 character chunks on real manuals, and embed faster per chunk.

Token counts are additive over whitespace-separated pieces for WordPiece tokenizers (the
pre-tokenizer splits on whitespace and punctuation first), so a chunk's size is the sum of its
sentences' counts, counted in one batch per section.

A document yields at most ``max_chunks`` chunks (``MAX_CHUNKS_PER_DOCUMENT`` by default, room for
a book of well over a thousand pages): past that, embedding one file would take hours. Chunks are
made lazily, a section at a time, so a capped document costs no more memory or tokenizing than
its first ``max_chunks`` chunks (plus the rest of one section of at most ``MAX_SECTION_CHARS``).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from ember.knowledge.toc import looks_like_toc
from ember.knowledge.types import ParsedDocument

TokenCounter = Callable[[Sequence[str]], list[int]]

HEADING_SEPARATOR = " > "
# A dense printed page is ~3,000 characters, about 11 chunks of ~300 with their overlap: 15,000
# chunks hold a 1,300-page book, and take 6-25 minutes to embed with MiniLM on two cores.
MAX_CHUNKS_PER_DOCUMENT = 15_000
_MAX_PREFIX_CHARS = 160  # a long heading path must not eat the chunk's own token budget
_FALLBACK_CHARS_PER_TOKEN = 3  # to cut a single "word" (a URL, a base64 blob) too long to embed

_PARAGRAPH = re.compile(r"\S.*?(?=\n[ \t\r\f\v]*\n|\Z)", re.S)
# A sentence ends at its punctuation, a line end or the text's end; never inside the dot leaders
# of a contents line ("Installation ........ 12"), which would part a title from its page.
_SENTENCE = re.compile(
    r"\S.*?(?:[.!?\u3002\uff01\uff1f\u2026]+[\"'\u201d\u2019)\]]*(?=\s)"
    r"(?![ \t.\u00b7\u2026]*(?:\d{1,4}|[ivxlcdmIVXLCDM]{1,7})[ \t]*(?:\n|\Z))|\n|\Z)",
    re.S,
)
_WORD = re.compile(r"\S+")
# A Markdown pipe table (every parser writes tables this way): a header row, a separator row of
# dashes, then its rows. A chunk that starts among the rows gets the header row and separator
# repeated in front, so "| Wenlumane | 525 | 10.3 |" still says which column is which.
_TABLE = re.compile(
    r"^(?P<header>[ \t]*\|.*\|[ \t]*)\n(?P<rule>[ \t]*\|?(?:[ \t]*:?-{3,}:?[ \t]*\|)+"
    r"[ \t]*(?::?-{3,}:?[ \t]*)?)\n(?P<rows>(?:[ \t]*\|.*(?:\n|\Z))+)",
    re.M,
)
_MAX_TABLE_HEADER_CHARS = 400  # a header longer than this would crowd out the rows themselves


@dataclass(frozen=True, slots=True)
class ChunkingOptions:
    """Chunk sizes in embedder tokens: aim for ``target_tokens``, share up to ``overlap_tokens``
    with the previous chunk, never exceed ``max_tokens``; at most ``max_chunks`` per document."""

    target_tokens: int = 80  # about 300 characters of English
    overlap_tokens: int = 12
    max_tokens: int = 254  # the model's limit less [CLS] and [SEP]; nothing may exceed it
    max_chunks: int = MAX_CHUNKS_PER_DOCUMENT  # per document; the rest of a huge file is left out


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of one section. ``start``/``end`` are character offsets in that section's text.

    ``text`` is that span, except in a table: a chunk that starts below a table's header row has
    the header row and its separator line repeated in front of the span. ``is_toc``: the chunk
    is mostly table-of-contents entries (:mod:`ember.knowledge.toc`); retrieval ranks it last.
    """

    ordinal: int  # position in the document, from 0
    text: str
    section: int
    start: int
    end: int
    page: int | None
    heading_path: tuple[str, ...]
    page_label: str | None = None  # the page's printed label (PDF page labels), if it has one
    is_toc: bool = False

    @property
    def heading(self) -> str | None:
        """The heading path joined with ``HEADING_SEPARATOR`` (" > "); None outside headings."""
        return HEADING_SEPARATOR.join(self.heading_path) or None


@dataclass(frozen=True, slots=True)
class _Unit:
    start: int
    end: int
    tokens: int
    opens_paragraph: bool


def chunk_document(
    document: ParsedDocument, count_tokens: TokenCounter, options: ChunkingOptions | None = None
) -> list[Chunk]:
    """The chunks of ``document`` in reading order: every one, or the first ``max_chunks``."""
    options = options or ChunkingOptions()
    return list(itertools.islice(iter_chunks(document, count_tokens, options), options.max_chunks))


def iter_chunks(
    document: ParsedDocument, count_tokens: TokenCounter, options: ChunkingOptions | None = None
) -> Iterator[Chunk]:
    """Every chunk of ``document`` in reading order, made one section at a time (no cap)."""
    options = options or ChunkingOptions()
    ordinal = 0
    for index, section in enumerate(document.sections):
        if not section.text.strip():
            continue
        tables = _tables(section.text)
        for start, end in _section_spans(section.text, count_tokens, options):
            chunk = Chunk(
                ordinal=ordinal,
                text=section.text[start:end],
                section=index,
                start=start,
                end=end,
                page=section.page,
                heading_path=section.heading_path,
                page_label=section.page_label,
                is_toc=looks_like_toc(section.text[start:end]),
            )
            header = _header_above(tables, start)
            if header:
                with_header = dataclasses.replace(chunk, text=f"{header}\n{chunk.text}")
                # The embedder reads the title and headings too: all of it must fit.
                embedded = embedding_text(with_header, document.title)
                if count_tokens([embedded])[0] <= options.max_tokens:
                    chunk = with_header
            yield chunk
            ordinal += 1


def _tables(text: str) -> list[tuple[int, int, int, str, str]]:
    """The Markdown pipe tables in ``text``: where the separator line starts, where the rows
    under it start, where the table ends, the header row and the separator line."""
    found: list[tuple[int, int, int, str, str]] = []
    for match in _TABLE.finditer(text):
        header, rule = match.group("header").strip(), match.group("rule").strip()
        if len(header) + len(rule) < _MAX_TABLE_HEADER_CHARS:
            found.append(
                (match.start("rule"), match.start("rows"), match.end("rows"), header, rule)
            )
    return found


def _header_above(tables: list[tuple[int, int, int, str, str]], start: int) -> str | None:
    """What a chunk starting at ``start`` must repeat of its table's head: the header row and
    separator when it starts among the rows, the header row alone when it starts on the
    separator; None outside tables and at a header row."""
    for rule_start, rows_start, rows_end, header, rule in tables:
        if rows_start <= start < rows_end:
            return f"{header}\n{rule}"
        if rule_start <= start < rows_start:
            return header
    return None


def embedding_text(chunk: Chunk, title: str | None = None) -> str:
    """The text the model embeds: where the chunk sits (title, headings), then the chunk.

    A chunk like "Run it with --force" says little alone; "Upgrading > Troubleshooting" beside it
    tells the model what it is about. A top heading that begins with the title ("git-push(1)
    Manual Page" under the title "git-push(1)", or the title itself) is left out: it repeats the
    title and costs the chunk tokens of its own text (on git's manual, leaving out those repeats
    put the right page in the top 5 for 0.85 of the dev questions instead of 0.79).
    """
    headings = chunk.heading_path
    if title and headings and _repeats_title(headings[0], title):
        headings = headings[1:]
    parts = [p for p in (title, HEADING_SEPARATOR.join(headings)) if p]
    prefix = HEADING_SEPARATOR.join(parts)[:_MAX_PREFIX_CHARS]
    return f"{prefix}\n{chunk.text}" if prefix else chunk.text


def _repeats_title(heading: str, title: str) -> bool:
    """Whether ``heading`` is the title, or begins with it ("git-push(1) Manual Page")."""
    return heading == title or heading.startswith(title + " ")


def _section_spans(
    text: str, count_tokens: TokenCounter, options: ChunkingOptions
) -> list[tuple[int, int]]:
    units = _units(text, count_tokens, options)
    spans: list[tuple[int, int]] = []
    current: list[_Unit] = []
    size = 0
    for unit in units:
        paragraph_break = unit.opens_paragraph and size >= options.target_tokens * 0.6
        if current and (size + unit.tokens > options.target_tokens or paragraph_break):
            spans.append((current[0].start, current[-1].end))
            current, size = _overlap(current, options), 0
            size = sum(u.tokens for u in current)
            if size + unit.tokens > options.max_tokens or paragraph_break:
                current, size = [], 0
        current.append(unit)
        size += unit.tokens
    if current:
        last = (current[0].start, current[-1].end)
        if not spans or last[1] > spans[-1][1]:
            spans.append(last)
    return spans


def _overlap(units: list[_Unit], options: ChunkingOptions) -> list[_Unit]:
    """The trailing whole units of a finished chunk that fit in the overlap budget."""
    kept: list[_Unit] = []
    size = 0
    for unit in reversed(units[1:]):  # never the whole previous chunk again
        if size + unit.tokens > options.overlap_tokens:
            break
        kept.insert(0, unit)
        size += unit.tokens
    return kept


def _units(text: str, count_tokens: TokenCounter, options: ChunkingOptions) -> list[_Unit]:
    """Sentences (or lines) with their token counts; over-long ones cut between words."""
    spans: list[tuple[int, int, bool]] = []
    for paragraph in _PARAGRAPH.finditer(text):
        first = True
        for sentence in _SENTENCE.finditer(paragraph.group(0)):
            start = paragraph.start() + sentence.start()
            end = paragraph.start() + len(sentence.group(0).rstrip()) + sentence.start()
            if end > start:
                spans.append((start, end, first))
                first = False
    counts = count_tokens([text[s:e] for s, e, _ in spans])
    units: list[_Unit] = []
    for (start, end, opens), tokens in zip(spans, counts, strict=True):
        if tokens <= options.target_tokens:
            units.append(_Unit(start, end, tokens, opens))
        else:
            pieces = _split_long(text, start, end, count_tokens, options)
            for number, unit in enumerate(pieces):
                units.append(_Unit(unit.start, unit.end, unit.tokens, opens and number == 0))
    return units


def _split_long(
    text: str, start: int, end: int, count_tokens: TokenCounter, options: ChunkingOptions
) -> list[_Unit]:
    """Cut one over-long sentence into word runs of at most ``target_tokens``."""
    words = [(start + m.start(), start + m.end()) for m in _WORD.finditer(text[start:end])]
    counts = count_tokens([text[s:e] for s, e in words])
    limit = options.target_tokens
    pieces: list[_Unit] = []
    run_start, run_end, run_tokens = -1, -1, 0
    for (s, e), tokens in zip(words, counts, strict=True):
        if tokens > limit:  # one enormous "word": cut it by characters
            if run_start >= 0:
                pieces.append(_Unit(run_start, run_end, run_tokens, False))
                run_start, run_tokens = -1, 0
            step = max(1, limit * _FALLBACK_CHARS_PER_TOKEN)
            for cut in range(s, e, step):
                piece_end = min(e, cut + step)
                piece_tokens = count_tokens([text[cut:piece_end]])[0]
                pieces.append(_Unit(cut, piece_end, min(piece_tokens, options.max_tokens), False))
            continue
        if run_start >= 0 and run_tokens + tokens > limit:
            pieces.append(_Unit(run_start, run_end, run_tokens, False))
            run_start, run_tokens = -1, 0
        if run_start < 0:
            run_start = s
        run_end = e
        run_tokens += tokens
    if run_start >= 0:
        pieces.append(_Unit(run_start, run_end, run_tokens, False))
    return pieces
