from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from ember.config import RemoteEndpoint, Settings, load_settings, save_settings
from ember.errors import ConfigError
from ember.paths import ember_paths


def test_defaults_apply_when_no_settings_file_exists() -> None:
    settings = load_settings()
    assert settings == Settings()
    assert settings.model == ""  # the embedded default
    assert settings.ollama_host == "http://127.0.0.1:11434"


def test_settings_round_trip_through_the_config_file() -> None:
    settings = Settings(
        temperature=0.2,
        max_tokens=256,
        system_prompt="Be brief.",
        remotes=[RemoteEndpoint("lab", "openai", "http://127.0.0.1:8000/v1", "qwen")],
    )
    path = save_settings(settings)
    assert path == ember_paths().config_file
    assert load_settings() == settings


def test_invalid_values_are_refused_with_every_problem_named() -> None:
    with pytest.raises(ConfigError) as err:
        save_settings(Settings(temperature=5.0, top_p=0.0, repeat_penalty=0.5))
    assert "temperature" in str(err.value)
    assert "top_p" in str(err.value)
    assert "repeat_penalty" in str(err.value)
    assert not ember_paths().config_file.exists()


def test_a_broken_settings_file_gives_a_clear_error() -> None:
    path = ember_paths().config_file
    path.parent.mkdir(parents=True)
    path.write_text("temperature = [not toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings()


def test_unknown_and_mistyped_settings_are_named() -> None:
    path = ember_paths().config_file
    path.parent.mkdir(parents=True)
    path.write_text('colour = "red"\n')
    with pytest.raises(ConfigError, match="colour"):
        load_settings()
    path.write_text('max_tokens = "many"\n')
    with pytest.raises(ConfigError, match="max_tokens"):
        load_settings()


def test_ember_home_holds_all_paths(ember_home) -> None:
    paths = ember_paths()
    for directory in (paths.config_dir, paths.data_dir, paths.cache_dir):
        assert directory.is_relative_to(ember_home)


def test_the_data_folder_setting_moves_chats_and_documents(tmp_path) -> None:
    chosen = tmp_path / "my-ember-data"
    save_settings(Settings(data_dir=str(chosen)))
    paths = ember_paths()
    assert paths.data_dir == chosen
    assert paths.chats_db.is_relative_to(chosen)
    assert paths.knowledge_dir.is_relative_to(chosen)
    assert paths.config_file.exists()  # settings themselves stay in the config folder


def write_settings(text: str) -> Path:
    path = ember_paths().config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_remotes_api_key_that_is_not_text_is_refused_naming_field_and_file() -> None:
    path = write_settings(
        '[[remotes]]\nname = "lab"\nkind = "openai"\nbase_url = "http://127.0.0.1:8000/v1"\n'
        'model = "qwen"\napi_key = 5\n'
    )
    with pytest.raises(ConfigError) as err:
        load_settings()
    message = str(err.value)
    assert str(path) in message
    assert "remotes[0].api_key" in message and "valid string" in message


@pytest.mark.parametrize(
    ("toml", "field"),
    [
        ("temperature = 3.5", "temperature"),
        ('temperature = "hot"', "temperature"),
        ("max_tokens = 2.0", "max_tokens"),  # a float is not a count of tokens
        ("max_tokens = true", "max_tokens"),
        ("n_ctx = 100", "n_ctx"),
        ("threads = -2", "threads"),
        ("gpu_layers = -5", "gpu_layers"),
        ("seed = 1.5", "seed"),
        ("model = 3", "model"),
        ("system_prompt = false", "system_prompt"),
        ('ollama_host = "127.0.0.1:11434"', "ollama_host"),
        ("data_dir = 1", "data_dir"),
        ('remotes = "lab"', "remotes"),
        (
            '[[remotes]]\nname = "lab"\nkind = "gopher"\nbase_url = "http://h"\nmodel = "m"',
            "remotes[0].kind",
        ),
        (
            '[[remotes]]\nname = "lab"\nkind = "openai"\nbase_url = "ftp://h"\nmodel = "m"',
            "remotes[0].base_url",
        ),
        ('[[remotes]]\nname = "lab"\nkind = "openai"\nmodel = "m"', "remotes[0].base_url"),
        ("max_tokens = 4096\nn_ctx = 4096", "max_tokens must be smaller than n_ctx"),
    ],
)
def test_every_field_is_checked_when_the_file_is_read(toml: str, field: str) -> None:
    write_settings(toml + "\n")
    with pytest.raises(ConfigError, match=re.escape(field)):
        load_settings()


def test_whole_numbers_are_fine_for_decimal_settings() -> None:
    write_settings("temperature = 1\ntop_p = 1\n")
    settings = load_settings()
    assert settings.temperature == 1.0 and isinstance(settings.temperature, float)


def test_the_old_context_size_key_is_read_as_n_ctx_and_saved_as_n_ctx() -> None:
    path = write_settings("context_size = 2048\n")
    settings = load_settings()
    assert settings.n_ctx == 2048
    save_settings(settings)
    text = path.read_text()
    assert "n_ctx = 2048" in text and "context_size" not in text


def test_settings_changed_in_place_are_checked_by_validate() -> None:
    settings = load_settings()
    settings.max_tokens = "many"  # type: ignore[assignment]  # what a careless caller might do
    with pytest.raises(ConfigError, match="max_tokens"):
        settings.validate()
    with pytest.raises(ConfigError, match="max_tokens"):
        save_settings(settings)


def test_two_remotes_may_not_share_a_name() -> None:
    lab = RemoteEndpoint("lab", "openai", "http://127.0.0.1:8000/v1", "qwen")
    with pytest.raises(ConfigError, match="share a name"):
        Settings(remotes=[lab, lab])


@pytest.mark.skipif(os.name != "posix", reason="permission bits are POSIX")
def test_the_settings_file_is_private_it_may_hold_api_keys() -> None:
    path = save_settings(Settings())
    assert path.stat().st_mode & 0o077 == 0
