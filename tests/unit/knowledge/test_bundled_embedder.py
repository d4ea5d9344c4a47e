"""The embedder inside a frozen bundle: it loads the shipped ONNX export directly.

A fake bundle's data folder (``sys._MEIPASS``) laid out as packaging/ember.spec lays out the real
one: MiniLM's tokenizer and configs without ``model.safetensors``, and the real export (made once
per machine through ``EMBER_ONNX_CACHE``, see tests/conftest.py) in ``embedder/``.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from ember.bundle import EMBEDDER_FOLDER, embedder_export, embedder_export_name, is_bundled
from ember.errors import ModelLoadError
from ember.knowledge.embedder import MODEL_PACKAGE, MiniLMEmbedder, model_dir
from ember.knowledge.onnx_export import ensure_exported, export_path

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_export() -> Path:
    return ensure_exported(model_dir(), "fp32")


@pytest.fixture
def bundle(tmp_path: Path, real_export: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A frozen bundle's data folder; the process believes it is that bundle."""
    import onnxruntime  # noqa: F401  (imported as in a plain process, before sys.frozen is set)
    import tokenizers  # noqa: F401

    internal = tmp_path / "ember" / "_internal"
    model = internal / MODEL_PACKAGE / "model"
    shutil.copytree(model_dir(), model, ignore=shutil.ignore_patterns("*.safetensors"))
    (internal / EMBEDDER_FOLDER).mkdir()
    shutil.copyfile(real_export, internal / EMBEDDER_FOLDER / embedder_export_name("fp32"))
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", os.fspath(internal), raising=False)
    # An empty cache: the bundle must neither read nor write one.
    monkeypatch.setenv("EMBER_ONNX_CACHE", os.fspath(tmp_path / "cache"))
    return internal


def test_outside_a_bundle_nothing_is_bundled() -> None:
    assert not is_bundled()
    with pytest.raises(RuntimeError):
        embedder_export()


def test_the_bundle_embeds_with_its_shipped_export(bundle: Path, tmp_path: Path) -> None:
    model = bundle / MODEL_PACKAGE / "model"
    assert not (model / "model.safetensors").exists()
    shipped = bundle / EMBEDDER_FOLDER / embedder_export_name("fp32")
    assert ensure_exported(model) == shipped
    assert export_path(model) == shipped

    embedder = MiniLMEmbedder(directory=model)
    vectors = embedder.embed(["How do I set the range of the x axis?", "hi"])
    assert embedder.backend == "onnx"
    assert vectors.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert not (tmp_path / "cache").exists()  # no checksum stamp, no export written


def test_the_bundles_vectors_are_the_venvs(bundle: Path) -> None:
    texts = ["The quick brown fox jumps over the lazy dog.", "set xrange [0:10]"]
    bundled = MiniLMEmbedder(directory=bundle / MODEL_PACKAGE / "model").embed(texts)
    sys.frozen = False  # type: ignore[attr-defined]  (monkeypatch restores it)
    plain = MiniLMEmbedder(backend="onnx").embed(texts)
    assert np.min(np.sum(bundled * plain, axis=1)) > 0.9999


def test_a_missing_export_says_reinstall_and_never_exports(bundle: Path) -> None:
    (bundle / EMBEDDER_FOLDER / embedder_export_name("fp32")).unlink()
    embedder = MiniLMEmbedder(directory=bundle / MODEL_PACKAGE / "model")
    with pytest.raises(ModelLoadError, match="Reinstall Ember") as raised:
        embedder.embed(["hi"])
    assert "missing from this Ember bundle" in str(raised.value)
    assert embedder.backend is None  # no torch fallback either


def test_an_int8_export_missing_from_the_bundle_is_named(bundle: Path) -> None:
    embedder = MiniLMEmbedder(directory=bundle / MODEL_PACKAGE / "model", precision="int8")
    with pytest.raises(ModelLoadError, match="ONNX file for int8 is missing"):
        embedder.embed(["hi"])


def test_an_unreadable_shipped_export_is_kept_and_named(bundle: Path) -> None:
    shipped = bundle / EMBEDDER_FOLDER / embedder_export_name("fp32")
    shipped.write_bytes(b"not an onnx graph")
    embedder = MiniLMEmbedder(directory=bundle / MODEL_PACKAGE / "model")
    with pytest.raises(ModelLoadError, match=r"unreadable.*Reinstall Ember"):
        embedder.embed(["hi"])
    assert shipped.read_bytes() == b"not an onnx graph"  # nothing deleted inside the bundle
