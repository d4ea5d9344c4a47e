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
    from ember.engines.gguf import GGUFInfo
    from ember.hardware import Hardware


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
