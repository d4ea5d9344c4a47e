"""The one context policy: fitting system prompt, history and question into a model's window."""

from __future__ import annotations

import pytest

from ember.engines import ChatMessage, GenerationOptions, TemplateOverhead, complete
from ember.engines.context import PromptTooLong, fit_prompt
from ember.engines.llamacpp import LlamaCppEngine

OVERHEAD = TemplateOverhead(per_message=4, per_prompt=8)


def words(text: str) -> int:
    """A stand-in tokenizer for the fitting arithmetic: one token per word."""
    return len(text.split())


def history(turns: int, words_per_message: int = 10) -> list[ChatMessage]:
    messages = []
    for turn in range(turns):
        messages.append(ChatMessage("user", f"q{turn} " + "w " * (words_per_message - 1)))
        messages.append(ChatMessage("assistant", f"a{turn} " + "w " * (words_per_message - 1)))
    return messages


def fit(turns: list[ChatMessage], n_ctx: int, max_tokens: int = 100, **kw: object):
    return fit_prompt(
        "be brief",
        turns,
        "last question",
        n_ctx=n_ctx,
        count_tokens=kw.pop("count_tokens", words),  # type: ignore[arg-type]
        overhead=kw.pop("overhead", OVERHEAD),  # type: ignore[arg-type]
        max_tokens=max_tokens,
        **kw,  # type: ignore[arg-type]
    )


def test_a_short_conversation_is_kept_whole() -> None:
    turns = history(3)
    fitted = fit(turns, n_ctx=4096)
    assert fitted.messages == [
        ChatMessage("system", "be brief"),
        *turns,
        ChatMessage("user", "last question"),
    ]
    assert fitted.max_tokens == 100


def test_the_oldest_turns_go_first_and_the_system_prompt_stays() -> None:
    turns = history(50)
    fitted = fit(turns, n_ctx=400).messages
    assert fitted[0] == ChatMessage("system", "be brief")
    assert fitted[-1] == ChatMessage("user", "last question")
    kept = fitted[1:-1]
    assert 0 < len(kept) < len(turns)
    assert kept == turns[len(turns) - len(kept) :]  # a contiguous newest run


def test_nothing_exceeds_the_window() -> None:
    for n_ctx in range(150, 800, 37):
        fitted = fit(history(50), n_ctx=n_ctx, max_tokens=120)
        cost = sum(words(m.content) + OVERHEAD.per_message for m in fitted.messages)
        assert cost + OVERHEAD.per_prompt == fitted.prompt_tokens
        assert fitted.prompt_tokens + fitted.max_tokens <= n_ctx


def test_kept_history_never_starts_with_an_assistant_turn() -> None:
    for n_ctx in range(120, 400, 7):
        fitted = fit(history(30), n_ctx=n_ctx, max_tokens=50)
        assert fitted.messages[1].role == "user"


def test_a_long_question_shrinks_the_answer_down_to_the_minimum() -> None:
    question = "word " * 400
    fitted = fit_prompt(
        "", history(5), question, n_ctx=512, count_tokens=words, overhead=OVERHEAD, max_tokens=200
    )
    assert fitted.messages == [ChatMessage("user", question)]  # no room left for history
    assert 64 <= fitted.max_tokens < 200
    assert fitted.prompt_tokens + fitted.max_tokens <= 512


def test_a_question_too_long_for_the_window_is_refused_not_cut() -> None:
    question = "word " * 500
    with pytest.raises(PromptTooLong, match="context size") as err:
        fit_prompt(
            "be brief",
            [],
            question,
            n_ctx=512,
            count_tokens=words,
            overhead=OVERHEAD,
            max_tokens=200,
        )
    assert err.value.required_tokens == 2 + 500 + 8 + 2 * 4 and err.value.n_ctx == 512


def test_neighbouring_turns_of_one_role_are_merged() -> None:
    turns = [ChatMessage("user", "first"), ChatMessage("user", "second")]
    fitted = fit_prompt(
        "", turns, "third", n_ctx=512, count_tokens=words, overhead=OVERHEAD, max_tokens=64
    )
    assert fitted.messages == [ChatMessage("user", "first\n\nsecond\n\nthird")]


def test_with_the_real_tokenizer_the_rendered_prompt_fits(small_engine: LlamaCppEngine) -> None:
    fitted = fit_prompt(
        "You are a patient maths tutor.",
        history(80, words_per_message=25),
        "Which number did we start with?",
        n_ctx=small_engine.n_ctx,
        count_tokens=small_engine.count_tokens,
        overhead=small_engine.template_overhead,
        max_tokens=200,
    )
    payload = [{"role": m.role, "content": m.content} for m in fitted.messages]
    rendered = small_engine.count_tokens(small_engine.formatter(messages=payload).prompt)
    assert rendered <= fitted.prompt_tokens  # the policy's count is never an under-count
    assert fitted.prompt_tokens + fitted.max_tokens <= 512
    assert len(fitted.messages) > 3  # it kept some history, not just the question

    options = GenerationOptions(temperature=0.0, seed=7, max_tokens=fitted.max_tokens)
    reply = complete(small_engine, fitted.messages, options)
    timings = reply.finished.timings
    assert timings.prompt_tokens == rendered
    assert timings.prompt_tokens + timings.completion_tokens <= 512
