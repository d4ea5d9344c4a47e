"""What the documents page (and ``ember docs``) does to a collection: list its files with state,
reason and pages, rename it, re-index one file anew, watch its folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support.knowledge_corpus import write_pdf

from ember.chats.store import ChatStore
from ember.cli import main
from ember.core import Core, follow_rename
from ember.errors import StorageError
from ember.knowledge import KnowledgeBase
from ember.knowledge.roots import merge_roots


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "manuals"
    (folder / "sub").mkdir(parents=True)
    (folder / "router.md").write_text("# Router\n\nHold the pinhole button to reset.\n")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    (folder / "firmware.bin").write_bytes(bytes(range(256)) * 4)
    write_pdf(folder / "sub" / "guide.pdf")
    return folder


def _rows(kb: KnowledgeBase, collection: str) -> dict[str, tuple[str, str, int, int]]:
    return {
        Path(r.path).name: (r.state, r.reason, r.passages, r.pages)
        for r in kb.document_rows(collection)
    }


def test_rows_name_every_file_with_its_state_reason_passages_and_pages(tiny_kb, folder) -> None:
    report = tiny_kb.index([folder], "manuals")
    assert [Path(f.path).name for f in report.failed] == ["broken.pdf"]  # the binary: no failure
    rows = _rows(tiny_kb, "manuals")
    assert set(rows) == {"router.md", "broken.pdf", "firmware.bin", "guide.pdf"}
    assert rows["router.md"][:2] == ("done", "") and rows["router.md"][2] >= 1
    assert rows["router.md"][3] == 0  # Markdown has no pages
    assert rows["guide.pdf"][0] == "done" and rows["guide.pdf"][3] >= 2  # pages with text
    state, reason, passages, _pages = rows["broken.pdf"]
    assert state == "failed" and reason and passages == 0
    # A binary file in the folder was passed over: listed as skipped, with discovery's reason.
    assert rows["firmware.bin"][:2] == ("skipped", "unsupported file type '.bin'")

    (folder / "router.md").write_text("# Router\n\nChanged since.\n")
    assert _rows(tiny_kb, "manuals")["router.md"][:2] == ("changed", "changed since it was indexed")


def test_rename_keeps_documents_and_watched_folders_and_refuses_bad_names(tiny_kb, folder) -> None:
    tiny_kb.index([folder], "manuals")
    tiny_kb.index([folder / "router.md"], "other")
    assert tiny_kb.watch_folders("manuals", True) == (str(folder),)
    for bad in ("", "   ", "other", "a\nb"):
        with pytest.raises(StorageError):
            tiny_kb.rename_collection("manuals", bad)
    with pytest.raises(StorageError, match="no collection"):
        tiny_kb.rename_collection("nothing", "fresh")

    tiny_kb.rename_collection("manuals", "Home manuals")
    assert [c.name for c in tiny_kb.collections()] == ["Home manuals", "other"]
    assert "router.md" in _rows(tiny_kb, "Home manuals")
    assert tiny_kb.watched_folders() == {"Home manuals": (str(folder),)}
    hits = tiny_kb.search("pinhole reset", ["Home manuals"]).hits
    assert hits and Path(hits[0].source).name == "router.md"

    assert tiny_kb.watch_folders("Home manuals", False) == ()
    assert tiny_kb.watched_folders() == {}


def test_redo_reads_one_file_anew_and_forgets_a_deleted_one(tiny_kb, tiny, folder) -> None:
    tiny_kb.index([folder], "manuals")
    before = {r.path: r.record.id for r in tiny_kb.document_rows("manuals")}
    router = folder / "router.md"
    embedded = tiny.texts_embedded
    report = tiny_kb.redo([router], "manuals")
    assert report.indexed == 1 and tiny.texts_embedded > embedded  # embedded again, unchanged
    after = {r.path: r.record.id for r in tiny_kb.document_rows("manuals")}
    assert after[str(router)] != before[str(router)]
    assert {p: i for p, i in after.items() if p != str(router)} == {
        p: i for p, i in before.items() if p != str(router)
    }  # the other files were left alone

    router.unlink()
    assert tiny_kb.redo([router], "manuals").removed == 1
    assert str(router) not in {r.path for r in tiny_kb.document_rows("manuals")}


def test_roots_inside_another_root_are_dropped() -> None:
    existing = ["/a/b", "/d/w.txt"]
    added = ["/a/b/c/y.txt", "/a/bb/z.txt", "/d", "/a/b"]
    assert merge_roots(existing, added) == ["/a/b", "/a/bb/z.txt", "/d"]


def test_chats_follow_a_renamed_collection(tmp_path: Path) -> None:
    with ChatStore(tmp_path / "chats.sqlite3") as store:
        both = store.create("both", collections=("manuals", "notes"))
        plain = store.create("plain")
        trashed = store.create("trashed", collections=("manuals",))
        store.delete(trashed.id)
        assert follow_rename(store, "manuals", "Home manuals") == 2
        assert store.get(both.id).collections == ("Home manuals", "notes")
        assert store.get(plain.id).collections == ()
        assert store.get(trashed.id).collections == ("Home manuals",)


@pytest.mark.slow
def test_ember_docs_rename_renames_and_chats_follow(folder, capsys) -> None:
    core = Core()
    try:
        core.knowledge().index([folder / "router.md"], "manuals")
        chat = core.store.create("ask", collections=("manuals",))
    finally:
        core.close()
    assert main(["docs", "rename", "manuals", "Home", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"renamed": "manuals", "to": "Home", "chats": 1}
    assert main(["docs", "rename", "manuals", "Again"]) != 0  # there is no "manuals" any more
    core = Core()
    try:
        assert [c.name for c in core.knowledge().collections()] == ["Home"]
        assert core.store.get(chat.id).collections == ("Home",)
    finally:
        core.close()


def test_a_run_and_the_collection_count_the_files_passed_over(folder) -> None:
    from ember.knowledge.helper import report_from_json, report_to_json

    core = Core()
    try:
        report = core.knowledge().index([folder / "broken.pdf", folder], "manuals")
        # The binary file is in the run's report (as the documents page lists it), not lost.
        skipped = [(Path(f.path).name, f.reason) for f in report.passed_over]
        assert skipped == [("firmware.bin", "unsupported file type '.bin'")]
        assert report_from_json(report_to_json(report)).passed_over == report.passed_over
        (state,) = core.collections()
        assert state.skipped == 1 and len(state.failures) == 1 and state.info.documents == 2
    finally:
        core.close()
