"""Victim of the tool loop's kill -9 test: the embedded model answers with the calculator.

``python -m tests.support.tool_loop_kill_child DB_PATH`` prints one JSON line per event of the
answer (``{"event": "started", "reply": ID}``, ``{"event": "step", "state": ...}``,
``{"event": "token"}``, ``{"event": "done"}``) and then waits a while before going on, so
the test can send SIGKILL at a known point: while a step is 'running', or mid-answer.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ember.assistant import Assistant, ReplyDone, ReplyStarted, StepChanged
from ember.catalog import default_model
from ember.chats.store import ChatStore
from ember.config import Settings
from ember.engines import EngineSpec, Token, create_engine
from ember.tools.toolbox import Toolbox


def say(**payload: object) -> None:
    print(json.dumps(payload), flush=True)


def main(argv: list[str]) -> int:
    engine = create_engine(EngineSpec("llama.cpp", default_model().path, n_ctx=2048))
    store = ChatStore(Path(argv[0]))
    settings = Settings(temperature=0.0, seed=1, max_tokens=60)
    assistant = Assistant(engine, store, settings)
    assistant.toolbox = Toolbox(settings)
    chat = store.create()
    question = "What is 1234 * 5678? Use the calculator."
    for event in assistant.send(chat.id, question, tools=["calculator"]):
        if isinstance(event, ReplyStarted):
            say(event="started", reply=event.reply_id)
        elif isinstance(event, StepChanged):
            say(event="step", state=event.step.state)
        elif isinstance(event, Token):
            say(event="token")
        elif isinstance(event, ReplyDone):
            say(event="done")
            continue
        time.sleep(0.5)  # the loop waits here (a step running, the answer half written)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
