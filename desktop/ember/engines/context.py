"""The one context policy: what of a conversation goes into a model's window, and how long the
answer may be.

The caller (the :class:`~ember.assistant.Assistant`) fits once, with the engine's own numbers:
``n_ctx``, ``count_tokens`` and ``template_overhead``; engines take the messages as given. The
system prompt and the question (with its sources) always go in whole: if they leave too little
room for an answer, :class:`PromptTooLong` says so rather than cutting what the person wrote. The
answer gets what it asked for where possible; history fills what is left, newest turns first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ember.engines.base import ChatMessage, Engine, TemplateOverhead
from ember.errors import EmberError

# Never squeeze the answer below this (or below what was asked, if less) to make a prompt fit.
MIN_ANSWER_TOKENS = 64


class PromptTooLong(EmberError):
    """The system prompt and the question (with its sources) leave too little room for an answer.

    ``required_tokens``: what they take, template included; ``n_ctx``: the window, in tokens.
    """

    def __init__(self, message: str, required_tokens: int, n_ctx: int) -> None:
        super().__init__(message)
        self.required_tokens = required_tokens
        self.n_ctx = n_ctx


@dataclass(frozen=True, slots=True)
class FittedPrompt:
    """A prompt that fits: ``messages`` (system, then history and question in alternating roles,
    the question last), ``max_tokens`` for the answer, and ``prompt_tokens``, the policy's count
    of the prompt (template included; at least the rendered prompt's real size)."""

    messages: list[ChatMessage]
    max_tokens: int
    prompt_tokens: int


def fit_prompt(
    system: str,
    history: Sequence[ChatMessage],
    question: str,
    *,
    n_ctx: int,
    count_tokens: Callable[[str], int],
    overhead: TemplateOverhead,
    max_tokens: int,
    min_answer_tokens: int = MIN_ANSWER_TOKENS,
) -> FittedPrompt:
    """Fit ``system`` + as much of ``history`` as fits + ``question`` into ``n_ctx`` tokens.

    ``history``: earlier user/assistant turns, oldest first. ``count_tokens``: the model's token
    count of a text. ``overhead``: what the chat template adds. ``max_tokens``: the answer length
    asked for; it shrinks when the question is long, never below
    ``min(min_answer_tokens, max_tokens)``. The kept history is the newest contiguous run of
    turns and never opens with an assistant turn (strict templates require the user first);
    neighbouring turns of one role are merged. ``prompt_tokens + max_tokens <= n_ctx`` always.

    Raises :class:`PromptTooLong` when system prompt and question alone leave too little room.
    """
    fixed = [ChatMessage("system", system)] if system else []
    required = sum(count_tokens(m) for m in (system, question) if m)
    required += overhead.of(len(fixed) + 1)
    answer = min(max_tokens, n_ctx - required)
    if answer < min(min_answer_tokens, max_tokens):
        raise PromptTooLong(
            f"The message takes about {required} tokens, but the model reads at most {n_ctx} "
            "at once. Shorten the message, or raise the context size in settings.",
            required,
            n_ctx,
        )

    # Newest history first, while it fits; older turns are left out, never the question.
    budget = n_ctx - answer - required
    kept: list[tuple[ChatMessage, int]] = []
    for message in reversed(history):
        cost = count_tokens(message.content) + overhead.per_message
        if cost > budget:
            break
        budget -= cost
        kept.append((message, cost))
    kept.reverse()
    while kept and kept[0][0].role != "user":
        kept.pop(0)  # templates expect the conversation to open with the user

    used = required + sum(cost for _, cost in kept)
    turns = _alternate([*(message for message, _ in kept), ChatMessage("user", question)])
    return FittedPrompt([*fixed, *turns], answer, used)


def fit_for(
    engine: Engine,
    system: str,
    history: Sequence[ChatMessage],
    question: str,
    max_tokens: int,
) -> FittedPrompt:
    """:func:`fit_prompt` for ``engine``: its context window, token count and chat template's
    overhead. Raises :class:`PromptTooLong` as that does."""
    return fit_prompt(
        system,
        history,
        question,
        n_ctx=engine.n_ctx,
        count_tokens=engine.count_tokens,
        overhead=engine.template_overhead,
        max_tokens=max_tokens,
    )


def _alternate(turns: list[ChatMessage]) -> list[ChatMessage]:
    """Merge neighbouring messages of one role (strict templates reject user, user).

    A merge adds a blank line (a token or two) but saves a message's template overhead, which
    is larger, so a merged prompt is never longer than its count.
    """
    merged: list[ChatMessage] = []
    for turn in turns:
        if merged and merged[-1].role == turn.role:
            merged[-1] = ChatMessage(turn.role, f"{merged[-1].content}\n\n{turn.content}")
        else:
            merged.append(turn)
    return merged
