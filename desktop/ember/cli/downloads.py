"""``ember models get`` and ``ember models rm``: download a model from the hub, forget one.

``get`` takes a catalog name, ``owner/repo`` (its default quantization, or ``--quant``) or a
pasted model URL (``…/resolve/REV/FILE`` or ``…/blob/REV/FILE`` for one file), queues it in the
persisted download queue and runs it here, drawing the same :class:`DownloadEvent`s the window
draws (a tqdm bar on a terminal, a plain line every few seconds otherwise, on stderr). Ctrl-C
pauses; the same command later resumes from the bytes on disk. ``ember models list`` shows the
downloads not finished (:func:`unfinished_rows`, :func:`print_unfinished`).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any

from ember.cli.common import EXIT_INTERRUPTED, StreamProgress, json_flag, wants_json
from ember.errors import DownloadError, ModelNotFound
from ember.hub.types import DownloadEvent, HubFile, Quant

ACTIONS = ("get", "rm")


def register(actions: argparse._SubParsersAction) -> None:
    """Add ``get`` and ``rm`` to ``ember models``."""
    output = json_flag()
    get = actions.add_parser(
        "get",
        parents=[output],
        help="download a model from the hub (catalog name, owner/repo or model URL); resumable",
    )
    get.add_argument("model", metavar="NAME_OR_REPO_OR_URL")
    get.add_argument("--quant", help="quantization to download (default: the repo's default)")
    get.add_argument("--name", help="name to register it under")
    get.add_argument(
        "--no-projector", action="store_true", help="skip the vision projector (mmproj) if any"
    )
    rm = actions.add_parser(
        "rm",
        parents=[output],
        help="remove a model (deletes files Ember downloaded; others are only unregistered)",
    )
    rm.add_argument("name")


def run(args: argparse.Namespace) -> int:
    if args.models_action == "rm":
        return _rm(args)
    return _get(args)


# -- get -------------------------------------------------------------------------------------


def _get(args: argparse.Namespace) -> int:
    from ember.cancel import CancelToken
    from ember.cli.common import cancel_on_interrupt
    from ember.hub.downloads import DownloadQueue, DownloadStopped

    target = resolve(args.model, args.quant, with_projector=not args.no_projector)
    queue = DownloadQueue()
    job_id = queue.add(
        target["repo_id"],
        target["quant"],
        revision=target["revision"],
        projector=target["projector"],
        name=args.name or target["name"],
        expected_sha256=target["expected"],
        license=target["license"],
    )
    cancel = CancelToken()
    bar = DownloadBar()
    try:
        with cancel_on_interrupt(cancel, "Pausing the download; the bytes on disk are kept"):
            entry = queue.run(job_id, bar, cancel)
    except DownloadStopped as exc:
        bar.close()
        print(f"{exc} Run `ember models get {args.model}` again to resume.", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        bar.close()
    if wants_json(args):
        print(json.dumps({**asdict(entry), "job_id": job_id}))
    else:
        print(
            f"Downloaded and verified {entry.name} ({entry.path}). Chat with it: "
            f"ember chat --model {entry.name}"
        )
    return 0


def resolve(text: str, quant: str | None = None, *, with_projector: bool = True) -> dict[str, Any]:
    """What ``text`` names on the hub: ``repo_id``, ``revision``, ``quant`` (a :class:`Quant`),
    ``projector``, ``name`` (catalog name or ""), ``expected`` (catalog sha256 per file) and
    ``license``. Raises :class:`ModelNotFound` when it names nothing downloadable."""
    from ember import catalog
    from ember.hub.search import parse_model_ref, repo_models

    entry = None
    try:
        entry = catalog.find_model(text)
    except ModelNotFound:
        pass
    if entry is not None:
        where = catalog.hub_file(entry)
        if where is None:
            state = "already on this computer" if entry.available else "not on a hub"
            raise ModelNotFound(f"{entry.name} is {state}; there is nothing to download.")
        repo_id, revision, filename = where
    else:
        ref = parse_model_ref(text)
        if ref is None:
            raise ModelNotFound(
                f"{text!r} is not a catalog model, an owner/repo or a model URL. Find one with "
                "`ember models search WORDS`."
            )
        repo_id, revision, filename = ref.repo_id, ref.revision, ref.filename
    models = repo_models(repo_id, revision)
    chosen = _pick(models, filename, quant)
    projector: HubFile | None = None
    if with_projector and models.projectors:
        wanted = _projector_name(entry) if entry else ""
        projector = next(
            (p for p in models.projectors if p.filename == wanted), models.projectors[0]
        )
    expected: dict[str, str] = {}
    if entry is not None and entry.sha256:
        expected[chosen.filename] = entry.sha256
    if entry is not None and projector and entry.projector_sha256:
        expected[projector.filename] = entry.projector_sha256
    return {
        "repo_id": models.repo_id,
        "revision": models.revision,
        "quant": chosen,
        "projector": projector,
        "name": entry.name if entry else "",
        "expected": expected,
        "license": (entry.license if entry else "") or models.license,
    }


def _pick(models: Any, filename: str, quant: str | None) -> Quant:
    if filename:
        for q in models.quants:
            if filename in (f.filename for f in q.files):
                return q
        raise ModelNotFound(f"{models.repo_id} has no GGUF model file {filename!r}.")
    wanted = quant or models.default_quant
    found = models.quant(wanted) if wanted else (models.quants[0] if models.quants else None)
    if found is None:
        names = ", ".join(q.quantization or q.filename for q in models.quants) or "none"
        what = f"no {wanted} quantization" if wanted else "no GGUF model files"
        raise ModelNotFound(f"{models.repo_id} has {what}. Available: {names}.")
    return found


def _projector_name(entry: Any) -> str:
    return entry.projector_source.rsplit("/", 1)[-1] if entry.projector_source else ""


class DownloadBar(StreamProgress):
    """Draws :class:`DownloadEvent`s on ``stream``: tqdm's bar on a terminal (speed, ETA, the
    state when stalled or verifying), a plain line every ``interval_s`` seconds otherwise (and
    at once when the state changes)."""

    def __call__(self, event: DownloadEvent) -> None:
        if not self.tty:
            self._line(describe(event), key=event.state)
            return
        bar = self._bar_for(event.bytes_total, desc=event.name)
        bar.n = event.bytes_done
        bar.set_postfix_str(_state_note(event), refresh=False)
        bar.refresh()


def _state_note(event: DownloadEvent) -> str:
    if event.state == "stalled":
        wait = f" — retrying in {event.retry_in_s:.0f} s" if event.retry_in_s else ""
        return f"stalled{wait}"
    return "" if event.state == "downloading" else event.state


def describe(event: DownloadEvent) -> str:
    """One line: "NAME  42% 41.3/98.4 MB  12.5 MB/s  5 s left" (or the state and why)."""
    share = f"{100 * event.fraction:3.0f}% " if event.fraction is not None else ""
    sizes = f"{event.bytes_done / 1e6:.1f}/{event.bytes_total / 1e6:.1f} MB"
    line = f"{event.name}  {share}{sizes}"
    if event.state == "downloading" and event.speed_bps <= 0:
        line += "  downloading"  # a job another process runs: its speed is not known here
    elif event.state == "downloading":
        line += f"  {event.speed_bps / 1e6:.1f} MB/s"
        if event.eta_s is not None:
            line += f"  {event.eta_s:.0f} s left"
    elif event.message and event.message.lower().startswith(event.state):
        line += f"  {event.message}"  # "Paused; resume to…", not "paused: Paused; resume to…"
    else:
        line += f"  {_state_note(event)}"
        if event.message and event.state in ("stalled", "failed", "paused"):
            line += f": {event.message}"
    return line


# -- rm and list -----------------------------------------------------------------------------


def _rm(args: argparse.Namespace) -> int:
    from ember.hub.downloads import DownloadQueue

    queue = DownloadQueue()
    try:
        deleted = queue.remove(args.name)
    except ModelNotFound:
        job = next(
            (j for j in queue.jobs() if not j.finished and args.name in (j.job_id, j.name)), None
        )
        if job is None:
            raise
        queue.cancel(job.job_id)
        print(
            json.dumps({"cancelled": job.job_id})
            if wants_json(args)
            else f"Cancelled the download of {job.name}; its partial files were deleted."
        )
        return 0
    if wants_json(args):
        print(json.dumps({"removed": args.name, "deleted": [str(p) for p in deleted]}))
    elif deleted:
        print(f"Removed {args.name}; deleted {', '.join(str(p) for p in deleted)}.")
    else:
        print(f"Removed {args.name} from your models; its file was left where it is.")
    return 0


def unfinished_rows() -> list[dict[str, Any]]:
    """The downloads not finished, for ``ember models list --json``."""
    from ember.hub.downloads import DownloadQueue

    try:
        jobs = DownloadQueue().jobs()
    except (DownloadError, OSError):
        return []
    return [{**asdict(j), "download": True} for j in jobs if not j.finished]


def print_unfinished() -> None:
    """The downloads not finished, under ``ember models list``'s table."""
    rows = unfinished_rows()
    if not rows:
        return
    print("\nDOWNLOADS (resume with `ember models get`, drop with `ember models rm JOB_ID`)")
    for row in rows:
        event = DownloadEvent(**{k: v for k, v in row.items() if k != "download"})
        print(f"{event.job_id:<13} {describe(event)}")
