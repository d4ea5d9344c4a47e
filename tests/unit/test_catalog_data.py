"""The built-in catalog's data (models/catalog.toml): every downloadable entry names a real hub
file the downloads can fetch and check, and says where its values came from."""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections import Counter

import pytest

from ember import catalog

SHA256 = re.compile(r"[0-9a-f]{64}")
QUANT = re.compile(r"(?i)(?:^|[-_.])(I?Q\d(?:_[0-9A-Z]+)*|F16|BF16|F32)\.gguf$")

MODELS = catalog.builtin_models()
DOWNLOADABLE = [m for m in MODELS if not m.embedded]


def _ids(models: list[catalog.ModelEntry]) -> list[str]:
    return [m.name for m in models]


def test_the_embedded_model_stays_first_and_alone() -> None:
    assert MODELS[0].embedded and MODELS[0].name == "smollm2-135m-instruct"
    assert [m.name for m in MODELS if m.embedded] == ["smollm2-135m-instruct"]


def test_names_files_and_checksums_are_unique() -> None:
    for field in ("name", "file", "sha256"):
        counts = Counter(getattr(m, field) for m in MODELS if getattr(m, field))
        assert [value for value, n in counts.items() if n > 1] == [], field


@pytest.mark.parametrize("entry", DOWNLOADABLE, ids=_ids(DOWNLOADABLE))
def test_each_download_source_is_a_hub_file_of_that_name(entry: catalog.ModelEntry) -> None:
    parsed = catalog.hub_file(entry)
    assert parsed is not None, entry.source
    repo_id, revision, filename = parsed
    owner, _, repo = repo_id.partition("/")
    assert owner and repo and "/" not in repo
    assert revision == "main"
    assert filename == entry.file
    assert entry.source == f"https://huggingface.co/{repo_id}/resolve/main/{entry.file}"


@pytest.mark.parametrize("entry", DOWNLOADABLE, ids=_ids(DOWNLOADABLE))
def test_each_file_is_a_gguf_named_for_its_quantization(entry: catalog.ModelEntry) -> None:
    assert entry.file.endswith(".gguf")
    match = QUANT.search(entry.file)
    assert match is not None, entry.file
    assert match.group(1).upper() == entry.quantization


@pytest.mark.parametrize("entry", MODELS, ids=_ids(MODELS))
def test_sizes_and_checksums_have_their_shape(entry: catalog.ModelEntry) -> None:
    assert entry.sha256 == "" or SHA256.fullmatch(entry.sha256), entry.sha256
    assert entry.size_bytes >= 0
    if not entry.embedded:
        # Every value was found: bytes, not megabytes, and a checksum the download can verify.
        assert entry.size_bytes > 100_000_000
        assert SHA256.fullmatch(entry.sha256)
    assert entry.license and entry.n_ctx_train > 0 and entry.parameters


def test_the_vision_model_carries_its_projector_from_the_same_repo() -> None:
    vision = [m for m in MODELS if m.projector_source]
    assert [m.name for m in vision] == ["gemma-3-4b-it"]
    for entry in vision:
        projector = catalog.hub_file(dataclasses.replace(entry, source=entry.projector_source))
        assert projector is not None
        model = catalog.hub_file(entry)
        assert model is not None and projector[0] == model[0] and projector[1] == "main"
        assert projector[2].startswith("mmproj") and projector[2].endswith(".gguf")
        assert SHA256.fullmatch(entry.projector_sha256)
        assert entry.projector_size_bytes > 100_000_000
    assert all(
        not m.projector_sha256 and not m.projector_size_bytes for m in MODELS if m not in vision
    )


def test_the_catalog_offers_the_current_small_instruct_models() -> None:
    offered = {(m.family, m.parameters) for m in DOWNLOADABLE}
    wanted = {
        ("qwen2.5", "0.5B"),
        ("qwen2.5", "1.5B"),
        ("qwen2.5", "3B"),
        ("qwen2.5", "7B"),
        ("llama3.2", "1B"),
        ("llama3.2", "3B"),
        ("gemma3", "1B"),
        ("gemma3", "4B"),
        ("phi4", "3.8B"),
        ("smollm2", "1.7B"),
        ("deepseek-r1", "1.5B"),
    }
    assert wanted <= offered


def test_recommended_models_come_in_the_catalogs_order() -> None:
    ranks = [m.recommended for m in MODELS if m.recommended]
    assert sorted(ranks) == list(range(1, len(ranks) + 1))  # 1..n, no gaps, no ties
    recommended = catalog.recommended_models()
    assert [m.recommended for m in recommended] == sorted(ranks)
    assert recommended[0].name == "qwen2.5-1.5b-instruct"
    assert all(not m.embedded for m in recommended)


def test_every_downloadable_entry_says_where_its_values_came_from() -> None:
    text = catalog.catalog_file().read_text(encoding="utf-8")
    blocks = text.split("[[models]]")
    # The comment lines just above each [[models]] table belong to it.
    for before, table in itertools.pairwise(blocks):
        name = re.search(r'^name = "([^"]+)"', table, re.M)
        assert name is not None
        if re.search(r"^embedded = true", table, re.M):
            continue
        comments = []
        for line in reversed(before.rstrip("\n").splitlines()):
            if not line.startswith("#"):
                break
            comments.append(line)
        note = " ".join(reversed(comments))
        assert "size" in note and "sha256" in note and "revision" in note, name.group(1)
