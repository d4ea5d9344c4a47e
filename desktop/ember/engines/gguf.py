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
import functools
import mmap
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True, slots=True)
class _TypeTables:
    """The format's type tables, from the ``gguf`` package (llama.cpp's own Python reader).

    Taken from there rather than copied here, so they follow llama.cpp as types are added or
    retired. Only the tables: the reading itself stays in this module, bounds-checked.
    """

    scalars: dict[int, str]  # metadata value type -> struct format of one item
    string: int
    array: int
    ggml: dict[int, tuple[str, int, int]]  # ggml type -> (name, bytes per block, items per block)
    file_types: dict[int, str]  # general.file_type (llama_ftype) -> e.g. "Q4_K_M"
    # tokenizer.ggml.token_type values a llama.cpp tokenizer treats as special in a prompt.
    special_tokens: frozenset[int]


@functools.cache
def _tables() -> _TypeTables:
    # Imported on first use: the gguf package brings numpy (~0.1 s) with it.
    import numpy as np
    from gguf import GGML_QUANT_SIZES, GGUFReader, GGUFValueType, LlamaFileType, TokenType

    scalars = {
        int(value_type): _struct_format(np.dtype(scalar))
        for value_type, scalar in GGUFReader.gguf_scalar_to_np.items()
    }
    ggml = {
        int(kind): (kind.name, type_size, block_size)
        for kind, (block_size, type_size) in GGML_QUANT_SIZES.items()
    }
    file_types = {
        int(kind): kind.name.removeprefix("MOSTLY_").removeprefix("ALL_")
        for kind in LlamaFileType
        if kind.name != "GUESSED"
    }
    special = frozenset(
        int(kind) for kind in (TokenType.UNKNOWN, TokenType.CONTROL, TokenType.USER_DEFINED)
    )
    return _TypeTables(
        scalars, int(GGUFValueType.STRING), int(GGUFValueType.ARRAY), ggml, file_types, special
    )


def _struct_format(dtype: Any) -> str:
    """A little-endian :mod:`struct` format for one item of a numpy scalar type."""
    letters = {"u": "BHIQ", "i": "bhiq", "f": "  fd", "b": "?"}[dtype.kind]
    letter = letters[min(dtype.itemsize.bit_length() - 1, len(letters) - 1)]
    if letter == " " or struct.calcsize("<" + letter) != dtype.itemsize:
        raise AssertionError(f"the gguf package names an unexpected scalar type {dtype}")
    return "<" + letter


# Keys whose (small) values we keep; everything else is validated and stepped over. The
# architecture's hyperparameters are what a memory estimate needs (ember.engines.fit).
_WANTED_SUFFIXES = (
    ".context_length",
    ".block_count",
    ".embedding_length",
    ".feed_forward_length",
    ".vocab_size",
    ".expert_count",
    ".expert_used_count",
    ".attention.head_count",
    ".attention.head_count_kv",
    ".attention.key_length",
    ".attention.value_length",
    ".attention.sliding_window",
)
_WANTED = frozenset(
    {
        "general.architecture",
        "general.name",
        "general.file_type",
        "general.alignment",
        "tokenizer.chat_template",
        "tokenizer.ggml.eos_token_id",
        "tokenizer.ggml.bos_token_id",
        "split.count",
        "split.no",
    }
)


@dataclass(frozen=True, slots=True)
class TensorInfo:
    """One tensor of a GGUF header: ``dims`` its shape, ``ggml_type`` its element type's name,
    ``offset`` in bytes from the start of the data section, ``size_bytes`` its size."""

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
    architecture: str  # "" only for a split GGUF's later part (its metadata is in part 1)
    name: str
    file_type: str  # e.g. "Q4_1"; "" when the file does not say
    n_ctx_train: int | None
    chat_template: str | None
    size_bytes: int
    alignment: int
    data_offset: int
    eos_token: str | None = None
    bos_token: str | None = None
    special_tokens: tuple[str, ...] = ()  # control/user-defined vocabulary entries
    tensors: tuple[TensorInfo, ...] = ()
    # Hyperparameters (``{architecture}.*`` keys; 0 when the file does not say). A per-layer
    # array (some architectures vary the KV heads by layer) is kept as its largest item.
    block_count: int = 0  # transformer layers
    embedding_length: int = 0  # n_embd
    feed_forward_length: int = 0
    head_count: int = 0
    head_count_kv: int = 0  # 0 = same as head_count
    key_length: int = 0  # per head; 0 = embedding_length // head_count
    value_length: int = 0
    sliding_window: int = 0  # 0 = full attention in every layer
    vocab_size: int = 0  # from {arch}.vocab_size, else the tokenizer's token count
    expert_count: int = 0
    split_count: int = 1  # parts of a split GGUF (``-00001-of-0000N``); this header is one part

    @property
    def weights_bytes(self) -> int:
        """Bytes of the tensors this header lists (all of a split model's in its other parts)."""
        return sum(t.size_bytes for t in self.tensors)


class _PrefixEnded(Exception):
    """The bytes at hand end before the header does (only raised when reading a prefix)."""


class _Reader:
    """Bounds-checked little-endian reads over a memory map; every failure names the file.

    ``file_size`` > ``len(buf)``: ``buf`` is the start of a longer file, and a read past its end
    but inside the file raises :class:`_PrefixEnded` instead of calling the file truncated.
    """

    __slots__ = ("buf", "file_size", "label", "pos", "size")

    def __init__(self, buf: mmap.mmap | bytes, label: str, file_size: int | None = None) -> None:
        self.buf = buf
        self.size = len(buf)
        self.file_size = max(file_size or 0, self.size)
        self.pos = 0
        self.label = label

    def fail(self, why: str) -> ModelLoadError:
        return ModelLoadError(f"{self.label} is not a usable GGUF model file: {why}.")

    def need(self, n: int, what: str) -> None:
        if 0 <= n and self.size < self.pos + n <= self.file_size:
            raise _PrefixEnded
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
    types = _tables()
    if value_type in types.scalars:
        return r.scalar(types.scalars[value_type], f"the value of {key}")
    if value_type == types.string:
        if keep:
            return r.string(f"the value of {key}")
        r.string_span(f"the value of {key}")
        return None
    if value_type == types.array:
        return _read_array(r, key)
    raise r.fail(f"metadata key {key!r} has unknown value type {value_type}")


def _read_array(r: _Reader, key: str) -> _Array:
    item_type = r.u32(f"the item type of {key}")
    count = r.u64(f"the item count of {key}")
    if count > MAX_ARRAY_ITEMS:
        raise r.fail(f"array {key!r} claims {count} items (limit {MAX_ARRAY_ITEMS})")
    start = r.pos
    types = _tables()
    if item_type in types.scalars:
        r.need(count * struct.calcsize(types.scalars[item_type]), f"the items of {key}")
        r.pos += count * struct.calcsize(types.scalars[item_type])
    elif item_type == types.string:
        # Each item is at least its 8-byte length: a cheap bound before walking the items.
        r.need(count * 8, f"the items of {key}")
        # The hot loop of a header check (a 262k-token vocabulary): no bounds test per item.
        # A length read past the end raises struct.error, a length past MAX_STRING_BYTES is
        # refused, and where the walk ended is checked after it.
        buf, unpack, size = r.buf, struct.Struct("<Q").unpack_from, r.size
        pos, index, limit = r.pos, 0, MAX_STRING_BYTES
        try:
            for index in range(count):
                (length,) = unpack(buf, pos)
                if length > limit:
                    raise r.fail(f"item {index} of {key} claims {length} bytes")
                pos += 8 + length
        except struct.error:
            r.pos = pos
            r.need(8, f"the length of item {index} of {key}")
            raise  # unreachable: need() raised for the bytes that are missing
        if pos > size:
            r.pos = pos - length
            r.need(length, f"item {index} of {key}")
        r.pos = pos
    elif item_type == types.array:
        raise r.fail(f"array {key!r} holds nested arrays, which llama.cpp does not support")
    else:
        raise r.fail(f"array {key!r} has unknown item type {item_type}")
    return _Array(item_type, count, start)


def _string_item(r: _Reader, array: _Array, index: int) -> str | None:
    """Item ``index`` of a string array already validated by :func:`_read_array`."""
    if array.item_type != _tables().string or not 0 <= index < array.count:
        return None
    pos = array.start
    unpack = struct.Struct("<Q").unpack_from
    for _ in range(index):
        pos += 8 + unpack(r.buf, pos)[0]
    (length,) = unpack(r.buf, pos)
    return r.text_at(pos + 8, length)


def _special_tokens(r: _Reader, tokens: _Array | None, types: _Array | None) -> tuple[str, ...]:
    if tokens is None or types is None or tokens.item_type != _tables().string:
        return ()
    # One int32 (or uint32) a token, as llama.cpp writes them.
    if _tables().scalars.get(types.item_type) not in ("<i", "<I") or types.count != tokens.count:
        return ()
    kinds = array.array("i", r.buf[types.start : types.start + 4 * types.count])
    if sys.byteorder == "big":
        kinds.byteswap()
    special = _tables().special_tokens
    wanted = {i for i, kind in enumerate(kinds) if kind in special}
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
    ggml = _tables().ggml
    if type_id not in ggml:
        raise r.fail(f"tensor {name!r} has unknown ggml type {type_id}")
    type_name, block_bytes, block_items = ggml[type_id]
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


def inspect_gguf(path: Path | str, *, special_tokens: bool = True) -> GGUFInfo:
    """Validate ``path``'s GGUF header and tensor table; raise :class:`ModelLoadError` if unsafe.

    ``special_tokens=False`` leaves :attr:`GGUFInfo.special_tokens` empty, saving a second walk
    of the vocabulary (half the check's time for a 262k-token one) where they are not needed."""
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
            return _inspect(_Reader(buf, label), label, size, special_tokens)
        finally:
            buf.close()


def inspect_gguf_prefix(data: bytes, file_size: int, label: str) -> GGUFInfo | None:
    """Read a GGUF header from ``data``, the first bytes of a ``file_size``-byte file (a remote
    file fetched by HTTP Range); ``label`` names it in errors (e.g. ``owner/repo/file.gguf``).

    Returns None when ``data`` ends before the header does: fetch more and call again. Raises
    :class:`ModelLoadError` for a header that is damaged or unsafe, as :func:`inspect_gguf` does;
    the tensors' data is checked against ``file_size``, not read.
    """
    if file_size < len(data):
        raise ModelLoadError(f"{label}: {len(data)} bytes read from a {file_size}-byte file.")
    if len(data) < 4 and file_size >= 4:
        return None
    try:
        return _inspect(_Reader(data, label, file_size), label, file_size)
    except _PrefixEnded:
        return None


def _largest(r: _Reader, value: object) -> int:
    """An integer hyperparameter, or the largest item of a per-layer integer array; 0 if none."""
    if isinstance(value, int) and not isinstance(value, bool):
        return max(value, 0)
    if not isinstance(value, _Array) or not value.count:
        return 0
    fmt = _tables().scalars.get(value.item_type)
    if fmt is None or fmt[1] not in "bBhHiIqQ":
        return 0
    step = struct.calcsize(fmt)
    items = struct.iter_unpack(fmt, r.buf[value.start : value.start + step * value.count])
    return max(0, *(item for (item,) in items))


def _inspect(r: _Reader, label: str, size: int, special_tokens: bool = True) -> GGUFInfo:
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
    split_count, split_no = kept.get("split.count"), kept.get("split.no")
    if isinstance(split_no, int) and split_no > 0 and isinstance(split_count, int):
        # A split GGUF's later part (gguf-split writes the metadata into part 1 only): its
        # tensors count, the model is read from part 1.
        architecture = architecture if isinstance(architecture, str) else ""
    elif not isinstance(architecture, str) or not architecture:
        raise r.fail("general.architecture is missing")
    n_ctx_train = kept.get(f"{architecture}.context_length")

    def hyper(key: str) -> int:
        return _largest(r, kept.get(f"{architecture}.{key}"))

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
        file_type=_tables().file_types.get(file_type, f"type {file_type}")
        if isinstance(file_type, int)
        else "",
        n_ctx_train=n_ctx_train if isinstance(n_ctx_train, int) and n_ctx_train > 0 else None,
        chat_template=template if isinstance(template, str) else None,
        size_bytes=size,
        alignment=alignment,
        data_offset=data_offset,
        eos_token=_string_item(r, tokens, eos_id) if tokens and isinstance(eos_id, int) else None,
        bos_token=_string_item(r, tokens, bos_id) if tokens and isinstance(bos_id, int) else None,
        special_tokens=_special_tokens(r, tokens, token_types) if special_tokens else (),
        tensors=tuple(tensors),
        block_count=hyper("block_count"),
        embedding_length=hyper("embedding_length"),
        feed_forward_length=hyper("feed_forward_length"),
        head_count=hyper("attention.head_count"),
        head_count_kv=hyper("attention.head_count_kv"),
        key_length=hyper("attention.key_length"),
        value_length=hyper("attention.value_length"),
        sliding_window=hyper("attention.sliding_window"),
        vocab_size=hyper("vocab_size") or (tokens.count if tokens else 0),
        expert_count=hyper("expert_count"),
        split_count=split_count if isinstance(split_count, int) and split_count > 1 else 1,
    )
