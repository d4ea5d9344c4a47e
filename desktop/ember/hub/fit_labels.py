"""Will a hub model fit this machine? "Fits / Tight / Won't fit" for each quant, before download.

Each quant's header is read remotely (:func:`ember.hub.search.remote_gguf_info`: a few range
requests, cached per commit) and given to the hardware fit (:func:`ember.engines.fit.fit`), the
same estimate a load uses. A split GGUF's first part carries the model's hyperparameters, each
part its own tensors: all are read and counted as one model. A header that cannot be read (a gated repository without a
token, a file that is not a GGUF) gives the label "unknown" with the reason, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ember.errors import EmberError
from ember.hub.search import remote_gguf_info
from ember.hub.types import Quant, RepoModels

if TYPE_CHECKING:
    from ember.catalog import ModelEntry
    from ember.engines.fit import Fit
    from ember.engines.gguf import GGUFInfo
    from ember.hardware import Hardware

# The quantizations whose tensors the CPU backend repacks into a second copy (a Q4_K_M file is
# mostly Q4_K): counted as repacked whole, so an estimate from the catalog errs on the safe side.
_REPACKED_QUANTS = ("Q4_0", "Q4_K", "IQ4_NL")


@dataclass(frozen=True, slots=True)
class QuantFit:
    """One quant's fit: ``label`` "fits", "tight", "wont_fit" or "unknown"; ``text`` what a
    person reads ("Fits", "Tight", "Won't fit", "Unknown"); ``n_ctx`` the context (tokens) the
    estimate is for; ``reason`` why (the estimate, or why it could not be made);
    ``n_ctx_train`` and ``architecture`` from the header (``None``/"" when unread)."""

    quantization: str
    label: str
    text: str
    n_ctx: int | None = None
    reason: str = ""
    n_ctx_train: int | None = None
    architecture: str = ""


def quant_header(repo: RepoModels, quant: Quant) -> GGUFInfo:
    """``quant``'s header read remotely at the repository's pinned commit. For a split GGUF, the
    first part's header (the hyperparameters) with every part's tensors and all parts' size,
    as one model (each part's header lists its own tensors; parts after the first are small).
    Raises :class:`HubError` or :class:`ModelLoadError`."""
    info = remote_gguf_info(repo.repo_id, quant.filename, repo.revision)
    if not quant.split:
        return info
    tensors = list(info.tensors)
    for part in quant.files[1:]:
        tensors += remote_gguf_info(repo.repo_id, part.filename, repo.revision).tensors
    return replace(info, size_bytes=quant.size_bytes, tensors=tuple(tensors))


def quant_fit(
    repo: RepoModels,
    quant: Quant,
    hardware: Hardware | None = None,
    n_ctx: int | None = None,
) -> QuantFit:
    """``quant``'s fit on ``hardware`` (detected when None) at ``n_ctx`` (the fit's own choice
    when None). Never raises for a header it cannot read: the label is then "unknown"."""
    from ember.engines.fit import fit

    try:
        info = quant_header(repo, quant)
    except EmberError as exc:
        return QuantFit(quant.quantization, "unknown", "Unknown", reason=str(exc))
    verdict = fit(info, hardware, n_ctx)
    return QuantFit(
        quant.quantization,
        verdict.label,
        verdict.text,
        verdict.n_ctx,
        verdict.reason,
        info.n_ctx_train,
        info.architecture,
    )


def quant_fits(
    repo: RepoModels, hardware: Hardware | None = None, n_ctx: int | None = None
) -> list[QuantFit]:
    """Every quant's fit, in ``repo.quants`` order, the hardware detected once."""
    if hardware is None:
        from ember.hardware import detect

        hardware = detect()
    return [quant_fit(repo, q, hardware, n_ctx) for q in repo.quants]


def catalog_header(entry: ModelEntry) -> GGUFInfo | None:
    """A header made from the catalog's own numbers for ``entry`` (no file, no network): the
    file's size as its weights and the shape the catalog states (``layers``, ``kv_heads`` …).
    None when the catalog does not give the shape."""
    from ember.engines.gguf import GGUFInfo, TensorInfo

    if not (entry.layers and entry.heads and entry.head_size and entry.size_bytes):
        return None
    quant = entry.quantization.upper()
    kind = next((q for q in _REPACKED_QUANTS if quant.startswith(q)), quant or "F16")
    weights = TensorInfo("weights", (entry.size_bytes,), kind, 0, entry.size_bytes)
    return GGUFInfo(
        path=entry.file,
        version=3,
        tensor_count=1,
        kv_count=0,
        architecture=entry.family,
        name=entry.display_name,
        file_type=entry.quantization,
        n_ctx_train=entry.n_ctx_train or None,
        chat_template=None,
        size_bytes=entry.size_bytes,
        alignment=32,
        data_offset=0,
        tensors=(weights,),
        block_count=entry.layers,
        embedding_length=entry.embedding_length or entry.heads * entry.head_size,
        head_count=entry.heads,
        head_count_kv=entry.kv_heads or entry.heads,
        key_length=entry.head_size,
        value_length=entry.head_size,
        vocab_size=entry.vocab_size,
    )


def catalog_fit(entry: ModelEntry, hardware: Hardware | None = None) -> Fit | None:
    """How the catalog model ``entry`` fits ``hardware``, from the catalog's numbers alone
    (:func:`catalog_header`, judged by :func:`ember.engines.fit.fit`); the reason starts with
    "About" (an estimate from the catalog, not the file). None when the catalog lacks the shape."""
    from ember.engines.fit import fit

    info = catalog_header(entry)
    if info is None:
        return None
    verdict = fit(info, hardware)
    return replace(verdict, reason=f"About {verdict.reason} (from the catalog's figures)")
