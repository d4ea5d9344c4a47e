"""A small in-domain retrieval set: a slice of Python 3.11's documentation and its questions.

The pages are a subset of ``benchmarks/eval_python_docs.py``'s (Debian's python3.11-doc), chosen
to overlap in subject (sorting, ``heapq`` and ``bisect``; ``secrets``, ``uuid`` and the standard
library tour; ``tempfile``, ``glob`` and ``gzip``) so that ranking them is not trivial. They are
committed under ``tests/data/python-docs/`` (PSF licence, see its README) trimmed to the page
body, so the suite needs no apt. The questions are the benchmark's own, those these pages answer.

Regenerate the pages (after ``apt-get install python3.11-doc``)::

    python -m tests.support.python_docs
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ember.knowledge.evaluate import QAItem

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "python-docs"
DOC_ROOT = Path("/usr/share/doc/python3.11/html")
QUESTIONS = REPO / "benchmarks" / "qa" / "python-docs.json"

PAGES = (
    "howto/sorting.html",
    "library/heapq.html",
    "library/bisect.html",
    "library/secrets.html",
    "library/uuid.html",
    "tutorial/stdlib.html",
    "library/tempfile.html",
    "library/glob.html",
    "library/gzip.html",
    "library/textwrap.html",
    "library/queue.html",
    "library/timeit.html",
)


def page_files() -> list[Path]:
    """The committed pages, one file each (``howto-sorting.html``...)."""
    return [DATA / page.replace("/", "-") for page in PAGES]


def questions() -> list[QAItem]:
    """The benchmark's questions answered by these pages (their ``source`` is the page's file
    name in the benchmark, e.g. ``sorting.html``; here the files carry their folder too)."""
    names = {Path(page).name: page.replace("/", "-") for page in PAGES}
    entries = json.loads(QUESTIONS.read_text(encoding="utf-8"))
    return [QAItem(e["question"], names[e["source"]]) for e in entries if e["source"] in names]


def trim(markup: str) -> str:
    """The page's title and main body, without attributes, scripts, links or the ¶ permalinks:
    the text and headings Ember reads, at a fifth of the size."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    title = soup.find("title")
    body = soup.find("div", attrs={"role": "main"})
    assert title is not None and body is not None, "not a Sphinx page"
    for link in body.find_all("a", class_="headerlink"):
        link.decompose()
    for tag in body.find_all(["script", "style"]):
        tag.decompose()
    for tag in body.find_all(["span", "a"]):  # inline wrappers for styling and links only
        tag.unwrap()
    for tag in [body, *body.find_all(True)]:
        tag.attrs = {}
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{title.get_text()}</title></head>\n<body>\n{body}\n</body></html>\n"
    )


def main() -> int:
    DATA.mkdir(parents=True, exist_ok=True)
    for page, target in zip(PAGES, page_files(), strict=True):
        source = DOC_ROOT / page
        if not source.is_file():
            print(f"missing {source}: apt-get install python3.11-doc", file=sys.stderr)
            return 1
        target.write_text(trim(source.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"{target.relative_to(REPO)}: {target.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
