"""``ember chat list``, ``ember chat show`` and ``ember chat choose``: the chat history, read and
steered from a terminal.

A chat shows one branch of its messages; an edited question or a regenerated answer is a new
*version* of that message, and the earlier one is kept. ``show --versions`` lists every version
of each message that has several; ``choose MESSAGE`` shows that version (and the conversation
that followed it) in the chat from then on, in the app too.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ember.cli.common import json_flag, source_lines, wants_json

if TYPE_CHECKING:
    from ember.chats.records import Message
    from ember.chats.store import ChatStore

PREVIEW_CHARS = 70  # a version's first line, cut to this, in `show --versions`
_AUTHORS = {"user": "You", "assistant": "Ember", "system": "System"}


def register(chat: argparse.ArgumentParser) -> None:
    """Add the history actions under ``ember chat`` (which alone still starts a conversation)."""
    output = json_flag()
    actions = chat.add_subparsers(dest="chat_action", metavar="ACTION")
    listing = actions.add_parser("list", parents=[output], help="list your chats, newest first")
    listing.set_defaults(handler=run_list)
    show = actions.add_parser(
        "show",
        parents=[output],
        help="print a chat as it reads now (--versions: with every version of its messages)",
    )
    show.add_argument("chat_id", type=int, metavar="CHAT", help="the chat's id (`ember chat list`)")
    show.add_argument(
        "--versions",
        action="store_true",
        help="also list every version of each edited or regenerated message",
    )
    show.set_defaults(handler=run_show)
    choose = actions.add_parser(
        "choose",
        parents=[output],
        help="show this version of a message in its chat (ids from `show --versions`)",
    )
    choose.add_argument("message_id", type=int, metavar="MESSAGE")
    choose.set_defaults(handler=run_choose)


@contextmanager
def _store() -> Iterator[ChatStore]:
    """The chat history, through the composition root (no model is loaded), closed afterwards."""
    from ember.core import Core

    core = Core()
    try:
        yield core.store
    finally:
        core.close()


def run_list(args: argparse.Namespace) -> int:
    with _store() as store:
        chats = store.conversations()
    if wants_json(args):
        print(json.dumps([{"id": c.id, "title": c.title, "updated": c.updated} for c in chats]))
        return 0
    for chat in chats:
        print(f"{chat.id:>6}  {chat.title}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from ember.chats.records import ConversationNotFound

    with _store() as store:
        chat = store.get(args.chat_id)
        if chat is None:
            raise ConversationNotFound(f"Chat {args.chat_id} does not exist.")
        messages = store.messages(chat.id)
        versions = {
            m.id: store.versions(m.id) for m in messages if args.versions and m.version_count > 1
        }
    if wants_json(args):
        print(
            json.dumps({"id": chat.id, "title": chat.title, "messages": _json(messages, versions)})
        )
        return 0
    print(f"# {chat.title}")
    for m in messages:
        shown = f" · version {m.version} of {m.version_count}" if m.version_count > 1 else ""
        print(f"\n[{m.id}] {_AUTHORS.get(m.role, m.role)}{shown}")
        print(m.content.strip() or "(no text)")
        if m.citations:
            print("Sources:\n" + source_lines(m.citations), end="")
        for n, version in enumerate(versions.get(m.id, ()), start=1):
            mark = "*" if version.id == m.id else " "
            print(f"  {mark} version {n}: [{version.id}] {_preview(version.content)}")
    return 0


def run_choose(args: argparse.Namespace) -> int:
    with _store() as store:
        messages = store.choose_version(args.message_id)
    chosen = next((m for m in messages if m.id == args.message_id), None)
    if wants_json(args):
        print(json.dumps({"chosen": args.message_id, "messages": _json(messages, {})}))
    elif chosen is not None:
        print(f"Chat {chosen.conversation_id} now shows version {chosen.version} of this message.")
    return 0


def _json(messages: list[Message], versions: dict[int, list[Message]]) -> list[dict]:
    def one(m: Message) -> dict:
        return {
            "id": m.id,
            "role": m.role,
            "content": m.content,
            "state": m.state,
            "version": m.version,
            "version_count": m.version_count,
        }

    return [
        {**one(m), **({"versions": [one(v) for v in versions[m.id]]} if m.id in versions else {})}
        for m in messages
    ]


def _preview(text: str) -> str:
    line = next((" ".join(p.split()) for p in text.splitlines() if p.strip()), "(no text)")
    return line if len(line) <= PREVIEW_CHARS else line[: PREVIEW_CHARS - 1] + "…"
