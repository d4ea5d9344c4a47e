"""Child process: ``python -m ember.knowledge.onnx_export_main MODEL_DIR PRECISION OUT``.

Exports the model to ``OUT`` (:func:`ember.knowledge.onnx_export.export`); exit status 0 and the
lowest cosine to torch on stdout, or 1 and the reason as the last line of stderr, which
:func:`~ember.knowledge.onnx_export.ensure_exported` hands on in its error.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    import ember  # noqa: F401  (offline Hugging Face settings before transformers loads)
    from ember.errors import ModelLoadError
    from ember.knowledge.onnx_export import PRECISIONS, export

    if len(argv) != 3 or argv[1] not in PRECISIONS:
        print("usage: onnx_export_main MODEL_DIR fp32|int8 OUT", file=sys.stderr)
        return 2
    try:
        cosine = export(Path(argv[0]), Path(argv[2]), argv[1])
    except ModelLoadError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{cosine:.6f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
