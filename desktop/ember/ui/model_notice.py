"""What an answer says about the model behind it: the tiny built-in model named as such, once,
and what the answer waits for before its first token."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ember.ui.accessibility import reorder
from ember.ui.qt import QLabel, Qt

if TYPE_CHECKING:
    from ember.ui.bubble import MessageBubble

LOADING_MODEL = "Loading the model…"
SEARCHING = "Searching your documents…"

SMALL_MODEL_TEXT = "You are using a small built-in model: answers may be unreliable"
WITH_SOURCES = ", the sources below are what to trust. "  # the notice sits above the sources
BETTER_MODEL_LINK = '<a href="ember:better-model">Get a better model</a>'


def add_small_model_notice(bubble: MessageBubble, get_better: Callable[[], None]) -> QLabel:
    """Put the notice under ``bubble``'s answer, above its sources (if it cites any); its link
    calls ``get_better``."""
    cited = bool(bubble.data.citations)
    text = SMALL_MODEL_TEXT + (WITH_SOURCES if cited else ". ")
    label = QLabel(text + BETTER_MODEL_LINK, bubble.card)
    label.setObjectName("SmallModelNotice")
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
    label.linkActivated.connect(lambda _link: get_better())
    label.setToolTip(
        "The built-in model (SmolLM2, 135 million parameters) runs anywhere but often answers "
        "wrongly. Pick a bigger model in the model list: add a GGUF file or pull an Ollama model."
    )
    layout = bubble.card.layout()
    # Above the sources; with none, above the row of Copy / Regenerate (the card's last item).
    at = layout.indexOf(bubble.sources_row) if cited else -1
    layout.insertWidget(at if at >= 0 else max(0, layout.count() - 1), label)  # type: ignore[attr-defined]
    label.show()  # now, not at the event loop's next turn (as a layout shows a new child)
    reorder(bubble)  # its link is reached with Tab after the answer's text
    return label
