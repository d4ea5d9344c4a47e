"""File names Linux allows but UTF-8 does not: indexed, searchable, stored, and shown.

A name from an old archive or a Windows share can hold Latin-1 bytes (``caf\\xe9.txt``). Python
keeps such a name as a string with lone surrogates, which SQLite, JSON encoders and strict
terminals refuse. One such file once aborted a whole indexing run (case 14 of the shared cases).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from ember.chats.store import ChatStore
from ember.files import path_from_db, path_to_db, shown_path
from ember.knowledge import KnowledgeBase
from ember.knowledge.embedder import MiniLMEmbedder
from ember.knowledge.types import Citation

LATIN1_NAME = b"caf\xe9-latin1.txt"


def _odd_folder(root: Path) -> tuple[Path, str]:
    """A folder of the names users reported, one of them not UTF-8; returns it and that path."""
    folder = root / "names"
    folder.mkdir()
    files = {
        "résumé café.txt": "Tasting notes: the brunnhilde roast has a cherry finish.",
        unicodedata.normalize("NFD", "Übersicht Größe.md"): "# Overview\n\nThe quandelier lamp.",
        "📎 notes 2024.txt": "Remember to renew the sprocketwill insurance in May.",
        "会议记录.txt": "The vendelmoor contract was signed on Tuesday.",
    }
    for name, text in files.items():
        (folder / name).write_text(text + "\n", encoding="utf-8")
    odd = os.fsencode(folder) + b"/" + LATIN1_NAME
    with open(odd, "wb") as handle:
        handle.write(b"The tormundy invoice is due on the first of the month.\n")
    return folder, os.fsdecode(odd)


def test_a_name_that_is_not_utf8_is_shown_with_a_replacement_character() -> None:
    odd = os.fsdecode(b"/docs/" + LATIN1_NAME)
    assert shown_path(odd) == "/docs/caf\ufffd-latin1.txt"
    assert shown_path("/docs/résumé 📎.txt") == "/docs/résumé 📎.txt"
    assert shown_path("lone \ud800 surrogate") == "lone ? surrogate"


def test_every_byte_of_a_name_survives_the_database_round_trip() -> None:
    odd = os.fsdecode(b"/docs/" + LATIN1_NAME)
    assert path_to_db(odd) == b"/docs/" + LATIN1_NAME
    assert path_from_db(path_to_db(odd)) == odd
    assert path_to_db("/docs/会议记录.txt") == "/docs/会议记录.txt"


@pytest.mark.slow
def test_a_folder_with_a_non_utf8_name_is_indexed_whole(
    tmp_path: Path, minilm: MiniLMEmbedder
) -> None:
    folder, odd = _odd_folder(tmp_path)
    with KnowledgeBase(tmp_path / "kb", embedder=minilm) as kb:
        report = kb.index([folder], "names")
        assert (report.indexed, report.failed) == (5, [])
        assert odd in {d.path for d in kb.documents()}
        assert kb.search("tormundy invoice", None, 1).hits[0].source == odd
        assert kb.search("vendelmoor contract", None, 1).hits[0].source.endswith("会议记录.txt")

        again = kb.index([folder], "names")  # the stored name matches the file: nothing to redo
        assert (again.indexed, again.skipped) == (0, 5)
        assert kb.remove(Path(odd), "names") == 1
        assert odd not in {d.path for d in kb.documents()}
        kb.index([folder], "names")
        assert kb.remove(folder / "caf\ufffd-latin1.txt", "names") == 1  # as `docs list` shows it


def test_a_citation_of_such_a_file_is_kept_in_the_chat_history(tmp_path: Path) -> None:
    odd = os.fsdecode(b"/docs/" + LATIN1_NAME)
    with ChatStore(tmp_path / "chats.db") as store:
        chat = store.create("Invoices")
        message = store.add_message(chat.id, "assistant", "Due on the first [1].")
        cited = Citation(1, odd, None, None, "The tormundy invoice", 0.7)
        store.save_citations(message.id, [cited])
        assert store.citations(message.id)[0].source == odd
        assert "caf\ufffd-latin1.txt" in store.export_markdown(chat.id)


@pytest.mark.slow
def test_the_cli_indexes_searches_and_lists_such_a_file_without_a_traceback(
    tmp_path: Path,
) -> None:
    folder, _odd = _odd_folder(tmp_path)
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}  # a strict encoder, as most terminals

    def ember(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from ember.cli import main; sys.exit(main())",
                *args,
            ],
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=env,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        return done

    summary = json.loads(ember("index", str(folder), "--json").stdout.splitlines()[-1])
    assert (summary["indexed"], summary["failed"]) == (5, [])
    hits = json.loads(ember("search", "tormundy invoice", "--k", "1", "--json").stdout)
    assert hits[0]["source"] == str(folder / "caf\ufffd-latin1.txt")
    assert "caf\ufffd-latin1.txt" in ember("docs", "list").stdout
