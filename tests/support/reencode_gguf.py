"""SmolLM2 re-encoded to another tensor type: a third real model file for the fit benchmark.

:func:`smollm2_q8_0` rewrites SmolLM2 135M's Q4_1 weight matrices as Q8_0 (dequantized and
quantized again with :mod:`gguf.quants`; the Q8_0 token embedding and the F32 norms are copied
as they are) and writes the file with :class:`gguf.GGUFWriter`, every metadata key kept except
``general.file_type`` (set to Q8_0). The model is the same network at about twice the weight
bytes (146 MB against 98 MB), a file the fit estimate's constants were not fitted on. Made once
per machine in the temporary folder (beside :func:`tests.support.real_models.gemma3_gguf`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tests.support.real_models import SMOLLM2_SHA256, smollm2_gguf

SMOLLM2_Q8_0_FILE = "SmolLM2-135M-Instruct.Q8_0-from-Q4_1.gguf"
_MADE_BY = "ember-tests reencode_gguf v1"


def reencode(source: Path, target: Path, kind: str = "Q8_0") -> Path:
    """Write ``source`` to ``target`` with every tensor of a quantized type re-encoded as
    ``kind`` (a :class:`gguf.GGMLQuantizationType` name); F32/F16 tensors are copied."""
    import gguf
    from gguf.quants import dequantize, quantize

    new_type = gguf.GGMLQuantizationType[kind]
    reader = gguf.GGUFReader(source)
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    writer = gguf.GGUFWriter(target, arch)
    for field in reader.fields.values():
        if field.name.startswith("GGUF.") or field.name in (
            gguf.Keys.General.ARCHITECTURE,
            gguf.Keys.General.FILE_TYPE,
        ):
            continue
        value_type = field.types[0]
        sub_type = field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), value_type, sub_type=sub_type)
    writer.add_file_type(getattr(gguf.LlamaFileType, f"MOSTLY_{kind}"))
    plain = (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16)
    for tensor in reader.tensors:
        if tensor.tensor_type in plain or tensor.tensor_type == new_type:
            data, dtype = tensor.data, tensor.tensor_type
        else:
            data = quantize(dequantize(tensor.data, tensor.tensor_type), new_type)
            dtype = new_type
        writer.add_tensor(tensor.name, data, raw_dtype=dtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return target


def smollm2_q8_0() -> Path:
    """SmolLM2 135M as Q8_0 (from its Q4_1 file), made once per machine (a few seconds)."""
    folder = Path(tempfile.gettempdir()) / f"ember-tests-models-{os.getuid()}"
    target = folder / SMOLLM2_Q8_0_FILE
    marker = folder / (SMOLLM2_Q8_0_FILE + ".made")

    def stamp() -> str:
        stat = target.stat()
        return f"{_MADE_BY} {SMOLLM2_SHA256} {stat.st_size} {stat.st_mtime_ns}"

    if target.is_file() and marker.is_file() and marker.read_text() == stamp():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{SMOLLM2_Q8_0_FILE}.{os.getpid()}.tmp"
    reencode(smollm2_gguf(), partial)
    os.replace(partial, target)
    marker.write_text(stamp())
    return target
