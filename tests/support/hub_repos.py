"""Extra repositories for the loopback hub, made from the real model files (for search/info tests).

- ``MULTI``: SmolLM2 as Q4_K_M, Gemma 3 270M as Q8_0, a split "F16" in a folder (SmolLM2's Q4_1
  tensors as a real three-part split GGUF, :func:`tests.support.split_gguf.smollm2_split`: each
  part a GGUF with its own tensors, part 1 with the metadata; the name only groups the parts),
  a vision projector (the first MiB of SmolLM2 under an ``mmproj-`` name) and a README;
- ``GATED``: SmolLM2 behind the server's token;
- ``CATALOG_REPO``: a repository ``models/catalog.toml`` names (so it is "recommended"), and a
  more-downloaded ``someone/qwen-fan-GGUF`` it must still come before.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.hf_hub_server import HubTestServer, add_real_models
from tests.support.real_models import (
    GEMMA3_SHA256,
    SMOLLM2_SHA256,
    gemma3_gguf,
    smollm2_gguf,
)
from tests.support.split_gguf import smollm2_split

MULTI = "test-org/Multi-Quant-GGUF"
GATED = "test-org/Gated-GGUF"
CATALOG_REPO = "Qwen/Qwen2.5-1.5B-Instruct-GGUF"
FAN_REPO = "someone/qwen-fan-GGUF"


def _cut(source: Path, target: Path, start: int, length: int) -> Path:
    with source.open("rb") as f:
        f.seek(start)
        target.write_bytes(f.read(length))
    return target


def add_test_repos(server: HubTestServer, folder: Path) -> None:
    """Serve the two real models under their own repositories plus the repositories above;
    ``folder`` receives the cut files."""
    smol, gemma = smollm2_gguf(), gemma3_gguf()
    add_real_models(server)
    server.add_file(MULTI, smol, "multi-Q4_K_M.gguf", sha256=SMOLLM2_SHA256, license="mit")
    server.add_file(MULTI, gemma, "multi-Q8_0.gguf", sha256=GEMMA3_SHA256)
    for n, part in enumerate(smollm2_split(), 1):
        server.add_file(MULTI, part, f"F16/multi-F16-0000{n}-of-00003.gguf")
    server.add_file(MULTI, _cut(smol, folder / "mmproj", 0, 1 << 20), "mmproj-multi-f16.gguf")
    server.add_file(MULTI, _cut(smol, folder / "readme", 0, 100), "README.md")
    server.add_file(GATED, smol, "gated-Q4_1.gguf", sha256=SMOLLM2_SHA256, gated=True)
    server.add_file(CATALOG_REPO, smol, "qwen2.5-1.5b-instruct-q4_k_m.gguf", downloads=10)
    server.add_file(FAN_REPO, smol, "x-Q4_K_M.gguf", downloads=99_999)
