"""``ember eval``: answer quality on a QA file (hit@k, MRR, abstentions, latency) as a table or JSON.

The measuring is :mod:`ember.knowledge.evaluate`'s; this module only reads the command line,
assembles the core and prints.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ember.cli.common import json_flag, wants_json

if TYPE_CHECKING:
    from ember.core import Core
    from ember.knowledge.evaluate import GeneratedAnswer, Generator, Metrics, QuestionResult


def register(subparsers: Any) -> None:
    evaluate = subparsers.add_parser(
        "eval",
        parents=[json_flag()],
        help="measure answer quality on a QA file (hit@k, MRR, abstentions, latency)",
    )
    evaluate.add_argument("qa_file", metavar="QA.json", help="questions with their source file")
    evaluate.add_argument(
        "--collection", action="append", metavar="NAME", help="repeatable; default: all"
    )
    evaluate.add_argument(
        "--generate", action="store_true", help="also answer each question with the model"
    )
    evaluate.add_argument("--model", "-m", help="model for --generate (default: your default)")
    evaluate.set_defaults(handler=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    from ember.core import Core
    from ember.errors import EmberError
    from ember.knowledge import evaluate

    items = evaluate.load_questions(Path(args.qa_file).expanduser())
    # Answers go to a throwaway chat store: an evaluation adds nothing to the history.
    core = Core(chats_db=Path(":memory:"))
    try:
        kb = core.knowledge()
        collections = core.known_collections(args.collection)
        if not collections:
            raise EmberError("No documents are indexed yet: add some with `ember index PATH`.")
        generate = None
        if args.generate:
            generate = assistant_generator(core, collections, args.model)
        results = evaluate.evaluate(kb, items, collections, generate=generate)
    finally:
        core.close()
    metrics = evaluate.summarize(results)
    if not wants_json(args):
        if args.generate:
            for result in results:
                print(f"Q: {result.item.question}\nA: {result.answer}\n")
        for line in format_misses(results):
            print(line)
        print(format_table(metrics))
        return 0
    data = metrics.as_json()
    if args.generate:
        data["answers"] = [
            {"question": r.item.question, "answer": r.answer, "abstained": r.abstained}
            for r in results
        ]
    print(json.dumps(data, ensure_ascii=False))
    return 0


def assistant_generator(
    core: Core, collections: Sequence[str], model: str | None = None
) -> Generator:
    """Answers from the real engine through the core's assistant (the path ``ember ask``
    takes), grounded in ``collections``; conversations go to the core's chat store."""
    from ember.assistant import ReplyDone, ReplyStarted
    from ember.knowledge.evaluate import GeneratedAnswer

    loaded = core.load_engine(model)
    core.ground_in(collections)
    assistant = core.assistant

    def generate(question: str) -> GeneratedAnswer:
        conversation = core.store.create(model=loaded.name, collections=list(collections))
        citations: dict[int, tuple[str, int | None]] = {}
        text, abstained = "", False
        for event in assistant.send(conversation.id, question):
            if isinstance(event, ReplyStarted):
                citations = {c.n: (c.source, c.page) for c in event.citations}
            elif isinstance(event, ReplyDone):
                text, abstained = event.message.content, event.abstained
        cited = tuple(place for n, place in citations.items() if f"[{n}]" in text)
        return GeneratedAnswer(text.strip(), abstained, cited)

    return generate


def format_table(metrics: Metrics) -> str:
    """The metrics as an aligned two-column table."""
    rows = [(key, value) for key, value in metrics.as_json().items()]
    width = max(len(key) for key, _ in rows)
    return "\n".join(f"{key:<{width}}  {format_cell(value)}" for key, value in rows)


def format_cell(value: object) -> str:
    """A metric for a table: three decimals, "-" when there is none."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def format_misses(results: Sequence[QuestionResult]) -> list[str]:
    """One line per question that went wrong: not found in the top 5, or the wrong abstention."""
    lines: list[str] = []
    for r in results:
        score = "similarity " + ("-" if r.best_similarity is None else f"{r.best_similarity:.2f}")
        if r.coverage is not None:
            score += f", coverage {r.coverage:.2f}"
        if r.item.answerable and r.abstained:
            lines.append(f"false abstain ({score}): {r.item.question}")
        elif r.item.answerable and (r.rank is None or r.rank > 5):
            found = ", ".join(r.retrieved[:3]) or "nothing"
            lines.append(f"miss, want {r.item.source}, got {found}: {r.item.question}")
        elif not r.item.answerable and not r.abstained:
            lines.append(f"answered unanswerable ({score}): {r.item.question}")
    return lines
