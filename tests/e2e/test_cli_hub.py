"""``ember models search`` and ``ember models info`` as a person runs them: the real command in a
subprocess, ``HF_ENDPOINT`` naming the loopback hub that serves real GGUF bytes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support.hf_hub_server import HubTestServer
from tests.support.hub_repos import CATALOG_REPO, GATED, MULTI, add_test_repos
from tests.support.real_models import SMOLLM2_REPO


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubTestServer]:
    with HubTestServer() as server:
        add_test_repos(server, tmp_path_factory.mktemp("hub-files"))
        yield server


def ember(hub: HubTestServer, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HF_ENDPOINT")}
    return subprocess.run(
        [sys.executable, "-m", "ember", "models", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**environ, "HF_ENDPOINT": hub.url, **env},
        stdin=subprocess.DEVNULL,
    )


def test_search_json_lists_recommended_catalog_models_first(hub: HubTestServer) -> None:
    result = ember(hub, "search", "qwen", "--json")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert hits[0]["repo_id"] == CATALOG_REPO and hits[0]["recommended"] is True
    assert [h["repo_id"] for h in hits if not h["recommended"]] == ["someone/qwen-fan-GGUF"]
    assert hits[-1]["repo_id"] == "someone/qwen-fan-GGUF"  # after every recommended one
    unlisted = next(h for h in hits if h["repo_id"].endswith("/Qwen2.5-7B-Instruct-GGUF"))
    assert unlisted["downloads"] is None and unlisted["likes"] is None  # the hub did not say


def test_search_shows_a_dash_not_zero_for_counts_the_hub_did_not_give(hub: HubTestServer) -> None:
    result = ember(hub, "search", "qwen")
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if "Qwen2.5-7B-Instruct" in line)
    assert row.split()[1:3] == ["—", "—"]


def test_search_by_a_pasted_url_prints_that_repository(hub: HubTestServer) -> None:
    result = ember(hub, "search", f"https://huggingface.co/{SMOLLM2_REPO}")
    assert result.returncode == 0, result.stderr
    assert SMOLLM2_REPO in result.stdout and "50.0k" in result.stdout


def test_info_json_gives_quants_sizes_licence_context_fit_and_projector(
    hub: HubTestServer,
) -> None:
    result = ember(hub, "info", MULTI, "--json")
    assert result.returncode == 0, result.stderr
    repo = json.loads(result.stdout)
    assert repo["license"] == "mit" and repo["default_quant"] == "Q4_K_M"
    assert repo["n_ctx_train"] == 8192  # from the Q4_K_M header (SmolLM2), read by range
    quants = {q["quantization"]: q for q in repo["quants"]}
    assert set(quants) == {"Q4_K_M", "Q8_0", "F16"}
    assert quants["Q4_K_M"]["default"] and quants["Q4_K_M"]["size_bytes"] == 98362432
    assert quants["F16"]["split"] and len(quants["F16"]["files"]) == 3
    for name in ("Q4_K_M", "Q8_0"):  # real models of 98 and 253 MB fit this machine
        assert quants[name]["fit"]["label"] == "fits", quants[name]["fit"]
        assert quants[name]["fit"]["text"] == "Fits"
    # The split F16 is SmolLM2 as a real three-part split: its fit is read from the parts.
    assert quants["F16"]["fit"]["label"] == "fits", quants["F16"]["fit"]
    assert [p["filename"] for p in repo["projectors"]] == ["mmproj-multi-f16.gguf"]


def test_info_prints_a_table_with_fit_labels_and_the_preselected_quant(
    hub: HubTestServer,
) -> None:
    result = ember(hub, "info", f"https://huggingface.co/{MULTI}/blob/main/multi-Q8_0.gguf")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    starred = [line for line in lines if line.startswith("*")]
    assert len(starred) == 1 and "Q8_0" in starred[0]  # the file the URL pointed at
    assert "Fits" in starred[0] and "253 MB" in starred[0]
    assert "context length: 32,768 tokens" in result.stdout  # Gemma 3's, from the Q8_0 header
    assert "mmproj-multi-f16.gguf" in result.stdout


def test_info_on_a_gated_repository_says_to_set_hf_token(hub: HubTestServer) -> None:
    result = ember(hub, "info", GATED)
    assert result.returncode == 0, result.stderr
    assert "gated" in result.stdout and "HF_TOKEN" in result.stdout
    assert "Unknown" in result.stdout
    with_token = ember(hub, "info", GATED, "--json", HF_TOKEN=hub.token)
    assert json.loads(with_token.stdout)["quants"][0]["fit"]["label"] == "fits"


def test_a_repository_the_hub_lacks_is_one_clear_line(hub: HubTestServer) -> None:
    result = ember(hub, "info", "nobody/nothing")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ember: The hub at ")
    assert "no model repository nobody/nothing" in lines[0]


def test_the_hub_answering_429_then_200_still_answers(hub: HubTestServer) -> None:
    hub.faults.retry_after_s = 0.2
    hub.faults.api_statuses[:] = [429]
    result = ember(hub, "info", SMOLLM2_REPO, "--json", "--no-fit")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["quants"][0]["quantization"] == "Q4_1"
    assert hub.faults.api_statuses == []


def test_an_unreachable_hub_is_one_clear_line_without_retry_logs(hub: HubTestServer) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ember", "models", "search", "gemma"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HF_ENDPOINT": "http://127.0.0.1:9"},  # nothing listens there
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ember: Cannot reach the model hub"), lines
