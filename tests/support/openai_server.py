"""llama-cpp-python's own OpenAI-compatible server, run on 127.0.0.1 with the embedded GGUF.

A real implementation of the protocol (FastAPI + SSE), not a fake: ``python -m llama_cpp.server``
as a child process. Needs the server extras (fastapi, uvicorn, sse-starlette, starlette-context,
pydantic-settings) in the environment.

Usage::

    with LlamaCppServer(model_path) as server:
        httpx.get(f"{server.base_url}/models")
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LlamaCppServer:
    def __init__(
        self,
        model_path: Path,
        alias: str = "smollm2",
        n_ctx: int = 2048,
        api_key: str | None = None,
        start_timeout_s: float = 60.0,
    ) -> None:
        self.model_path = model_path
        self.alias = alias
        self.api_key = api_key
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._n_ctx = n_ctx
        self._start_timeout_s = start_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __enter__(self) -> LlamaCppServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        command = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.model_path),
            "--model_alias", self.alias,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--n_ctx", str(self._n_ctx),
            "--n_threads", "1",
            "--verbose", "False",
        ]  # fmt: skip
        if self.api_key:
            command += ["--api_key", self.api_key]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # A file, not a pipe: nobody reads the server's log while it runs, and a full pipe
        # would block it mid-request.
        self._log = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=self._log, env=env
        )
        deadline = time.monotonic() + self._start_timeout_s
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited at start:\n{self.log_tail()}")
            try:
                if (
                    httpx.get(f"{self.base_url}/models", headers=headers, timeout=1).status_code
                    == 200
                ):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"llama_cpp.server did not answer within {self._start_timeout_s} s:\n{self.log_tail()}"
        )

    def log_tail(self, size: int = 2000) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-size:]

    def kill(self) -> None:
        """SIGKILL, as when the server crashes or the machine serving it goes away."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None
