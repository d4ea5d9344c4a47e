"""Grounded answers through the API (``ember:NAME`` or ``extra_body={"ember": ...}``): the same
answer, sources and abstain decision as ``ember ask``, over real files, the real MiniLM and the
real embedded model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from ember.assistant import ABSTAIN_TEXT, ReplyDone, ReplyStarted
from ember.cancel import CancelToken
from ember.core import Core
from tests.support.api_serving import KEY, make_core, serving

FERNS = (
    "# The Zorblax fern\n\nThe Zorblax fern grows only on the north slope of Mount Kelvar. "
    "It needs exactly forty millilitres of water each week and flowers in late October.\n"
)
TRAINS = (
    "Timetable notes.\n\nThe night train from Aldmoor to Pellen leaves at 23:10 from platform "
    "four and arrives at dawn. Bicycles travel in the last carriage.\n"
)
QUESTION = "How much water does the Zorblax fern need each week?"


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Core]:
    root = tmp_path_factory.mktemp("grounded")
    docs = root / "docs"
    docs.mkdir()
    (docs / "ferns.md").write_text(FERNS, encoding="utf-8")
    (docs / "trains.txt").write_text(TRAINS, encoding="utf-8")
    made = make_core(root / "home", temperature=0.0, seed=11, max_tokens=48)
    made.index([docs], "garden", lambda _event: None, CancelToken())
    yield made
    made.close()


@pytest.fixture(scope="module")
def client(core: Core) -> Iterator[openai.OpenAI]:
    with serving(core) as server:
        with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as made:
            yield made


def ember_ask(core: Core, question: str) -> tuple[str, list[str], bool]:
    """What `ember ask -c garden` answers: text, cited files, abstained."""
    core.ground_in(["garden"])
    chat = core.store.create(collections=["garden"])
    text, files, abstained = "", [], False
    for event in core.assistant.send(chat.id, question):
        if isinstance(event, ReplyStarted):
            files = [Path(c.source).name for c in event.citations]
        elif isinstance(event, ReplyDone):
            text, abstained = event.message.content, event.abstained
    return text, files, abstained


def test_a_collection_model_id_answers_with_citations_like_ember_ask(
    client: openai.OpenAI, core: Core
) -> None:
    reply = client.chat.completions.create(
        model="ember:garden", messages=[{"role": "user", "content": QUESTION}]
    )
    extra = reply.model_extra or {}
    citations = extra["citations"]
    assert citations and citations[0]["file"] == "ferns.md"
    assert citations[0]["source"].endswith("ferns.md") and citations[0]["n"] == 1
    assert "forty millilitres" in citations[0]["snippet"] and citations[0]["score"] > 0
    assert extra["ember"] == {"abstained": False, "collections": ["garden"]}
    assert reply.choices[0].message.model_extra["citations"] == citations
    text, files, abstained = ember_ask(core, QUESTION)
    assert not abstained and files == [c["file"] for c in citations]
    assert reply.choices[0].message.content == text
    assert reply.usage.prompt_tokens > 50  # the sources went into the prompt


def test_the_ember_body_field_grounds_a_streamed_answer(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="embedded",
            messages=[{"role": "user", "content": "When does the night train to Pellen leave?"}],
            stream=True,
            extra_body={"ember": {"collections": ["garden"]}},
        )
    )
    last = chunks[-1].model_extra or {}
    assert last["citations"][0]["file"] == "trains.txt"
    assert last["ember"]["abstained"] is False
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert all("citations" not in (c.model_extra or {}) for c in chunks[:-1])


def test_an_unrelated_question_abstains_as_ember_ask_does(
    client: openai.OpenAI, core: Core
) -> None:
    question = "What is the best recipe for a chocolate cake?"
    reply = client.chat.completions.create(
        model="ember:garden", messages=[{"role": "user", "content": question}]
    )
    assert reply.choices[0].message.content == ABSTAIN_TEXT
    assert reply.model_extra["ember"]["abstained"] is True
    assert reply.model_extra["citations"] == []
    assert ember_ask(core, question)[2] is True


def test_a_streamed_question_that_abstains_ends_with_the_abstain_text_and_flag(
    client: openai.OpenAI,
) -> None:
    chunks = list(
        client.chat.completions.create(
            model="ember:garden",
            messages=[{"role": "user", "content": "What is the best recipe for a chocolate cake?"}],
            stream=True,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == ABSTAIN_TEXT
    last = chunks[-1].model_extra or {}
    assert last["ember"] == {"abstained": True, "collections": ["garden"]}
    assert last["citations"] == []
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_an_unknown_collection_is_404_naming_only_collections(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(
            model="ember:../../etc", messages=[{"role": "user", "content": QUESTION}]
        )
    message = caught.value.body["message"]
    assert "No collection called ../../etc" in message and "garden" in message
    assert "/" not in message.replace("../../etc", "")  # no folder of the user's is shown
    with pytest.raises(openai.BadRequestError, match="response_format"):
        client.chat.completions.create(
            model="ember:garden",
            messages=[{"role": "user", "content": QUESTION}],
            response_format={"type": "json_object"},
        )


def test_stop_strings_end_a_grounded_answer_too(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": QUESTION}]
    free = client.chat.completions.create(model="ember:garden", messages=messages)
    text = free.choices[0].message.content
    words = text.split()
    assert len(words) > 2
    stopped = client.chat.completions.create(
        model="ember:garden", messages=messages, stop=[words[2]]
    )
    cut = text[: text.index(words[2])]
    assert stopped.choices[0].message.content.rstrip() == cut.rstrip()
    assert stopped.model_extra["citations"] == free.model_extra["citations"]
