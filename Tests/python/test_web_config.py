"""`run --web.config.file`: the exporter-toolkit web config (TLS, client certificates, minimum TLS version,
bcrypt basic auth), checked with real clients (curl, Python's ssl, a real Prometheus) on loopback.

The certificates are made at test time with `openssl`: a CA, a server certificate for 127.0.0.1/localhost
and a client certificate signed by it, and a client certificate from a second, foreign CA. The sidecar
probes the simulator, so /metrics holds its series.
"""
import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.parse
from pathlib import Path

import bcrypt
import pytest
import yaml

from conftest import free_port

SIM_KEY = "sk-test-simulator"  # the key the conftest simulator fixture requires
CURL = shutil.which("curl")
PROMETHEUS = shutil.which("prometheus")
SERIES_LINE = 'inference_probe_probes_total{target="sim"'  # present in /metrics from the start


# ---------------------------------------------------------------------------------------------- certificates

def openssl(*args, cwd: Path):
    run = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    assert run.returncode == 0, f"openssl {' '.join(args)}:\n{run.stderr}"


def make_ca(directory: Path, name: str):
    """name.pem / name.key: a self-signed CA (EC P-256)."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            cwd=directory)


def make_cert(directory: Path, name: str, ca: Path, *, cn: str, serial: int, usage: str, rsa: bool = False):
    """name.pem / name.key in `directory`, signed by the CA `ca` (a path without .pem/.key)."""
    extensions = [f"extendedKeyUsage={usage}", "basicConstraints=critical,CA:FALSE",
                  "keyUsage=critical,digitalSignature,keyEncipherment",
                  "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid"]
    if usage == "serverAuth":
        extensions.append("subjectAltName=IP:127.0.0.1,DNS:localhost")
    (directory / f"{name}.ext").write_text("\n".join(extensions) + "\n")
    key = ["-newkey", "rsa:2048"] if rsa else ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    openssl("req", *key, "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}",
            cwd=directory)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-set_serial", str(serial), "-days", "2", "-out", f"{name}.pem", "-extfile", f"{name}.ext",
            cwd=directory)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    """ca.pem, server.pem/key (CN server-1, serial 0x1001, signed by ca), client.pem/key (signed by ca),
    foreign-ca.pem, foreign-client.pem/key (signed by foreign-ca)."""
    directory = tmp_path_factory.mktemp("pki")
    make_ca(directory, "ca")
    make_ca(directory, "foreign-ca")
    make_cert(directory, "server", directory / "ca", cn="server-1", serial=0x1001, usage="serverAuth", rsa=True)
    make_cert(directory, "client", directory / "ca", cn="client", serial=0x2001, usage="clientAuth")
    make_cert(directory, "foreign-client", directory / "foreign-ca", cn="client", serial=0x2001, usage="clientAuth")
    return directory


def copy_pki(pki: Path, directory: Path, *names: str):
    for name in names:
        shutil.copy(pki / name, directory / name)


def client_context(pki: Path, cert: str | None = None) -> ssl.SSLContext:
    """Trusts ca.pem; presents `cert`.pem/.key from the PKI when given."""
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    if cert:
        context.load_cert_chain(str(pki / f"{cert}.pem"), str(pki / f"{cert}.key"))
    return context


def handshake(port: int, context: ssl.SSLContext) -> tuple[str, dict]:
    """(TLS version, peer certificate) of a new connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        with context.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
            return tls.version(), tls.getpeercert()


def common_name(certificate: dict) -> str:
    return next(value for rdn in certificate["subject"] for key, value in rdn if key == "commonName")


# ---------------------------------------------------------------------------------------------- clients

def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def request(port: int, path: str, *, context: ssl.SSLContext | None = None, headers=None,
            method: str = "GET") -> tuple[int, http.client.HTTPMessage, str]:
    """(status, headers, body) of one request on a new connection; https when `context` is given."""
    if context is None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    else:
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=context)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode(errors="replace")
    finally:
        connection.close()


def curl(*args: str) -> tuple[int, int, str, str]:
    """(curl's exit code, HTTP status or 0, body, stderr)."""
    if not CURL:
        pytest.fail("curl not found: install the Debian package curl")
    run = subprocess.run([CURL, "-sS", "--max-time", "5", "-o", "-", "-w", "\n%{http_code}", *args],
                         capture_output=True, text=True, timeout=15)
    body, _, status = run.stdout.rpartition("\n")
    return run.returncode, int(status or 0), body, run.stderr


def assert_curl_refused(result, what: str):
    """The TLS connection failed: no HTTP answer at all, so certainly no metrics."""
    code, status, body, stderr = result
    assert code != 0 and status == 0, f"{what}: curl exit {code}, HTTP {status}, stderr {stderr!r}, body {body[:300]!r}"
    assert SERIES_LINE not in body


def assert_curl_ok(result, what: str):
    code, status, body, stderr = result
    assert code == 0 and status == 200, f"{what}: curl exit {code}, HTTP {status}, stderr {stderr!r}, body {body[:300]!r}"
    assert SERIES_LINE in body, f"{what}: no metrics of the probed simulator in {body[:500]!r}"


# ---------------------------------------------------------------------------------------------- the sidecar

class Sidecar:
    """`inference-probe run` probing the simulator, with stdout and stderr in files (a debug log cannot fill a pipe)."""

    def __init__(self, binary: str, directory: Path, simulator: str, web_config: Path | None,
                 *, log_level: str = "info", extra=()):
        self.port = free_port()
        self.directory = directory
        (directory / "probe").mkdir(exist_ok=True)  # not beside web.yml: relative paths there are web.yml's
        config = directory / "probe" / "probe.yml"
        config.write_text(f"""
global: {{interval: 1s, timeout: 5s}}
targets:
  - {{name: sim, base_url: "{simulator}", model: sim-model, transports: [http], api_key_env: PROBE_KEY}}
""")
        args = [binary, "run", "--config.file", str(config), "--web.listen-address", f"127.0.0.1:{self.port}",
                "--log.level", log_level, *extra]
        if web_config is not None:
            args += ["--web.config.file", str(web_config)]
        self.stdout_path, self.stderr_path = directory / "sidecar.stdout", directory / "sidecar.stderr"
        with open(self.stdout_path, "w") as out, open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen(args, stdout=out, stderr=err, env={**os.environ, "PROBE_KEY": SIM_KEY})

    def output(self) -> str:
        return self.stdout_path.read_text() + self.stderr_path.read_text()

    def wait_until(self, check, what: str, timeout: float = 20):
        """Polls `check()` (connection errors count as not yet) until it is true."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"sidecar exited ({self.proc.returncode}):\n{self.output()}")
            try:
                last = check()
                if last:
                    return last
            except (OSError, http.client.HTTPException) as error:
                last = error
            time.sleep(0.1)
        raise AssertionError(f"{what} not within {timeout}s; last: {last!r}\n{self.output()[-3000:]}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def sidecars():
    started: list[Sidecar] = []
    yield started
    for sidecar in started:
        sidecar.stop()


def start(sidecars, binary, tmp_path, simulator, web: dict | str | None, *, ready=None, **kwargs) -> Sidecar:
    """Writes `web` to tmp_path/web.yml, starts the sidecar with it and waits until `ready(port)` is 200."""
    web_config = None
    if web is not None:
        web_config = tmp_path / "web.yml"
        web_config.write_text(web if isinstance(web, str) else yaml.safe_dump(web))
    sidecar = Sidecar(binary, tmp_path, simulator, web_config, **kwargs)
    sidecars.append(sidecar)
    ready = ready or (lambda port: request(port, "/-/healthy")[0] == 200)
    sidecar.wait_until(lambda: ready(sidecar.port), "the sidecar answering")
    return sidecar


def bcrypt_hash(password: str, prefix: str = "$2b$") -> str:
    """A cost-10 bcrypt hash; `$2y$` (what htpasswd -B writes) is the same algorithm under another prefix."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(10)).decode()
    return prefix + hashed[4:]


# ---------------------------------------------------------------------------------------------- 1. TLS

def test_tls_serves_metrics_over_https_only(binary, simulator, tmp_path, pki, sidecars):
    copy_pki(pki, tmp_path, "server.pem", "server.key")
    # relative paths: resolved against the web config file's directory, not the working directory
    sidecar = start(sidecars, binary, tmp_path, simulator,
                    {"tls_server_config": {"cert_file": "server.pem", "key_file": "server.key"}},
                    ready=lambda port: request(port, "/-/healthy", context=client_context(pki))[0] == 200)
    port, ca = sidecar.port, str(pki / "ca.pem")

    assert_curl_ok(curl("--cacert", ca, f"https://127.0.0.1:{port}/metrics"), "https with the CA")
    assert_curl_ok(curl("--cacert", ca, f"https://localhost:{port}/metrics"), "https://localhost with the CA")
    # the server really presents the certificate of our CA (a client without it does not trust it)
    assert_curl_refused(curl(f"https://127.0.0.1:{port}/metrics"), "https without the CA")
    version, certificate = handshake(port, client_context(pki))
    assert common_name(certificate) == "server-1" and certificate["serialNumber"] == "1001", certificate

    # plain http to the TLS port gets no metrics (a refusal, or at most an error answer like Go's 400)
    code, status, body, stderr = curl(f"http://127.0.0.1:{port}/metrics")
    assert not (code == 0 and status == 200), (code, status, body[:300], stderr)
    assert SERIES_LINE not in body
    # and the port keeps serving https afterwards
    assert_curl_ok(curl("--cacert", ca, f"https://127.0.0.1:{port}/metrics"), "https after a plain http request")


# ---------------------------------------------------------------------------------------------- 2. mTLS

def test_require_and_verify_client_cert(binary, simulator, tmp_path, pki, sidecars):
    copy_pki(pki, tmp_path, "server.pem", "server.key", "ca.pem")
    sidecar = start(sidecars, binary, tmp_path, simulator,
                    {"tls_server_config": {"cert_file": "server.pem", "key_file": "server.key",
                                           "client_auth_type": "RequireAndVerifyClientCert",
                                           "client_ca_file": "ca.pem"}},
                    ready=lambda port: request(port, "/-/healthy", context=client_context(pki, "client"))[0] == 200)
    url, ca = f"https://127.0.0.1:{sidecar.port}/metrics", str(pki / "ca.pem")

    assert_curl_refused(curl("--cacert", ca, url), "no client certificate")
    assert_curl_refused(curl("--cacert", ca, "--cert", str(pki / "foreign-client.pem"),
                             "--key", str(pki / "foreign-client.key"), url), "a client certificate of a foreign CA")
    assert_curl_ok(curl("--cacert", ca, "--cert", str(pki / "client.pem"), "--key", str(pki / "client.key"), url),
                   "the right client certificate")
    # /-/healthy needs no basic auth, but the TLS layer still wants the certificate
    assert_curl_refused(curl("--cacert", ca, f"https://127.0.0.1:{sidecar.port}/-/healthy"),
                        "/-/healthy without a client certificate")


def test_verify_client_cert_if_given(binary, simulator, tmp_path, pki, sidecars):
    copy_pki(pki, tmp_path, "server.pem", "server.key", "ca.pem")
    sidecar = start(sidecars, binary, tmp_path, simulator,
                    {"tls_server_config": {"cert_file": "server.pem", "key_file": "server.key",
                                           "client_auth_type": "VerifyClientCertIfGiven",
                                           "client_ca_file": "ca.pem"}},
                    ready=lambda port: request(port, "/-/healthy", context=client_context(pki))[0] == 200)
    url, ca = f"https://127.0.0.1:{sidecar.port}/metrics", str(pki / "ca.pem")

    assert_curl_ok(curl("--cacert", ca, url), "no client certificate")
    assert_curl_ok(curl("--cacert", ca, "--cert", str(pki / "client.pem"), "--key", str(pki / "client.key"), url),
                   "the right client certificate")
    assert_curl_refused(curl("--cacert", ca, "--cert", str(pki / "foreign-client.pem"),
                             "--key", str(pki / "foreign-client.key"), url), "a client certificate of a foreign CA")


# ---------------------------------------------------------------------------------------------- 3. min_version

@pytest.mark.parametrize("min_version", ["TLS12", "TLS13"])
def test_min_version(binary, simulator, tmp_path, pki, sidecars, min_version):
    copy_pki(pki, tmp_path, "server.pem", "server.key")
    sidecar = start(sidecars, binary, tmp_path, simulator,
                    {"tls_server_config": {"cert_file": "server.pem", "key_file": "server.key",
                                           "min_version": min_version}},
                    ready=lambda port: request(port, "/-/healthy", context=client_context(pki))[0] == 200)
    url, ca = f"https://127.0.0.1:{sidecar.port}/metrics", str(pki / "ca.pem")

    assert_curl_ok(curl("--cacert", ca, "--tlsv1.3", url), "TLS 1.3")
    assert handshake(sidecar.port, client_context(pki))[0] == "TLSv1.3"
    tls12 = curl("--cacert", ca, "--tlsv1.2", "--tls-max", "1.2", url)
    context = client_context(pki)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    if min_version == "TLS13":
        assert_curl_refused(tls12, "TLS 1.2 against min_version TLS13")
        with pytest.raises(ssl.SSLError):
            handshake(sidecar.port, context)
    else:
        assert_curl_ok(tls12, "TLS 1.2 against min_version TLS12")
        assert handshake(sidecar.port, context)[0] == "TLSv1.2"


# ---------------------------------------------------------------------------------------------- 4. basic auth

def test_basic_auth(binary, simulator, tmp_path, sidecars):
    users = {"alice": bcrypt_hash("alice-pw-7"),
             "bob": bcrypt_hash("b0b:has:colons")}  # a password may hold ':' (RFC 7617)
    sidecar = start(sidecars, binary, tmp_path, simulator, {"basic_auth_users": users})
    port = sidecar.port
    alice, bob = basic("alice", "alice-pw-7"), basic("bob", "b0b:has:colons")

    def rejected(path, headers, what):
        status, response_headers, body = request(port, path, headers=headers)
        assert status == 401, f"{what} on {path}: {status} {body[:300]!r}"
        challenge = response_headers.get("WWW-Authenticate", "")
        assert re.match(r"(?i)basic\b", challenge), f"{what} on {path}: WWW-Authenticate {challenge!r}"
        assert SERIES_LINE not in body

    for path in ["/metrics", "/", "/-/ready", "/no-such-path"]:
        rejected(path, None, "no credentials")
    rejected("/metrics", basic("alice", "wrong-password"), "wrong password")
    rejected("/metrics", basic("alice", ""), "empty password")
    rejected("/metrics", basic("mallory", "alice-pw-7"), "unknown user")
    rejected("/metrics", basic("bob", "alice-pw-7"), "another user's password")
    rejected("/metrics", basic("ALICE", "alice-pw-7"), "user name in other case")
    rejected("/metrics", {"Authorization": "Bearer alice-pw-7"}, "not basic")
    rejected("/metrics", {"Authorization": "Basic !!!not-base64"}, "malformed basic")

    status, _, body = request(port, "/metrics", headers=alice)
    assert status == 200 and SERIES_LINE in body, (status, body[:300])
    status, _, body = request(port, "/metrics", headers=bob)
    assert status == 200 and SERIES_LINE in body, ("bob (password with ':')", status, body[:300])
    status, _, body = request(port, "/", headers={**alice, "Accept": "text/plain"})
    assert status == 200 and "sim" in body, (status, body[:300])
    # /-/ready is 503 until the scheduler runs: with credentials it must get there
    sidecar.wait_until(lambda: request(port, "/-/ready", headers=alice)[0] == 200, "/-/ready with credentials 200")
    assert request(port, "/-/ready")[0] == 401
    assert request(port, "/-/healthy")[0] == 200  # liveness probes carry no credentials


def test_every_bcrypt_prefix_is_accepted(binary, simulator, tmp_path, sidecars):
    """htpasswd -B writes $2y$ (the spec's example), Python's bcrypt $2b$, older tools $2a$: one algorithm."""
    users = {f"user-{prefix}": bcrypt_hash(f"pw-{prefix}", prefix=f"${prefix}$") for prefix in ["2a", "2b", "2y"]}
    sidecar = start(sidecars, binary, tmp_path, simulator, {"basic_auth_users": users})
    accepted = {user: request(sidecar.port, "/metrics", headers=basic(user, "pw-" + user[5:]))[0] for user in users}
    assert accepted == {user: 200 for user in users}, accepted
    rejected = {user: request(sidecar.port, "/metrics", headers=basic(user, "wrong"))[0] for user in users}
    assert rejected == {user: 401 for user in users}, rejected


# ---------------------------------------------------------------------------------------------- 5. Prometheus

def prometheus_query(base: str, expr: str) -> list:
    connection = http.client.HTTPConnection(base, timeout=5)
    try:
        connection.request("GET", "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        answer = json.loads(connection.getresponse().read())
    finally:
        connection.close()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def test_prometheus_scrapes_over_mtls_with_basic_auth(binary, simulator, tmp_path, pki, sidecars):
    if not PROMETHEUS:
        pytest.fail("prometheus not found: install the Debian package prometheus")
    copy_pki(pki, tmp_path, "server.pem", "server.key", "ca.pem")
    password = "prom-scrape-pw"
    sidecar = start(sidecars, binary, tmp_path, simulator,
                    {"tls_server_config": {"cert_file": "server.pem", "key_file": "server.key",
                                           "client_auth_type": "RequireAndVerifyClientCert",
                                           "client_ca_file": "ca.pem"},
                     "basic_auth_users": {"prometheus": bcrypt_hash(password)}},
                    ready=lambda port: request(port, "/-/healthy", context=client_context(pki, "client"))[0] == 200)
    target = f"127.0.0.1:{sidecar.port}"
    tls = {"ca_file": str(pki / "ca.pem"), "cert_file": str(pki / "client.pem"), "key_file": str(pki / "client.key")}

    def job(name, tls_config, basic_auth):
        return {"job_name": name, "scheme": "https", "tls_config": tls_config, "basic_auth": basic_auth,
                "static_configs": [{"targets": [target]}]}

    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [
            job("good", tls, {"username": "prometheus", "password": password}),
            job("wrong-password", tls, {"username": "prometheus", "password": "not-the-password"}),
            job("no-client-cert", {"ca_file": str(pki / "ca.pem")}, {"username": "prometheus", "password": password}),
        ]}))
    port = free_port()
    base = f"127.0.0.1:{port}"
    with open(tmp_path / "prometheus.log", "w") as log:
        prometheus = subprocess.Popen([PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}",
                                       f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address={base}"],
                                      stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 40
        up = {}
        while time.monotonic() < deadline:
            assert prometheus.poll() is None, (tmp_path / "prometheus.log").read_text()[-3000:]
            try:
                up = {s["metric"]["job"]: s["value"][1] for s in prometheus_query(base, "up")}
            except (OSError, http.client.HTTPException, json.JSONDecodeError):
                pass
            if len(up) == 3 and up["good"] == "1":
                break
            time.sleep(0.5)
        assert up == {"good": "1", "wrong-password": "0", "no-client-cert": "0"}, up
        # the good job really got the sidecar's series
        scraped = prometheus_query(base, 'inference_probe_probes_total{job="good", target="sim"}')
        assert scraped, "no inference_probe_probes_total scraped by the good job"
        assert not prometheus_query(base, 'inference_probe_probes_total{job!="good"}')
    finally:
        prometheus.send_signal(signal.SIGTERM)
        try:
            prometheus.wait(20)
        finally:
            if prometheus.poll() is None:
                prometheus.kill()
                prometheus.wait(5)


# ---------------------------------------------------------------------------------------------- 6. re-read

def replace(path: Path, text: str):
    """Writes `path` atomically (a reader sees the old or the new file, never half of one)."""
    staging = path.with_name(path.name + ".new")
    staging.write_text(text)
    os.replace(staging, path)


def test_changed_users_take_effect_without_restart(binary, simulator, tmp_path, sidecars):
    sidecar = start(sidecars, binary, tmp_path, simulator, {"basic_auth_users": {"alice": bcrypt_hash("first-pw")}})
    port, pid = sidecar.port, sidecar.proc.pid
    old, new = basic("alice", "first-pw"), basic("carol", "second-pw")
    assert request(port, "/metrics", headers=old)[0] == 200
    assert request(port, "/metrics", headers=new)[0] == 401

    replace(tmp_path / "web.yml", yaml.safe_dump({"basic_auth_users": {"carol": bcrypt_hash("second-pw")}}))
    changed = time.monotonic()
    sidecar.wait_until(lambda: (request(port, "/metrics", headers=old)[0],
                                request(port, "/metrics", headers=new)[0]) == (401, 200),
                       "old user 401 and new user 200", timeout=10)
    assert time.monotonic() - changed < 5
    assert sidecar.proc.pid == pid and sidecar.proc.poll() is None
    assert request(port, "/-/healthy")[0] == 200


def tls_sidecar(sidecars, binary, tmp_path, simulator, pki) -> Sidecar:
    copy_pki(pki, tmp_path, "server.pem", "server.key")
    sidecar = start(sidecars, binary, tmp_path, simulator,
                    {"tls_server_config": {"cert_file": "server.pem", "key_file": "server.key"}},
                    ready=lambda port: request(port, "/-/healthy", context=client_context(pki))[0] == 200)
    assert common_name(handshake(sidecar.port, client_context(pki))[1]) == "server-1"
    return sidecar


def wait_for_certificate(sidecar: Sidecar, pki: Path, cn: str, serial: str):
    """New connections present the certificate `cn`/`serial` within a few seconds (a request each time, as the
    spec checks for changes on requests), and it serves metrics."""
    changed = time.monotonic()
    seen = []

    def presented():
        request(sidecar.port, "/-/healthy", context=client_context(pki))
        certificate = handshake(sidecar.port, client_context(pki))[1]
        seen.append((common_name(certificate), certificate["serialNumber"]))
        return seen[-1] == (cn, serial)

    try:
        sidecar.wait_until(presented, f"new connections presenting {cn}/{serial}", timeout=10)
    except AssertionError as error:
        raise AssertionError(f"certificates seen (CN, serial): {sorted(set(seen))}\n{error}") from None
    assert time.monotonic() - changed < 5
    status, _, body = request(sidecar.port, "/metrics", context=client_context(pki))
    assert status == 200 and SERIES_LINE in body


def test_certificate_files_replaced_in_place_are_served(binary, simulator, tmp_path, pki, sidecars):
    """A rotation as cert-manager or a renewed Kubernetes secret does it: same paths, new contents."""
    sidecar = tls_sidecar(sidecars, binary, tmp_path, simulator, pki)
    staging = tmp_path / "staging"
    staging.mkdir()
    make_cert(staging, "server", pki / "ca", cn="server-2", serial=0x1002, usage="serverAuth", rsa=True)
    os.replace(staging / "server.key", tmp_path / "server.key")
    os.replace(staging / "server.pem", tmp_path / "server.pem")
    wait_for_certificate(sidecar, pki, "server-2", "1002")


def test_web_config_pointing_to_a_new_certificate_is_served(binary, simulator, tmp_path, pki, sidecars):
    sidecar = tls_sidecar(sidecars, binary, tmp_path, simulator, pki)
    make_cert(tmp_path, "renewed", pki / "ca", cn="server-3", serial=0x1003, usage="serverAuth")
    replace(tmp_path / "web.yml",
            yaml.safe_dump({"tls_server_config": {"cert_file": "renewed.pem", "key_file": "renewed.key"}}))
    wait_for_certificate(sidecar, pki, "server-3", "1003")


# ---------------------------------------------------------------------------------------------- 7. bad files

APR1 = "$apr1$Wd0mRQJ9$sducn4i2zbfEi9L4pibBe/"  # openssl passwd -apr1 (htpasswd -m): MD5, not bcrypt
PLAIN = "plain-text-password-in-hash-slot"

BAD_WEB_CONFIGS = {
    # id: (web config, regexes stderr must match, strings stderr must not show)
    "unknown-top-level-key": ("basic_auth_user:\n  alice: HASH\n", [r"basic_auth_user\b"], []),
    "unknown-tls-key": ("tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  bogus_option: true\n",
                        [r"bogus_option"], []),
    "missing-cert-file": ("tls_server_config:\n  cert_file: no-such-cert.pem\n  key_file: server.key\n",
                          [r"no-such-cert\.pem"], []),
    "missing-client-ca": ("tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n"
                          "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: no-such-ca.pem\n",
                          [r"no-such-ca\.pem"], []),
    "bad-min-version": ("tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  min_version: TLS14\n",
                        [r"TLS14|min_version"], []),
    "bad-client-auth-type": ("tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n"
                             "  client_auth_type: Sometimes\n", [r"Sometimes|client_auth_type"], []),
    "md5-hash": (f"basic_auth_users:\n  alice: '{APR1}'\n", [r"alice", r"(?i)bcrypt|hash"], [APR1, APR1[6:14]]),
    "plain-password": (f"basic_auth_users:\n  alice: {PLAIN}\n", [r"alice", r"(?i)bcrypt|hash"], [PLAIN]),
    "not-yaml": ("tls_server_config: [cert_file\n", [], []),
}


@pytest.mark.parametrize("case", list(BAD_WEB_CONFIGS) + ["missing-web-config"])
def test_bad_web_config_exits_1_naming_file_and_problem(binary, tmp_path, pki, case):
    copy_pki(pki, tmp_path, "server.pem", "server.key")
    web_config = tmp_path / "bad-web-config.yml"
    expected, hidden = [r"(?i)no such file|not found|does not exist|cannot (open|read)"], []
    if case != "missing-web-config":
        text, expected, hidden = BAD_WEB_CONFIGS[case]
        web_config.write_text(text)
    sidecar = Sidecar(binary, tmp_path, "http://127.0.0.1:9/v1", web_config)  # never probed: it exits first
    served = False
    deadline = time.monotonic() + 10
    while sidecar.proc.poll() is None and time.monotonic() < deadline:
        with socket.socket() as probe:  # "before serving": nothing ever accepts on the port
            probe.settimeout(0.2)
            served = served or probe.connect_ex(("127.0.0.1", sidecar.port)) == 0
        time.sleep(0.02)
    try:
        code = sidecar.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        sidecar.stop()
        raise AssertionError(f"{case}: still running after 10 s:\n{sidecar.output()[-3000:]}")
    stderr = sidecar.stderr_path.read_text()
    assert code == 1, f"{case}: exit {code}\n{stderr}"
    assert not served, f"{case}: the port accepted connections before the exit"
    assert "bad-web-config.yml" in stderr, f"{case}: the web config file is not named:\n{stderr}"
    for pattern in expected:
        assert re.search(pattern, stderr), f"{case}: {pattern!r} not in stderr:\n{stderr}"
    for secret in hidden:
        assert secret not in sidecar.output(), f"{case}: credential {secret!r} in the output:\n{sidecar.output()}"


# ---------------------------------------------------------------------------------------------- 8. secrets

def test_credentials_never_logged(binary, simulator, tmp_path, pki, sidecars):
    copy_pki(pki, tmp_path, "server.pem", "server.key")
    password, wrong = "Sup3r-s3cret-scrape-pw", "Typo-s3cret-scrape-pw"
    hashed = bcrypt_hash(password)
    sidecar = start(sidecars, binary, tmp_path, simulator,
                    {"tls_server_config": {"cert_file": "server.pem", "key_file": "server.key"},
                     "basic_auth_users": {"scraper": hashed}},
                    ready=lambda port: request(port, "/-/healthy", context=client_context(pki))[0] == 200,
                    log_level="debug")
    port, context = sidecar.port, client_context(pki)
    pages = []
    for headers, expected in [(basic("scraper", wrong), 401), (basic("intruder", password), 401),
                              (basic(password, password), 401), (basic("scraper", ""), 401), ({}, 401),
                              (basic("scraper", password), 200)]:
        for path in ["/metrics", "/", "/-/ready"]:
            status, response_headers, body = request(port, path, context=context, headers=headers)
            assert status == expected or (path.startswith("/-/ready") and status == 503 and expected == 200), \
                (headers, path, status)
            pages.append(f"{response_headers}\n{body}")
    # a curl client too (its own header order and keep-alive)
    assert_curl_ok(curl("--cacert", str(pki / "ca.pem"), "-u", f"scraper:{password}",
                        f"https://127.0.0.1:{port}/metrics"), "curl with credentials")
    code, status, _, _ = curl("--cacert", str(pki / "ca.pem"), "-u", f"scraper:{wrong}",
                              f"https://127.0.0.1:{port}/metrics")
    assert status == 401
    assert sidecar.stop() == 0
    output = sidecar.output()
    assert re.search(r"(?m)^\S+ debug ", output), f"no debug lines, so the level was not debug:\n{output[-2000:]}"

    secrets = {"password": password, "wrong password": wrong, "bcrypt hash": hashed,
               "bcrypt salt+digest": hashed[7:], "Authorization value":
               basic("scraper", password)["Authorization"].split()[1],
               "wrong Authorization value": basic("scraper", wrong)["Authorization"].split()[1]}
    leaks = [f"{name} {value!r} in {where}" for name, value in secrets.items()
             for where, text in [("stdout/stderr", output), ("responses", "\n".join(pages))] if value in text]
    assert not leaks, "credentials leaked:\n" + "\n".join(leaks)
