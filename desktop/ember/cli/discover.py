"""``ember models discover``: the GGUF models other apps (Ollama, LM Studio, the Hugging Face
cache, GPT4All) already downloaded, listed and, with ``--add``, registered in place (no copy).

A file whose header does not check out is listed with the reason and never registered.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ember.cli.common import wants_json


def register(actions: Any, output: argparse.ArgumentParser) -> None:
    """Add ``discover`` to ``ember models``' actions."""
    discover = actions.add_parser(
        "discover",
        parents=[output],
        help="find models Ollama, LM Studio, the Hugging Face cache or GPT4All downloaded",
    )
    discover.add_argument(
        "--add", action="store_true", help="register the sound ones in place (nothing is copied)"
    )
    discover.set_defaults(handler=run_discover)


def run_discover(args: argparse.Namespace) -> int:
    from ember.hub import on_disk

    found = on_disk.discover()
    added: dict[str, str] = {}  # path -> name registered now
    if args.add:
        for model in found:
            if not model.problem and not model.registered:
                added[str(model.path)] = on_disk.register(model).name
    if wants_json(args):
        rows = [{**m.as_json(), "added": str(m.path) in added} for m in found]
        print(json.dumps(rows))
        return 0
    if not found:
        print("No models from Ollama, LM Studio, the Hugging Face cache or GPT4All found.")
        return 0
    print(f"{'NAME':<32} {'SIZE':>9}  {'FROM':<19} STATUS")
    for m in found:
        if m.problem:
            status = f"broken: {m.problem}"
        elif str(m.path) in added:
            status = "added"
        elif m.registered:
            status = "added already"
        else:
            status = "not added"
        size = f"{m.size_bytes / 1e6:.0f} MB" if m.size_bytes else "?"
        print(f"{m.name:<32} {size:>9}  {m.origin_text:<19} {status}")
        print(f"{'':<32} {m.label}")
    waiting = sum(1 for m in found if not m.problem and not m.registered and not args.add)
    if waiting:
        print(f"Run `ember models discover --add` to use {waiting} of them (nothing is copied).")
    return 0
