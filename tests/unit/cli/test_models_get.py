"""``ember models get|rm|list`` against a loopback hub serving the real SmolLM2 file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support.hf_hub_server import HubTestServer
from tests.support.real_models import SMOLLM2_FILE, SMOLLM2_REPO, SMOLLM2_SHA256, smollm2_gguf

from ember import catalog
from ember.cli import main
from ember.files import sha256_file
from ember.hub.downloads import DownloadQueue
from ember.hub.types import HubFile, Quant


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch):
    with HubTestServer() as server:
        server.add_file(SMOLLM2_REPO, smollm2_gguf(), sha256=SMOLLM2_SHA256)
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def test_get_a_repo_then_list_and_rm(hub: HubTestServer, capsys: pytest.CaptureFixture) -> None:
    assert main(["models", "get", SMOLLM2_REPO, "--json"]) == 0
    out, err = capsys.readouterr()
    got = json.loads(out)
    assert got["origin"] == f"hub:{SMOLLM2_REPO}" and got["sha256"] == SMOLLM2_SHA256
    assert sha256_file(got["path"]) == SMOLLM2_SHA256
    assert "100%" in err and "done" in err  # progress lines on stderr, not stdout

    assert main(["models", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert any(r["name"] == got["name"] and r["available"] for r in rows)

    assert main(["models", "rm", got["name"]]) == 0
    assert "deleted" in capsys.readouterr().out
    assert not Path(got["path"]).exists()
    assert catalog.user_models() == []


def test_get_a_pasted_file_url_with_a_quant_name(
    hub: HubTestServer, capsys: pytest.CaptureFixture
) -> None:
    url = f"{hub.url}/{SMOLLM2_REPO}/blob/main/{SMOLLM2_FILE}"
    assert main(["models", "get", url, "--name", "smol"]) == 0
    assert "Downloaded and verified smol" in capsys.readouterr().out
    assert catalog.find_model("smol").origin == f"hub:{SMOLLM2_REPO}"


def test_an_unknown_quant_names_the_ones_there(
    hub: HubTestServer, capsys: pytest.CaptureFixture
) -> None:
    assert main(["models", "get", SMOLLM2_REPO, "--quant", "Q8_0"]) != 0
    assert "Q4_1" in capsys.readouterr().err


def test_list_shows_an_unfinished_download_and_rm_cancels_it(
    hub: HubTestServer, capsys: pytest.CaptureFixture
) -> None:
    queue = DownloadQueue()
    size = smollm2_gguf().stat().st_size
    job = queue.add(
        SMOLLM2_REPO, Quant("Q4_1", (HubFile(SMOLLM2_FILE, size, SMOLLM2_SHA256),)), revision="main"
    )
    partial = queue.folder(SMOLLM2_REPO) / (SMOLLM2_FILE + ".incomplete")
    partial.parent.mkdir(parents=True)
    partial.write_bytes(smollm2_gguf().read_bytes()[: size // 4])
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "DOWNLOADS" in out and job in out and "25%" in out
    assert main(["models", "rm", job]) == 0
    assert not partial.exists() and queue.jobs()[0].state == "cancelled"
