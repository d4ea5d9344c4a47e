"""Fitting a conversation into a model's context window."""

from __future__ import annotations

from ember.engines import ChatMessage
from ember.engines.context import ELLIPSIS, fit_messages, reply_budget
from ember.engines.llamacpp import LlamaCppEngine


def words(text: str) -> int:
    """A stand-in tokenizer for the fitting arithmetic: one token per word."""
    return len(text.split())


def conversation(turns: int, words_per_message: int = 10) -> list[ChatMessage]:
    messages = [ChatMessage("system", "be brief")]
    for turn in range(turns):
        messages.append(ChatMessage("user", f"q{turn} " + "w " * (words_per_message - 1)))
        messages.append(ChatMessage("assistant", f"a{turn} " + "w " * (words_per_message - 1)))
    messages.append(ChatMessage("user", "last question"))
    return messages


def test_a_short_conversation_is_kept_whole() -> None:
    messages = conversation(3)
    assert fit_messages(messages, words, n_ctx=4096, reply_tokens=512) == messages


def test_the_oldest_turns_go_first_and_the_system_prompt_stays() -> None:
    messages = conversation(50)
    fitted = fit_messages(messages, words, n_ctx=400, reply_tokens=100, message_overhead=4)
    assert fitted[0] == messages[0]
    assert fitted[-1] == messages[-1]
    assert len(fitted) < len(messages)
    assert fitted[1:] == messages[len(messages) - len(fitted) + 1 :]  # a contiguous newest run


def test_the_fitted_messages_stay_within_the_budget() -> None:
    fitted = fit_messages(conversation(50), words, n_ctx=400, reply_tokens=100, message_overhead=4)
    used = sum(words(m.content) + 4 for m in fitted)
    assert used <= 400 - 100 - 8


def test_kept_history_never_starts_with_an_assistant_turn() -> None:
    for n_ctx in range(120, 400, 7):
        fitted = fit_messages(conversation(30), words, n_ctx=n_ctx, reply_tokens=50)
        assert fitted[1].role == "user"


def test_a_last_message_too_long_alone_keeps_its_end() -> None:
    pasted = " ".join(f"w{i}" for i in range(5000)) + " so what is the answer?"
    messages = [ChatMessage("system", "be brief"), ChatMessage("user", pasted)]
    fitted = fit_messages(messages, words, n_ctx=512, reply_tokens=128)
    assert [m.role for m in fitted] == ["system", "user"]
    assert fitted[1].content.startswith(ELLIPSIS)
    assert fitted[1].content.endswith("so what is the answer?")
    assert words(fitted[1].content) <= 512 - 128


def test_an_enormous_system_prompt_is_cut_to_its_head() -> None:
    system = "Rule one. " + "more rules " * 2000
    messages = [ChatMessage("system", system), ChatMessage("user", "hello there")]
    fitted = fit_messages(messages, words, n_ctx=512, reply_tokens=128)
    assert fitted[0].content.startswith("Rule one.")
    assert fitted[-1] == messages[-1]
    assert sum(words(m.content) for m in fitted) < 512 - 128


def test_the_reply_budget_is_at_most_half_the_window() -> None:
    assert reply_budget(512, 4096) == 512
    assert reply_budget(4000, 512) == 256


def test_an_empty_conversation_stays_empty() -> None:
    assert fit_messages([], words, n_ctx=512, reply_tokens=64) == []


def test_with_the_real_tokenizer_the_rendered_prompt_fits(small_engine: LlamaCppEngine) -> None:
    messages = conversation(80, words_per_message=25)
    fitted = fit_messages(
        messages,
        small_engine.count_tokens,
        n_ctx=512,
        reply_tokens=200,
        message_overhead=small_engine.message_overhead,
        fixed_overhead=small_engine.fixed_overhead,
    )
    payload = [{"role": m.role, "content": m.content} for m in fitted]
    rendered = small_engine.formatter(messages=payload).prompt
    assert small_engine.count_tokens(rendered) <= 512 - 200
    assert len(fitted) > 3  # it kept some history, not just the question
