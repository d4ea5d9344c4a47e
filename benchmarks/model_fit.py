"""How close the fit estimate (:mod:`ember.engines.fit`) comes to what a load really takes.

For each real model (SmolLM2 135M Q4_1, Gemma 3 270M Q4_K_M) and three context sizes, a fresh
child process imports llama-cpp-python, notes its resident set (VmRSS), loads the model on the
CPU with that context and evaluates a prompt filling 90% of it (so the KV cache and the attention
scratch are really touched, as in a long conversation), then reads its peak resident set
(VmHWM). Measured = peak − the resident set before the load; predicted =
:attr:`MemoryEstimate.rss_bytes`. ``max_rel_error`` is the largest |predicted − measured| ÷
measured (target <= 0.15). ``reserved`` (what llama.cpp allocates, the figure the fit label uses)
is shown beside it.

Usage: ``python benchmarks/model_fit.py [--quick]``  (``--quick``: smaller contexts, < 60 s)
The last line of stdout is one JSON object. Last full run (2 cores, AVX-512): max_rel_error
0.030 (SmolLM2 2048 tokens +3.0%); --quick 0.031. The coefficients were fitted on these same
models, so this checks the formula, not its reach to other models.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from ember.engines.fit import estimate_memory
from ember.engines.gguf import inspect_gguf

CONTEXTS = (512, 2048, 8192)
QUICK_CONTEXTS = (512, 1024, 2048)
FILL = 0.9  # share of the context the prompt fills

# Runs in the child: one load, one prompt, the resident set before and at its peak (bytes).
CHILD = r"""
import json, sys
import llama_cpp

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)

path, n_ctx, fill = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
before = status("VmRSS")
llama = llama_cpp.Llama(model_path=path, n_ctx=n_ctx, n_threads=2, n_threads_batch=2,
                        n_gpu_layers=0, verbose=False)
vocab = llama.n_vocab()
tokens = [llama.token_bos()] + [(7 + 31 * i) % (vocab - 1000) + 500 for i in range(int(n_ctx * fill))]
llama.eval(tokens)
print(json.dumps({"before": before, "peak": status("VmHWM"), "vm_peak": status("VmPeak")}))
"""


def measure(path: Path, n_ctx: int) -> dict[str, int]:
    """Peak resident bytes of a child that loads ``path`` at ``n_ctx`` and fills the context."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(n_ctx), str(FILL)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller contexts (< 60 s)")
    args = parser.parse_args()
    contexts = QUICK_CONTEXTS if args.quick else CONTEXTS
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support
    from tests.support.real_models import gemma3_gguf, smollm2_gguf

    rows = []
    for label, path in (
        ("SmolLM2-135M Q4_1", smollm2_gguf()),
        ("Gemma3-270M Q4_K_M", gemma3_gguf()),
    ):
        info = inspect_gguf(path)
        for n_ctx in contexts:
            estimate = estimate_memory(info, n_ctx)
            got = measure(path, n_ctx)
            measured = got["peak"] - got["before"]
            rows.append(
                {
                    "model": label,
                    "n_ctx": n_ctx,
                    "predicted_mb": round(estimate.rss_bytes / 1e6, 1),
                    "measured_mb": round(measured / 1e6, 1),
                    "reserved_mb": round(estimate.total_bytes / 1e6, 1),
                    "rel_error": round((estimate.rss_bytes - measured) / measured, 4),
                }
            )
    print(
        f"{'model':<20}{'n_ctx':>7}{'predicted MB':>14}{'measured MB':>13}{'error':>8}"
        f"{'reserved MB':>13}"
    )
    for row in rows:
        print(
            f"{row['model']:<20}{row['n_ctx']:>7}{row['predicted_mb']:>14.1f}"
            f"{row['measured_mb']:>13.1f}{row['rel_error']:>+8.1%}{row['reserved_mb']:>13.1f}"
        )
    worst = max(abs(row["rel_error"]) for row in rows)
    print(
        json.dumps(
            {
                "benchmark": "model_fit",
                "quick": args.quick,
                "max_rel_error": round(worst, 4),
                "target": 0.15,
                "rows": rows,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
