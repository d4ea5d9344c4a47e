"""Query likelihood as a re-ranker of Ember's top 10 (UPR), with the GGUF models that ship here.

Issue #13's last open road to rank 1: no trained relevance model ships in a package, but two
language models do (SmolLM2 135M Instruct, Ember's default, and Gemma 3 270M base). Unsupervised
passage re-ranking (Sachan et al., 2022, "Improving Passage Retrieval with Zero-Shot Question
Generation") scores a passage by how likely the model finds the question after it:

    score(passage) = mean log p(question tokens | "Passage: <passage>\\nA question this passage
    answers: ")

Ember retrieves its top ``--depth`` passages as it does today; each is scored so, and the list is
re-ordered by that score alone (``alone``) or by reciprocal rank fusion of Ember's rank and the
model's (``rrf``, k = 60). A sample of ``--per-split`` questions from each manual's dev half is
used (the test halves with ``--test``). Reuses the index of ``eval_manuals.py --keep DIR``, and
:func:`rerankers.pool`.

    python benchmarks/eval_manuals.py --keep /tmp/ev --only ember
    python benchmarks/upr.py --keep /tmp/ev --model smollm2 --per-split 40

Passages are cut to ``--passage-tokens`` (200) tokens. Figures, 2026-12-02, this 2-core machine,
40 dev questions of each manual (the same sample for both models), hit@1 / hit@5 / MRR@10:

    order            gnuplot              git                  s per question
    Ember today      0.650/0.950/0.778    0.400/0.800/0.570
    SmolLM2 alone    0.650/0.875/0.748    0.400/0.825/0.564    4.7
    SmolLM2 rrf      0.600/0.975/0.752    0.375/0.875/0.546
    Gemma 3 alone    0.650/0.925/0.765    0.375/0.775/0.522    4.9
    Gemma 3 rrf      0.575/0.975/0.754    0.350/0.825/0.541

Neither model moves rank 1 on either manual, at about 5 s per question on top of retrieval; the
held-out halves were not run. Not adopted.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

PROMPT = "Passage: {passage}\nA question this passage answers: "


def model_path(name: str) -> Path:
    from tests.support.real_models import gemma3_gguf, smollm2_gguf

    return smollm2_gguf() if name == "smollm2" else gemma3_gguf()


class QueryLikelihood:
    """Mean log-probability of a question after a passage, with one llama.cpp model."""

    def __init__(self, path: Path, passage_tokens: int, threads: int) -> None:
        from llama_cpp import Llama

        self.llm = Llama(
            model_path=str(path),
            n_ctx=512,
            n_batch=512,
            logits_all=True,
            n_threads=threads,
            verbose=False,
        )
        self.passage_tokens = passage_tokens

    def score(self, passage: str, question: str) -> float:
        import numpy as np

        ids = self.llm.tokenize(passage.encode(), add_bos=False, special=False)
        passage = self.llm.detokenize(ids[: self.passage_tokens]).decode(errors="ignore")
        prefix = self.llm.tokenize(PROMPT.format(passage=passage).encode(), add_bos=True)
        asked = self.llm.tokenize(question.encode(), add_bos=False, special=False)[:64]
        self.llm.reset()
        self.llm.eval(prefix + asked)
        logits = np.asarray(self.llm.scores[len(prefix) - 1 : len(prefix) + len(asked) - 1])
        top = logits.max(axis=1, keepdims=True)
        log_norm = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
        picked = logits[np.arange(len(asked)), asked]
        return float((picked - log_norm).mean())


def main() -> int:
    from eval_manuals import CORPORA, QA_DIR, load_questions, scores
    from rerankers import pool

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, required=True, help="an eval_manuals.py --keep DIR")
    parser.add_argument("--model", choices=("smollm2", "gemma3"), default="smollm2")
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--per-split", type=int, default=40, help="questions per manual")
    parser.add_argument("--passage-tokens", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--test", action="store_true", help="the held-out halves, not dev")
    args = parser.parse_args()

    split = "test" if args.test else "dev"
    every = load_questions(
        {"gnuplot": QA_DIR / "gnuplot.json", "git-docs": QA_DIR / "git-docs.json"}
    )
    questions = []
    for corpus in CORPORA:
        mine = [q for q in every if q.item.answerable and (q.corpus, q.split) == (corpus, split)]
        questions += random.Random(13).sample(mine, min(args.per_split, len(mine)))
    lists = pool(args.keep, questions, args.depth)
    model = QueryLikelihood(model_path(args.model), args.passage_tokens, args.threads)

    orders: dict[str, list[list[int]]] = {"ember": [], "alone": [], "rrf": []}
    started = time.perf_counter()
    for q, hits in zip(questions, lists, strict=True):
        likelihood = [model.score(h["text"], q.item.question) for h in hits]
        by_model = sorted(range(len(hits)), key=lambda n: -likelihood[n])
        model_rank = {n: r for r, n in enumerate(by_model)}
        fused = sorted(range(len(hits)), key=lambda n: -(1 / (61 + n) + 1 / (61 + model_rank[n])))
        orders["ember"].append(list(range(len(hits))))
        orders["alone"].append(by_model)
        orders["rrf"].append(fused)
    seconds = time.perf_counter() - started

    results: dict[str, Any] = {
        "model": args.model,
        "split": split,
        "questions": len(questions),
        "seconds_per_question": round(seconds / max(1, len(questions)), 2),
    }
    for name, ordered in orders.items():
        found = [
            next(
                (
                    r
                    for r, n in enumerate(order, 1)
                    if q.item.matches(hits[n]["source"], hits[n]["page"])
                ),
                None,
            )
            for q, hits, order in zip(questions, lists, ordered, strict=True)
        ]
        row = {}
        for corpus in CORPORA:
            s = scores([r for q, r in zip(questions, found, strict=True) if q.corpus == corpus])
            row[corpus] = f"{s['hit_at_1']:.3f}/{s['hit_at_5']:.3f}/{s['mrr_at_10']:.3f}"
        results[name] = row
        print(f"{name:<6}", "  ".join(f"{k} {v}" for k, v in row.items()), flush=True)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
