"""One email message as text: its headers a person reads, then its body, then its attachments'
names. Shared by the .eml and .mbox parsers.

Parsed with the standard library's ``email`` package (``policy.default``: encoded words and
charsets decoded). The body is the message's plain-text part, or its HTML part through the HTML
parser's extraction when it has no plain text. Attachments are named, never opened.
"""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from ember.knowledge.parsers.base import TextBudget, located_sections
from ember.knowledge.types import Section

HEADERS = ("From", "To", "Cc", "Date", "Subject")
MAX_HEADER_CHARS = 2_000


def parse_message(data: bytes) -> EmailMessage:
    """The message in ``data`` (a whole RFC 5322 message)."""
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    return message


def message_sections(
    message: EmailMessage, where: str | None, budget: TextBudget
) -> tuple[str | None, list[Section]]:
    """``(subject, sections)`` of one message: sections under the heading path ``(subject,)``
    (``("(no subject)",)`` without one), located by ``where`` ("message 3" in a mailbox)."""
    subject = _header(message, "Subject") or None
    lines = [f"{name}: {value}" for name in HEADERS if (value := _header(message, name))]
    body = _body(message)
    attachments = [
        part.get_filename() or part.get_content_type() for part in message.iter_attachments()
    ]
    text = "\n".join(lines) + "\n\n" + body
    if attachments:
        text += "\n\nAttachments: " + ", ".join(str(a) for a in attachments)
    heading = (subject or "(no subject)",)
    return subject, located_sections(text, heading, where, budget)


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, TypeError, IndexError, AttributeError):  # a header the policy chokes on
        return ""
    return " ".join(str(value or "")[:MAX_HEADER_CHARS].split())


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # an unknown charset, a broken encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_type() == "text/html":
        from ember.knowledge.parsers.html import extract

        _, blocks = extract(content)
        return "\n\n".join(
            "\n".join([" > ".join(path)] * bool(path) + lines) for path, lines in blocks
        )
    return content
