"""Shared helpers: start the built `inference-probe` binary and talk to it over loopback."""
import asyncio
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def binary() -> str:
    path = Path(os.environ.get("INFERENCE_PROBE_BIN", ROOT / ".build" / "debug" / "inference-probe"))
    if not path.is_file():
        pytest.fail(f"{path} not found: run `swift build` first (Tests/run does)")
    return str(path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A child process whose standard output is read line by line."""

    def __init__(self, args, env=None):
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: list[str] = []

    def wait_for_line(self, pattern: str, timeout: float = 30) -> re.Match:
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                if self.proc.poll() is not None:
                    raise AssertionError(f"process exited ({self.proc.returncode}): {self.proc.stderr.read()}")
                continue
            self.lines.append(line)
            if match := regex.search(line):
                return match
        raise AssertionError(f"no line matching {pattern!r} within {timeout}s; got {self.lines}")

    def stop(self, sig=signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


def http_get(url: str, timeout: float = 5) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def simulator(binary):
    """The simulator on a free port with fixed delays; yields its base URL."""
    proc = Process([binary, "simulate", "--listen", "127.0.0.1:0", "--ttft", "50ms", "--ttft-spread", "0ms",
                    "--inter-token", "5ms", "--inter-token-spread", "0ms", "--tokens", "12",
                    "--api-key-env", "SIM_KEY"], env={"SIM_KEY": "sk-test-simulator"})
    match = proc.wait_for_line(r"listening on (http://\S+/v1)")
    yield match.group(1)
    assert proc.stop() == 0


@pytest.fixture
def demo(binary):
    """`inference-probe demo` with its metrics on a free port; yields the metrics base URL."""
    port = free_port()
    proc = Process([binary, "demo", "--web.listen-address", f"127.0.0.1:{port}", "--interval", "1s"])
    proc.wait_for_line(r"metrics:\s+http://\S+/metrics")
    yield proc, f"http://127.0.0.1:{port}"
    proc.stop()


def samples(metrics: str, name: str, **labels) -> list[tuple[dict, float]]:
    """Every sample of `name` in a Prometheus text exposition whose labels include `labels`."""
    found = []
    for line in metrics.splitlines():
        match = re.match(rf"{name}\{{([^}}]*)\}} (\S+)$", line)
        if match:
            found_labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
            if all(found_labels.get(k) == v for k, v in labels.items()):
                found.append((found_labels, float(match.group(2))))
    return found


def total(metrics: str, name: str, **labels) -> float:
    """The sum of the samples `samples` finds (0 when there are none)."""
    return sum(value for _, value in samples(metrics, name, **labels))


def scrape(url: str, timeout: float = 3) -> str:
    """The body of a 200 answer, else "" (the server not up yet, or restarting)."""
    try:
        status, body = http_get(url, timeout=timeout)
    except OSError:
        return ""
    return body if status == 200 else ""


class LoopbackServer:
    """An aiohttp application served on 127.0.0.1 from its own thread and event loop."""

    def __init__(self, app: web.Application):
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner = None
        self.port = 0

    def start(self) -> "LoopbackServer":
        self.thread.start()

        async def setup():
            self.runner = web.AppRunner(self.app, shutdown_timeout=1, access_log=None)
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            return site._server.sockets[0].getsockname()[1]

        self.port = asyncio.run_coroutine_threadsafe(setup(), self.loop).result(10)
        return self

    def stop(self):
        async def shutdown():
            await self.runner.cleanup()
            # handlers still sleeping (their client gave up long ago) end here, not at interpreter exit
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(15)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            if not self.thread.is_alive():
                self.loop.close()
