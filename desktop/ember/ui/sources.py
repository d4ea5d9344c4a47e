"""An answer's sources as the window shows them: one chip per page, however many passages of it
the answer cites.

Several passages of one page ("[1]" and "[3]", both manual.pdf p. 12) make one chip, "[1, 3]
manual.pdf · p. 12", whose source dialog shows both; each number in the answer's text still
opens that chip's dialog. A page is a file and its physical page number; a file without pages
(Markdown, plain text) is one page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ember.files import shown_path

if TYPE_CHECKING:
    from ember.knowledge.types import Citation

SourceGroup = tuple["Citation", ...]  # the citations of one page, in the answer's order


def source_label(citation: Citation) -> str:
    """File name and page as a reader finds it: "manual.pdf · p. 150 (178 of 261)"."""
    label = shown_path(Path(citation.source).name)
    page = citation.page_text()
    return f"{label} · {page}" if page else label


def group_citations(citations: Iterable[Citation]) -> list[SourceGroup]:
    """The citations grouped by page (same file, same page), each group where its first
    citation stood."""
    groups: dict[tuple[str, int | None], list[Citation]] = {}
    for citation in citations:
        groups.setdefault((citation.source, citation.page), []).append(citation)
    return [tuple(group) for group in groups.values()]


def group_of(groups: Sequence[SourceGroup], n: int) -> SourceGroup | None:
    """The group holding citation ``[n]``, or None if no citation has that number."""
    return next((group for group in groups if any(c.n == n for c in group)), None)


def numbers(group: SourceGroup) -> str:
    """The group's citation numbers as the chip shows them: "[1]", "[1, 3]"."""
    return "[" + ", ".join(str(c.n) for c in group) + "]"


def chip_text(group: SourceGroup) -> str:
    """What a chip reads: "[1, 3] manual.pdf · p. 12"."""
    return f"{numbers(group)} {source_label(group[0])}"


def chip_tooltip(group: SourceGroup, limit: int = 300) -> str:
    """The passages behind a chip, each cut to ``limit`` characters."""
    if len(group) == 1:
        return group[0].snippet[:limit]
    return "\n\n".join(f"[{c.n}] {c.snippet[:limit]}" for c in group)
