"""Secrets (API key, header values, base_url query strings) never leave the process in readable form.

A real simulator checks that the key is sent; a small echo server echoes every request header and the
request path (with its query) back: in a 401's error message, in a 429's (under /limited), and as the
answer itself (under /content, where `expect:` fails and the mismatch quotes the answer), so the sidecar
sees its own secrets in the answers it classifies, logs and shows.
"""
import http.server
import json
import re
import secrets
import signal
import subprocess
import threading
import time

import pytest

from conftest import free_port, http_get, total

SIM_KEY = "sk-test-simulator"  # the key the conftest simulator fixture requires


class EchoHandler(http.server.BaseHTTPRequestHandler):
    """Answers every request, a WebSocket upgrade included, with the request echoed: 401 (429 under
    /limited) with it in the error message, or under /content a completion whose answer it is."""

    protocol_version = "HTTP/1.1"
    received: list[str]  # set on the subclass made per server

    def _reject(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        lines = [self.requestline, self.path] + [f"{name}: {value}" for name, value in self.headers.items()]
        echoed = "\n".join(lines)
        self.received.append(echoed)
        status, extra = 401, {}
        body = json.dumps({"error": {"message": f"rejected: {echoed}", "type": "invalid_request_error"}}).encode()
        if self.path.startswith("/limited/"):
            status, extra = 429, {"Retry-After": "1"}
            body = json.dumps({"error": {"message": f"slow down: {echoed}", "type": "rate_limit_error"}}).encode()
        elif self.path.startswith("/content/"):
            status = 200
            body = json.dumps({"choices": [{"message": {"role": "assistant", "content": echoed}}]}).encode()
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_HEAD = do_OPTIONS = _reject

    def log_message(self, format, *args):  # keep pytest output quiet
        pass


@pytest.fixture
def echo_server():
    received: list[str] = []
    handler = type("Echo", (EchoHandler,), {"received": received})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], received
    server.shutdown()
    server.server_close()
    thread.join(5)


def counter(metrics: str, target: str, transport: str, outcome: str) -> float:
    """The value of inference_probe_probes_total for one series and outcome (0 when absent)."""
    return total(metrics, "inference_probe_probes_total", target=target, transport=transport, outcome=outcome)


SERIES = [("sim", t, "success") for t in ("http", "http_sse", "websocket")] + \
         [("echo", t, "auth_error") for t in ("http", "http_sse", "websocket")] + \
         [("echo-query", t, "auth_error") for t in ("http", "websocket")] + \
         [("echo-limited", "http", "rate_limited"), ("echo-content", "http", "content_mismatch")]


@pytest.mark.parametrize("level", ["debug", "info", "warn", "error"])
def test_secrets_never_leak(binary, simulator, echo_server, tmp_path, level):
    echo_port, received = echo_server
    key = "sk-" + secrets.token_hex(16)
    header_value = "hdr-" + secrets.token_hex(12)
    query_value = "qry-" + secrets.token_hex(12)
    sim_header_value = "simhdr-" + secrets.token_hex(12)
    config = tmp_path / "probe.yml"
    config.write_text(f"""
global: {{interval: 1s, timeout: 3s}}
targets:
  - name: sim
    base_url: {simulator}
    model: simulated-model
    transports: [http, http_sse, websocket]
    api_key_env: SIM_KEY
    headers: {{X-Probe-Tag: {sim_header_value}}}
  - name: echo
    base_url: http://127.0.0.1:{echo_port}/v1
    model: simulated-model
    transports: [http, http_sse, websocket]
    api_key_env: ECHO_KEY
    headers: {{X-Probe-Tag: {header_value}}}
  - name: echo-query
    base_url: http://127.0.0.1:{echo_port}/v1?sig={query_value}
    model: simulated-model
    transports: [http, websocket]
    api_key_env: ECHO_KEY
    api_key_query: api_key
    headers: {{X-Probe-Tag: {header_value}}}
  - name: echo-limited
    base_url: http://127.0.0.1:{echo_port}/limited/v1
    model: simulated-model
    transports: [http]
    api_key_env: ECHO_KEY
    headers: {{X-Probe-Tag: {header_value}}}
  - name: echo-content
    base_url: http://127.0.0.1:{echo_port}/content/v1
    model: simulated-model
    transports: [http]
    api_key_env: ECHO_KEY
    headers: {{X-Probe-Tag: {header_value}}}
    expect: {{regex: banana}}
""")
    env = {"SIM_KEY": SIM_KEY, "ECHO_KEY": key, "PATH": "/usr/bin:/bin"}
    all_secrets = [(key, "sk-"), (header_value, "hdr-"), (query_value, "qry-"), (sim_header_value, "simhdr-")]

    check = subprocess.run([binary, "check-config", "--config.file", str(config)],
                           capture_output=True, text=True, env=env, timeout=30)
    assert check.returncode == 0, check.stderr
    check_output = check.stdout + check.stderr
    assert "5 target(s), 10 series" in check_output

    port = free_port()
    out_path, err_path = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen([binary, "run", "--config.file", str(config),
                                 "--web.listen-address", f"127.0.0.1:{port}", "--log.level", level],
                                stdout=out, stderr=err, env=env)
    try:
        metrics = status_page = ""
        started = time.monotonic()
        while time.monotonic() < started + 8:
            time.sleep(0.25)
            try:
                code, metrics = http_get(f"http://127.0.0.1:{port}/metrics", timeout=2)
            except OSError:
                continue
            # at least ~3 rounds of probes (a reused WebSocket connection included), and every series seen
            if code == 200 and time.monotonic() > started + 2.5 and all(counter(metrics, *s) > 0 for s in SERIES):
                break
        code, metrics = http_get(f"http://127.0.0.1:{port}/metrics", timeout=2)
        assert code == 200
        code, status_page = http_get(f"http://127.0.0.1:{port}/", timeout=2)
        assert code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    run_output = out_path.read_text() + err_path.read_text()

    # The probes really happened and the echo server really saw (and echoed) every secret.
    for series in SERIES:
        assert counter(metrics, *series) > 0, f"{series} not counted:\n{metrics}"
    echoed = "\n".join(received)
    assert f"Authorization: Bearer {key}" in echoed
    assert f"X-Probe-Tag: {header_value}" in echoed
    assert f"sig={query_value}" in echoed
    assert f"api_key={key}" in echoed
    assert "Upgrade: websocket" in echoed or "upgrade: websocket" in echoed.lower()
    assert "401" in status_page

    if level == "debug":
        # The run really logged its start, its probes and its shutdown, so they were all checked above.
        assert "Starting service lifecycle" in run_output, run_output
        assert re.search(r"Signal caught|Service lifecycle ended", run_output), run_output
        assert re.search(r"outcome=auth_error target=echo-query", run_output), run_output
        assert re.search(r"outcome=content_mismatch target=echo-content", run_output), run_output
    if level in ("debug", "info", "warn"):
        assert "probe failed" in run_output, run_output

    # Neither a whole secret nor a cut-off piece of one (a detail shortened around a secret) may show.
    leaks = []
    for name, text in [("check-config output", check_output), ("run stdout/stderr", run_output),
                       ("/metrics", metrics), ("status page", status_page)]:
        for secret, marker in all_secrets:
            fragment = secret[:len(marker) + 3]  # the marker and 3 random hex digits
            if fragment in text:
                line = next(line for line in text.splitlines() if fragment in line)
                leaks.append(f"{'whole' if secret in text else 'partial'} {secret!r} in {name}: {line}")
    assert not leaks, "secrets leaked:\n" + "\n".join(leaks)
