from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ember.chats.store import ChatStore
from ember.db import integrity_ok
from ember.engines import Timings

REPO_ROOT = Path(__file__).resolve().parents[3]


class FakeClock:
    """Time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChatStore]:
    with ChatStore(tmp_path / "chats.sqlite3") as chat_store:
        yield chat_store


def _stored(store: ChatStore, message_id: int) -> tuple[str, str]:
    message = store.message(message_id)
    assert message is not None
    return message.content, message.state


def test_a_reply_starts_empty_and_streaming(store: ChatStore) -> None:
    chat = store.create()
    writer = store.begin_reply(chat.id, model="smollm2")
    assert _stored(store, writer.message_id) == ("", "streaming")
    assert store.get(chat.id).model == "smollm2"


def test_text_is_committed_every_n_tokens(store: ChatStore) -> None:
    chat = store.create()
    writer = store.begin_reply(chat.id, flush_tokens=3, flush_interval_s=3600)
    flushed = [writer.append(piece) for piece in ["a", "b", "c", "d"]]
    assert flushed == [False, False, True, False]
    assert _stored(store, writer.message_id) == ("abc", "streaming")
    assert writer.committed_text == "abc" and writer.text == "abcd"


def test_text_is_committed_when_the_interval_has_passed(store: ChatStore) -> None:
    from ember.chats.reply import ReplyWriter

    chat = store.create()
    message = store.add_message(chat.id, "assistant", "", state="streaming")
    clock = FakeClock()
    writer = ReplyWriter(store, message, flush_interval_s=0.1, flush_tokens=1000, clock=clock)
    assert not writer.append("slow ")
    clock.now = 0.15
    assert writer.append("model")
    assert _stored(store, writer.message_id) == ("slow model", "streaming")
    assert writer.flushes == 1


def test_finish_stores_the_final_text_timings_and_model(store: ChatStore) -> None:
    chat = store.create()
    writer = store.begin_reply(chat.id)
    writer.append("Hel")
    timings = Timings(ttft_s=0.1, total_s=1.1, prompt_tokens=20, completion_tokens=11)
    message = writer.finish(text="Hello", timings=timings, model="smollm2")
    assert (message.content, message.state, message.model) == ("Hello", "done", "smollm2")
    assert message.ttft_s == pytest.approx(0.1)
    assert message.tokens_per_s == pytest.approx(10.0)
    assert (message.prompt_tokens, message.completion_tokens) == (20, 11)
    with pytest.raises(RuntimeError):
        writer.append("more")


def test_cancel_keeps_the_partial_text(store: ChatStore) -> None:
    chat = store.create()
    writer = store.begin_reply(chat.id, flush_tokens=1000, flush_interval_s=3600)
    writer.append("half an ")
    writer.append("answer")
    message = writer.cancel()
    assert (message.content, message.state) == ("half an answer", "cancelled")


def test_fail_keeps_the_longest_text_and_the_error(store: ChatStore) -> None:
    chat = store.create()
    writer = store.begin_reply(chat.id, flush_tokens=1000, flush_interval_s=3600)
    writer.append("par")
    message = writer.fail("Ollama stopped answering", partial_text="partial")
    assert (message.content, message.state) == ("partial", "error")
    assert message.error == "Ollama stopped answering"


def test_a_reply_left_streaming_is_marked_interrupted_on_next_open(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    store = ChatStore(path)
    chat = store.create()
    writer = store.begin_reply(chat.id, flush_tokens=2)
    for piece in ["kept ", "text ", "lost"]:
        writer.append(piece)
    store.close()  # the writer never finishes: as if the app died
    with ChatStore(path) as reopened:
        assert _stored(reopened, writer.message_id) == ("kept text ", "interrupted")


def test_a_late_flush_from_a_live_writer_restores_its_streaming_state(store: ChatStore) -> None:
    chat = store.create()
    writer = store.begin_reply(chat.id, flush_tokens=1)
    assert store.recover_interrupted() == 1  # e.g. a second process opened the file
    writer.append("still going")
    assert _stored(store, writer.message_id) == ("still going", "streaming")


def test_the_list_can_be_read_while_another_thread_streams_a_reply(store: ChatStore) -> None:
    chat = store.create("busy")
    writer = store.begin_reply(chat.id, flush_tokens=1)
    errors: list[BaseException] = []
    mid_reply = threading.Event()  # the writer has committed half the reply and goes on
    read_mid_reply = threading.Event()  # the reader has read while the reply was streaming

    def stream() -> None:
        try:
            for n in range(150):
                writer.append(f"{n} ")
            mid_reply.set()
            # The second half is written only once the reader is reading, so the two overlap.
            assert read_mid_reply.wait(30), "the reader never read"
            for n in range(150, 300):
                writer.append(f"{n} ")
            writer.finish()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=stream)
    thread.start()
    assert mid_reply.wait(30)
    reads = 0
    while thread.is_alive():
        assert [c.title for c in store.conversations()] == ["busy"]
        assert store.messages(chat.id)[-1].id == writer.message_id
        reads += 1
        if reads == 1:
            assert _stored(store, writer.message_id)[1] == "streaming"
            read_mid_reply.set()
    thread.join()
    assert errors == []
    assert reads >= 1
    assert _stored(store, writer.message_id) == (" ".join(str(n) for n in range(300)) + " ", "done")


@pytest.mark.slow
def test_sigkill_mid_reply_keeps_every_committed_token_and_a_healthy_file(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "chats.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    stderr_path = tmp_path / "victim.stderr"
    with (
        stderr_path.open("w") as stderr_file,
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.stream_reply", str(db_path), "60"],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr_file,
            text=True,
        ) as victim,
    ):
        try:
            assert victim.stdout is not None
            first = victim.stdout.readline()
            assert first, f"the streaming process failed: {stderr_path.read_text()[-2000:]}"
            message_id = json.loads(first)["message_id"]
            report: dict = {}
            while report.get("flushes", 0) < 6:
                line = victim.stdout.readline()
                assert line, f"it ended before the kill: {stderr_path.read_text()[-2000:]}"
                report = json.loads(line)
            os.kill(victim.pid, signal.SIGKILL)
        finally:
            victim.kill()
            victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL

    conn = sqlite3.connect(db_path)
    assert integrity_ok(conn)
    conn.close()
    with ChatStore(db_path) as store:
        content, state = _stored(store, message_id)
    assert report["committed"], "nothing was committed before the kill"
    # Commits may have landed after the last report, never fewer.
    assert content.startswith(report["committed"])
    assert state == "interrupted"
