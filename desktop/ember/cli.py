"""The ``ember`` command: the desktop app by default, and terminal commands for everything else.

Errors a person can act on print one line on stderr and exit non-zero, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from ember import __version__
from ember.errors import EmberError

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ember",
        description="Ember: chat with open models about your documents, privately and offline. "
        "With no command, the desktop app starts.",
    )
    parser.add_argument("--version", action="version", version=f"ember {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    app = commands.add_parser("app", help="start the desktop app (the default)")
    app.set_defaults(handler=_run_app)

    from ember import cli_chat, cli_models

    cli_chat.register(commands)
    cli_models.register(commands)
    try:
        from ember.knowledge import commands as knowledge_commands
    except ImportError:  # the knowledge base is optional for the chat-only commands
        knowledge_commands = None
    if knowledge_commands is not None:
        knowledge_commands.register(commands)
    return parser


def _run_app(args: argparse.Namespace) -> int:
    from ember.ui.app import run_app

    return run_app([])


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", _run_app)
    try:
        return int(handler(args) or 0)
    except EmberError as exc:
        if getattr(args, "json", False):
            print(json.dumps({"error": str(exc), "kind": type(exc).__name__}))
        print(f"ember: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("ember: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
