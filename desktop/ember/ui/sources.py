"""An answer's sources as the window shows them: one chip per page, however many passages of it
the answer cites.

Several passages of one page ("[1]" and "[3]", both manual.pdf p. 12) make one chip, "[1, 3]
manual.pdf · p. 12", whose source dialog shows both; each number in the answer's text still
opens that chip's dialog. A page is a file and its physical page number, or its locator where
the format has no pages (a slide, a sheet's rows, a chapter); a file without either (Markdown,
plain text) is one page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ember.files import shown_path

if TYPE_CHECKING:
    from ember.knowledge.types import Citation

SourceGroup = tuple["Citation", ...]  # the citations of one page, in the answer's order

NAME_MAX_CHARS = 28  # the most of a file's name a chip shows; the page always shows whole
LONGEST_EXTENSION = 10  # a longer "extension" (".backup_of_2023") is part of the name


def source_label(citation: Citation, name_max: int | None = None) -> str:
    """File name and page as a reader finds it: "manual.pdf · p. 150 (178 of 261)".

    With ``name_max`` (characters), a longer name is shortened in its middle to that many (see
    :func:`short_name`); the page text is never shortened."""
    label = shown_path(Path(citation.source).name)
    if name_max is not None:
        label = short_name(label, name_max)
    page = citation.page_text()
    return f"{label} · {page}" if page else label


def short_name(name: str, limit: int = NAME_MAX_CHARS) -> str:
    """``name`` in at most ``limit`` characters: its start, "…", its end and its extension.

    "gardenprofessional_handbook_2023_edition.pdf" → "gardenprofes…023_edition.pdf" (28). A name
    that fits comes back as it is; an extension longer than :data:`LONGEST_EXTENSION` characters
    counts as part of the name."""
    if len(name) <= limit:
        return name
    suffix = Path(name).suffix
    if len(suffix) > LONGEST_EXTENSION or len(suffix) >= len(name):
        suffix = ""
    stem = name[: len(name) - len(suffix)]
    room = max(2, limit - len(suffix) - 1)  # what the stem keeps, beside the "…"
    head = (room + 1) // 2
    tail = room - head
    return f"{stem[:head]}…{stem[len(stem) - tail :]}{suffix}"


def group_citations(citations: Iterable[Citation]) -> list[SourceGroup]:
    """The citations grouped by page (same file, same page, or same slide, sheet rows, chapter:
    same locator), each group where its first citation stood."""
    groups: dict[tuple[str, int | None, str | None], list[Citation]] = {}
    for citation in citations:
        key = (citation.source, citation.page, citation.page_label)
        groups.setdefault(key, []).append(citation)
    return [tuple(group) for group in groups.values()]


def group_of(groups: Sequence[SourceGroup], n: int) -> SourceGroup | None:
    """The group holding citation ``[n]``, or None if no citation has that number."""
    return next((group for group in groups if any(c.n == n for c in group)), None)


def numbers(group: SourceGroup) -> str:
    """The group's citation numbers as the chip shows them: "[1]", "[1, 3]"."""
    return "[" + ", ".join(str(c.n) for c in group) + "]"


def chip_text(group: SourceGroup) -> str:
    """What a chip reads: "[1, 3] manual.pdf · p. 12"; a long file name shortened in its middle
    (:func:`short_name`), the page always whole: "[1] gardenprofes…023_edition.pdf · p. 156
    (162 of 166)"."""
    return f"{numbers(group)} {source_label(group[0], NAME_MAX_CHARS)}"


def chip_tooltip(group: SourceGroup, limit: int = 300) -> str:
    """The whole file name and page, then the passages behind the chip, each cut to ``limit``
    characters."""
    if len(group) == 1:
        passages = group[0].snippet[:limit]
    else:
        passages = "\n\n".join(f"[{c.n}] {c.snippet[:limit]}" for c in group)
    return f"{source_label(group[0])}\n\n{passages}"
