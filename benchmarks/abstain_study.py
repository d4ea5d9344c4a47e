"""The abstain decision on kept eval indexes: fixed threshold against one learned per collection.

Works from ``abstain_dump.py``'s files (every question's real search result) and the kept index
itself (to calibrate the collection, :mod:`ember.knowledge.calibration`). For each split (dev,
test, all) prints the share of unanswerable questions abstained and of answerable ones wrongly
abstained under:

* ``fixed``: ``similarity + 0.4 coverage < 0.52``, the threshold tuned on python-docs' dev half;
* ``calibrated``: the same score against the threshold learned from the collection (pseudo-
  questions held out of their documents, ``--quantile`` of their scores);
* ``oracle-dev``: the highest threshold keeping the dev half's false abstains <= 0.03, i.e. what
  tuning on this very collection's labelled dev questions would give (a bound, not a method);

then the chance an answerable question outscores an unanswerable one (AUC) for each signal, and
one JSON object as the last line.

    python benchmarks/abstain_study.py --dump /tmp/ember-eval-abstain/py-dump \
        --home /tmp/ember-eval-abstain/py/home --collection python-docs

Figures (2026-12-01; unanswerable abstained / answerable wrongly abstained):

======================  =========  ===========  ===========  ===========
decision                threshold  dev          test         all
======================  =========  ===========  ===========  ===========
python-docs (46+19 dev, 45+18 test questions; score AUC 0.909)
fixed                   0.520      0.53 / 0.00  0.72 / 0.04  0.62 / 0.02
oracle-dev              0.569      0.79 / 0.02  0.78 / 0.18  0.78 / 0.10
calibrated q=0.30       0.518      0.53 / 0.00  0.72 / 0.04  0.62 / 0.02
git's manual (112 of the 120 pages indexed; 60+17 dev, 56+17 test; AUC 0.806)
fixed                   0.520      0.23 / 0.02  0.18 / 0.00  0.21 / 0.01
oracle-dev              0.532      0.23 / 0.02  0.18 / 0.00  0.21 / 0.01
calibrated q=0.30       0.676      0.65 / 0.10  0.41 / 0.14  0.53 / 0.12
======================  =========  ===========  ===========  ===========
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

FIXED = 0.52
WEIGHT = 0.4


def scored(dump: Path, sources: set[str] | None) -> list[dict]:
    """Each question with its grounding score, as :func:`grounding.abstain_evidence` makes it."""
    import numpy as np

    from ember.knowledge.grounding import best_coverage, term_weights

    chunks = np.load(dump / "chunks.npz", allow_pickle=True)
    text = {
        int(i): f"{h} {t}"
        for i, h, t in zip(chunks["ids"], chunks["headings"], chunks["texts"], strict=True)
    }
    rows = []
    for entry in json.loads((dump / "questions.json").read_text(encoding="utf-8")):
        if sources is not None and entry["source"] is not None:
            if not any(s.endswith(entry["source"]) for s in sources):
                continue  # its page is not in this index
        weighted = term_weights([tuple(t) for t in entry["terms"]], entry["chunk_total"])
        coverage = best_coverage(weighted, [text[c] for c in entry["hits4"] if c in text])
        best = entry["best"] or 0.0
        rows.append(
            {
                "split": entry.get("split"),
                "answerable": entry["source"] is not None,
                "similarity": best,
                "coverage": coverage,
                "score": best + WEIGHT * coverage,
            }
        )
    return rows


def rates(rows: list[dict], threshold: float) -> dict:
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    return {
        "abstain": round(sum(r["score"] < threshold for r in una) / max(1, len(una)), 3),
        "false_abstain": round(sum(r["score"] < threshold for r in ans) / max(1, len(ans)), 3),
        "n": [len(ans), len(una)],
    }


def auc(rows: list[dict], key: str) -> float:
    ans = [r[key] for r in rows if r["answerable"]]
    una = [r[key] for r in rows if not r["answerable"]]
    wins = sum((a > u) + 0.5 * (a == u) for a in ans for u in una)
    return round(wins / max(1, len(ans) * len(una)), 3)


def oracle(rows: list[dict], max_false: float = 0.03) -> float:
    scores = sorted(r["score"] for r in rows if r["answerable"])
    return scores[int(max_false * len(scores))] - 1e-6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dump", type=Path, required=True)
    parser.add_argument("--home", type=Path, required=True, help="the kept EMBER_HOME")
    parser.add_argument("--collection", required=True)
    parser.add_argument("--quantile", type=float, nargs="*")
    args = parser.parse_args()
    os.environ["EMBER_HOME"] = str(args.home)

    from abstain_calibration import QUANTILE, calibrate
    from ember.knowledge import KnowledgeBase
    from ember.paths import ember_paths

    with KnowledgeBase(ember_paths().knowledge_dir) as kb:
        sources = {d.path for d in kb.documents(args.collection) if d.state == "done"}
        learned = {
            q: calibrate(kb.store, kb.vectors, kb.embedder, args.collection, quantile=q)
            for q in (args.quantile or [QUANTILE])
        }
    rows = scored(args.dump, {str(s) for s in sources})
    dev = [r for r in rows if r["split"] == "dev"]
    decisions = {"fixed": FIXED, "oracle-dev": oracle(dev)}
    for q, calibration in learned.items():
        if calibration is not None:
            decisions[f"calibrated q={q}"] = calibration.threshold
    report: dict = {"collection": args.collection, "decisions": {}}
    print(f"{args.collection}: unanswerable abstained / answerable wrongly abstained")
    print(f"{'decision':<22}{'threshold':>10}{'dev':>14}{'test':>14}{'all':>14}")
    for name, threshold in decisions.items():
        cells = {}
        for split in ("dev", "test", "all"):
            part = rows if split == "all" else [r for r in rows if r["split"] == split]
            cells[split] = rates(part, threshold)
        report["decisions"][name] = {"threshold": round(threshold, 4), **cells}
        line = "".join(
            f"{cells[s]['abstain']:>8.2f} /{cells[s]['false_abstain']:>4.2f}"
            for s in ("dev", "test", "all")
        )
        print(f"{name:<22}{threshold:>10.3f}{line}")
    report["auc"] = {key: auc(rows, key) for key in ("similarity", "coverage", "score")}
    report["n"] = rates(rows, 0)["n"]
    print(f"AUC (all): {report['auc']}; answerable/unanswerable: {report['n']}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "desktop"))
    raise SystemExit(main())
