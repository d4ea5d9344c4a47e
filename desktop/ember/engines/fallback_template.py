"""The chat format for a GGUF that carries no chat template (often a base model, not tuned for chat).

A model whose name says it was tuned for chat gets its architecture's format
(``general.architecture``): Gemma's turn markers for the Gemma family, Llama 3's headers for Llama,
ChatML (what most small instruct models were tuned on) otherwise. Any other (a base model, such as
Gemma 3 270M) gets a plain "User: / Assistant:" transcript, the only format it can continue. The formatter also stops on the format's turn markers as text: a model that
was never tuned on them (a base model) writes them as plain text instead of ending its turn, and
would otherwise run on through invented turns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llama_cpp.llama_chat_format import ChatFormatterResponse

    from ember.engines.gguf import GGUFInfo


@dataclass(frozen=True, slots=True)
class Fallback:
    """A chat format: its name, Jinja2 template, the texts that end a turn, and how a person is
    told about it (``described``; the name when empty)."""

    name: str
    template: str
    stops: tuple[str, ...]
    described: str = ""


CHATML = Fallback(
    "chatml",
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
    ("<|im_end|>", "<|im_start|>"),
)
# Gemma has no system role: a system message goes before the first user turn, as Gemma's own
# template does.
GEMMA = Fallback(
    "gemma",
    "{{ bos_token }}{% for message in messages %}"
    "{% set role = 'model' if message['role'] == 'assistant' else 'user' %}"
    "{{ '<start_of_turn>' + role + '\\n' + message['content'] + '<end_of_turn>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}",
    ("<end_of_turn>", "<start_of_turn>"),
)
LLAMA3 = Fallback(
    "llama-3",
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content']"
    " + '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{% endif %}",
    ("<|eot_id|>", "<|start_header_id|>"),
)
# A base model knows no turn markers at all: a plain transcript is what it can continue.
TRANSCRIPT = Fallback(
    "transcript",
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] + '\n\n' }}"
    "{% elif message['role'] == 'user' %}{{ 'User: ' + message['content'] + '\n' }}"
    "{% else %}{{ 'Assistant: ' + message['content'] + '\n' }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}",
    ("User:", "\nAssistant:", "Assistant: Assistant:"),
    "a plain transcript (User: / Assistant:)",
)
_TUNED_FOR_CHAT = re.compile(r"(?i)(instruct|chat|[-_. ]it\b|[-_. ]it[-_.])")
_BY_ARCHITECTURE = {
    "gemma": GEMMA,
    "gemma2": GEMMA,
    "gemma3": GEMMA,
    "gemma3n": GEMMA,
    "llama": LLAMA3,
}


def fallback_for(info: GGUFInfo) -> Fallback:
    """The format for a template-less GGUF: where its name or file says it was tuned for chat
    ("Instruct", "-it", "chat"), its architecture's format (ChatML by default); otherwise, as for
    a base model, a plain transcript."""
    names = f"{info.name} {Path(info.path).name}"
    if not _TUNED_FOR_CHAT.search(names):
        return TRANSCRIPT
    return _BY_ARCHITECTURE.get(info.architecture.lower(), CHATML)


def formatter(
    fallback: Fallback, eos_token: str, bos_token: str, stop_token_ids: list[int] | None
) -> Any:
    """llama-cpp-python's sandboxed Jinja2 formatter for ``fallback`` that also stops on its turn
    markers as text (besides ``eos_token`` and ``stop_token_ids``)."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    class _Formatter(Jinja2ChatFormatter):
        def __call__(self, **kwargs: Any) -> ChatFormatterResponse:
            response = super().__call__(**kwargs)
            response.stop = [*(response.stop or []), *fallback.stops]
            return response

    return _Formatter(
        template=fallback.template,
        eos_token=eos_token,
        bos_token=bos_token,
        stop_token_ids=stop_token_ids,
    )


def template_note(info: GGUFInfo, name: str) -> str | None:
    """What a person should know when the GGUF carries no chat template (often a base model,
    not tuned for chat): the format Ember uses instead, and that answers may be poor. None when
    it has one."""
    if info.chat_template:
        return None
    fallback = fallback_for(info)
    used = fallback.described or fallback.name
    return (
        f"{name} has no chat template (it may be a base model, not tuned for chat): Ember "
        f"formats the conversation as {used}, and its answers may be poor."
    )
