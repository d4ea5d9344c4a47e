"""Thinking split off the answer: the streaming splitter, the server stream, the llama.cpp engine."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import llama_cpp
import pytest

from ember.engines import ChatMessage, Finished, GenerationOptions, Token
from ember.engines.base import Thinking
from ember.engines.gguf import inspect_gguf
from ember.engines.llamacpp import LlamaCppEngine
from ember.engines.remote import PendingCalls, _chunk
from ember.engines.server import Chunk, ServerErrors, stream_reply
from ember.engines.thinking import ThinkSplitter, opens_thinking

STREAM = "<think>\nThe user wants 2+2. That is 4.\n</think>\n\nThe answer is 4."
THOUGHT = "\nThe user wants 2+2. That is 4.\n"
ANSWER = "The answer is 4."


def split(pieces: list[str], inside: bool = False) -> tuple[str, str]:
    """(thinking, answer) the splitter makes of ``pieces`` fed one by one."""
    splitter = ThinkSplitter(inside=inside)
    out = [p for piece in pieces for p in splitter.feed(piece)] + splitter.flush()
    thinking = "".join(text for kind, text in out if kind == "thinking")
    answer = "".join(text for kind, text in out if kind == "answer")
    return thinking, answer


def test_the_think_block_is_split_off_the_answer() -> None:
    assert split([STREAM]) == (THOUGHT, ANSWER)


@pytest.mark.parametrize("at", range(len(STREAM) + 1))
def test_a_tag_split_at_any_position_is_still_found(at: int) -> None:
    assert split([STREAM[:at], STREAM[at:]]) == (THOUGHT, ANSWER)


def test_one_character_at_a_time() -> None:
    assert split(list(STREAM)) == (THOUGHT, ANSWER)


@pytest.mark.parametrize("at", range(len(STREAM) + 1))
def test_three_way_splits_around_the_closing_tag(at: int) -> None:
    close = STREAM.index("</think>")
    cuts = sorted([at, close + 3])
    pieces = [STREAM[: cuts[0]], STREAM[cuts[0] : cuts[1]], STREAM[cuts[1] :]]
    assert split(pieces) == (THOUGHT, ANSWER)


def test_a_stream_that_starts_inside_thinking_needs_no_opening_tag() -> None:
    text = "Let me add: 4.\n</think>\n\n4"
    assert split([text[:5], text[5:17], text[17:]], inside=True) == ("Let me add: 4.\n", "4")


def test_text_without_tags_is_all_answer_and_streams_at_once() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("Hello") == [("answer", "Hello")]
    assert splitter.feed(" <think> is a tag") == [("answer", " <think> is a tag")]


def test_an_opening_tag_after_answer_text_is_quoted_not_thinking() -> None:
    assert split(["Use ", "<think>", "x</think>"]) == ("", "Use <think>x</think>")


def test_an_unfinished_tag_at_the_end_is_text() -> None:
    assert split(["<thi"]) == ("", "<thi")
    assert split(["<think>still thinking </thi"]) == ("still thinking </thi", "")


def test_opens_thinking_reads_the_generation_prompt() -> None:
    assert opens_thinking("<｜Assistant｜><think>\n")
    assert not opens_thinking("<|im_start|>assistant\n")


def _errors() -> ServerErrors:
    from ember.engines.remote import WORDING

    return ServerErrors(WORDING, "http://127.0.0.1:1")


def test_a_server_stream_yields_thinking_then_tokens_and_finished_keeps_them_apart() -> None:
    pieces = ["<th", "ink>Two plus", " two.</th", "ink>\n", "Four", "."]
    chunks = [Chunk(p) for p in pieces] + [Chunk(finish="stop", done=True)]
    events = list(stream_reply(iter(chunks), model="m", errors=_errors()))
    thinking = "".join(e.text for e in events if isinstance(e, Thinking))
    answer = "".join(e.text for e in events if isinstance(e, Token))
    finished = events[-1]
    assert isinstance(finished, Finished)
    assert (thinking, answer) == ("Two plus two.", "Four.")
    assert (finished.thinking, finished.text) == ("Two plus two.", "Four.")
    assert finished.timings.completion_tokens == len(pieces)


def test_a_servers_own_reasoning_channel_is_thinking() -> None:
    chunks = [Chunk(thinking="Hmm, 4."), Chunk("4"), Chunk(finish="stop", done=True)]
    events = list(stream_reply(iter(chunks), model="m", errors=_errors()))
    assert [type(e) for e in events] == [Thinking, Token, Finished]
    assert (events[-1].thinking, events[-1].text) == ("Hmm, 4.", "4")  # type: ignore[union-attr]


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_openai_reasoning_deltas_are_thinking(field: str) -> None:
    data = {"choices": [{"index": 0, "delta": {field: "Think."}, "finish_reason": None}]}
    chunk = _chunk(json.dumps(data), PendingCalls())
    assert (chunk.thinking, chunk.text) == ("Think.", "")


DEEPSEEK_R1_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'user' %}{{ '<｜User｜>' + message['content'] }}"
    "{% elif message['role'] == 'assistant' %}{{ '<｜Assistant｜>' + message['content'] }}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<｜Assistant｜><think>\\n' }}{% endif %}"
)


def test_a_template_that_opens_thinking_makes_the_stream_thinking(model_path: Path) -> None:
    """DeepSeek-R1 distills' template opens ``<think>`` itself: until the model closes it,
    what the real model writes is thinking, not answer."""
    info = replace(inspect_gguf(model_path), chat_template=DEEPSEEK_R1_TEMPLATE)
    llama = llama_cpp.Llama(str(model_path), n_ctx=512, n_threads=1, verbose=False)
    engine = LlamaCppEngine(llama, info, model_name="r1-templated")
    try:
        options = GenerationOptions(temperature=0.0, seed=3, max_tokens=12)
        events = list(engine.stream_chat([ChatMessage("user", "What is 2+2?")], options))
    finally:
        engine.close()
    finished = events[-1]
    assert isinstance(finished, Finished)
    thoughts = [e for e in events if isinstance(e, Thinking)]
    assert thoughts and finished.thinking == "".join(t.text for t in thoughts)
    # Greedy, the tiny model does not close the block within 12 tokens: no answer text at all.
    assert "</think>" not in finished.thinking and finished.thinking.strip()
    assert finished.text == "" and not any(isinstance(e, Token) for e in events)
