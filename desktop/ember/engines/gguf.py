"""A pure-Python GGUF header check, run before any native code sees a model file.

Crafted GGUF files have overflowed llama.cpp's loader (CVE-2024-21802, CVE-2024-23605 and later
bypasses): huge counts, string lengths past the end of the file, tensors pointing outside the
data. :func:`inspect_gguf` walks the whole header with every length checked against the bytes
that remain, then checks that each tensor's data lies inside the file, so a truncated download is
caught too. Big arrays (the tokenizer vocabulary) are stepped over, never copied.

Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
"""

from __future__ import annotations

import array
import mmap
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

from ember.errors import ModelLoadError

MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)  # v1 (32-bit counts) is refused by llama.cpp itself

# Bounds far above any real model, far below what makes an allocator overflow.
MAX_TENSORS = 1 << 20
MAX_KV = 1 << 16
MAX_KEY_BYTES = 1 << 16
MAX_STRING_BYTES = 1 << 26  # 64 MiB: chat templates are kilobytes, a vocab entry bytes
MAX_ARRAY_ITEMS = 1 << 26  # merges/vocab of the biggest tokenizers are < 1M entries
MAX_DIMS = 4  # GGML_MAX_DIMS
MAX_TENSOR_NAME = 63  # GGML_MAX_NAME - 1
MAX_ELEMENTS = 1 << 60

# GGUF metadata value types -> struct format (scalars); 8 = string, 9 = array.
_SCALARS: dict[int, str] = {
    0: "<B",  # uint8
    1: "<b",  # int8
    2: "<H",  # uint16
    3: "<h",  # int16
    4: "<I",  # uint32
    5: "<i",  # int32
    6: "<f",  # float32
    7: "<?",  # bool
    10: "<Q",  # uint64
    11: "<q",  # int64
    12: "<d",  # float64
}
_STRING = 8
_ARRAY = 9

# ggml type id -> (name, bytes per block, elements per block); mirrors ggml's type_traits.
# Ids 4, 5 and 36-38 were removed from ggml; 31-33 are the old repacked Q4_0 forms.
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 4, 1),
    1: ("F16", 2, 1),
    2: ("Q4_0", 18, 32),
    3: ("Q4_1", 20, 32),
    6: ("Q5_0", 22, 32),
    7: ("Q5_1", 24, 32),
    8: ("Q8_0", 34, 32),
    9: ("Q8_1", 36, 32),
    10: ("Q2_K", 84, 256),
    11: ("Q3_K", 110, 256),
    12: ("Q4_K", 144, 256),
    13: ("Q5_K", 176, 256),
    14: ("Q6_K", 210, 256),
    15: ("Q8_K", 292, 256),
    16: ("IQ2_XXS", 66, 256),
    17: ("IQ2_XS", 74, 256),
    18: ("IQ3_XXS", 98, 256),
    19: ("IQ1_S", 50, 256),
    20: ("IQ4_NL", 18, 32),
    21: ("IQ3_S", 110, 256),
    22: ("IQ2_S", 82, 256),
    23: ("IQ4_XS", 136, 256),
    24: ("I8", 1, 1),
    25: ("I16", 2, 1),
    26: ("I32", 4, 1),
    27: ("I64", 8, 1),
    28: ("F64", 8, 1),
    29: ("IQ1_M", 56, 256),
    30: ("BF16", 2, 1),
    31: ("Q4_0_4_4", 18, 32),
    32: ("Q4_0_4_8", 18, 32),
    33: ("Q4_0_8_8", 18, 32),
    34: ("TQ1_0", 54, 256),
    35: ("TQ2_0", 66, 256),
    39: ("MXFP4", 17, 32),
}

# general.file_type (llama_ftype) -> the name people use for the quantization.
FILE_TYPES: dict[int, str] = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    4: "Q4_1_SOME_F16",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    33: "Q4_0_4_4",
    34: "Q4_0_4_8",
    35: "Q4_0_8_8",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4_MOE",
}

# tokenizer.ggml.token_type values a llama.cpp tokenizer treats as special when parsing a prompt.
_SPECIAL_TOKEN_TYPES = (2, 3, 4)  # unknown, control, user-defined

# Keys whose (small) values we keep; everything else is validated and stepped over.
_WANTED_SUFFIXES = (".context_length",)
_WANTED = frozenset(
    {
        "general.architecture",
        "general.name",
        "general.file_type",
        "general.alignment",
        "tokenizer.chat_template",
        "tokenizer.ggml.eos_token_id",
        "tokenizer.ggml.bos_token_id",
    }
)


@dataclass(frozen=True, slots=True)
class TensorInfo:
    name: str
    dims: tuple[int, ...]
    ggml_type: str
    offset: int  # relative to the start of the data section
    size_bytes: int


@dataclass(frozen=True, slots=True)
class GGUFInfo:
    """What the header says about a model, after every length in it has been checked."""

    path: str
    version: int
    tensor_count: int
    kv_count: int
    architecture: str
    name: str
    file_type: str  # e.g. "Q4_1"; "" when the file does not say
    context_length: int | None
    chat_template: str | None
    size_bytes: int
    alignment: int
    data_offset: int
    eos_token: str | None = None
    bos_token: str | None = None
    special_tokens: tuple[str, ...] = ()  # control/user-defined vocabulary entries
    tensors: tuple[TensorInfo, ...] = ()


class _Reader:
    """Bounds-checked little-endian reads over a memory map; every failure names the file."""

    __slots__ = ("buf", "label", "pos", "size")

    def __init__(self, buf: mmap.mmap | bytes, label: str) -> None:
        self.buf = buf
        self.size = len(buf)
        self.pos = 0
        self.label = label

    def fail(self, why: str) -> ModelLoadError:
        return ModelLoadError(f"{self.label} is not a usable GGUF model file: {why}.")

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > self.size:
            raise ModelLoadError(
                f"{self.label} is truncated or damaged: {what} at byte {self.pos} needs {n} "
                f"bytes but only {max(self.size - self.pos, 0)} remain."
            )

    def scalar(self, fmt: str, what: str) -> int | float | bool:
        n = struct.calcsize(fmt)
        self.need(n, what)
        (value,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += n
        return value

    def u32(self, what: str) -> int:
        return int(self.scalar("<I", what))

    def u64(self, what: str) -> int:
        return int(self.scalar("<Q", what))

    def string_span(self, what: str, limit: int = MAX_STRING_BYTES) -> tuple[int, int]:
        """Check a length-prefixed string and step over it; returns (start, length)."""
        length = self.u64(f"the length of {what}")
        if length > limit:
            raise self.fail(f"{what} claims {length} bytes (limit {limit})")
        self.need(length, what)
        start = self.pos
        self.pos += length
        return start, length

    def string(self, what: str, limit: int = MAX_STRING_BYTES) -> str:
        start, length = self.string_span(what, limit)
        try:
            return bytes(self.buf[start : start + length]).decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(f"{what} is not valid UTF-8") from None

    def text_at(self, start: int, length: int) -> str:
        return bytes(self.buf[start : start + length]).decode("utf-8", errors="replace")


@dataclass(slots=True)
class _Array:
    """Where an array lies in the file, so wanted items can be read later without a copy."""

    item_type: int
    count: int
    start: int


def _read_value(r: _Reader, value_type: int, key: str, keep: bool) -> object:
    if value_type in _SCALARS:
        return r.scalar(_SCALARS[value_type], f"the value of {key}")
    if value_type == _STRING:
        if keep:
            return r.string(f"the value of {key}")
        r.string_span(f"the value of {key}")
        return None
    if value_type == _ARRAY:
        return _read_array(r, key)
    raise r.fail(f"metadata key {key!r} has unknown value type {value_type}")


def _read_array(r: _Reader, key: str) -> _Array:
    item_type = r.u32(f"the item type of {key}")
    count = r.u64(f"the item count of {key}")
    if count > MAX_ARRAY_ITEMS:
        raise r.fail(f"array {key!r} claims {count} items (limit {MAX_ARRAY_ITEMS})")
    start = r.pos
    if item_type in _SCALARS:
        r.need(count * struct.calcsize(_SCALARS[item_type]), f"the items of {key}")
        r.pos += count * struct.calcsize(_SCALARS[item_type])
    elif item_type == _STRING:
        # Each item is at least its 8-byte length: a cheap bound before walking the items.
        r.need(count * 8, f"the items of {key}")
        buf, unpack, size = r.buf, struct.Struct("<Q").unpack_from, r.size
        pos = r.pos
        for index in range(count):
            if pos + 8 > size:
                r.pos = pos
                r.need(8, f"the length of item {index} of {key}")
            (length,) = unpack(buf, pos)
            if length > MAX_STRING_BYTES:
                raise r.fail(f"item {index} of {key} claims {length} bytes")
            if pos + 8 + length > size:
                r.pos = pos + 8
                r.need(length, f"item {index} of {key}")
            pos += 8 + length
        r.pos = pos
    elif item_type == _ARRAY:
        raise r.fail(f"array {key!r} holds nested arrays, which llama.cpp does not support")
    else:
        raise r.fail(f"array {key!r} has unknown item type {item_type}")
    return _Array(item_type, count, start)


def _string_item(r: _Reader, array: _Array, index: int) -> str | None:
    """Item ``index`` of a string array already validated by :func:`_read_array`."""
    if array.item_type != _STRING or not 0 <= index < array.count:
        return None
    pos = array.start
    unpack = struct.Struct("<Q").unpack_from
    for _ in range(index):
        pos += 8 + unpack(r.buf, pos)[0]
    (length,) = unpack(r.buf, pos)
    return r.text_at(pos + 8, length)


def _special_tokens(r: _Reader, tokens: _Array | None, types: _Array | None) -> tuple[str, ...]:
    if tokens is None or types is None or tokens.item_type != _STRING:
        return ()
    if types.item_type not in (4, 5) or types.count != tokens.count:  # int32 / uint32 per token
        return ()
    kinds = array.array("i", r.buf[types.start : types.start + 4 * types.count])
    if sys.byteorder == "big":
        kinds.byteswap()
    wanted = {i for i, kind in enumerate(kinds) if kind in _SPECIAL_TOKEN_TYPES}
    if not wanted:
        return ()
    found: list[str] = []
    unpack = struct.Struct("<Q").unpack_from
    pos = tokens.start
    for index in range(tokens.count):
        (length,) = unpack(r.buf, pos)
        if index in wanted:
            found.append(r.text_at(pos + 8, length))
        pos += 8 + length
    return tuple(token for token in found if token)


def _tensor_size(r: _Reader, name: str, dims: tuple[int, ...], type_id: int) -> tuple[str, int]:
    if type_id not in GGML_TYPES:
        raise r.fail(f"tensor {name!r} has unknown ggml type {type_id}")
    type_name, block_bytes, block_items = GGML_TYPES[type_id]
    elements = 1
    for dim in dims:
        elements *= dim
        if elements > MAX_ELEMENTS:
            raise r.fail(f"tensor {name!r} has absurd dimensions {dims}")
    if dims and dims[0] % block_items:
        raise r.fail(
            f"tensor {name!r} has a first dimension of {dims[0]}, not a multiple of the "
            f"{type_name} block size {block_items}"
        )
    return type_name, elements // block_items * block_bytes


def inspect_gguf(path: Path | str) -> GGUFInfo:
    """Validate ``path``'s GGUF header and tensor table; raise :class:`ModelLoadError` if unsafe."""
    path = Path(path)
    label = str(path)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise ModelLoadError(f"Model file {label} does not exist. Check the path.") from None
    except IsADirectoryError:
        raise ModelLoadError(f"{label} is a directory, not a GGUF model file.") from None
    except PermissionError:
        raise ModelLoadError(
            f"Model file {label} cannot be read (permission denied); check its permissions."
        ) from None
    except OSError as exc:
        raise ModelLoadError(f"Model file {label} cannot be read: {exc.strerror}.") from None
    with handle:
        try:
            size = path.stat().st_size
            if not path.is_file():
                raise ModelLoadError(f"{label} is not a regular file, so not a GGUF model file.")
            if size == 0:
                raise ModelLoadError(f"{label} is empty, not a GGUF model file.")
            buf = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError as exc:
            raise ModelLoadError(f"Model file {label} cannot be read: {exc.strerror}.") from None
        try:
            return _inspect(_Reader(buf, label), label, size)
        finally:
            buf.close()


def _inspect(r: _Reader, label: str, size: int) -> GGUFInfo:
    if size < 4 or bytes(r.buf[:4]) != MAGIC:
        raise ModelLoadError(f"{label} is not a GGUF model file (bad magic).")
    r.pos = 4
    version = r.u32("the version")
    if version not in SUPPORTED_VERSIONS:
        hint = (
            " (it looks big-endian; Ember needs little-endian GGUF)" if version >= 1 << 16 else ""
        )
        raise ModelLoadError(
            f"{label} is GGUF version {version}{hint}; Ember reads versions 2 and 3. "
            "Convert it with a current llama.cpp."
        )
    tensor_count = r.u64("the tensor count")
    kv_count = r.u64("the metadata count")
    # Each tensor info takes >= 32 bytes and each key/value >= 13: counts beyond that are lies.
    if tensor_count > MAX_TENSORS or tensor_count * 32 > size:
        raise r.fail(f"it claims {tensor_count} tensors, more than the file can hold")
    if kv_count > MAX_KV or kv_count * 13 > size:
        raise r.fail(f"it claims {kv_count} metadata entries, more than the file can hold")

    kept: dict[str, object] = {}
    tokens: _Array | None = None
    token_types: _Array | None = None
    seen: set[str] = set()
    for index in range(kv_count):
        key = r.string(f"metadata key {index}", MAX_KEY_BYTES)
        if key in seen:
            raise r.fail(f"metadata key {key!r} appears twice")
        seen.add(key)
        value_type = r.u32(f"the type of {key}")
        keep = key in _WANTED or key.endswith(_WANTED_SUFFIXES)
        value = _read_value(r, value_type, key, keep)
        if key == "tokenizer.ggml.tokens" and isinstance(value, _Array):
            tokens = value
        elif key == "tokenizer.ggml.token_type" and isinstance(value, _Array):
            token_types = value
        elif keep:
            kept[key] = value

    alignment = kept.get("general.alignment", 32)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        raise r.fail(f"general.alignment is {alignment!r}, not a power of two")

    tensors: list[TensorInfo] = []
    names: set[str] = set()
    for index in range(tensor_count):
        name = r.string(f"the name of tensor {index}", MAX_TENSOR_NAME)
        if name in names:
            raise r.fail(f"tensor {name!r} appears twice")
        names.add(name)
        n_dims = r.u32(f"the dimension count of {name}")
        if not 1 <= n_dims <= MAX_DIMS:
            raise r.fail(f"tensor {name!r} has {n_dims} dimensions (llama.cpp allows 1-4)")
        dims = tuple(r.u64(f"a dimension of {name}") for _ in range(n_dims))
        type_id = r.u32(f"the type of {name}")
        offset = r.u64(f"the data offset of {name}")
        if offset % alignment:
            raise r.fail(f"tensor {name!r} starts at {offset}, not aligned to {alignment}")
        type_name, nbytes = _tensor_size(r, name, dims, type_id)
        tensors.append(TensorInfo(name, dims, type_name, offset, nbytes))

    data_offset = -(-r.pos // alignment) * alignment
    for tensor in tensors:
        end = data_offset + tensor.offset + tensor.size_bytes
        if end > size:
            raise ModelLoadError(
                f"{label} is truncated: tensor {tensor.name} ends past the end of the file "
                f"(byte {end} of {size}). Download the model again."
            )

    architecture = kept.get("general.architecture")
    if not isinstance(architecture, str) or not architecture:
        raise r.fail("general.architecture is missing")
    context_length = kept.get(f"{architecture}.context_length")
    file_type = kept.get("general.file_type")
    name = kept.get("general.name")
    template = kept.get("tokenizer.chat_template")
    eos_id, bos_id = (
        kept.get("tokenizer.ggml.eos_token_id"),
        kept.get("tokenizer.ggml.bos_token_id"),
    )
    return GGUFInfo(
        path=label,
        version=version,
        tensor_count=tensor_count,
        kv_count=kv_count,
        architecture=architecture,
        name=name if isinstance(name, str) else "",
        file_type=FILE_TYPES.get(file_type, f"type {file_type}")
        if isinstance(file_type, int)
        else "",
        context_length=context_length
        if isinstance(context_length, int) and context_length > 0
        else None,
        chat_template=template if isinstance(template, str) else None,
        size_bytes=size,
        alignment=alignment,
        data_offset=data_offset,
        eos_token=_string_item(r, tokens, eos_id) if tokens and isinstance(eos_id, int) else None,
        bos_token=_string_item(r, tokens, bos_id) if tokens and isinstance(bos_id, int) else None,
        special_tokens=_special_tokens(r, tokens, token_types),
        tensors=tuple(tensors),
    )
