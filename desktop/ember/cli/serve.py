"""``ember serve``: the local OpenAI-compatible API in the foreground, until Ctrl-C.

``ember serve [--host H] [--port P] [--api-key KEY] [--yes]``: the address defaults to the
settings (``api_host``/``api_port``, 127.0.0.1:4891). The key is the saved one
(``api_key`` in the data folder, made on first use, mode 0600) unless one is given for this run:
the environment variable :data:`KEY_VARIABLE` (``EMBER_API_KEY``), or ``--api-key``, which wins
over it but shows the key to every user of the computer in the process list. A given key is
never saved. An address other computers can reach is refused unless ``--yes`` confirms it.

The key itself is never printed while serving (terminals and logs keep what they show): the
first lines name the base URL and the key file, and ``ember serve --show-key`` prints the saved
key alone, for scripts (``OPENAI_API_KEY=$(ember serve --show-key)``). Requests may load any
model Ember can run (``switch_models``); the model unloads after ``api_idle_unload_s`` idle.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading

from ember.errors import EmberError

# The environment variable that gives the key for one run, out of sight of the process list.
KEY_VARIABLE = "EMBER_API_KEY"


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
    serve.add_argument("--port", type=int, help="port (default: settings, 4891; 0: any free)")
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
    check_bind(config, confirmed=args.yes)
    server = ApiServer(core, config)
    try:
        server.start()
        where = f"the one given with {source}" if given else f"in {key_file(core.paths)}"
        print(f"Ember's API is at {server.base_url}", flush=True)
        print(f"API key: {where} (`ember serve --show-key` prints the saved one)", flush=True)
        print("Press Ctrl-C to stop.", file=sys.stderr, flush=True)
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


def _given_key(option: str | None) -> tuple[str, str]:
    """The key given for this run and where it came from (``--api-key`` first, then
    :data:`KEY_VARIABLE`), or ``("", "")`` for the saved one. An unset or empty variable gives
    none; an empty ``--api-key`` raises :class:`EmberError`."""
    if option is not None:
        if not option.strip():
            raise EmberError("--api-key must not be empty.")
        return option.strip(), "--api-key"
    from_env = os.environ.get(KEY_VARIABLE, "").strip()
    return (from_env, KEY_VARIABLE) if from_env else ("", "")
