"""The bundle's entry point (packaging/ember.spec freezes this script as ``ember``).

``ember ARGS...`` is the ``ember`` command (:func:`ember.cli.main`); ``ember -m ember.MODULE
ARGS...`` runs that module as ``python -m`` would, which is how Ember starts its child processes
(``sys.executable`` is this executable in the bundle). Other modules are refused (exit status 2).
"""

from __future__ import annotations

import os
import sys

from ember.bundle import (
    ModuleRefused,
    bundle_dir,
    module_invocation,
    prepare_frozen_environment,
    run_module,
)


def main() -> int:
    root = bundle_dir()
    if root is not None:
        prepare_frozen_environment(os.environ, root)
    try:
        invocation = module_invocation(sys.argv)
    except ModuleRefused as exc:
        print(f"ember: {exc}", file=sys.stderr)
        return 2
    if invocation is not None:
        run_module(*invocation)
        return 0
    from ember.cli import main as ember_main

    return ember_main()


if __name__ == "__main__":
    raise SystemExit(main())
