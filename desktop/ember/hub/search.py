"""Finding models on the hub: a search, one repository's GGUF models, a file's header read remotely.

- :func:`search` — by keyword (GGUF repositories, most downloaded first), by ``owner/repo``, or by
  a pasted model URL (``https://huggingface.co/OWNER/REPO[/blob/main/FILE.gguf]``) → that repo.
  The catalog's models that match come first, marked ``recommended``.
- :func:`repo_models` — a repository's GGUF files grouped by quantization (:mod:`ember.hub.quants`),
  its licence, whether it is gated, and the commit it was read at (downloads pin it).
- :func:`remote_gguf_info` — a GGUF file's header read with HTTP range requests of growing size
  (never the whole file) and checked like a local one; cached on disk per commit.

Every call runs inside :func:`ember.hub.session.online` at the endpoint and with the token
:mod:`ember.hub.session` reads at call time. A 429 or 5xx answer is retried a few times (honouring
``Retry-After`` up to :data:`MAX_WAIT_S`), a timeout once; a refused or failed connection is not
retried (an unreachable hub fails at once). Every failure ends as a :class:`HubError` that says what
to do (:func:`ember.hub.session.translate`).
"""

from __future__ import annotations

import functools
import re
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from ember.errors import EmberError, HubError
from ember.hub import session
from ember.hub.quants import default_quantization, group_files
from ember.hub.types import HubFile, RepoModels, SearchHit

if TYPE_CHECKING:
    from ember.catalog import ModelEntry
    from ember.engines.gguf import GGUFInfo

T = TypeVar("T")

ATTEMPTS = 4  # tries of one request when the hub answers 429 or 5xx
MAX_WAIT_S = 8.0  # the longest single wait between tries (a longer Retry-After is not waited for)
FIRST_RANGE = 1 << 20  # the first range request of a header: 1 MiB, then four times more each time
MAX_HEADER = 256 << 20  # a header bigger than this is refused (the biggest vocabularies are ~20 MB)

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_HUB_HOSTS = ("huggingface.co", "hf.co", "www.huggingface.co")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True, slots=True)
class ModelRef:
    """What a person typed, when it names one repository: ``owner/repo`` or a model URL.
    ``filename`` is set when the URL pointed at one file (``…/blob/main/FILE.gguf``)."""

    repo_id: str
    revision: str = "main"
    filename: str = ""


def parse_model_ref(text: str) -> ModelRef | None:
    """``text`` as a repository reference, or None when it is a keyword search.

    Accepts ``owner/repo``, ``https://HOST/owner/repo`` (any host: mirrors and ``HF_ENDPOINT``
    hubs too), with ``/tree/REV``, ``/blob/REV/FILE`` or ``/resolve/REV/FILE`` after it, and
    ``huggingface.co/owner/repo`` without the scheme. Raises :class:`HubError` for a dataset or
    Space URL (not a model)."""
    text = text.strip()
    if _REPO_ID.match(text) and not text.lower().startswith(_HUB_HOSTS):
        return ModelRef(text)
    if "://" not in text:
        if not text.lower().startswith(tuple(h + "/" for h in _HUB_HOSTS)):
            return None
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        return None
    segments = [s for s in parts.path.split("/") if s]
    if segments and segments[0] in ("datasets", "spaces"):
        raise HubError(f"{text} is a {segments[0][:-1]}, not a model; paste a model's page URL.")
    if segments and segments[0] == "models":  # …/models/OWNER/REPO, as some links have it
        segments = segments[1:]
    if len(segments) < 2 or not _REPO_ID.match(f"{segments[0]}/{segments[1]}"):
        return None
    repo_id = f"{segments[0]}/{segments[1]}"
    rest = segments[2:]
    if len(rest) >= 2 and rest[0] in ("tree", "blob", "resolve"):
        filename = "/".join(rest[2:]) if rest[0] != "tree" else ""
        return ModelRef(repo_id, rest[1], filename)
    return ModelRef(repo_id)


# -- requests -------------------------------------------------------------------------------


def _transport_errors() -> tuple[type[BaseException], ...]:
    """What a hub request raises: ``huggingface_hub``'s errors (OSError) and its HTTP client's."""
    import httpx

    found: list[type[BaseException]] = [OSError, httpx.HTTPError]
    try:  # the HTTP client newer huggingface_hub releases use
        import httpx2  # type: ignore[import-not-found]

        found.append(httpx2.HTTPError)
    except ImportError:
        pass
    return tuple(found)


def _timed_out(exc: BaseException) -> bool:
    """Whether ``exc`` is a request that timed out (worth one more try), not a refusal."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    return "TimeoutError" in names or "TimeoutException" in names


def _retry_after(exc: BaseException) -> float | None:
    """Seconds the hub asked to wait (``Retry-After`` in seconds), or None."""
    response = getattr(exc, "response", None)
    value = getattr(response, "headers", {}).get("Retry-After") if response is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def call(request: Callable[[], T], repo_id: str = "", *, attempts: int = ATTEMPTS) -> T:
    """``request()`` with the hub reachable, retried on 429/5xx (waiting ``Retry-After``, else
    0.5 s, 1 s, 2 s …, at most :data:`MAX_WAIT_S` a wait) and once after a timeout; a refused
    connection is not retried. Raises :class:`HubError`."""
    errors = _transport_errors()
    with session.online():
        for attempt in range(attempts):
            try:
                return request()
            except EmberError:
                raise
            except errors as exc:
                status = session.status_of(exc)
                wait = _retry_after(exc)
                wait = 0.5 * 2**attempt if wait is None else wait
                busy = status == 429 or (status is not None and status >= 500)
                busy = busy or (status is None and _timed_out(exc) and attempt == 0)
                if not busy or attempt == attempts - 1 or wait > MAX_WAIT_S:
                    raise session.translate(exc, repo_id) from exc
                time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def _api() -> Any:
    from huggingface_hub import HfApi

    return HfApi(endpoint=session.endpoint(), token=session.token())


def _list_gguf_models(query: str, limit: int) -> list[Any]:
    """The hub's GGUF repositories for ``query``, most downloaded first, as ``ModelInfo``: the
    request ``HfApi.list_models`` makes, sent once (its own backoff would retry a refused
    connection for ~20 s, logging each try); :func:`call` decides what is worth another try."""
    from huggingface_hub.hf_api import ModelInfo
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    params: dict[str, Any] = {"filter": "gguf", "sort": "downloads", "limit": limit}
    if query.strip():
        params["search"] = query.strip()
    response = get_session().get(
        f"{session.endpoint()}/api/models",
        params=params,
        headers=build_hf_headers(token=session.token()),
        timeout=session.TIMEOUT_S,
    )
    hf_raise_for_status(response)
    return [ModelInfo(**{"siblings": None, **item}) for item in response.json()[:limit]]


# -- search ---------------------------------------------------------------------------------


def recommended() -> list[SearchHit]:
    """The catalog's models that come from the hub, one hit per repository, in catalog order,
    marked ``recommended`` (no network)."""
    from ember import catalog

    hits: dict[str, SearchHit] = {}
    for entry in catalog.builtin_models():
        where = catalog.hub_file(entry)
        if where and where[0] not in hits:
            hits[where[0]] = SearchHit(where[0], recommended=True, title=entry.display_name)
    return list(hits.values())


def _hit(info: Any, *, recommended: bool = False, title: str = "") -> SearchHit:
    modified = getattr(info, "last_modified", None)
    return SearchHit(
        repo_id=info.id,
        downloads=int(getattr(info, "downloads", 0) or 0),
        likes=int(getattr(info, "likes", 0) or 0),
        gated=bool(getattr(info, "gated", False)),
        last_modified=modified.isoformat() if modified else "",
        recommended=recommended,
        title=title,
    )


def _matches(words: list[str], hit: SearchHit) -> bool:
    text = f"{hit.repo_id} {hit.title}".lower()
    return all(word in text for word in words)


def search(query: str, limit: int = 20) -> list[SearchHit]:
    """Repositories for ``query``: a keyword search of GGUF repositories (the matching catalog
    models first, ``recommended``; an empty query lists the catalog's then the most downloaded),
    or, for ``owner/repo`` or a model URL, that one repository (:class:`HubError` when the hub
    has no such repository). At most ``limit`` hits."""
    ref = parse_model_ref(query)
    picks = {hit.repo_id: hit for hit in recommended()}
    if ref is not None:
        info = call(
            lambda: _api().model_info(
                ref.repo_id, token=session.token(), timeout=session.TIMEOUT_S
            ),
            ref.repo_id,
        )
        pick = picks.get(info.id)
        return [_hit(info, recommended=pick is not None, title=pick.title if pick else "")]
    words = query.lower().split()
    found = call(lambda: _list_gguf_models(query, limit))
    first = [hit for hit in picks.values() if _matches(words, hit)]
    from_hub = {info.id: info for info in found}
    hits = [
        _hit(from_hub[hit.repo_id], recommended=True, title=hit.title)
        if hit.repo_id in from_hub
        else hit
        for hit in first
    ]
    hits += [_hit(info) for info in found if info.id not in picks]
    return hits[:limit]


# -- one repository -------------------------------------------------------------------------


def _license(info: Any) -> str:
    card = getattr(info, "card_data", None)
    if card is not None:
        value = card.get("license")
        if value == "other" and card.get("license_name"):
            value = card.get("license_name")
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        if value:
            return str(value)
    for tag in getattr(info, "tags", None) or []:
        if tag.startswith("license:"):
            return tag.removeprefix("license:")
    return ""


def _catalog_quant(repo_id: str) -> str:
    """The quantization the catalog recommends for ``repo_id``, or ""."""
    from ember import catalog

    entries: list[ModelEntry] = catalog.builtin_models()
    for entry in entries:
        where = catalog.hub_file(entry)
        if where and where[0].lower() == repo_id.lower():
            return entry.quantization
    return ""


def repo_models(repo_id: str, revision: str = "main") -> RepoModels:
    """``repo_id``'s GGUF models at ``revision`` (its commit is pinned in ``revision`` of the
    result): quants smallest first, vision projectors, licence, gated, and the quantization to
    pre-select (the catalog's choice, else Q4_K_M, else the nearest sensible one).
    ``n_ctx_train``/``architecture`` are set when the hub's listing states them (else read the
    header with :func:`remote_gguf_info`). Raises :class:`HubError`."""
    info = call(
        lambda: _api().model_info(
            repo_id,
            revision=revision,
            files_metadata=True,
            token=session.token(),
            timeout=session.TIMEOUT_S,
        ),
        repo_id,
    )
    files = [
        HubFile(
            s.rfilename,
            int(s.size or (s.lfs.size if s.lfs else 0) or 0),
            s.lfs.sha256 if s.lfs else "",
        )
        for s in info.siblings or []
    ]
    quants, projectors = group_files(files)
    chosen = _catalog_quant(info.id)
    default = next((q.quantization for q in quants if q.quantization.upper() == chosen), "")
    gguf = getattr(info, "gguf", None) or {}
    n_ctx = gguf.get("context_length")
    return RepoModels(
        repo_id=info.id,
        revision=info.sha or revision,
        license=_license(info),
        gated=bool(info.gated),
        quants=quants,
        projectors=projectors,
        default_quant=default or default_quantization(quants),
        downloads=int(info.downloads or 0),
        likes=int(info.likes or 0),
        n_ctx_train=n_ctx if isinstance(n_ctx, int) and n_ctx > 0 else None,
        architecture=str(gguf.get("architecture") or ""),
    )


# -- a file's header, read remotely ---------------------------------------------------------


def _cache_file(repo_id: str, revision: str, filename: str) -> Path | None:
    """Where a header read at a pinned commit is kept; None for a branch name (it can move)."""
    if not _COMMIT.match(revision):
        return None
    from ember.paths import ember_paths

    folder = ember_paths().cache_dir / "hub" / "headers" / repo_id.replace("/", "--") / revision
    return folder / (filename.replace("/", "--") + ".head")


def _read_cached(path: Path | None) -> tuple[bytes, int] | None:
    try:
        data = path.read_bytes() if path else b""
    except OSError:
        return None
    return (data[8:], struct.unpack("<Q", data[:8])[0]) if len(data) > 8 else None


def _write_cached(path: Path | None, prefix: bytes, size: int) -> None:
    if path is None:
        return
    from ember.files import write_atomically

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, struct.pack("<Q", size) + prefix)
    except OSError:  # a cache that cannot be written costs a re-read next time, nothing more
        pass


def _fetch_range(url: str, start: int, end: int) -> tuple[bytes, int]:
    """Bytes ``start..end`` of ``url`` (fewer when the file ends first) and the file's size.
    A server that ignores ``Range`` is read only as far as needed."""
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    headers = {**build_hf_headers(token=session.token()), "Range": f"bytes={start}-{end}"}
    with get_session().stream(
        "GET", url, headers=headers, follow_redirects=True, timeout=session.TIMEOUT_S
    ) as response:
        if response.status_code == 416:  # asked past the end: nothing more to read
            total = response.headers.get("Content-Range", "").rpartition("/")[2]
            return b"", int(total) if total.isdigit() else start
        if response.status_code >= 400:
            response.read()
            hf_raise_for_status(response)
        total_text = response.headers.get("Content-Range", "").rpartition("/")[2]
        if response.status_code == 206 and total_text.isdigit():
            size, skip = int(total_text), 0
        else:
            size = int(response.headers.get("Content-Length") or 0)
            skip = start  # the whole file from byte 0: step over what we have
        chunks, need, seen = [], end - start + 1, 0
        for block in response.iter_bytes():
            if skip:
                cut = min(skip, len(block))
                block, skip = block[cut:], skip - cut
            chunks.append(block)
            seen += len(block)
            if seen >= need:
                break
        return b"".join(chunks)[:need], size


def remote_gguf_info(repo_id: str, filename: str, revision: str = "main") -> GGUFInfo:
    """The header of ``filename`` in ``repo_id`` at ``revision``, read by HTTP range requests of
    growing size (1 MiB, then 4x) and checked like a local file's (``info.path`` is
    ``"REPO/FILE"``). Kept in the cache folder when ``revision`` is a commit (a branch can move).
    For a split GGUF give the first part. Raises :class:`HubError` (unreachable, gated, no such
    file) or :class:`~ember.errors.ModelLoadError` (not a GGUF, a malformed header)."""
    from huggingface_hub import hf_hub_url

    from ember.engines.gguf import inspect_gguf_prefix

    label = f"{repo_id}/{filename}"
    cache = _cache_file(repo_id, revision, filename)
    cached = _read_cached(cache)
    if cached is not None:
        info = inspect_gguf_prefix(cached[0], cached[1], label)
        if info is not None:
            return info
    url = hf_hub_url(repo_id, filename, revision=revision, endpoint=session.endpoint())
    prefix, size, want = b"", None, FIRST_RANGE
    while True:
        more, size = call(functools.partial(_fetch_range, url, len(prefix), want - 1), repo_id)
        prefix += more
        info = inspect_gguf_prefix(prefix, size, label)
        if info is not None:
            _write_cached(cache, prefix, size)
            return info
        if len(prefix) >= size or not more:
            raise HubError(f"{label} ends before its GGUF header does; it is not a usable model.")
        if want >= MAX_HEADER:
            raise HubError(f"{label} has a GGUF header over {MAX_HEADER >> 20} MB; not read.")
        want = min(want * 4, MAX_HEADER)


def with_header(repo: RepoModels, info: GGUFInfo) -> RepoModels:
    """``repo`` with the context length and architecture a header of one of its files gives."""
    return replace(
        repo,
        n_ctx_train=repo.n_ctx_train or info.n_ctx_train,
        architecture=repo.architecture or info.architecture,
    )
