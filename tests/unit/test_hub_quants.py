"""GGUF file names read as models: quantization, split parts joined, projectors, the default pick."""

from __future__ import annotations

import pytest

from ember.hub.quants import default_quantization, group_files, quantization_of
from ember.hub.types import HubFile, Quant


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("qwen2.5-1.5b-instruct-q4_k_m.gguf", "Q4_K_M"),
        ("SmolLM2-135M-Instruct.Q4_1.gguf", "Q4_1"),
        ("gemma-3-270m-q4_k_m.gguf", "Q4_K_M"),
        ("Llama-3.2-3B-Instruct-IQ4_XS.gguf", "IQ4_XS"),
        ("Phi-4-mini-instruct-Q8_0.gguf", "Q8_0"),
        ("model-IQ2_XXS.gguf", "IQ2_XXS"),
        ("model-bf16.gguf", "BF16"),
        ("model.fp16.gguf", "F16"),
        ("Qwen3-30B-A3B-UD-Q4_K_XL.gguf", "UD-Q4_K_XL"),
        ("model-Q4_0_4_4.gguf", "Q4_0_4_4"),
        ("Q4_K_M/Qwen2.5-72B-Instruct-Q4_K_M-00001-of-00002.gguf", "Q4_K_M"),
        ("Q5_K_M/model-00002-of-00003.gguf", "Q5_K_M"),  # only the folder says
        ("qwen2.5-7b-instruct.gguf", ""),
    ],
)
def test_the_quantization_is_read_from_the_file_name(filename: str, expected: str) -> None:
    assert quantization_of(filename) == expected


def test_split_parts_join_in_part_order_and_projectors_stand_apart() -> None:
    files = [
        HubFile("README.md", 10),
        HubFile("m-Q8_0-00002-of-00002.gguf", 400),
        HubFile("m-Q4_K_M.gguf", 300),
        HubFile("mmproj-m-f16.gguf", 50),
        HubFile("m-Q8_0-00001-of-00002.gguf", 500),
        HubFile("m-F16-00001-of-00003.gguf", 900),  # part 2 and 3 missing: cannot load
        HubFile("m-F16-00003-of-00003.gguf", 900),
    ]
    quants, projectors = group_files(files)
    assert [q.quantization for q in quants] == ["Q4_K_M", "Q8_0"]  # smallest first
    split = quants[1]
    assert split.split and [f.filename for f in split.files] == [
        "m-Q8_0-00001-of-00002.gguf",
        "m-Q8_0-00002-of-00002.gguf",
    ]
    assert split.size_bytes == 900 and split.filename == "m-Q8_0-00001-of-00002.gguf"
    assert [p.filename for p in projectors] == ["mmproj-m-f16.gguf"]


def _quants(*names: str) -> list[Quant]:
    return [
        Quant(name, (HubFile(f"m-{name}.gguf", 100 * (i + 1)),)) for i, name in enumerate(names)
    ]


def test_q4_k_m_is_preselected_when_the_repository_has_it() -> None:
    assert default_quantization(_quants("Q2_K", "Q8_0", "Q4_K_M", "F16")) == "Q4_K_M"


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (("Q3_K_S", "Q5_K_M", "Q8_0"), "Q5_K_M"),
        (("IQ4_XS", "Q6_K", "Q8_0"), "IQ4_XS"),
        (("Q8_0", "F16"), "Q8_0"),
        (("UD-Q4_K_XL", "UD-Q2_K_XL"), "UD-Q4_K_XL"),
        (("F16", "BF16"), "BF16"),
        (("",), ""),
    ],
)
def test_without_q4_k_m_the_nearest_sensible_quant_is_preselected(
    names: tuple[str, ...], expected: str
) -> None:
    assert default_quantization(_quants(*names)) == expected
