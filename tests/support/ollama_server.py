"""A stand-in Ollama server on 127.0.0.1 that speaks Ollama's real HTTP protocol.

Ollama itself cannot run here, so this serves the same endpoints the official client calls
(``/api/version``, ``/api/tags``, ``/api/show``, ``/api/chat`` as NDJSON or one JSON object,
``/api/pull`` progress) and generates with the REAL embedded GGUF through llama-cpp-python.
:attr:`OllamaTestServer.failure` switches on the ways a real server misbehaves: dying mid-stream,
garbage lines, hanging, or a line that never ends.

Usage::

    with OllamaTestServer(model_path) as server:
        ollama.Client(host=server.url).list()
"""

from __future__ import annotations

import hashlib
import json
import select
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

from ember.engines.base import ChatMessage, ToolCall, ToolDefinition
from ember.engines.tool_calls import (
    calls_so_far,
    decide_messages,
    decide_schema,
    folded_messages,
    parse_decision,
)

FailureKind = Literal["die", "garbage", "hang", "oversized"]


@dataclass
class Failure:
    """Misbehave in ``/api/chat`` after streaming ``after_tokens`` tokens."""

    kind: FailureKind
    after_tokens: int = 3
    oversized_bytes: int = 9 * 1024 * 1024


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class OllamaTestServer:
    """Serves ``model_name`` (the embedded GGUF) plus whatever tests pull."""

    def __init__(self, model_path: Path, model_name: str = "smollm2:135m") -> None:
        import llama_cpp

        self.model_path = model_path
        self.model_name = model_name
        self.models: dict[str, int] = {model_name: model_path.stat().st_size}
        self.pullable = {"tinyllama:latest": 3 * 1024 * 1024}  # what the "registry" offers
        self.failure: Failure | None = None
        self.stall_pull_after: int | None = None  # progress lines before a pull goes quiet
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.decisions: list[str] = []  # what the model's decide steps wrote (JSON text)
        self.released = threading.Event()  # ends a "hang" early at shutdown
        self._llama = llama_cpp.Llama(
            str(model_path), n_ctx=2048, n_threads=1, n_threads_batch=1, verbose=False
        )
        self._llama_lock = threading.Lock()
        self._closed = False
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        # A connection we kill on purpose makes the handler's own cleanup fail; that is expected.
        self._httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> OllamaTestServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.released.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        # A handler thread may still be generating: free the model only when it is done.
        if self._llama_lock.acquire(timeout=60):
            self._closed = True
            self._llama.close()
            self._llama_lock.release()

    # -- generation ------------------------------------------------------------------------------

    def generate(
        self, messages: list[dict[str, str]], options: dict[str, Any], answer_format: Any = None
    ) -> Any:
        """Yield (text, finish_reason) from the real model, honouring Ollama's option names and
        ``format`` (a JSON schema, or "json"), as Ollama does, through a llama.cpp grammar."""
        from llama_cpp.llama_grammar import LlamaGrammar

        grammar = None
        if answer_format:
            schema = {"type": "object"} if answer_format == "json" else answer_format
            grammar = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
        with self._llama_lock:
            if self._closed:
                return
            self._llama.reset()
            chunks = self._llama.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]
                temperature=float(options.get("temperature", 0.8)),
                top_p=float(options.get("top_p", 0.9)),
                repeat_penalty=float(options.get("repeat_penalty", 1.1)),  # Ollama's default
                max_tokens=int(options.get("num_predict", 128)),
                seed=options.get("seed"),
                stop=list(options.get("stop", [])),
                grammar=grammar,
                stream=True,
            )
            try:
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    yield choice["delta"].get("content") or "", choice["finish_reason"]
            finally:
                chunks.close()

    def decide(
        self, messages: list[ChatMessage], tools: list[dict[str, Any]], options: dict[str, Any]
    ) -> ToolCall | None:
        """Whether the real model calls one of ``tools`` (OpenAI / Ollama wire dicts) now: the
        same grammar-constrained decide step Ember's llama.cpp engine runs (its schema and
        prompt), generated honestly by the embedded GGUF. None: it answers in text."""
        definitions = [
            ToolDefinition.of(
                t["function"]["name"],
                t["function"].get("description", ""),
                t["function"].get("parameters") or {"type": "object", "properties": {}},
            )
            for t in tools
        ]
        prompt = decide_messages(messages, definitions)
        # As Ember's engine decides: the request's repeat penalty, off when it sends none (an
        # OpenAI request has no such field); a penalty flips the tiny model's argument choice.
        asked = {**options, "num_predict": 256, "stop": []}
        asked.setdefault("repeat_penalty", 1.0)
        text = "".join(t for t, _ in self.generate(prompt, asked, decide_schema(definitions)))
        self.decisions.append(text)
        return parse_decision(text, calls_so_far(messages) + 1)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(_OllamaHandler):
            owner = server

        return Handler


class _OllamaHandler(BaseHTTPRequestHandler):
    owner: OllamaTestServer
    protocol_version = "HTTP/1.1"  # chunked streaming, as Ollama (Go net/http) does

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    # -- plumbing --------------------------------------------------------------------------------

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b"{}"
        return json.loads(raw or b"{}")

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _line(self, payload: dict[str, Any]) -> None:
        self._chunk(json.dumps(payload).encode() + b"\n")

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _die(self) -> None:
        """Vanish like a killed process: no chunk terminator, connection reset."""
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
        self.connection.close()
        self.close_connection = True

    # -- endpoints -------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self.owner.requests.append(("GET", self.path, {}))
        if self.path == "/api/version":
            self._json(200, {"version": "0.6.8"})
        elif self.path == "/api/tags":
            self._json(
                200, {"models": [self._model_entry(n, s) for n, s in self.owner.models.items()]}
            )
        else:
            self._json(404, {"error": "404 page not found"})

    def do_POST(self) -> None:
        body = self._body()
        self.owner.requests.append(("POST", self.path, body))
        routes = {"/api/show": self._show, "/api/chat": self._chat, "/api/pull": self._pull}
        route = routes.get(self.path)
        if route is None:
            self._json(404, {"error": "404 page not found"})
        else:
            route(body)

    def _model_entry(self, name: str, size: int) -> dict[str, Any]:
        return {
            "name": name,
            "model": name,
            "modified_at": _now(),
            "size": size,
            "digest": hashlib.sha256(name.encode()).hexdigest(),
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": "llama",
                "families": ["llama"],
                "parameter_size": "134.52M",
                "quantization_level": "Q4_1",
            },
        }

    def _show(self, body: dict[str, Any]) -> None:
        name = body.get("model") or body.get("name") or ""
        if name not in self.owner.models:
            self._json(404, {"error": f"model '{name}' not found"})
            return
        entry = self._model_entry(name, self.owner.models[name])
        self._json(
            200,
            {
                "modelfile": f"FROM {self.owner.model_path}\n",
                "parameters": "stop <|im_end|>",
                "template": "{{ .Prompt }}",
                "details": entry["details"],
                "model_info": {"general.architecture": "llama", "llama.context_length": 8192},
                "capabilities": ["completion"],
                "modified_at": entry["modified_at"],
            },
        )

    def _chat(self, body: dict[str, Any]) -> None:
        name = body.get("model", "")
        if name not in self.owner.models:
            self._json(404, {"error": f'model "{name}" not found, try pulling it first'})
            return
        options = body.get("options") or {}
        started = time.perf_counter_ns()
        chat = wire_messages(body.get("messages", []))
        messages = folded_messages(chat)
        if body.get("tools"):
            call = self.owner.decide(chat, body["tools"], options)
            if call is not None:
                self._tool_call(name, call, body.get("stream", True), started)
                return
            messages = folded_messages(chat, hint=True)
        if not body.get("stream", True):
            pieces, reason = [], "stop"
            for text, finish in self.owner.generate(messages, options, body.get("format")):
                pieces.append(text)
                reason = finish or reason
            self._json(200, self._final(name, "".join(pieces), reason, len(pieces), started))
            return
        self._start_stream()
        failure = self.owner.failure
        count, reason = 0, "stop"
        tokens = self.owner.generate(messages, options, body.get("format"))
        try:
            for text, finish in tokens:
                if finish:
                    reason = finish
                if not text:
                    continue
                if failure is not None and count >= failure.after_tokens:
                    break
                self._line(
                    {
                        "model": name,
                        "created_at": _now(),
                        "message": {"role": "assistant", "content": text},
                        "done": False,
                    }
                )
                count += 1
        finally:
            tokens.close()  # frees the model for the next request whatever happens here
        if failure is not None and count >= failure.after_tokens:
            self._misbehave(failure)
            return
        self._line(self._final(name, "", reason, count, started))
        self._end_stream()

    def _tool_call(self, name: str, call: ToolCall, stream: bool, started: int) -> None:
        """Answer as Ollama does when the model calls a tool: the call in
        ``message.tool_calls`` (arguments an object, no id), then the closing line."""
        message = {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": call.name, "arguments": call.arguments}}],
        }
        if not stream:
            final = self._final(name, "", "stop", 1, started)
            self._json(200, {**final, "message": message})
            return
        self._start_stream()
        self._line({"model": name, "created_at": _now(), "message": message, "done": False})
        self._line(self._final(name, "", "stop", 1, started))
        self._end_stream()

    def _misbehave(self, failure: Failure) -> None:
        if failure.kind == "die":
            self._die()
        elif failure.kind == "garbage":
            self._chunk(b"<html>502 Bad Gateway</html>\n")
            self._end_stream()
        elif failure.kind == "hang":
            self._wait_for_client_to_leave(timeout_s=30)
            self._die()
        elif failure.kind == "oversized":
            block = b"x" * (1024 * 1024)
            try:
                for _ in range(failure.oversized_bytes // len(block) + 1):
                    self._chunk(block)
                self._end_stream()
            except OSError:  # the client gave up on the line, as it should
                self.close_connection = True

    def _wait_for_client_to_leave(self, timeout_s: float) -> None:
        """Say nothing, as a stuck server does, until the client hangs up (or shutdown)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not self.owner.released.is_set():
            readable, _, _ = select.select([self.connection], [], [], 0.1)
            if readable and not self.connection.recv(1, socket.MSG_PEEK):
                return

    def _final(
        self, name: str, content: str, reason: str, count: int, started: int
    ) -> dict[str, Any]:
        return {
            "model": name,
            "created_at": _now(),
            "message": {"role": "assistant", "content": content},
            "done": True,
            "done_reason": reason,
            "total_duration": time.perf_counter_ns() - started,
            "load_duration": 0,
            "prompt_eval_count": max(1, self.owner._llama.n_tokens - count),
            "prompt_eval_duration": 0,
            "eval_count": count,
            "eval_duration": 0,
        }

    def _pull(self, body: dict[str, Any]) -> None:
        name = body.get("model") or body.get("name") or ""
        self._start_stream()
        self._line({"status": "pulling manifest"})
        total = self.owner.pullable.get(name) or self.owner.models.get(name)
        if total is None:
            self._line({"error": "pull model manifest: file does not exist"})
            self._end_stream()
            return
        digest = "sha256:" + hashlib.sha256(name.encode()).hexdigest()
        for number, completed in enumerate(range(0, total + 1, total // 4)):
            if number == self.owner.stall_pull_after:  # a stalled registry: nothing more comes
                self._wait_for_client_to_leave(timeout_s=30)
                self._die()
                return
            self._line(
                {
                    "status": f"pulling {digest[7:19]}",
                    "digest": digest,
                    "total": total,
                    "completed": completed,
                }
            )
        for status in ("verifying sha256 digest", "writing manifest", "success"):
            self._line({"status": status})
        self.owner.models[name] = total
        self._end_stream()


def wire_messages(wire: list[dict[str, Any]]) -> list[ChatMessage]:
    """Messages as Ollama or an OpenAI client sends them (tool calls with arguments as an object
    or as JSON text; results with ``tool_name`` or ``tool_call_id``) as :class:`ChatMessage`."""
    messages: list[ChatMessage] = []
    number = 0
    for m in wire:
        calls = []
        for c in m.get("tool_calls") or ():
            number += 1
            arguments = c["function"].get("arguments") or {}
            if isinstance(arguments, str):
                arguments = json.loads(arguments)
            calls.append(
                ToolCall(c.get("id") or f"call_{number}", c["function"]["name"], arguments)
            )
        call_for_tool = m.get("tool_call_id") or ""
        if m["role"] == "tool" and not call_for_tool:  # Ollama names the tool, not the call
            call_for_tool = next(
                (c.id for p in messages for c in p.tool_calls if c.name == m.get("tool_name")), ""
            )
        messages.append(
            ChatMessage(
                m["role"],
                m.get("content") or "",
                tool_calls=tuple(calls),
                tool_call_id=call_for_tool,
                name=m.get("tool_name") or m.get("name") or "",
            )
        )
    return messages
