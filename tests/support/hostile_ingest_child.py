"""Index a folder of hostile files in a child process and report what happened, with peak memory.

``python -m tests.support.hostile_ingest_child FOLDER [EXTRA_INPUT ...]`` indexes into the
knowledge base under ``$EMBER_HOME`` and prints one JSON object: the ingest report (indexed
files, failures with reasons, warnings), wall time, and the peak RSS of this process and of its parser
workers.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ember.knowledge import KnowledgeBase
from tests.support.tiny_embedder import TinyEmbedder


class HashEmbedder(TinyEmbedder):
    """One pseudo-random unit vector per distinct text: embedding costs nothing, so the run
    measures Ember's own parsing, chunking and bookkeeping on the hostile corpus."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            seed = zlib.crc32(text.encode("utf-8", "surrogatepass"))
            vector = np.random.default_rng(seed).standard_normal(self.dimension)
            out[row] = vector / np.linalg.norm(vector)
        return out


def main(argv: list[str]) -> int:
    inputs = [Path(p) for p in argv]
    started = time.perf_counter()
    with KnowledgeBase(embedder=HashEmbedder()) as kb:
        report = kb.index(inputs, "hostile")
        done = sorted(Path(d.path).name for d in kb.documents("hostile") if d.state == "done")
    elapsed = time.perf_counter() - started
    warnings: dict[str, list[str]] = {}
    for notice in report.warnings:
        warnings.setdefault(Path(notice.path).name, []).append(notice.message)
    print(
        json.dumps(
            {
                "failed": {Path(f.path).name: f.reason for f in report.failed},
                "warnings": warnings,
                "done": done,
                "chunks": report.chunks,
                "elapsed_s": elapsed,
                "stages": report.stages,
                # VmHWM: ru_maxrss of SELF carries the forking parent's peak over exec.
                "self_rss_mb": _peak_rss_kb() / 1024,
                "workers_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            }
        ),
        flush=True,
    )
    return 0


def _peak_rss_kb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
