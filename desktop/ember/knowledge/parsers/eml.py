"""One email message (.eml): its headers, body and attachments' names, under its subject.

See :mod:`email_text`. A message has no pages: its citations name the file and the subject.
"""

from __future__ import annotations

from pathlib import Path

from ember.errors import IngestError
from ember.knowledge.parsers.base import TextBudget
from ember.knowledge.parsers.email_text import message_sections, parse_message
from ember.knowledge.types import ParsedDocument
from ember.units import size_text

MAX_EMAIL_BYTES = 256 * 1024 * 1024  # parsed whole, in a worker limited to 1 GB


def parse(path: Path) -> ParsedDocument:
    """A message as sections under its subject, titled by it.

    Raises :class:`IngestError` when the file holds no message text.
    """
    size = path.stat().st_size
    if size > MAX_EMAIL_BYTES:
        raise IngestError(
            f"this email message is too large ({size_text(size)}; the limit is "
            f"{size_text(MAX_EMAIL_BYTES)}): its attachments are not indexed anyway"
        )
    data = Path(path).read_bytes()
    budget = TextBudget()
    subject, sections = message_sections(parse_message(data), None, budget)
    if not sections or not any(s.text.strip() for s in sections):
        raise IngestError("no text found in this email message")
    return ParsedDocument(
        str(path), "eml", tuple(sections), title=subject, notes=tuple(budget.notes)
    )
