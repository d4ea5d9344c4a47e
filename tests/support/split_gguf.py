"""A real split GGUF made from SmolLM2, laid out exactly as llama.cpp's ``gguf-split`` writes one.

:func:`split_gguf` rewrites a GGUF as ``NAME-00001-of-0000N.gguf`` … ``NAME-0000N-of-0000N.gguf``
with the ``gguf`` package (:class:`gguf.GGUFReader` in, :class:`gguf.GGUFWriter` out, split by
tensor count). Each part is a whole GGUF with its own share of the tensors; the first part
carries every metadata key of the source; every part carries the keys llama.cpp's model loader
reads to find the others (``llama-model-loader.cpp``, ``gguf-split.cpp``):

- ``split.no`` (uint16): this part's index, from 0;
- ``split.count`` (uint16): the number of parts;
- ``split.tensors.count`` (int32): the tensors of all parts together.

Given part 1, llama.cpp loads the whole model (it derives the other parts' names from it).
:func:`smollm2_split` is SmolLM2 135M Q4_1 in three parts, made once per machine in the
temporary folder (beside :func:`tests.support.real_models.gemma3_gguf`) and reused after that.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path

from tests.support.real_models import SMOLLM2_SHA256, smollm2_gguf

SMOLLM2_SPLIT_STEM = "SmolLM2-135M-Instruct-Q4_1"
SMOLLM2_SPLIT_PARTS = 3
_MADE_BY = "ember-tests split_gguf v1"


def part_names(stem: str, count: int) -> list[str]:
    """``["STEM-00001-of-0000N.gguf", …]``: gguf-split's part names, in order."""
    return [f"{stem}-{n:05d}-of-{count:05d}.gguf" for n in range(1, count + 1)]


def split_gguf(source: Path, folder: Path, stem: str, parts: int) -> list[Path]:
    """Write ``source`` as ``parts`` real GGUF parts named :func:`part_names` into ``folder``
    (created) and return their paths in order. Tensors are dealt in file order, at most
    ``ceil(n_tensors / parts)`` to a part. Raises ValueError when the source has fewer tensors
    than ``parts`` (a part without tensors is not a valid split)."""
    import gguf

    reader = gguf.GGUFReader(source)
    n_tensors = len(reader.tensors)
    if n_tensors < parts:
        raise ValueError(f"{source.name} has {n_tensors} tensors; cannot split it in {parts}")
    arch_field = reader.fields[gguf.Keys.General.ARCHITECTURE]
    arch = arch_field.contents()
    folder.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(
        folder / f"{stem}.gguf", arch, split_max_tensors=math.ceil(n_tensors / parts)
    )
    for field in reader.fields.values():
        # GGUF.* are the reader's virtual fields; the writer adds general.architecture itself.
        if field.name.startswith("GGUF.") or field.name == gguf.Keys.General.ARCHITECTURE:
            continue
        kind = field.types[0]
        sub_type = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), kind, sub_type=sub_type)
    for tensor in reader.tensors:
        writer.add_tensor_info(
            tensor.name,
            tensor.data.shape,
            tensor.data.dtype,
            tensor.data.nbytes,
            tensor.tensor_type,
        )
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for tensor in reader.tensors:
        writer.write_tensor_data(tensor.data, tensor_endianess=reader.endianess)
    writer.close()
    paths = [folder / name for name in part_names(stem, parts)]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise ValueError(f"the writer did not produce {missing}")
    return paths


def smollm2_split() -> list[Path]:
    """SmolLM2 135M Q4_1 as a real three-part split GGUF, made once per machine (about 1 s),
    in part order. A marker records the source's sha256 and each part's size and mtime, so a
    changed or half-written set is made again."""
    root = Path(tempfile.gettempdir()) / f"ember-tests-models-{os.getuid()}"
    folder = root / "smollm2-split"
    marker = root / "smollm2-split.made"
    paths = [folder / name for name in part_names(SMOLLM2_SPLIT_STEM, SMOLLM2_SPLIT_PARTS)]

    def stamp() -> str:
        sizes = " ".join(f"{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in paths)
        return f"{_MADE_BY} {SMOLLM2_SHA256} {sizes}"

    if marker.is_file() and all(p.is_file() for p in paths) and marker.read_text() == stamp():
        return paths
    work = root / f"smollm2-split.{os.getpid()}.tmp"
    shutil.rmtree(work, ignore_errors=True)
    split_gguf(smollm2_gguf(), work, SMOLLM2_SPLIT_STEM, SMOLLM2_SPLIT_PARTS)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(work, folder)
    marker.write_text(stamp())
    return paths
