"""The whole hostile corpus through ``KnowledgeBase.index`` at once: each bad file fails alone with
its own reason, in bounded time and memory, and every good file is indexed.

The ingest runs in a child process so its peak memory (and its parser workers') can be read from
``getrusage``; as root, the child drops CAP_DAC_OVERRIDE so an unreadable file is unreadable.
Embedding is a hash (no model) so the time measured is Ember's: detection, parsing in the
sandbox, chunking, storing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support import format_files, nasty_files
from tests.support.children import REPO_ROOT, child_env

from ember.knowledge.chunking import MAX_CHUNKS_PER_DOCUMENT

pytestmark = pytest.mark.slow

# File (or folder) name -> the reason the ingest report must give for it.
EXPECTED_FAILURES = {
    "zip_bomb.docx": "it looks like a zip bomb",
    "many_members.docx": "its archive has 100017 members",
    "traversal.docx": "unsafe member name '../../evil.txt' (path traversal)",
    "entity_bomb.docx": "XML entity bomb risk",
    "truncated.pdf": "damaged PDF",
    "binary.txt": "binary file, not text",
    "png.txt": "damaged image",  # a PNG header and nothing else, under a .txt name
    "fifo.txt": "not a regular file: it is a FIFO (named pipe)",
    "loop": "symbolic link to a folder already included",
    "self.txt": "symbolic link loop",
    "sparse_5gb.txt": "file is too large (5.0 GB; the limit is 1.1 GB)",
    "corrupt.csv": "damaged CSV file",
    # PDFium aborts when the worker's memory limit refuses the inflated content stream.
    "decompression_bomb.pdf": "the PDF is too large when decompressed",
    "circular_xref.pdf": "no text found",  # pdfium recovers the (empty) page
    "self_pages.pdf": "damaged PDF: no page could be read",
    "encrypted_real.pdf": "password protected PDF",
    "image_only.pdf": "no text found: the PDF has no text layer, and OCR found no text",
    "bomb.png": "the image is too large (20,000 × 20,000 pixels)",
    "huge.png": "the image is too large",
    "truncated.jpg": "damaged image: image file is truncated",
    "blank.png": "no text found: OCR found no text in this image",
    "nuls.txt": "binary file, not text",
    "unreadable.txt": "permission denied",
    "data": "Ember's own data folder",
    "deep_controls.docx": "damaged Word document",
    # One of each newer format: zip bombs, an entity bomb, RTF nested deep, a mailbox that is not.
    **format_files.HOSTILE_REASONS,
}
EXPECTED_DONE = {
    "pdf_named.docx",  # a PDF wearing a .docx name
    "nested.html",
    "note.txt",  # inside the symlink loop, listed once
    "encrypted_empty.pdf",
    "utf16_bom.txt",
    "utf16_nobom.txt",
    "cp1252.txt",
    "shift_jis.txt",
    "invalid_utf8.txt",
    "one_line_200mb.txt",  # indexed up to the chunk cap, with a warning (below)
    "good.md",
    "good.pdf",
    "many_widgets.pdf",  # 100,000 filled fields: the first 2,000 read, with a warning (below)
}
# File name -> a warning the ingest report must give for it (the file is still indexed).
EXPECTED_WARNINGS = {
    "one_line_200mb.txt": f"indexed only the first {MAX_CHUNKS_PER_DOCUMENT:,} chunks of a very "
    "large file",
    "many_widgets.pdf": "more form fields that were not read",
}
MAX_SECONDS = 150
MAX_RSS_MB = 700  # measured ~215 MB in the indexing process
MAX_WORKER_RSS_MB = 1100  # parser workers run under a 1 GB address-space limit


def drop_file_permission_override() -> list[str]:
    """A command prefix that makes root obey file permissions (or nothing when not root)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: an unreadable file cannot be made")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]


def test_every_hostile_input_fails_alone_with_its_reason_in_bounded_time_and_memory(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    data_dir = home / "data"
    data_dir.mkdir(parents=True)
    corpus = tmp_path / "corpus"
    files = nasty_files.generate_all(corpus, data_dir=data_dir)
    (corpus / "good.md").write_text("# Good\n\nThis ordinary note is indexed.\n")
    nasty_files.write_pdf(corpus / "good.pdf", ["An ordinary PDF page."])
    files.update(format_files.generate_hostile(corpus / "formats", tmp_path / "format-sources"))
    long_name = files.pop("long_path.txt").name
    files.pop("empty.txt")
    assert set(EXPECTED_FAILURES) | set(EXPECTED_DONE) >= {p.name for p in files.values()}

    command = [
        *drop_file_permission_override(),
        sys.executable,
        "-m",
        "tests.support.hostile_ingest_child",
        str(corpus),
        str(data_dir),
    ]
    done = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=child_env(EMBER_HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=MAX_SECONDS + 60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])

    failed: dict[str, str] = outcome["failed"]
    for name, reason in EXPECTED_FAILURES.items():
        assert name in failed, f"{name} was not reported as failed"
        assert reason in failed[name], f"{name}: {failed[name]!r}"
    assert set(failed) == set(EXPECTED_FAILURES), "unexpected failures"
    assert set(outcome["done"]) == EXPECTED_DONE | {long_name}
    for name, message in EXPECTED_WARNINGS.items():
        assert any(message in m for m in outcome["warnings"].get(name, [])), outcome["warnings"]
    # The chunk cap bounds the work: the 200 MB file alone once made ~116k chunks.
    assert outcome["chunks"] < MAX_CHUNKS_PER_DOCUMENT + 1_000, outcome["chunks"]
    # An empty file inside a chosen folder is skipped quietly: nothing to index, nothing wrong.
    assert "empty.txt" not in failed and "empty.txt" not in outcome["done"]

    assert outcome["elapsed_s"] < MAX_SECONDS, outcome["stages"]
    assert outcome["self_rss_mb"] < MAX_RSS_MB, outcome
    assert outcome["workers_rss_mb"] < MAX_WORKER_RSS_MB, outcome
    assert not (tmp_path / "evil.txt").exists() and not (corpus.parent / "evil.txt").exists()
