"""The composition root's own rules (most of Core is tested through the shells over it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ember.core import Core
from ember.errors import EmberError
from ember.paths import Paths


def test_naming_a_collection_before_anything_is_indexed_creates_nothing(tmp_path: Path) -> None:
    """``ember ask -c manuals`` or an API request for ``ember:manuals`` on a fresh install: a
    clear error, and no empty knowledge base left on disk by asking."""
    core = Core(Paths(tmp_path / "config", tmp_path / "data", tmp_path / "cache"))
    try:
        with pytest.raises(EmberError, match=r"No collection called manuals .*none yet"):
            core.known_collections(["manuals"])
        assert core.known_collections(None) == []
        assert not core.paths.knowledge_dir.exists()
    finally:
        core.close()
