"""MiniLM on ONNX Runtime: tokenizers + onnxruntime only (no torch, no sentence-transformers).

:class:`OnnxMiniLM` embeds with the graph :mod:`ember.knowledge.onnx_export` writes (pooling and
normalisation inside). Texts are tokenized (truncated at :data:`MAX_TOKENS`, [CLS]/[SEP]
included, as sentence-transformers does), sorted by token length, and cut into batches of at most
:data:`BATCH_TOKENS` padded tokens: a batch pads only to its own longest text, so short chunks do
not pay for long ones. Results come back in the callers' order.

Threads: one intra-op pool of :func:`available_cores` threads (the CPUs this process may run on,
not the machine's count), one inter-op thread, and no spin-waiting: ONNX Runtime's workers
otherwise busy-wait between ops and steal the cores that the parser process (or another
program) needs while both run. Measured on the two-core machine under load: see
``benchmarks/ingest.py``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ember.errors import ModelLoadError

if TYPE_CHECKING:
    import numpy as np

MAX_TOKENS = 256  # the model's max_seq_length, special tokens included
BATCH_TOKENS = 4096  # padded tokens per forward pass
MAX_BATCH = 128  # texts per forward pass


def available_cores() -> int:
    """CPUs this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


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
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ModelLoadError(f"onnxruntime is not installed ({exc})") from None
        self.threads = threads or available_cores()
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # errors only: no warnings on stderr
        try:
            self.session = ort.InferenceSession(
                os.fspath(model_path), options, providers=["CPUExecutionProvider"]
            )
            tokenizer = Tokenizer.from_file(os.fspath(tokenizer_path))
        except Exception as exc:  # onnxruntime and tokenizers raise their own plain types
            raise ModelLoadError(f"the ONNX embedding model could not be loaded ({exc})") from None
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.no_padding()
        self.tokenizer: Any = tokenizer
        self._inputs = {i.name for i in self.session.get_inputs()}
        self.dimension = int(self.session.get_outputs()[0].shape[-1])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), 384)`` float32, each row L2-normalised, in the order given."""
        import numpy as np

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
