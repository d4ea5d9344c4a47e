"""An OpenAI-compatible chat server (SSE) on 127.0.0.1 that can misbehave mid-stream.

The happy path is covered by llama-cpp-python's own server (``openai_server.py``); this one exists
for what that server never does: hang mid-answer, send garbage, send one endless line. It streams
real tokens from the embedded model (through :class:`OllamaTestServer`'s generator) in the
``chat.completion.chunk`` format, then misbehaves as its ``failure`` says. Unlike that server it
follows ``response_format`` with a ``json_schema`` (llama-cpp-python's knows only json_object),
and ``tools`` with streamed ``tool_calls`` deltas: llama-cpp-python's server cannot stream a call
the model chose itself ("Automatic streaming tool choice is not supported"), so here the real
model decides through Ember's grammar-constrained decide step (:meth:`OllamaTestServer.decide`)
and its call goes out in OpenAI's exact delta shape.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from ember.engines.base import ToolCall
from ember.engines.tool_calls import folded_messages
from tests.support.ollama_server import Failure, OllamaTestServer, _OllamaHandler, wire_messages

ARGUMENT_PIECE = 7  # characters of a call's arguments per streamed delta, as servers split them


class FaultyOpenAIServer(OllamaTestServer):
    """``/v1/models`` and ``/v1/chat/completions`` with the failures of :class:`Failure`."""

    def __init__(self, model_path: Path, model_name: str = "smollm2") -> None:
        super().__init__(model_path, model_name)

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(_OpenAIHandler):
            owner = server

        return Handler


class _OpenAIHandler(_OllamaHandler):
    owner: FaultyOpenAIServer  # type: ignore[assignment]

    def do_GET(self) -> None:
        if self.path == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": self.owner.model_name}]})
        else:
            self._json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        if self.path != "/v1/chat/completions":
            self._json(404, {"error": {"message": "not found"}})
            return
        body = self._body()
        self.owner.requests.append(("POST", self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        failure: Failure | None = self.owner.failure
        options = {
            "temperature": body.get("temperature", 0.8),
            "top_p": body.get("top_p", 0.9),
            "num_predict": body.get("max_tokens", 128),
            # llama-server's default (an OpenAI request has no such field), not Ollama's 1.1.
            "repeat_penalty": body.get("repeat_penalty", 1.0),
            "seed": body.get("seed"),
        }
        chat = wire_messages(body["messages"])
        messages = folded_messages(chat)
        tools = body.get("tools") if body.get("tool_choice", "auto") != "none" else None
        if tools:
            call = self.owner.decide(chat, tools, options)
            if call is not None:
                self._tool_call(call)
                return
            messages = folded_messages(chat, hint=True)
        count, finish = 0, None
        for text, reason in self.owner.generate(messages, options, _format(body)):
            finish = reason or finish
            if failure is not None and count >= failure.after_tokens:
                self._misbehave(failure)
                return
            if text:
                count += 1
                self._event({"choices": [{"index": 0, "delta": {"content": text}}]})
        self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": finish or "stop"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            # OpenAI's usage-only chunk: no choices, the counts of the whole exchange.
            prompt = max(1, self.owner._llama.n_tokens - count)
            usage = {"prompt_tokens": prompt, "completion_tokens": count}
            self._event({"choices": [], "usage": {**usage, "total_tokens": prompt + count}})
        self._chunk(b"data: [DONE]\n\n")
        self._end_stream()

    def _tool_call(self, call: ToolCall) -> None:
        """Stream a call as OpenAI does: a first delta with the index, id, type and name, then
        the arguments' JSON text in pieces, then ``finish_reason: "tool_calls"``."""
        opening = {"index": 0, "id": call.id, "type": "function"}
        opening["function"] = {"name": call.name, "arguments": ""}
        self._event(
            {"choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [opening]}}]}
        )
        arguments = json.dumps(call.arguments)
        for at in range(0, len(arguments), ARGUMENT_PIECE):
            piece = {"index": 0, "function": {"arguments": arguments[at : at + ARGUMENT_PIECE]}}
            self._event({"choices": [{"index": 0, "delta": {"tool_calls": [piece]}}]})
        self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
        self._chunk(b"data: [DONE]\n\n")
        self._end_stream()

    def _event(self, chunk: dict[str, Any]) -> None:
        payload = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, **chunk}
        payload["model"] = self.owner.model_name
        self._chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")

    def _misbehave(self, failure: Failure) -> None:
        if failure.kind == "garbage":
            self._chunk(b"data: <html>502 Bad Gateway</html>\n\n")
            self._end_stream()
        else:
            super()._misbehave(failure)


def _format(body: dict[str, Any]) -> Any:
    """OpenAI's ``response_format`` as Ollama's ``format``: the JSON schema, "json", or None."""
    asked = body.get("response_format") or {}
    if asked.get("type") == "json_schema":
        return asked["json_schema"]["schema"]
    return "json" if asked.get("type") == "json_object" else None
