"""What the model hub and the download queue hand to the CLI and the window: small frozen records.

The core (``ember.hub``) fills them; ``ember models`` prints them and the Models page draws them,
so both show the same thing. Sizes are bytes, speeds bytes per second, times seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# A download's life: queued → downloading ⇄ stalled (retrying) → verifying → done; paused and
# resumed at any point before verifying; failed or cancelled end it (cancelled removes the partial
# file; failed keeps it only when a later retry can resume from it).
DownloadState = Literal[
    "queued", "downloading", "stalled", "paused", "verifying", "done", "failed", "cancelled"
]
DOWNLOAD_STATES: tuple[str, ...] = (
    "queued",
    "downloading",
    "stalled",
    "paused",
    "verifying",
    "done",
    "failed",
    "cancelled",
)
FINISHED_STATES: frozenset[str] = frozenset({"done", "failed", "cancelled"})


@dataclass(frozen=True, slots=True)
class HubFile:
    """One file of a hub repository: its path in the repository, size, and LFS sha256 ("" when
    the hub gives none)."""

    filename: str
    size_bytes: int
    sha256: str = ""


@dataclass(frozen=True, slots=True)
class Quant:
    """One downloadable model of a repository: a quantization (``"Q4_K_M"``; ``""`` when the
    file name does not say), in one file or the ordered parts of a split GGUF
    (``-00001-of-00003.gguf`` …), which download and register as one model."""

    quantization: str
    files: tuple[HubFile, ...]

    @property
    def size_bytes(self) -> int:
        """All parts together."""
        return sum(f.size_bytes for f in self.files)

    @property
    def filename(self) -> str:
        """The first (or only) file: what llama.cpp is given; it finds the other parts."""
        return self.files[0].filename

    @property
    def split(self) -> bool:
        return len(self.files) > 1


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One repository a hub search found. ``recommended`` marks a repository Ember's catalog
    lists (shown first), ``title`` the catalog's name for it ("" for other hits). ``downloads``
    and ``likes`` are None when the hub did not say (a recommended repository it did not list)."""

    repo_id: str
    downloads: int | None = None
    likes: int | None = None
    gated: bool = False
    last_modified: str = ""  # ISO 8601, "" when unknown
    recommended: bool = False
    title: str = ""


@dataclass(frozen=True, slots=True)
class RepoModels:
    """A repository's GGUF models, grouped by quantization (smallest first), with what the hub
    knows about them. ``revision`` is the commit the listing was read at (downloads pin it);
    ``n_ctx_train`` and ``architecture`` come from the GGUF header (read by range request) and
    are ``None``/``""`` until known. ``projectors`` are vision projectors (``mmproj-*.gguf``)
    offered with the model. ``default_quant`` is the quantization pre-selected for a person."""

    repo_id: str
    revision: str
    license: str
    gated: bool
    quants: tuple[Quant, ...]
    projectors: tuple[HubFile, ...] = ()
    default_quant: str = ""
    downloads: int = 0
    likes: int = 0
    n_ctx_train: int | None = None
    architecture: str = ""

    def quant(self, quantization: str) -> Quant | None:
        """The quant called ``quantization`` (case-insensitive), or None."""
        for q in self.quants:
            if q.quantization.upper() == quantization.upper():
                return q
        return None


@dataclass(frozen=True, slots=True)
class DownloadEvent:
    """Where one download stands. The CLI's progress bar and the Models page both draw from
    these, sent by :mod:`ember.hub.downloads` at least once a second while a job runs (so speed
    and ETA never freeze: a stall shows ``speed_bps`` 0 and ``state`` "stalled").

    ``job_id`` identifies the job across restarts; ``name`` is what a person reads
    ("Qwen/Qwen2.5-1.5B-Instruct-GGUF · Q4_K_M"). ``bytes_done`` counts bytes on disk (a resumed
    job starts from those). ``retry_in_s`` is set while waiting to retry ("stalled — retrying in
    N s"). ``message`` explains a failure, a stall or a note for the person. ``model_name`` is the
    catalog name once the model is verified and registered (state "done").
    """

    job_id: str
    name: str
    state: DownloadState
    bytes_done: int
    bytes_total: int
    speed_bps: float = 0.0
    eta_s: float | None = None
    retry_in_s: float | None = None
    message: str = ""
    model_name: str = ""

    @property
    def fraction(self) -> float | None:
        """Share done (0..1), None when the size is unknown."""
        return self.bytes_done / self.bytes_total if self.bytes_total else None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES
