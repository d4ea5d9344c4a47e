"""One Ember per data folder: the claim, the local socket and the request a later start sends.

The running side (``Instance``) lives on this test's GUI thread as it does in the app; the later
start (``send``, blocking) runs in a process of its own, as it does for real."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QDir

from ember.ui import single_instance
from ember.ui.single_instance import Handed, Instance

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def running(tmp_path: Path):  # type: ignore[no-untyped-def]
    instance = single_instance.claim(tmp_path / "data")
    assert instance is not None
    assert instance.listen()
    yield instance
    instance.release()


def _send_from_another_process(name: str, paths: list[Path]) -> subprocess.Popen[str]:
    """``send`` as a later start runs it: in its own process (in this one, its blocking wait
    would hold the interpreter the running side's slots need)."""
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from ember.ui import single_instance\n"
        "handed = single_instance.send(sys.argv[1], [Path(p) for p in sys.argv[2:]], 10.0)\n"
        "print(json.dumps([handed.delivered, handed.problem]))\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, name, *map(str, paths)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "desktop"), str(REPO)])},
    )


def _handed(qtbot, process: subprocess.Popen[str]) -> Handed:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: process.poll() is not None, timeout=20_000)  # serving meanwhile
    out, _ = process.communicate()
    delivered, problem = json.loads(out)
    return Handed(delivered, problem)


def test_a_later_start_hands_its_absolute_paths_to_the_running_app(
    qtbot, running: Instance, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("kettle", encoding="utf-8")
    with qtbot.waitSignal(running.pathsReceived, timeout=20_000) as received:
        process = _send_from_another_process(running.name, [notes, tmp_path])
    assert received.args == [[notes, tmp_path]]
    assert _handed(qtbot, process) == Handed(True)


def test_a_plain_start_sends_no_paths_and_is_answered(qtbot, running: Instance) -> None:
    with qtbot.waitSignal(running.pathsReceived, timeout=20_000) as received:
        process = _send_from_another_process(running.name, [])
    assert received.args == [[]]
    assert _handed(qtbot, process) == Handed(True)


def test_a_malformed_request_is_refused_and_nothing_is_opened(qtbot, running: Instance) -> None:
    answers: list[bytes] = []
    opened: list[object] = []
    running.pathsReceived.connect(opened.append)

    def talk() -> None:  # a plain socket: it waits without holding the interpreter
        with socket.socket(socket.AF_UNIX) as client:
            client.settimeout(10)
            client.connect(running.address)
            client.sendall(b'{"paths": ["relative/notes.md"]}\n')
            while chunk := client.recv(4096):
                answers.append(chunk)

    thread = threading.Thread(target=talk, daemon=True)
    thread.start()
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=10_000)
    assert b"".join(answers).startswith(b"error: paths must be absolute")
    assert opened == []


def test_only_one_app_claims_a_data_folder_and_another_folder_is_its_own(
    running: Instance, tmp_path: Path
) -> None:
    assert single_instance.claim(tmp_path / "data") is None
    other = single_instance.claim(tmp_path / "other-home" / "data")
    assert other is not None
    try:
        assert other.name != running.name
        assert other.listen()  # side by side: two EMBER_HOMEs, two apps
    finally:
        other.release()


def test_the_claim_is_free_again_once_released(tmp_path: Path) -> None:
    first = single_instance.claim(tmp_path)
    assert first is not None
    first.release()
    second = single_instance.claim(tmp_path)
    assert second is not None
    second.release()


def test_a_crashed_app_s_lock_and_socket_file_are_taken_over(qtbot, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    name = single_instance.server_name(data)
    # What a crash leaves: the lock file of a process that is gone, and a socket file that
    # nobody listens on.
    crash = (
        "import os, sys\n"
        "from PySide6.QtCore import QLockFile\n"
        "lock = QLockFile(sys.argv[1]); assert lock.tryLock(0)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    subprocess.run([sys.executable, "-c", crash, str(data / single_instance.LOCK_NAME)])
    assert (data / single_instance.LOCK_NAME).exists()
    left = socket.socket(socket.AF_UNIX)
    left.bind(str(Path(QDir.tempPath()) / name))  # where QLocalServer puts a bare name
    left.close()  # bound, never listened: connecting is refused, the file stays

    instance = single_instance.claim(data)
    assert instance is not None, "the dead process's lock should be taken over"
    try:
        assert instance.listen()
        with qtbot.waitSignal(instance.pathsReceived, timeout=20_000):
            process = _send_from_another_process(name, [])
        assert _handed(qtbot, process) == Handed(True)
    finally:
        instance.release()


def test_nobody_listening_is_reported_not_delivered(tmp_path: Path) -> None:
    handed = single_instance.send(single_instance.server_name(tmp_path), [], wait_s=0.2)
    assert not handed.delivered
    assert handed.problem == "it does not answer"


def test_the_request_is_one_json_line_of_absolute_paths(tmp_path: Path) -> None:
    line = single_instance.encode_request([tmp_path / "a.md"])
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert single_instance.decode_request(line.rstrip()) == [tmp_path / "a.md"]
    for bad in (b"not json", b'["/a"]', b'{"paths": "/a"}', b'{"paths": [1]}'):
        with pytest.raises(ValueError):
            single_instance.decode_request(bad)


def test_what_was_sent_is_described_for_the_person(tmp_path: Path) -> None:
    files = [tmp_path / "a.md", tmp_path / "b.md"]
    assert single_instance.describe(files) == "2 files"
    assert single_instance.describe([tmp_path]) == "1 folder"
    assert single_instance.describe([files[0], tmp_path]) == "1 file and 1 folder"
    assert single_instance.describe([]) == ""
