"""Write small GGUF files byte by byte, valid or deliberately broken, for header-check tests."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64 = 4, 5, 6, 7, 8, 9, 10
F32 = 0


def gguf_string(text: str | bytes, claimed_length: int | None = None) -> bytes:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    length = len(raw) if claimed_length is None else claimed_length
    return struct.pack("<Q", length) + raw


def kv_uint32(key: str, value: int) -> bytes:
    return gguf_string(key) + struct.pack("<II", UINT32, value)


def kv_string(key: str, value: str, claimed_length: int | None = None) -> bytes:
    return gguf_string(key) + struct.pack("<I", STRING) + gguf_string(value, claimed_length)


def kv_raw(key: str, value_type: int, payload: bytes) -> bytes:
    return gguf_string(key) + struct.pack("<I", value_type) + payload


def kv_string_array(key: str, items: list[str]) -> bytes:
    body = b"".join(gguf_string(item) for item in items)
    return kv_raw(key, ARRAY, struct.pack("<IQ", STRING, len(items)) + body)


def kv_int32_array(key: str, items: list[int]) -> bytes:
    return kv_raw(
        key, ARRAY, struct.pack("<IQ", INT32, len(items)) + struct.pack(f"<{len(items)}i", *items)
    )


def tensor_info(name: str, dims: tuple[int, ...], ggml_type: int = F32, offset: int = 0) -> bytes:
    return (
        gguf_string(name)
        + struct.pack("<I", len(dims))
        + struct.pack(f"<{len(dims)}Q", *dims)
        + struct.pack("<IQ", ggml_type, offset)
    )


@dataclass
class GGUF:
    """A GGUF file under construction; counts default to the real number of entries."""

    kvs: list[bytes] = field(
        default_factory=lambda: [
            kv_string("general.architecture", "llama"),
            kv_string("general.name", "tiny test model"),
            kv_uint32("general.file_type", 0),
            kv_uint32("llama.context_length", 256),
            kv_string("tokenizer.chat_template", "{{ messages[0]['content'] }}"),
            kv_string_array("tokenizer.ggml.tokens", ["<unk>", "<s>", "</s>", "a", "b"]),
            kv_int32_array("tokenizer.ggml.token_type", [2, 3, 3, 1, 1]),
            kv_uint32("tokenizer.ggml.bos_token_id", 1),
            kv_uint32("tokenizer.ggml.eos_token_id", 2),
        ]
    )
    tensors: list[bytes] = field(default_factory=lambda: [tensor_info("weight", (8, 2))])
    data_bytes: int = 64  # 8 x 2 float32
    magic: bytes = b"GGUF"
    version: int = 3
    tensor_count: int | None = None
    kv_count: int | None = None

    def to_bytes(self) -> bytes:
        header = self.magic + struct.pack(
            "<IQQ",
            self.version,
            len(self.tensors) if self.tensor_count is None else self.tensor_count,
            len(self.kvs) if self.kv_count is None else self.kv_count,
        )
        body = header + b"".join(self.kvs) + b"".join(self.tensors)
        padding = -len(body) % 32
        return body + b"\0" * padding + b"\0" * self.data_bytes
