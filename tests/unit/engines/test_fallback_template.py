"""A GGUF without a chat template: a base model gets a plain transcript it can continue, and its
answer ends where it would start inventing the next turn; a model named as tuned for chat gets its
architecture's own turn format."""

from __future__ import annotations

from dataclasses import replace

from tests.support.real_models import gemma3_gguf

from ember.engines import EngineSpec, create_engine
from ember.engines.base import ChatMessage, GenerationOptions, complete
from ember.engines.fallback_template import CHATML, GEMMA, TRANSCRIPT, fallback_for
from ember.engines.gguf import inspect_gguf


def test_the_format_follows_the_name_and_the_architecture() -> None:
    base = inspect_gguf(gemma3_gguf())  # "Gemma 3 270m": a base model
    assert base.chat_template is None and base.architecture == "gemma3"
    assert fallback_for(base) is TRANSCRIPT
    assert fallback_for(replace(base, name="Gemma 3 270m it")) is GEMMA
    assert fallback_for(replace(base, name="Tiny Instruct", architecture="qwen2")) is CHATML


def test_a_base_model_answers_without_running_on_into_invented_turns() -> None:
    engine = create_engine(EngineSpec("llama.cpp", str(gemma3_gguf()), n_ctx=512, n_threads=2))
    try:
        assert engine.template_source == "fallback-transcript"
        assert any("no chat template" in note for note in engine.load_notes)
        reply = complete(
            engine,
            [ChatMessage("system", "You are a helpful assistant."), ChatMessage("user", "Hi?")],
            GenerationOptions(max_tokens=80, temperature=0.0),
        )
        assert "User:" not in reply.text and "<start_of_turn>" not in reply.text
        assert reply.text.strip()  # it says something: the transcript starts with its BOS
    finally:
        engine.close()


def test_loading_gemma_3_prints_none_of_llama_cpps_warnings(capfd) -> None:  # type: ignore[no-untyped-def]
    """llama.cpp's "using full-size SWA cache" warning (Gemma 3's sliding-window layers) stays
    off the terminal, like its other logs."""
    capfd.readouterr()
    engine = create_engine(EngineSpec("llama.cpp", str(gemma3_gguf()), n_ctx=512, n_threads=2))
    engine.close()
    err = capfd.readouterr().err
    assert "llama_kv_cache" not in err and "SWA" not in err
