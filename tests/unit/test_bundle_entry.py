"""The bundle's entry point standing in for ``python -m`` (packaging/frozen_main.py, ember.bundle).

In the bundle ``sys.executable`` is Ember itself, and Ember's child processes are started as
``[sys.executable, "-m", MODULE, ...]``. These tests run the real entry script with the venv's
Python, as the frozen executable runs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import ember
from ember.bundle import ModuleRefused, module_invocation

ENTRY = Path(__file__).resolve().parents[2] / "packaging" / "frozen_main.py"
DESKTOP = Path(ember.__file__).resolve().parents[1]


def run_entry(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.fspath(DESKTOP)}
    return subprocess.run(
        [sys.executable, os.fspath(ENTRY), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_a_plain_command_line_is_the_ember_command() -> None:
    assert module_invocation(["ember"]) is None
    assert module_invocation(["ember", "ask", "-m", "x"]) is None  # -m only as the first argument


def test_ember_modules_are_run_with_their_arguments() -> None:
    assert module_invocation(["ember", "-m", "ember.knowledge.parse_worker"]) == (
        "ember.knowledge.parse_worker",
        [],
    )
    assert module_invocation(["ember", "-m", "ember", "--version", "x"]) == (
        "ember",
        ["--version", "x"],
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["ember", "-m", "json.tool"],
        ["ember", "-m", "emberish"],
        ["ember", "-m", "os"],
        ["ember", "-m"],
        ["ember", "-m", ""],
    ],
)
def test_other_modules_are_refused(argv: list[str]) -> None:
    with pytest.raises(ModuleRefused):
        module_invocation(argv)


def test_the_entry_runs_an_ember_module_as_main() -> None:
    done = run_entry("-m", "ember", "--version")  # ember/__main__.py, then the CLI's argparse
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"ember {ember.__version__}"


def test_the_entry_passes_the_module_its_own_arguments() -> None:
    # The CLI sees only what follows the module: an unknown command is its usage error (2).
    done = run_entry("-m", "ember", "no-such-command")
    assert done.returncode == 2
    assert "invalid choice: 'no-such-command'" in done.stderr


def test_the_entry_refuses_a_module_that_is_not_embers() -> None:
    done = run_entry("-m", "http.server", "8000")
    assert done.returncode == 2
    assert "runs only its own modules with -m (ember.*), not 'http.server'" in done.stderr
    assert done.stdout == ""


def test_without_m_the_entry_is_the_ember_command() -> None:
    done = run_entry("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"ember {ember.__version__}"


def test_programs_ember_starts_get_the_persons_library_path_back() -> None:
    from ember.bundle import restore_library_path

    started_with = {
        "LD_LIBRARY_PATH": "/opt/ember/_internal",
        "LD_LIBRARY_PATH_ORIG": "/usr/local/lib",
    }
    restore_library_path(started_with)
    assert started_with == {"LD_LIBRARY_PATH": "/usr/local/lib"}
    started_without = {"LD_LIBRARY_PATH": "/opt/ember/_internal", "HOME": "/home/a"}
    restore_library_path(started_without)
    assert started_without == {"HOME": "/home/a"}
