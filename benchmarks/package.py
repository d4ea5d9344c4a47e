"""The installable Ember: bundle, tarball and .deb sizes, and the bundle's start vs the venv's.

    python benchmarks/package.py [--quick] [--dist DIR] [--runs N]

Reads what ``make package`` wrote under ``--dist`` (default ``dist/``); builds nothing.

* ``bundle_bytes``: the unpacked one-folder bundle ``DIST/ember/`` (the ``ember`` executable, with
  the Python code archived inside it, and ``_internal/``), the sum of its regular files' sizes
  (symbolic links count nothing; ``bundle_links`` says how many there are).
* ``tarball_bytes``: ``DIST/ember-<version>-linux-x86_64.tar.gz``; ``deb_bytes``:
  ``DIST/ember_<version>_amd64.deb`` (``<version>``: pyproject's; null when the file is absent).
* ``parts``: bytes per part of the bundle. Model files (``.gguf``, ``.onnx``, ``.safetensors``)
  count as "models" wherever they lie; every other file goes by its top-level entry of
  ``_internal/``, grouped (Qt, onnxruntime, llama.cpp, Python, numpy/FAISS, OpenCV, ...); an
  entry no group names is its own part. The executable is "launcher + Python code".
* ``start_bundle_s`` / ``start_venv_s``: wall-clock seconds from spawning ``DIST/ember/ember`` /
  the venv's ``ember`` (beside this Python, or ``--venv-ember``) to the window's first paint, with
  ``EMBER_STARTUP_PROBE=1 QT_QPA_PLATFORM=offscreen`` (the app prints one JSON line at its first
  paint and closes: ember.ui.app). Each run is a new process with a new, empty ``EMBER_HOME``;
  the two alternate, the order swapping every round. The first round is reported apart
  (``first_start_*_s``: it may read the files from disk; the later runs find them in the page
  cache, so these are cold starts of the process, not of the disk). Medians of the later rounds.
* ``start_ratio`` = ``start_bundle_s`` / ``start_venv_s``; goal <= 1.2. ``start_cpu_ratio``: the
  same for the CPU seconds the process had used by its first paint (steadier on a busy machine).
  ``heavy_modules_at_window``: what the bundle had imported of torch, llama_cpp, faiss, ... by then.

The machine's load average is printed around the runs: on a shared machine the times move with it.
Prints a table, then one JSON object as the last stdout line.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START_GOAL = 1.2
MODEL_SUFFIXES = (".gguf", ".onnx", ".safetensors")
MODELS = "models (chat GGUF, embedder ONNX)"
LAUNCHER = "launcher + Python code"
TABLE_PARTS = 12  # the largest parts in the table; the JSON has them all

# Top-level entries of _internal/ (lower-cased, fnmatch patterns) -> the part they belong to.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Qt (PySide6, shiboken6)", ("pyside6*", "shiboken6*", "libqt6*", "libpyside6*")),
    ("onnxruntime", ("onnxruntime*",)),
    ("llama.cpp (llama_cpp)", ("llama_cpp*", "libllama*", "libggml*", "libmtmd*")),
    ("tokenizers", ("tokenizers*",)),
    (
        "numpy, FAISS",
        ("numpy*", "faiss*", "libfaiss*", "lib*openblas*", "libgfortran*", "libquadmath*"),
    ),
    ("OpenCV", ("cv2*", "opencv*")),
    ("OCR (rapidocr, shapely, pyclipper)", ("rapidocr*", "shapely*", "pyclipper*")),
    ("Pillow", ("pil", "pillow*")),
    ("PDF (pypdfium2)", ("pypdfium2*",)),
    (
        "Python (runtime, standard library)",
        ("base_library.zip", "libpython*", "lib-dynload", "python3*", "pyexpat*", "_*.so"),
    ),
    ("system libraries", ("lib*.so*",)),
)


def part_of(entry: str) -> str:
    """The part of the bundle a top-level entry of ``_internal/`` belongs to (its own name when no
    group claims it, less a trailing ``.libs`` or ``.dist-info``)."""
    name = entry.lower()
    for part, patterns in GROUPS:
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
            return part
    for suffix in (".libs", ".dist-info", ".data"):
        name = name.removesuffix(suffix)
    return name.split("-", 1)[0] if entry.endswith(".dist-info") else name


def bundle_sizes(bundle: Path) -> tuple[dict[str, int], int, int]:
    """``({part: bytes}, total bytes, symbolic links)`` of a one-folder bundle: regular files only
    (links are not followed). Files directly beside the executable count as the launcher."""
    parts: dict[str, int] = {}
    links = 0
    internal = bundle / "_internal"
    for folder, dirs, files in os.walk(bundle):
        here = Path(folder)
        links += sum(1 for d in dirs if (here / d).is_symlink())
        for name in files:
            path = here / name
            if path.is_symlink():
                links += 1
                continue
            size = path.stat().st_size
            if name.lower().endswith(MODEL_SUFFIXES):
                part = MODELS
            elif here == bundle or internal not in path.parents:
                part = LAUNCHER
            else:
                part = part_of(path.relative_to(internal).parts[0])
            parts[part] = parts.get(part, 0) + size
    return parts, sum(parts.values()), links


def start_summary(
    bundle: Sequence[tuple[float, float]], venv: Sequence[tuple[float, float]]
) -> dict[str, object]:
    """Medians and ratios from ``(wall s, CPU s)`` per run, in run order; the first run of each
    is reported apart and left out of the medians (unless it is the only one)."""
    if not bundle or not venv:
        raise ValueError("no start-up runs")
    later_b, later_v = list(bundle[1:]) or list(bundle), list(venv[1:]) or list(venv)
    median = statistics.median
    wall_b, wall_v = median(r[0] for r in later_b), median(r[0] for r in later_v)
    cpu_b, cpu_v = median(r[1] for r in later_b), median(r[1] for r in later_v)
    return {
        "start_bundle_s": round(wall_b, 3),
        "start_venv_s": round(wall_v, 3),
        "start_ratio": round(wall_b / wall_v, 2),
        "start_cpu_ratio": round(cpu_b / cpu_v, 2),
        "first_start_bundle_s": round(bundle[0][0], 3),
        "first_start_venv_s": round(venv[0][0], 3),
        "start_runs": len(later_b),
        "start_goal_met": wall_b / wall_v <= START_GOAL,
    }


def _version() -> str:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return str(tomllib.load(f)["project"]["version"])


def _start(exe: Path, home: Path) -> tuple[float, float, list[str]]:
    """Spawn -> first paint in wall seconds, the CPU seconds used by then, heavy modules."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(EMBER_HOME=str(home), EMBER_STARTUP_PROBE="1", QT_QPA_PLATFORM="offscreen")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed venv has its bytecode compiled
    started = time.time()
    done = subprocess.run(
        [str(exe)], env=env, cwd=home, capture_output=True, text=True, timeout=180
    )
    lines = [x for x in done.stdout.splitlines() if x.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(
            f"{exe} did not reach its first paint (exit {done.returncode}):\n{done.stderr[-2000:]}"
        )
    shown = json.loads(lines[-1])
    return shown["shown_at"] - started, shown["cpu_s"], list(shown.get("heavy", []))


def measure_starts(bundle_exe: Path, venv_exe: Path, rounds: int, tmp: Path) -> dict[str, object]:
    """``rounds`` alternating starts of each (order swapped every round), a new EMBER_HOME each."""
    runs: dict[str, list[tuple[float, float]]] = {"bundle": [], "venv": []}
    heavy: list[str] = []
    exes = {"bundle": bundle_exe, "venv": venv_exe}
    for number in range(rounds):
        order = ("bundle", "venv") if number % 2 == 0 else ("venv", "bundle")
        for which in order:
            wall, cpu, modules = _start(exes[which], Path(tempfile.mkdtemp(dir=tmp)))
            runs[which].append((wall, cpu))
            if which == "bundle":
                heavy = modules
    return {**start_summary(runs["bundle"], runs["venv"]), "heavy_modules_at_window": heavy}


def _size_or_none(path: Path) -> int | None:
    return path.stat().st_size if path.is_file() else None


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _mb(size: int | None) -> str:
    return "absent" if size is None else f"{size / 1e6:,.1f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 start-up rounds instead of 11")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="make package's output")
    parser.add_argument("--runs", type=int, help="start-up rounds, the first one reported apart")
    parser.add_argument(
        "--venv-ember",
        type=Path,
        default=Path(sys.executable).parent / "ember",
        help="the venv's ember (default: beside this Python)",
    )
    args = parser.parse_args(argv)
    args.dist = args.dist.resolve()  # the runs start in other folders
    bundle = args.dist / "ember"
    exe = bundle / "ember"
    if not (exe.is_file() and os.access(exe, os.X_OK)):
        raise SystemExit(f"no bundle at {bundle} (no executable {exe}): run make package first")
    if not args.venv_ember.is_file():
        raise SystemExit(f"no venv ember at {args.venv_ember}: run make setup, or --venv-ember")
    rounds = args.runs or (3 if args.quick else 11)
    version = _version()
    parts, total, links = bundle_sizes(bundle)
    tarball = _size_or_none(args.dist / f"ember-{version}-linux-x86_64.tar.gz")
    deb = _size_or_none(args.dist / f"ember_{version}_amd64.deb")
    ranked = sorted(parts.items(), key=lambda kv: -kv[1])
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="ember-bench-package-") as tmp:
        starts = measure_starts(exe, args.venv_ember, rounds, Path(tmp))
    load_after = _load()
    results: dict[str, object] = {
        "bundle_bytes": total,
        "tarball_bytes": tarball,
        "deb_bytes": deb,
        **starts,
        "bundle_links": links,
        "parts": dict(ranked),
        "version": version,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "cpus": os.cpu_count(),
        "quick": args.quick,
        "dist": str(args.dist),
    }
    shown = ranked[:TABLE_PARTS]
    if len(ranked) > TABLE_PARTS:
        rest = sum(size for _, size in ranked[TABLE_PARTS:])
        shown.append((f"{len(ranked) - TABLE_PARTS} other parts", rest))
    runs = f"median of {starts['start_runs']}; first run"
    rows = [
        ("bundle, unpacked", _mb(total), str(bundle)),
        ("tarball", _mb(tarball), f"ember-{version}-linux-x86_64.tar.gz"),
        (".deb", _mb(deb), f"ember_{version}_amd64.deb"),
        *((f"  {part}", _mb(size), f"{size / total:.0%} of the bundle") for part, size in shown),
        (
            "first paint, bundle",
            f"{starts['start_bundle_s']} s",
            f"{runs} {starts['first_start_bundle_s']} s",
        ),
        (
            "first paint, venv",
            f"{starts['start_venv_s']} s",
            f"{runs} {starts['first_start_venv_s']} s",
        ),
        ("start ratio", f"{starts['start_ratio']}x", f"bundle / venv; goal <= {START_GOAL}x"),
        ("start CPU ratio", f"{starts['start_cpu_ratio']}x", "CPU seconds to first paint"),
        (
            "load average (1/5/15 min)",
            " ".join(map(str, load_after)),
            f"before: {' '.join(map(str, load_before))}; {os.cpu_count()} CPUs",
        ),
    ]
    width = max(len(row[0]) for row in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>12}  {note}")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
