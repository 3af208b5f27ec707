"""Nothing leaves the machine unless the user asked for it (issue 32).

Every process below runs with an audit hook (a ``sitecustomize`` on its path) that records each
name looked up and each connection attempted that is not this machine: an ingest, a question and
a server start answering a question over HTTP, with the default settings (the OpenVINO backend,
which once sent a Google Analytics event at import) and no telemetry switch in the environment.
HOME is a fresh folder, so no opt-out left by an earlier run on this machine can hide a call home.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent

HOOK = '''
import ipaddress, os, sys

_LOG = os.environ["OUTBOUND_LOG"]


def _local(host):
    if host is None or host in ("", "localhost", "localhost.localdomain"):
        return True
    try:
        address = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _record(kind, host, port):
    with open(_LOG, "a") as f:
        f.write(f"{os.getpid()} {kind} {host} {port} {' '.join(sys.argv)[:120]}\\n")


def _hook(event, args):
    if event == "socket.getaddrinfo" and not _local(args[0]):
        _record("lookup", args[0], args[1])
    elif event == "socket.connect" and isinstance(args[1], tuple) and not _local(args[1][0]):
        _record("connect", args[1][0], args[1][1])


sys.addaudithook(_hook)
'''

QUESTION = "What did the expert say about China?"


@pytest.fixture
def offline_env(tmp_path):
    hook_dir = tmp_path / "hook"
    hook_dir.mkdir()
    (hook_dir / "sitecustomize.py").write_text(HOOK)
    home = tmp_path / "home"
    home.mkdir()
    real_cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")  # the exported models
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("ASSISTANT_") and name not in (
               "GRADIO_ANALYTICS_ENABLED", "ANONYMIZED_TELEMETRY", "HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY",
               "DO_NOT_TRACK", "NNCF_CI", "CI")}
    env.update(HOME=str(home), XDG_CACHE_HOME=real_cache, OUTBOUND_LOG=str(tmp_path / "outbound.log"),
               PYTHONPATH=os.pathsep.join([str(hook_dir), str(ROOT)]), ASSISTANT_DATA_DIR=str(tmp_path / "data"))
    (tmp_path / "outbound.log").write_text("")
    return env, tmp_path / "outbound.log", home


def run(env, *args, timeout=300):
    return subprocess.run([sys.executable, "-m", "assistant", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_an_ingest_a_question_and_a_server_make_no_outbound_connection_and_ctrl_c_stops_it(offline_env):
    env, log, home = offline_env
    ingested = run(env, "ingest", str(ROOT / "corpus"), "--json")
    assert ingested.returncode == 0, ingested.stderr[-2000:]
    asked = run(env, "ask", QUESTION, "--json")
    assert asked.returncode == 0, asked.stderr[-2000:]
    assert json.loads(asked.stdout)["citations"]

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--port", str(port)], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.5)
        answer = httpx.post(f"{base}/api/ask", json={"question": QUESTION}, timeout=60)
        assert answer.status_code == 200 and answer.json()["citations"]
        assert httpx.get(f"{base}/", timeout=30).status_code == 200  # the web chat's page
        for page in ("/docs", "/redoc"):  # the API docs, from installed files: every asset on this server
            html = httpx.get(f"{base}{page}", timeout=30)
            assert html.status_code == 200
            assets = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", html.text)
            assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets), assets
            for asset in assets:
                assert httpx.get(f"{base}{asset}", timeout=30).status_code == 200, asset
        # The web chat's event streams never end by themselves: Ctrl-C must not wait for them.
        streams = [threading.Thread(target=_hold_stream, args=(f"{base}/gradio_api/heartbeat/s{i}",), daemon=True)
                   for i in range(3)]
        for stream in streams:
            stream.start()
        time.sleep(1)
    finally:
        interrupted = time.monotonic()
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    stopped = time.monotonic() - interrupted
    print(f"Ctrl-C with 3 event streams open: stopped in {stopped:.2f} s")
    assert server.returncode == 0 and stopped < 20, f"{stopped:.1f} s, exit {server.returncode}"
    assert log.read_text() == "", "outbound attempts:\n" + log.read_text()
    assert (home / "intel" / "openvino_telemetry").read_text() == "0"  # OpenVINO's own opt-out, recorded


def _hold_stream(url: str) -> None:
    try:
        with httpx.stream("GET", url, timeout=60) as response:
            for _ in response.iter_bytes():
                pass
    except httpx.HTTPError:
        pass


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
