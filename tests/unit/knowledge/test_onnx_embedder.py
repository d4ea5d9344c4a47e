"""The embedder on ONNX Runtime: the real export of the packaged MiniLM, checked against torch.

Every test uses the real model and the real export (cached once per machine through
``EMBER_ONNX_CACHE``, see tests/conftest.py); the torch side is sentence-transformers itself.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tests.support.knowledge_corpus import write_corpus

from ember.errors import ModelLoadError
from ember.knowledge.embedder import MODEL_NAME, MiniLMEmbedder, model_dir
from ember.knowledge.onnx_embed import BATCH_TOKENS, MAX_BATCH, batches, choose_threads
from ember.knowledge.onnx_export import (
    ensure_exported,
    export_path,
    failure_stamp,
    source_checksum,
)

pytestmark = pytest.mark.slow

# Short, long (truncated at 256 tokens), punctuation only, non-English, empty: what chunks and
# queries really look like, padding and truncation included.
TEXTS = [
    "hi",
    "How do I reset the router to its factory settings?",
    "set xrange [0:10]; plot sin(x) with lines title 'sine'",
    "The quick brown fox jumps over the lazy dog. " * 40,
    "???",
    "Überprüfen Sie die Einstellungen — naïve café, 東京の天気",
    "",
    "git rebase --onto master topic~3 topic",
]


@pytest.fixture(scope="module")
def onnx_embedder() -> MiniLMEmbedder:
    embedder = MiniLMEmbedder(backend="onnx")
    embedder.load()
    return embedder


@pytest.fixture(scope="module")
def torch_embedder() -> MiniLMEmbedder:
    embedder = MiniLMEmbedder(backend="torch")
    embedder.load()
    return embedder


def test_onnx_vectors_match_torch_per_text(
    onnx_embedder: MiniLMEmbedder, torch_embedder: MiniLMEmbedder
) -> None:
    assert onnx_embedder.backend == "onnx"
    assert torch_embedder.backend == "torch"
    ours = onnx_embedder.embed(TEXTS)
    theirs = torch_embedder.embed(TEXTS)
    assert ours.shape == theirs.shape == (len(TEXTS), 384)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(ours * theirs, axis=1)
    assert cosines.min() >= 0.999, dict(zip(TEXTS, cosines.round(5), strict=True))
    for text in TEXTS:  # queries too, one at a time
        assert float(onnx_embedder.embed_query(text) @ torch_embedder.embed_query(text)) >= 0.999


def test_batched_order_is_the_callers_order(onnx_embedder: MiniLMEmbedder) -> None:
    # Sorting by length inside embed must not shuffle the rows: each row equals its text alone.
    together = onnx_embedder.embed(TEXTS)
    for row, text in zip(together, TEXTS, strict=True):
        assert float(row @ onnx_embedder.embed([text])[0]) >= 0.9999


def test_fp32_on_either_backend_records_the_same_name(
    onnx_embedder: MiniLMEmbedder, torch_embedder: MiniLMEmbedder
) -> None:
    # Same vectors, same name: an index made with torch is not embedded again on ONNX.
    assert onnx_embedder.name == torch_embedder.name == MODEL_NAME
    assert MiniLMEmbedder(precision="int8").name != MODEL_NAME  # int8 vectors differ


def test_batches_sort_by_length_and_keep_padding_within_budget() -> None:
    lengths = [250, 3, 40, 40, 128, 7, 256, 12] * 40
    groups = batches(lengths)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    flat = [lengths[i] for g in groups for i in g]
    assert flat == sorted(flat)
    for group in groups:
        assert len(group) <= MAX_BATCH
        assert len(group) == 1 or len(group) * max(lengths[i] for i in group) <= BATCH_TOKENS
    # Padding wasted is small: sorted batches pad short texts to short widths.
    padded = sum(len(g) * max(lengths[i] for i in g) for g in groups)
    assert padded <= 1.1 * sum(lengths)


def test_chunk_sized_texts_go_in_small_batches() -> None:
    # Ingest hands over 16-64 chunks of ~80-120 tokens at a time; one forward pass over all of
    # them spills the activations out of the L2 cache (16 ms of CPU per chunk here, 11 ms in
    # batches of ~512 tokens). Each pass takes a handful of them, none padded past the budget.
    groups = batches([100, 110, 95, 120] * 16)
    assert len(groups) >= 12
    assert all(len(g) <= 5 for g in groups)


def test_changed_weights_export_again(tmp_path: Path) -> None:
    # A copy of the packaged model whose config differs by one byte gets its own export.
    source = model_dir()
    copy = tmp_path / "model"
    shutil.copytree(source, copy, symlinks=False, ignore=shutil.ignore_patterns("*.safetensors"))
    (copy / "model.safetensors").symlink_to(source / "model.safetensors")
    cache = tmp_path / "cache"
    assert source_checksum(copy, cache) == source_checksum(source, cache)
    config = json.loads((copy / "config.json").read_text(encoding="utf-8"))
    config["ember_test_note"] = "changed"
    (copy / "config.json").write_text(json.dumps(config), encoding="utf-8")
    assert source_checksum(copy, cache) != source_checksum(source, cache)
    assert export_path(copy, cache=cache) != export_path(source, cache=cache)


def test_unusable_onnx_cache_falls_back_to_torch_with_a_log_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    onnx_embedder: MiniLMEmbedder,
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("EMBER_ONNX_CACHE", os.fspath(blocker / "embedder"))
    embedder = MiniLMEmbedder()
    with caplog.at_level(logging.WARNING, logger="ember.knowledge.embedder"):
        embedder.load()
    assert embedder.backend == "torch"
    assert any("embedding with torch instead" in r.getMessage() for r in caplog.records)
    cosines = np.sum(embedder.embed(TEXTS) * onnx_embedder.embed(TEXTS), axis=1)
    assert cosines.min() >= 0.999


def test_cold_search_imports_neither_torch_nor_sentence_transformers(
    tmp_path: Path, onnx_embedder: MiniLMEmbedder
) -> None:
    from ember.knowledge import KnowledgeBase
    from ember.paths import ember_paths

    folder = tmp_path / "docs"
    write_corpus(folder)
    with KnowledgeBase(ember_paths().knowledge_dir, embedder=onnx_embedder) as kb:
        assert not kb.index([folder], "manuals").failed
    probe = (
        "import json, sys\n"
        "from ember.cli import main\n"
        "code = main(['search', 'how do I reset the router', '--json'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'sentence_transformers', 'transformers'))\n"
        "print(json.dumps({'code': code, 'heavy': heavy}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    hits = json.loads(done.stdout.splitlines()[0])
    verdict = json.loads(done.stdout.splitlines()[-1])
    assert hits, "the search found nothing"
    assert verdict == {"code": 0, "heavy": []}


def test_threads_leave_the_cores_other_work_keeps_busy() -> None:
    assert choose_threads(2, load=0.3, own_busy=0.0) == 2  # idle: every core
    assert (
        choose_threads(2, load=9.5, own_busy=1.0) == 1
    )  # busy machine: one thread, no barrier waits
    assert choose_threads(2, load=2.0, own_busy=2.0) == 2  # the load is our own embedding
    assert choose_threads(8, load=3.2, own_busy=0.0) == 5
    assert choose_threads(1, load=0.0, own_busy=0.0) == 1


def test_threads_are_chosen_without_a_load_average(monkeypatch: pytest.MonkeyPatch) -> None:
    # Windows has no os.getloadavg: the count falls back to the cores, not to a crash.
    from ember.knowledge.onnx_embed import OnnxMiniLM, available_cores

    monkeypatch.delattr(os, "getloadavg")
    assert OnnxMiniLM._wanted_threads() == available_cores()


def test_a_cgroup_cpu_quota_caps_the_cores(tmp_path: Path) -> None:
    from ember.knowledge.onnx_embed import cgroup_cpus

    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("150000 100000\n")
    assert cgroup_cpus(cpu_max) == 2  # 1.5 CPUs: rounded up
    cpu_max.write_text("20000 100000\n")
    assert cgroup_cpus(cpu_max) == 1  # a fifth of one: still one thread
    cpu_max.write_text("max 100000\n")
    assert cgroup_cpus(cpu_max) is None  # no quota
    assert cgroup_cpus(tmp_path / "missing") is None


def _model_copy(folder: Path) -> Path:
    """The packaged model copied to ``folder`` (its weights linked, not copied)."""
    source = model_dir()
    shutil.copytree(source, folder, symlinks=False, ignore=shutil.ignore_patterns("*.safetensors"))
    (folder / "model.safetensors").symlink_to(source / "model.safetensors")
    return folder


def test_a_failed_export_is_not_tried_again_by_the_next_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A model the exporter refuses (CLS pooling): the export fails, every time, in seconds.
    copy = _model_copy(tmp_path / "model")
    pooling = copy / "1_Pooling" / "config.json"
    pooling.write_text(json.dumps({"pooling_mode_cls_token": True}), encoding="utf-8")
    monkeypatch.setenv("EMBER_ONNX_CACHE", os.fspath(tmp_path / "cache"))

    with pytest.raises(ModelLoadError, match="mean pooling"):
        ensure_exported(copy)
    assert failure_stamp(export_path(copy)).is_file()
    with pytest.raises(ModelLoadError, match=r"an earlier export .* mean pooling"):
        ensure_exported(copy)  # the stamp answers: no child process, no torch
    with pytest.raises(
        ModelLoadError, match=r"^exporting the embedding model to ONNX failed \(the embedding model"
    ):
        ensure_exported(copy, retry=True)  # `ember doctor --check-embedded` tries again


def test_a_corrupt_export_in_the_cache_is_exported_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, onnx_embedder: MiniLMEmbedder
) -> None:
    monkeypatch.setenv("EMBER_ONNX_CACHE", os.fspath(tmp_path / "cache"))
    corrupt = export_path(model_dir())
    corrupt.write_bytes(b"half an ONNX file")

    embedder = MiniLMEmbedder(backend="onnx")
    embedder.load()

    assert embedder.backend == "onnx"
    assert corrupt.stat().st_size > 1_000_000
    cosines = np.sum(embedder.embed(TEXTS) * onnx_embedder.embed(TEXTS), axis=1)
    assert cosines.min() >= 0.9999


def _cache_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The suite's export cache copied to ``tmp_path`` and named by EMBER_ONNX_CACHE."""
    shared = export_path(model_dir()).parent
    ensure_exported(model_dir())
    copy = tmp_path / "cache"
    shutil.copytree(shared, copy)
    monkeypatch.setenv("EMBER_ONNX_CACHE", os.fspath(copy))
    return copy


needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a file to another user"
)


def test_a_cache_folder_others_can_write_is_made_private_and_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = _cache_copy(tmp_path, monkeypatch)
    cache.chmod(0o777)
    export = export_path(model_dir())
    export.chmod(0o666)

    assert ensure_exported(model_dir()) == export
    assert cache.stat().st_mode & 0o777 == 0o700
    assert export.stat().st_mode & 0o777 == 0o600


@needs_root
def test_a_cache_folder_of_another_user_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    cache = _cache_copy(tmp_path, monkeypatch)
    os.chown(cache, 12345, 12345)

    embedder = MiniLMEmbedder()
    with caplog.at_level(logging.WARNING, logger="ember.knowledge.embedder"):
        embedder.load()

    assert embedder.backend == "torch"
    assert any("belongs to another user" in r.getMessage() for r in caplog.records)


@needs_root
def test_an_export_planted_by_another_user_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cache_copy(tmp_path, monkeypatch)
    export = export_path(model_dir())
    os.chown(export, 12345, 12345)

    with pytest.raises(ModelLoadError, match=r"belongs to another user.*EMBER_ONNX_CACHE"):
        ensure_exported(model_dir())


@needs_root
def test_a_checksum_stamp_of_another_user_is_not_believed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = _cache_copy(tmp_path, monkeypatch)
    honest = export_path(model_dir())
    stamp = cache / "source.json"
    planted = json.loads(stamp.read_text(encoding="utf-8"))
    planted["sha256"] = "0" * 64  # would point at an export named by the planter
    stamp.write_text(json.dumps(planted), encoding="utf-8")
    os.chown(stamp, 12345, 12345)

    assert export_path(model_dir()) == honest
