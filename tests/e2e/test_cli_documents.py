"""Documents end to end through the CLI: index a folder, then ask with cited file and page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fpdf import FPDF

pytestmark = pytest.mark.slow

PAGES = [
    "Welcome to the Aurora kettle. This guide covers safety and daily use of your kettle.",
    "Descaling: fill the Aurora kettle with equal parts white vinegar and water, boil once, "
    "then leave it to stand for thirty minutes before rinsing three times.",
    "Warranty: the Aurora kettle is covered for two years from the date of purchase.",
]


def ember(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ember", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def library(tmp_path: Path) -> Path:
    folder = tmp_path / "library"
    folder.mkdir()
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in PAGES:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    pdf.output(str(folder / "kettle.pdf"))
    (folder / "notes.md").write_text("# Garden\n\nWater the tomatoes every morning in July.\n")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<\n")  # truncated: fails alone
    return folder


def test_index_then_ask_cites_the_right_file_and_page(library: Path) -> None:
    indexed = ember("index", str(library), "--collection", "home", "--json")
    assert indexed.returncode == 0, indexed.stderr
    summary = json.loads(indexed.stdout.strip().splitlines()[-1])
    assert summary["indexed"] == 2
    assert [Path(f["path"]).name for f in summary["failed"]] == ["broken.pdf"]
    assert summary["failed"][0]["reason"]
    assert summary["chunks"] >= 4

    asked = ember(
        "ask",
        "How do I descale the kettle?",
        "--collection",
        "home",
        "--json",
        "--temperature",
        "0",
        "--seed",
        "3",
        "--max-tokens",
        "40",
    )
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout.strip().splitlines()[-1])
    assert answer["abstained"] is False
    top = answer["sources"][0]
    assert Path(top["source"]).name == "kettle.pdf"
    assert top["page"] == 2
    # no page labels in this PDF: the physical page, and the page count beside it
    assert (top["page_label"], top["page_count"], top["page_text"]) == (None, 3, "p. 2")
    assert top["n"] == 1
    assert "vinegar" in top["text"]
    assert answer["answer"]


def test_rerunning_index_on_an_unchanged_folder_skips_everything(library: Path) -> None:
    assert ember("index", str(library), "--json").returncode == 0
    again = ember("index", str(library), "--json")
    summary = json.loads(again.stdout.strip().splitlines()[-1])
    assert summary["indexed"] == 0
    assert summary["skipped"] >= 2


def test_a_question_the_documents_cannot_answer_abstains(library: Path) -> None:
    assert ember("index", str(library), "--collection", "home").returncode == 0
    asked = ember("ask", "Who won the 1998 football world cup?", "--collection", "home", "--json")
    answer = json.loads(asked.stdout.strip().splitlines()[-1])
    assert answer["abstained"] is True
    assert answer["sources"] == []
