"""PowerPoint (.pptx): each slide's text, then its speaker notes, located as "slide 7".

The archive is vetted by :mod:`zipguard` first (python-pptx reads every part whole). A slide is
one section under its title (the heading path ``(title,)``) with the locator ``"slide N"`` (N the
slide's position, 1-based, hidden slides included, as PowerPoint numbers them); its notes follow
as a section under ``(title, "Notes")``, located ``"slide N, notes"``. Shapes are read in the
slide's order: text boxes and placeholders, tables (one line per row, cells joined by " | "),
and groups (walked without recursion, however deep).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ember.errors import IngestError
from ember.knowledge.parsers.base import TextBudget, located_sections
from ember.knowledge.parsers.zipguard import check_zip
from ember.knowledge.types import ParsedDocument, Section

_WHAT = "PowerPoint presentation"


def parse(path: Path) -> ParsedDocument:
    """A presentation as one section per slide and one per slide's notes.

    Raises :class:`IngestError` for an unsafe archive, a file that is not a (sound) presentation,
    or one without text.
    """
    check_zip(path, what=_WHAT)
    presentation = _open(path)
    budget = TextBudget()
    sections: list[Section] = []
    first_title = None
    for number, slide in enumerate(presentation.slides, start=1):
        title = _title(slide)
        first_title = first_title or title
        heading = (title,) if title else ()
        body = "\n".join(_shape_texts(slide.shapes))
        notes = ""
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = slide.notes_slide.notes_text_frame.text
        for text, heading_path, where in (
            (body, heading, f"slide {number}"),
            (notes, (*heading, "Notes"), f"slide {number}, notes"),
        ):
            sections.extend(located_sections(text, heading_path, where, budget))
        if budget.exhausted:
            break
    if not sections:
        raise IngestError("no text found in this PowerPoint presentation")
    core_title = (presentation.core_properties.title or "").strip()
    return ParsedDocument(
        str(path),
        "pptx",
        tuple(sections),
        title=core_title or first_title,
        notes=tuple(budget.notes),
    )


def _open(path: Path) -> Any:
    import pptx
    from lxml.etree import XMLSyntaxError
    from pptx.exc import PackageNotFoundError

    try:
        return pptx.Presentation(str(path))
    except PackageNotFoundError:
        raise IngestError("not a PowerPoint presentation: the package has no slides part") from None
    except XMLSyntaxError:
        raise IngestError("damaged PowerPoint presentation: its XML is malformed") from None
    except (KeyError, ValueError):
        raise IngestError(
            "not a PowerPoint presentation (.pptx): it is some other kind of ZIP file"
        ) from None


def _title(slide: Any) -> str | None:
    shape = slide.shapes.title
    if shape is None or not shape.has_text_frame:
        return None
    return " ".join(shape.text_frame.text.split()) or None


def _shape_texts(shapes: Any) -> list[str]:
    """The text of ``shapes`` in order, groups opened in place, with an explicit stack.

    Groups are told by their class, not by ``shape_type``: python-pptx raises
    NotImplementedError for the ``shape_type`` of a shape with no geometry it knows, which
    other programs write, and one such shape must not cost the deck.
    """
    from pptx.shapes.group import GroupShape

    texts: list[str] = []
    stack = [iter(shapes)]
    while stack:
        shape = next(stack[-1], None)
        if shape is None:
            stack.pop()
            continue
        if isinstance(shape, GroupShape):
            stack.append(iter(shape.shapes))
        elif getattr(shape, "has_table", False):
            for row in shape.table.rows:
                cells = [" ".join(cell.text.split()) for cell in row.cells]
                if any(cells):
                    texts.append(" | ".join(cells))
        elif getattr(shape, "has_text_frame", False):
            texts.append(shape.text_frame.text)
    return texts
