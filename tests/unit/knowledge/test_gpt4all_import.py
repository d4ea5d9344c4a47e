"""GPT4All's LocalDocs collections imported as Ember collections, from a real SQLite database made
with GPT4All's own table definitions (``gpt4all-chat/src/database.cpp``, versions 3 and 1)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from ember.cli import main
from ember.errors import StorageError
from ember.knowledge import KnowledgeBase
from ember.knowledge.gpt4all_import import find_database, import_collections, read_collections
from ember.knowledge.roots import recorded_roots

# The tables GPT4All's LocalDocs version 2 and 3 databases have (the ones read here, and two
# more so the file looks as GPT4All leaves it).
V3_SCHEMA = """
create table chunks(
    id integer primary key autoincrement, document_id integer not null, chunk_text text not null,
    file text not null, title text, author text, subject text, keywords text, page integer,
    line_from integer, line_to integer, words integer default 0 not null,
    tokens integer default 0 not null, foreign key(document_id) references documents(id));
create table collections(
    id integer primary key, name text unique not null, start_update_time integer,
    last_update_time integer, embedding_model text);
create table folders(id integer primary key autoincrement, path text unique not null);
create table collection_items(
    collection_id integer not null, folder_id integer not null,
    foreign key(collection_id) references collections(id)
    foreign key(folder_id) references folders(id), unique(collection_id, folder_id));
create table documents(
    id integer primary key, folder_id integer not null, document_time integer not null,
    document_path text unique not null, foreign key(folder_id) references folders(id));
"""
V1_SCHEMA = """
create table collections(collection_name varchar not null, folder_id integer not null,
    unique(collection_name, folder_id));
create table folders(id integer primary key, folder_path varchar unique not null);
"""


def localdocs_v3(db: Path, collections: dict[str, list[Path]]) -> Path:
    conn = sqlite3.connect(db)
    conn.executescript(V3_SCHEMA)
    for name, folders in collections.items():
        cid = conn.execute(
            "insert into collections(name, start_update_time, last_update_time, embedding_model)"
            " values(?, 0, 0, 'nomic-embed-text-v1.5') returning id",
            (name,),
        ).fetchone()[0]
        for folder in folders:
            conn.execute("insert or ignore into folders(path) values(?)", (str(folder),))
            fid = conn.execute("select id from folders where path = ?", (str(folder),)).fetchone()
            conn.execute("insert into collection_items values(?, ?)", (cid, fid[0]))
    conn.commit()
    conn.close()
    return db


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
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    gpt4all = home / ".local" / "share" / "nomic.ai" / "GPT4All"
    gpt4all.mkdir(parents=True)
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
