from __future__ import annotations

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
