"""Ember works with no network at all and listens for connections only when asked to.

The one server is the local API (``ember serve``, or the Settings switch, off by default): it
binds 127.0.0.1 unless the person confirms another address, and every request needs its key.

The end-to-end run happens inside a fresh network namespace (``unshare -n``: no interface but a
loopback that is down), so any update check, telemetry or model download would fail or time out
there instead of passing silently.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.children import REPO_ROOT, child_env
from tests.support.offline_run import listening, my_socket_inodes

import ember

PACKAGE = Path(ember.__file__).resolve().parent


def _can_unshare_network() -> bool:
    if sys.platform != "linux":
        return False
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.netns
@pytest.mark.skipif(
    not _can_unshare_network(), reason="needs root and `unshare -n` (network namespaces)"
)
def test_index_ask_with_sources_and_the_window_work_without_any_network(tmp_path: Path) -> None:
    folder = tmp_path / "manuals"
    folder.mkdir()
    (folder / "aurora.md").write_text(
        "# Aurora 3 kettle\n\nThe Aurora 3 kettle switches itself off after 40 seconds at the "
        "boil. Descale it monthly with vinegar.\n"
    )
    env = child_env(EMBER_HOME=str(tmp_path / "home"), QT_QPA_PLATFORM="offscreen")
    env.pop("HF_HUB_OFFLINE", None)  # Ember must set these itself
    env.pop("TRANSFORMERS_OFFLINE", None)
    done = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "tests.support.offline_run", str(folder)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["indexed"] == 1 and result["failed"] == []
    assert result["sources"] == ["aurora.md"]
    assert "40 seconds" in result["answer"]
    assert result["window_shown"] is True
    assert result["listening"] == [], "Ember opened a listening socket"
    # Nothing waited on a network timeout (a blocked download or update check would take 10 s+).
    assert "Traceback" not in done.stderr and "timed out" not in done.stderr.lower()


def test_offline_switches_are_set_by_importing_ember_before_hugging_face_libraries() -> None:
    env = child_env()
    env.pop("HF_HUB_OFFLINE", None)
    env.pop("TRANSFORMERS_OFFLINE", None)
    probe = (
        "import os, sys\n"
        "import ember\n"
        "assert 'sentence_transformers' not in sys.modules and 'transformers' not in sys.modules\n"
        "assert 'huggingface_hub' not in sys.modules\n"
        "print(os.environ.get('HF_HUB_OFFLINE'), os.environ.get('TRANSFORMERS_OFFLINE'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "1"]


def test_the_embedder_reads_its_model_with_the_hub_offline() -> None:
    env = child_env()
    env.pop("HF_HUB_OFFLINE", None)
    probe = (
        "import ember.knowledge.embedder as e\n"
        "e.default_embedder().load()\n"
        "import huggingface_hub.constants as c\n"
        "print(c.HF_HUB_OFFLINE)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "True"


SERVER_CALLS = re.compile(
    r"\.bind\(|\.listen\(|serve_forever|HTTPServer|TCPServer|UDPServer|create_server|"
    r"start_server|QTcpServer|QLocalServer|uvicorn|aiohttp\.web"
)


# The one exception: the app's single-instance hand-over (a second `ember PATH` gives its paths
# to the running window) listens on a local socket (QLocalServer: a Unix domain socket, no
# network), readable by this user only; the test below holds it to that.
LOCAL_SOCKET_ONLY = {
    "ember/ui/single_instance.py": re.compile(r"QLocalServer|\.listen\("),
    "ember/ui/qt.py": re.compile(r"QLocalServer"),
    "ember/ui/app.py": re.compile(r"^\s*instance\.listen\(\)"),
    # The local API (uvicorn on a socket of its own): off unless the person starts it, bound to
    # 127.0.0.1 by default (another address only once confirmed), and every request must carry
    # the API key (tests/unit/api/test_security.py). Only this module binds and runs uvicorn.
    "ember/api/server.py": re.compile(r"uvicorn|\.bind\(|\.listen\(|serve_forever"),
    "ember/api/__init__.py": re.compile(r"uvicorn"),  # its docstring names the stack
}


def test_no_module_of_ember_starts_a_server() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE.parent).as_posix()
        allowed = LOCAL_SOCKET_ONLY.get(name)
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            code = line.split("#", 1)[0]
            if not SERVER_CALLS.search(code):
                continue
            if allowed is not None and allowed.search(code):
                continue
            offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == [], "Ember must not listen for connections:\n" + "\n".join(offenders)


def test_the_local_api_is_off_and_on_loopback_by_default() -> None:
    from ember.api.config import ServeConfig
    from ember.config import Settings

    settings = Settings()
    assert settings.api_enabled is False
    assert settings.api_host == "127.0.0.1" and ServeConfig().host == "127.0.0.1"
    assert ServeConfig().loopback


def test_the_single_instance_socket_is_local_and_for_this_user_only() -> None:
    source = (PACKAGE / "ui" / "single_instance.py").read_text("utf-8")
    assert "QTcpServer" not in source and "socket.socket" not in source
    assert "setSocketOptions(QLocalServer.SocketOption.UserAccessOption)" in source


def test_the_listening_socket_probe_sees_a_listener() -> None:
    """The check used above really notices a listening socket (a positive control)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert listening(my_socket_inodes())
    assert os.path.exists("/proc/net/tcp")
