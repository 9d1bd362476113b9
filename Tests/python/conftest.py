"""Shared helpers: start the built `inference-probe` binary and talk to it over loopback."""
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

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
