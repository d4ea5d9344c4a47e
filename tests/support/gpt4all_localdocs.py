"""GPT4All LocalDocs databases as GPT4All writes them, for the import tests: its own table
definitions (``gpt4all-chat/src/database.cpp``), filled with collections and folders."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

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


def gpt4all_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make ``home`` the HOME, without XDG folders set, and return GPT4All's data folder in it
    (``~/.local/share/nomic.ai/GPT4All``, made empty), where its LocalDocs database lives."""
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    folder = home / ".local" / "share" / "nomic.ai" / "GPT4All"
    folder.mkdir(parents=True)
    return folder


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
