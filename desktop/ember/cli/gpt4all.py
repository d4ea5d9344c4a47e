"""``ember docs import-gpt4all [DB] [--index]``: GPT4All's LocalDocs collections as Ember
collections with the same folders (``--index``: indexed now; else later, by running it again
with ``--index`` or with the documents page's Re-index all)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ember.cli.common import EXIT_INTERRUPTED, ProgressBar, cancel_on_interrupt, wants_json
from ember.errors import StorageError


def register(actions: Any, output: argparse.ArgumentParser) -> None:
    """Add ``import-gpt4all`` to ``ember docs``' actions."""
    imports = actions.add_parser(
        "import-gpt4all",
        parents=[output],
        help="make collections from GPT4All's LocalDocs folders (its localdocs_v*.db)",
    )
    imports.add_argument(
        "db", nargs="?", type=Path, help="the LocalDocs database (default: GPT4All's own)"
    )
    imports.add_argument("--index", action="store_true", help="index the folders now")
    imports.set_defaults(handler=run_import)


def run_import(args: argparse.Namespace) -> int:
    from ember.cancel import CancelToken
    from ember.core import Core
    from ember.knowledge import gpt4all_import

    db = args.db or gpt4all_import.find_database()
    if db is None:
        from ember.hub.on_disk import gpt4all_dir, gpt4all_looked_in

        folder = gpt4all_dir()
        if folder is None:
            default, settings = gpt4all_looked_in()
            raise StorageError(
                f"GPT4All looks not installed: Ember looked for its folder at {default} (and "
                f"for a models folder named in {settings}) and found neither. If it keeps its "
                "data elsewhere, pass the database: `ember docs import-gpt4all PATH`."
            )
        raise StorageError(
            f"GPT4All's folder {folder} has no LocalDocs database (localdocs_v*.db): it has "
            "no LocalDocs collections yet. Or pass the database: `ember docs import-gpt4all PATH`."
        )
    found = gpt4all_import.read_collections(Path(db).expanduser())
    cancel = CancelToken()
    indexed: dict[str, int] = {}
    core = Core()
    try:
        kb = core.knowledge()
        made = gpt4all_import.import_collections(kb, found)
        if args.index:
            with cancel_on_interrupt(cancel):
                for collection in made:
                    bar = ProgressBar(sys.stderr)
                    report = kb.redo([], collection.name, progress=bar, cancel=cancel)
                    bar.close()
                    indexed[collection.name] = report.indexed
                    if report.cancelled:
                        break
    finally:
        core.close()
    rows = [
        {
            "collection": c.name,
            "folders": list(c.present),
            "missing": list(c.missing),
            "made": c in made,
            "indexed": indexed.get(c.name),
        }
        for c in found
    ]
    if wants_json(args):
        print(json.dumps(rows, ensure_ascii=False))
    else:
        _print(rows, db, args.index)
    return EXIT_INTERRUPTED if cancel.cancelled else 0


def _print(rows: list[dict[str, Any]], db: Path, indexed: bool) -> None:
    if not rows:
        print(f"GPT4All's LocalDocs database {db} has no collections.")
        return
    for row in rows:
        name = row["collection"]
        if not row["made"]:
            print(f"“{name}”: not imported, none of its folders is here.")
        elif row["indexed"] is not None:
            print(
                f"“{name}”: {len(row['folders'])} folder(s), {row['indexed']} document(s) indexed."
            )
        else:
            print(f"“{name}”: {len(row['folders'])} folder(s), ready to index.")
        for folder in row["missing"]:
            print(f"  not on this computer: {folder}")
    if not indexed and any(r["made"] for r in rows):
        print(
            "Index them with `ember docs import-gpt4all --index`, or Re-index all on the "
            "Documents page."
        )
