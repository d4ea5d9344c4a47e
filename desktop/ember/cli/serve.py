"""``ember serve``: the local OpenAI-compatible API in the foreground, until Ctrl-C.

``ember serve [--host H] [--port P] [--api-key KEY] [--yes]``: the address defaults to the
settings (``api_host``/``api_port``, 127.0.0.1:4891). The key is the saved one
(``api_key`` in the data folder, made on first use, mode 0600) unless one is given for this run:
the environment variable :data:`KEY_VARIABLE` (``EMBER_API_KEY``), or ``--api-key``, which wins
over it but shows the key to every user of the computer in the process list. A given key is
never saved, and must be at least :data:`MIN_KEY_CHARS` characters. An address other computers
can reach is refused unless ``--yes`` confirms it.

The key itself is never printed while serving (terminals and logs keep what they show): the
first lines name the base URL, the key file and the MCP server's address (``/mcp``), and ``ember serve --show-key`` prints the saved
key alone, for scripts (``OPENAI_API_KEY=$(ember serve --show-key)``). Requests may load any
model Ember can run (``switch_models``); the model unloads after ``api_idle_unload_s`` idle.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
import threading
from typing import TYPE_CHECKING

from ember.errors import EmberError

if TYPE_CHECKING:
    from ember.api.server import ApiServer

# The environment variable that gives the key for one run, out of sight of the process list.
KEY_VARIABLE = "EMBER_API_KEY"
# The shortest key accepted for a run: a short key can be guessed by anyone who can connect.
MIN_KEY_CHARS = 16


def register(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve",
        help="serve the local OpenAI-compatible API (Ctrl-C stops it)",
        description="Serve the local OpenAI-compatible API until Ctrl-C.",
        epilog=(
            f"Environment variable {KEY_VARIABLE}: the key clients must send, for this run only (not "
            "saved); safer than --api-key, which other users can read in the process list. "
            "Without either, the saved key is used (`ember serve --show-key` prints it)."
        ),
    )
    serve.add_argument("--host", help="address to listen on (default: settings, 127.0.0.1)")
    serve.add_argument(
        "--port", type=_port, help="port 0-65535 (default: settings, 4891; 0: any free)"
    )
    serve.add_argument(
        "--api-key",
        metavar="KEY",
        help=(
            f"the key clients must send, for this run only; other users can see it in the "
            f"process list, so prefer the environment variable {KEY_VARIABLE}"
        ),
    )
    serve.add_argument(
        "--yes",
        action="store_true",
        help="confirm serving on an address other computers can reach",
    )
    serve.add_argument("--show-key", action="store_true", help="print the saved API key and exit")
    serve.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from ember.api.config import ServeConfig, api_key, key_file
    from ember.api.mcp_server import MCP_PATH
    from ember.api.server import ApiServer, check_bind
    from ember.core import Core

    core = Core()
    if args.show_key:
        print(api_key(core.paths))
        return 0
    settings = core.settings
    given, source = _given_key(args.api_key)
    config = ServeConfig(
        host=args.host or settings.api_host,
        port=settings.api_port if args.port is None else args.port,
        api_key=given or api_key(core.paths),
        switch_models=True,
        idle_unload_s=float(settings.api_idle_unload_s),
    )
    if not config.loopback and not args.yes:
        raise EmberError(
            f"{config.host} can be reached from other computers. Serve on 127.0.0.1, or add "
            "--yes to confirm that other computers may reach Ember (they still need the API key)."
        )
    check_bind(config, confirmed=args.yes)
    server = ApiServer(core, config)
    try:
        _start(server)
        where = f"the one given with {source}" if given else f"in {key_file(core.paths)}"
        print(f"Ember's API is at {server.base_url}", flush=True)
        print(f"API key: {where} (`ember serve --show-key` prints the saved one)", flush=True)
        mcp = server.base_url.removesuffix("/v1") + MCP_PATH
        print(f"MCP server (streamable HTTP, same key): {mcp}", flush=True)
        print(
            f"{_unloads(settings.api_idle_unload_s)} Press Ctrl-C to stop.",
            file=sys.stderr,
            flush=True,
        )
        stopped = threading.Event()
        while not stopped.wait(0.5):  # Ctrl-C reaches this thread: uvicorn's runs elsewhere
            if not server.serving:
                return 1
    except KeyboardInterrupt:
        print("ember: stopped serving", file=sys.stderr)
    finally:
        server.stop()
        core.close()
    return 0


def _unloads(idle_s: int) -> str:
    """What happens to an idle model, as ``api_idle_unload_s`` says (Settings → Local API)."""
    if idle_s <= 0:
        return "The model stays loaded between requests."
    when = f"{idle_s // 60} min" if idle_s % 60 == 0 else f"{idle_s} s"
    return f"The model unloads after {when} without requests and loads again on the next."


def _port(value: str) -> int:
    """``--port``'s value: an integer 0-65535 (argparse turns the error into a usage line)."""
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: use 0-65535 (0: any free port)")
    return port


def _start(server: ApiServer) -> None:
    """Start ``server``; a port another program holds is an :class:`EmberError` saying so."""
    try:
        server.start()
    except EmberError as exc:
        cause = exc.__cause__
        if not isinstance(cause, OSError) or cause.errno != errno.EADDRINUSE:
            raise
        config = server.config
        raise EmberError(
            f"Port {config.port} on {config.host} is in use by another program, perhaps Ember's "
            "own window serving the local API (Settings) or another `ember serve`. Stop it, or "
            "pick another port: ember serve --port N (0: any free port)."
        ) from None


def _given_key(option: str | None) -> tuple[str, str]:
    """The key given for this run and where it came from (``--api-key`` first, then
    :data:`KEY_VARIABLE`), or ``("", "")`` for the saved one. An unset or empty variable gives
    none; an empty ``--api-key``, or a given key shorter than :data:`MIN_KEY_CHARS`, raises
    :class:`EmberError`."""
    if option is not None:
        if not option.strip():
            raise EmberError("--api-key must not be empty.")
        given, source = option.strip(), "--api-key"
    else:
        given = os.environ.get(KEY_VARIABLE, "").strip()
        source = KEY_VARIABLE if given else ""
    if given and len(given) < MIN_KEY_CHARS:
        raise EmberError(
            f"The key given with {source} has {len(given)} characters; use at least "
            f"{MIN_KEY_CHARS}, or leave it out to use the saved key (`ember serve --show-key`)."
        )
    return given, source
