"""Load on the local API from another process: N streaming clients for a while, checked.

``python -m tests.support.api_load BASE_URL KEY --clients 32 --seconds 60`` prints one JSON
object. Each client is the official ``openai`` async client in its own task, sending stream
requests in a loop until the time is up. The prompts are few and known; at temperature 0 with a
fixed seed each prompt has one answer, learnt first (one request each, nothing else running), so
a stream that carries another request's tokens shows as a mismatch. Every fourth request is
abandoned by its client after two chunks (closing the stream), which must cancel it.

Reported: requests ``completed`` (text matched), ``cancelled`` (closed by the client),
``mismatched`` (text differed: tokens mixed up or lost), ``failed`` (an error), and the ids seen
twice (``duplicate_ids``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

PROMPTS = [
    "Name three colours.",
    "What is a river?",
    "Say hello to a friend.",
    "Describe a cat in one sentence.",
]
SEED = 7
MAX_TOKENS = 12


async def _answer(client, prompt: str, abandon: bool) -> tuple[str, str, bool]:  # type: ignore[no-untyped-def]
    """(completion id, streamed text, abandoned) for one request."""
    stream = await client.chat.completions.create(
        model="embedded",
        messages=[{"role": "user", "content": prompt}],
        temperature=0.0,
        seed=SEED,
        max_tokens=MAX_TOKENS,
        stream=True,
    )
    pieces: list[str] = []
    ident = ""
    chunks = 0
    async for chunk in stream:
        ident = ident or chunk.id
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
            chunks += 1
            if abandon and chunks == 2:
                await stream.close()
                return ident, "".join(pieces), True
    return ident, "".join(pieces), False


async def run(base_url: str, key: str, clients: int, seconds: float) -> dict[str, object]:
    import openai

    client = openai.AsyncOpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=600)
    expected = {}
    for prompt in PROMPTS:
        _ident, text, _ = await _answer(client, prompt, abandon=False)
        expected[prompt] = text
    counts = {"completed": 0, "cancelled": 0, "mismatched": 0, "failed": 0}
    errors: list[str] = []
    ids: set[str] = set()
    duplicates: list[str] = []
    deadline = time.monotonic() + seconds

    async def one_client(n: int) -> None:
        i = 0
        while time.monotonic() < deadline:
            prompt = PROMPTS[(n + i) % len(PROMPTS)]
            abandon = (n + i) % 4 == 3
            i += 1
            try:
                ident, text, abandoned = await _answer(client, prompt, abandon)
            except Exception as exc:  # every failure is counted and shown, none hidden
                counts["failed"] += 1
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            if ident in ids:
                duplicates.append(ident)
            ids.add(ident)
            if abandoned:
                counts["cancelled"] += 1
                ok = expected[prompt].startswith(text)
            else:
                counts["completed"] += 1
                ok = text == expected[prompt]
            if not ok:
                counts["mismatched"] += 1
                errors.append(f"{prompt!r}: got {text!r}, expected {expected[prompt]!r}")

    started = time.monotonic()
    await asyncio.gather(*(one_client(n) for n in range(clients)))
    await client.close()
    return {
        **counts,
        "clients": clients,
        "seconds": round(time.monotonic() - started, 1),
        "duplicate_ids": duplicates,
        "errors": errors[:10],
        "expected": expected,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    parser.add_argument("key")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(run(args.base_url, args.key, args.clients, args.seconds))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
