"""The Qt import point: lazy names, and the PySide6 6.12 reference-count workaround."""

from __future__ import annotations

import sys

import ember.ui.qt as qt


def test_names_resolve_from_the_binding_on_first_use() -> None:
    from PySide6.QtWidgets import QSpinBox

    assert qt.QSpinBox is QSpinBox


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        qt.QNoSuchWidget  # noqa: B018
    except AttributeError as exc:
        assert "QNoSuchWidget" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def _still_alive(singleton: object, before: int) -> bool:
    """No reference lost per call, or (the workaround) so many left that none can run out."""
    now = sys.getrefcount(singleton)
    return now >= before - 100 or now > 1 << 40


def test_emitting_many_signals_keeps_the_interpreter_s_booleans_alive(qtbot) -> None:
    class Emitter(qt.QObject):
        ping = qt.Signal(object)

    emitter = Emitter()
    received: list[int] = []
    emitter.ping.connect(received.append)
    before = sys.getrefcount(True)
    for n in range(20_000):  # more than a long session of streamed tokens
        emitter.ping.emit(n)
    assert len(received) == 20_000
    assert _still_alive(True, before)


def test_connecting_and_disconnecting_many_times_keeps_the_booleans_alive(qtbot) -> None:
    class Emitter(qt.QObject):
        ping = qt.Signal()

    emitter = Emitter()

    def slot() -> None:
        pass

    before = sys.getrefcount(True)
    for _ in range(5_000):
        emitter.ping.connect(slot)
        emitter.ping.disconnect(slot)
    assert _still_alive(True, before)


def test_many_widget_calls_never_use_up_none(qtbot) -> None:
    label = qt.QLabel("x")
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(50_000):
        label.setText("y")  # a void method: PySide6 6.12 on Python 3.11 loses a None each time
    assert _still_alive(None, before)
