"""The ‹ 2/3 › switcher on a message: named buttons, keyboard operable, hidden with one version."""

from __future__ import annotations

from ember.ui.bubble import BubbleData, MessageBubble
from ember.ui.qt import QColor, Qt


def _bubble(qtbot, versions: tuple[int, ...], message_id: int) -> MessageBubble:  # type: ignore[no-untyped-def]
    data = BubbleData(role="assistant", text="Hi.", message_id=message_id, versions=versions)
    bubble = MessageBubble(data, QColor("#eee"))
    qtbot.addWidget(bubble)
    bubble.show()
    bubble.activateWindow()
    qtbot.waitExposed(bubble)
    return bubble


def test_a_message_with_one_version_shows_no_switcher(qtbot) -> None:  # type: ignore[no-untyped-def]
    bubble = _bubble(qtbot, (7,), 7)
    assert not bubble.versions.isVisible() and bubble.versions.text == ""


def test_the_switcher_says_where_it_stands_and_asks_by_keyboard(qtbot) -> None:  # type: ignore[no-untyped-def]
    bubble = _bubble(qtbot, (3, 7, 9), 7)
    switcher = bubble.versions
    assert switcher.isVisible() and switcher.text == "2/3"
    assert switcher.previous.accessibleName() == "Previous version"
    assert switcher.next.accessibleName() == "Next version"
    assert switcher.label.accessibleName() == "Version 2 of 3"
    assert "2 of 3" in switcher.previous.toolTip() and "2 of 3" in switcher.next.toolTip()
    asked: list[int] = []
    bubble.versionRequested.connect(asked.append)
    switcher.previous.setFocus()
    qtbot.waitUntil(switcher.previous.hasFocus, timeout=2000)
    qtbot.keyClick(switcher.previous, Qt.Key.Key_Space)
    bubble.focusNextChild()  # Tab: from ‹ to ›
    assert switcher.next.hasFocus()
    qtbot.keyClick(switcher.next, Qt.Key.Key_Space)
    assert asked == [3, 9]


def test_the_ends_cannot_step_further(qtbot) -> None:  # type: ignore[no-untyped-def]
    bubble = _bubble(qtbot, (3, 7), 7)
    assert bubble.versions.text == "2/2"
    assert bubble.versions.previous.isEnabled() and not bubble.versions.next.isEnabled()
    bubble.set_versions((3, 7, 8))
    assert bubble.versions.text == "2/3" and bubble.versions.next.isEnabled()
