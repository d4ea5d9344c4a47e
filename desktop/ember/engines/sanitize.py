"""Neutralise chat-template special tokens in untrusted text (user input, retrieved documents).

llama-cpp-python tokenizes the rendered prompt with special tokens enabled, so a document that
contains ``<|im_start|>system`` would become a real role switch. We break such strings with a
WORD JOINER (U+2060) after their first character: a person reads the same text, the tokenizer no
longer sees the special token.
"""

from __future__ import annotations

import re

_JOINER = "\u2060"

# <|anything|> covers ChatML, Llama 3, Phi, Qwen, DeepSeek-style markers; the rest are the common
# bracket/tag forms of other templates.
_SPECIAL = re.compile(
    r"<\|[^<>|\n]{0,64}\|>"
    r"|</?s>|<unk>|<pad>|<bos>|<eos>"
    r"|</?start_of_turn>|<end_of_turn>"
    r"|\[/?INST\]|<<\/?SYS>>"
    r"|\[/?(?:AVAILABLE_TOOLS|TOOL_CALLS|TOOL_RESULTS|SYSTEM_PROMPT)\]",
    re.IGNORECASE,
)


def neutralize_special_tokens(text: str, extra_tokens: tuple[str, ...] = ()) -> str:
    """Return ``text`` with every special-token-looking string broken up.

    ``extra_tokens`` adds a model's own special tokens (read from its vocabulary) when known.
    """

    def breakup(match: re.Match[str]) -> str:
        token = match.group(0)
        return token[0] + _JOINER + token[1:]

    text = _SPECIAL.sub(breakup, text)
    for token in extra_tokens:
        if len(token) > 1 and token in text:
            text = text.replace(token, token[0] + _JOINER + token[1:])
    return text


_BACKTICKS = re.compile(r"`{3,}")


def fence(text: str, extra_tokens: tuple[str, ...] = (), info: str = "") -> str:
    """``text`` (stripped, special tokens neutralised) inside a code fence it cannot close: the
    fence is longer than any run of backticks in it. ``info`` is the fence's info string
    (``"text"`` for retrieved passages). How untrusted text is given to the model."""
    longest = max((len(m.group(0)) for m in _BACKTICKS.finditer(text)), default=0)
    marks = "`" * max(3, longest + 1)
    return f"{marks}{info}\n{neutralize_special_tokens(text.strip(), extra_tokens)}\n{marks}"
