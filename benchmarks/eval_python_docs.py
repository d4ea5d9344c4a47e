"""Answer quality on real documentation: Python 3.11's own docs (Debian package python3.11-doc).

Indexes the pages listed in ``benchmarks/qa/python-docs.files`` (32 pages of the tutorial,
HOWTOs and library reference, ~650 000 characters) into a temporary EMBER_HOME with Ember's
default settings, then asks the questions of ``benchmarks/qa/python-docs.json`` the way
``ember ask`` would: 91 paraphrased user questions with the page that answers them, and 37
plausible Python questions these pages do not answer (checked by searching the pages for their
key terms: no strptime, lru_cache, __enter__, getpass, PyPI upload...). Every question is in a
``dev`` half, used to tune, or a held-out ``test`` half. Prints a table per split, then one JSON
object as the last stdout line.

Figures (default settings, all / dev / test):

=========================  =====================  =====================  =====================
                           before (cosine 0.38)   + coverage             + spread over sources
=========================  =====================  =====================  =====================
hit@1                      0.868 / 0.913 / 0.822  unchanged              unchanged
hit@5                      0.945 / 0.957 / 0.933  unchanged              1.000 / 1.000 / 1.000
MRR@10                     0.905 / 0.935 / 0.874  unchanged              0.921 / 0.948 / 0.893
unanswerable abstained     0.432 / 0.368 / 0.500  0.622 / 0.474 / 0.778  0.622 / 0.526 / 0.722
false abstains             0.011 / 0.000 / 0.022  0.033 / 0.000 / 0.067  0.022 / 0.000 / 0.044
=========================  =====================  =====================  =====================

(see ``ember/knowledge/grounding.py`` for the abstain decision and how it was tuned, and
``HybridSearcher._distinct`` in ``ember/knowledge/retrieval.py`` for the spreading.) The spreading
was re-decided on two real manuals (``benchmarks/eval_manuals.py``: 0.75 per document and 0.5 per
page or section instead of 0.6 per document); ``--quick`` reads the same with it, dev 1.0 / 1.0 /
1.0 and test hit@1 0.846, hit@5 0.962, MRR 0.894 (the full set was not re-run).

Indexing is the slow part: 2855 chunks, 5-8 minutes on two busy cores for the full set.
``--quick`` indexes the first half of the pages (1563 chunks; with the questions they answer and
every unanswerable question) in about half that. ``--keep DIR`` keeps the index under DIR so a
re-run only re-embeds changes (then a run takes ~20 s).

    apt-get install python3.11-doc
    python benchmarks/eval_python_docs.py --keep /tmp/ember-eval
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

DOC_ROOT = Path("/usr/share/doc/python3.11/html")
QA_DIR = Path(__file__).resolve().parent / "qa"
FILES = QA_DIR / "python-docs.files"
QUESTIONS = QA_DIR / "python-docs.json"
COLLECTION = "python-docs"


def pages() -> list[str]:
    lines = FILES.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="half the pages (~2.5 minutes)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep (and reuse) the index here")
    args = parser.parse_args()

    missing = [name for name in pages() if not (DOC_ROOT / name).is_file()]
    if missing:
        reason = (
            f"{len(missing)} page(s) missing under {DOC_ROOT} (e.g. {missing[0]}): install "
            "Python's documentation with `apt-get install python3.11-doc` to run this benchmark"
        )
        print(f"skipped: {reason}")
        print(json.dumps({"skipped": reason}))
        return 0

    chosen = pages()[: len(pages()) // 2] if args.quick else pages()
    names = {Path(name).name for name in chosen}
    raw = json.loads(QUESTIONS.read_text(encoding="utf-8"))
    entries = [e for e in raw if e["source"] is None or Path(e["source"]).name in names]

    work = args.keep or Path(tempfile.mkdtemp(prefix="ember-eval-"))
    os.environ["EMBER_HOME"] = str(work / "home")  # Ember will not index its own data folder
    try:
        return run(work, chosen, entries, args.quick)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


def run(work: Path, chosen: list[str], entries: list[dict], quick: bool) -> int:
    from ember.cli.evaluate import format_cell, format_misses
    from ember.knowledge import KnowledgeBase
    from ember.knowledge.evaluate import QAItem, evaluate, summarize
    from ember.paths import ember_paths

    docs = work / "docs"
    if docs.exists():
        shutil.rmtree(docs)  # pages dropped from the list must leave the index too
    for name in chosen:
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(DOC_ROOT / name, docs / name)

    started = time.perf_counter()
    with KnowledgeBase(ember_paths().knowledge_dir) as kb:
        report = kb.index([docs], COLLECTION)
    index_s = time.perf_counter() - started
    if report.failed:
        print(f"error: {len(report.failed)} page(s) failed to index: {report.failed[0]}")
        return 1

    items = [QAItem(e["question"], e["source"], _pages(e)) for e in entries]
    with KnowledgeBase(ember_paths().knowledge_dir) as kb:
        chunks = sum(c.chunks for c in kb.collections() if c.name == COLLECTION)
        results = evaluate(kb, items, [COLLECTION])

    print(
        f"{len(chosen)} pages, {chunks} chunks, indexed in {index_s:.0f} s "
        f"({report.indexed} embedded, {report.skipped} unchanged); {len(items)} questions\n"
    )
    for line in format_misses(results):
        print(f"  {line}")
    splits = {"all": results}
    for split in ("dev", "test"):
        splits[split] = [
            r for r, e in zip(results, entries, strict=True) if e.get("split") == split
        ]
    table = {name: summarize(rows).as_json() for name, rows in splits.items() if rows}
    keys = list(table["all"])
    print(f"\n{'':<26}" + "".join(f"{name:>10}" for name in table))
    for key in keys:
        cells = "".join(f"{format_cell(table[name][key]):>10}" for name in table)
        print(f"{key:<26}{cells}")

    summary = dict(table["all"])
    summary.update(
        {
            "quick": quick,
            "pages": len(chosen),
            "chunks": chunks,
            "index_s": round(index_s, 1),
            "dev": table.get("dev"),
            "test": table.get("test"),
        }
    )
    print(json.dumps(summary))
    return 0


def _pages(entry: dict) -> tuple[int, ...] | None:
    pages = entry.get("pages")
    return tuple(pages) if pages is not None else None


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    raise SystemExit(main())
