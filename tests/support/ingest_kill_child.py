"""Victim of the kill -9 loop: open a knowledge base, resume, index a folder; killed at random.

``python -m tests.support.ingest_kill_child KB_DIR FOLDER [--real-embedder]`` prints ``ready`` once
the writer's lock is taken and the index reconciled, then indexes FOLDER into collection "crash".
With the tiny embedder each batch is slowed a little so a kill lands inside the work, not after it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ember.knowledge import KnowledgeBase
from tests.support.tiny_embedder import TinyEmbedder


class PacedTinyEmbedder(TinyEmbedder):
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        time.sleep(0.03 * len(texts))  # ~1 s for the ~30 chunks a run changes
        return super().embed(texts)


def main(argv: list[str]) -> int:
    kb_dir, folder = Path(argv[0]), Path(argv[1])
    if "--real-embedder" in argv:
        from ember.knowledge.embedder import default_embedder

        embedder = default_embedder()
    else:
        embedder = PacedTinyEmbedder()
    with KnowledgeBase(kb_dir, embedder=embedder, checkpoint_s=0.05) as kb:
        kb.repair()
        print("ready", flush=True)
        kb.index([folder], "crash")
    print("finished", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
