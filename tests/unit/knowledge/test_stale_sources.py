"""A file deleted or changed after indexing is never cited as if it were still there.

Nothing watches the folders while Ember is closed. Users of other apps got answers cited to
files they had deleted (GPT4All #777; case 13 of the shared cases). Each search now checks the
size and modification time of the files it would return, leaves out those that went or changed,
and names them; `docs list` shows them, `docs reindex` brings them up to date.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ember.cancel import CancelToken
from ember.cli import main
from ember.knowledge import KnowledgeBase
from ember.knowledge.embedder import MiniLMEmbedder
from ember.knowledge.freshness import source_state, stale_note
from ember.knowledge.types import StaleSource

pytestmark = pytest.mark.slow

BOILER = "Boiler service\n\nThe wobblestone boiler in the cellar is serviced every October.\n"
GARDEN = "Garden plan\n\nPlant the fennimore tomatoes along the south wall after the frost.\n"


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "boiler.txt").write_text(BOILER, encoding="utf-8")
    (folder / "garden.txt").write_text(GARDEN, encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")
    return folder


def test_a_file_is_ok_changed_or_deleted_by_its_size_and_time(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("one")
    st = path.stat()
    assert source_state(str(path), st.st_size, st.st_mtime_ns) == "ok"
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert source_state(str(path), st.st_size, st.st_mtime_ns) == "changed"
    path.unlink()
    assert source_state(str(path), st.st_size, st.st_mtime_ns) == "deleted"


def test_a_deleted_file_is_left_out_of_search_and_named(
    tmp_path: Path, notes: Path, minilm: MiniLMEmbedder
) -> None:
    with KnowledgeBase(tmp_path / "kb", embedder=minilm) as kb:
        kb.index([notes], "notes")
        (notes / "boiler.txt").unlink()
        result = kb.search("When is the wobblestone boiler serviced?", None, 3)
        assert all(Path(hit.source).name != "boiler.txt" for hit in result.hits)
        assert result.stale == (StaleSource(str(notes / "boiler.txt"), "deleted", "notes"),)
        assert result.best_similarity is None or result.best_similarity < 0.5

        grounding = kb.retrieve("When is the wobblestone boiler serviced?", ["notes"])
        assert grounding.abstained  # the only passage that answered is gone
        assert [s.path for s in grounding.stale] == [str(notes / "boiler.txt")]
        assert "boiler.txt (deleted since it was indexed)" in stale_note(grounding.stale)


def test_a_changed_file_is_left_out_until_it_is_indexed_again(
    tmp_path: Path, notes: Path, minilm: MiniLMEmbedder
) -> None:
    with KnowledgeBase(tmp_path / "kb", embedder=minilm) as kb:
        kb.index([notes], "notes")
        (notes / "garden.txt").write_text(
            GARDEN.replace("fennimore tomatoes", "dwarf beans"), encoding="utf-8"
        )
        result = kb.search("where to plant the fennimore tomatoes", None, 3)
        assert [s.state for s in result.stale] == ["changed"]
        assert all(Path(hit.source).name != "garden.txt" for hit in result.hits)

        report = kb.reindex()  # finds the changed and deleted files by itself
        assert report.indexed == 1
        hit = kb.search("where to plant the dwarf beans", None, 1).hits[0]
        assert Path(hit.source).name == "garden.txt" and "dwarf beans" in hit.text


def test_reindex_forgets_a_deleted_file_and_naming_it_is_not_a_failure(
    tmp_path: Path, notes: Path, minilm: MiniLMEmbedder
) -> None:
    with KnowledgeBase(tmp_path / "kb", embedder=minilm) as kb:
        kb.index([notes], "notes")
        (notes / "boiler.txt").unlink()
        report = kb.index([notes / "boiler.txt"], "notes")  # what "Update index" does
        assert (report.removed, report.failed) == (1, [])
        assert "boiler.txt" not in {Path(d.path).name for d in kb.documents()}


def test_an_empty_file_is_listed_with_its_reason(
    notes: Path, minilm: MiniLMEmbedder, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", str(notes), "--json"]) == 0
    capsys.readouterr()
    (notes / "boiler.txt").unlink()
    assert main(["docs", "list", "--json"]) == 0
    listing = {Path(d["path"]).name: d for d in json.loads(capsys.readouterr().out)}
    assert (listing["empty.txt"]["state"], listing["empty.txt"]["error"]) == (
        "skipped",
        "empty file",
    )
    assert listing["boiler.txt"]["state"] == "deleted"
    assert listing["garden.txt"]["state"] == "done"

    assert main(["search", "wobblestone boiler service", "--json"]) == 0
    captured = capsys.readouterr()
    assert "boiler.txt" not in captured.out
    assert "Left out: boiler.txt (deleted since it was indexed)" in captured.err


def test_a_skipped_file_is_not_an_error_of_its_collection(
    tmp_path: Path, notes: Path, minilm: MiniLMEmbedder
) -> None:
    from ember.core import Core

    core = Core()  # in this test's own EMBER_HOME
    try:
        core.index([notes], "notes", lambda _event: None, CancelToken())
        [state] = core.collections()
        assert state.state == "ready" and state.failures == ()
    finally:
        core.close()


def test_reindex_passes_over_a_fifo_instead_of_waiting_on_it(
    tmp_path: Path, notes: Path, minilm: MiniLMEmbedder
) -> None:
    os.mkfifo(notes / "pipe.txt")
    with KnowledgeBase(tmp_path / "kb", embedder=minilm) as kb:
        kb.index([notes], "notes")
        assert {Path(d.path).name: d.skipped for d in kb.documents()}["pipe.txt"]
        report = kb.reindex()  # once hashed the FIFO's path: blocked forever
        assert report.failed == [] and report.indexed == 0


def test_a_file_whose_folder_cannot_be_found_is_kept_but_left_out(
    tmp_path: Path, minilm: MiniLMEmbedder
) -> None:
    drive = tmp_path / "usb"
    drive.mkdir()
    (drive / "boiler.txt").write_text(BOILER, encoding="utf-8")
    with KnowledgeBase(tmp_path / "kb", embedder=minilm) as kb:
        kb.index([drive], "usb")
        drive.rename(tmp_path / "unplugged")  # the drive's folder is gone, as when unplugged
        result = kb.search("wobblestone boiler", None, 3)
        assert result.hits == () and [s.state for s in result.stale] == ["unavailable"]
        assert kb.reindex().removed == 0  # not forgotten: it may come back
        (tmp_path / "unplugged").rename(drive)
        assert Path(kb.search("wobblestone boiler", None, 1).hits[0].source).name == "boiler.txt"


def test_a_file_saved_again_unchanged_is_still_cited(
    tmp_path: Path, notes: Path, minilm: MiniLMEmbedder
) -> None:
    with KnowledgeBase(tmp_path / "kb", embedder=minilm) as kb:
        kb.index([notes], "notes")
        boiler = notes / "boiler.txt"
        st = boiler.stat()
        os.utime(boiler, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # like `touch`
        result = kb.search("When is the wobblestone boiler serviced?", None, 1)
        assert result.stale == () and Path(result.hits[0].source).name == "boiler.txt"
