"""A repository's GGUF file names read as models: quantizations, split parts, vision projectors.

Pure functions over file names and sizes (no network), so the hub listing, the CLI and the tests
agree on what a file name means:

- :func:`quantization_of` — ``"qwen2.5-1.5b-instruct-q4_k_m.gguf"`` → ``"Q4_K_M"``;
- :func:`group_files` — the GGUF files of a repository as :class:`Quant` s (split GGUFs
  ``-00001-of-00003.gguf`` joined, parts in order; incomplete sets left out) and the vision
  projectors (``mmproj*.gguf``) apart;
- :func:`default_quantization` — the one to pre-select for a person: Q4_K_M, else the nearest
  sensible one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePosixPath

from ember.gguf_names import is_gguf, is_projector, split_part
from ember.hub.types import HubFile, Quant

# One quantization token, between separators: Q4_K_M, Q8_0, Q4_0_4_4, IQ4_XS, IQ2_XXS, TQ1_0,
# F16, BF16, F32, MXFP4; unsloth's dynamic quants keep their "UD-" prefix (UD-Q4_K_XL).
_QUANT = re.compile(
    r"(?<![A-Za-z0-9])"
    r"((?:UD-)?(?:I?Q[1-8](?:_(?:K|XXS|XS|XL|NL|[SML]|[0-9]))*|TQ[12]_0|BF16|FP?16|FP?32|MXFP4))"
    r"(?![A-Za-z0-9])",
    re.IGNORECASE,
)

# The quantizations a person is offered first, best first: Q4_K_M is the usual balance of size
# and quality; then the other 4-5-bit quants, then bigger ones, then smaller ones.
_PREFERRED = (
    "Q4_K_M",
    "Q4_K_S",
    "Q4_K_L",
    "Q4_K_XL",
    "IQ4_XS",
    "IQ4_NL",
    "Q4_0",
    "Q4_1",
    "MXFP4",
    "Q5_K_M",
    "Q5_K_S",
    "Q5_K_L",
    "Q5_0",
    "Q5_1",
    "Q6_K",
    "Q6_K_L",
    "Q3_K_L",
    "Q3_K_M",
    "Q3_K_XL",
    "IQ3_M",
    "Q8_0",
    "Q3_K_S",
    "IQ3_XS",
    "IQ3_XXS",
    "Q2_K_L",
    "Q2_K",
    "BF16",
    "F16",
    "F32",
)


def quantization_of(filename: str) -> str:
    """The quantization a GGUF file name states, upper-case (``"Q4_K_M"``, ``"UD-Q4_K_XL"``,
    ``"F16"`` for ``fp16``); the folder's name when the file's does not say; ``""`` when
    neither does. The last token wins (``…-Q8_0-Q4_K_M.gguf`` is Q4_K_M)."""
    path = PurePosixPath(filename)
    stem = path.name
    split = split_part(stem)
    stem = split[0] if split else stem.removesuffix(".gguf").removesuffix(".GGUF")
    for text in (stem, *(part for part in reversed(path.parts[:-1]))):
        found = _QUANT.findall(text)
        if found:
            token = found[-1].upper()
            return {"FP16": "F16", "FP32": "F32"}.get(token, token)
    return ""


def group_files(files: Iterable[HubFile]) -> tuple[tuple[Quant, ...], tuple[HubFile, ...]]:
    """``(quants, projectors)`` of a repository's files: GGUF models smallest first (split parts
    joined in part order; a set with parts missing is left out, as it cannot load), and the
    vision projectors by name. Files that are not GGUF are ignored."""
    singles: list[Quant] = []
    splits: dict[tuple[str, int], dict[int, HubFile]] = {}
    projectors: list[HubFile] = []
    for f in files:
        if not is_gguf(f.filename):
            continue
        if is_projector(f.filename):
            projectors.append(f)
            continue
        folder = str(PurePosixPath(f.filename).parent)
        split = split_part(PurePosixPath(f.filename).name)
        if split:
            stem, part, count = split
            splits.setdefault((f"{folder}/{stem}", count), {})[part] = f
        else:
            singles.append(Quant(quantization_of(f.filename), (f,)))
    for (_stem, count), parts in splits.items():
        if sorted(parts) == list(range(1, count + 1)):
            ordered = tuple(parts[n] for n in range(1, count + 1))
            singles.append(Quant(quantization_of(ordered[0].filename), ordered))
    quants = sorted(singles, key=lambda q: (q.size_bytes, q.filename))
    return tuple(quants), tuple(sorted(projectors, key=lambda f: f.filename))


def default_quantization(quants: Iterable[Quant]) -> str:
    """The quantization to pre-select: the first of Q4_K_M, Q4_K_S, … (see ``_PREFERRED``) the
    repository has (``UD-`` variants count as their base), else the smallest, else ``""``."""
    quants = list(quants)
    names = {q.quantization.upper(): q.quantization for q in quants}
    for name in _PREFERRED:
        for candidate in (name, f"UD-{name}"):
            if candidate in names:
                return names[candidate]
    return quants[0].quantization if quants else ""
