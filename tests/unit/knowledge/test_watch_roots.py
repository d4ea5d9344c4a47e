"""What a watch on a collection follows (the files and folders the person added, never the
folders around them), and what a watch's run may not do (forget the documents of a root that is
gone: an unplugged drive, a folder moved away)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ember.knowledge import DB_NAME, KnowledgeBase
from ember.knowledge.store import KnowledgeStore

TEXT = "The lawn mower blade is sharpened every spring with a flat file."


def _names(kb: KnowledgeBase, collection: str) -> list[str]:
    return sorted(Path(r.path).name for r in kb.documents(collection))


def test_a_watched_file_is_indexed_again_alone_never_its_folder(tiny_kb, tmp_path) -> None:
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    manual = downloads / "manual.txt"
    manual.write_text(TEXT)
    (downloads / "invoice.txt").write_text("Invoice 1234: one garden hose, paid in cash.")
    tiny_kb.index([manual], "manual")

    watched = tiny_kb.watch_folders("manual", True)
    assert watched == (str(manual),)  # the file that was added, not ~/Downloads
    tiny_kb.index([Path(p) for p in watched], "manual", watched=True)  # what a watch's run does
    assert _names(tiny_kb, "manual") == ["manual.txt"]


def test_roots_are_what_was_added_files_and_folders(tiny_kb, tmp_path) -> None:
    folder = tmp_path / "notes"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.txt").write_text(TEXT)
    single = tmp_path / "elsewhere" / "b.txt"
    single.parent.mkdir()
    single.write_text("Bread rises best in a warm kitchen.")
    tiny_kb.index([folder / "sub" / "a.txt"], "mixed")
    tiny_kb.index([folder], "mixed")  # covers the file added before
    tiny_kb.index([single], "mixed")
    tiny_kb.index([folder / "sub"], "mixed")  # inside a root: adds nothing
    assert tiny_kb.watch_folders("mixed", True) == (str(single), str(folder))


def test_a_collection_indexed_before_roots_were_recorded_watches_its_files(tmp_path, tiny) -> None:
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    for name in ("manual.txt", "recipe.txt"):
        (downloads / name).write_text(f"{TEXT} ({name})")
    (downloads / "invoice.txt").write_text("Invoice 1234: one garden hose, paid in cash.")
    kb_dir = tmp_path / "kb"
    with KnowledgeBase(kb_dir, embedder=tiny) as kb:
        kb.index([downloads / "manual.txt", downloads / "recipe.txt"], "old")
    # What a database migrated up to knowledge-5 looks like: no table of roots yet.
    conn = sqlite3.connect(kb_dir / DB_NAME)
    conn.execute("DROP TABLE collection_roots")
    conn.execute("DELETE FROM _migrations WHERE name = 'knowledge-6-collection-roots'")
    for column in ("text_source", "ocr_pages", "ocr_confidence", "ocr_empty_pages"):  # 7's
        conn.execute(f"ALTER TABLE documents DROP COLUMN {column}")
    conn.execute("DELETE FROM _migrations WHERE name = 'knowledge-7-text-sources'")
    conn.execute("PRAGMA user_version = 5")
    conn.commit()
    conn.close()

    with KnowledgeBase(kb_dir, embedder=tiny) as kb:
        files = (str(downloads / "manual.txt"), str(downloads / "recipe.txt"))
        assert kb.watch_folders("old", True) == files  # each file, never ~/Downloads
        kb.index([Path(p) for p in files], "old", watched=True)
        assert _names(kb, "old") == ["manual.txt", "recipe.txt"]
        # Adding to it keeps its files as roots beside the new one.
        other = tmp_path / "other.txt"
        other.write_text("Bread rises best in a warm kitchen.")
        kb.index([other], "old")
        assert kb.watch_folders("old", True) == (*files, str(other))


def test_a_removed_root_is_no_longer_watched(tiny_kb, tmp_path) -> None:
    folder, single = tmp_path / "notes", tmp_path / "single.txt"
    folder.mkdir()
    (folder / "a.txt").write_text(TEXT)
    single.write_text("Bread rises best in a warm kitchen.")
    tiny_kb.index([folder, single], "notes")
    assert tiny_kb.watch_folders("notes", True) == (str(folder), str(single))
    tiny_kb.remove(folder, "notes")
    assert tiny_kb.watched_folders() == {"notes": (str(single),)}
    assert tiny_kb.watch_folders("notes", True) == (str(single),)
    # Re-indexing one file anew (the page's Re-index) keeps it a root.
    tiny_kb.redo([single], "notes")
    assert tiny_kb.watch_folders("notes", True) == (str(single),)


def test_a_watch_keeps_the_documents_of_an_unplugged_drive(tiny_kb, tmp_path) -> None:
    drive = tmp_path / "usb" / "drive"
    drive.mkdir(parents=True)
    (drive / "a.txt").write_text(TEXT)
    (drive / "b.txt").write_text("Bread rises best in a warm kitchen.")
    tiny_kb.index([drive], "usb")
    watched = [Path(p) for p in tiny_kb.watch_folders("usb", True)]
    drive.rename(tmp_path / "usb" / "away")  # unplugged, or moved away

    report = tiny_kb.index(watched, "usb", watched=True)
    assert report.removed == 0 and not report.failed
    assert _names(tiny_kb, "usb") == ["a.txt", "b.txt"]
    assert {r.state for r in tiny_kb.document_rows("usb")} == {"unavailable"}
    assert tiny_kb.collections()[0].documents == 2

    # Plugged in again and changed: the watch's run carries on as before.
    (tmp_path / "usb" / "away").rename(drive)
    (drive / "b.txt").unlink()
    assert tiny_kb.index(watched, "usb", watched=True).removed == 1
    # Only a run the person asks for forgets a root that is gone.
    drive.rename(tmp_path / "usb" / "away")
    assert tiny_kb.index(watched, "usb").removed == 1
    assert _names(tiny_kb, "usb") == []


def test_a_database_at_knowledge_5_gets_the_table_of_roots(tmp_path) -> None:
    from ember.db import connect, migrate
    from ember.knowledge.migrations import MIGRATIONS

    conn = connect(tmp_path / DB_NAME)
    migrate(conn, MIGRATIONS[:5], label="knowledge")
    conn.close()
    store = KnowledgeStore(tmp_path / DB_NAME)
    try:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert store.conn.execute("SELECT count(*) FROM collection_roots").fetchone()[0] == 0
    finally:
        store.close()
