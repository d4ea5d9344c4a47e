"""The Models page in the real window: the catalog's recommended models, the models on this
computer with where they came from (a deleted file shown as missing), and "Use this model"
switching the chat's model (real catalog files, real GGUF, real load)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ember import catalog
from tests.support.real_models import smollm2_gguf
from tests.support.ui_app import close_window, open_window

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private HOME (other apps' model folders are looked for there), none of their
    variables set."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("OLLAMA_MODELS", "HF_HOME", "HF_HUB_CACHE", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def window(qtbot, home):
    win = open_window(qtbot, wait_for_model=False)
    yield win
    close_window(win)


def _open(qtbot, window):  # type: ignore[no-untyped-def]
    window.sidebar.models_button.click()
    page = window.models.hub.page
    assert page is not None and page.isVisible()
    qtbot.waitUntil(
        lambda: window.models.hub.busy == 0 and bool(page.result_keys()), timeout=30_000
    )
    return page


def test_the_page_opens_from_the_sidebar_with_the_catalog_first(qtbot, window) -> None:
    page = _open(qtbot, window)
    keys = page.result_keys()
    recommended = [m.name for m in catalog.builtin_models() if not m.embedded]
    assert keys == [("catalog", name) for name in recommended]
    assert page.windowTitle() == "Models"


def test_models_on_disk_show_their_origin_and_a_missing_file(qtbot, window, tmp_path) -> None:
    gone = tmp_path / "gone.gguf"
    shutil.copyfile(smollm2_gguf(), gone)
    catalog.add_user_model(smollm2_gguf(), name="smol-here", origin="lm-studio")
    catalog.add_user_model(gone, name="smol-gone", origin="ollama")
    gone.unlink()
    page = _open(qtbot, window)
    shown = dict(page.on_disk_names())
    assert shown["smol-here"] == "ready" and shown["smol-gone"] == "missing"
    origins = [page.on_disk.item(r, 1).text() for r in range(page.on_disk.rowCount())]
    assert "from LM Studio" in origins and "from Ollama" in origins
    states = [page.on_disk.item(r, 3).text() for r in range(page.on_disk.rowCount())]
    assert states.count("missing") == 1
    page.select_on_disk("smol-gone")
    assert not page.use_button.isEnabled()
    assert "missing" in page.disk_note.text()


def test_use_this_model_switches_the_chats_model(qtbot, window, tmp_path: Path) -> None:
    catalog.add_user_model(smollm2_gguf(), name="smol-user", origin="file")
    page = _open(qtbot, window)
    page.tabs.setCurrentIndex(1)
    page.select_on_disk("smol-user")
    assert page.use_button.isEnabled()
    page.use_button.click()
    assert window.core.settings.model == "smol-user"
    qtbot.waitUntil(
        lambda: (
            getattr(window.core.loaded, "key", None) == "smol-user" and not window.model_loading
        ),
        timeout=60_000,
    )
    assert window.model_picker.currentData() == "smol-user"


def test_a_model_lm_studio_keeps_is_offered_and_used_in_place(qtbot, window, home) -> None:
    folder = home / ".lmstudio" / "models" / "QuantFactory" / "SmolLM2-135M-Instruct-GGUF"
    folder.mkdir(parents=True)
    kept = folder / "SmolLM2-135M-Instruct.Q4_1.gguf"
    kept.symlink_to(smollm2_gguf())
    page = _open(qtbot, window)
    found = [name for name, state in page.on_disk_names() if state == "found"]
    assert len(found) == 1
    row = len(page.on_disk_names()) - 1
    assert page.on_disk.item(row, 1).text() == "in LM Studio"
    assert page.on_disk.item(row, 3).text() == "not added yet"
    page.select_on_disk(found[0])
    page.use_button.click()
    qtbot.waitUntil(lambda: window.core.settings.model == found[0], timeout=30_000)
    entry = catalog.find_model(found[0])
    assert entry.origin == "lm-studio" and Path(entry.path) == smollm2_gguf().resolve()
    qtbot.waitUntil(
        lambda: window.core.loaded is not None and not window.model_loading, timeout=60_000
    )
    qtbot.waitUntil(lambda: (found[0], "ready") in page.on_disk_names(), timeout=30_000)


def test_catalog_models_get_a_fit_label_without_the_hub(qtbot, window, monkeypatch) -> None:
    """The catalog's own figures (file size, layers, KV heads, head size) give each recommended
    model a fit label when its repository cannot be reached."""
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    page = _open(qtbot, window)
    names = [name for kind, name in page.result_keys() if kind == "catalog"]
    qtbot.waitUntil(lambda: all(n in page.catalog_fits for n in names), timeout=30_000)
    labels = {page.catalog_fits[n].label for n in names}
    assert labels and labels <= {"fits", "tight", "wont_fit"}
    first = page.results.item(1)  # under the RECOMMENDED heading
    assert "fit unknown" not in first.text()
    assert first.toolTip().splitlines()[1].startswith("About ")
