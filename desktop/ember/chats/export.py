"""A conversation as Markdown (to read or share) or JSON (to keep or import elsewhere)."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import UTC, datetime

from ember import __version__
from ember.chats.records import Conversation, Message, ToolStep
from ember.files import shown_path

JSON_FORMAT = "ember-chat"
# 2: a citation's "score" became "similarity" (the cosine similarity of its passage).
JSON_VERSION = 2

_ROLE_HEADINGS = {"user": "You", "assistant": "Ember", "system": "System"}
_STATE_NOTES = {
    "cancelled": "stopped before the end",
    "interrupted": "interrupted: Ember closed while writing this answer",
    "error": "failed",
    "streaming": "still being written",
}
# A remote image in Markdown is fetched the moment a viewer renders it: an exfiltration channel if
# a model was tricked into writing one. Exported, it becomes a plain link that loads nothing.
_REMOTE_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*(?=[a-zA-Z][a-zA-Z0-9+.-]*:|//)")


# Ids of messages that are not in the export (other versions, the parent is the one before).
_NOT_EXPORTED = frozenset({"citations", "parent_id", "versions", "steps"})


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def defuse_remote_images(markdown: str) -> str:
    """Turn ``![alt](http://…)`` into ``[image: alt](http://…)`` so nothing loads by itself."""
    return _REMOTE_IMAGE.sub(lambda m: f"[image: {m.group(1)}](", markdown)


def to_markdown(conversation: Conversation, messages: list[Message]) -> str:
    """The chat as a Markdown document: title, a metadata line, then one section per message with
    its state note and numbered sources; remote images are defused. ``messages`` is the branch
    the chat shows (:meth:`~ember.chats.store.ChatStore.messages`): other versions are left out."""
    lines = [f"# {conversation.title}", ""]
    meta = f"Exported from Ember {__version__} · started {_iso(conversation.created)}"
    if conversation.model:
        meta += f" · model {conversation.model}"
    if conversation.collections:
        meta += " · documents: " + ", ".join(conversation.collections)
    lines += [f"*{meta}*", ""]
    for message in messages:
        heading = _ROLE_HEADINGS.get(message.role, message.role)
        if message.role == "assistant" and message.model:
            heading += f" ({message.model})"
        lines += [f"## {heading}", ""]
        if message.thinking.strip():
            lines += ["> **Thinking**", ">"]
            lines += [f"> {line}".rstrip() for line in message.thinking.strip().splitlines()]
            lines.append("")
        if message.steps:
            lines += ["**Tool calls**", "", *_step_lines(message.steps), ""]
        lines.append(defuse_remote_images(message.content.strip()) or "*(no text)*")
        lines.append("")
        note = _STATE_NOTES.get(message.state)
        if note:
            detail = f": {message.error}" if message.error else ""
            lines += [f"> *{note}{detail}*", ""]
        if message.citations:
            lines += ["**Sources**", ""]
            for citation in message.citations:
                where = shown_path(citation.source)
                page = citation.page_text("page")
                if page is not None:
                    where += f", {page}"
                if citation.heading:
                    where += f" — {citation.heading}"
                lines.append(f"{citation.n}. {where}")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _step_lines(steps: tuple[ToolStep, ...]) -> list[str]:
    """One numbered item per tool step: tool, arguments, state and time, then its result
    fenced (so a result's Markdown renders as text)."""
    lines = []
    for step in steps:
        took = f", {step.duration_s:.2f} s" if step.duration_s is not None else ""
        server = f" ({step.server})" if step.server and step.server != "built-in" else ""
        lines.append(
            f"{step.position + 1}. `{step.tool}`{server} `{step.arguments}`: {step.state}{took}"
        )
        shown = step.error or step.result
        if shown.strip():
            longest = max((len(r) for r in re.findall(r"`+", shown)), default=0)
            fence = "`" * max(3, longest + 1)
            lines += ["", f"   {fence}", *(f"   {x}" for x in shown.splitlines()), f"   {fence}"]
    return lines


def _step_json(step: ToolStep) -> dict[str, object]:
    return {
        **{k: v for k, v in asdict(step).items() if k != "citations"},
        "duration_s": step.duration_s,
        "citations": [{**asdict(c), "source": shown_path(c.source)} for c in step.citations],
    }


def to_json(conversation: Conversation, messages: list[Message]) -> str:
    """The chat as indented JSON (``format`` "ember-chat", ``version`` 2): the conversation record
    and every message of the branch the chat shows with its citations, thinking and tool
    steps; each message says which
    ``version`` of it this is out of ``version_count`` (the other versions are not exported)."""
    payload = {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "exported_by": f"Ember {__version__}",
        "conversation": {
            **asdict(conversation),
            "collections": list(conversation.collections),
            "created_iso": _iso(conversation.created),
        },
        "messages": [
            {
                **{k: v for k, v in asdict(m).items() if k not in _NOT_EXPORTED},
                "version": m.version,
                "version_count": m.version_count,
                "citations": [{**asdict(c), "source": shown_path(c.source)} for c in m.citations],
                "steps": [_step_json(step) for step in m.steps],
            }
            for m in messages
        ],
    }
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
