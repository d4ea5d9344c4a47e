"""A chat and its documents, as a newcomer meets them: a new chat carries the documents, an
open chat keeps its own choice, a question the documents answer offers them, and the small
built-in model is named as such.

Integration tests over the real window, model, embedder and stores (pytest-qt)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ember.ui.model_notice import LOADING_MODEL, SEARCHING, SMALL_MODEL_TEXT
from ember.ui.qt import QLabel
from tests.support.ui_app import (
    ANSWER_TIMEOUT_MS,
    close_window,
    deterministic_settings,
    find_dialog,
    open_window,
    send_and_wait,
    wait_chats,
)

pytestmark = [pytest.mark.slow, pytest.mark.integration]

INDEX_TIMEOUT_MS = 240_000
QUESTION = "How do I reset the Zephyr router to factory settings?"

ROUTER = """# Zephyr router manual

## Resetting the router

To reset the Zephyr router to factory settings, hold the red pinhole button on the back
for fifteen seconds until the status light blinks purple. All saved Wi-Fi passwords are erased.
"""


@pytest.fixture
def manuals(tmp_path: Path) -> Path:
    folder = tmp_path / "manuals"
    folder.mkdir()
    (folder / "router.md").write_text(ROUTER, encoding="utf-8")
    return folder


@pytest.fixture
def window(qtbot):
    win = open_window(qtbot, deterministic_settings(max_tokens=24))
    yield win
    close_window(win)


def _index(qtbot, window, folder: Path, name: str = "manuals") -> None:
    window.index_documents([folder], name)
    qtbot.waitUntil(lambda: window.indexing is None, timeout=INDEX_TIMEOUT_MS)
    qtbot.waitUntil(lambda: name in window.conversations.available, timeout=10_000)


def _open_plain_chat(qtbot, window, title: str) -> int:
    chat = window.core.store.create(title)
    window.refresh_conversations()
    window.open_conversation(chat.id)
    wait_chats(qtbot, window)
    qtbot.waitUntil(lambda: window.conversation_id == chat.id, timeout=10_000)
    return chat.id


def test_indexing_leaves_the_open_chat_alone_and_a_new_chat_carries_the_documents(
    qtbot, window, manuals
) -> None:
    unrelated = _open_plain_chat(qtbot, window, "Weekend plans")
    _index(qtbot, window, manuals)
    wait_chats(qtbot, window)
    # The chat that was open while indexing ran keeps its own choice: none.
    assert window.conversations.collections == ()
    assert window.core.store.get(unrelated).collections == ()
    assert window.collections_button.text().startswith("No documents")

    window.new_chat()  # Ctrl+N: the only collection there is comes along, shown in the header
    assert window.conversations.collections == ("manuals",)
    assert window.collections_button.text().startswith("Documents: manuals")

    # A grounded chat's choice carries on to the next new chat.
    window.set_chat_collections(("manuals",))
    window.new_chat()
    assert window.conversations.collections == ("manuals",)


def test_a_question_the_documents_answer_offers_them(qtbot, window, manuals) -> None:
    chat_id = _open_plain_chat(qtbot, window, "Router questions")
    _index(qtbot, window, manuals)
    window.composer.input.setPlainText(QUESTION)
    window.composer.sendRequested.emit(QUESTION)
    # While the documents are checked the question stays in the composer: switching chats
    # then keeps it as this chat's draft, never hands it to another chat.
    assert window.composer.input.toPlainText() == QUESTION
    qtbot.waitUntil(lambda: find_dialog(window, "OfferDocuments") is not None, timeout=60_000)
    offer = find_dialog(window, "OfferDocuments")
    assert "“manuals”" in offer.text() and "use them?" in offer.text()
    use = next(b for b in offer.buttons() if b.text() == "Use them")
    use.click()
    qtbot.waitUntil(lambda: window.generation is not None, timeout=10_000)
    qtbot.waitUntil(lambda: window.generation is None, timeout=ANSWER_TIMEOUT_MS)
    answer = [b for b in window.chat.bubbles if b.data.role == "assistant"][-1]
    assert [Path(c.source).name for c in answer.data.citations][:1] == ["router.md"]
    wait_chats(qtbot, window)
    assert window.core.store.get(chat_id).collections == ("manuals",)


def test_declining_the_offer_answers_without_documents_and_is_not_asked_again(
    qtbot, window, manuals
) -> None:
    _open_plain_chat(qtbot, window, "No documents please")
    _index(qtbot, window, manuals)
    window.composer.sendRequested.emit(QUESTION)
    qtbot.waitUntil(lambda: find_dialog(window, "OfferDocuments") is not None, timeout=60_000)
    offer = find_dialog(window, "OfferDocuments")
    next(b for b in offer.buttons() if b.text() == "Answer without").click()
    qtbot.waitUntil(lambda: window.generation is not None, timeout=10_000)
    qtbot.waitUntil(lambda: window.generation is None, timeout=ANSWER_TIMEOUT_MS)
    answer = [b for b in window.chat.bubbles if b.data.role == "assistant"][-1]
    assert answer.data.citations == ()
    assert window.conversations.collections == ()

    send_and_wait(qtbot, window, "And the Wi-Fi passwords?")  # no second offer in this chat
    assert find_dialog(window, "OfferDocuments") is None


def test_a_chat_set_to_no_documents_is_not_offered_them(qtbot, window, manuals) -> None:
    _open_plain_chat(qtbot, window, "Plain on purpose")
    _index(qtbot, window, manuals)
    window.set_chat_collections(())  # the person picks "No documents (plain chat)"
    send_and_wait(qtbot, window, QUESTION)
    assert find_dialog(window, "OfferDocuments") is None
    answer = [b for b in window.chat.bubbles if b.data.role == "assistant"][-1]
    assert answer.data.citations == ()


# "Get a better model" opens the model list's popup: offscreen Qt cannot raise it or grab keys.
@pytest.mark.qt_log_ignore(
    "This plugin does not support raise", "does not support grabbing the keyboard", extend=True
)
def test_the_small_built_in_model_says_so_once_and_answers_show_what_they_wait_for(
    qtbot, window, manuals
) -> None:
    _index(qtbot, window, manuals)
    window.new_chat()  # answers from "manuals"
    shown: list[str] = []
    original = window.generator._on_stream_event

    def watch(event: object) -> None:
        original(event)
        bubble = window.generator._stream_bubble
        if bubble is not None and not bubble.data.text:
            shown.append(bubble.body.toPlainText())

    window.generator._on_stream_event = watch
    send_and_wait(qtbot, window, QUESTION)
    assert SEARCHING in shown  # not a bare "…" while the documents are searched

    first = [b for b in window.chat.bubbles if b.data.role == "assistant"][-1]
    notices = [
        label
        for label in first.findChildren(QLabel, "SmallModelNotice")
        if label.isVisibleTo(window)
    ]
    assert len(notices) == 1 and SMALL_MODEL_TEXT in notices[0].text()
    # It points at the sources, and sits above them.
    assert "the sources below are what to trust" in notices[0].text()
    card = first.card.layout()
    assert card.indexOf(notices[0]) < card.indexOf(first.sources_row)
    with qtbot.waitSignal(window.generator.betterModelRequested, timeout=2000):
        notices[0].linkActivated.emit("ember:better-model")
    assert window.model_picker.view().isVisible()  # the model list opened, to pick another
    window.model_picker.hidePopup()

    send_and_wait(qtbot, window, "Which light blinks?")  # said once, not under every answer
    second = [b for b in window.chat.bubbles if b.data.role == "assistant"][-1]
    assert second is not first and not second.findChildren(QLabel, "SmallModelNotice")


def test_an_answer_says_the_model_is_loading_when_it_loads_first(qtbot) -> None:
    from ember.config import save_settings
    from ember.ui.app import create_application, create_window

    save_settings(deterministic_settings(max_tokens=8))
    create_application()
    window = create_window(start_background=False)  # nothing loads the model in advance
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.started, timeout=5000)
    try:
        assert window.core.loaded is None
        window.composer.sendRequested.emit("Say hello.")
        bubble = None

        def placeholder_shown() -> bool:
            nonlocal bubble
            bubble = window.generator._stream_bubble
            return bubble is not None and bubble.body.toPlainText() == LOADING_MODEL

        qtbot.waitUntil(placeholder_shown, timeout=10_000)
        qtbot.waitUntil(lambda: window.generation is None, timeout=ANSWER_TIMEOUT_MS)
        assert window.core.loaded is not None
        assert bubble is not None and bubble.data.state == "done"
    finally:
        close_window(window)
