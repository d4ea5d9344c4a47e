"""The ``ember`` command: the desktop app by default, and terminal commands for everything else.

One module per command group: :mod:`~ember.cli.chat` (ask, chat), :mod:`~ember.cli.models`
(models, doctor), :mod:`~ember.cli.documents` (index, search, docs) and
:mod:`~ember.cli.evaluate` (eval), :mod:`~ember.cli.tools` (tools);
:mod:`~ember.cli.common` holds what they share. All terminal
code lives in this package: the core imports none of it and prints nothing. Errors a person can
act on print one line on stderr and exit non-zero, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from ember import __version__
from ember.cli.common import EXIT_INTERRUPTED, wants_json
from ember.errors import EmberError, StorageError

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143, as a shell reports a process SIGTERM ended


class _Terminated(KeyboardInterrupt):
    """SIGTERM reached a terminal command: unwinds it as Ctrl-C does (a running tool step is
    stored as cancelled, ``ember serve`` stops serving), so ``finally`` blocks and the exit
    handlers run: they end the MCP servers' process groups, which Python's default SIGTERM
    action, an immediate exit, would leave running."""


def _end_on_sigterm() -> None:
    def handler(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the clean-up
        raise _Terminated

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ember",
        description="Ember: chat with open models about your documents, privately and offline. "
        "With no command, the desktop app starts; `ember FILE...` starts it and offers to index "
        "the files and folders (as the desktop entry does).",
    )
    parser.add_argument("--version", action="version", version=f"ember {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    app = commands.add_parser("app", help="start the desktop app (the default)")
    app.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="files or folders to offer for indexing once the window is open (a .gguf is "
        "added as a model)",
    )
    app.set_defaults(handler=_run_app)

    from ember.cli import chat, documents, evaluate, mcp, models, serve, tools

    for group in (chat, models, documents, evaluate, serve, mcp, tools):
        group.register(commands)
    return parser


def _run_app(args: argparse.Namespace) -> int:
    from ember.ui.app import run_app

    return run_app([], paths=list(getattr(args, "paths", None) or []))


def _route_paths(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``ember FILE...`` means ``ember app FILE...`` (the desktop entry runs ``ember %F``).

    Only when the first argument is an existing path and no command of that name exists, so a
    mistyped command still gets argparse's list of commands."""
    if not argv or argv[0].startswith("-") or argv[0] in _command_names(parser):
        return argv
    looks_like_a_path = "/" in argv[0] or os.sep in argv[0] or "." in argv[0]
    if not Path(argv[0]).exists() and not looks_like_a_path:
        return argv  # a mistyped command: argparse lists the real ones
    return ["app", *argv]  # a missing file is then named as such


def _command_names(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The parsed command line; paths given to the app must exist (a usage error otherwise)."""
    parser = build_parser()
    args = parser.parse_args(_route_paths(parser, list(sys.argv[1:] if argv is None else argv)))
    if getattr(args, "handler", None) is _run_app:
        missing = [p for p in args.paths if not Path(p).exists()]
        if missing:
            parser.error(f"no such file or folder: {', '.join(missing)}")
        args.paths = [Path(p).resolve() for p in args.paths]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    _never_fail_on_file_names()
    args = parse_args(argv)
    handler = getattr(args, "handler", _run_app)
    # A process of its own (not main([...]) inside a test); the window handles SIGTERM itself.
    if handler is not _run_app and argv is None:
        _end_on_sigterm()
    try:
        return int(handler(args) or 0)
    except EmberError as exc:
        return _report(args, exc)
    except _Terminated:
        print("ember: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("ember: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except OSError as exc:
        folder = _own_folder(exc)
        if folder is None:
            raise
        reason = exc.strerror or type(exc).__name__
        return _report(
            args,
            StorageError(
                f"Ember cannot write to its folder {folder} ({reason}: {exc.filename}). Make it "
                "a folder you can write to, or set EMBER_HOME to one."
            ),
        )


def _report(args: argparse.Namespace, exc: EmberError) -> int:
    if wants_json(args):
        print(json.dumps({"error": str(exc), "kind": type(exc).__name__}))
    print(f"ember: {exc}", file=sys.stderr)
    return EXIT_ERROR


def _own_folder(exc: OSError) -> Path | None:
    """Ember's settings, data or cache folder that the path ``exc`` names lies in (a folder that
    cannot be made or written: under a file, read-only, or on /proc), else None."""
    if not isinstance(exc.filename, (str, os.PathLike)):
        return None
    try:
        from ember.paths import ember_paths

        paths = ember_paths()
    except (EmberError, OSError):
        return None
    folders = [paths.config_dir, paths.data_dir, paths.cache_dir]
    home = os.environ.get("EMBER_HOME")
    if home:  # the one folder that holds the three, which may itself be what cannot be made
        folders.append(Path(home).expanduser().resolve())
    target = Path(exc.filename).absolute()
    for folder in folders:
        if target == folder or folder in target.parents:
            return folder
    return None


def _never_fail_on_file_names() -> None:
    """A file name whose bytes are not UTF-8 must not end a command with a traceback when some
    message prints it: such characters print as "?" (names Ember shows itself use U+FFFD)."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None and getattr(sys.stdout, "errors", "") == "strict":
        reconfigure(errors="replace")


if __name__ == "__main__":
    raise SystemExit(main())
