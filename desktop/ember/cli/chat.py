"""``ember ask`` (one answer) and ``ember chat`` (a terminal conversation; its history actions
are in :mod:`~ember.cli.chat_history`).

Both drive the same core (:class:`~ember.core.Core`) as the desktop app: the exchange is kept
in the chat history (``--no-save`` for a throwaway answer) and, when documents are indexed, answers
are grounded in them with numbered sources. With ``--tools`` the model may call tools (see
:mod:`~ember.cli.tools`); ``ask --json`` then lists each call in ``steps``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ember.cli import chat_history
from ember.cli.common import json_flag, source_lines, wants_json
from ember.cli.tools import chosen_tools, step_json, step_line, terminal_approver, tool_arguments
from ember.engines import Finished, Token
from ember.files import shown_path

if TYPE_CHECKING:
    from ember.chats.records import ToolStep
    from ember.config import Settings
    from ember.core import Core
    from ember.knowledge.types import Citation, StaleSource


def register(commands: argparse._SubParsersAction) -> None:
    ask = commands.add_parser(
        "ask", parents=[json_flag()], help="answer one question on stdout (with document sources)"
    )
    ask.add_argument("question")
    _generation_arguments(ask)
    ask.set_defaults(handler=run_ask)

    chat = commands.add_parser(
        "chat",
        help="chat in the terminal; `chat list`, `chat show CHAT --versions`, `chat choose MESSAGE` "
        "read the history and its message versions",
        description="With no ACTION: a conversation in the terminal, kept in the chat history. "
        "`ember chat list` lists your chats; `ember chat show CHAT --versions` prints one with "
        "every version of its edited or regenerated messages; `ember chat choose MESSAGE` makes "
        "that version the one the chat shows (in the app too).",
    )
    _generation_arguments(chat)
    chat.set_defaults(handler=run_chat)
    chat_history.register(chat)


def _generation_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", "-m", help="catalog name, .gguf path, ollama:NAME or remote:NAME"
    )
    parser.add_argument(
        "--collection",
        "-c",
        action="append",
        metavar="NAME",
        help="answer from this document collection (repeatable; default: all indexed documents)",
    )
    parser.add_argument("--no-docs", action="store_true", help="answer without your documents")
    parser.add_argument("--no-save", action="store_true", help="keep nothing in the chat history")
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--max-tokens", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--system", help="system prompt for this run")
    tool_arguments(parser)


def _settings(args: argparse.Namespace, saved: Settings) -> Settings:
    """The saved settings with this run's command-line choices on top (checked)."""
    chosen = {
        "temperature": args.temperature,
        "max_tokens": args.max_tokens,
        "seed": args.seed,
        "system_prompt": args.system,
    }
    return saved.model_copy(update={k: v for k, v in chosen.items() if v is not None}).validate()


@contextmanager
def _session(args: argparse.Namespace) -> Iterator[tuple[Core, list[str]]]:
    """The core for one command: settings from the command line, the chosen model loaded, and
    the collections to answer from (none with ``--no-docs``); the ``--tools`` checked."""
    from ember.cli.tools import check_tools
    from ember.core import Core

    chats_db = Path(":memory:") if args.no_save else None
    core = Core(chats_db=chats_db)
    try:
        core.settings = _settings(args, core.settings)
        collections = [] if args.no_docs else core.known_collections(args.collection)
        check_tools(core, chosen_tools(args))
        for note in core.load_engine(args.model).notes:  # lowered context, GPU fallback
            print(note, file=sys.stderr)
        core.ground_in(collections)
        yield core, collections
    finally:
        core.close()


def _stream(
    core: Core, conversation_id: int, text: str, echo: bool, args: argparse.Namespace
) -> dict[str, object]:
    """Send one message, echoing tokens to stdout (and each finished tool step to stderr);
    returns what `ask --json` reports."""
    from ember.assistant import ReplyDone, ReplyStarted, StepChanged
    from ember.knowledge.freshness import stale_note

    citations: tuple[Citation, ...] = ()
    stale: tuple[StaleSource, ...] = ()
    finished: Finished | None = None
    abstained = False
    answer = ""
    steps: list[ToolStep] = []
    names = chosen_tools(args)
    events = core.assistant.send(
        conversation_id,
        text,
        tools=names if names else None,
        approve=terminal_approver(args.yes),
    )
    for event in events:
        if isinstance(event, ReplyStarted):
            citations = tuple(event.citations)
            stale = tuple(event.stale)
        elif isinstance(event, Token):
            if echo:
                sys.stdout.write(event.text)
                sys.stdout.flush()
        elif isinstance(event, StepChanged) and event.step.finished is not None:
            if echo:
                print(step_line(event.step), file=sys.stderr)
        elif isinstance(event, ReplyDone):
            finished, abstained, answer = event.finished, event.abstained, event.message.content
            citations, steps = event.message.citations, list(event.message.steps)
    if echo:
        sys.stdout.write("\n")
        if citations and not abstained:
            sys.stdout.write("\nSources:\n" + source_lines(citations))
        sys.stdout.flush()
    if stale:
        print(f"ember: {stale_note(stale)}", file=sys.stderr)
    timings = finished.timings if finished else None
    return {
        "answer": answer.strip(),
        "model": (finished.model if finished else "") or core.store.get(conversation_id).model,
        "sources": [
            {
                "n": c.n,
                "source": shown_path(c.source),
                "page": c.page,
                "page_label": c.page_label,
                "page_count": c.page_count,
                "page_text": c.page_text(),
                "heading": c.heading,
                "similarity": c.similarity,
                "text": c.snippet,
            }
            for c in citations
        ],
        "abstained": abstained,
        "stale_sources": [{"path": shown_path(s.path), "state": s.state} for s in stale],
        "ttft_s": timings.ttft_s if timings and timings.ttft_s is not None else 0.0,
        "tokens_per_s": timings.tokens_per_s if timings else 0.0,
        "steps": [step_json(step) for step in steps],
    }


def run_ask(args: argparse.Namespace) -> int:
    as_json = wants_json(args)
    with _session(args) as (core, collections):
        model = core.loaded.name if core.loaded else ""
        conversation = core.store.create(model=model, collections=collections)
        result = _stream(core, conversation.id, args.question, not as_json, args)
        if not result["model"]:
            result["model"] = model
    if as_json:
        print(json.dumps(result))
    return 0


def run_chat(args: argparse.Namespace) -> int:
    with _session(args) as (core, collections):
        model = core.loaded.name if core.loaded else ""
        conversation = core.store.create(model=model, collections=collections)
        scope = f" with documents from {', '.join(collections)}" if collections else ""
        print(
            f"Chatting with {model}{scope}. Empty line or Ctrl-D to quit.",
            file=sys.stderr,
        )
        while True:
            try:
                line = input("> ").strip()
            except EOFError:
                break
            if not line:
                break
            _stream(core, conversation.id, line, True, args)
    return 0
