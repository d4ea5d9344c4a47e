"""What Ember's llama.cpp engine costs over raw llama-cpp-python, measured in one run.

Both sides stream the same model instance, prompt and settings (temperature 0, fixed seed, same
max_tokens) and start from a cleared KV cache (a seeded Ember request always does). Runs are
interleaved, alternating which side goes first, after one warm-up each; medians are reported.
Ember's side fits the prompt with the one context policy (:func:`ember.engines.context.fit_prompt`,
what the Assistant does before every answer) and its token-count cache is cleared before each
run, so the fitting is paid in full every time.

Usage: ``python benchmarks/engine_overhead.py [--quick] [--model PATH] [--runs N]``
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

from ember.catalog import default_model
from ember.engines import EngineSpec, GenerationOptions, Token
from ember.engines.context import fit_prompt
from ember.engines.llamacpp import LlamaCppEngine, load

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
    fitted = fit_prompt(
        SYSTEM,
        [],
        QUESTION,
        n_ctx=engine.n_ctx,
        count_tokens=engine.count_tokens,
        overhead=engine.template_overhead,
        max_tokens=max_tokens,
    )
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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few short runs (< 60 s)")
    parser.add_argument("--model", default="", help="GGUF path (default: the embedded model)")
    parser.add_argument(
        "--runs", type=int, default=0, help="interleaved pairs (default 7; 3 quick)"
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
    print(f"{'':<8}{'tokens/s':>10}{'TTFT ms':>10}{'total s':>10}   ({runs} runs, medians)")
    for side in ("ours", "raw"):
        print(
            f"{side:<8}{result[f'{side}_tokens_per_s']:>10.1f}"
            f"{1000 * result[f'{side}_ttft_s']:>10.1f}{result[f'{side}_total_s']:>10.3f}"
        )
    print(
        f"ratio (ours/raw tokens/s) {result['ratio']:.3f}; TTFT overhead {result['ttft_overhead_ms']} ms"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
