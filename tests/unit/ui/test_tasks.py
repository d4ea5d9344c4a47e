"""Background jobs run off the GUI thread and report back to it through signals."""

from __future__ import annotations

import threading
import time

import pytest

from ember.errors import EmberError, GenerationCancelled
from ember.ui.qt import QApplication, QThread
from ember.ui.tasks import TaskManager


@pytest.fixture
def tasks(qtbot):
    manager = TaskManager()
    yield manager
    assert manager.shutdown(5000)


def test_a_job_runs_off_the_gui_thread_and_its_result_arrives_on_it(qtbot, tasks) -> None:
    seen: dict[str, object] = {}

    def job(_report):
        seen["worker"] = threading.current_thread()
        return 42

    def done(result):
        seen["result"] = result
        seen["callback_on_gui"] = QThread.currentThread() is QApplication.instance().thread()

    tasks.run_on(tasks.engine, "answer", job, on_done=done)
    qtbot.waitUntil(lambda: "result" in seen, timeout=5000)
    assert seen["result"] == 42
    assert seen["worker"] is not threading.main_thread()
    assert seen["callback_on_gui"] is True


def test_progress_events_arrive_in_order(qtbot, tasks) -> None:
    events: list[object] = []
    finished: list[object] = []

    def job(report):
        for i in range(50):
            report(i)
        return "ok"

    tasks.run_on(tasks.knowledge, "count", job, on_event=events.append, on_done=finished.append)
    qtbot.waitUntil(lambda: finished == ["ok"], timeout=5000)
    assert events == list(range(50))


def test_a_serial_worker_runs_one_job_at_a_time_in_order(qtbot, tasks) -> None:
    order: list[str] = []
    running = [0]
    overlap = [False]

    def make(name):
        def job(_report):
            running[0] += 1
            overlap[0] |= running[0] > 1
            time.sleep(0.02)
            order.append(name)
            running[0] -= 1

        return job

    handles = [tasks.run_on(tasks.engine, n, make(n)) for n in "abcd"]
    qtbot.waitUntil(lambda: all(h.done for h in handles), timeout=5000)
    assert order == list("abcd")
    assert not overlap[0]


def test_a_job_cancelled_before_it_starts_never_runs(qtbot, tasks) -> None:
    gate = threading.Event()
    ran: list[str] = []
    errors: list[BaseException] = []
    tasks.run_on(tasks.engine, "blocker", lambda _r: gate.wait(5))
    later = tasks.run_on(
        tasks.engine, "later", lambda _r: ran.append("later"), on_error=errors.append
    )
    later.cancel()
    gate.set()
    qtbot.waitUntil(lambda: later.done, timeout=5000)
    assert ran == []
    assert isinstance(errors[0], GenerationCancelled)


def test_a_failing_job_reports_its_error_to_the_gui(qtbot, tasks) -> None:
    errors: list[BaseException] = []

    def job(_report):
        raise EmberError("the disk is full")

    tasks.run_background("fails", job, on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert str(errors[0]) == "the disk is full"


def test_a_running_job_sees_its_cancel_token(qtbot, tasks) -> None:
    results: list[object] = []

    def job(_report):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if handle.cancelled:
                return "stopped"
            time.sleep(0.005)
        return "ran out"

    handle = tasks.run_on(tasks.engine, "long", job, on_done=results.append)
    qtbot.wait(50)
    handle.cancel()
    qtbot.waitUntil(lambda: bool(results), timeout=5000)
    assert results == ["stopped"]


@pytest.mark.parametrize("where", ["pool", "serial"])
def test_a_job_that_starts_at_once_can_read_the_handle_made_for_it(qtbot, tasks, where) -> None:
    """The job may run before run_* returns; a handle made first is there for it already."""
    from ember.ui.tasks import TaskHandle

    handle = TaskHandle("pull")
    results: list[object] = []
    errors: list[BaseException] = []

    def job(_report):
        return handle.cancel_token is not None and not handle.cancelled

    if where == "pool":
        returned = tasks.run_background(
            "pull", job, on_done=results.append, on_error=errors.append, handle=handle
        )
    else:
        returned = tasks.run_on(
            tasks.engine, "pull", job, on_done=results.append, on_error=errors.append, handle=handle
        )
    assert returned is handle
    qtbot.waitUntil(lambda: bool(results or errors), timeout=5000)
    assert (results, errors) == ([True], [])
    assert handle.done
