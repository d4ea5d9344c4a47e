"""GGUF models other apps already downloaded, offered in place: found, header-checked, registered
by reference (never copied) with their origin.

Where each app keeps them (the layouts as the apps write them):

- **Ollama** (origin ``"ollama"``): ``$OLLAMA_MODELS``, else ``~/.ollama/models`` (and the Linux
  service's ``/usr/share/ollama/.ollama/models``). ``manifests/HOST/NAMESPACE/MODEL/TAG`` is a
  JSON image manifest whose layer of media type ``application/vnd.ollama.image.model`` names the
  weights blob by digest (``sha256:HEX``), stored as ``blobs/sha256-HEX`` (older versions:
  ``blobs/sha256:HEX``); a ``…image.projector`` layer is a vision model's projector. The blob is
  content-addressed, so its sha256 is known without reading it.
- **LM Studio** (``"lm-studio"``): ``~/.lmstudio/models`` and the older
  ``~/.cache/lm-studio/models``, as ``PUBLISHER/REPO/FILE.gguf``.
- **Hugging Face cache** (``"hf-cache"``): ``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
  ``$XDG_CACHE_HOME/huggingface/hub`` (``~/.cache/huggingface/hub``):
  ``models--OWNER--REPO/snapshots/REVISION/FILE.gguf``, symlinks into ``blobs/`` whose names are
  the files' sha256 (LFS files, which every GGUF is).
- **GPT4All** (``"gpt4all"``): its models folder, the ``modelPath`` of its settings
  (``~/.config/nomic.ai/GPT4All.ini``), else ``~/.local/share/nomic.ai/GPT4All`` (macOS:
  ``~/Library/Application Support/nomic.ai/GPT4All``). Its unfinished downloads
  (``incomplete-*``) are not models.

A split GGUF (``-00001-of-00003.gguf``) is one model, registered by its first part; a projector
(``mmproj*.gguf``) is not a chat model: it goes with the model beside it. A file whose header
does not check out is reported with the reason, never registered. A registered file that is
later moved or deleted shows as missing (:func:`missing_models`); loading it says so.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from ember import catalog
from ember.catalog import ModelEntry
from ember.errors import ModelLoadError
from ember.gguf_names import is_gguf, is_projector, split_part
from ember.paths import Paths, ember_paths

ORIGINS: dict[str, str] = {
    "ollama": "Ollama",
    "lm-studio": "LM Studio",
    "hf-cache": "Hugging Face cache",
    "gpt4all": "GPT4All",
}
MODEL_LAYER = "application/vnd.ollama.image.model"
PROJECTOR_LAYER = "application/vnd.ollama.image.projector"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class FoundModel:
    """One model another app keeps on this machine.

    ``path`` is the GGUF llama.cpp is given (a split model's first part), ``label`` how that app
    names it (``"llama3.2:3b"``, ``"bartowski/Qwen2.5-3B-Instruct-GGUF/…Q4_K_M.gguf"``),
    ``name`` the catalog name it gets (unique among the user's models), ``size_bytes`` all its
    parts together, ``sha256`` known from the store without reading the file ("" unknown),
    ``projector`` a vision model's mmproj file. ``problem`` says why it cannot be used ("" when
    its header checked out); ``registered`` names the catalog entry that already has this file
    ("" none).
    """

    path: Path
    origin: str
    label: str
    name: str
    size_bytes: int
    parts: int = 1
    source: str = ""
    sha256: str = ""
    projector: Path | None = None
    problem: str = ""
    registered: str = ""

    @property
    def origin_text(self) -> str:
        """The app's name as a person knows it ("LM Studio")."""
        return ORIGINS.get(self.origin, self.origin)

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "label": self.label,
            "origin": self.origin,
            "path": str(self.path),
            "size_bytes": self.size_bytes,
            "parts": self.parts,
            "source": self.source,
            "sha256": self.sha256,
            "projector": str(self.projector) if self.projector else "",
            "problem": self.problem,
            "registered": self.registered,
        }


# -- where the apps keep their models ----------------------------------------------------------


def _home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def ollama_dirs() -> list[Path]:
    """Ollama's model folders (``manifests/`` and ``blobs/`` inside), existing ones only."""
    configured = os.environ.get("OLLAMA_MODELS")
    if configured:
        candidates = [Path(configured).expanduser()]
    else:
        candidates = [_home() / ".ollama" / "models", Path("/usr/share/ollama/.ollama/models")]
    return [d for d in candidates if (d / "manifests").is_dir()]


def lm_studio_dirs() -> list[Path]:
    """LM Studio's models folders (current, then the older location), existing ones only."""
    home = _home()
    candidates = [home / ".lmstudio" / "models", home / ".cache" / "lm-studio" / "models"]
    return [d for d in candidates if d.is_dir()]


def hf_cache_dir() -> Path | None:
    """The Hugging Face hub cache folder, as ``huggingface_hub`` picks it; None when absent."""
    cache = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if cache:
        folder = Path(cache).expanduser()
    else:
        hf_home = os.environ.get("HF_HOME")
        if hf_home:
            folder = Path(hf_home).expanduser() / "hub"
        else:
            xdg = os.environ.get("XDG_CACHE_HOME") or str(_home() / ".cache")
            folder = Path(xdg).expanduser() / "huggingface" / "hub"
    return folder if folder.is_dir() else None


def _gpt4all_settings() -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", _home())) / "nomic.ai" / "GPT4All.ini"
    config = os.environ.get("XDG_CONFIG_HOME") or str(_home() / ".config")
    return Path(config) / "nomic.ai" / "GPT4All.ini"


def gpt4all_dir() -> Path | None:
    """GPT4All's models folder (which also holds its LocalDocs database); None when absent.

    The ``modelPath`` its settings name wins over the default folder."""
    try:
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.read(_gpt4all_settings(), encoding="utf-8")
        configured = parser.get("General", "modelPath", fallback="").strip().strip('"')
    except (configparser.Error, OSError, UnicodeDecodeError):
        configured = ""
    if configured and Path(configured).expanduser().is_dir():
        return Path(configured).expanduser()
    default = gpt4all_looked_in()[0]
    return default if default.is_dir() else None


def gpt4all_looked_in() -> tuple[Path, Path]:
    """Where :func:`gpt4all_dir` looks: GPT4All's default data folder on this system, and its
    settings file (whose ``modelPath`` may name another); for a message when neither is there."""
    if sys.platform == "darwin":
        default = _home() / "Library" / "Application Support" / "nomic.ai" / "GPT4All"
    elif sys.platform == "win32":
        default = Path(os.environ.get("LOCALAPPDATA", _home())) / "nomic.ai" / "GPT4All"
    else:
        data = os.environ.get("XDG_DATA_HOME") or str(_home() / ".local" / "share")
        default = Path(data) / "nomic.ai" / "GPT4All"
    return default, _gpt4all_settings()


# -- finding -----------------------------------------------------------------------------------


def _ggufs(files: Iterable[Path]) -> Iterator[tuple[Path, list[Path], Path | None]]:
    """The models among ``files`` of one folder: ``(first file, all parts, projector)``.

    Projectors are given to the models beside them, not listed; a split model whose first part
    is absent is skipped (llama.cpp starts from the first)."""
    ggufs = sorted(f for f in files if is_gguf(f.name))
    projectors = [f for f in ggufs if is_projector(f.name)]
    projector = projectors[0] if projectors else None
    groups: dict[str, list[Path]] = {}
    for gguf in ggufs:
        if is_projector(gguf.name):
            continue
        split = split_part(gguf.name)
        if split is None:
            yield gguf, [gguf], projector
        else:
            groups.setdefault(f"{split[0]}|{split[2]}", []).append(gguf)
    for parts in groups.values():
        parts.sort()
        first = split_part(parts[0].name)
        if first is not None and first[1] == 1:
            yield parts[0], parts, projector


def _size(parts: Iterable[Path]) -> int:
    total = 0
    for part in parts:
        try:
            total += part.stat().st_size
        except OSError:
            pass
    return total


def _from_ollama(root: Path) -> Iterator[FoundModel]:
    blobs = root / "blobs"
    for manifest in sorted((root / "manifests").glob("*/*/*/*")):
        if not manifest.is_file():
            continue
        host, namespace, model, tag = manifest.relative_to(root / "manifests").parts
        label = f"{model}:{tag}"
        if namespace != "library":
            label = f"{namespace}/{label}"
        if host != "registry.ollama.ai":
            label = f"{host}/{label}"
        try:
            layers = json.loads(manifest.read_text(encoding="utf-8")).get("layers") or []
        except (OSError, ValueError, AttributeError):
            continue
        digests = {
            layer.get("mediaType"): str(layer.get("digest", ""))
            for layer in layers
            if isinstance(layer, dict)
        }
        digest = digests.get(MODEL_LAYER, "")
        if not digest.startswith("sha256:"):
            continue  # not a GGUF model (an embedding-only or safetensors image, say)
        blob = _ollama_blob(blobs, digest)
        projector_digest = digests.get(PROJECTOR_LAYER, "")
        projector = _ollama_blob(blobs, projector_digest) if projector_digest else None
        found = FoundModel(
            path=blob,
            origin="ollama",
            label=label,
            name=re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-").lower(),
            size_bytes=_size([blob]),
            source=f"ollama-store:{label}",
            sha256=digest.removeprefix("sha256:").lower(),
            projector=projector if projector is not None and projector.is_file() else None,
        )
        if not blob.is_file():
            found = replace(found, problem="its weights file is missing from Ollama's store")
        yield found


def _ollama_blob(blobs: Path, digest: str) -> Path:
    """The blob file of ``sha256:HEX`` (named ``sha256-HEX``; ``sha256:HEX`` before 0.1.30)."""
    dashed = blobs / digest.replace(":", "-", 1)
    if not dashed.exists() and (blobs / digest).exists():
        return blobs / digest
    return dashed


def _from_lm_studio(root: Path) -> Iterator[FoundModel]:
    folders = sorted({p.parent for p in root.glob("*/*/*.gguf")})
    for folder in folders:
        publisher, repo = folder.relative_to(root).parts
        for first, parts, projector in _ggufs(folder.iterdir()):
            label = f"{publisher}/{repo}/{first.name}"
            yield _file_model("lm-studio", label, parts, projector, source=f"file:{first}")


def _from_hf_cache(root: Path) -> Iterator[FoundModel]:
    from ember.hub.session import endpoint

    for repo_dir in sorted(root.glob("models--*--*")):
        repo_id = repo_dir.name.removeprefix("models--").replace("--", "/", 1)
        for snapshot in sorted((repo_dir / "snapshots").glob("*")):
            if not snapshot.is_dir():
                continue
            files = [p for p in snapshot.rglob("*.gguf") if p.exists()]
            by_folder: dict[Path, list[Path]] = {}
            for file in files:
                by_folder.setdefault(file.parent, []).append(file)
            for _folder, in_folder in sorted(by_folder.items()):
                for first, parts, projector in _ggufs(in_folder):
                    filename = first.relative_to(snapshot).as_posix()
                    blob = first.resolve()
                    yield _file_model(
                        "hf-cache",
                        f"{repo_id}/{filename}",
                        parts,
                        projector,
                        source=f"{endpoint()}/{repo_id}/resolve/{snapshot.name}/{filename}",
                        sha256=blob.name if _SHA256.match(blob.name) else "",
                    )


def _from_gpt4all(root: Path) -> Iterator[FoundModel]:
    files = [p for p in root.iterdir() if not p.name.startswith("incomplete-")]
    for first, parts, projector in _ggufs(files):
        yield _file_model("gpt4all", first.name, parts, projector, source=f"file:{first}")


def _file_model(
    origin: str, label: str, parts: list[Path], projector: Path | None, **more: str
) -> FoundModel:
    """The :class:`FoundModel` for a GGUF file (``parts``, the first one loaded) in another
    app's folder; ``more`` sets ``source`` and ``sha256``."""
    first = parts[0]
    return FoundModel(
        path=first,
        origin=origin,
        label=label,
        name=_stem_name(first),
        size_bytes=_size(parts),
        parts=len(parts),
        projector=projector,
        **more,
    )


def _stem_name(path: Path) -> str:
    split = split_part(path.name)
    return (split[0] if split else path.stem).lower()


def _same_file(a: Path, b: str) -> bool:
    try:
        return a.resolve() == Path(b).resolve()
    except OSError:
        return False


def _checked(found: FoundModel) -> FoundModel:
    """``found`` with ``problem`` set when its header does not check out."""
    if found.problem:
        return found
    from ember.engines.gguf import inspect_gguf

    try:
        inspect_gguf(found.path)
    except ModelLoadError as exc:
        return replace(found, problem=str(exc))
    except OSError as exc:
        return replace(found, problem=f"cannot be read ({exc.strerror or exc})")
    return found


def discover(paths: Paths | None = None) -> list[FoundModel]:
    """Every GGUF model the other apps keep here, header-checked, by origin then label.

    A file reached twice (the same blob under two Ollama tags, two cache revisions) is listed
    once. Each gets a catalog ``name`` no other of the user's models has (the origin is added
    to it when two would clash); one already registered names its entry in ``registered``."""
    sources: list[Iterator[FoundModel]] = [_from_ollama(d) for d in ollama_dirs()]
    sources += [_from_lm_studio(d) for d in lm_studio_dirs()]
    cache = hf_cache_dir()
    if cache is not None:
        sources.append(_from_hf_cache(cache))
    gpt4all = gpt4all_dir()
    if gpt4all is not None:
        sources.append(_from_gpt4all(gpt4all))
    user = catalog.user_models(paths)
    taken = {entry.name for entry in catalog.builtin_models(paths)}
    found: list[FoundModel] = []
    seen: set[Path] = set()
    for source in sources:
        for model in source:
            real = model.path.resolve()
            if real in seen:
                continue
            seen.add(real)
            registered = next((e.name for e in user if _same_file(model.path, e.path)), "")
            if registered:
                model = replace(model, name=registered, registered=registered)
            else:
                others = taken | {e.name for e in user} | {f.name for f in found}
                name, n = model.name, 1
                while name in others:
                    n += 1
                    name = f"{model.name}-{model.origin}" + (f"-{n - 1}" if n > 2 else "")
                model = replace(model, name=name)
            found.append(_checked(model))
    return found


def register(found: FoundModel, paths: Paths | None = None) -> ModelEntry:
    """Record ``found`` in the user's catalog by reference, with its origin.

    Raises :class:`ModelLoadError` for a model whose file is unusable (its ``problem``, or a
    header that fails now)."""
    if found.problem:
        raise ModelLoadError(f"{found.label} ({found.origin_text}) cannot be used: {found.problem}")
    return catalog.add_user_model(
        found.path,
        paths,
        found.name,
        origin=found.origin,
        source=found.source or None,
        sha256=found.sha256,  # "" (unknown) is not computed: these files may be many GB
        projector=found.projector,
        display_name=shown_name(found),
    )


def shown_name(found: FoundModel) -> str:
    """What a person calls ``found``: Ollama's ``model:tag``, else the file's stem (a split
    model's without the part number), as LM Studio and the other apps list it. Not the GGUF's
    internal name, which can read like "Smollm2 135M 8k Lc100K Mix1 Ep2" (kept as the entry's
    ``gguf_name``)."""
    if found.origin == "ollama":
        return found.label
    split = split_part(found.path.name)
    return split[0] if split else found.path.stem


def missing_models(paths: Paths | None = None) -> list[ModelEntry]:
    """The user's models whose file is gone (moved or deleted since it was registered)."""
    return [e for e in catalog.user_models(paths or ember_paths()) if e.path and not e.available]


def is_missing(entry: ModelEntry) -> bool:
    """Whether ``entry`` is a user's model whose file was moved or deleted."""
    return bool(entry.origin) and bool(entry.path) and not entry.available
