"""GGUF file names read without opening the file: split models' parts and vision projectors.

A split GGUF is ``STEM-00001-of-00003.gguf`` … ``STEM-00003-of-00003.gguf`` (llama.cpp's
``gguf-split`` naming: five digits, parts counted from 1); llama.cpp loads it from its first
part. A vision projector's name holds ``mmproj`` (``mmproj-model-f16.gguf``,
``…-mmproj-Q8_0.gguf``, ``….mmproj-f16.gguf``): it is not a chat model but goes with one.
Shared by the hub (a repository's files, other apps' model folders) and the llama.cpp engine (the
parts of the model it loads). Names only: case is ignored in the ``.gguf`` ending.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

_SPLIT = re.compile(r"^(?P<stem>.+)-(?P<part>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)


def is_gguf(name: str) -> bool:
    """Whether the file name (or path) ends in ``.gguf``, in any case."""
    return name.lower().endswith(".gguf")


def is_projector(name: str) -> bool:
    """Whether a GGUF file name (or ``/``-separated path) is a vision projector: its last
    component holds ``mmproj`` anywhere, in any case."""
    return is_gguf(name) and "mmproj" in PurePosixPath(name).name.lower()


def split_part(name: str) -> tuple[str, int, int] | None:
    """``(stem, part, count)`` of a split GGUF's file name (``("m", 2, 3)`` for
    ``m-00002-of-00003.gguf``), else None. ``name`` is a file name, not a path."""
    match = _SPLIT.match(name)
    if match is None:
        return None
    return match["stem"], int(match["part"]), int(match["count"])


def part_names(name: str) -> list[str]:
    """Every part's file name, in part order, of the split GGUF ``name`` is a part of (with
    ``name``'s own ``.gguf`` ending); ``[]`` when ``name`` is not a split part."""
    split = split_part(name)
    if split is None:
        return []
    stem, _part, count = split
    ending = name[-len(".gguf") :]
    return [f"{stem}-{n:05d}-of-{count:05d}{ending}" for n in range(1, count + 1)]
