"""Where the hub is, who we are to it, and its errors in a person's words: one place for all three.

- :func:`endpoint` reads ``HF_ENDPOINT`` at call time (``huggingface_hub`` reads it once, at
  import), so a test, a mirror or a company hub set after start-up is honoured.
- :func:`token` reads ``HF_TOKEN`` (then ``HUGGING_FACE_HUB_TOKEN``); gated repositories need it.
- :func:`online` lifts ``huggingface_hub``'s offline switch, which ``import ember`` sets so the
  embedder never reaches for a hub, for the duration of a search or download a person asked for,
  and keeps ``huggingface_hub``'s own warnings ("… Retrying in 1s") off the terminal: the
  :class:`HubError` Ember raises says what went wrong. The switch is the library's, so it is
  lifted for the whole process meanwhile; nothing else in Ember asks a hub for anything (the
  embedder loads its files from a local folder, by path), so the switch is a second line of
  defence and this module the only way past it.
- :func:`translate` turns ``huggingface_hub``/``httpx`` failures into :class:`HubError` with a
  message that says what to do.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ember.errors import HubError

DEFAULT_ENDPOINT = "https://huggingface.co"
TIMEOUT_S = 10.0  # seconds a hub API request may take to connect or to send its next bytes

_online_lock = threading.Lock()
_online_users = 0


def endpoint() -> str:
    """The hub's base URL, without a trailing slash."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def token() -> str | None:
    """The access token for gated or private repositories, or None."""
    return os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN") or None


@contextmanager
def online() -> Iterator[None]:
    """Let ``huggingface_hub`` make requests inside this block (thread-safe, re-entrant)."""
    global _online_users
    from huggingface_hub import constants

    with _online_lock:
        _online_users += 1
        constants.HF_HUB_OFFLINE = False
        logging.getLogger("huggingface_hub").setLevel(logging.ERROR)
    try:
        yield
    finally:
        with _online_lock:
            _online_users -= 1
            if _online_users == 0:
                constants.HF_HUB_OFFLINE = True


def status_of(exc: BaseException) -> int | None:
    """The HTTP status behind a ``huggingface_hub`` error, or None (a transport failure)."""
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def translate(exc: BaseException, repo_id: str = "") -> HubError:
    """``exc`` (from ``huggingface_hub`` or ``httpx``) as a :class:`HubError` a person can act on."""
    from huggingface_hub import errors

    where = endpoint()
    repo = f" {repo_id}" if repo_id else ""
    if isinstance(exc, errors.GatedRepoError) and token():
        return HubError(
            f"The model{repo} is gated, and the token in HF_TOKEN cannot read it. Open "
            f"{where}/{repo_id} logged in as the account the token belongs to and accept the "
            "licence there, or set HF_TOKEN to a token of an account that has."
        )
    if isinstance(exc, errors.GatedRepoError):
        return HubError(
            f"The model{repo} is gated: its authors ask you to accept their licence first. Open "
            f"{where}/{repo_id} while logged in, accept it, then create a read token at "
            f"{where}/settings/tokens and start Ember with HF_TOKEN set to it."
        )
    if isinstance(exc, errors.RepositoryNotFoundError):
        return HubError(
            f"The hub at {where} has no model repository{repo} (or it is private: set HF_TOKEN "
            "to a token that can read it). Check the name."
        )
    if isinstance(exc, errors.RevisionNotFoundError):
        return HubError(f"The repository{repo} has no such revision on {where}.")
    if isinstance(exc, errors.EntryNotFoundError):
        return HubError(f"The repository{repo} on {where} has no such file; it may have moved.")
    if isinstance(exc, errors.OfflineModeIsEnabled):
        return HubError("Ember is offline (HF_HUB_OFFLINE is set), so it cannot reach the hub.")
    status = status_of(exc)
    if status == 429:
        return HubError(f"The hub at {where} is rate-limiting requests (429); try again shortly.")
    if status is not None and status >= 500:
        return HubError(f"The hub at {where} has a problem ({status}); try again later.")
    if status is not None:
        return HubError(f"The hub at {where} refused the request ({status}): {exc}")
    return HubError(
        f"Cannot reach the model hub at {where}: {exc}. Check your connection, or HF_ENDPOINT "
        "if you use a mirror."
    )
