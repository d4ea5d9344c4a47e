"""``ember serve``: the local OpenAI-compatible API in the foreground, until Ctrl-C.

``ember serve [--host H] [--port P] [--api-key KEY] [--yes]``: the address defaults to the
settings (``api_host``/``api_port``, 127.0.0.1:4891). The key is the saved one
(``api_key`` in the data folder, made on first use, mode 0600) unless ``--api-key`` gives one for
this run. An address other computers can reach is refused unless ``--yes`` confirms it.

The key itself is never printed while serving (terminals and logs keep what they show): the
first lines name the base URL and the key file, and ``ember serve --show-key`` prints the saved
key alone, for scripts (``OPENAI_API_KEY=$(ember serve --show-key)``). Requests may load any
model Ember can run (``switch_models``); the model unloads after ``api_idle_unload_s`` idle.
"""

from __future__ import annotations

import argparse
import sys
import threading

from ember.errors import EmberError


def register(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve", help="serve the local OpenAI-compatible API (Ctrl-C stops it)"
    )
    serve.add_argument("--host", help="address to listen on (default: settings, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: settings, 4891; 0: any free)")
    serve.add_argument("--api-key", help="the key clients must send, for this run only")
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
    given = args.api_key is not None
    if given and not args.api_key.strip():
        raise EmberError("--api-key must not be empty.")
    config = ServeConfig(
        host=args.host or settings.api_host,
        port=settings.api_port if args.port is None else args.port,
        api_key=args.api_key.strip() if given else api_key(core.paths),
        switch_models=True,
        idle_unload_s=float(settings.api_idle_unload_s),
    )
    check_bind(config, confirmed=args.yes)
    server = ApiServer(core, config)
    try:
        server.start()
        where = "the one given with --api-key" if given else f"in {key_file(core.paths)}"
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
