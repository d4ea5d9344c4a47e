"""Colour fenced code blocks by their language with Pygments, inside a rendered QTextDocument.

Qt's Markdown reader marks each line of a fenced block with the fence's language
(``QTextFormat.BlockCodeLanguage``); a run of such lines is one block of code. Its text is
lexed as a whole (so a string spanning lines stays a string) and each token's colour, weight and
slant is merged into the document. A language Pygments does not know stays plain text; nothing
is ever guessed from the code itself. Pygments is imported on the first code block.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ember.ui.qt import QColor, QFont, QTextCharFormat, QTextCursor, QTextDocument, QTextFormat

if TYPE_CHECKING:
    from ember.ui.qt import QTextBlock

log = logging.getLogger(__name__)

LIGHT_STYLE = "default"
DARK_STYLE = "monokai"
MAX_HIGHLIGHTED = 50_000  # characters per block: a huge paste is shown plain, not lexed per render


def _is_code(block: QTextBlock) -> bool:
    return block.blockFormat().hasProperty(QTextFormat.Property.BlockCodeFence)


def _language(block: QTextBlock) -> str:
    value = block.blockFormat().property(QTextFormat.Property.BlockCodeLanguage)
    return value.strip().split()[0].lower() if isinstance(value, str) and value.strip() else ""


@lru_cache(maxsize=64)
def _lexer(language: str) -> Any | None:
    """The Pygments lexer for a fence's language, or None (unknown, or none given)."""
    if not language:
        return None
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


@lru_cache(maxsize=512)
def _format(style_name: str, token_type: Any) -> QTextCharFormat | None:
    from pygments.styles import get_style_by_name

    spec = get_style_by_name(style_name).style_for_token(token_type)
    if not (spec["color"] or spec["bold"] or spec["italic"]):
        return None
    fmt = QTextCharFormat()
    if spec["color"]:
        fmt.setForeground(QColor(f"#{spec['color']}"))
    if spec["bold"]:
        fmt.setFontWeight(QFont.Weight.Bold)
    if spec["italic"]:
        fmt.setFontItalic(True)
    return fmt


def code_runs(document: QTextDocument) -> list[tuple[int, str, str]]:
    """Each fenced block of ``document``: (start position, language, text with ``\\n``)."""
    runs: list[tuple[int, str, str]] = []
    block = document.begin()
    while block.isValid():
        if not _is_code(block):
            block = block.next()
            continue
        start, language, lines = block.position(), _language(block), []
        while block.isValid() and _is_code(block) and _language(block) == language:
            lines.append(block.text())
            block = block.next()
        runs.append((start, language, "\n".join(lines)))
    return runs


def highlight_code(document: QTextDocument, dark: bool) -> int:
    """Colour every fenced block whose language Pygments knows; returns how many were.

    Call inside the caller's edit block (one re-layout). Never raises for odd input: a lexer
    failure leaves that block plain (logged at debug level)."""
    style = DARK_STYLE if dark else LIGHT_STYLE
    done = 0
    for start, language, text in code_runs(document):
        lexer = _lexer(language)
        if lexer is None or len(text) > MAX_HIGHLIGHTED:
            continue
        try:
            tokens = list(lexer.get_tokens_unprocessed(text))
        except Exception as exc:  # a lexer bug on untrusted text: show it plain
            log.debug("could not highlight %s code: %s", language, exc)
            continue
        cursor = QTextCursor(document)
        for offset, token_type, value in tokens:
            fmt = _format(style, token_type)
            if fmt is None or not value:
                continue
            cursor.setPosition(start + offset)
            cursor.setPosition(start + offset + len(value), QTextCursor.MoveMode.KeepAnchor)
            cursor.mergeCharFormat(fmt)
        done += 1
    return done
