"""Child process for the crash test: index a folder slowly, printing 'ready' once started.

Run as ``python -m tests.support.knowledge_crash_child KB_DIR FOLDER``; the parent kills it with
SIGKILL at a random moment, then checks and resumes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ember.knowledge import KnowledgeBase
from tests.support.tiny_embedder import TinyEmbedder


class SlowTinyEmbedder(TinyEmbedder):
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        time.sleep(0.002 * len(texts))  # ~1.5 s for the test corpus, whatever the batch size
        return super().embed(texts)


def main(kb_dir: str, folder: str) -> int:
    with KnowledgeBase(Path(kb_dir), embedder=SlowTinyEmbedder(), checkpoint_s=0.05) as kb:
        kb.repair()
        print("ready", flush=True)
        kb.index([Path(folder)], "crash")
    print("finished", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
