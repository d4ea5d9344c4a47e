"""MiniLM on ONNX Runtime: tokenizers + onnxruntime only (no torch, no sentence-transformers).

:class:`OnnxMiniLM` embeds with the graph :mod:`ember.knowledge.onnx_export` writes (pooling and
normalisation inside). Texts are tokenized (truncated at :data:`MAX_TOKENS`, [CLS]/[SEP]
included, as sentence-transformers does), sorted by token length, and cut into batches of at most
:data:`BATCH_TOKENS` padded tokens: a batch pads only to its own longest text, so short chunks do
not pay for long ones. Results come back in the callers' order.

Threads: one intra-op pool, one inter-op thread, and no spin-waiting (ONNX Runtime's workers
otherwise busy-wait between ops and steal the cores that the parser process, or another
program, needs). The pool's size is :func:`choose_threads`: the CPUs this process may run on
(within its cgroup's CPU quota) less those other work keeps busy (the load average less this process's own CPU use), at least
one — re-decided every :data:`RETUNE_S` seconds of embedding, rebuilding the session (~0.4 s)
when the answer changes. Measured on the two-core machine at load average 9-10 (other programs
embedding and parsing): one thread embeds 32-35 chunks/s, two threads 24-30 (every op waits for
its slowest thread, and one of them is always descheduled); idle, two threads are faster.
Spin-waiting was measured again at load 4: no gain with one thread (11.0 vs 11.0 ms of CPU per
chunk), and with two it doubled the CPU per chunk (21 vs 12 ms).
``EMBER_EMBED_THREADS`` fixes the count.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ember.errors import ModelLoadError

if TYPE_CHECKING:
    import numpy as np

MAX_TOKENS = 256  # the model's max_seq_length, special tokens included
# Padded tokens per forward pass. Small batches keep each MatMul's activations in the core's L2
# cache: single-threaded on this machine (2 MiB L2 per core, AVX-512), 600 real chunks of ~80
# tokens cost 11.0-11.4 ms of CPU each at 384-768 tokens per batch, 13.7 at 128, 13.7-14.5 at
# 2048, 16.1 at 4096 and 17.0 at 8192 (interleaved runs, same vectors).
BATCH_TOKENS = 512
MAX_BATCH = 128  # texts per forward pass


RETUNE_S = 30.0


class UnreadableExport(ModelLoadError):
    """ONNX Runtime could not load the exported graph (a truncated or corrupt file)."""


def choose_threads(cores: int, load: float, own_busy: float) -> int:
    """Intra-op threads for ``cores`` CPUs when the 1-minute load average is ``load``, of which
    ``own_busy`` cores' worth is this process itself: the cores the others leave free, 1..cores.
    """
    others = max(0.0, load - own_busy)
    return max(1, min(cores, cores - int(others)))


def available_cores() -> int:
    """CPUs this process may run on (its affinity mask, capped by a cgroup CPU quota), at least
    1."""
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        cores = max(1, os.cpu_count() or 1)
    quota = cgroup_cpus()
    return min(cores, quota) if quota else cores


CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def cgroup_cpus(path: Path = CGROUP_CPU_MAX) -> int | None:
    """The CPUs a cgroup v2 quota allows (``"<quota> <period>"`` in ``path``: quota / period
    rounded up, at least 1); None without a quota (``"max ..."``), a file or a readable one."""
    try:
        quota, period = path.read_text(encoding="ascii").split()[:2]
        if quota == "max":
            return None
        return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError, ZeroDivisionError):
        return None


def batches(lengths: Sequence[int], budget: int = BATCH_TOKENS) -> list[list[int]]:
    """Indexes of ``lengths`` grouped shortest first into batches whose padded size (count x
    longest) stays within ``budget`` tokens and :data:`MAX_BATCH` texts (one text always fits)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    groups: list[list[int]] = []
    current: list[int] = []
    for index in order:
        longest = lengths[index]  # sorted: the newcomer is the longest
        if current and ((len(current) + 1) * longest > budget or len(current) >= MAX_BATCH):
            groups.append(current)
            current = []
        current.append(index)
    if current:
        groups.append(current)
    return groups


class OnnxMiniLM:
    """One ONNX Runtime session over an exported MiniLM; ``embed`` is safe from one thread at a
    time (the caller serialises)."""

    def __init__(self, model_path: Path, tokenizer_path: Path, *, threads: int | None = None):
        try:
            import onnxruntime  # noqa: F401  (here to fail early; sessions are made below)
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ModelLoadError(f"onnxruntime is not installed ({exc})") from None
        self.model_path = model_path
        setting = os.environ.get("EMBER_EMBED_THREADS", "")
        fixed = threads or (int(setting) if setting.isdigit() else 0)
        self._fixed = fixed > 0
        self.threads = fixed if self._fixed else self._wanted_threads()
        self._checked = (time.monotonic(), time.process_time())
        self.session = self._session(self.threads)
        try:
            tokenizer = Tokenizer.from_file(os.fspath(tokenizer_path))
        except Exception as exc:  # the Rust library raises plain Exception
            raise ModelLoadError(
                f"the embedding model's tokenizer could not be read ({exc})"
            ) from None
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.no_padding()
        self.tokenizer: Any = tokenizer
        self._inputs = {i.name for i in self.session.get_inputs()}
        self.dimension = int(self.session.get_outputs()[0].shape[-1])

    @staticmethod
    def _wanted_threads(own_busy: float = 0.0) -> int:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):  # Windows has no load average
            load = 0.0
        return choose_threads(available_cores(), load, own_busy)

    def _session(self, threads: int) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # errors only: no warnings on stderr
        try:
            return ort.InferenceSession(
                os.fspath(self.model_path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own plain types
            raise UnreadableExport(
                f"the ONNX embedding model could not be loaded ({exc})"
            ) from None

    def retune(self) -> None:
        """Re-decide the thread count (at most every :data:`RETUNE_S` s); a new session if it
        changed."""
        now, cpu = time.monotonic(), time.process_time()
        since, cpu_since = self._checked
        if self._fixed or now - since < RETUNE_S:
            return
        self._checked = (now, cpu)
        wanted = self._wanted_threads(own_busy=(cpu - cpu_since) / (now - since))
        if wanted != self.threads:
            self.session, self.threads = self._session(wanted), wanted

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), 384)`` float32, each row L2-normalised, in the order given."""
        import numpy as np

        if len(texts) > 1:
            self.retune()
        encodings = self.tokenizer.encode_batch(list(texts))
        lengths = [len(e.ids) for e in encodings]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for group in batches(lengths):
            width = lengths[group[-1]]
            ids = np.zeros((len(group), width), dtype=np.int64)
            mask = np.zeros((len(group), width), dtype=np.int64)
            for row, index in enumerate(group):
                tokens = encodings[index].ids
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            out[group] = self.session.run(["embedding"], feed)[0]
        return out
