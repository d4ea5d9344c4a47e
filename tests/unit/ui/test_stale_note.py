"""An answer says which matching files it left out because they changed, and offers to update."""

from __future__ import annotations

import os

from ember.knowledge.types import StaleSource
from ember.ui.bubble import BubbleData, MessageBubble
from ember.ui.qt import QColor


def test_the_left_out_files_are_named_under_the_answer_with_an_update_link(qtbot) -> None:
    bubble = MessageBubble(BubbleData(role="assistant", text="Not found."), QColor("black"))
    qtbot.addWidget(bubble)
    assert bubble.stale_label.isHidden()
    odd = os.fsdecode(b"/notes/caf\xe9 <b>.txt")
    stale = (
        StaleSource("/notes/boiler.txt", "deleted", "notes"),
        StaleSource(odd, "changed", "notes"),
    )
    bubble.set_stale(stale)
    text = bubble.stale_label.text()
    assert not bubble.stale_label.isHidden()
    assert (
        "Left out (no longer as indexed)" in text
        and "boiler.txt (deleted)" in text
        and "caf\ufffd &lt;b&gt;.txt (changed)" in text
    )
    with qtbot.waitSignal(bubble.updateIndexRequested) as asked:
        bubble.stale_label.linkActivated.emit("ember:update-index")
    assert asked.args == [stale]
