"""``ember models search`` and ``ember models info``: the hub's GGUF models from the command line.

``search QUERY`` takes keywords, ``owner/repo`` or a pasted model URL; the catalog's models come
first, marked recommended. ``info REPO_OR_URL`` lists a repository's quants with their sizes and
a fit label each ("Fits / Tight / Won't fit" on this machine), its licence, context length and
vision projectors; the pre-selected quant is starred. ``--json`` prints one JSON document.
Hub failures are one ``ember:`` line that says what to do (:class:`HubError`).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace
from typing import TYPE_CHECKING

from ember.cli.common import wants_json
from ember.units import size_text

if TYPE_CHECKING:
    from ember.hub.fit_labels import QuantFit
    from ember.hub.types import RepoModels


def register(actions: argparse._SubParsersAction, output: argparse.ArgumentParser) -> None:
    """Add ``search`` and ``info`` to ``ember models``."""
    search = actions.add_parser(
        "search",
        parents=[output],
        help="search the hub for GGUF models (keywords, owner/repo, URL)",
    )
    search.add_argument("query", nargs="+", help="keywords, owner/repo, or a model's URL")
    search.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    search.set_defaults(handler=run_search)
    info = actions.add_parser(
        "info", parents=[output], help="a hub repository's quants, sizes, licence and fit"
    )
    info.add_argument("repo", metavar="REPO_OR_URL", help="owner/repo or a model's URL")
    info.add_argument("--revision", default="main", help="branch or commit (default main)")
    info.add_argument(
        "--no-fit", action="store_true", help="skip reading the headers for fit labels"
    )
    info.set_defaults(handler=run_info)


def _count(n: int | None) -> str:
    if n is None:
        return "—"  # the hub did not say
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.1f}k" if n >= 1e3 else str(n)


def run_search(args: argparse.Namespace) -> int:
    from ember.hub.search import search

    hits = search(" ".join(args.query), limit=args.limit)
    if wants_json(args):
        print(json.dumps([asdict(h) for h in hits]))
        return 0
    if not hits:
        print("No GGUF models found.")
        return 0
    print(f"{'REPOSITORY':<52} {'DOWNLOADS':>9} {'LIKES':>6}  NOTE")
    for h in hits:
        note = ", ".join(
            part
            for part in (
                f"recommended: {h.title}" if h.recommended else "",
                "gated" if h.gated else "",
            )
            if part
        )
        print(f"{h.repo_id:<52} {_count(h.downloads):>9} {_count(h.likes):>6}  {note}")
    print(f"\nSee a repository's models: ember models info {hits[0].repo_id}")
    return 0


def _repo(args: argparse.Namespace) -> tuple[RepoModels, str]:
    """The repository named on the command line, and the file a pasted URL pointed at ("")."""
    from ember.errors import HubError
    from ember.hub.quants import quantization_of
    from ember.hub.search import parse_model_ref, repo_models

    ref = parse_model_ref(args.repo)
    if ref is None:
        raise HubError(
            f"{args.repo!r} is not a repository: give owner/repo or a model's URL "
            f"(find one with: ember models search {args.repo})."
        )
    revision = args.revision if args.revision != "main" else ref.revision
    repo = repo_models(ref.repo_id, revision)
    if ref.filename:  # the URL pointed at one file: pre-select its quant
        wanted = quantization_of(ref.filename)
        if repo.quant(wanted) is not None:
            repo = replace(repo, default_quant=repo.quant(wanted).quantization)  # type: ignore[union-attr]
    return repo, ref.filename


def run_info(args: argparse.Namespace) -> int:
    from ember.hub.fit_labels import quant_fits

    repo, _ = _repo(args)
    fits: list[QuantFit] = [] if args.no_fit else quant_fits(repo)
    # The hub's listing may not say the context length; the headers do (the pre-selected first).
    for f in sorted(fits, key=lambda f: f.quantization != repo.default_quant):
        if f.n_ctx_train and not repo.n_ctx_train:
            repo = replace(repo, n_ctx_train=f.n_ctx_train, architecture=f.architecture)
    if wants_json(args):
        data = asdict(repo)
        for index, (quant, row) in enumerate(zip(repo.quants, data["quants"], strict=True)):
            row["size_bytes"] = quant.size_bytes
            row["split"] = quant.split
            row["default"] = quant.quantization == repo.default_quant
            row["fit"] = asdict(fits[index]) if fits else None
        print(json.dumps(data))
        return 0
    _print_info(repo, fits)
    return 0


def _print_info(repo: RepoModels, fits: list[QuantFit]) -> None:
    context = f"{repo.n_ctx_train:,} tokens" if repo.n_ctx_train else "unknown"
    print(f"{repo.repo_id}  (commit {repo.revision[:12]})")
    print(f"  licence: {repo.license or 'not stated'}    context length: {context}")
    if repo.architecture:
        print(f"  architecture: {repo.architecture}")
    if repo.gated:
        print("  gated: accept the licence on the hub's page and set HF_TOKEN to download")
    if not repo.quants:
        print("  No GGUF files in this repository.")
        return
    print(f"\n  {'QUANT':<12} {'SIZE':>9}  {'FIT':<10} FILE")
    for index, q in enumerate(repo.quants):
        star = "*" if q.quantization == repo.default_quant else " "
        fit = fits[index].text if fits else ""
        parts = f"  (+{len(q.files) - 1} parts)" if q.split else ""
        name = q.quantization or "?"
        print(f"{star} {name:<12} {size_text(q.size_bytes):>9}  {fit:<10} {q.filename}{parts}")
    unknown = {f.reason for f in fits if f.label == "unknown" and f.reason}
    for reason in sorted(unknown):
        print(f"\n  Fit unknown: {reason}")
    if repo.projectors:
        print("\n  Vision projectors (offered with the model):")
        for p in repo.projectors:
            print(f"    {p.filename}  {size_text(p.size_bytes)}")
    print(f"\n  * pre-selected. Download: ember models get {repo.repo_id} --quant QUANT")
