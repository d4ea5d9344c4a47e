"""Where Ember keeps its files.

All user data lives in platformdirs locations. ``EMBER_HOME=/some/dir`` puts config, data and
cache under that one directory instead (tests, portable installs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "Ember"
APP_AUTHOR = "Ember"


@dataclass(frozen=True)
class Paths:
    """Ember's three folders: settings (``config_dir``), user data (``data_dir``) and caches
    (``cache_dir``)."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path

    @property
    def config_file(self) -> Path:
        """The settings file, ``settings.toml`` in the config folder."""
        return self.config_dir / "settings.toml"

    @property
    def mcp_config(self) -> Path:
        """The MCP servers, ``mcp.json`` in the config folder, in the ``mcpServers`` format that
        Claude Desktop and Cursor use."""
        return self.config_dir / "mcp.json"

    @property
    def logs_dir(self) -> Path:
        """Logs the person can open (an MCP server's stderr: ``mcp-<server>.log``)."""
        return self.data_dir / "logs"

    @property
    def chats_db(self) -> Path:
        """The chat history database, ``chats.sqlite3`` in the data folder."""
        return self.data_dir / "chats.sqlite3"

    @property
    def knowledge_dir(self) -> Path:
        """The knowledge base's folder (SQLite and FAISS files), ``knowledge/`` in the data dir."""
        return self.data_dir / "knowledge"

    @property
    def models_dir(self) -> Path:
        """Where downloaded model files are looked for, ``models/`` in the data folder."""
        return self.data_dir / "models"

    @property
    def user_catalog(self) -> Path:
        """The user's own model catalog, ``models.toml`` in the data folder."""
        return self.data_dir / "models.toml"

    def ensure(self) -> Paths:
        """Create the three folders where missing; returns ``self``."""
        for directory in (self.config_dir, self.data_dir, self.cache_dir):
            directory.mkdir(parents=True, exist_ok=True)
        return self


def ember_paths() -> Paths:
    """The directories for this process, honouring ``EMBER_HOME`` and the ``data_dir`` setting."""
    home = os.environ.get("EMBER_HOME")
    if home:
        root = Path(home).expanduser().resolve()
        paths = Paths(root / "config", root / "data", root / "cache")
    else:
        import platformdirs

        paths = Paths(
            Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR)),
            Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR)),
            Path(platformdirs.user_cache_dir(APP_NAME, APP_AUTHOR)),
        )
    chosen = _configured_data_dir(paths.config_file)
    return Paths(paths.config_dir, chosen, paths.cache_dir) if chosen else paths


def _configured_data_dir(config_file: Path) -> Path | None:
    """The user's chosen data folder (settings ``data_dir``), if any.

    Read directly rather than through ``ember.config`` (which needs these paths); a broken
    settings file is reported by ``load_settings``, not here.
    """
    import tomllib

    try:
        value = tomllib.loads(config_file.read_text(encoding="utf-8")).get("data_dir", "")
    except (OSError, ValueError):
        return None
    return Path(value).expanduser().resolve() if isinstance(value, str) and value.strip() else None
