"""Where the source viewer pane goes: beside the chat, with the sidebar folded, or over the chat,
never giving anything less than its minimum width."""

from __future__ import annotations

import pytest

from ember.ui.pane_room import PANE_LEAST, plan_room

HANDLE = 1
SIDEBAR = (220, 270)  # (minimum, current) px
CHAT = (470, 900)
PANE_MIN = 300


def _total(room) -> int:  # type: ignore[no-untyped-def]
    parts = [w for w in (room.sidebar, room.chat, room.pane) if w]
    return sum(parts) + HANDLE * (len(parts) - 1)


def test_a_wide_window_has_the_pane_beside_the_chat_and_keeps_the_sidebar_width() -> None:
    room = plan_room(1400, HANDLE, SIDEBAR, CHAT, PANE_MIN)
    assert room.mode == "beside"
    assert room.sidebar == 270 and room.chat >= 470 and room.pane >= PANE_LEAST
    assert _total(room) == 1400


def test_the_pane_takes_half_the_chat_side_when_there_is_room() -> None:
    room = plan_room(1900, HANDLE, SIDEBAR, (470, 1630), PANE_MIN)
    assert room.mode == "beside" and abs(room.pane - room.chat) <= 2


def test_a_tighter_window_narrows_the_sidebar_before_folding_it() -> None:
    room = plan_room(220 + 470 + 300 + 2 * HANDLE, HANDLE, SIDEBAR, CHAT, PANE_MIN)
    assert room == room.__class__("beside", 220, 470, 300)


def test_when_all_three_do_not_fit_the_sidebar_folds() -> None:
    room = plan_room(900, HANDLE, SIDEBAR, CHAT, PANE_MIN)
    assert room.mode == "folded" and room.sidebar == 0
    assert room.chat >= 470 and room.pane >= PANE_MIN and _total(room) == 900


def test_when_the_chat_and_the_pane_do_not_fit_the_pane_goes_over_the_chat() -> None:
    room = plan_room(760, HANDLE, SIDEBAR, CHAT, PANE_MIN)
    assert room.mode == "over" and room.chat == 0
    assert room.sidebar >= 220 and room.pane >= PANE_LEAST and _total(room) == 760


def test_a_window_too_narrow_for_the_sidebar_and_the_pane_shows_the_pane_alone() -> None:
    room = plan_room(480, HANDLE, SIDEBAR, CHAT, PANE_MIN)
    assert room == room.__class__("over", 0, 0, 480)


@pytest.mark.parametrize("width", range(300, 2000, 37))
def test_no_part_is_ever_given_less_than_its_minimum(width: int) -> None:
    room = plan_room(width, HANDLE, SIDEBAR, CHAT, PANE_MIN)
    assert room.pane >= PANE_MIN
    assert room.sidebar == 0 or room.sidebar >= SIDEBAR[0]
    assert room.chat == 0 or room.chat >= CHAT[0]
    assert _total(room) == width
