"""The `ember` command as a person runs it: a real subprocess, a private EMBER_HOME, the real model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def ember(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ember", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def test_ask_prints_an_answer_from_the_embedded_model() -> None:
    result = ember(
        "ask", "What is generative AI?", "--temperature", "0", "--seed", "7", "--max-tokens", "48"
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) > 10
    assert "Traceback" not in result.stderr


def test_ask_json_prints_one_object_with_timings() -> None:
    result = ember(
        "ask", "Name a colour.", "--json", "--temperature", "0", "--seed", "7", "--max-tokens", "24"
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(payload) >= {"answer", "model", "sources", "abstained", "ttft_s", "tokens_per_s"}
    assert payload["answer"]
    assert payload["model"]
    assert payload["abstained"] is False
    assert payload["ttft_s"] > 0 and payload["tokens_per_s"] > 0


def test_a_bad_model_path_is_one_clear_line_and_a_failing_exit(tmp_path: Path) -> None:
    bogus = tmp_path / "broken.gguf"
    bogus.write_bytes(b"not a model at all" * 64)
    result = ember("ask", "hi", "--model", str(bogus))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ember: ") and "GGUF" in lines[0]


def test_models_json_lists_the_embedded_default_as_available() -> None:
    result = ember("models", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows[0]["embedded"] and rows[0]["available"]


def test_doctor_reports_backends_and_paths(ember_home: Path) -> None:
    result = ember("doctor", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["paths"]["data"].startswith(str(ember_home))
    assert report["embedded_chat_model"]["available"] is True
    assert "gpu_offload" in report["llama_cpp"]
    assert report["problems"] == []


def test_doctor_text_says_each_thing_once(ember_home: Path) -> None:
    result = ember("doctor")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    keys = [line.strip().split(":")[0] for line in lines if line.startswith("  ")]
    assert keys.count("gpu_offload") == 1 and "gpu:" in result.stdout
    for raw in ("ram_total_bytes", "gpu_status", "gpu_note", "gpus"):
        assert raw not in keys
    assert "ram:" in result.stdout and "cpu_features: " in result.stdout
    assert not [line for line in lines if line != line.rstrip()]  # no trailing spaces


@pytest.mark.parametrize("command", [("doctor",), ("index", "{docs}"), ("ask", "hi")])
def test_a_data_folder_that_cannot_be_made_is_one_clear_line(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """EMBER_HOME under a regular file: the folders cannot be made. One line names the folder and
    what to do; no traceback."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "note.md").write_text("# Note\n\nThe kettle's warranty lasts two years.\n")
    argv = [part.format(docs=docs) for part in command]
    result = ember(*argv, env={"EMBER_HOME": str(blocker / "home")})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(f"ember: Ember cannot write to its folder {blocker / 'home'}")
    assert "EMBER_HOME" in lines[-1]


def test_an_ember_home_that_cannot_exist_at_all_is_one_clear_line() -> None:
    result = ember("ask", "hi", env={"EMBER_HOME": "/proc/ember-home"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("ember: Ember cannot write to its folder /proc/ember-home")
    )


def test_doctor_names_a_llama_cpp_that_does_not_load(tmp_path: Path) -> None:
    """A damaged install (llama.cpp's shared library gone) is a problem, not a quiet ``False``."""
    import llama_cpp

    broken = tmp_path / "site" / "llama_cpp"
    shutil.copytree(Path(llama_cpp.__file__).parent, broken)
    for library in (broken / "lib").glob("libllama.so*"):
        library.unlink()
    result = ember("doctor", "--json", env={"PYTHONPATH": str(tmp_path / "site")})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["llama_cpp"]["installed"] is False
    assert any("llama.cpp cannot be loaded" in problem for problem in report["problems"])


def _can_unshare_network() -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.mark.netns
@pytest.mark.skipif(
    not _can_unshare_network(), reason="needs root and `unshare -n` (network namespaces)"
)
def test_ask_works_with_no_network_at_all() -> None:
    result = subprocess.run(
        [
            "unshare",
            "-n",
            sys.executable,
            "-m",
            "ember",
            "ask",
            "What is generative AI?",
            "--json",
            "--temperature",
            "0",
            "--seed",
            "7",
            "--max-tokens",
            "32",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["answer"]


def test_models_add_checks_the_header_and_the_model_is_then_usable(tmp_path: Path) -> None:
    from ember.catalog import default_model

    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\xff" * 60)
    refused = ember("models", "add", str(bad))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert str(bad) in refused.stderr or "bad.gguf" in refused.stderr

    added = ember("models", "add", default_model().path, "--name", "my-smol", "--json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["family"] == "llama"
    shown = json.loads(ember("models", "show", "my-smol", "--json").stdout)
    assert shown["available"] is True
    asked = ember("ask", "Say hello.", "--model", "my-smol", "--max-tokens", "8", "--json")
    assert asked.returncode == 0, asked.stderr


def test_chat_keeps_the_conversation_in_history() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ember", "chat", "--temperature", "0", "--max-tokens", "16"],
        input="Hello!\nWhat did I just say?\n\n",
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stderr
    from ember.chats.store import ChatStore
    from ember.paths import ember_paths

    with ChatStore(ember_paths().chats_db) as store:
        (conversation,) = store.conversations()
        roles = [m.role for m in store.messages(conversation.id)]
    assert roles == ["user", "assistant", "user", "assistant"]


def test_no_save_leaves_no_history() -> None:
    result = ember("ask", "Hi", "--no-save", "--max-tokens", "4")
    assert result.returncode == 0, result.stderr
    from ember.paths import ember_paths

    assert not ember_paths().chats_db.exists()


# -- `ember PATH...` (the desktop entry runs `ember %F`) ------------------------------------------
# Argument routing only, in process: starting the window is covered by tests/e2e/test_app_start.py.


def test_a_path_instead_of_a_command_starts_the_app_with_that_path(tmp_path: Path) -> None:
    from ember import cli

    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n", encoding="utf-8")
    args = cli.parse_args([str(notes), str(tmp_path)])
    assert args.handler is cli._run_app
    assert args.paths == [notes.resolve(), tmp_path.resolve()]


def test_no_arguments_start_the_app_with_nothing_to_index(monkeypatch: pytest.MonkeyPatch) -> None:
    from ember import cli
    from ember.ui import app

    # The window itself is the subprocess harness's job (tests/e2e/test_app_process.py); here
    # only what `ember` with no arguments hands to it, through main()'s real dispatch.
    started: list[tuple[list[str], list[Path]]] = []

    def run_app(argv: Sequence[str], paths: Sequence[Path] = ()) -> int:
        started.append((list(argv), list(paths)))
        return 0

    monkeypatch.setattr(app, "run_app", run_app)
    assert cli.main([]) == 0
    assert started == [([], [])]


def test_a_missing_path_given_to_the_app_is_a_one_line_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ember import cli

    with pytest.raises(SystemExit) as exited:
        cli.parse_args(["app", str(tmp_path / "gone.pdf")])
    assert exited.value.code == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_a_missing_file_given_alone_is_named_as_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ember import cli

    with pytest.raises(SystemExit) as exited:
        cli.parse_args([str(tmp_path / "gone.pdf")])  # as the desktop entry would pass it
    assert exited.value.code == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_a_mistyped_command_still_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    from ember import cli

    with pytest.raises(SystemExit):
        cli.parse_args(["aks", "hello"])
    err = capsys.readouterr().err
    assert "invalid choice" in err and "ask" in err
