"""Chunk settings tried on the DEV halves of the manuals eval (``eval_manuals.py``).

Each config indexes the same collection (gnuplot.pdf + the git-docs pages) with Ember's pipeline
under ``DIR/<config>``, with other chunk options and/or another embedded-text prefix patched in,
and prints hit@1 / hit@5 / MRR@10 of the dev questions only (the test halves are never read).
Vectors are cached by embedded text in ``DIR/vectors.npz`` so unchanged chunks cost nothing.

``current`` is Ember as it is; the others patch in a variant (``base``: the prefix before the
repeated-heading rule). Configs without "outline" in their name measured the pages without
headings when they were run; the parser now applies the outline itself, so re-running them today
includes it. The figures are in ``eval_manuals.py``'s docstring. ``--final`` adds the test
halves: only once a config is chosen.

    python benchmarks/chunk_sweep.py --keep /tmp/ember-eval-chunk current t128
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


class CachedEmbedder:
    """Ember's embedder with its document vectors cached by text (queries are not cached)."""

    def __init__(self, inner: Any, path: Path) -> None:
        import numpy as np

        self.inner, self.path = inner, path
        self.name, self.dimension, self.max_tokens = inner.name, inner.dimension, inner.max_tokens
        self.vectors: dict[str, Any] = {}
        if path.exists():
            data = np.load(path)
            self.vectors = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
        self.new = 0

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.inner.count_tokens(texts)

    def embed(self, texts: Sequence[str]) -> Any:
        import numpy as np

        keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
        todo = [(k, t) for k, t in zip(keys, texts, strict=True) if k not in self.vectors]
        if todo:
            vectors = self.inner.embed([t for _, t in todo])
            self.vectors.update(zip([k for k, _ in todo], vectors, strict=True))
            self.new += len(todo)
        return np.stack([self.vectors[k] for k in keys]).astype(np.float32)

    def embed_query(self, text: str) -> Any:
        return self.inner.embed_query(text)

    def save(self) -> None:
        import numpy as np

        keys = list(self.vectors)
        np.savez(self.path, keys=np.array(keys), vectors=np.stack([self.vectors[k] for k in keys]))


def _prefix_variant(mode: str):
    from ember.knowledge import chunking

    original = chunking.embedding_text

    def embedding_text(chunk, title=None):
        if mode == "none":
            return chunk.text
        if mode == "dedup":  # drop heading levels that repeat the title ("x(1) > x(1) Manual")
            path = list(chunk.heading_path)
            if title and path and path[0].startswith(title.split()[0]):
                path = path[1:]
            parts = [p for p in (title, chunking.HEADING_SEPARATOR.join(path)) if p]
            prefix = chunking.HEADING_SEPARATOR.join(parts)[: chunking._MAX_PREFIX_CHARS]
            return f"{prefix}\n{chunk.text}" if prefix else chunk.text
        if mode == "legacy":  # the title left out only when it is the top heading itself
            parts = [p for p in (title, chunk.heading) if p]
            if title and chunk.heading_path and chunk.heading_path[0] == title:
                parts = [chunk.heading or ""]
            prefix = chunking.HEADING_SEPARATOR.join(parts)[: chunking._MAX_PREFIX_CHARS]
            return f"{prefix}\n{chunk.text}" if prefix else chunk.text
        return original(chunk, title)

    return embedding_text


CONFIGS: dict[str, dict[str, Any]] = {
    "base": {"prefix": "legacy"},
    "current": {},
    "noprefix": {"prefix": "none"},
    "dedup": {"prefix": "dedup"},
    "sentences": {"sentences": True},
    "t128": {"target": 128, "overlap": 24},
    "t64": {"target": 64, "overlap": 12},
    "o24": {"overlap": 24},
    "outline": {"outline": True, "prefix": "legacy"},
    "outline-sentences": {"outline": True, "sentences": True},
    "outline-dedup": {"outline": True, "prefix": "dedup"},
}


def _outline_parser(path: Path) -> Any:
    """Ember's parser in this process, with a PDF's outline as its pages' headings."""
    from ember.knowledge.detect import kind_from_name
    from ember.knowledge.parsers import parse_in_this_process

    kind = kind_from_name(path) or "text"
    document = parse_in_this_process(kind, path)
    if kind == "pdf":
        import pypdfium2 as pdfium

        from ember.knowledge.parsers.pdf_outline import read_outline, with_outline

        document = with_outline(document, read_outline(pdfium.PdfDocument(str(path))))
    return document


def run_config(
    work: Path, name: str, cfg: dict[str, Any], questions: list, docs: Path, splits: Sequence[str]
) -> dict:
    import eval_manuals as em
    from ember.knowledge import KnowledgeBase, chunking, read_ahead
    from ember.knowledge.chunking import ChunkingOptions
    from ember.knowledge.embedder import default_embedder

    inner = default_embedder()
    embedder = CachedEmbedder(inner, work / "vectors.npz")
    variant = _prefix_variant(cfg.get("prefix", "base"))
    chunking.embedding_text = read_ahead.embedding_text = variant
    sentence = chunking._SENTENCE
    if cfg.get("sentences"):  # a line end no longer ends a sentence
        chunking._SENTENCE = re.compile(
            sentence.pattern.replace("|\\n|\\Z)", "|\\n\\s*\\n|\\Z)"), re.S
        )
    options = ChunkingOptions(
        target_tokens=cfg.get("target", 80),
        overlap_tokens=cfg.get("overlap", 12),
        max_tokens=inner.max_tokens - 2,
    )
    knowledge = work / name
    parse = _outline_parser if cfg.get("outline") else None
    with KnowledgeBase(knowledge, embedder=embedder, chunking=options, parse=parse) as kb:
        report = kb.index([docs], em.COLLECTION)
        assert not report.failed, report.failed[:1]
        chunks = sum(c.chunks for c in kb.collections() if c.name == em.COLLECTION)
    embedder.save()
    chunking._SENTENCE = sentence
    with KnowledgeBase(knowledge, embedder=embedder) as kb:
        rankings = [
            [(h.source, h.page) for h in kb.search(q.item.question, [em.COLLECTION], em.DEPTH).hits]
            for q in questions
        ]
    found = em.ranks(questions, rankings)
    table = em.breakdown(questions, found)
    return {
        "config": name,
        "chunks": chunks,
        "embedded_new": embedder.new,
        **{f"{c} {s}": table[c][s] for c in em.CORPORA for s in splits},
    }


def main() -> int:
    import eval_manuals as em

    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", type=Path, required=True)
    parser.add_argument("configs", nargs="+", choices=sorted(CONFIGS))
    parser.add_argument(
        "--final", action="store_true", help="also the test halves (once a config is chosen)"
    )
    args = parser.parse_args()
    questions = [
        q
        for q in em.load_questions(
            {"gnuplot": em.QA_DIR / "gnuplot.json", "git-docs": em.QA_DIR / "git-docs.json"}
        )
        if args.final or q.split == "dev"  # the test halves are read only with --final
    ]
    splits = ("dev", "test") if args.final else ("dev",)
    docs = em.stage_documents(args.keep, em.list_files(em.QA_DIR / "git-docs.files"))
    for name in args.configs:
        print(
            json.dumps(run_config(args.keep, name, CONFIGS[name], questions, docs, splits)),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("EMBER_HOME", "/tmp/ember-eval-chunk-home")
    raise SystemExit(main())
