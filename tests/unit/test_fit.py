"""The memory estimate, fit labels, header-prefix reading and hardware detection, on the real
test models' headers and this machine's real /proc files."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ember.engines.fit import estimate_memory, fit, plan_load
from ember.engines.gguf import inspect_gguf, inspect_gguf_prefix
from ember.engines.llamacpp import open_planned
from ember.errors import ModelLoadError, ModelTooLarge
from ember.hardware import GPU, Hardware, detect, nvidia_gpus
from tests.support.real_models import gemma3_gguf, smollm2_gguf

ROOT = Path(__file__).resolve().parents[2]


def machine(available: int | None) -> Hardware:
    """This machine as detected, with the memory a test needs (a real cap is tested below)."""
    found = detect()
    return dataclasses.replace(found, ram_available_bytes=available, ram_total_bytes=available)


def test_header_keeps_the_hyperparameters_the_estimate_needs() -> None:
    smol = inspect_gguf(smollm2_gguf())
    assert (smol.block_count, smol.head_count, smol.head_count_kv) == (30, 9, 3)
    assert (smol.embedding_length, smol.vocab_size, smol.key_length) == (576, 49152, 0)
    gemma = inspect_gguf(gemma3_gguf())
    assert (gemma.block_count, gemma.head_count_kv, gemma.key_length) == (18, 1, 256)
    assert (gemma.sliding_window, gemma.vocab_size, gemma.split_count) == (512, 262144, 1)


def test_a_prefix_is_read_once_it_holds_the_header() -> None:
    path = gemma3_gguf()
    whole = inspect_gguf(path)
    data = path.read_bytes()[: 8 << 20]
    size = path.stat().st_size
    assert inspect_gguf_prefix(data[: 1 << 20], size, "hub/gemma.gguf") is None
    assert inspect_gguf_prefix(data[:3], size, "hub/gemma.gguf") is None
    read = inspect_gguf_prefix(data, size, "hub/gemma.gguf")
    assert read == dataclasses.replace(whole, path="hub/gemma.gguf")
    with pytest.raises(ModelLoadError, match="bad magic"):
        inspect_gguf_prefix(b"GGML" + data[4:64], size, "x")
    with pytest.raises(ModelLoadError, match="truncated"):  # the file itself is short
        inspect_gguf_prefix(data, len(data), "x")


def test_kv_cache_matches_what_llama_cpp_allocates() -> None:
    # llama.cpp's own log: "CPU KV buffer size = 180.00 MiB" (SmolLM2, 8192) and 24 + 120 MiB
    # (Gemma 3 270M, 8192; its sliding-window layers keep the full window).
    assert estimate_memory(inspect_gguf(smollm2_gguf()), 8192).kv_cache_bytes == 180 << 20
    assert estimate_memory(inspect_gguf(gemma3_gguf()), 8192).kv_cache_bytes == 144 << 20


def test_labels_follow_the_memory_available() -> None:
    info = inspect_gguf(smollm2_gguf())
    need = estimate_memory(info, 2048).total_bytes
    assert fit(info, machine(need * 2), 2048).text == "Fits"
    assert fit(info, machine(int(need * 1.1)), 2048).text == "Tight"
    assert fit(info, machine(need // 2), 2048).text == "Won't fit"
    unknown = fit(info, machine(None), 2048)
    assert unknown.label == "tight" and "unknown" in unknown.reason


def test_the_default_context_is_the_largest_that_fits_never_the_trained_maximum() -> None:
    info = inspect_gguf(gemma3_gguf())  # trained on 32768 tokens
    assert fit(info, machine(64 << 30)).n_ctx == 8192
    room = int(estimate_memory(info, 2048).total_bytes / 0.8) + 1
    assert fit(info, machine(room)).n_ctx == 2048


def test_plan_lowers_a_context_that_does_not_fit_and_refuses_a_model_that_never_does() -> None:
    info = inspect_gguf(smollm2_gguf())
    room = int(estimate_memory(info, 2048).total_bytes / 0.8) + 1
    plan = plan_load(info, machine(room), 8192, None)
    assert plan.n_ctx == 2048 and "lowered from 8192 to 2048" in plan.notes[0]
    assert plan_load(info, machine(64 << 30), 512, None).n_ctx == 512  # a small ask is kept
    with pytest.raises(ModelTooLarge, match="does not fit"):
        plan_load(info, machine(50 << 20), 8192, None)


def test_no_nvml_library_means_no_nvidia_gpu_said_plainly(tmp_path: Path) -> None:
    gpus, note = nvidia_gpus(str(tmp_path / "libnvidia-ml.so.1"))
    assert gpus == [] and note.startswith("no NVIDIA GPU found")
    found = detect(str(tmp_path / "libnvidia-ml.so.1"))
    assert found.gpus == () and found.gpu_status in ("none", "unknown")
    assert found.gpu_free_bytes == 0
    assert json.loads(json.dumps(found.as_dict()))["gpu_note"] == found.gpu_note


def test_detect_reads_this_machines_memory_and_cpu() -> None:
    found = detect()
    meminfo = Path("/proc/meminfo").read_text().split()
    total = int(meminfo[meminfo.index("MemTotal:") + 1]) * 1024
    assert found.ram_total_bytes is not None and found.ram_total_bytes <= total
    assert 0 < (found.ram_available_bytes or 0) <= found.ram_total_bytes
    flags = Path("/proc/cpuinfo").read_text()
    assert ("avx2" in found.cpu_features) == (" avx2" in flags)


def with_gpu(available: int, gpu_free: int) -> Hardware:
    """This machine with ``available`` bytes of RAM and an NVIDIA GPU with ``gpu_free`` free."""
    gpu = GPU("nvidia", "Test GPU", gpu_free, gpu_free)
    return dataclasses.replace(machine(available), gpus=(gpu,), gpu_offload=True)


def test_a_gpu_failure_falls_back_to_the_cpu_with_a_note() -> None:
    info = inspect_gguf(smollm2_gguf())
    opened: list[tuple[int, int]] = []

    def open_llama(layers: int, n_ctx: int) -> str:
        opened.append((layers, n_ctx))
        if layers:
            raise RuntimeError("cudaMalloc failed: out of memory")
        return "cpu model"

    llama, notes = open_planned(open_llama, info, with_gpu(64 << 30, 64 << 30), 4096, None)
    assert llama == "cpu model" and opened == [(-1, 4096), (0, 4096)]
    assert "runs on the CPU" in notes[-1] and "out of memory" in notes[-1]

    def bad_file(layers: int, n_ctx: int) -> str:
        raise RuntimeError("bad file")

    with pytest.raises(RuntimeError):
        open_planned(bad_file, info, machine(64 << 30), 4096, 0)


def test_a_cpu_fallback_is_planned_for_the_cpu_before_it_allocates() -> None:
    """With every layer on the GPU the host holds little, so the plan fits a small RAM; when
    the GPU then fails, the CPU must hold the whole model: planned again (never opened blind)."""
    info = inspect_gguf(smollm2_gguf())
    on_gpu = estimate_memory(info, 1024, -1).total_bytes
    on_cpu = estimate_memory(info, 1024, 0).total_bytes
    assert on_gpu < on_cpu
    room = (on_gpu + on_cpu) // 2  # fits with the GPU, not without it
    opened: list[int] = []

    def open_llama(layers: int, n_ctx: int) -> str:
        opened.append(layers)
        if layers:
            raise RuntimeError("CUDA driver error")
        return "cpu model"

    with pytest.raises(ModelTooLarge, match=r"GPU could not take the model.*does not fit"):
        open_planned(open_llama, info, with_gpu(room, 64 << 30), 1024, None)
    assert opened == [-1]


# Runs in a child under a real RLIMIT_AS: what the label says, then what loading does.
CAPPED = textwrap.dedent(
    """
    import json, resource, sys
    import llama_cpp
    from ember.engines import EngineSpec, create_engine, complete, ChatMessage
    from ember.engines.fit import fit
    from ember.engines.gguf import inspect_gguf
    from ember.errors import ModelTooLarge
    from ember.hardware import AS_SLACK, _address_space, detect

    path, room, n_ctx = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    limit = _address_space() + AS_SLACK + room
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    info = inspect_gguf(path)
    hardware = detect()
    out = {"limit": hardware.ram_limit, "label": fit(info, hardware, n_ctx).label,
           "auto": fit(info, hardware).label}
    try:
        engine = create_engine(EngineSpec("llama.cpp", path, n_ctx=n_ctx, n_threads=2))
    except ModelTooLarge as exc:
        out["refused"] = str(exc)
    else:
        out["n_ctx"] = engine.n_ctx
        out["notes"] = list(engine.load_notes)
        reply = complete(engine, [ChatMessage("user", "Say hi.")], None)
        out["answered"] = bool(reply.text)
    print(json.dumps(out))
    """
)


def capped(room_mb: int, n_ctx: int) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CAPPED, str(smollm2_gguf()), str(room_mb << 20), str(n_ctx)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'desktop'}:{ROOT}"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_under_a_memory_cap_a_model_that_wont_fit_is_refused_before_llama_cpp_allocates() -> None:
    got = capped(150, 8192)
    assert got["limit"] == "rlimit_as"
    assert got["label"] == "wont_fit" and got["auto"] == "wont_fit"
    assert "does not fit in this machine's memory" in str(got["refused"])


def test_under_a_memory_cap_a_context_that_fits_is_chosen_and_loads() -> None:
    got = capped(450, 8192)
    assert got["label"] == "wont_fit" and got["auto"] == "fits"  # 8192 tokens would not
    assert got["n_ctx"] == 4096 and "lowered from 8192 to 4096" in got["notes"][0]
    assert got["answered"] is True


def test_doctor_json_reports_ram_cpu_features_gpu_and_backend(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ember", "doctor", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'desktop'}:{ROOT}"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    hardware = report["hardware"]
    assert hardware["ram_total_bytes"] > 0 and hardware["ram_available_bytes"] > 0
    assert "total" in hardware["ram"] and isinstance(hardware["cpu_features"], list)
    assert hardware["gpu_status"] in ("nvidia", "apple", "none", "unknown") and hardware["gpu"]
    assert report["llama_cpp"]["backend"] in ("CPU", "CUDA", "Metal", "Vulkan", "HIP", "ROCm")


def test_the_catalogs_figures_give_the_real_headers_kv_cache_and_an_about_label() -> None:
    from ember import catalog
    from ember.hub.fit_labels import catalog_fit, catalog_header

    entry = next(e for e in catalog.builtin_models() if e.embedded)
    real = estimate_memory(inspect_gguf(smollm2_gguf()), 4096)
    from_catalog = estimate_memory(catalog_header(entry), 4096)  # type: ignore[arg-type]
    assert from_catalog.kv_cache_bytes == real.kv_cache_bytes
    assert abs(from_catalog.total_bytes - real.total_bytes) <= real.total_bytes * 0.02
    # Every recommended model has its shape in the catalog, so each gets a label offline.
    for model in catalog.builtin_models():
        judged = catalog_fit(model, machine(16 << 30))
        assert judged is not None and judged.reason.startswith("About "), model.name
    assert catalog_fit(dataclasses.replace(entry, layers=0), machine(16 << 30)) is None


def test_apple_unified_memory_offloads_every_layer_and_counts_it_against_the_ram() -> None:
    """On Apple silicon the GPU shares the RAM: "auto" offloads every layer (Metal), and what
    the GPU holds is judged against the same RAM, not against a separate GPU budget."""
    from ember.hardware import GPU

    info = inspect_gguf(gemma3_gguf())
    apple = GPU("apple", "Apple M2", None, None, unified=True)
    roomy = dataclasses.replace(machine(16 << 30), gpus=(apple,), gpu_offload=True)
    judged = fit(info, roomy, 2048)
    assert judged.n_gpu_layers == -1 and judged.label == "fits"
    whole = judged.estimate.total_bytes + judged.estimate.gpu_bytes
    tight_ram = dataclasses.replace(roomy, ram_available_bytes=whole - 1)
    assert fit(info, tight_ram, 2048).label == "wont_fit"  # the GPU's share is RAM too
