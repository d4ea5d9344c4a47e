from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support.labeled_pdf import FIRST_BODY_PAGE, write_labeled_manual

from ember.cli import main
from ember.knowledge.embedder import MiniLMEmbedder

pytestmark = pytest.mark.slow


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, object]:
    code = main(list(argv))
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out else None


def test_index_then_search_as_json(
    corpus: Path, minilm: MiniLMEmbedder, capsys: pytest.CaptureFixture[str]
) -> None:
    (corpus / "locked.pdf").write_bytes(b"%PDF-1.4\nnot really a pdf")
    code, summary = run(capsys, "index", str(corpus), "--collection", "notes", "--json")
    assert code == 0  # per-file failures do not fail the command
    assert summary["indexed"] == 3 and summary["skipped"] == 0 and summary["chunks"] > 0
    assert [f["path"] for f in summary["failed"]] == [str(corpus / "locked.pdf")]

    code, again = run(capsys, "index", str(corpus), "--collection", "notes", "--json")
    assert (again["indexed"], again["skipped"], again["chunks"]) == (0, 4, 0)

    code, hits = run(capsys, "search", "when are taxes due", "--k", "2", "--json")
    assert code == 0 and len(hits) == 2
    assert set(hits[0]) == {
        "source",
        "page",
        "page_label",
        "page_count",
        "page_text",
        "heading",
        "similarity",
        "text",
    }
    assert hits[0]["source"] == str(corpus / "taxes.html")
    assert hits[0]["heading"] == "Filing your tax return > Deadlines"


def test_index_names_the_files_it_skips(
    corpus: Path, minilm: MiniLMEmbedder, capsys: pytest.CaptureFixture[str]
) -> None:
    (corpus / "photo.bin").write_bytes(bytes(range(256)) * 8)
    assert main(["index", str(corpus), "--collection", "notes"]) == 0
    out = capsys.readouterr().out
    assert f"  skipped: {corpus / 'photo.bin'}: unsupported file type '.bin'" in out


def test_docs_list_and_remove(
    corpus: Path, minilm: MiniLMEmbedder, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "index", str(corpus / "router.txt"), "--json")
    _, listing = run(capsys, "docs", "list", "--json")
    assert [(d["path"], d["state"], d["collection"]) for d in listing] == [
        (str(corpus / "router.txt"), "done", "default")
    ]
    _code, removed = run(capsys, "docs", "remove", str(corpus / "router.txt"), "--json")
    assert removed == {"removed": 1}
    assert run(capsys, "docs", "list", "--json")[1] == []


def test_search_names_the_printed_page_with_the_physical_page_of_the_total(
    tmp_path: Path, minilm: MiniLMEmbedder, capsys: pytest.CaptureFixture[str]
) -> None:
    manual = write_labeled_manual(tmp_path / "kettle.pdf")
    assert run(capsys, "index", str(manual), "--json")[0] == 0
    question = "descale the kettle with vinegar"
    code, hits = run(capsys, "search", question, "--k", "1", "--json")
    assert code == 0
    physical = FIRST_BODY_PAGE + 1
    assert (hits[0]["page"], hits[0]["page_label"], hits[0]["page_count"]) == (physical, "2", 6)
    assert hits[0]["page_text"] == f"p. 2 ({physical} of 6)"

    assert main(["search", question, "--k", "1"]) == 0
    assert f"kettle.pdf — p. 2 ({physical} of 6)  (similarity" in capsys.readouterr().out
