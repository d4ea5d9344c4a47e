"""Dump a kept eval index and its questions' search results, for offline abstain studies.

Reads an index kept by ``eval_python_docs.py --keep DIR`` (or ``eval_manuals.py --keep DIR``),
runs every question of a QA file through Ember's real search once, and writes
``OUT/chunks.npz`` (ids, vectors, texts, headings, paths, pages of every stored chunk) and
``OUT/questions.json`` (per question: the k=4 result ``retrieve`` grounds on, the depth-10
ranking, the 40 nearest vectors and the 40 best keyword matches). ``abstain_study.py`` and
``embedders.py`` work from these files, so the expensive part (embedding the corpus) happens
once.

    python benchmarks/abstain_dump.py --home /tmp/ember-eval-abstain/py/home \
        --qa benchmarks/qa/python-docs.json --out /tmp/ember-eval-abstain/py-dump
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="the kept EMBER_HOME")
    parser.add_argument("--qa", type=Path, action="append", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--index",
        nargs=2,
        action="append",
        metavar=("ROOT", "LIST"),
        default=[],
        help="first index the files named in LIST (paths relative to ROOT; or ROOT a file)",
    )
    args = parser.parse_args()
    os.environ["EMBER_HOME"] = str(args.home)
    if args.index:
        index(args.home.parent / "docs", args.index)

    import numpy as np

    from ember.knowledge import KnowledgeBase
    from ember.knowledge.retrieval import fts_query
    from ember.paths import ember_paths

    args.out.mkdir(parents=True, exist_ok=True)
    questions: list[dict] = []
    for path in args.qa:
        questions.extend(json.loads(path.read_text(encoding="utf-8")))
    with KnowledgeBase(ember_paths().knowledge_dir) as kb:
        ids = [int(i) for i in kb.vectors.ids()]
        rows = kb.store.chunk_rows(ids)
        ids = [i for i in ids if i in rows]
        vectors = kb.vectors.reconstruct(ids).astype(np.float32)
        np.savez(
            args.out / "chunks.npz",
            ids=np.asarray(ids, dtype=np.int64),
            vectors=vectors,
            texts=np.asarray([rows[i].text for i in ids], dtype=object),
            headings=np.asarray([rows[i].heading or "" for i in ids], dtype=object),
            paths=np.asarray([rows[i].path for i in ids], dtype=object),
            pages=np.asarray([rows[i].page or 0 for i in ids], dtype=np.int64),
            is_toc=np.asarray([rows[i].is_toc for i in ids], dtype=bool),
        )
        out = []
        for entry in questions:
            q = entry["question"]
            result = kb.search(q, None, 4)
            ranked = kb.search(q, None, 10)
            qv = kb.embedder.embed_query(q)
            scores, near = kb.vectors.search(qv, 40)
            keyword = kb.store.keyword_search(fts_query(q), None, 40)
            out.append(
                {
                    **entry,
                    "best": result.best_similarity,
                    "hits4": [h.chunk_id for h in result.hits],
                    "sims4": [h.similarity for h in result.hits],
                    "terms": [list(t) for t in result.terms],
                    "chunk_total": result.chunk_total,
                    "ranked10": [[h.source, h.page, h.chunk_id] for h in ranked.hits],
                    "vec40": [[float(s), int(i)] for s, i in zip(scores, near, strict=True)],
                    "kw40": keyword,
                }
            )
    (args.out / "questions.json").write_text(json.dumps(out), encoding="utf-8")
    print(f"{len(ids)} chunks, {len(out)} questions -> {args.out}")
    return 0


def index(docs: Path, sources: list[list[str]]) -> None:
    """Copy the listed files under ``docs`` and index them as one collection, ``eval``."""
    import shutil

    from ember.knowledge import KnowledgeBase
    from ember.paths import ember_paths

    for root, listing in sources:
        base = Path(root)
        names = (
            [base.name]
            if base.is_file()
            else [
                line.strip()
                for line in Path(listing).read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")
            ]
        )
        for name in names:
            source = base if base.is_file() else base / name
            target = docs / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                shutil.copy2(source, target)
    with KnowledgeBase(ember_paths().knowledge_dir) as kb:
        report = kb.index([docs], "eval")
    print(f"indexed {report.indexed}, unchanged {report.skipped}, failed {len(report.failed)}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    raise SystemExit(main())
