"""Stream real model output into a chat reply until killed (the crash-durability test's victim).

Usage: ``python -m tests.support.stream_reply DB_PATH [SECONDS]``

Prints one JSON line before streaming (``{"message_id": N}``) and one after every commit
(``{"flushes": N, "committed": TEXT}``), so the test knows exactly what reached the database
before it sends SIGKILL. Streams the embedded model again and again into the same reply, so it
is still writing when the kill comes; gives up after SECONDS (default 60) to stay bounded.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ember.catalog import default_model
from ember.chats.store import ChatStore
from ember.engines import ChatMessage, EngineSpec, GenerationOptions, Token, create_engine


def main(argv: list[str]) -> int:
    db_path = Path(argv[0])
    deadline = time.monotonic() + (float(argv[1]) if len(argv) > 1 else 60.0)
    engine = create_engine(EngineSpec("llama.cpp", default_model().path, n_ctx=2048))
    store = ChatStore(db_path)
    chat = store.create()
    store.add_message(chat.id, "user", "Tell me a very long story about a lighthouse keeper.")
    writer = store.begin_reply(chat.id, model=engine.model_name)
    print(json.dumps({"message_id": writer.message_id}), flush=True)
    messages = [ChatMessage("user", "Tell me a very long story about a lighthouse keeper.")]
    options = GenerationOptions(temperature=0.8, max_tokens=1500, seed=1)
    while time.monotonic() < deadline:
        for event in engine.stream_chat(messages, options):
            if isinstance(event, Token) and writer.append(event.text):
                print(
                    json.dumps({"flushes": writer.flushes, "committed": writer.committed_text}),
                    flush=True,
                )
    writer.finish()
    print(json.dumps({"finished": True}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
