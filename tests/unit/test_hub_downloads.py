"""The download queue against a loopback Hugging Face Hub serving real GGUF bytes (SmolLM2).

Every test downloads for real through ``huggingface_hub`` from :class:`HubTestServer`; faults
(drops, stalls, wrong bytes, 429/503, a bandwidth cap) are the server's. Crashes are real
``kill -9``s of a child downloader; a full disk is ``RLIMIT_FSIZE`` in a child.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ember import catalog
from ember.errors import DownloadError
from ember.files import sha256_file
from ember.hub.download_store import DownloadStore
from ember.hub.downloads import DownloadQueue, DownloadStopped
from ember.hub.types import DownloadEvent, HubFile, Quant
from ember.paths import ember_paths
from tests.support.children import REPO_ROOT, child_env, python
from tests.support.hf_hub_server import HubTestServer
from tests.support.real_models import SMOLLM2_FILE, SMOLLM2_REPO, SMOLLM2_SHA256, smollm2_gguf

SIZE = smollm2_gguf().stat().st_size
SMOL = Quant("Q4_1", (HubFile(SMOLLM2_FILE, SIZE, SMOLLM2_SHA256),))


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch):
    with HubTestServer() as server:
        server.add_file(SMOLLM2_REPO, smollm2_gguf(), sha256=SMOLLM2_SHA256)
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def _sent(hub: HubTestServer) -> int:
    return hub.bytes_sent.get(SMOLLM2_FILE, 0)


def _partial(queue: DownloadQueue) -> Path:
    return queue.folder(SMOLLM2_REPO) / (SMOLLM2_FILE + ".incomplete")


def test_a_download_is_verified_registered_and_listed(hub: HubTestServer) -> None:
    queue = DownloadQueue()
    job = queue.add(SMOLLM2_REPO, SMOL, revision="main", license="apache-2.0")
    events: list[DownloadEvent] = []
    entry = queue.run(job, events.append)

    path = Path(entry.path)
    assert path == queue.folder(SMOLLM2_REPO) / SMOLLM2_FILE
    assert sha256_file(path) == SMOLLM2_SHA256 == entry.sha256
    assert entry.origin == f"hub:{SMOLLM2_REPO}" and entry.license == "apache-2.0"
    assert catalog.hub_file(entry)[0] == SMOLLM2_REPO
    assert [m.name for m in catalog.user_models()] == [entry.name]
    assert events[-1].state == "done" and events[-1].model_name == entry.name
    assert not _partial(queue).exists()
    # the revision was pinned to the commit the hub named
    assert catalog.hub_file(entry)[1] == hub.repos[SMOLLM2_REPO].commit
    assert [(e.state, e.bytes_done) for e in DownloadQueue().jobs()] == [("done", SIZE)]


def test_kill_9_mid_download_resumes_from_the_bytes_on_disk(hub: HubTestServer) -> None:
    queue = DownloadQueue()
    job = queue.add(SMOLLM2_REPO, SMOL, revision="main")
    hub.faults.rate_bps = 25_000_000  # slow enough to catch halfway
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.support.download_child", job],
        cwd=REPO_ROOT,
        env=child_env(),
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if _partial(queue).is_file() and _partial(queue).stat().st_size > SIZE * 0.4:
                break
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    on_disk = _partial(queue).stat().st_size
    assert 0 < on_disk < SIZE
    interrupted = DownloadQueue().jobs()[0]
    assert interrupted.state == "paused" and "Interrupted" in interrupted.message
    assert interrupted.bytes_done == on_disk

    hub.faults.rate_bps = 0
    sent_before = _sent(hub)
    entry = DownloadQueue().run(job, lambda e: None)  # this process: a fresh queue, as at start
    fetched_after = _sent(hub) - sent_before
    assert fetched_after < SIZE
    assert fetched_after <= SIZE - on_disk + (1 << 20)
    assert sha256_file(entry.path) == SMOLLM2_SHA256
    ranges = [r for (_, path, r, status) in hub.requests if status == 206]
    assert ranges and ranges[-1].startswith("bytes=")


def test_wrong_bytes_are_detected_deleted_and_never_registered(hub: HubTestServer) -> None:
    queue = DownloadQueue()
    job = queue.add(SMOLLM2_REPO, SMOL, revision="main")
    hub.faults.corrupt = 1
    events: list[DownloadEvent] = []
    with pytest.raises(DownloadError, match=r"damaged.*deleted"):
        queue.run(job, events.append)
    assert events[-1].state == "failed" and "sha256" in events[-1].message
    assert not any(queue.folder(SMOLLM2_REPO).iterdir())
    assert catalog.user_models() == []
    assert queue.jobs()[0].state == "failed"
    # offered again: running the job again downloads it afresh, right this time
    entry = queue.run(job, lambda e: None)
    assert sha256_file(entry.path) == SMOLLM2_SHA256


def test_a_catalog_hash_that_disagrees_fails_the_download(hub: HubTestServer) -> None:
    queue = DownloadQueue()
    job = queue.add(SMOLLM2_REPO, SMOL, revision="main", expected_sha256={SMOLLM2_FILE: "0" * 64})
    with pytest.raises(DownloadError, match="damaged"):
        queue.run(job, lambda e: None)
    assert catalog.user_models() == []


def test_a_full_disk_is_a_clear_error_and_nothing_is_registered(hub: HubTestServer) -> None:
    queue = DownloadQueue()
    job = queue.add(SMOLLM2_REPO, SMOL, revision="main")
    done = python("-m", "tests.support.download_child", job, "--fsize-limit", str(20 << 20))
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["error"] == "DownloadError", done.stderr
    assert "disk is full" in result["message"] and "Nothing was registered" in result["message"]
    assert catalog.user_models() == []
    assert not (queue.folder(SMOLLM2_REPO) / SMOLLM2_FILE).exists()
    assert DownloadQueue().jobs()[0].state == "failed"
    # space back: the job resumes from the bytes kept
    sent_before = _sent(hub)
    entry = DownloadQueue().run(job, lambda e: None)
    assert _sent(hub) - sent_before < SIZE
    assert sha256_file(entry.path) == SMOLLM2_SHA256


def test_not_enough_free_space_is_refused_before_downloading(
    hub: HubTestServer, tmp_path: Path
) -> None:
    import shutil

    huge = tmp_path / "huge.gguf"
    free = shutil.disk_usage(ember_paths().data_dir.parent).free
    with huge.open("wb") as f:  # sparse: costs nothing, but the hub says it is this big
        f.truncate(free + (1 << 30))
    hub.add_file("big/Huge-GGUF", huge, sha256="1" * 64)
    queue = DownloadQueue()
    files = (HubFile("huge.gguf", huge.stat().st_size, "1" * 64),)
    job = queue.add("big/Huge-GGUF", Quant("Q8_0", files), revision="main")
    with pytest.raises(DownloadError, match="Not enough free space"):
        queue.run(job, lambda e: None)
    assert not [r for r in hub.requests if r[0] == "GET" and "resolve" in r[1]]
    assert catalog.user_models() == []


def test_429_and_503_wait_as_the_hub_asks_and_show_a_countdown(hub: HubTestServer) -> None:
    hub.faults.statuses = [503, 429]
    hub.faults.retry_after_s = 2
    queue = DownloadQueue()
    events: list[DownloadEvent] = []
    entry = queue.run(queue.add(SMOLLM2_REPO, SMOL, revision="main"), events.append)
    assert sha256_file(entry.path) == SMOLLM2_SHA256
    statuses = [s for (m, p, _, s) in hub.requests if m == "GET" and "resolve" in p]
    assert statuses[:2] == [503, 429]
    waits = [e for e in events if e.state == "stalled" and e.retry_in_s]
    assert waits and all(e.speed_bps == 0 for e in waits)
    # our backoff would start at 1 s: a countdown above it is the server's Retry-After
    assert max(e.retry_in_s for e in waits) > 1.2
    assert any("503" in e.message for e in waits)


def test_a_dropped_connection_and_a_stall_are_ridden_out(hub: HubTestServer) -> None:
    # one response: 5 MB, then nothing for 4.5 s, then 5 MB more and the connection drops
    hub.faults.stall_after_bytes, hub.faults.stall_s, hub.faults.stalls = 5 << 20, 4.5, 1
    hub.faults.drop_after_bytes, hub.faults.drops = 10 << 20, 1
    queue = DownloadQueue()
    events: list[DownloadEvent] = []
    entry = queue.run(queue.add(SMOLLM2_REPO, SMOL, revision="main"), events.append)
    assert sha256_file(entry.path) == SMOLLM2_SHA256
    stalled = [e for e in events if e.state == "stalled"]
    assert stalled and all(e.speed_bps == 0 and e.eta_s is None for e in stalled)
    assert _sent(hub) < SIZE + (12 << 20)  # resumed after the drop, not restarted
    # events kept coming during the stall (the ticker), with the bytes where they stood
    assert len([e for e in stalled if e.bytes_done >= 3 << 20]) >= 2


def _run_in_thread(queue: DownloadQueue, job: str, events: list[DownloadEvent]):
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            outcome["entry"] = queue.run(job, events.append)
        except DownloadError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=work)
    thread.start()
    return thread, outcome


def _wait_for_bytes(events: list[DownloadEvent], n: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(e.bytes_done >= n for e in events):
        time.sleep(0.02)


def test_pause_keeps_the_bytes_and_resume_continues(hub: HubTestServer) -> None:
    hub.faults.rate_bps = 30_000_000
    queue = DownloadQueue()
    job = queue.add(SMOLLM2_REPO, SMOL, revision="main")
    events: list[DownloadEvent] = []
    thread, outcome = _run_in_thread(queue, job, events)
    _wait_for_bytes(events, 20 << 20)
    queue.pause(job)
    thread.join()
    stopped = outcome["error"]
    assert isinstance(stopped, DownloadStopped) and stopped.state == "paused"
    assert events[-1].state == "paused"
    kept = _partial(queue).stat().st_size
    assert kept >= 20 << 20
    assert queue.jobs()[0].state == "paused" and queue.jobs()[0].bytes_done == kept
    hub.faults.rate_bps = 0
    sent_before = _sent(hub)
    entry = queue.resume(job, events.append)
    assert _sent(hub) - sent_before <= SIZE - kept + (1 << 20)
    assert sha256_file(entry.path) == SMOLLM2_SHA256


def test_cancel_stops_and_removes_the_partial_file(hub: HubTestServer) -> None:
    hub.faults.rate_bps = 30_000_000
    queue = DownloadQueue()
    job = queue.add(SMOLLM2_REPO, SMOL, revision="main")
    events: list[DownloadEvent] = []
    thread, outcome = _run_in_thread(queue, job, events)
    _wait_for_bytes(events, 10 << 20)
    queue.cancel(job)
    thread.join()
    assert isinstance(outcome["error"], DownloadStopped)
    assert outcome["error"].state == "cancelled"
    assert not _partial(queue).exists()
    assert queue.jobs()[0].state == "cancelled"
    assert catalog.user_models() == []


def test_a_paused_job_cancelled_later_loses_its_partial_file(hub: HubTestServer) -> None:
    queue = DownloadQueue()
    job = queue.add(SMOLLM2_REPO, SMOL, revision="main")
    partial = _partial(queue)
    partial.parent.mkdir(parents=True)
    partial.write_bytes(smollm2_gguf().read_bytes()[: 1 << 20])
    DownloadStore(ember_paths().data_dir / "downloads.sqlite3").update(job, state="paused")
    queue.cancel(job)
    assert not partial.exists() and queue.jobs()[0].state == "cancelled"


def test_a_split_model_and_its_projector_download_as_one(
    hub: HubTestServer, tmp_path: Path
) -> None:
    """A split GGUF made from real bytes: part 1 is the whole SmolLM2 file (a sound GGUF header,
    which is what registration checks), part 2 and the projector are slices of it."""
    data = smollm2_gguf().read_bytes()
    part2, mmproj = tmp_path / "p2", tmp_path / "mm"
    part2.write_bytes(data[: 3 << 20])
    mmproj.write_bytes(data[: 1 << 20])
    repo = "someone/Split-GGUF"
    names = ("Split-Q4_K_M-00001-of-00002.gguf", "Split-Q4_K_M-00002-of-00002.gguf")
    hub.add_file(repo, smollm2_gguf(), names[0], sha256=SMOLLM2_SHA256)
    hub.add_file(repo, part2, names[1])
    hub.add_file(repo, mmproj, "mmproj-Split-f16.gguf")
    files = (
        HubFile(names[0], SIZE, SMOLLM2_SHA256),
        HubFile(names[1], part2.stat().st_size, sha256_file(part2)),
    )
    projector = HubFile("mmproj-Split-f16.gguf", mmproj.stat().st_size, sha256_file(mmproj))
    queue = DownloadQueue()
    job = queue.add(repo, Quant("Q4_K_M", files), revision="main", projector=projector)
    events: list[DownloadEvent] = []
    entry = queue.run(job, events.append)
    folder = queue.folder(repo)
    assert entry.path == str(folder / names[0])
    assert (folder / names[1]).read_bytes() == part2.read_bytes()
    assert entry.projector_source == str(folder / "mmproj-Split-f16.gguf")
    assert events[-1].bytes_total == SIZE + part2.stat().st_size + mmproj.stat().st_size
    # removing the model deletes every file Ember downloaded for it
    deleted = queue.remove(entry.name)
    assert {p.name for p in deleted} == {*names, "mmproj-Split-f16.gguf"}
    assert not any(p.is_file() for p in folder.iterdir())
    assert catalog.user_models() == []


def test_removing_a_model_used_in_place_only_unregisters_it(tmp_path: Path) -> None:
    own = tmp_path / "mine.gguf"
    own.write_bytes(smollm2_gguf().read_bytes())
    catalog.add_user_model(own, name="mine", sha256=SMOLLM2_SHA256)
    assert DownloadQueue().remove("mine") == []
    assert own.is_file() and catalog.user_models() == []


@pytest.mark.parametrize(
    "filename", ["../../evil.gguf", "/tmp/evil.gguf", "sub/../../../evil.gguf", "a\\..\\b.gguf"]
)
def test_a_hub_file_name_that_leaves_the_models_folder_is_refused(
    filename: str, tmp_path: Path
) -> None:
    queue = DownloadQueue()
    quant = Quant("Q4_K_M", (HubFile(filename, 10, "0" * 64),))
    with pytest.raises(DownloadError, match="outside"):
        queue.add("someone/Evil-GGUF", quant, revision="main")
    projector = HubFile("../mmproj.gguf", 10, "0" * 64)
    with pytest.raises(DownloadError, match="outside"):
        queue.add("someone/Evil-GGUF", SMOL, revision="main", projector=projector)
    with pytest.raises(DownloadError, match="OWNER/REPO"):
        queue.add("someone/..", SMOL, revision="main")
    assert queue.jobs() == []


def test_a_cancel_that_lands_before_the_run_starts_stops_it(hub: HubTestServer) -> None:
    """The window cancels a job still waiting behind another download: its run, when its turn
    comes, must not download it (nor leave its partial file)."""
    queue = DownloadQueue()
    job = queue.add(SMOLLM2_REPO, SMOL, revision="main")
    partial = _partial(queue)
    partial.parent.mkdir(parents=True)
    partial.write_bytes(smollm2_gguf().read_bytes()[: 1 << 20])
    queue.cancel(job)
    with pytest.raises(DownloadStopped) as stopped:
        queue.run(job, lambda _e: None)
    assert stopped.value.state == "cancelled"
    assert _sent(hub) == 0 and not partial.exists()
    assert queue.jobs()[0].state == "cancelled" and catalog.user_models() == []


def _two_quants_sharing_a_projector(hub: HubTestServer, tmp_path: Path):
    repo = "someone/Vision-GGUF"
    mmproj = tmp_path / "mm"
    mmproj.write_bytes(smollm2_gguf().read_bytes()[: 1 << 20])
    hub.add_file(repo, smollm2_gguf(), "Vision-Q4_1.gguf", sha256=SMOLLM2_SHA256)
    hub.add_file(repo, smollm2_gguf(), "Vision-Q8_0.gguf", sha256=SMOLLM2_SHA256)
    hub.add_file(repo, mmproj, "mmproj-Vision-f16.gguf")
    projector = HubFile("mmproj-Vision-f16.gguf", mmproj.stat().st_size, sha256_file(mmproj))
    quants = [
        Quant(q, (HubFile(f"Vision-{q}.gguf", SIZE, SMOLLM2_SHA256),)) for q in ("Q4_1", "Q8_0")
    ]
    return repo, quants, projector


def test_cancelling_one_quant_keeps_the_projector_another_model_uses(
    hub: HubTestServer, tmp_path: Path
) -> None:
    repo, (q4, q8), projector = _two_quants_sharing_a_projector(hub, tmp_path)
    queue = DownloadQueue()
    first = queue.run(queue.add(repo, q4, revision="main", projector=projector), lambda _e: None)
    second = queue.add(repo, q8, revision="main", projector=projector)
    queue.cancel(second)
    assert Path(first.projector_source).is_file()
    assert Path(first.path).is_file()


def test_removing_one_quant_keeps_the_projector_another_model_uses(
    hub: HubTestServer, tmp_path: Path
) -> None:
    repo, (q4, q8), projector = _two_quants_sharing_a_projector(hub, tmp_path)
    queue = DownloadQueue()
    first = queue.run(queue.add(repo, q4, revision="main", projector=projector), lambda _e: None)
    second = queue.run(queue.add(repo, q8, revision="main", projector=projector), lambda _e: None)
    assert first.projector_source == second.projector_source
    deleted = queue.remove(first.name)
    assert [p.name for p in deleted] == ["Vision-Q4_1.gguf"]
    assert Path(second.projector_source).is_file() and Path(second.path).is_file()
