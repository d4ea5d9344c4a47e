"""Query latency of hybrid search (query embedding + FAISS + FTS5 + fusion) at 10k-1M chunks, and
recall@10 of the approximate (HNSW) index against exact search.

Chunk texts are real sentences from /usr/share/doc (so FTS5 has real work); vectors are random
unit vectors (the scale is what matters here). Prints a table, then one JSON object as the last
stdout line. ``--quick`` (10k and 100k) finishes within about a minute.

    python benchmarks/retrieval.py --quick
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

QUERIES = (
    "how do I configure the network proxy",
    "what license covers this package",
    "where are the configuration files stored",
    "how to report a bug",
    "which options change the output format",
    "is there a way to run it without root",
    "how do I upgrade from an older version",
    "what does the error about missing keys mean",
    "how to enable compression",
    "where is the documentation for the command line",
)


def sentences(limit: int) -> list[str]:
    found: list[str] = []
    for path in sorted(Path("/usr/share/doc").rglob("*")):
        if len(found) >= limit:
            break
        if not path.is_file() or path.suffix not in ("", ".txt", ".md") or path.is_symlink():
            continue
        try:
            text = path.read_text(encoding="utf-8")[:50_000]
        except (OSError, UnicodeDecodeError):
            continue
        for piece in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
            if 60 <= len(piece) <= 400:
                found.append(piece)
    return found or ["Configure the proxy in the settings file before the first run."]


def fill(kb: object, count: int, texts: list[str], dimension: int) -> None:
    """``count`` chunks (1000 per document) with real text and random unit vectors."""
    import numpy as np

    from ember.knowledge.chunking import Chunk

    rng = np.random.default_rng(0)
    store, vectors = kb.store, kb.vectors  # type: ignore[attr-defined]
    per_doc = 1000
    for doc in range(0, count, per_doc):
        n = min(per_doc, count - doc)
        chunk_texts = [f"{texts[(doc + i) % len(texts)]} (part {doc + i})" for i in range(n)]
        chunks = [
            Chunk(i, t, 0, 0, len(t), i // 20 + 1, ("Doc", f"S{i // 50}"))
            for i, t in enumerate(chunk_texts)
        ]
        document_id, ids, _ = store.replace_document(
            "bench",
            f"/bench/doc{doc // per_doc}.txt",
            kind="text",
            encoding="utf-8",
            title=None,
            size=1,
            mtime_ns=1,
            content_hash=str(doc),
            chunks=chunks,
            embed_texts=chunk_texts,
        )
        vecs = rng.standard_normal((n, dimension)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        vectors.add(np.asarray(ids, dtype=np.int64), vecs)
        store.mark_done([document_id])
    vectors.save()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def recall_at_10(count: int, dimension: int, queries: int) -> tuple[float, float]:
    """Recall@10 of HNSW vs exact on ``count`` random unit vectors, and HNSW p50 latency (ms)."""
    import numpy as np

    from ember.knowledge.vectors import VectorIndex

    rng = np.random.default_rng(1)
    data = rng.standard_normal((count, dimension)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    index = VectorIndex(Path(tempfile.mkdtemp()) / "r.faiss", dimension, ann_threshold=1)
    index.add(np.arange(count), data)
    # Queries near real data points (as real questions are near their answers).
    picks = data[rng.integers(0, count, queries)] + 0.5 * rng.standard_normal(
        (queries, dimension)
    ).astype(np.float32) / np.sqrt(dimension)
    picks /= np.linalg.norm(picks, axis=1, keepdims=True)
    index.search(picks[0], 10)  # build
    hits, times = 0, []
    for query in picks:
        _, exact = index.search(query, 10, exact=True)
        began = time.perf_counter()
        _, approx = index.search(query, 10)
        times.append((time.perf_counter() - began) * 1000)
        hits += len(set(exact.tolist()) & set(approx.tolist()))
    return hits / (10 * queries), percentile(times, 0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = (10_000, 100_000) if args.quick else (10_000, 100_000, 1_000_000)
    rounds = 3 if args.quick else 10

    import ember  # noqa: F401
    from ember.knowledge import KnowledgeBase
    from ember.knowledge.embedder import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    embedder.load()
    texts = sentences(20_000)
    rows, results = [], []
    for size in sizes:
        work = Path(tempfile.mkdtemp(prefix="ember-bench-retrieval-"))
        try:
            with KnowledgeBase(work / "kb", embedder=embedder) as kb:
                kb.repair()
                began = time.perf_counter()
                fill(kb, size, texts, embedder.dimension)
                build_s = time.perf_counter() - began
                kb.search(QUERIES[0])  # warm: FTS pages, HNSW build past the threshold
                latencies = []
                for _ in range(rounds):
                    for query in QUERIES:
                        began = time.perf_counter()
                        kb.search(query, k=5)
                        latencies.append((time.perf_counter() - began) * 1000)
                approximate = kb.vectors.approximate
        finally:
            shutil.rmtree(work, ignore_errors=True)
        p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
        results.append(
            {
                "chunks": size,
                "p50_ms": round(p50, 2),
                "p95_ms": round(p95, 2),
                "approximate": approximate,
            }
        )
        rows.append(
            (
                f"{size:,}",
                f"{p50:.1f}",
                f"{p95:.1f}",
                "hnsw" if approximate else "exact",
                f"{build_s:.1f}",
            )
        )
    recall_n = 20_000 if args.quick else 200_000
    recall, ann_ms = recall_at_10(recall_n, embedder.dimension, 100)
    print(f"{'chunks':>10} {'p50 ms':>8} {'p95 ms':>8} {'index':>6} {'fill s':>7}")
    for row in rows:
        print(f"{row[0]:>10} {row[1]:>8} {row[2]:>8} {row[3]:>6} {row[4]:>7}")
    print(
        f"recall@10 of HNSW vs exact on {recall_n:,} vectors: {recall:.3f} (HNSW p50 {ann_ms:.2f} ms)"
    )
    largest = results[-1]
    summary = {
        "p50_ms": largest["p50_ms"],
        "p95_ms": largest["p95_ms"],
        "chunks": largest["chunks"],
        "sizes": results,
        "recall_at_10": round(recall, 4),
        "recall_vectors": recall_n,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    raise SystemExit(main())
