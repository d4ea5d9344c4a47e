"""Child process for the download tests and benchmark: run one queued download, report the end.

``python -m tests.support.download_child JOB_ID [--fsize-limit BYTES]`` runs the job from the
queue in ``EMBER_HOME`` against the hub ``HF_ENDPOINT`` names. ``--fsize-limit`` sets
``RLIMIT_FSIZE`` first (SIGXFSZ ignored), so a write past it fails with EFBIG, which is what a full
disk looks like to the downloader. Prints one JSON line: ``{"error": type name or null,
"message": str, "model": registered name or ""}``. The parent may ``kill -9`` it at any time.
"""

from __future__ import annotations

import argparse
import json
import resource
import signal


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("job_id")
    parser.add_argument("--fsize-limit", type=int, default=0)
    args = parser.parse_args()
    if args.fsize_limit:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.fsize_limit, args.fsize_limit))
    from ember.errors import EmberError
    from ember.hub.downloads import DownloadQueue

    result = {"error": None, "message": "", "model": ""}
    try:
        entry = DownloadQueue().run(args.job_id, lambda event: None)
        result["model"] = entry.name
    except EmberError as exc:
        result = {"error": type(exc).__name__, "message": str(exc), "model": ""}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
