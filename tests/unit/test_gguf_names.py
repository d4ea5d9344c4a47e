from ember.gguf_names import is_gguf, is_projector, part_names, split_part


def test_a_split_models_parts_are_read_from_its_name() -> None:
    assert split_part("Qwen-Q4_K_M-00002-of-00003.gguf") == ("Qwen-Q4_K_M", 2, 3)
    assert split_part("Qwen-Q4_K_M.GGUF") is None
    assert split_part("Qwen-2-of-3.gguf") is None  # five digits each, as gguf-split writes
    assert part_names("m-00002-of-00003.GGUF") == [
        "m-00001-of-00003.GGUF",
        "m-00002-of-00003.GGUF",
        "m-00003-of-00003.GGUF",
    ]
    assert part_names("m.gguf") == []


def test_a_projector_is_any_gguf_whose_name_holds_mmproj() -> None:
    assert is_projector("mmproj-model-f16.gguf")
    assert is_projector("Qwen2-VL-2B-Instruct-mmproj-Q8_0.gguf")
    assert is_projector("llava-v1.6.mmproj-f16.gguf")  # no dash before it
    assert is_projector("vision/MMPROJ_f16.GGUF")
    assert not is_projector("folder-mmproj/model-Q4_K_M.gguf")  # only the file's own name counts
    assert not is_projector("mmproj-model-f16.safetensors")
    assert is_gguf("a.GGUF") and not is_gguf("a.gguf.part")
