from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from ember import catalog
from ember.config import RemoteEndpoint, Settings
from ember.errors import ModelLoadError, ModelNotFound


def test_the_embedded_default_comes_first_and_is_installed() -> None:
    models = catalog.builtin_models()
    assert models[0].embedded
    default = catalog.default_model()
    assert default.file == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert default.available
    assert Path(default.path).stat().st_size == default.size_bytes


def test_catalog_lists_popular_instruct_families_with_their_facts() -> None:
    families = {m.family for m in catalog.builtin_models()}
    assert {"qwen2.5", "llama3.2", "phi4", "gemma3", "smollm2", "deepseek-r1"} <= families
    for model in catalog.builtin_models():
        assert model.license and model.n_ctx_train > 0 and model.quantization and model.source


def test_embedded_model_checksum_is_verified() -> None:
    catalog.verify_checksum(catalog.default_model())  # raises if the file does not match


def test_a_damaged_model_file_fails_its_checksum(tmp_path: Path) -> None:
    default = catalog.default_model()
    copy = tmp_path / default.file
    shutil.copyfile(default.path, copy)
    with copy.open("r+b") as handle:
        handle.seek(-1, 2)
        handle.write(b"\x00" if handle.read(1) != b"\x00" else b"\x01")
    damaged = dataclasses.replace(default, path=str(copy))
    with pytest.raises(ModelLoadError, match="checksum"):
        catalog.verify_checksum(damaged)


def test_resolving_nothing_gives_the_embedded_model_on_llama_cpp() -> None:
    spec, entry = catalog.resolve_model(None, Settings())
    assert spec.backend == "llama.cpp"
    assert entry is not None and entry.embedded
    assert spec.model == entry.path


def test_resolving_prefixes_selects_server_backends() -> None:
    settings = Settings(remotes=[RemoteEndpoint("lab", "openai", "http://127.0.0.1:9/v1", "qwen")])
    spec, _ = catalog.resolve_model("ollama:llama3.2", settings)
    assert (spec.backend, spec.model, spec.host) == ("ollama", "llama3.2", settings.ollama_host)
    spec, _ = catalog.resolve_model("remote:lab", settings)
    assert (spec.backend, spec.model, spec.host) == ("openai", "qwen", "http://127.0.0.1:9/v1")
    with pytest.raises(ModelNotFound, match="lab"):
        catalog.resolve_model("remote:nope", settings)


def test_a_catalog_model_not_yet_fetched_says_where_to_get_it() -> None:
    with pytest.raises(ModelNotFound, match="ember models add"):
        catalog.resolve_model("qwen2.5-1.5b-instruct", Settings())


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(ModelNotFound, match="smollm2-135m-instruct"):
        catalog.resolve_model("gpt-5", Settings())


def test_a_missing_gguf_path_is_a_model_load_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        catalog.resolve_model(str(tmp_path / "nope.gguf"), Settings())


def test_a_user_catalog_written_before_the_n_ctx_train_rename_still_loads(tmp_path) -> None:
    from ember.catalog import _entry

    raw = {
        "name": "old",
        "display_name": "Old model",
        "family": "llama",
        "backend": "llama.cpp",
        "file": "old.gguf",
        "size_bytes": 1,
        "quantization": "Q4_0",
        "parameters": "1B",
        "context_length": 4096,
        "license": "MIT",
        "sha256": "",
        "source": "user",
        "path": str(tmp_path / "old.gguf"),
    }
    assert _entry(raw, tmp_path).n_ctx_train == 4096


def test_a_catalog_model_the_user_downloaded_is_listed_once_and_resolves(tmp_path) -> None:
    """`ember models get qwen2.5-1.5b-instruct` registers the file under the catalog's name; the
    catalog's entry then points at it (one entry, available), and --model finds it."""
    from ember.catalog import add_user_model, all_models, find_model
    from ember.paths import ember_paths
    from tests.support.real_models import smollm2_gguf

    paths = ember_paths()
    folder = paths.models_dir / "hub" / "Qwen" / "Qwen2.5-1.5B-Instruct-GGUF"
    folder.mkdir(parents=True)
    downloaded = folder / "qwen2.5-1.5b-instruct-q4_k_m.gguf"
    downloaded.hardlink_to(smollm2_gguf())  # real GGUF bytes; only the registration is tested
    add_user_model(
        downloaded, paths, name="qwen2.5-1.5b-instruct", origin="hub:Qwen/x", sha256="0" * 64
    )
    named = [m for m in all_models(paths) if m.name == "qwen2.5-1.5b-instruct"]
    assert len(named) == 1 and named[0].available and named[0].path == str(downloaded)
    assert named[0].display_name == "Qwen2.5 1.5B Instruct"  # the catalog's words, not the header's
    assert find_model("qwen2.5-1.5b-instruct", paths).path == str(downloaded)
