"""What every command shares: one ``--json`` flag, and the indexing progress display."""

from __future__ import annotations

import io
import json

import pytest

from ember.cli import main
from ember.cli.common import ProgressBar, describe
from ember.knowledge.ingest import ProgressEvent


@pytest.mark.parametrize(
    "argv",
    [["models", "--json", "list"], ["models", "list", "--json"], ["models", "--json"]],
)
def test_models_json_holds_wherever_the_flag_stands(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)
    assert any(row.get("embedded") for row in rows), rows


def test_without_json_models_print_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list"]) == 0
    assert capsys.readouterr().out.startswith("NAME")


def event(**changes: object) -> ProgressEvent:
    fields = {
        "files_done": 3,
        "files_total": 10,
        "chunks_done": 42,
        "bytes_done": 3_000_000,
        "bytes_total": 10_000_000,
        "current": "/docs/manual.pdf",
        "eta_s": 125.0,
        "elapsed_s": 9.0,
    }
    return ProgressEvent(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_progress_line_names_files_chunks_bytes_time_left_and_the_file() -> None:
    assert describe(event()) == ("3/10 files, 42 chunks, 3.0 MB/10.0 MB, 2 min left  manual.pdf")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_bar_is_drawn_with_counts_and_closed_on_its_own_line() -> None:
    stream = Terminal()
    bar = ProgressBar(stream)
    bar(event(phase="discovering"))
    bar(event())
    bar(event(files_done=10, bytes_done=10_000_000, phase="done"))
    bar.close()
    drawn = stream.getvalue()
    assert "10/10 files, 42 chunks" in drawn and "100%" in drawn
    assert drawn.endswith("\n")


def test_in_a_log_progress_is_a_plain_line_every_interval() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, interval_s=3600)
    bar(event())
    bar(event(files_done=4))  # within the interval: not repeated
    bar(event(phase="done"))
    bar.close()
    assert stream.getvalue().splitlines() == [describe(event())]


def test_a_progress_line_says_what_the_run_is_doing() -> None:
    reading = event(stage="reading", page=120, pages=261, eta_s=None)
    assert describe(reading).endswith("3.0 MB/10.0 MB  Reading manual.pdf, page 120/261")
    embedding = event(stage="embedding", passages_found=2633, chunks_done=1744)
    assert describe(embedding).endswith("2 min left  Embedding 1,744 / 2,633 passages")
    assert describe(event(stage="saving", eta_s=None)).endswith("  Saving…")


def test_a_download_in_a_log_writes_a_line_every_interval_and_at_once_on_a_new_state() -> None:
    from ember.cli.downloads import DownloadBar
    from ember.hub.types import DownloadEvent

    def download(state: str, done: int) -> DownloadEvent:
        return DownloadEvent("j1", "smol", state, done, 98_000_000, 4e6, 20.0)  # type: ignore[arg-type]

    stream = io.StringIO()
    bar = DownloadBar(stream, interval_s=3600)
    for event in (download("downloading", 1), download("downloading", 2), download("stalled", 2)):
        bar(event)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert [line.split()[-1] for line in lines] == ["left", "stalled"], lines


def test_on_a_terminal_a_download_bar_counts_bytes_in_decimal_units() -> None:
    from ember.cli.downloads import DownloadBar
    from ember.hub.types import DownloadEvent

    stream = Terminal()
    bar = DownloadBar(stream)
    bar(DownloadEvent("j1", "smol", "downloading", 41_300_000, 98_400_000))
    bar.close()
    assert "41.3M/98.4M" in stream.getvalue()  # 1024 units would draw 39.4M/93.8M
