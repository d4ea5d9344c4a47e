"""The GGUF header check that runs before llama.cpp sees a file."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest
from tests.support.gguf_builder import (
    ARRAY,
    GGUF,
    STRING,
    UINT32,
    gguf_string,
    kv_raw,
    kv_string,
    kv_uint32,
    tensor_info,
)

from ember.engines.gguf import inspect_gguf
from ember.errors import ModelLoadError


def write(tmp_path: Path, data: bytes, name: str = "model.gguf") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_the_embedded_model_passes_and_describes_itself(model_path: Path) -> None:
    info = inspect_gguf(model_path)
    assert (info.version, info.architecture, info.file_type) == (3, "llama", "Q4_1")
    assert info.n_ctx_train == 8192
    assert info.tensor_count == len(info.tensors) == 272
    assert info.chat_template is not None and "<|im_start|>" in info.chat_template
    assert (info.bos_token, info.eos_token) == ("<|im_start|>", "<|im_end|>")
    assert info.size_bytes == model_path.stat().st_size


def test_the_last_tensor_of_the_embedded_model_ends_exactly_at_the_end_of_the_file(
    model_path: Path,
) -> None:
    info = inspect_gguf(model_path)
    end = max(info.data_offset + t.offset + t.size_bytes for t in info.tensors)
    assert end == info.size_bytes


def test_the_vocabulary_control_tokens_are_reported(model_path: Path) -> None:
    special = inspect_gguf(model_path).special_tokens
    assert {"<|im_start|>", "<|im_end|>", "<|endoftext|>"} <= set(special)
    assert "hello" not in special


def test_inspecting_the_embedded_model_is_fast(model_path: Path) -> None:
    inspect_gguf(model_path)  # page cache warm, as on any second start
    started = time.perf_counter()
    inspect_gguf(model_path)
    # ~50 ms measured on a busy 2-core box; the bound leaves room for a loaded CI machine.
    assert time.perf_counter() - started < 0.5


def test_a_minimal_handmade_gguf_passes(tmp_path: Path) -> None:
    info = inspect_gguf(write(tmp_path, GGUF().to_bytes()))
    assert info.name == "tiny test model"
    assert info.file_type == "F32"
    assert info.special_tokens == ("<unk>", "<s>", "</s>")
    assert info.tensors[0].size_bytes == 64


def test_a_missing_file_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"does not exist"):
        inspect_gguf(tmp_path / "nope.gguf")


def test_a_directory_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"is a directory"):
        inspect_gguf(tmp_path)


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"is empty"):
        inspect_gguf(write(tmp_path, b""))


def test_bad_magic_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"not a GGUF model file \(bad magic\)"):
        inspect_gguf(write(tmp_path, GGUF(magic=b"GGML").to_bytes()))


def test_an_html_error_page_saved_as_gguf_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"bad magic"):
        inspect_gguf(write(tmp_path, b"<!DOCTYPE html><html>404 Not Found</html>"))


def test_an_unknown_version_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"GGUF version 99"):
        inspect_gguf(write(tmp_path, GGUF(version=99).to_bytes()))


def test_a_big_endian_file_is_named_as_such(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"big-endian"):
        inspect_gguf(write(tmp_path, GGUF(version=3 << 24).to_bytes()))


def test_an_absurd_tensor_count_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"claims 1152921504606846976 tensors"):
        inspect_gguf(write(tmp_path, GGUF(tensor_count=1 << 60).to_bytes()))


def test_an_absurd_metadata_count_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"metadata entries"):
        inspect_gguf(write(tmp_path, GGUF(kv_count=(1 << 64) - 1).to_bytes()))


def test_a_key_length_past_the_end_of_the_file_is_refused(tmp_path: Path) -> None:
    broken = GGUF(kvs=[gguf_string("general.architecture", claimed_length=1 << 40)])
    with pytest.raises(ModelLoadError, match=r"metadata key 0 claims"):
        inspect_gguf(write(tmp_path, broken.to_bytes()))


def test_a_string_value_longer_than_the_file_is_refused(tmp_path: Path) -> None:
    gguf = GGUF()
    gguf.kvs[1] = kv_string("general.name", "x", claimed_length=(1 << 26) - 1)
    with pytest.raises(ModelLoadError, match=r"truncated or damaged: the value of general.name"):
        inspect_gguf(write(tmp_path, gguf.to_bytes()))


def test_an_absurd_string_value_length_is_refused(tmp_path: Path) -> None:
    gguf = GGUF()
    gguf.kvs[1] = kv_string("general.name", "x", claimed_length=(1 << 64) - 1)
    with pytest.raises(ModelLoadError, match=r"the value of general.name claims"):
        inspect_gguf(write(tmp_path, gguf.to_bytes()))


def test_a_vocabulary_entry_longer_than_the_file_is_refused(tmp_path: Path) -> None:
    gguf = GGUF()
    items = gguf_string("a") + gguf_string("b", claimed_length=1 << 20)
    gguf.kvs[5] = kv_raw("tokenizer.ggml.tokens", ARRAY, struct.pack("<IQ", STRING, 2) + items)
    with pytest.raises(ModelLoadError, match=r"item 1 of tokenizer\.ggml\.tokens"):
        inspect_gguf(write(tmp_path, gguf.to_bytes()))


def test_an_absurd_array_length_is_refused(tmp_path: Path) -> None:
    gguf = GGUF()
    gguf.kvs.append(kv_raw("evil.array", ARRAY, struct.pack("<IQ", UINT32, 1 << 62)))
    with pytest.raises(ModelLoadError, match=r"array 'evil.array' claims"):
        inspect_gguf(write(tmp_path, gguf.to_bytes()))


def test_an_unknown_value_type_is_refused(tmp_path: Path) -> None:
    gguf = GGUF()
    gguf.kvs.append(kv_raw("evil.value", 77, b"\0" * 8))
    with pytest.raises(ModelLoadError, match=r"unknown value type 77"):
        inspect_gguf(write(tmp_path, gguf.to_bytes()))


def test_nested_arrays_are_refused(tmp_path: Path) -> None:
    gguf = GGUF()
    gguf.kvs.append(kv_raw("evil.nested", ARRAY, struct.pack("<IQ", ARRAY, 1)))
    with pytest.raises(ModelLoadError, match=r"nested arrays"):
        inspect_gguf(write(tmp_path, gguf.to_bytes()))


def test_a_duplicate_key_is_refused(tmp_path: Path) -> None:
    gguf = GGUF()
    gguf.kvs.append(kv_uint32("general.file_type", 1))
    with pytest.raises(ModelLoadError, match=r"appears twice"):
        inspect_gguf(write(tmp_path, gguf.to_bytes()))


def test_a_tensor_with_five_dimensions_is_refused(tmp_path: Path) -> None:
    gguf = GGUF(tensors=[tensor_info("weight", (1, 1, 1, 1, 1))])
    with pytest.raises(ModelLoadError, match=r"5 dimensions"):
        inspect_gguf(write(tmp_path, gguf.to_bytes()))


def test_a_tensor_of_unknown_type_is_refused(tmp_path: Path) -> None:
    gguf = GGUF(tensors=[tensor_info("weight", (8, 2), ggml_type=4)])  # Q4_2: long removed
    with pytest.raises(ModelLoadError, match=r"unknown ggml type 4"):
        inspect_gguf(write(tmp_path, gguf.to_bytes()))


def test_a_tensor_pointing_past_the_end_is_refused(tmp_path: Path) -> None:
    gguf = GGUF(tensors=[tensor_info("weight", (8, 2), offset=1 << 40)])
    with pytest.raises(ModelLoadError, match=r"tensor weight ends past the end of the file"):
        inspect_gguf(write(tmp_path, gguf.to_bytes()))


def test_absurd_tensor_dimensions_are_refused(tmp_path: Path) -> None:
    gguf = GGUF(tensors=[tensor_info("weight", (1 << 40, 1 << 40))])
    with pytest.raises(ModelLoadError, match=r"absurd dimensions"):
        inspect_gguf(write(tmp_path, gguf.to_bytes()))


def test_a_missing_architecture_is_refused(tmp_path: Path) -> None:
    gguf = GGUF()
    del gguf.kvs[0]
    with pytest.raises(ModelLoadError, match=r"general.architecture is missing"):
        inspect_gguf(write(tmp_path, gguf.to_bytes()))


def test_a_non_power_of_two_alignment_is_refused(tmp_path: Path) -> None:
    gguf = GGUF()
    gguf.kvs.append(kv_raw("general.alignment", UINT32, struct.pack("<I", 24)))
    with pytest.raises(ModelLoadError, match=r"not a power of two"):
        inspect_gguf(write(tmp_path, gguf.to_bytes()))


def test_a_truncated_download_of_the_real_model_is_detected(
    tmp_path: Path, model_path: Path
) -> None:
    with model_path.open("rb") as handle:
        head = handle.read(model_path.stat().st_size * 6 // 10)
    with pytest.raises(ModelLoadError, match=r"is truncated: tensor .* ends past the end"):
        inspect_gguf(write(tmp_path, head))


def test_a_file_cut_inside_the_header_is_detected(tmp_path: Path, model_path: Path) -> None:
    with model_path.open("rb") as handle:
        head = handle.read(100_000)  # inside the tokenizer vocabulary
    with pytest.raises(ModelLoadError, match=r"truncated or damaged"):
        inspect_gguf(write(tmp_path, head))
