"""Mailboxes (.mbox): every message in order, each located as "message 3".

The file must start with an mbox ``From `` separator line; the standard library's
:mod:`mailbox` then finds the messages (one pass over the file) and each is read alone and
turned into text by :mod:`email_text`. A message the ``email`` package cannot read costs only
itself, with a note.
"""

from __future__ import annotations

import mailbox
from pathlib import Path

from ember.errors import IngestError
from ember.knowledge.parsers.base import TextBudget
from ember.knowledge.parsers.email_text import message_sections, parse_message
from ember.knowledge.types import ParsedDocument, Section


def parse(path: Path) -> ParsedDocument:
    """A mailbox as sections, message by message, under each message's subject.

    Raises :class:`IngestError` for a file that is not a mailbox, or one without text.
    """
    with open(path, "rb") as stream:
        head = stream.read(5)
    if head != b"From ":
        raise IngestError(
            'not a mailbox (.mbox): the file does not start with a "From " separator line'
        )
    budget = TextBudget()
    sections: list[Section] = []
    unreadable = 0
    box = mailbox.mbox(str(path), create=False)
    try:
        for number, key in enumerate(box.iterkeys(), start=1):
            if budget.exhausted:
                budget.truncated()
                break
            try:
                message = parse_message(box.get_bytes(key))
                _, found = message_sections(message, f"message {number}", budget)
            except (ValueError, TypeError, LookupError, AttributeError):
                unreadable += 1
                continue
            sections.extend(found)
    finally:
        box.close()
    if not sections:
        raise IngestError("no text found in this mailbox (.mbox)")
    notes = list(budget.notes)
    if unreadable:
        notes.append(f"{unreadable} damaged message(s) could not be read")
    return ParsedDocument(str(path), "mbox", tuple(sections), notes=tuple(notes))
