"""Ember's built-in tools, on real files and a real knowledge-base grounding."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pytest

from ember.cancel import CancelToken
from ember.config import Settings
from ember.errors import ToolError
from ember.knowledge.grounding import DocumentRetriever
from ember.knowledge.retrieval import Hit, SearchResult
from ember.tools.builtin import Calculator, CurrentDatetime, ReadFile, SearchDocuments
from ember.tools.loop import run_tool
from ember.tools.toolbox import Toolbox

CANCEL = CancelToken()


def calc(expression: str) -> str:
    return Calculator().run({"expression": expression}, CANCEL).text


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1234 * 5678", "7006652"),
        ("2**100", str(2**100)),
        ("(3 + 4) * 12 / 7", "12"),
        ("10 / 4", "2.5"),
        ("sqrt(16) + floor(2.7)", "6"),
        ("2 ^ 10", "1024"),
        ("+".join(["1"] * 240), "240"),
        ("-3 % 5", "2"),
    ],
)
def test_the_calculator_computes_exactly(expression: str, expected: str) -> None:
    assert calc(expression) == expected


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("9**9**9", "too large"),
        ("10**100000", "too large"),
        ('"a" * 10**9', "numbers only"),
        ('__import__("os").system("echo hi")', "Cannot evaluate"),
        ("(1).__class__", "Cannot evaluate"),
        ("open('/etc/passwd')", "Cannot evaluate"),
        ("1 / 0", "division by zero"),
        ("1 +" * 300 + "1", "too long"),
        ("", "needs an expression"),
        ("10**5000", "too large"),  # Python shows at most 4,300 digits
        ("10**4000 * 10**4000", "too large to show"),
        ("'x'.zfill(10**9)", "calls only its own functions"),  # a gigabyte string
        ("(10).to_bytes(10**9, 'big')", "calls only its own functions"),
        ("round(10**400, -10**5)", "round"),  # builds 10**100000 (-10**9 would hang)
        ("1 == 1", "does not read Compare"),
        ("-" * 400 + "1", "nested more than"),
    ],
)
def test_the_calculator_refuses_what_is_unsafe_or_wrong(expression: str, problem: str) -> None:
    with pytest.raises(ToolError, match=problem):
        calc(expression)


def test_current_datetime_is_local_iso_time_with_its_zone() -> None:
    text = CurrentDatetime().run({}, CANCEL).text
    stamp = datetime.fromisoformat(text.split(" ")[0])
    assert stamp.tzinfo is not None
    assert abs((datetime.now().astimezone() - stamp).total_seconds()) < 60
    assert "time zone" in text


@pytest.fixture
def granted(tmp_path: Path) -> Path:
    folder = tmp_path / "granted"
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.txt").write_text("The spare key is under the blue pot.\n", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("not for the model", encoding="utf-8")
    return folder


def read(folder: Path, path: str) -> str:
    return ReadFile(lambda: [str(folder)]).run({"path": path}, CANCEL).text


def test_read_file_reads_inside_the_granted_folder(granted: Path) -> None:
    assert "blue pot" in read(granted, str(granted / "notes.txt"))
    assert "blue pot" in read(granted, "notes.txt")  # relative to the (first) granted folder
    assert "notes.txt" in read(granted, str(granted))  # a folder is listed


@pytest.mark.parametrize("escape", ["../secret.txt", "sub/../../secret.txt", "/etc/passwd"])
def test_read_file_never_leaves_the_granted_folders(granted: Path, escape: str) -> None:
    with pytest.raises(ToolError, match="outside the folders"):
        read(granted, escape)


def test_read_file_does_not_follow_a_link_out_of_the_folder(granted: Path) -> None:
    os.symlink(granted.parent / "secret.txt", granted / "innocent.txt")
    with pytest.raises(ToolError, match="outside the folders"):
        read(granted, str(granted / "innocent.txt"))


def test_read_file_refuses_large_and_binary_files_and_ungranted_use(granted: Path) -> None:
    (granted / "big.log").write_bytes(b"x" * (3 * 1024 * 1024))
    (granted / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0")
    with pytest.raises(ToolError, match="too large"):
        read(granted, "big.log")
    with pytest.raises(ToolError, match="not a text file"):
        read(granted, "image.png")
    with pytest.raises(ToolError, match="no folder"):
        ReadFile(lambda: []).run({"path": str(granted / "notes.txt")}, CANCEL)


def test_read_file_refuses_pipes_and_devices_instead_of_hanging(granted: Path) -> None:
    os.mkfifo(granted / "pipe")  # no writer: reading it would block for ever
    with pytest.raises(ToolError, match="not a regular file"):
        run_tool(ReadFile(lambda: [str(granted)]), {"path": "pipe"}, CancelToken(), 5.0)
    with pytest.raises(ToolError, match="not a regular file"):
        ReadFile(lambda: ["/dev"]).run({"path": "/dev/zero"}, CANCEL)  # endless, "empty"


def test_read_file_reads_a_proc_file_that_says_it_is_empty() -> None:
    text = ReadFile(lambda: ["/proc/self"]).run({"path": "status"}, CANCEL).text
    assert "Pid:" in text


class OneManual:
    """The knowledge base's search, answering with one real passage (Ember's own grounding
    then abstains or not, numbers and fences it)."""

    def search(
        self, query: str, collections: Sequence[str] | None = None, k: int | None = None
    ) -> SearchResult:
        if "kettle" not in query:
            return SearchResult(hits=(), best_similarity=None)
        text = "The Aurora 3 kettle switches itself off after 40 seconds at the boil."
        hit = Hit(1, "/docs/aurora.txt", "manuals", 2, "Care", text, 0, len(text), 0.74, 0.74)
        return SearchResult(hits=(hit,), best_similarity=0.74)


def test_search_documents_returns_numbered_passages_and_their_citations() -> None:
    tool = SearchDocuments(lambda: DocumentRetriever(OneManual()))
    found = tool.run({"query": "kettle switch off"}, CANCEL)
    assert found.text.startswith("[1] aurora.txt")
    assert "40 seconds" in found.text
    assert [c.source for c in found.citations] == ["/docs/aurora.txt"]
    nothing = tool.run({"query": "weather in Oslo"}, CANCEL)
    assert nothing.citations == () and "No passage" in nothing.text


def test_the_toolbox_asks_before_anything_but_the_read_only_built_ins(tmp_path: Path) -> None:
    settings = Settings()
    remembered = settings.tools_always_allowed  # saved in the settings, as the core does
    toolbox = Toolbox(settings, retriever=lambda: None, remember=remembered.append)
    names = [info.name for info in toolbox.infos()]
    assert names == ["search_documents", "calculator", "current_datetime", "read_file"]
    asks = {info.name: toolbox.needs_approval(info) for info in toolbox.infos()}
    assert asks == {
        "search_documents": False,
        "calculator": False,
        "current_datetime": False,
        "read_file": True,
    }
    read_file = toolbox.get("read_file").info
    toolbox.always_allow(read_file)
    assert not toolbox.needs_approval(read_file)
    assert remembered == ["built-in/read_file"]
    with pytest.raises(ToolError, match="no tool called 'rm_rf'"):
        toolbox.get("rm_rf")
    assert [t.info.name for t in toolbox.select(["calculator", "gone", "read_file"])] == [
        "calculator",
        "read_file",
    ]


def test_a_tool_always_allowed_in_the_settings_runs_without_asking() -> None:
    toolbox = Toolbox(Settings(tools_always_allowed=["built-in/read_file"]))
    assert not toolbox.needs_approval(toolbox.get("read_file").info)
    assert "search_documents" not in [i.name for i in toolbox.infos()]  # no knowledge base
