"""``ember ask`` (one answer) and ``ember chat`` (a terminal conversation)."""

from __future__ import annotations

import argparse
import json
import sys

from ember.catalog import resolve_model
from ember.config import Settings, load_settings
from ember.engines import (
    ChatMessage,
    Engine,
    Finished,
    GenerationOptions,
    Token,
    create_engine,
)
from ember.engines.sanitize import neutralize_special_tokens


def register(commands: argparse._SubParsersAction) -> None:
    ask = commands.add_parser("ask", help="answer one question on stdout")
    ask.add_argument("question")
    _generation_arguments(ask)
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.set_defaults(handler=run_ask)

    chat = commands.add_parser("chat", help="chat in the terminal")
    _generation_arguments(chat)
    chat.set_defaults(handler=run_chat)


def _generation_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", "-m", help="catalog name, .gguf path, ollama:NAME or remote:NAME"
    )
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--max-tokens", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--system", help="system prompt for this run")


def _options(args: argparse.Namespace, settings: Settings) -> GenerationOptions:
    seed = args.seed if args.seed is not None else settings.seed
    return GenerationOptions(
        temperature=settings.temperature if args.temperature is None else args.temperature,
        top_p=settings.top_p,
        max_tokens=args.max_tokens or settings.max_tokens,
        seed=None if seed is None or seed < 0 else seed,
    )


def _engine(args: argparse.Namespace, settings: Settings) -> Engine:
    spec, _entry = resolve_model(args.model, settings)
    return create_engine(spec)


def run_ask(args: argparse.Namespace) -> int:
    settings = load_settings()
    engine = _engine(args, settings)
    messages = [
        ChatMessage("system", args.system or settings.system_prompt),
        ChatMessage("user", neutralize_special_tokens(args.question)),
    ]
    finished: Finished | None = None
    for event in engine.stream_chat(messages, _options(args, settings)):
        if isinstance(event, Token):
            if not args.json:
                sys.stdout.write(event.text)
                sys.stdout.flush()
        else:
            finished = event
    assert finished is not None
    if args.json:
        print(
            json.dumps(
                {
                    "answer": finished.text.strip(),
                    "model": finished.model,
                    "sources": [],
                    "abstained": False,
                    "ttft_s": finished.timings.ttft_s,
                    "tokens_per_s": finished.timings.tokens_per_s,
                }
            )
        )
    else:
        sys.stdout.write("\n")
    engine.close()
    return 0


def run_chat(args: argparse.Namespace) -> int:
    settings = load_settings()
    engine = _engine(args, settings)
    history = [ChatMessage("system", args.system or settings.system_prompt)]
    print(f"Chatting with {engine.model_name}. Empty line or Ctrl-D to quit.", file=sys.stderr)
    while True:
        try:
            line = input("> ").strip()
        except EOFError:
            break
        if not line:
            break
        history.append(ChatMessage("user", neutralize_special_tokens(line)))
        finished: Finished | None = None
        for event in engine.stream_chat(history, _options(args, settings)):
            if isinstance(event, Token):
                sys.stdout.write(event.text)
                sys.stdout.flush()
            else:
                finished = event
        sys.stdout.write("\n")
        if finished is not None:
            history.append(ChatMessage("assistant", finished.text))
    engine.close()
    return 0
