"""What the local API costs over Ember's engine called directly, measured in one run.

Both sides stream the same loaded model instance (the embedded SmolLM2), the same messages and
sampling (temperature 0, fixed seed, same max_tokens, the settings' repeat penalty). The API side is the
official ``openai`` client streaming ``/v1/chat/completions`` from ``ember serve``'s server
(:class:`ember.api.server.ApiServer`, on 127.0.0.1 in this process, with the key checked as
always). Runs are interleaved, alternating which side goes first, after one warm-up each;
medians are reported. Time to first token is measured by the caller on both sides, from the call
to the first text. Each direct answer runs on a thread of its own, as the API's runner runs each
request: llama.cpp's OpenMP build keeps a team of threads per calling thread, and a long-lived
thread that has generated (this script's main thread) made the other side's next prompt about
50 ms slower on this 2-core machine, which measured the threads, not the API.

Then the p95 latency of ``/v1/embeddings`` for one text of 256 embedder tokens (the embedded
MiniLM; its token count is the embedder's own), through the same client.

Usage: ``python benchmarks/api_overhead.py [--quick] [--runs N]``
The last line of stdout is one JSON object: ``ratio`` = API ÷ direct tokens per second,
``ttft_overhead_ms`` = API − direct time to first token, ``embeddings_p95_ms``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

SYSTEM = "You are Ember, a helpful assistant running privately on the user's own computer."
QUESTION = "Explain in a few paragraphs how a lighthouse keeper kept the lamp burning at night."
SEED = 1234
EMBED_TOKENS = 256


@dataclass
class Run:
    ttft_s: float
    tokens: int
    decode_s: float

    @property
    def tokens_per_s(self) -> float:
        return (self.tokens - 1) / self.decode_s if self.tokens > 1 and self.decode_s > 0 else 0.0


def run_direct(core, max_tokens: int) -> Run:  # type: ignore[no-untyped-def]
    """One answer from the engine on a thread of its own, as the API's runner gives each."""
    runs: list[Run] = []
    worker = threading.Thread(target=lambda: runs.append(_direct(core, max_tokens)))
    worker.start()
    worker.join()
    return runs[0]


def _direct(core, max_tokens: int) -> Run:  # type: ignore[no-untyped-def]
    from ember.engines import ChatMessage, GenerationOptions, Token

    engine = core.engine()
    messages = [ChatMessage("system", SYSTEM), ChatMessage("user", QUESTION)]
    # What the API answers with: the request's temperature and seed, the settings' repeat penalty.
    options = GenerationOptions(
        temperature=0.0,
        seed=SEED,
        max_tokens=max_tokens,
        repeat_penalty=core.settings.repeat_penalty,
    )
    started = time.perf_counter()
    first = last = 0.0
    tokens = 0
    with core.turns.turn():  # what every stream from the shared model does
        for event in engine.stream_chat(messages, options):
            if isinstance(event, Token) and event.text:
                last = time.perf_counter()
                if tokens == 0:
                    first = last
                tokens += 1
    return Run(first - started, tokens, last - first)


def run_api(client, model: str, max_tokens: int) -> Run:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    first = last = 0.0
    tokens = 0
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}],
        temperature=0.0,
        seed=SEED,
        max_tokens=max_tokens,
        stream=True,
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            last = time.perf_counter()
            if tokens == 0:
                first = last
            tokens += 1
    return Run(first - started, tokens, last - first)


def text_of_tokens(embedder, count: int) -> str:  # type: ignore[no-untyped-def]
    """A plain English text that is ``count`` tokens long for ``embedder``."""
    words = (QUESTION + " " + SYSTEM + " ").split() * 64
    low, high = 1, len(words)
    while low < high:  # the longest prefix of words within ``count`` tokens
        mid = (low + high + 1) // 2
        if embedder.count_tokens([" ".join(words[:mid])])[0] <= count:
            low = mid
        else:
            high = mid - 1
    return " ".join(words[:low])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few short runs (< 120 s)")
    parser.add_argument("--runs", type=int, default=0, help="interleaved pairs (7; 3 quick)")
    parser.add_argument("--max-tokens", type=int, default=0)
    args = parser.parse_args(argv)
    runs = args.runs or (3 if args.quick else 7)
    max_tokens = args.max_tokens or (64 if args.quick else 128)
    embed_requests = 20 if args.quick else 60

    os.environ.setdefault("EMBER_HOME", tempfile.mkdtemp(prefix="ember-api-bench-"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import openai

    from ember.api.config import ServeConfig
    from ember.api.server import ApiServer
    from ember.core import Core

    core = Core()
    loaded = core.load_engine()
    key = "ember-benchmark-key"
    server = ApiServer(core, ServeConfig(port=0, api_key=key, switch_models=False))
    server.start()
    client = openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0)
    model = "embedded"
    try:
        run_direct(core, max_tokens)  # warm-up: page cache, allocations, first graph
        run_api(client, model, max_tokens)
        direct: list[Run] = []
        api: list[Run] = []
        for pair in range(runs):
            if pair % 2 == 0:
                direct.append(run_direct(core, max_tokens))
                api.append(run_api(client, model, max_tokens))
            else:
                api.append(run_api(client, model, max_tokens))
                direct.append(run_direct(core, max_tokens))

        embedder = core.knowledge().embedder
        text = text_of_tokens(embedder, EMBED_TOKENS)
        client.embeddings.create(model=embedder.name, input=text)  # warm-up: loads MiniLM
        latencies = []
        for _ in range(embed_requests):
            started = time.perf_counter()
            client.embeddings.create(model=embedder.name, input=text)
            latencies.append(time.perf_counter() - started)
    finally:
        server.stop()
        core.close()

    def median(values: list[float]) -> float:
        return statistics.median(values)

    result = {
        "model": loaded.name,
        "runs": runs,
        "max_tokens": max_tokens,
        "tokens": median([r.tokens for r in api]),
        "api_tokens_per_s": round(median([r.tokens_per_s for r in api]), 2),
        "direct_tokens_per_s": round(median([r.tokens_per_s for r in direct]), 2),
        "api_ttft_s": round(median([r.ttft_s for r in api]), 4),
        "direct_ttft_s": round(median([r.ttft_s for r in direct]), 4),
        "embedding_tokens": embedder.count_tokens([text])[0],
        "embedding_requests": embed_requests,
        "embeddings_p50_ms": round(1000 * statistics.median(latencies), 2),
        "embeddings_p95_ms": round(1000 * statistics.quantiles(latencies, n=20)[-1], 2),
    }
    result["ratio"] = round(result["api_tokens_per_s"] / result["direct_tokens_per_s"], 4)
    result["ttft_overhead_ms"] = round(1000 * (result["api_ttft_s"] - result["direct_ttft_s"]), 2)
    print(f"{'':<8}{'tokens/s':>10}{'TTFT ms':>10}   ({runs} runs, medians)")
    for side in ("api", "direct"):
        print(
            f"{side:<8}{result[f'{side}_tokens_per_s']:>10.1f}{1000 * result[f'{side}_ttft_s']:>10.1f}"
        )
    print(
        f"ratio (api/direct tokens/s) {result['ratio']:.3f}; "
        f"TTFT overhead {result['ttft_overhead_ms']} ms; "
        f"/v1/embeddings ({result['embedding_tokens']} tokens) p50 {result['embeddings_p50_ms']} ms, "
        f"p95 {result['embeddings_p95_ms']} ms"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
