"""The `ember` command as a person runs it: a real subprocess, a private EMBER_HOME, the real model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
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
