"""Query latency of hybrid search (query embedding + FAISS + FTS5 + fusion) at 10k, 100k and 1M
chunks, and recall@10 of the approximate (IVF) index against exact search where it is used.

Chunk texts are real sentences from /usr/share/doc, reused to reach the size (so FTS5 has real
work, and common words are as common as in real text). Queries are real questions, embedded by
the real MiniLM on every search (no cache): the latency is what a user waits for.

Chunk vectors are synthetic, because embedding 1M chunks here would take a day. They are
clustered the way sentence embeddings are: 64 broad topics, documents of 100 chunks around a
point of a topic (cosine ~0.55 between chunks of one document, ~0.15 within a topic, ~0 across).
Recall is measured with queries at cosine ~0.6 from a chunk, as a paraphrased question is from
its answer. ``--random-vectors`` uses isotropic random unit vectors instead: the worst case,
with no neighbourhoods at all, where every approximate index loses recall.

Prints a table, then one JSON object as the last stdout line. ``--quick`` (10k and 100k, plus
recall of an IVF index forced at 100k) finishes within a minute; the full run takes minutes.

    python benchmarks/retrieval.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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
CHUNKS_PER_CLUSTER = 100
TOPICS = 64


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


def _unit(a: Any) -> Any:
    import numpy as np

    return (a / np.linalg.norm(a, axis=-1, keepdims=True)).astype(np.float32)


class VectorSource:
    """Deterministic synthetic chunk vectors, row ``i`` always the same for a given seed."""

    def __init__(self, count: int, dimension: int, *, random: bool, seed: int = 0) -> None:
        import numpy as np

        self.dimension = dimension
        self.random = random
        self.rng = np.random.default_rng(seed)
        clusters = count // CHUNKS_PER_CLUSTER + 1
        topics = _unit(self.rng.standard_normal((TOPICS, dimension)))
        self.centres = _unit(
            0.5 * topics[self.rng.integers(0, TOPICS, clusters)]
            + 0.866 * _unit(self.rng.standard_normal((clusters, dimension)))
        )

    def rows(self, start: int, n: int) -> Any:
        import numpy as np

        noise = _unit(self.rng.standard_normal((n, self.dimension)))
        if self.random:
            return noise
        owner = np.arange(start, start + n) // CHUNKS_PER_CLUSTER
        return _unit(0.75 * self.centres[owner] + 0.66 * noise)


def fill(kb: Any, count: int, texts: list[str], source: VectorSource) -> None:
    """``count`` chunks (1000 per document) with real text and synthetic vectors."""
    import numpy as np

    from ember.knowledge.chunking import Chunk

    store, vectors = kb.store, kb.vectors
    per_doc = 1000
    for doc in range(0, count, per_doc):
        n = min(per_doc, count - doc)
        chunk_texts = [f"{texts[(doc + i) % len(texts)]} (part {doc + i})" for i in range(n)]
        chunks = [
            Chunk(i, t, 0, 0, len(t), i // 20 + 1, ("Doc", f"S{i // 50}"))
            for i, t in enumerate(chunk_texts)
        ]
        # A real file per document: search checks that a source is still what was indexed.
        path = kb.directory / "bench-docs" / f"doc{doc // per_doc}.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_text(chunk_texts[0], encoding="utf-8")
        st = path.stat()
        document_id, ids, _ = store.replace_document(
            "bench",
            str(path),
            kind="text",
            encoding="utf-8",
            title=None,
            size=st.st_size,
            mtime_ns=st.st_mtime_ns,
            content_hash=str(doc),
            chunks=chunks,
            embed_texts=chunk_texts,
        )
        vectors.add(np.asarray(ids, dtype=np.int64), source.rows(doc, n))
        store.mark_done([document_id])
    vectors.save()  # past the threshold, the writer builds the IVF index here


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def recall_at_10(index: Any, source: VectorSource, queries: int) -> tuple[float, float]:
    """Recall@10 of ``index``'s approximate search vs its exact one, and approximate p50 (ms).

    Each query sits at cosine ~0.6 from a stored chunk (a paraphrase of its answer).
    """
    import numpy as np

    rng = np.random.default_rng(1)
    total = len(index)
    picks = rng.integers(0, total, queries)
    stored = np.stack([index.index.reconstruct(int(i)) for i in index.ids()[picks]])
    noise = _unit(rng.standard_normal((queries, source.dimension)))
    probes = _unit(stored + 1.33 * noise)
    hits, times = 0, []
    for query in probes:
        _, exact = index.search(query, 10, exact=True)
        began = time.perf_counter()
        _, approx = index.search(query, 10)
        times.append((time.perf_counter() - began) * 1000)
        hits += len(set(exact.tolist()) & set(approx.tolist()))
    return hits / (10 * queries), percentile(times, 0.5)


def forced_recall(count: int, dimension: int, *, random: bool, queries: int) -> dict[str, Any]:
    """Recall of an IVF index built over ``count`` vectors (below the usual threshold)."""
    import numpy as np

    from ember.knowledge.vectors import VectorIndex

    work = Path(tempfile.mkdtemp(prefix="ember-bench-ivf-"))
    try:
        source = VectorSource(count, dimension, random=random, seed=2)
        index = VectorIndex(work / "v.faiss", dimension, ann_threshold=1)
        for start in range(0, count, 50_000):
            n = min(50_000, count - start)
            index.add(np.arange(start, start + n), source.rows(start, n))
        began = time.perf_counter()
        index.save()
        build_s = time.perf_counter() - began
        recall, ann_ms = recall_at_10(index, source, queries)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "chunks": count,
        "recall_at_10": round(recall, 4),
        "ivf_p50_ms": round(ann_ms, 2),
        "build_s": round(build_s, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k only (~1 minute)")
    parser.add_argument(
        "--random-vectors", action="store_true", help="isotropic random vectors (worst case)"
    )
    args = parser.parse_args()
    sizes = (10_000, 100_000) if args.quick else (10_000, 100_000, 1_000_000)
    rounds = 3 if args.quick else 10

    import ember  # noqa: F401
    from ember.knowledge import KnowledgeBase
    from ember.knowledge.embedder import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    embedder.load()
    dimension = embedder.dimension
    texts = sentences(20_000)
    results: list[dict[str, Any]] = []
    for size in sizes:
        work = Path(tempfile.mkdtemp(prefix="ember-bench-retrieval-"))
        try:
            with KnowledgeBase(work / "kb", embedder=embedder) as kb:
                kb.repair()
                source = VectorSource(size, dimension, random=args.random_vectors)
                began = time.perf_counter()
                fill(kb, size, texts, source)
                fill_s = time.perf_counter() - began
                kb.search(QUERIES[0])  # warm: SQLite pages, the query thread
                latencies = []
                for _ in range(rounds):
                    for query in QUERIES:
                        began = time.perf_counter()
                        kb.search(query, k=5)
                        latencies.append((time.perf_counter() - began) * 1000)
                row: dict[str, Any] = {
                    "chunks": size,
                    "p50_ms": round(percentile(latencies, 0.5), 2),
                    "p95_ms": round(percentile(latencies, 0.95), 2),
                    "index": "ivf" if kb.vectors.approximate and kb.vectors.ann_ready else "exact",
                    "fill_s": round(fill_s, 1),
                }
                if row["index"] == "ivf":
                    recall, ann_ms = recall_at_10(kb.vectors, source, 100)
                    row["recall_at_10"] = round(recall, 4)
                    row["ivf_p50_ms"] = round(ann_ms, 2)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        results.append(row)
    forced = None
    if not any("recall_at_10" in r for r in results):
        forced = forced_recall(100_000, dimension, random=args.random_vectors, queries=100)

    print(
        f"{'chunks':>10} {'p50 ms':>8} {'p95 ms':>8} {'index':>6} {'fill s':>7} {'recall@10':>10}"
    )
    for r in results:
        recall_text = f"{r['recall_at_10']:.3f}" if "recall_at_10" in r else "-"
        print(
            f"{r['chunks']:>10,} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['index']:>6} "
            f"{r['fill_s']:>7.1f} {recall_text:>10}"
        )
    if forced is not None:
        print(
            f"IVF forced at {forced['chunks']:,} chunks: recall@10 {forced['recall_at_10']:.3f}, "
            f"p50 {forced['ivf_p50_ms']:.2f} ms, built in {forced['build_s']:.1f} s"
        )
    load = [round(x, 2) for x in os.getloadavg()]
    print(f"vectors: {'random (worst case)' if args.random_vectors else 'clustered'}; load {load}")
    largest = results[-1]
    summary: dict[str, Any] = {
        "p50_ms": largest["p50_ms"],
        "p95_ms": largest["p95_ms"],
        "chunks": largest["chunks"],
        "sizes": results,
        "vectors": "random" if args.random_vectors else "clustered",
        "load_avg": load,
    }
    approximate = [r for r in results if "recall_at_10" in r] or ([forced] if forced else [])
    if approximate:
        summary["recall_at_10"] = approximate[-1]["recall_at_10"]
        summary["recall_chunks"] = approximate[-1]["chunks"]
    if forced is not None:
        summary["forced_ivf"] = forced
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    raise SystemExit(main())
