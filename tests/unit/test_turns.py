"""Turns on the loaded model: strict arrival order, give-ups that leave no gap, re-entry."""

from __future__ import annotations

import threading

from ember.cancel import CancelToken
from ember.turns import ModelTurns


def _queue_up(
    turns: ModelTurns,
    count: int,
    tokens: dict[int, CancelToken],
    priority: frozenset[int] = frozenset(),
) -> tuple[list[object], list[threading.Thread]]:
    """``count`` threads asking for a turn one after another while the caller holds one."""
    served: list[object] = []
    threads = []
    for i in range(count):
        queued = threading.Event()

        def take(i: int = i, queued: threading.Event = queued) -> None:
            with turns.turn(tokens.get(i), priority=i in priority) as granted:
                served.append(i if granted else f"gave up {i}")

        thread = threading.Thread(target=take)
        thread.start()
        # Wait until this one is really in the queue before the next one asks.
        while turns.waiting < i + 1:
            queued.wait(0.005)
        threads.append(thread)
    return served, threads


def test_waiters_are_served_in_the_order_they_asked() -> None:
    turns = ModelTurns()
    with turns.turn():
        served, threads = _queue_up(turns, 6, {})
        assert turns.waiting == 6  # the turn being held is not counted
    for thread in threads:
        thread.join(10)
    assert served == [0, 1, 2, 3, 4, 5]
    assert turns.waiting == 0


def test_a_waiter_that_gives_up_leaves_no_gap_in_the_queue() -> None:
    turns = ModelTurns()
    stop = CancelToken()
    with turns.turn():
        served, threads = _queue_up(turns, 4, {1: stop})
        stop.cancel()
        threads[1].join(10)  # it leaves while the turn is still held
        assert served == ["gave up 1"]
    for thread in threads:
        thread.join(10)
    assert served == ["gave up 1", 0, 2, 3]


def test_the_holder_may_take_the_turn_again_without_waiting_for_itself() -> None:
    turns = ModelTurns()
    with turns.turn() as outer, turns.turn() as inner:
        assert outer and inner
    # Released once, properly: the next caller is served at once.
    done = threading.Event()
    threading.Thread(target=lambda: (turns.turn().__enter__(), done.set())).start()
    assert done.wait(10)


def test_the_window_goes_ahead_of_waiting_programs_but_not_ahead_of_itself() -> None:
    """Priority turns (the person at the window) pass the queue of API requests, in their own
    order, and never interrupt the turn being served."""
    turns = ModelTurns()
    with turns.turn():
        served, threads = _queue_up(turns, 6, {}, priority=frozenset({3, 5}))
        assert served == []  # nobody runs while the turn is held
    for thread in threads:
        thread.join(10)
    assert served == [3, 5, 0, 1, 2, 4]
