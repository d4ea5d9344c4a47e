"""Ember: a local-first desktop assistant that chats with open models about your documents."""

from __future__ import annotations

__version__ = "0.1.0"

import os as _os

# Nothing phones home: the embedder must never reach for a hub. Set before any Hugging Face import.
_os.environ["HF_HUB_OFFLINE"] = "1"
_os.environ["TRANSFORMERS_OFFLINE"] = "1"
_os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
_os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
