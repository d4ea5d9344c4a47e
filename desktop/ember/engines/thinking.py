"""Split a reasoning model's ``<think>…</think>`` block off its answer, as the text streams.

Reasoning models (DeepSeek-R1 distills, Qwen3, QwQ) write their thinking first, between
``<think>`` and ``</think>``, then the answer. The tags arrive split across tokens in any way
(``"<th"``, ``"ink>"``), so :class:`ThinkSplitter` holds back just the text that may still
become a tag and releases the rest at once. A template that opens the block itself (the
generation prompt ends in ``<think>``, as DeepSeek-R1 distills' do) starts the stream inside
thinking: make the splitter with ``inside=True`` (:func:`opens_thinking` tells).

An opening tag counts only before any answer text (leading blanks aside): a model that writes
``<think>`` in the middle of an answer is quoting it, not thinking.
"""

from __future__ import annotations

from typing import Literal

OPEN = "<think>"
CLOSE = "</think>"

PieceKind = Literal["answer", "thinking"]
Piece = tuple[PieceKind, str]


def opens_thinking(prompt: str) -> bool:
    """Whether a rendered prompt leaves the model inside a thinking block (it ends in an
    unclosed ``<think>``)."""
    tail = prompt.rstrip()
    return tail.endswith(OPEN)


def _held_prefix(text: str, tag: str) -> int:
    """Length of the longest end of ``text`` that is a proper start of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


class ThinkSplitter:
    """Feed streamed text in; get ``("thinking" | "answer", text)`` pieces out, in order.

    :meth:`feed` returns what is certain so far; :meth:`flush` at the end of the stream releases
    what was held back (a tag that never completed is plain text). Blank lines between
    ``</think>`` and the answer are dropped.
    """

    def __init__(self, inside: bool = False) -> None:
        self.inside = inside
        self._held = ""
        self._answer_started = False  # answer text seen: an opening tag no longer counts
        self._after_close = False  # just closed: drop the blank lines before the answer

    def feed(self, text: str) -> list[Piece]:
        """The pieces ``text`` (the next streamed text) completes."""
        buffer = self._held + text
        self._held = ""
        pieces: list[Piece] = []
        while buffer:
            if self.inside:
                index = buffer.find(CLOSE)
                if index < 0:
                    keep = _held_prefix(buffer, CLOSE)
                    self._emit(pieces, "thinking", buffer[: len(buffer) - keep])
                    self._held = buffer[len(buffer) - keep :]
                    break
                self._emit(pieces, "thinking", buffer[:index])
                buffer = buffer[index + len(CLOSE) :]
                self.inside = False
                self._after_close = True
                continue
            if self._after_close:
                buffer = buffer.lstrip()
                if not buffer:
                    break
                self._after_close = False
            if not self._answer_started:
                stripped = buffer.lstrip()
                if stripped.startswith(OPEN):
                    buffer = stripped[len(OPEN) :]
                    self.inside = True
                    continue
                if not stripped or OPEN.startswith(stripped):
                    self._held = buffer  # may still become the opening tag
                    break
            self._emit(pieces, "answer", buffer)
            break
        return pieces

    def flush(self) -> list[Piece]:
        """What was held back at the end of the stream."""
        held, self._held = self._held, ""
        if not held:
            return []
        if self.inside:
            return [("thinking", held)]
        if self._after_close:
            held = held.lstrip()
        return [("answer", held)] if held else []

    def _emit(self, pieces: list[Piece], kind: PieceKind, text: str) -> None:
        if not text:
            return
        if kind == "answer":
            self._answer_started = True
        if pieces and pieces[-1][0] == kind:
            pieces[-1] = (kind, pieces[-1][1] + text)
        else:
            pieces.append((kind, text))
