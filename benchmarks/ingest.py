"""Indexing throughput: Ember's whole pipeline vs a naive SentenceTransformer.encode, same chunks.

Corpus (the eval's, never written by us): gnuplot's PDF manual plus git's HTML manual (the files
listed in ``benchmarks/qa/git-docs.files``), from ``EMBER_MANUALS`` or ~/.cache/ember/manuals
(``sh scripts/fetch_manuals.sh``). Until that list exists, R's PDF manuals stand in for the HTML.
``--quick``: 25 git pages only (R-FAQ.pdf without the list), about a minute on two cores.

"Ours" is ``KnowledgeBase.index`` end to end (hash, parse in the sandbox, chunk, store, embed on
ONNX Runtime, save), model load excluded. "Naive" is ``SentenceTransformer.encode`` (batch 32,
torch) on the same chunk texts, as stored. The machine is shared with other work, so the two are
measured interleaved: the corpus is cut into file groups and each group is indexed (ours), then
encoded (naive), in turn; the ratio is of the summed times, with the load average around it.
Also reported: the lowest and mean cosine between our vectors and naive encode's, per chunk.

Prints a table, then one JSON object as the last stdout line.

    python benchmarks/ingest.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GIT_FILES = REPO / "benchmarks" / "qa" / "git-docs.files"
GROUP_BYTES = 1_500_000  # file groups of about this much input


def manuals_dir() -> Path:
    return Path(os.environ.get("EMBER_MANUALS") or Path.home() / ".cache/ember/manuals")


def corpus_files(manuals: Path, git_files: Path, quick: bool) -> tuple[list[Path], str]:
    """The files to index and the corpus's name; raises SystemExit when the manuals are missing."""
    pdf = manuals / "gnuplot.pdf"
    if not pdf.is_file():
        raise SystemExit(f"{pdf} is missing: run `sh scripts/fetch_manuals.sh` first")
    if git_files.is_file():
        listed = [line.strip() for line in git_files.read_text().splitlines() if line.strip()]
        html = [manuals / "git-html" / name for name in listed]
        html = [p for p in html if p.is_file()]
        if quick:
            return html[:25], "git-docs (first 25 files)"
        return [pdf, *html], f"gnuplot.pdf + git-docs ({len(html)} files)"
    rdocs = sorted(manuals.glob("R-*.pdf"))
    if quick:
        return rdocs[:1], rdocs[0].name if rdocs else "none"
    return [pdf, *rdocs], f"gnuplot.pdf + {len(rdocs)} R manuals"


def groups_of(files: Sequence[Path]) -> list[list[Path]]:
    """Consecutive files in groups of about GROUP_BYTES (a big file is a group of its own)."""
    groups: list[list[Path]] = [[]]
    size = 0
    for path in files:
        if groups[-1] and size + path.stat().st_size > GROUP_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(path)
        size += path.stat().st_size
    return [g for g in groups if g]


class Recording:
    """Our embedder, keeping each text's vector for the agreement check."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.vectors: dict[str, object] = {}

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def embed(self, texts: Sequence[str]):  # type: ignore[no-untyped-def]
        vectors = self.inner.embed(texts)  # type: ignore[attr-defined]
        for text, vector in zip(texts, vectors, strict=True):
            self.vectors[text] = vector
        return vectors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small corpus, about a minute")
    parser.add_argument("--git-files", type=Path, default=GIT_FILES, help="the git-docs list")
    args = parser.parse_args()

    import numpy as np

    import ember  # noqa: F401  (offline Hugging Face settings)
    from ember.knowledge import KnowledgeBase
    from ember.knowledge.embedder import MiniLMEmbedder, model_dir

    files, corpus_name = corpus_files(manuals_dir(), args.git_files, args.quick)
    work = Path(tempfile.mkdtemp(prefix="ember-bench-ingest-"))
    load_before = os.getloadavg()
    try:
        ours = MiniLMEmbedder()
        started = time.perf_counter()
        ours.load()
        ours_load_s = time.perf_counter() - started
        ours.embed(["warm up the model"] * 16)
        recording = Recording(ours)

        import torch
        from sentence_transformers import SentenceTransformer

        # torch's own default, as a fresh process has it (opening the index sets OpenMP to one
        # thread for faiss, and the OpenMP runtime is shared with torch's: set it back each time).
        torch_default = torch.get_num_threads()
        started = time.perf_counter()
        naive = SentenceTransformer(os.fspath(model_dir()), device="cpu", local_files_only=True)
        naive_load_s = time.perf_counter() - started
        naive.encode(["warm up the model"] * 16, batch_size=16)

        ours_s = naive_s = 0.0
        chunks = 0
        reports = []
        naive_vectors: dict[str, np.ndarray] = {}
        per_group = []
        with KnowledgeBase(work / "kb", embedder=recording) as kb:  # type: ignore[arg-type]
            for group in groups_of(files):
                corpus = work / f"docs{len(per_group)}"
                corpus.mkdir()
                for path in group:
                    (corpus / path.name).symlink_to(path)
                began = time.perf_counter()
                reports.append(kb.index([corpus], "bench"))
                spent_ours = time.perf_counter() - began
                known = kb.store.conn.execute(
                    "SELECT embed_text FROM chunks ORDER BY id"
                ).fetchall()
                texts = [row[0] for row in known[chunks:]]
                torch.set_num_threads(torch_default)
                began = time.perf_counter()
                encoded = naive.encode(
                    texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False
                )
                spent_naive = time.perf_counter() - began
                naive_vectors.update(zip(texts, encoded, strict=True))
                ours_s, naive_s, chunks = ours_s + spent_ours, naive_s + spent_naive, len(known)
                per_group.append(
                    {
                        "files": len(group),
                        "chunks": len(texts),
                        "ours_s": round(spent_ours, 2),
                        "naive_s": round(spent_naive, 2),
                        "ratio": round(spent_naive / spent_ours, 2) if spent_ours else None,
                        "load": round(os.getloadavg()[0], 1),
                        "onnx_threads": getattr(ours._model, "threads", None),
                    }
                )
            started = time.perf_counter()
            rerun = kb.index([work / "docs0"], "bench")  # unchanged: a hash per file at most
            rerun_s = time.perf_counter() - started
            assert rerun.chunks == 0
        load_after = os.getloadavg()
        cosines = np.array(
            [float(np.dot(recording.vectors[t], v)) for t, v in naive_vectors.items()]
            if naive_vectors
            else [1.0]
        )
        stages: dict[str, float] = {}
        for report in reports:
            for name, seconds in report.stages.items():
                stages[name] = stages.get(name, 0.0) + seconds
        failed = sum(len(r.failed) for r in reports)
        ours_rate, naive_rate = chunks / ours_s, chunks / naive_s
        ratio = ours_rate / naive_rate
        onnx = getattr(ours._model, "threads", None)
        rows = [
            ("corpus", f"{corpus_name}: {len(files)} files, {chunks} chunks, {failed} failed"),
            ("load average", f"{load_before[0]:.1f} before, {load_after[0]:.1f} after"),
            (
                "model load",
                f"ours {ours_load_s:.2f} s ({ours.backend}), naive {naive_load_s:.1f} s",
            ),
            ("ours, end to end", f"{ours_s:.1f} s = {ours_rate:.1f} chunks/s"),
            ("naive encode", f"{naive_s:.1f} s = {naive_rate:.1f} chunks/s"),
            ("ratio", f"{ratio:.2f} (target >= 2.0)"),
            ("cosine ours/naive", f"min {cosines.min():.5f}, mean {cosines.mean():.6f}"),
            ("threads", f"onnx {onnx} (at the end), torch {torch_default}"),
            ("re-run unchanged", f"{rerun_s * 1000:.0f} ms"),
        ]
        rows += [(f"  stage {k}", f"{v:.2f} s") for k, v in sorted(stages.items())]
        rows += [(f"  group {i}", json.dumps(g)) for i, g in enumerate(per_group)]
        width = max(len(r[0]) for r in rows)
        for name, value in rows:
            print(f"{name:<{width}}  {value}")
        result = {
            "corpus": corpus_name,
            "files": len(files),
            "chunks": chunks,
            "failed": failed,
            "backend": ours.backend,
            "ours_chunks_per_s": round(ours_rate, 2),
            "naive_chunks_per_s": round(naive_rate, 2),
            "ratio": round(ratio, 3),
            "cosine_min": round(float(cosines.min()), 6),
            "cosine_mean": round(float(cosines.mean()), 6),
            "ours_load_s": round(ours_load_s, 3),
            "stages_s": {k: round(v, 2) for k, v in sorted(stages.items())},
            "groups": per_group,
            "rerun_s": round(rerun_s, 4),
            "load_before": round(load_before[0], 2),
            "load_after": round(load_after[0], 2),
            "onnx_threads": onnx,
            "torch_threads": torch_default,
            "cpus": os.cpu_count(),
        }
        print(json.dumps(result))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "desktop"))
    raise SystemExit(main())
