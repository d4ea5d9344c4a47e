"""From the window: search the (loopback) hub, download Gemma 3 270M, and chat with it.

The hub is :class:`~tests.support.hf_hub_server.HubTestServer` serving the real Gemma 3 270M
GGUF, reached through ``HF_ENDPOINT`` as any hub would be; the download goes through the real
queue (``ember.hub.downloads``), the model loads in llama.cpp and answers in the chat."""

from __future__ import annotations

from pathlib import Path

import pytest

from ember import catalog
from tests.support.hf_hub_server import serve_real_models
from tests.support.real_models import (
    GEMMA3_FILE,
    GEMMA3_REPO,
    GEMMA3_SHA256,
    SMOLLM2_REPO,
    SMOLLM2_SHA256,
)
from tests.support.ui_app import close_window, deterministic_settings, open_window, send_and_wait

pytestmark = [pytest.mark.slow, pytest.mark.integration]

DOWNLOAD_TIMEOUT_MS = 120_000


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch):
    server = serve_real_models()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    yield server
    server.close()


@pytest.fixture
def window(qtbot, hub):
    win = open_window(qtbot, deterministic_settings(max_tokens=24), wait_for_model=False)
    yield win
    close_window(win)


def _search(qtbot, window, query: str):  # type: ignore[no-untyped-def]
    page = window.models.open_hub()
    admin = window.models.hub
    qtbot.waitUntil(lambda: admin.busy == 0, timeout=30_000)
    page.search_box.setText(query)
    page.search_button.click()
    qtbot.waitUntil(lambda: admin.busy == 0, timeout=30_000)
    return page


def test_search_download_and_chat_with_gemma(qtbot, window, hub) -> None:
    page = _search(qtbot, window, "gemma")
    assert ("repo", GEMMA3_REPO) in page.result_keys()
    page.choose("repo", GEMMA3_REPO)
    qtbot.waitUntil(lambda: page.repo is not None, timeout=30_000)
    assert page.repo.repo_id == GEMMA3_REPO
    assert page.selected_quant() == "Q4_K_M"  # the default, pre-selected
    assert "licence: gemma" in page.repo_info.text()
    page.download_button.click()
    admin = window.models.hub
    qtbot.waitUntil(lambda: bool(admin.events), timeout=30_000)
    (job_id,) = admin.events
    qtbot.waitUntil(lambda: admin.events[job_id].state == "done", timeout=DOWNLOAD_TIMEOUT_MS)
    row = page.downloads.rows[job_id]
    assert row.status_label.text().startswith("ready")
    name = admin.events[job_id].model_name
    entry = catalog.find_model(name)
    assert entry.origin == f"hub:{GEMMA3_REPO}" and entry.sha256 == GEMMA3_SHA256
    assert Path(entry.path).name == GEMMA3_FILE
    # The finished download is offered on "On this computer", selected: use it.
    qtbot.waitUntil(lambda: (name, "ready") in page.on_disk_names(), timeout=30_000)
    page.select_on_disk(name)
    page.use_button.click()
    assert window.core.settings.model == name
    qtbot.waitUntil(
        lambda: getattr(window.core.loaded, "key", None) == name and not window.model_loading,
        timeout=60_000,
    )
    page.close()
    send_and_wait(qtbot, window, "What is the capital of France?")
    answers = [b for b in window.chat.bubbles if b.data.role == "assistant"]
    assert answers[-1].data.state == "done" and answers[-1].data.text.strip()


def test_a_keyword_search_lists_only_the_matching_recommended_models_then_the_hubs(
    qtbot, window
) -> None:
    page = _search(qtbot, window, "gemma")
    keys = page.result_keys()
    gemmas = [e.name for e in catalog.builtin_models() if e.recommended and "gemma" in e.name]
    assert keys[: len(gemmas)] == [("catalog", name) for name in gemmas]
    assert all(kind == "repo" for kind, _ in keys[len(gemmas) :])
    assert ("repo", GEMMA3_REPO) in keys
    page.search_box.setText("")
    page.search_button.click()  # an empty search: every recommended model again
    assert len([k for k in page.result_keys() if k[0] == "catalog"]) > len(gemmas)


def _start_smollm2(qtbot, window, hub):  # type: ignore[no-untyped-def]
    """Start downloading SmolLM2 (rate-capped so it is still running); its job id."""
    hub.faults.rate_bps = 4_000_000  # ~98 MB: about 25 s
    page = _search(qtbot, window, SMOLLM2_REPO)  # owner/repo: that repository, opened at once
    qtbot.waitUntil(lambda: page.repo is not None, timeout=30_000)
    page.download_button.click()
    admin = window.models.hub
    qtbot.waitUntil(lambda: bool(admin.events), timeout=30_000)
    (job_id,) = admin.events
    qtbot.waitUntil(lambda: admin.events[job_id].bytes_done > 2_000_000, timeout=30_000)
    return page, admin, job_id


def test_pause_resume_and_cancel_from_the_download_row(qtbot, window, hub) -> None:
    page, admin, job_id = _start_smollm2(qtbot, window, hub)
    row = page.downloads.rows[job_id]
    assert row.pause_button.text() == "Pause" and " of " in row.status_label.text()
    row.pause_button.click()
    qtbot.waitUntil(lambda: admin.events[job_id].state == "paused", timeout=30_000)
    qtbot.waitUntil(lambda: job_id not in admin.running, timeout=30_000)
    paused_at = admin.events[job_id].bytes_done
    assert row.status_label.text().startswith("paused at")
    assert row.pause_button.text() == "Resume"
    row.pause_button.click()
    qtbot.waitUntil(
        lambda: (
            admin.events[job_id].state == "downloading"
            and admin.events[job_id].bytes_done > paused_at
        ),
        timeout=30_000,
    )
    partials = list((window.core.paths.models_dir / "hub").rglob("*.incomplete"))
    assert partials  # the bytes so far are on disk
    row.cancel_button.click()
    qtbot.waitUntil(lambda: job_id not in page.downloads.rows or admin.events[job_id].state
                    == "cancelled", timeout=30_000)  # fmt: skip
    qtbot.waitUntil(lambda: job_id not in admin.running, timeout=30_000)
    assert not list((window.core.paths.models_dir / "hub").rglob("*.incomplete"))
    assert not any(m.origin.startswith("hub:") for m in catalog.user_models())


def test_an_unfinished_download_is_listed_paused_at_the_next_start(qtbot, hub) -> None:
    window = open_window(qtbot, deterministic_settings(), wait_for_model=False)
    try:
        _page, _admin, job_id = _start_smollm2(qtbot, window, hub)
    finally:
        close_window(window)  # closing pauses the download where it is
    hub.faults.rate_bps = 0
    window = open_window(qtbot, deterministic_settings(), wait_for_model=False)
    try:
        admin = window.models.hub
        qtbot.waitUntil(lambda: job_id in admin.events, timeout=30_000)
        assert admin.events[job_id].state == "paused"
        kept = admin.events[job_id].bytes_done
        assert kept > 0
        page = window.models.open_hub()
        row = page.downloads.rows[job_id]
        assert row.pause_button.text() == "Resume"
        sent_before = sum(hub.bytes_sent.values())
        row.pause_button.click()
        qtbot.waitUntil(lambda: admin.events[job_id].state == "done", timeout=DOWNLOAD_TIMEOUT_MS)
        entry = catalog.find_model(admin.events[job_id].model_name)
        assert entry.sha256 == SMOLLM2_SHA256 and entry.origin == f"hub:{SMOLLM2_REPO}"
        assert sum(hub.bytes_sent.values()) - sent_before < entry.size_bytes  # not from zero
    finally:
        close_window(window)
