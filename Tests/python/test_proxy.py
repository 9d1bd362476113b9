"""Egress through an HTTP CONNECT proxy: Debian's `tinyproxy`, a proxy nobody here wrote, run as a child.

The simulator serves https and wss with a certificate of a test CA made with `openssl`; the sidecar
trusts that CA through the target's `tls.ca_file`, so every probe's TLS runs end to end inside the tunnel.
tinyproxy logs each `CONNECT host:port` it is asked for, which says which probes went through it.

Needs the `tinyproxy` and `openssl` programs (Debian: `apt-get install tinyproxy`); no tinyproxy service
has to run: each test starts its own on a free loopback port with a config in its tmp_path.
"""
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from conftest import Process, free_port, samples, scrape, total

SIM_KEY = "sk-test-simulator"
MODEL = "simulated-model"
TRANSPORTS = ("http", "http_sse", "websocket")
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy",
                   "ALL_PROXY", "all_proxy")
DEADLINE = 15  # seconds a sidecar gets to show what a test waits for (probes run every second)

TINYPROXY = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"


@pytest.fixture(autouse=True)
def require_tinyproxy():
    """A missing proxy is a failure, not a skip: Tests/run and .ci/run install it."""
    if not os.access(TINYPROXY, os.X_OK):
        pytest.fail("tinyproxy is not installed (Debian: apt-get install tinyproxy; Tests/run does)")


# --- certificates and the TLS simulator ------------------------------------------------------------------

def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """A test CA and a server certificate it signed for 127.0.0.1 and localhost: (ca.pem, server.pem, server.key)."""
    directory = tmp_path_factory.mktemp("certs")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=inference-probe proxy test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            cwd=directory)
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1", cwd=directory)
    (directory / "server.ext").write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                          "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "server.ext", cwd=directory)
    return directory / "ca.pem", directory / "server.pem", directory / "server.key"


@pytest.fixture(scope="module")
def tls_simulator(binary, certs):
    """The simulator serving https/wss with the test certificate; yields (base URL, port)."""
    _, cert, key = certs
    proc = Process([binary, "simulate", "--listen", "127.0.0.1:0", "--ttft", "20ms", "--ttft-spread", "0ms",
                    "--inter-token", "2ms", "--inter-token-spread", "0ms", "--tokens", "8",
                    "--api-key-env", "SIM_KEY", "--tls.cert-file", str(cert), "--tls.key-file", str(key)],
                   env={"SIM_KEY": SIM_KEY})
    match = proc.wait_for_line(r"listening on (https://127\.0\.0\.1:(\d+)/v1)")
    yield match.group(1), int(match.group(2))
    assert proc.stop() == 0


# --- tinyproxy -----------------------------------------------------------------------------------------

def wait_for_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{what}: nothing listens on {port} after {timeout}s")


class Tinyproxy:
    """`tinyproxy -d -c CONF` in the foreground on a free loopback port, logging to a file."""

    def __init__(self, directory, name: str, extra: list[str]):
        self.port = free_port()
        self.log_path = directory / f"{name}.log"
        self.conf_path = directory / f"{name}.conf"
        # No ConnectPort line: tinyproxy then tunnels to any port (the simulator's is not 443).
        self.conf_path.write_text("\n".join([
            f"Port {self.port}", "Listen 127.0.0.1", "Timeout 30", "MaxClients 50", "Allow 127.0.0.1",
            "LogLevel Info", f'LogFile "{self.log_path}"', *extra]) + "\n")
        self.output = open(directory / f"{name}.out", "w")
        self.proc = subprocess.Popen([TINYPROXY, "-d", "-c", str(self.conf_path)],
                                     stdout=self.output, stderr=subprocess.STDOUT)
        try:
            wait_for_port(self.port, self.proc, f"tinyproxy {name}")
        except BaseException:
            self.stop()
            raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def connects(self, port: int | None = None) -> list[str]:
        """The CONNECT requests tinyproxy received (to `port` only, if given)."""
        authority = rf"127\.0\.0\.1:{port}" if port else r"\S+"
        return re.findall(rf"Request \(file descriptor \d+\): (CONNECT {authority} HTTP/1\.[01])", self.log())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.output.close()


@pytest.fixture
def tinyproxy(tmp_path):
    """Starts tinyproxies: a function (name, extra config lines) -> Tinyproxy; all stopped afterwards."""
    started = []

    def start(name: str = "tinyproxy", extra: list[str] = ()) -> Tinyproxy:
        proxy = Tinyproxy(tmp_path, name, list(extra))
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()


# --- the sidecar ---------------------------------------------------------------------------------------

class Sidecar:
    def __init__(self, binary, tmp_path, config_text: str, env: dict, level: str):
        self.config = tmp_path / "probe.yml"
        self.config.write_text(config_text)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.out_path, self.err_path = tmp_path / "sidecar.stdout", tmp_path / "sidecar.stderr"
        # The runner's own proxy variables must not reach the sidecar: only those a test sets do.
        base = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.proc = subprocess.Popen([binary, "run", "--config.file", str(self.config),
                                          "--web.listen-address", f"127.0.0.1:{self.port}", "--log.level", level],
                                         stdout=out, stderr=err, env={**base, "SIM_KEY": SIM_KEY, **env})

    def output(self) -> str:
        return self.out_path.read_text() + self.err_path.read_text()

    def metrics(self) -> str:
        if self.proc.poll() is not None:
            raise AssertionError(f"sidecar exited ({self.proc.returncode}): {self.output()}")
        return scrape(f"{self.url}/metrics")

    def wait_until(self, condition, timeout: float = DEADLINE) -> str:
        """Polls /metrics until condition(metrics) holds; returns the last metrics (condition may not hold)."""
        deadline = time.monotonic() + timeout
        metrics = ""
        while time.monotonic() < deadline:
            metrics = self.metrics() or metrics
            if metrics and condition(metrics):
                break
            time.sleep(0.2)
        return metrics

    def status_page(self, html: bool = False) -> str:
        request = urllib.request.Request(f"{self.url}/", headers={"Accept": "text/html" if html else "text/plain"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
            return response.read().decode()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def sidecar(binary, tmp_path):
    """Starts `run`: a function (config text, env, log level) -> Sidecar; stopped afterwards."""
    started = []

    def start(config_text: str, env: dict | None = None, level: str = "warn") -> Sidecar:
        proc = Sidecar(binary, tmp_path, config_text, env or {}, level)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


def target_yaml(name: str, base_url: str, ca_file=None, proxy_url: str | None = None,
                transports=TRANSPORTS) -> str:
    lines = [f"  - name: {name}", f"    base_url: {base_url}", f"    model: {MODEL}",
             f"    transports: [{', '.join(transports)}]", "    api_key_env: SIM_KEY"]
    if ca_file:
        lines.append(f"    tls: {{ca_file: {ca_file}}}")
    if proxy_url:
        lines.append(f"    proxy_url: {proxy_url}")
    return "\n".join(lines) + "\n"


def config_yaml(*targets: str) -> str:
    return "global: {interval: 1s, timeout: 5s, connect_timeout: 3s}\ntargets:\n" + "".join(targets)


def count(metrics: str, target: str, transport: str, outcome: str) -> float:
    return total(metrics, "inference_probe_probes_total", target=target, transport=transport, outcome=outcome)


def outcomes(metrics: str, target: str, transport: str) -> dict[str, float]:
    """The non-zero outcome counts of one series."""
    return {labels["outcome"]: value
            for labels, value in samples(metrics, "inference_probe_probes_total", target=target, transport=transport)
            if value}


def all_counted(target: str, outcome: str, at_least: int = 1, transports=TRANSPORTS):
    return lambda metrics: all(count(metrics, target, t, outcome) >= at_least for t in transports)


def row(status_page: str, target: str, transport: str) -> str:
    return next((line for line in status_page.splitlines()
                 if line.startswith(f"{target}/") and line.split()[0].endswith(f"/{transport}")), "")


def phase(metrics: str, target: str, transport: str, name: str) -> list[float]:
    return [value for _, value in samples(metrics, "inference_probe_connection_phase_seconds",
                                          target=target, transport=transport, phase=name)]


def assert_tunnelled(metrics: str, target: str, proxy: Tinyproxy, sim_port: int):
    """Every transport succeeded, nothing else; each connection went through a CONNECT to the simulator."""
    for transport in TRANSPORTS:
        assert outcomes(metrics, target, transport).keys() == {"success"}, (transport, outcomes(metrics, target,
                                                                                             transport))
        proxy_connect = phase(metrics, target, transport, "proxy_connect")
        assert proxy_connect and proxy_connect[0] > 0, f"{transport}: no proxy_connect phase\n{metrics}"
        tls = phase(metrics, target, transport, "tls")
        assert tls and tls[0] > 0, f"{transport}: no tls phase (TLS inside the tunnel)\n{metrics}"
    # http and http_sse open a connection per probe, the WebSocket one connection for all: so at least
    # that many CONNECTs (read after the metrics, so the log can only be ahead of them).
    opened = sum(count(metrics, target, t, "success") for t in ("http", "http_sse")) + 1
    connects = proxy.connects(sim_port)
    assert len(connects) >= opened, f"{len(connects)} CONNECTs for {opened} connections:\n{proxy.log()}"
    assert len(proxy.connects()) == len(connects), f"CONNECTs elsewhere:\n{proxy.log()}"


# --- tests ---------------------------------------------------------------------------------------------

def test_proxy_url_tunnels_every_transport(tls_simulator, certs, tinyproxy, sidecar):
    base_url, sim_port = tls_simulator
    proxy = tinyproxy()
    run = sidecar(config_yaml(target_yaml("sim", base_url, certs[0], proxy.url)))
    metrics = run.wait_until(all_counted("sim", "success", at_least=2))
    assert_tunnelled(metrics, "sim", proxy, sim_port)
    # the persistent WebSocket stayed up through the tunnel: one connection served every probe
    assert total(metrics, "inference_probe_connection_setup_seconds_count", target="sim", transport="websocket") == 1


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy"])
def test_https_proxy_variable_tunnels_https_targets(tls_simulator, certs, tinyproxy, sidecar, variable):
    base_url, sim_port = tls_simulator
    proxy = tinyproxy()
    # HTTP_PROXY is for http/ws targets: pointing at nothing, it must not be used for this https target.
    run = sidecar(config_yaml(target_yaml("sim", base_url, certs[0])),
                  env={variable: proxy.url, "HTTP_PROXY": f"http://127.0.0.1:{free_port()}"})
    metrics = run.wait_until(all_counted("sim", "success", at_least=2))
    assert_tunnelled(metrics, "sim", proxy, sim_port)


def test_http_proxy_variable_tunnels_plain_http_targets(simulator, tinyproxy, sidecar):
    sim_port = int(re.search(r":(\d+)/v1$", simulator).group(1))
    proxy = tinyproxy()
    # HTTPS_PROXY is for https/wss targets: pointing at nothing, it must not be used for this http target.
    run = sidecar(config_yaml(target_yaml("plain", simulator)),
                  env={"HTTP_PROXY": proxy.url, "HTTPS_PROXY": f"http://127.0.0.1:{free_port()}"})
    metrics = run.wait_until(all_counted("plain", "success", at_least=2))
    for transport in TRANSPORTS:
        assert outcomes(metrics, "plain", transport).keys() == {"success"}, (transport, metrics)
        proxy_connect = phase(metrics, "plain", transport, "proxy_connect")
        assert proxy_connect and proxy_connect[0] > 0, f"{transport}: no proxy_connect phase\n{metrics}"
    opened = sum(count(metrics, "plain", t, "success") for t in ("http", "http_sse")) + 1
    assert len(proxy.connects(sim_port)) >= opened, proxy.log()


@pytest.mark.parametrize("variable,value", [
    ("NO_PROXY", "127.0.0.1"),
    ("no_proxy", "example.com,127.0.0.1"),
    ("NO_PROXY", "127.0.0.1:{port}"),
    ("NO_PROXY", "*"),
])
def test_no_proxy_goes_direct(tls_simulator, certs, tinyproxy, sidecar, variable, value):
    base_url, sim_port = tls_simulator
    proxy = tinyproxy()
    run = sidecar(config_yaml(target_yaml("sim", base_url, certs[0])),
                  env={"HTTPS_PROXY": proxy.url, variable: value.format(port=sim_port)})
    metrics = run.wait_until(all_counted("sim", "success", at_least=2))
    for transport in TRANSPORTS:
        assert outcomes(metrics, "sim", transport).keys() == {"success"}, (transport, metrics)
        assert not any(phase(metrics, "sim", transport, "proxy_connect")), f"{transport} went through a proxy"
    assert proxy.connects() == [], f"{variable}={value} still used the proxy:\n{proxy.log()}"


def test_no_proxy_not_matching_still_uses_the_proxy(tls_simulator, certs, tinyproxy, sidecar):
    base_url, sim_port = tls_simulator
    proxy = tinyproxy()
    run = sidecar(config_yaml(target_yaml("sim", base_url, certs[0])),
                  env={"HTTPS_PROXY": proxy.url, "NO_PROXY": ".example.com,10.0.0.1,127.0.0.1:1,localhost"})
    metrics = run.wait_until(all_counted("sim", "success"))
    assert_tunnelled(metrics, "sim", proxy, sim_port)


def assert_detail(run: Sidecar, target: str, transport: str, outcome: str, status: int):
    """The status page row of the series shows the outcome and the proxy's status, and so does the
    warning the sidecar logged for the failed probe."""
    status_row = row(run.status_page(), target, transport)
    assert outcome in status_row and mentions_status(status_row, status), status_row
    logged = [line for line in run.output().splitlines()
              if outcome in line and f"target={target}" in line and f"transport={transport}" in line]
    assert any(mentions_status(line, status) for line in logged), "\n".join(logged) or run.output()[-3000:]


def mentions_status(detail: str, status: int) -> bool:
    """The status code as a number of its own (not inside a port, a figure or a timestamp's fraction)."""
    return re.search(rf"(?<![\d.:]){status}(?![\d.])", detail) is not None


def test_proxy_requiring_authentication(tls_simulator, certs, tinyproxy, sidecar):
    base_url, sim_port = tls_simulator
    proxy = tinyproxy("auth", ["BasicAuth user pass"])
    credentialed = proxy.url.replace("http://", "http://user:pass@")
    run = sidecar(config_yaml(target_yaml("no-credentials", base_url, certs[0], proxy.url),
                              target_yaml("credentials", base_url, certs[0], credentialed)))
    metrics = run.wait_until(lambda m: all_counted("no-credentials", "proxy_error")(m)
                             and all_counted("credentials", "success")(m))
    for transport in TRANSPORTS:
        assert outcomes(metrics, "no-credentials", transport).keys() == {"proxy_error"}, (transport, metrics)
        assert outcomes(metrics, "credentials", transport).keys() == {"success"}, (transport, metrics)
        assert_detail(run, "no-credentials", transport, "proxy_error", 407)
    # tinyproxy saw the CONNECTs (it logs the request line; the 407 it answers is not logged)
    assert proxy.connects(sim_port), proxy.log()


def test_proxy_refusing_the_port(tls_simulator, certs, tinyproxy, sidecar):
    base_url, sim_port = tls_simulator
    proxy = tinyproxy("port443", ["ConnectPort 443"])
    run = sidecar(config_yaml(target_yaml("refused", base_url, certs[0], proxy.url)))
    metrics = run.wait_until(all_counted("refused", "proxy_error"))
    for transport in TRANSPORTS:
        assert outcomes(metrics, "refused", transport).keys() == {"proxy_error"}, (transport, metrics)
        assert_detail(run, "refused", transport, "proxy_error", 403)
    assert proxy.connects(sim_port), proxy.log()


def test_proxy_that_cannot_reach_the_target(certs, tinyproxy, sidecar):
    # tinyproxy answers a CONNECT to a port nobody listens on with "500 Unable to connect": the proxy
    # refused the CONNECT, so a proxy_error naming 500 (not a connect_error: the sidecar reached its proxy).
    proxy = tinyproxy()
    dead = free_port()
    run = sidecar(config_yaml(target_yaml("unreachable", f"https://127.0.0.1:{dead}/v1", certs[0], proxy.url)))
    metrics = run.wait_until(all_counted("unreachable", "proxy_error"))
    for transport in TRANSPORTS:
        assert outcomes(metrics, "unreachable", transport).keys() == {"proxy_error"}, (transport, metrics)
        assert_detail(run, "unreachable", transport, "proxy_error", 500)
    assert proxy.connects(dead), proxy.log()


def test_proxy_not_listening_is_a_connect_error(tls_simulator, certs, sidecar):
    base_url, _ = tls_simulator
    dead = free_port()
    run = sidecar(config_yaml(target_yaml("proxy-down", base_url, certs[0], f"http://127.0.0.1:{dead}")))
    metrics = run.wait_until(all_counted("proxy-down", "connect_error"))
    for transport in TRANSPORTS:
        assert outcomes(metrics, "proxy-down", transport).keys() == {"connect_error"}, (transport, metrics)


def test_proxy_password_never_leaks(binary, tls_simulator, certs, tinyproxy, sidecar, tmp_path):
    base_url, _ = tls_simulator
    password = "pxpw-" + secrets.token_hex(12)
    wrong = "pxwrong-" + secrets.token_hex(12)
    proxy = tinyproxy("auth", [f"BasicAuth probeuser {password}"])
    # good: the right password; bad: a wrong one (refused with 407); down: the right one for a proxy that is
    # not listening, so the connect_error detail names the proxy (and must not show its user-info)
    config = config_yaml(
        target_yaml("good", base_url, certs[0], proxy.url.replace("http://", f"http://probeuser:{password}@")),
        target_yaml("bad", base_url, certs[0], proxy.url.replace("http://", f"http://probeuser:{wrong}@")),
        target_yaml("down", base_url, certs[0], f"http://probeuser:{password}@127.0.0.1:{free_port()}"))
    env = {"SIM_KEY": SIM_KEY, "PATH": "/usr/bin:/bin"}
    check_file = tmp_path / "check.yml"
    check_file.write_text(config)
    check = subprocess.run([binary, "check-config", "--config.file", str(check_file)],
                           capture_output=True, text=True, env=env, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "3 target(s), 9 series" in check.stdout + check.stderr
    run = sidecar(config, env=env, level="debug")
    metrics = run.wait_until(lambda m: all_counted("good", "success", at_least=2)(m)
                             and all_counted("bad", "proxy_error", at_least=2)(m)
                             and all_counted("down", "connect_error", at_least=2)(m))
    for transport in TRANSPORTS:
        assert outcomes(metrics, "good", transport).keys() == {"success"}, (transport, metrics)
        assert outcomes(metrics, "bad", transport).keys() == {"proxy_error"}, (transport, metrics)
        assert outcomes(metrics, "down", transport).keys() == {"connect_error"}, (transport, metrics)
    text_page, html_page = run.status_page(), run.status_page(html=True)
    metrics = scrape(f"{run.url}/metrics")
    assert metrics and "<html" in html_page.lower() and "proxy_error" in text_page
    assert run.stop() == 0
    output = run.output()
    # the failures were logged (with their detail), so the search below covered them
    assert re.search(r"proxy_error.*target=bad|target=bad.*proxy_error", output), output[-3000:]
    assert re.search(r"connect_error.*target=down|target=down.*connect_error", output), output[-3000:]

    leaks = []
    for name, text in [("check-config output", check.stdout + check.stderr), ("run stdout/stderr", output),
                       ("/metrics", metrics), ("status page (text)", text_page), ("status page (html)", html_page)]:
        for secret, marker in [(password, "pxpw-"), (wrong, "pxwrong-")]:
            fragment = secret[:len(marker) + 3]  # the marker and 3 random hex digits
            if fragment in text:
                line = next(line for line in text.splitlines() if fragment in line)
                leaks.append(f"{'whole' if secret in text else 'partial'} {secret!r} in {name}: {line}")
    assert not leaks, "proxy password leaked:\n" + "\n".join(leaks)
