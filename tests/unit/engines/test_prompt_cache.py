"""Later turns pay only for their new tokens: the real SmolLM2, counted by llama.cpp itself.

Counts come from llama.cpp's own performance counters (``llama_perf_context``: tokens decoded),
measured on a final turn with ``max_tokens=1`` so the only tokens decoded are the prompt's (the
one sampled token is never decoded). No timings.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import llama_cpp
import pytest

from ember.assistant import Assistant
from ember.chats.store import ChatStore
from ember.config import Settings
from ember.engines import ChatMessage, EngineSpec, GenerationOptions, complete
from ember.engines.llamacpp import LlamaCppEngine, load
from ember.knowledge.grounding import DocumentRetriever, format_sources
from ember.knowledge.retrieval import Hit, SearchResult

SYSTEM = "You are Ember, a helpful assistant running privately on the user's own computer."
ANSWER = GenerationOptions(temperature=0.0, max_tokens=24)  # unseeded: the app's default
PROMPT_ONLY = GenerationOptions(temperature=0.0, max_tokens=1)
# Around a new question: the last answer's end and the role markers of two turns.
MARKERS = 16


@pytest.fixture(scope="module")
def engine(model_path: Path) -> Iterator[LlamaCppEngine]:
    loaded = load(EngineSpec("llama.cpp", str(model_path), n_ctx=2048, n_threads=1))
    yield loaded
    loaded.close()


def decoded(engine: LlamaCppEngine) -> int:
    """Tokens llama.cpp has decoded in this context so far (prompt batches and single tokens)."""
    data = llama_cpp.llama_perf_context(engine._llama._ctx.ctx)
    return int(data.n_p_eval + data.n_eval)


def prompt_cost(engine: LlamaCppEngine, messages: Sequence[ChatMessage]) -> tuple[int, int]:
    """(tokens decoded for ``messages``' prompt, the prompt's size in tokens)."""
    before = decoded(engine)
    finished = complete(engine, messages, PROMPT_ONLY).finished
    return decoded(engine) - before, finished.timings.prompt_tokens


def turn(engine: LlamaCppEngine, history: list[ChatMessage], question: str) -> None:
    """One answered turn of a chat, appended to ``history``."""
    asked = [ChatMessage("system", SYSTEM), *history, ChatMessage("user", question)]
    answer = complete(engine, asked, ANSWER).text
    history += [ChatMessage("user", question), ChatMessage("assistant", answer)]


def test_the_tenth_turn_evaluates_only_its_new_tokens(engine: LlamaCppEngine) -> None:
    history: list[ChatMessage] = []
    for n in range(1, 10):
        turn(engine, history, f"Tell me fact number {n} about owls.")
    tenth = [ChatMessage("system", SYSTEM), *history, ChatMessage("user", "And one about bats?")]
    previous = [ChatMessage("system", SYSTEM), *history[:-2], history[-2]]
    evaluated, size = prompt_cost(engine, tenth)
    _, previous_size = prompt_cost(engine, previous)
    # Everything the ninth turn's prompt held is reused: only the ninth answer and the tenth
    # question (with their template tokens) are new.
    assert evaluated <= size - previous_size + 2
    assert evaluated < size / 4
    assert engine.prompt_cache.last is not None


def test_switching_chats_does_not_evaluate_a_history_again(engine: LlamaCppEngine) -> None:
    owls: list[ChatMessage] = []
    for n in range(1, 5):
        turn(engine, owls, f"Tell me fact number {n} about owls.")
    rivers: list[ChatMessage] = []
    turn(engine, rivers, "Which is the longest river in Europe?")
    turn(engine, rivers, "And in Africa?")
    # Back to the owls: their saved state is restored, only the new question is evaluated.
    question = [ChatMessage("system", SYSTEM), *owls, ChatMessage("user", "Where do they nest?")]
    evaluated, size = prompt_cost(engine, question)
    reuse = engine.prompt_cache.last
    assert reuse is not None and reuse.restored
    assert evaluated == reuse.evaluated_tokens
    assert evaluated <= engine.count_tokens("Where do they nest?") + MARKERS
    assert size > 150 and evaluated < size / 5
    # And back to the rivers: theirs was saved in turn.
    question = [ChatMessage("system", SYSTEM), *rivers, ChatMessage("user", "And in Asia?")]
    evaluated, size = prompt_cost(engine, question)
    assert evaluated <= engine.count_tokens("And in Asia?") + MARKERS < size / 3


def test_a_seeded_request_keeps_the_chat_it_interrupts(engine: LlamaCppEngine) -> None:
    history: list[ChatMessage] = []
    for n in range(1, 4):
        turn(engine, history, f"Name a bird, number {n}.")
    # A seeded request starts from a cleared cache (for repeatable answers)...
    seeded = GenerationOptions(temperature=0.0, seed=3, max_tokens=4)
    complete(engine, [ChatMessage("user", "Say hi.")], seeded)
    # ...but the chat it interrupted was saved first.
    question = [ChatMessage("system", SYSTEM), *history, ChatMessage("user", "One more?")]
    evaluated, size = prompt_cost(engine, question)
    assert evaluated <= engine.count_tokens("One more?") + MARKERS < size / 3


PASSAGES = [
    "The Aurora 3 kettle switches itself off after 40 seconds at the boil.",
    "To descale the Aurora 3, fill it with one part vinegar and two parts water overnight.",
    "The Aurora 3 holds 1.7 litres; the minimum fill line is at 0.5 litres.",
    "The Aurora 3 base must be kept dry; never immerse the kettle in water.",
    "The Aurora 3 is guaranteed for two years from the date of purchase.",
]


class FiveSources:
    """The knowledge base's search answering every question with the same five real passages;
    the grounding on top (abstain rule, citations, sources block) is Ember's own."""

    def search(
        self, query: str, collections: Sequence[str] | None = None, k: int | None = None
    ) -> SearchResult:
        hits = self.hits()
        return SearchResult(hits=hits, best_similarity=hits[0].similarity)

    @staticmethod
    def hits() -> tuple[Hit, ...]:
        return tuple(
            Hit(
                chunk_id=i + 1,
                source=f"/docs/aurora-{i + 1}.txt",
                collection="manuals",
                page=1,
                heading="Kettle",
                text=text,
                start=0,
                end=len(text),
                similarity=0.8 - i / 100,
                rank_score=0.8 - i / 100,
            )
            for i, text in enumerate(PASSAGES)
        )


def test_a_grounded_chat_reuses_its_earlier_turns(engine: LlamaCppEngine, tmp_path: Path) -> None:
    values = {"temperature": 0.0, "seed": -1, "n_ctx": 2048}
    retriever = DocumentRetriever(FiveSources())
    with ChatStore(tmp_path / "chats.sqlite3") as store:
        talk = Assistant(engine, store, Settings(max_tokens=24, **values), retriever)
        ask = Assistant(engine, store, Settings(max_tokens=1, **values), retriever)
        kettle = store.create(collections=["manuals"])
        other = store.create(collections=["manuals"])
        for question in ("How long does it boil?", "How much water fits?", "Can I wash it?"):
            list(talk.send(kettle.id, question))
        list(talk.send(other.id, "How do I descale it?"))  # another chat in between
        history = [m for m in store.messages(kettle.id) if m.role in ("user", "assistant")]
        before = decoded(engine)
        list(ask.send(kettle.id, "What is the guarantee?"))
        evaluated = decoded(engine) - before
    reuse = engine.prompt_cache.last
    assert reuse is not None and reuse.restored
    # New: the last question and answer (stored without their sources) and the new question
    # with its five sources; the system prompt and the turns before are reused.
    sources_and_question = reuse.prompt_tokens - reuse.reused_tokens
    assert evaluated == sources_and_question
    earlier = sum(engine.count_tokens(m.content) for m in history[:-2])
    assert reuse.reused_tokens > earlier
    last_pair = sum(engine.count_tokens(m.content) for m in history[-2:])
    question = f"Sources:\n{format_sources(FiveSources.hits())}\n\nQuestion: What is the guarantee?"
    # The template's measured overhead: three messages' role markers and the generation prompt.
    new = last_pair + engine.count_tokens(question) + engine.template_overhead.of(3)
    assert evaluated <= new
