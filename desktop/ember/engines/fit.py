"""Will a GGUF fit this machine? The memory a llama.cpp load needs, from the header alone.

:func:`estimate_memory` adds up, in bytes (all for llama.cpp as built by llama-cpp-python 0.3.x,
one sequence, f16 KV cache, ``n_ubatch`` 512, no flash attention):

- **weights**: the tensors' bytes as the header lists them (memory-mapped, all read by the first
  answer), plus a second copy of the Q4_0/Q4_K/IQ4_NL tensors, which the CPU backend repacks
  into its own buffer (measured: Gemma 3 270M's 12.66 MiB of Q4_K = its "CPU_REPACK" buffer).
- **kv_cache**: layers × context × KV heads × (key + value head size) × 2 bytes (f16). llama.cpp
  keeps the full window in sliding-window layers too (``swa_full``, llama-cpp-python's default),
  so the sliding window does not shrink it. Matches llama.cpp's own "KV buffer size" exactly for
  both test models.
- **compute**: the scratch llama.cpp reserves for one 512-token micro-batch: the larger of the
  batch's logits (vocabulary × 512 × 4 bytes) and its attention scores (context × 512 × heads ×
  4 bytes, × 1.16), plus 12 bytes a token of the embedding width. Checked against llama.cpp's
  "CPU compute buffer size" line at 512…8192 tokens for both models (within 3%, never under).
- **overhead**: the vocabulary and sampler tables and the runtime (21 MiB + 165 bytes a token).

``total_bytes`` (everything reserved, or ``rss_bytes`` where that is larger) decides the label, conservatively: Linux hands out pages
lazily, but address-space limits and strict overcommit count all of it. ``rss_bytes`` is the
resident set a full context really touches: weights + KV + overhead + the attention scratch of
the last micro-batch, context × 512 × 4 bytes × (1.07 × heads + 3.17). The two coefficients and
the overhead were fitted on peak-RSS measurements of SmolLM2 135M (9 heads, 49k vocabulary) and
Gemma 3 270M (4 heads, 262k vocabulary) at 512…8192 tokens with a prompt filling 90% of the
context (``benchmarks/model_fit.py`` measures this; 2 cores, AVX-512 x86-64); on other CPUs
and larger models they are an extrapolation, which is why the label uses ``total_bytes``.
Points they were not fitted on (3072…12288 tokens, SmolLM2 re-encoded as Q8_0) come within 1.1%.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ember.errors import ModelTooLarge
from ember.units import size_text

if TYPE_CHECKING:
    from ember.engines.gguf import GGUFInfo
    from ember.hardware import Hardware

MiB = 1 << 20
N_UBATCH = 512  # llama.cpp's default micro-batch (llama-cpp-python does not change it)
KV_BYTES = 2  # f16 cache
REPACKED_TYPES = frozenset({"Q4_0", "Q4_K", "IQ4_NL"})
OVERHEAD_BYTES = 21 * MiB
OVERHEAD_PER_TOKEN = 165  # bytes per vocabulary entry
FITS_SHARE = 0.8  # up to this share of the available memory: "fits"; up to all of it: "tight"
MIN_N_CTX = 1024  # the smallest context Ember loads a model with
DEFAULT_N_CTX = 8192  # the largest context picked on its own; never the model's 128k maximum
CONTEXT_STEPS = (8192, 4096, 2048, 1024)

Label = Literal["fits", "tight", "wont_fit"]
LABEL_TEXT: dict[str, str] = {"fits": "Fits", "tight": "Tight", "wont_fit": "Won't fit"}


@dataclass(frozen=True, slots=True)
class MemoryEstimate:
    """Bytes a load of one model at ``n_ctx`` tokens needs. ``total_bytes``: host memory reserved
    (weights + KV + compute + overhead, less what goes to the GPU); ``gpu_bytes``: on the GPU;
    ``rss_bytes``: the host resident set a filled context really touches."""

    n_ctx: int
    n_gpu_layers: int
    weights_bytes: int
    kv_cache_bytes: int
    compute_bytes: int
    overhead_bytes: int
    total_bytes: int
    gpu_bytes: int
    rss_bytes: int


@dataclass(frozen=True, slots=True)
class Fit:
    """How a model fits: ``label`` in fits/tight/wont_fit (``text`` for people), the context and
    GPU layers chosen, the estimate behind it and, in words, why."""

    label: Label
    n_ctx: int
    n_gpu_layers: int
    estimate: MemoryEstimate
    reason: str
    available_bytes: int | None = None

    @property
    def text(self) -> str:
        return LABEL_TEXT[self.label]


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """What :func:`plan_load` settled: the context and GPU layers to load with, and notes a
    person should see (a context lowered to fit, for one)."""

    n_ctx: int
    n_gpu_layers: int
    fit: Fit
    notes: tuple[str, ...] = field(default=())


def _layer_shape(info: GGUFInfo) -> tuple[int, int, int]:
    """(layers, KV heads, key + value size per head), with the format's defaults filled in."""
    heads = info.head_count or 1
    kv_heads = info.head_count_kv or heads
    head_size = (info.embedding_length // heads) if info.embedding_length else 128
    key = info.key_length or head_size
    value = info.value_length or head_size
    return max(info.block_count, 1), kv_heads, key + value


def estimate_memory(
    info: GGUFInfo, n_ctx: int, n_gpu_layers: int = 0, *, weights_bytes: int | None = None
) -> MemoryEstimate:
    """Bytes needed to load ``info`` with ``n_ctx`` tokens and ``n_gpu_layers`` layers on a GPU
    (-1 = all). ``weights_bytes``: the whole model's tensor bytes where ``info`` is one part of a
    split GGUF (default: the header's own tensors)."""
    layers, kv_heads, kv_width = _layer_shape(info)
    weights = info.weights_bytes if weights_bytes is None else weights_bytes
    if not weights:
        weights = info.size_bytes
    repacked = sum(t.size_bytes for t in info.tensors if t.ggml_type in REPACKED_TYPES)
    if weights_bytes is not None and info.weights_bytes:
        repacked = repacked * weights // info.weights_bytes
    kv = layers * n_ctx * kv_heads * kv_width * KV_BYTES
    heads = info.head_count or kv_heads
    vocab = info.vocab_size or 32000
    logits = vocab * N_UBATCH * 4
    scores = int(n_ctx * N_UBATCH * heads * 4 * 1.16)
    compute = max(logits, scores) + N_UBATCH * info.embedding_length * 12
    overhead = OVERHEAD_BYTES + OVERHEAD_PER_TOKEN * vocab
    touched = int(n_ctx * N_UBATCH * 4 * (1.07 * heads + 3.17))

    offloaded = layers if n_gpu_layers < 0 else min(n_gpu_layers, layers)
    share = offloaded / layers
    gpu = int(share * (weights + kv)) + (compute if offloaded else 0)
    host_weights = int((1 - share) * (weights + repacked))
    host_kv = int((1 - share) * kv)
    total = host_weights + host_kv + compute + overhead
    rss = host_weights + host_kv + overhead + (touched if not offloaded else 0)
    # A long context touches more than the compute buffer alone (SmolLM2 at 8192 tokens: 530 MB
    # resident vs 494 MB reserved), so the label's figure is whichever is larger.
    total = max(total, rss)
    return MemoryEstimate(
        n_ctx=n_ctx,
        n_gpu_layers=offloaded,
        weights_bytes=weights + repacked,
        kv_cache_bytes=kv,
        compute_bytes=compute,
        overhead_bytes=overhead,
        total_bytes=total,
        gpu_bytes=gpu,
        rss_bytes=rss,
    )


def _gpu_layers(info: GGUFInfo, hardware: Hardware, n_ctx: int) -> int:
    """As many layers as the GPU's free memory holds (with 10% spare), 0 without a usable GPU;
    -1 when all of them do."""
    if hardware.gpu_offload and any(g.unified for g in hardware.gpus):
        return -1  # Apple silicon: the GPU shares the RAM, judged as a whole in _judge
    free = hardware.gpu_free_bytes if hardware.gpu_offload else 0
    if not free:
        return 0
    layers = max(info.block_count, 1)
    whole = estimate_memory(info, n_ctx, -1)
    if whole.gpu_bytes <= free * 0.9:
        return -1
    per_layer = (whole.gpu_bytes - whole.compute_bytes) / layers
    room = free * 0.9 - whole.compute_bytes
    return max(0, min(layers, int(room // per_layer))) if per_layer > 0 else 0


def _judge(info: GGUFInfo, hardware: Hardware, n_ctx: int, n_gpu_layers: int | None) -> Fit:
    gpu_layers = _gpu_layers(info, hardware, n_ctx) if n_gpu_layers is None else n_gpu_layers
    estimate = estimate_memory(info, n_ctx, gpu_layers)
    available = hardware.ram_available_bytes
    unified = any(g.unified for g in hardware.gpus)  # GPU memory is the same RAM
    need = estimate.total_bytes + (estimate.gpu_bytes if unified else 0)
    where = f"{size_text(need)} needed at {n_ctx} tokens"
    if estimate.n_gpu_layers:
        where += f" ({estimate.n_gpu_layers} layers, {size_text(estimate.gpu_bytes)} on the GPU)"
    if available is None:
        return Fit("tight", n_ctx, gpu_layers, estimate, f"{where}; free memory unknown", None)
    if need <= available * FITS_SHARE:
        label: Label = "fits"
    elif need <= available:
        label = "tight"
    else:
        label = "wont_fit"
    reason = f"{where}, {size_text(available)} available"
    return Fit(label, n_ctx, gpu_layers, estimate, reason, available)


def fit(
    info: GGUFInfo,
    hardware: Hardware | None = None,
    n_ctx: int | None = None,
    n_gpu_layers: int | None = None,
) -> Fit:
    """How ``info`` fits ``hardware`` (default: this machine, :func:`ember.hardware.detect`).

    ``n_ctx`` None: the largest of 8192/4096/2048/1024 tokens (at most what the model was trained
    on) that fits, else the largest that is tight, else the smallest (then "wont_fit"). A given
    ``n_ctx`` is capped at the model's trained context and judged as it is. ``n_gpu_layers``
    None: as many as the GPU's free memory holds.
    """
    if hardware is None:
        from ember.hardware import detect

        hardware = detect()
    trained = info.n_ctx_train or DEFAULT_N_CTX
    if n_ctx is not None:
        return _judge(info, hardware, max(1, min(n_ctx, trained)), n_gpu_layers)
    steps = sorted({min(step, trained) for step in CONTEXT_STEPS}, reverse=True)
    judged = [_judge(info, hardware, step, n_gpu_layers) for step in steps]
    for wanted in ("fits", "tight"):
        for candidate in judged:
            if candidate.label == wanted:
                return candidate
    return judged[-1]


def plan_load(
    info: GGUFInfo, hardware: Hardware | None, n_ctx: int, n_gpu_layers: int | None
) -> LoadPlan:
    """The context and GPU layers to load ``info`` with, decided before llama.cpp allocates.

    ``n_ctx`` is the context asked for (<= 0: pick one); it is lowered, with a note, to the
    largest that fits, but not below 1024 tokens. ``n_gpu_layers`` None = "auto" (from the GPU's
    free memory). Raises :class:`ModelTooLarge` when even that does not fit in the memory
    available.
    """
    if hardware is None:
        from ember.hardware import detect

        hardware = detect()
    trained = info.n_ctx_train or DEFAULT_N_CTX
    asked = min(n_ctx, trained) if n_ctx > 0 else min(DEFAULT_N_CTX, trained)
    judged = fit(info, hardware, asked, n_gpu_layers)
    notes: list[str] = []
    if judged.label == "wont_fit":
        floor = min(MIN_N_CTX, asked)
        smaller = sorted({s for s in (*CONTEXT_STEPS, floor) if floor <= s < asked}, reverse=True)
        candidates = [fit(info, hardware, step, n_gpu_layers) for step in smaller]
        # The largest that fits with room to spare, else the largest that fits at all.
        candidates.sort(key=lambda c: (c.label != "fits", -c.n_ctx))
        for candidate in candidates:
            step = candidate.n_ctx
            if candidate.label != "wont_fit":
                notes.append(
                    f"Context lowered from {asked} to {step} tokens so the model fits in the "
                    f"memory available ({candidate.reason})."
                )
                judged = candidate
                break
    if judged.label == "wont_fit":
        name = info.name or info.path
        raise ModelTooLarge(
            f"{name} does not fit in this machine's memory: {judged.reason}. Pick a smaller "
            "model or quantization, or close other programs and try again."
        )
    return LoadPlan(judged.n_ctx, judged.n_gpu_layers, judged, tuple(notes))
