"""Typed records the chat store hands out (never ``sqlite3.Row``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from ember.errors import EmberError
from ember.knowledge.types import Citation

MessageRole = Literal["system", "user", "assistant"]
# 'streaming': being written now; 'interrupted': was 'streaming' when the app died (text kept up to
# the last flush); 'cancelled': stopped on request; 'error': the backend failed (text kept).
MessageState = Literal["streaming", "done", "cancelled", "error", "interrupted"]

NEW_CHAT_TITLE = "New chat"


class ConversationNotFound(EmberError):
    """A chat or message id that does not exist (any more)."""


@dataclass(frozen=True, slots=True)
class Conversation:
    """One chat as stored; ``created`` and ``updated`` are Unix times in seconds."""

    id: int
    title: str
    created: float  # Unix time, seconds
    updated: float
    model: str  # the model last used in this chat ("" = none yet)
    collections: tuple[str, ...]  # knowledge collections that answer in this chat
    deleted_at: float | None = None  # set while the chat is in the trash (undo possible)
    tools: tuple[str, ...] = ()  # names of the tools the model may call in this chat
    show_thinking: bool = True  # whether the window shows reasoning models' Thinking blocks

    @property
    def deleted(self) -> bool:
        """Whether the chat is in the trash."""
        return self.deleted_at is not None


# A tool step's life: 'approval' (waiting for the person), 'running', then one of 'done',
# 'error' (the tool failed; its message is the result), 'denied', 'cancelled', or 'interrupted'
# (it was 'approval' or 'running' when the app died).
StepState = Literal["approval", "running", "done", "error", "denied", "cancelled", "interrupted"]


@dataclass(frozen=True, slots=True)
class ToolStep:
    """One tool call inside an answer, as stored (each change is committed at once).

    ``position``: its order in the answer (0, 1, ...); ``text_offset``: how many characters of
    the answer's text came before it (the window shows the step there, between the text);
    ``arguments``: the model's arguments as JSON text; ``decision``: see
    :data:`ember.tools.types.Decision` (None while waiting); ``result``: what the model was
    given back (already capped; ``truncated`` when it was cut); ``started``/``finished``: Unix
    times in seconds (``finished`` None while it runs).
    """

    id: int
    message_id: int
    position: int
    text_offset: int
    call_id: str
    tool: str
    server: str
    arguments: str
    state: StepState
    decision: str | None = None
    result: str = ""
    truncated: bool = False
    error: str | None = None
    started: float = 0.0
    finished: float | None = None
    citations: tuple[Citation, ...] = ()

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to end (None while running)."""
        return None if self.finished is None else max(0.0, self.finished - self.started)

    @property
    def approved(self) -> bool:
        """Whether the call was let through (auto, allowed once or always)."""
        return self.decision in ("auto", "allow_once", "always")

    def summary(self) -> dict[str, Any]:
        """The step as ``ember ask --json`` and the local API's ``ember.steps`` show it:
        ``arguments`` parsed (the raw text where it is not JSON), ``duration_s`` in seconds."""
        try:
            arguments: Any = json.loads(self.arguments)
        except ValueError:
            arguments = self.arguments
        return {
            "tool": self.tool,
            "server": self.server,
            "arguments": arguments,
            "result": self.result,
            "truncated": self.truncated,
            "approved": self.approved,
            "decision": self.decision,
            "state": self.state,
            "error": self.error,
            "duration_s": self.duration_s,
        }


@dataclass(frozen=True, slots=True)
class Message:
    """One message as stored, with its outcome.

    ``created`` is a Unix time in seconds; ``ttft_s`` the seconds to the first token,
    ``tokens_per_s`` the generation speed, ``prompt_tokens``/``completion_tokens`` token counts
    (None where not measured); ``error`` says why a reply failed. ``parent_id`` is the message
    before it in its branch (None for a chat's first); ``versions`` the ids of every version of
    it (itself and its siblings, oldest first; just its own id when it has no other).
    """

    id: int
    conversation_id: int
    role: MessageRole
    content: str
    model: str
    state: MessageState
    created: float
    error: str | None = None
    ttft_s: float | None = None
    tokens_per_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    citations: tuple[Citation, ...] = ()
    parent_id: int | None = None
    versions: tuple[int, ...] = ()
    # A reasoning model's thinking for this answer (never in ``content``, never cited, never
    # sent back to the model) and the tool calls made while answering, in order.
    thinking: str = ""
    steps: tuple[ToolStep, ...] = ()

    @property
    def version(self) -> int:
        """Which version this is, from 1 (1 when it has no other)."""
        return self.versions.index(self.id) + 1 if self.id in self.versions else 1

    @property
    def version_count(self) -> int:
        """How many versions the message has (1 when it was never edited or regenerated)."""
        return max(1, len(self.versions))


@dataclass(frozen=True, slots=True)
class DeletedConversation:
    """What :meth:`ChatStore.delete` returns and :meth:`ChatStore.restore` takes: the undo."""

    conversation_id: int
    deleted_at: float
    title: str


def derive_title(text: str, limit: int = 60) -> str:
    """A chat title from its first user message: the first non-empty line, cut at a word."""
    line = next((" ".join(part.split()) for part in text.splitlines() if part.strip()), "")
    if not line:
        return NEW_CHAT_TITLE
    if len(line) <= limit:
        return line
    cut = line[:limit]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:-") + "…"
