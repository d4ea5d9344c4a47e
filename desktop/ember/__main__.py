from __future__ import annotations

from ember.cli import main

raise SystemExit(main())
