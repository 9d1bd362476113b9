"""The WebSocket prober against servers written by others: uvicorn (FastAPI, default `--ws auto`),
aiohttp and websocketd, each speaking the simulator's dialect (one request message in, one message per
`chat.completion.chunk`, then `[DONE]`, connection kept)."""
import json
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest

from conftest import Process, free_port, scrape, total

TOKENS = 5

CHUNK = json.dumps({"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m",
                    "choices": [{"index": 0, "delta": {"content": "1"}, "finish_reason": None}]})

FASTAPI_APP = f"""
import json
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()
CHUNK = {CHUNK!r}

@app.websocket("/v1/stream")
async def stream(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            json.loads(await websocket.receive_text())
            for _ in range({TOKENS}):
                await websocket.send_text(CHUNK)
            await websocket.send_text("[DONE]")
    except WebSocketDisconnect:
        pass
"""

AIOHTTP_APP = f"""
import json, sys
from aiohttp import web, WSMsgType

CHUNK = {CHUNK!r}

async def stream(request):
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            json.loads(msg.data)
            for _ in range({TOKENS}):
                await ws.send_str(CHUNK)
            await ws.send_str("[DONE]")
    return ws

app = web.Application()
app.router.add_get("/v1/stream", stream)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=lambda *a: print(*a, flush=True))
"""

WEBSOCKETD_SCRIPT = f"""
import json, sys
CHUNK = {CHUNK!r}
for line in sys.stdin:
    json.loads(line)
    for _ in range({TOKENS}):
        print(CHUNK)
    print("[DONE]", flush=True)
"""


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port} after {timeout}s")


def start_server(args, port, tmp_path, name):
    log = open(tmp_path / f"{name}.log", "w")
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc)
    except BaseException:
        proc.kill()
        proc.wait(5)
        log.close()
        raise
    return proc, log


def stop_server(proc, log):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    log.close()


@pytest.fixture
def uvicorn_server(tmp_path):
    (tmp_path / "fastapi_app.py").write_text(FASTAPI_APP)
    port = free_port()
    proc, log = start_server([sys.executable, "-m", "uvicorn", "fastapi_app:app", "--host", "127.0.0.1",
                              "--port", str(port), "--log-level", "warning"], port, tmp_path, "uvicorn")
    yield f"http://127.0.0.1:{port}/v1"
    stop_server(proc, log)


@pytest.fixture
def aiohttp_server(tmp_path):
    (tmp_path / "aiohttp_app.py").write_text(AIOHTTP_APP)
    port = free_port()
    proc, log = start_server([sys.executable, "aiohttp_app.py", str(port)], port, tmp_path, "aiohttp")
    yield f"http://127.0.0.1:{port}/v1"
    stop_server(proc, log)


@pytest.fixture
def websocketd_server(tmp_path):
    websocketd = shutil.which("websocketd")
    if not websocketd:
        pytest.skip("websocketd is not installed")
    (tmp_path / "ws_script.py").write_text(WEBSOCKETD_SCRIPT)
    port = free_port()
    proc, log = start_server([websocketd, "--port", str(port), "--address", "127.0.0.1", "--loglevel", "error",
                              sys.executable, "-u", str(tmp_path / "ws_script.py")], port, tmp_path, "websocketd")
    yield f"http://127.0.0.1:{port}/v1"
    stop_server(proc, log)


@pytest.fixture
def sidecar(binary, tmp_path):
    """Starts `run` on a config; yields a function (config text -> metrics base URL)."""
    started = []

    def start(config_text: str) -> str:
        config = tmp_path / "probe.yml"
        config.write_text(config_text)
        port = free_port()
        proc = Process([binary, "run", "--config.file", str(config), "--web.listen-address", f"127.0.0.1:{port}",
                        "--log.level", "error"])
        started.append(proc)
        return f"http://127.0.0.1:{port}"

    yield start
    for proc in started:
        proc.stop()


@pytest.mark.parametrize("peer", ["uvicorn_server", "aiohttp_server", "websocketd_server"])
def test_websocket_probes_succeed_against_peer(request, peer):
    base_url = request.getfixturevalue(peer)
    sidecar = request.getfixturevalue("sidecar")  # set up after the peer, so stopped before it
    url = sidecar(f"""
global: {{interval: 1s, timeout: 5s}}
targets:
  - name: peer
    base_url: {base_url}
    model: m
    transports: [websocket]
""")
    series = dict(target="peer", model="m", transport="websocket")
    deadline = time.monotonic() + 8
    metrics = ""
    while time.monotonic() < deadline:
        metrics = scrape(f"{url}/metrics")
        if total(metrics, "inference_probe_probes_total", outcome="success", **series) >= 2:
            break
        time.sleep(0.2)
    successes = total(metrics, "inference_probe_probes_total", outcome="success", **series)
    assert successes >= 2, f"{peer}: {metrics}\n{scrape(url + '/')}"
    failures = [line for line in metrics.splitlines() if line.startswith("inference_probe_probes_total{")
                and 'outcome="success"' not in line and not line.endswith(" 0")]
    assert not failures, failures
    assert total(metrics, "inference_probe_output_tokens_total", **series) == TOKENS * successes
    # One connection served every probe: the upgrade was timed once, by the probe that opened it.
    assert total(metrics, "inference_probe_connection_setup_seconds_count", **series) == 1


def test_unrouted_websocket_path_is_refused_not_a_timeout(uvicorn_server, sidecar):
    # uvicorn refuses an upgrade on a path without a route with 403, which reads as an auth_error: the
    # status page row shows the 403, so the operator sees it is the path, not the key.
    url = sidecar(f"""
global: {{interval: 1s, timeout: 10s}}
targets:
  - name: peer
    base_url: {uvicorn_server}
    model: m
    transports: [websocket]
    websocket_path: nowhere
""")
    started = time.monotonic()
    status_page = ""
    while time.monotonic() < started + 4:
        status_page = scrape(f"{url}/")
        if re.search(r"^peer/m/chat_completions/websocket\s.*auth_error", status_page, re.M):
            break
        time.sleep(0.2)
    row = next((line for line in status_page.splitlines() if line.startswith("peer/m/chat_completions/websocket")), "")
    assert "auth_error" in row and "403" in row, status_page
    metrics = scrape(f"{url}/metrics")
    series = dict(target="peer", model="m", transport="websocket")
    assert total(metrics, "inference_probe_probes_total", outcome="auth_error", **series) >= 1
    assert total(metrics, "inference_probe_probes_total", outcome="timeout", **series) == 0
