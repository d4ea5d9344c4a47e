"""A real split GGUF (SmolLM2 in three parts, as llama.cpp's gguf-split lays one out): llama.cpp
loads it from part 1, the hub downloads it as one model that loads and answers, and the memory
plan counts every part."""

from __future__ import annotations

from pathlib import Path

import gguf
import pytest

from ember import catalog
from ember.engines import ChatMessage, EngineSpec, GenerationOptions, complete, create_engine
from ember.engines.fit import estimate_memory
from ember.engines.gguf import inspect_gguf
from ember.engines.llamacpp import _whole_model
from ember.hub.downloads import DownloadQueue
from ember.hub.search import repo_models
from ember.hub.types import DownloadEvent
from tests.support.hf_hub_server import HubTestServer
from tests.support.real_models import smollm2_gguf
from tests.support.split_gguf import SMOLLM2_SPLIT_STEM, smollm2_split

GREEDY = GenerationOptions(temperature=0.0, seed=42, max_tokens=16)
QUESTION = [ChatMessage("user", "Name three colours.")]
REPO = "test-org/SmolLM2-Split-GGUF"


def _fields(path: Path) -> dict[str, object]:
    reader = gguf.GGUFReader(path)
    return {k: f.contents() for k, f in reader.fields.items() if not k.startswith("GGUF.")}


def test_each_part_is_a_gguf_with_its_own_tensors_and_the_split_keys() -> None:
    parts = smollm2_split()
    whole = gguf.GGUFReader(smollm2_gguf())
    assert [p.name for p in parts] == [
        f"{SMOLLM2_SPLIT_STEM}-0000{n}-of-00003.gguf" for n in (1, 2, 3)
    ]
    readers = [gguf.GGUFReader(p) for p in parts]
    names = [[t.name for t in r.tensors] for r in readers]
    assert all(names) and [n for part in names for n in part] == [t.name for t in whole.tensors]
    for n, (reader, path) in enumerate(zip(readers, parts, strict=True)):
        split = {k: reader.fields[k] for k in ("split.no", "split.count", "split.tensors.count")}
        assert [f.contents() for f in split.values()] == [n, 3, len(whole.tensors)]
        assert [f.types[0] for f in split.values()] == [
            gguf.GGUFValueType.UINT16,
            gguf.GGUFValueType.UINT16,
            gguf.GGUFValueType.INT32,
        ]
        fields = _fields(path)
        if n:  # later parts: only the split keys, as gguf-split writes them
            assert set(fields) == {"split.no", "split.count", "split.tensors.count"}
    first = _fields(parts[0])
    for key, value in _fields(smollm2_gguf()).items():
        assert first[key] == value, key
    # the tensors' bytes are the source's, byte for byte
    source = {t.name: bytes(t.data) for t in whole.tensors[:3]}
    assert {t.name: bytes(t.data) for t in readers[0].tensors[:3]} == source


def test_llama_cpp_loads_the_whole_model_from_part_1_and_answers_as_the_single_file() -> None:
    first = smollm2_split()[0]
    answers = []
    for path in (first, smollm2_gguf()):
        engine = create_engine(EngineSpec("llama.cpp", str(path), n_ctx=512, n_threads=1))
        try:
            answers.append(complete(engine, QUESTION, GREEDY).text)
        finally:
            engine.close()
    assert answers[0].strip() and answers[0] == answers[1]


def test_the_memory_plan_counts_every_part() -> None:
    parts = smollm2_split()
    whole = inspect_gguf(smollm2_gguf())
    part1 = inspect_gguf(parts[0])
    assert part1.split_count == 3 and len(part1.tensors) < len(whole.tensors)
    # parts 2 and 3 carry no metadata but are read for their tensors
    assert [inspect_gguf(p).architecture for p in parts] == ["llama", "", ""]

    planned = _whole_model(part1, parts[0])

    assert sorted(t.name for t in planned.tensors) == sorted(t.name for t in whole.tensors)
    assert planned.weights_bytes == whole.weights_bytes > part1.weights_bytes
    assert estimate_memory(planned, 4096) == estimate_memory(whole, 4096)


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch):
    with HubTestServer() as server:
        for n, part in enumerate(smollm2_split(), 1):
            server.add_file(REPO, part, f"SmolLM2-Split-Q4_1-0000{n}-of-00003.gguf")
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def test_a_split_model_downloads_registers_as_one_and_answers(hub: HubTestServer) -> None:
    repo = repo_models(REPO)
    (quant,) = repo.quants
    assert quant.split and len(quant.files) == 3
    queue = DownloadQueue()
    job = queue.add(REPO, quant, revision=repo.revision)
    events: list[DownloadEvent] = []

    entry = queue.run(job, events.append)

    folder = queue.folder(REPO)
    assert entry.path == str(folder / quant.files[0].filename)
    for f, source in zip(quant.files, smollm2_split(), strict=True):
        assert (folder / f.filename).read_bytes() == source.read_bytes()
    assert [m.name for m in catalog.user_models()] == [entry.name]
    assert events[-1].state == "done" and events[-1].bytes_total == quant.size_bytes
    engine = create_engine(EngineSpec("llama.cpp", entry.path, n_ctx=512, n_threads=1))
    try:
        assert engine.model_name == quant.files[0].filename
        assert complete(engine, QUESTION, GREEDY).text.strip()
    finally:
        engine.close()
