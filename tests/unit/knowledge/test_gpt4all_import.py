"""GPT4All's LocalDocs collections imported as Ember collections, from a real SQLite database made
with GPT4All's own table definitions (``gpt4all-chat/src/database.cpp``, versions 3 and 1)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from tests.support.gpt4all_localdocs import V1_SCHEMA, gpt4all_home, localdocs_v3

from ember.cli import main
from ember.errors import StorageError
from ember.knowledge import KnowledgeBase
from ember.knowledge.gpt4all_import import find_database, import_collections, read_collections
from ember.knowledge.roots import recorded_roots


def notes(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notes.md").write_text(f"# Notes\n\n{text}\n")
    return folder


def test_collections_and_folders_are_read_from_a_v3_database(tmp_path: Path) -> None:
    taxes, recipes = notes(tmp_path / "taxes", "a"), notes(tmp_path / "recipes", "b")
    gone = tmp_path / "unplugged-drive" / "papers"
    db = localdocs_v3(
        tmp_path / "localdocs_v3.db", {"Home": [taxes, recipes], "Work": [gone], "Both": [taxes]}
    )

    found = {c.name: c for c in read_collections(db)}

    assert found["Home"].folders == tuple(sorted((str(recipes), str(taxes))))
    assert found["Home"].missing == ()
    assert found["Work"].missing == (str(gone),) and found["Work"].present == ()
    assert found["Both"].folders == (str(taxes),)  # one folder in two collections


def test_a_version_1_database_is_read_too(tmp_path: Path) -> None:
    folder = notes(tmp_path / "docs", "x")
    conn = sqlite3.connect(tmp_path / "localdocs_v1.db")
    conn.executescript(V1_SCHEMA)
    conn.execute("insert into folders(id, folder_path) values(1, ?)", (str(folder),))
    conn.execute("insert into collections values('Old', 1)")
    conn.commit()
    conn.close()

    (old,) = read_collections(tmp_path / "localdocs_v1.db")

    assert (old.name, old.folders) == ("Old", (str(folder),))


def test_the_newest_database_is_picked(tmp_path: Path) -> None:
    for version in (1, 2, 3):
        localdocs_v3(tmp_path / f"localdocs_v{version}.db", {})
    (tmp_path / "localdocs_v9.db-journal").write_text("")

    assert find_database(tmp_path) == tmp_path / "localdocs_v3.db"
    assert find_database(tmp_path / "nothing-here") is None


def test_not_a_localdocs_database_is_a_clear_error(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    sqlite3.connect(other).executescript("create table t(x);")
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not sqlite at all" * 100)

    with pytest.raises(StorageError, match="not a GPT4All LocalDocs database"):
        read_collections(other)
    with pytest.raises(StorageError, match="Cannot"):
        read_collections(garbage)
    with pytest.raises(StorageError, match="no GPT4All LocalDocs database"):
        read_collections(tmp_path / "absent.db")


def test_imported_collections_index_their_folders_with_one_reindex(
    tmp_path: Path, tiny_kb: KnowledgeBase
) -> None:
    taxes = notes(tmp_path / "taxes", "Taxes are due in April.")
    gone = tmp_path / "gone"
    db = localdocs_v3(tmp_path / "localdocs_v3.db", {"Home": [taxes], "Work": [gone]})

    made = import_collections(tiny_kb, read_collections(db))

    assert [c.name for c in made] == ["Home"]  # none of Work's folders is here
    assert [(c.name, c.documents) for c in tiny_kb.collections()] == [("Home", 0)]
    assert recorded_roots(tiny_kb.store, "Home") == (str(taxes),)
    report = tiny_kb.redo([], "Home")  # the documents page's Re-index all
    assert report.indexed == 1
    assert [(c.name, c.documents) for c in tiny_kb.collections()] == [("Home", 1)]
    assert tiny_kb.search("April", ["Home"]).hits


def test_cli_imports_from_gpt4all_own_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    gpt4all = gpt4all_home(tmp_path / "home", monkeypatch)
    papers = notes(tmp_path / "papers", "x")
    localdocs_v3(gpt4all / "localdocs_v3.db", {"Papers": [papers], "Lost": [tmp_path / "lost"]})

    assert main(["documents", "import-gpt4all", "--json"]) == 0
    rows = {r["collection"]: r for r in json.loads(capsys.readouterr().out)}
    assert main(["docs", "import-gpt4all"]) == 0  # again: nothing doubles
    text = capsys.readouterr().out

    assert rows["Papers"] == {
        "collection": "Papers",
        "folders": [str(papers)],
        "missing": [],
        "made": True,
        "indexed": None,
    }
    assert not rows["Lost"]["made"] and rows["Lost"]["missing"] == [str(tmp_path / "lost")]
    assert "“Papers”: 1 folder(s), ready to index." in text
    assert f"not on this computer: {tmp_path / 'lost'}" in text
    assert main(["docs", "list", "--json"]) == 0
    capsys.readouterr()
    from ember.core import Core

    core = Core()
    try:
        assert [c.name for c in core.knowledge().collections()] == ["Papers"]
    finally:
        core.close()


def test_cli_without_gpt4all_says_it_looks_not_installed_and_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    gpt4all_home(home, monkeypatch).rmdir()  # HOME set, GPT4All's folder not there
    assert main(["docs", "import-gpt4all"]) != 0
    said = capsys.readouterr().err
    assert "GPT4All looks not installed" in said
    assert str(home / ".local" / "share" / "nomic.ai" / "GPT4All") in said
    assert str(home / ".config" / "nomic.ai" / "GPT4All.ini") in said


def test_cli_with_gpt4all_but_no_localdocs_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = gpt4all_home(tmp_path / "home", monkeypatch)
    assert main(["docs", "import-gpt4all"]) != 0
    said = capsys.readouterr().err
    assert f"GPT4All's folder {folder} has no LocalDocs database" in said
