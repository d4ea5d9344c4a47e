"""What Ember's llama.cpp engine costs over raw llama-cpp-python, measured in one run.

Both sides stream the same model instance, prompt and settings (temperature 0, fixed seed, same
max_tokens) and start from a cleared KV cache (a seeded Ember request always does). Runs are
interleaved, alternating which side goes first, after one warm-up each; medians are reported.
Ember's side fits the prompt with the one context policy (:func:`ember.engines.context.fit_prompt`,
what the Assistant does before every answer) and its token-count cache is cleared before each
run, so the fitting is paid in full every time.

Later turns (issue 10): ``ttft_turn10_ratio`` is the time to first token of a chat's 10th turn
÷ its 1st (target <= 1.2). The chat is the Assistant's shape (system prompt, history fitted by
``fit_prompt``, unseeded greedy answers, as the app sends them), and another chat answers once
just before the 10th turn, so the ratio covers switching chats too. ``grounded_ttft_s`` is the
time to first token of a grounded follow-up question with five sources (the Assistant's
grounded prompt: the instruction in the system prompt, the sources in the question), after one
grounded turn in that chat. Medians over ``--chats`` repetitions; the tokens llama.cpp evaluated
for those turns are reported beside them (``turn10_evaluated_tokens`` of ``turn10_prompt_tokens``).

Usage: ``python benchmarks/engine_overhead.py [--quick] [--model PATH] [--runs N] [--chats N]``
The last line of stdout is one JSON object (ratio = ours ÷ raw tokens per second).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ember.assistant import GROUNDING_INSTRUCTION
from ember.catalog import default_model
from ember.engines import ChatMessage, EngineSpec, GenerationOptions, Token
from ember.engines.context import fit_for
from ember.engines.llamacpp import LlamaCppEngine, load
from ember.knowledge.grounding import format_sources
from ember.knowledge.retrieval import Hit

SYSTEM = "You are Ember, a helpful assistant running privately on the user's own computer."
QUESTION = "Explain in a few paragraphs how a lighthouse keeper kept the lamp burning at night."
SEED = 1234


@dataclass
class Run:
    ttft_s: float
    tokens: int
    decode_s: float
    total_s: float

    @property
    def tokens_per_s(self) -> float:
        return (self.tokens - 1) / self.decode_s if self.tokens > 1 and self.decode_s > 0 else 0.0


def run_ours(engine: LlamaCppEngine, max_tokens: int) -> Run:
    engine._count.cache_clear()
    started = time.perf_counter()
    fitted = fit_for(engine, SYSTEM, [], QUESTION, max_tokens)
    options = GenerationOptions(temperature=0.0, seed=SEED, max_tokens=fitted.max_tokens)
    first = last = 0.0
    tokens = 0
    for event in engine.stream_chat(fitted.messages, options):
        if isinstance(event, Token):
            last = time.perf_counter()
            if tokens == 0:
                first = last
            tokens += 1
    return Run(first - started, tokens, last - first, time.perf_counter() - started)


def run_raw(engine: LlamaCppEngine, max_tokens: int) -> Run:
    llama = engine._llama
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
    llama.reset()  # the same clean start a seeded Ember request makes
    started = time.perf_counter()
    first = last = 0.0
    tokens = 0
    for chunk in llama.create_chat_completion(
        messages=messages,  # type: ignore[arg-type]
        temperature=0.0,
        top_p=0.95,
        max_tokens=max_tokens,
        seed=SEED,
        stop=[],
        stream=True,
    ):
        if chunk["choices"][0]["delta"].get("content"):  # type: ignore[index, union-attr]
            last = time.perf_counter()
            if tokens == 0:
                first = last
            tokens += 1
    return Run(first - started, tokens, last - first, time.perf_counter() - started)


CHAT_QUESTIONS = [
    "What does a lighthouse keeper do?",
    "How was the lamp lit before electricity?",
    "Why did the lens matter so much?",
    "How often was the lamp wound?",
    "What happened in fog?",
    "How did keepers get their supplies?",
    "Were there women keepers?",
    "What was the loneliest part of the job?",
    "When did lighthouses become automatic?",
    "What do lighthouses do today?",
]
SOURCES = [
    "The Fresnel lens, introduced in 1823, gathered the lamp's light into a beam with concentric "
    "rings of glass prisms, so a small flame could be seen more than twenty miles out at sea.",
    "Keepers trimmed the wicks every few hours through the night, which earned them the nickname "
    "wickies; a smoking wick blackened the lens and dimmed the light.",
    "Clockwork driven by a falling weight turned the lens. The keeper wound the weight back up "
    "every few hours, and a stopped rotation could make a light look like another station.",
    "In fog the keeper sounded a bell or a horn at a fixed rhythm that identified the station, "
    "sometimes for days without rest.",
    "Supplies came by tender ship a few times a year: oil, wicks, food and mail. Stations on rocks "
    "far from shore were often cut off for weeks by storms.",
]
GROUNDED_QUESTIONS = ["Why was the lens so important?", "What did keepers do in fog?"]


def _hits() -> list[Hit]:
    return [
        Hit(
            i + 1,
            f"/docs/lighthouse-{i + 1}.txt",
            "history",
            None,
            "Keepers",
            text,
            0,
            len(text),
            0.8,
            0.8,
        )
        for i, text in enumerate(SOURCES)
    ]


def _turn(
    engine: LlamaCppEngine, system: str, history: list[ChatMessage], question: str, max_tokens: int
) -> tuple[float, int, int]:
    """One turn as the Assistant sends it (fitted, unseeded, greedy): the question and answer are
    appended to ``history``; returns (time to first token in s, prompt tokens, evaluated tokens)."""
    started = time.perf_counter()
    fitted = fit_for(engine, system, history, question, max_tokens)  # as the Assistant fits
    options = GenerationOptions(temperature=0.0, max_tokens=fitted.max_tokens)
    first = 0.0
    text = []
    for event in engine.stream_chat(fitted.messages, options):
        if isinstance(event, Token):
            if not text:
                first = time.perf_counter() - started
            text.append(event.text)
    shown = question.rsplit("Question: ", 1)[-1]  # the Assistant stores questions without sources
    history += [ChatMessage("user", shown), ChatMessage("assistant", "".join(text))]
    reuse = engine.prompt_cache.last
    assert reuse is not None
    return first, reuse.prompt_tokens, reuse.evaluated_tokens


def run_chat(engine: LlamaCppEngine, max_tokens: int) -> dict[str, float]:
    """A ten-turn chat from a cold cache, another chat answering before its 10th turn; then a
    grounded chat of two turns with five sources each."""
    engine.prompt_cache.clear()
    engine._llama.reset()
    history: list[ChatMessage] = []
    turns = []
    for number, question in enumerate(CHAT_QUESTIONS, start=1):
        if number == len(CHAT_QUESTIONS):
            _turn(engine, SYSTEM, [], "Give me a short recipe for pancakes.", max_tokens)
        turns.append(_turn(engine, SYSTEM, history, question, max_tokens))
    grounded_system = f"{SYSTEM}\n\n{GROUNDING_INSTRUCTION}"
    sources = format_sources(_hits())
    grounded: list[ChatMessage] = []
    asked = [
        _turn(
            engine, grounded_system, grounded, f"Sources:\n{sources}\n\nQuestion: {q}", max_tokens
        )
        for q in GROUNDED_QUESTIONS
    ]
    (first, first_prompt, first_evaluated), tenth = turns[0], turns[-1]
    return {
        "turn1_ttft_s": first,
        "turn10_ttft_s": tenth[0],
        "turn1_prompt_tokens": first_prompt,
        "turn10_prompt_tokens": tenth[1],
        "turn1_evaluated_tokens": first_evaluated,
        "turn10_evaluated_tokens": tenth[2],
        "grounded_ttft_s": asked[-1][0],
        "grounded_prompt_tokens": asked[-1][1],
        "grounded_evaluated_tokens": asked[-1][2],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few short runs (< 60 s)")
    parser.add_argument("--model", default="", help="GGUF path (default: the embedded model)")
    parser.add_argument(
        "--runs", type=int, default=0, help="interleaved pairs (default 7; 3 quick)"
    )
    parser.add_argument(
        "--chats",
        type=int,
        default=0,
        help="ten-turn chats for the later-turn figures (3; 1 quick)",
    )
    parser.add_argument("--max-tokens", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    runs = args.runs or (3 if args.quick else 7)
    max_tokens = args.max_tokens or (64 if args.quick else 128)
    path = Path(args.model or default_model().path)
    engine = load(EngineSpec("llama.cpp", str(path), n_ctx=2048, n_threads=args.threads or None))
    try:
        run_ours(engine, max_tokens)  # warm-up: page cache, allocations, first graph
        run_raw(engine, max_tokens)
        ours: list[Run] = []
        raw: list[Run] = []
        for pair in range(runs):
            if pair % 2 == 0:
                ours.append(run_ours(engine, max_tokens))
                raw.append(run_raw(engine, max_tokens))
            else:
                raw.append(run_raw(engine, max_tokens))
                ours.append(run_ours(engine, max_tokens))
        chats = [
            run_chat(engine, max_tokens) for _ in range(args.chats or (1 if args.quick else 3))
        ]
        saved_states = engine.prompt_cache.saved_states
        saved_bytes = engine.prompt_cache.saved_bytes
    finally:
        engine.close()

    def median(values: list[float]) -> float:
        return statistics.median(values)

    result = {
        "model": path.name,
        "runs": runs,
        "max_tokens": max_tokens,
        "tokens": median([r.tokens for r in ours]),
        "ours_tokens_per_s": round(median([r.tokens_per_s for r in ours]), 2),
        "raw_tokens_per_s": round(median([r.tokens_per_s for r in raw]), 2),
        "ours_ttft_s": round(median([r.ttft_s for r in ours]), 4),
        "raw_ttft_s": round(median([r.ttft_s for r in raw]), 4),
        "ours_total_s": round(median([r.total_s for r in ours]), 4),
        "raw_total_s": round(median([r.total_s for r in raw]), 4),
    }
    result["ratio"] = round(result["ours_tokens_per_s"] / result["raw_tokens_per_s"], 4)
    result["ttft_overhead_ms"] = round(1000 * (result["ours_ttft_s"] - result["raw_ttft_s"]), 2)
    for key in chats[0]:
        value = median([c[key] for c in chats])
        result[key] = round(value, 4) if key.endswith("_s") else int(value)
    result["ttft_turn10_ratio"] = round(
        median([c["turn10_ttft_s"] / c["turn1_ttft_s"] for c in chats]), 3
    )
    result["chats"] = len(chats)
    result["saved_states"] = saved_states
    result["saved_state_bytes"] = saved_bytes
    print(f"{'':<8}{'tokens/s':>10}{'TTFT ms':>10}{'total s':>10}   ({runs} runs, medians)")
    for side in ("ours", "raw"):
        print(
            f"{side:<8}{result[f'{side}_tokens_per_s']:>10.1f}"
            f"{1000 * result[f'{side}_ttft_s']:>10.1f}{result[f'{side}_total_s']:>10.3f}"
        )
    print(
        f"ratio (ours/raw tokens/s) {result['ratio']:.3f}; TTFT overhead {result['ttft_overhead_ms']} ms"
    )
    print(
        f"{'turn':<10}{'TTFT ms':>10}{'prompt':>8}{'evaluated':>11}   ({len(chats)} chats, medians)"
    )
    for name in ("turn1", "turn10", "grounded"):
        print(
            f"{name:<10}{1000 * result[f'{name}_ttft_s']:>10.1f}"
            f"{result[f'{name}_prompt_tokens']:>8}{result[f'{name}_evaluated_tokens']:>11}"
        )
    print(
        f"ttft_turn10_ratio {result['ttft_turn10_ratio']:.3f} (target <= 1.2); "
        f"grounded_ttft_s {result['grounded_ttft_s']:.3f}; saved states {saved_states} "
        f"({saved_bytes / 2**20:.1f} MiB)"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
