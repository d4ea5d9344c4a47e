"""Fit a conversation into a model's context window, so a long chat never errors.

The system prompt and the newest turns stay; older turns go first. The last user message always
stays: if it alone is too long, its head is cut (the end of a pasted text is usually the question).
Tokens are counted with the model's own tokenizer plus a per-message allowance for the chat
template's role markers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ember.engines.base import ChatMessage

DEFAULT_MESSAGE_OVERHEAD = 8  # ChatML role markers and newlines take 4-6 tokens per message
SAFETY_TOKENS = 8  # the generation prompt ("<|im_start|>assistant\n") and rounding
ELLIPSIS = "…"


def reply_budget(max_tokens: int, n_ctx: int) -> int:
    """Tokens to keep free for the answer: what was asked, but never more than half the window."""
    return max(1, min(max_tokens, n_ctx // 2))


def fit_messages(
    messages: Sequence[ChatMessage],
    count_tokens: Callable[[str], int],
    n_ctx: int,
    reply_tokens: int,
    message_overhead: int = DEFAULT_MESSAGE_OVERHEAD,
    fixed_overhead: int = SAFETY_TOKENS,
) -> list[ChatMessage]:
    """Return the messages that fit in ``n_ctx`` with ``reply_tokens`` left for the answer.

    Keeps leading system messages and the newest turns, drops older turns whole, and never
    starts the kept history with an assistant turn (templates that require alternating roles
    would refuse it). ``message_overhead`` is what the template adds per message;
    ``fixed_overhead`` what it adds once (generation prompt, a default system prompt).
    """
    if not messages:
        return []
    budget = n_ctx - min(reply_tokens, n_ctx // 2) - fixed_overhead

    def cost(message: ChatMessage) -> int:
        return count_tokens(message.content) + message_overhead

    leading = 0
    while leading < len(messages) and messages[leading].role == "system":
        leading += 1
    system = list(messages[:leading])
    rest = list(messages[leading:])

    # The newest user message and anything after it (rarely an assistant prefix) must stay.
    last_user = max((i for i, m in enumerate(rest) if m.role == "user"), default=len(rest) - 1)
    last_user = max(last_user, 0)
    tail = rest[last_user:]
    older = rest[:last_user]

    system_cost = sum(cost(m) for m in system)
    tail_cost = sum(cost(m) for m in tail)
    if system and system_cost + tail_cost > budget:
        # A system prompt may use at most half the room; the question needs the rest.
        system = _trim_system(system, count_tokens, budget // 2, message_overhead)
        system_cost = sum(cost(m) for m in system)
    if tail and system_cost + tail_cost > budget:
        room = budget - system_cost - sum(cost(m) for m in tail[1:]) - message_overhead
        tail[0] = ChatMessage(tail[0].role, _keep_tail(tail[0].content, count_tokens, room))
        tail_cost = sum(cost(m) for m in tail)

    used = system_cost + tail_cost
    kept: list[ChatMessage] = []
    for message in reversed(older):
        used += cost(message)
        if used > budget:
            break
        kept.append(message)
    kept.reverse()
    while kept and kept[0].role == "assistant":
        kept.pop(0)
    return [*system, *kept, *tail]


def _trim_system(
    system: list[ChatMessage], count_tokens: Callable[[str], int], room: int, overhead: int
) -> list[ChatMessage]:
    """Keep the head of the system prompt(s): instructions come first."""
    merged = "\n\n".join(m.content for m in system)
    keep = _longest_fitting(
        len(merged), lambda n: count_tokens(merged[:n] + ELLIPSIS), room - overhead
    )
    return [ChatMessage("system", merged[:keep] + (ELLIPSIS if keep < len(merged) else ""))]


def _keep_tail(text: str, count_tokens: Callable[[str], int], room: int) -> str:
    """The longest end of ``text`` that fits in ``room`` tokens, marked as cut."""
    if count_tokens(text) <= room:
        return text
    keep = _longest_fitting(
        len(text), lambda n: count_tokens(ELLIPSIS + text[len(text) - n :]), room
    )
    return ELLIPSIS + text[len(text) - keep :] if keep else ELLIPSIS


def _longest_fitting(length: int, tokens_for: Callable[[int], int], room: int) -> int:
    """Largest n in [0, length] with tokens_for(n) <= room (tokens grow with n): binary search."""
    low, high = 0, length
    while low < high:
        middle = (low + high + 1) // 2
        if tokens_for(middle) <= room:
            low = middle
        else:
            high = middle - 1
    return low
