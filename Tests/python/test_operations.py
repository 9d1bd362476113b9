"""Operating the sidecar: blackbox-style /probe (also scraped by a real Prometheus), reload over HTTP,
reload on file change (plain edits and Kubernetes ConfigMap symlink swaps), counters kept across a reload,
flags from the environment and --version. Everything runs on loopback against `inference-probe simulate`
started as its own process."""
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from aiohttp import web

from conftest import LoopbackServer, free_port, samples, total

SIM_KEY = "sk-test-operations-simulator"
MODEL = "simulated-model"
TOKENS = 12  # the simulators answer 12 tokens
RELOAD_OK = "inference_probe_config_last_reload_successful"
RELOAD_TS = "inference_probe_config_last_reload_success_timestamp_seconds"

# The Prometheus scrape configuration of /probe (blackbox-exporter style), as the README shows it: each static
# "target" is a target name of the sidecar's configuration file; Prometheus sends it as ?target=NAME, labels the
# series with instance=NAME and scrapes the sidecar itself. The test below runs exactly this, with the sidecar's
# address and a short interval.
PROBE_SCRAPE_CONFIG = """
scrape_configs:
  - job_name: inference-probe-probe
    metrics_path: /probe
    scrape_interval: 60s
    scrape_timeout: 30s          # sent as X-Prometheus-Scrape-Timeout-Seconds; bounds each probe
    static_configs:
      - targets: [alpha, beta]   # target names from the sidecar's --config.file
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: inference-probe:9847   # the sidecar's --web.listen-address
"""


# ---------------------------------------------------------------------------------------------- helpers

def clean_env(extra: dict | None = None) -> dict:
    """The test's environment without any INFERENCE_PROBE_* variable (the runner sets INFERENCE_PROBE_BIN),
    plus the simulator key and `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFERENCE_PROBE_")}
    env["SIM_KEY"] = SIM_KEY
    env.update(extra or {})
    return env


def until(predicate, timeout: float, what, interval: float = 0.1):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds naming `what`
    (a string, or a function giving one)."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {what() if callable(what) else what}")
        time.sleep(interval)


def request(url: str, method: str = "GET", headers: dict | None = None, timeout: float = 15):
    """(status, headers, body) of one request; HTTP errors are answers too."""
    data = b"" if method in ("POST", "PUT") else None
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def gauge(body: str, name: str) -> float | None:
    """The value of an unlabelled (or single) series `name`, None when absent."""
    for line in body.splitlines():
        match = re.match(rf"{name}(?:\{{[^}}]*\}})? (\S+)$", line)
        if match:
            return float(match.group(1))
    return None


def successes(body: str, target: str, **labels) -> float:
    return total(body, "inference_probe_probes_total", target=target, outcome="success", **labels)


def probes(body: str, target: str, **labels) -> float:
    return total(body, "inference_probe_probes_total", target=target, **labels)


def metric_names(body: str) -> set[str]:
    return {re.split(r"[{ ]", line, maxsplit=1)[0] for line in body.splitlines() if line and not line.startswith("#")}


def summary(body: str) -> str:
    """The lines worth showing when a wait on /metrics fails."""
    keep = [line for line in body.splitlines()
            if line.startswith("inference_probe_config_")
            or (line.startswith("inference_probe_probes_total") and not line.endswith(" 0"))]
    return "\n".join(keep) or body[:2000]


def target(name: str, base_url: str, transports=("http_sse",), api: str | None = None, **extra) -> dict:
    entry = {"name": name, "base_url": base_url, "model": MODEL, "transports": list(transports),
             "api_key_env": "SIM_KEY"}
    if api:
        entry["api"] = api
    entry.update(extra)
    return entry


def config_text(targets: list[dict], interval: str = "300ms", timeout: str = "10s") -> str:
    return yaml.safe_dump({"global": {"interval": interval, "timeout": timeout}, "targets": targets}, sort_keys=False)


def write_config(path: Path, targets: list[dict], **global_) -> str:
    path.write_text(config_text(targets, **global_))
    return str(path)


def bad_config_text(targets: list[dict]) -> str:
    """Valid YAML with one more target, "three", whose transport does not exist: a reload must refuse it whole."""
    return config_text(targets + [{"name": "three", "base_url": "http://127.0.0.1:9/v1", "model": MODEL,
                                   "transports": ["carrier_pigeon"]}])


class Simulator:
    """`inference-probe simulate` with fixed delays (TTFT `ttft`, 5 ms between 12 tokens) requiring SIM_KEY."""

    def __init__(self, binary: str, directory: Path, name: str, ttft: str):
        self.log_path = directory / f"simulator-{name}.log"
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [binary, "simulate", "--listen", "127.0.0.1:0", "--ttft", ttft, "--ttft-spread", "0ms",
                 "--inter-token", "5ms", "--inter-token-spread", "0ms", "--tokens", str(TOKENS),
                 "--api-key-env", "SIM_KEY", "--log.level", "warn"],
                stdout=log, stderr=subprocess.STDOUT, env=clean_env())

        def listening():
            if self.proc.poll() is not None:
                raise AssertionError(f"simulator exited: {self.log_path.read_text()}")
            return re.search(r"listening on (http://\S+/v1)", self.log_path.read_text())

        self.base = until(listening, 20, lambda: self.log_path.read_text()).group(1)
        self.port = int(urllib.parse.urlsplit(self.base).port)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Sidecar:
    """`inference-probe ARGS` (the `run` subcommand by default) with its output in a log file.
    Used as a context manager: entering waits for /-/ready, leaving sends SIGTERM."""

    def __init__(self, binary: str, directory: Path, args=(), env: dict | None = None, port: int | None = None,
                 listen_flag: bool = True, name: str = "sidecar"):
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        argv = [binary, *args]
        if listen_flag:
            argv += ["--web.listen-address", f"127.0.0.1:{self.port}"]
        self.log_path = directory / f"{name}.log"
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=clean_env(env),
                                         cwd=directory)

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_ready(self, timeout: float = 20) -> "Sidecar":
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"sidecar exited ({self.proc.returncode}):\n{self.log()}")
            try:
                return request(f"{self.base}/-/ready", timeout=2)[0] == 200
            except OSError:
                return False

        until(ready, timeout, lambda: f"{self.base}/-/ready never answered 200; log:\n{self.log()}")
        return self

    def metrics(self) -> str:
        status, _, body = request(f"{self.base}/metrics", timeout=5)
        assert status == 200, (status, body)
        return body

    def wait_metrics(self, predicate, timeout: float, what: str) -> str:
        last = [""]

        def check():
            last[0] = self.metrics()
            return predicate(last[0])

        until(check, timeout, lambda: f"{what}; last /metrics:\n{summary(last[0])}", interval=0.2)
        return last[0]

    def reload(self, method: str = "POST"):
        return request(f"{self.base}/-/reload", method=method)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def __enter__(self) -> "Sidecar":
        try:
            return self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()


def wait_for_clock(unix_time: float):
    """Let the wall clock pass `unix_time`, so a timestamp taken afterwards is larger (even if whole seconds)."""
    until(lambda: time.time() > unix_time, 5, f"the clock to pass {unix_time}", interval=0.05)


# ---------------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def sims(binary, tmp_path_factory):
    """A fast simulator (TTFT 50 ms) and a slow one (TTFT 2.5 s)."""
    directory = tmp_path_factory.mktemp("simulators")
    fast = Simulator(binary, directory, "fast", "50ms")
    slow = Simulator(binary, directory, "slow", "2500ms")
    yield fast, slow
    fast.stop()
    slow.stop()


ALPHA = ("http", "http_sse", "websocket")   # chat_completions
BETA = ("http", "websocket")                # responses


@pytest.fixture(scope="module")
def probe_sidecar(binary, sims, tmp_path_factory):
    """A sidecar whose scheduler is quiet (1h interval) after the first probe of each series:
    alpha (chat_completions over http, http_sse, websocket), beta (responses over http, websocket) and
    slow (http_sse against the 2.5 s TTFT simulator)."""
    fast, slow = sims
    directory = tmp_path_factory.mktemp("probe")
    path = write_config(directory / "probe.yml", [
        target("alpha", fast.base, ALPHA),
        target("beta", fast.base, BETA, api="responses"),
        target("slow", slow.base, ["http_sse"]),
    ], interval="1h", timeout="10s")
    with Sidecar(binary, directory, ["--config.file", path]) as sidecar:
        scheduled = [("alpha", t) for t in ALPHA] + [("beta", t) for t in BETA] + [("slow", "http_sse")]
        sidecar.wait_metrics(lambda body: all(successes(body, n, transport=t) >= 1 for n, t in scheduled), 30,
                             "the first scheduled probe of every series")
        yield sidecar


def probe(sidecar: Sidecar, headers: dict | None = None, **params):
    return request(f"{sidecar.base}/probe?" + urllib.parse.urlencode(params), headers=headers)


# ---------------------------------------------------------------------------------------------- /probe

def test_probe_runs_every_transport_of_the_target_and_returns_only_probe_metrics(probe_sidecar):
    for name, api, transports in (("alpha", "chat_completions", ALPHA), ("beta", "responses", BETA)):
        status, headers, body = probe(probe_sidecar, target=name)
        assert status == 200, body
        assert headers["Content-Type"].startswith("text/plain"), headers["Content-Type"]
        names = metric_names(body)
        assert names and all(n.startswith("probe_") for n in names), f"only probe_* metrics expected: {names}"
        assert {labels["transport"] for labels, _ in samples(body, "probe_success")} == set(transports), body
        for transport in transports:
            labels = {"model": MODEL, "api": api, "transport": transport}
            assert [v for _, v in samples(body, "probe_success", **labels)] == [1.0], (labels, body)
            assert [v for _, v in samples(body, "probe_inference_outcome", outcome="success", **labels)] == [1.0], body
            assert total(body, "probe_duration_seconds", **labels) > 0, body
            assert total(body, "probe_inference_time_to_first_byte_seconds", **labels) > 0, body
            assert total(body, "probe_inference_request_duration_seconds", **labels) > 0, body
            assert [v for _, v in samples(body, "probe_inference_output_tokens", **labels)] == [TOKENS], body
            assert total(body, "probe_inference_output_tokens_per_second", **labels) > 0, body
            ttft = [v for _, v in samples(body, "probe_inference_time_to_first_token_seconds", **labels)]
            if transport == "http":
                assert ttft == [], f"no TTFT for plain http: {body}"
                assert samples(body, "probe_inference_connection_phase_seconds", phase="connect", **labels), body
            else:
                assert len(ttft) == 1 and 0.04 <= ttft[0] < 1.0, (labels, ttft)  # the simulator: 50 ms
        if shutil.which("promtool"):
            check = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, text=True)
            assert check.returncode == 0 and not check.stdout.strip(), check.stdout + check.stderr


def test_probe_selects_one_transport_and_checks_the_api(probe_sidecar):
    status, _, body = probe(probe_sidecar, target="alpha", transport="http_sse")
    assert status == 200, body
    assert [(labels["transport"], v) for labels, v in samples(body, "probe_success")] == [("http_sse", 1.0)], body
    assert samples(body, "probe_inference_time_to_first_token_seconds", transport="http_sse"), body

    status, _, body = probe(probe_sidecar, target="beta", transport="websocket", api="responses")
    assert status == 200, body
    assert [(labels["transport"], labels["api"], v) for labels, v in samples(body, "probe_success")] == \
        [("websocket", "responses", 1.0)], body


@pytest.mark.parametrize("params", [
    {},
    {"target": ""},
    {"target": "nope"},
    {"target": "ALPHA"},
    {"target": "URL"},
    {"target": "URL", "transport": "http"},
])
def test_probe_without_a_configured_target_name_is_400_listing_the_names(probe_sidecar, sims, params):
    if params.get("target") == "URL":
        params = {**params, "target": f"{sims[0].base.removesuffix('/v1')}/"}  # e.g. http://127.0.0.1:PORT/
    status, _, body = probe(probe_sidecar, **params)
    assert status == 400, (params, status, body)
    for name in ("alpha", "beta", "slow"):
        assert name in body, (params, body)
    assert "probe_success" not in body


@pytest.mark.parametrize("params, listed", [
    ({"target": "alpha", "transport": "carrier_pigeon"}, ["http", "http_sse", "websocket"]),
    ({"target": "beta", "transport": "http_sse"}, ["http", "websocket"]),
    ({"target": "alpha", "api": "responses"}, ["chat_completions"]),
    ({"target": "beta", "api": "anthropic_messages"}, ["responses"]),
])
def test_probe_with_a_transport_or_api_the_target_lacks_is_400_listing_valid_values(probe_sidecar, params, listed):
    status, _, body = probe(probe_sidecar, **params)
    assert status == 400, (params, status, body)
    for value in listed:
        assert value in body, (params, value, body)
    assert "probe_success" not in body


def test_probe_debug_returns_the_timeline_as_text(probe_sidecar):
    status, headers, body = probe(probe_sidecar, target="alpha", transport="http_sse", debug="true")
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/plain"), headers["Content-Type"]
    assert len(body.strip().splitlines()) >= 3, body
    assert "timeline" in body.lower() and "http_sse" in body, body
    assert SIM_KEY not in body, "the API key must never appear in the debug output"


def test_scrape_timeout_header_bounds_the_probe(probe_sidecar):
    """Target timeout 10s, simulator TTFT 2.5s: with the header 1.5 the probe gets 1.5 - 0.5 = 1s and fails fast;
    without the header it succeeds (so the failure is the header's doing)."""
    started = time.monotonic()
    status, _, body = probe(probe_sidecar, headers={"X-Prometheus-Scrape-Timeout-Seconds": "1.5"}, target="slow")
    elapsed = time.monotonic() - started
    assert status == 200, body
    assert [v for _, v in samples(body, "probe_success", transport="http_sse")] == [0.0], body
    assert not samples(body, "probe_inference_outcome", outcome="success"), body
    assert elapsed < 2.0, f"/probe answered after {elapsed:.2f}s; the scrape timeout was 1.5s"

    started = time.monotonic()
    status, _, body = probe(probe_sidecar, target="slow")
    elapsed = time.monotonic() - started
    assert status == 200, body
    assert [v for _, v in samples(body, "probe_success", transport="http_sse")] == [1.0], body
    ttft = total(body, "probe_inference_time_to_first_token_seconds", transport="http_sse")
    assert 2.4 < ttft < 4, body
    assert elapsed > 2.4


def test_probe_does_not_change_the_scheduled_series(probe_sidecar):
    watched = ("inference_probe_probes_total", "inference_probe_output_tokens_total",
               "inference_probe_request_duration_seconds_count", "inference_probe_time_to_first_token_seconds_count",
               "inference_probe_last_probe_timestamp_seconds", "inference_probe_last_probe_success")

    def snapshot() -> dict:
        return {line.rsplit(" ", 1)[0]: line.rsplit(" ", 1)[1] for line in probe_sidecar.metrics().splitlines()
                if line.split("{")[0].split(" ")[0] in watched}

    before = snapshot()
    assert total(probe_sidecar.metrics(), "inference_probe_probes_total") >= 6
    for params in ({"target": "alpha"}, {"target": "beta"}, {"target": "alpha", "transport": "http"}):
        assert probe(probe_sidecar, **params)[0] == 200
    assert probe(probe_sidecar, headers={"X-Prometheus-Scrape-Timeout-Seconds": "1.2"}, target="slow")[0] == 200
    after = snapshot()
    changed = {k: (before.get(k), after.get(k)) for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert not changed, f"/probe changed scheduled series: {changed}"


def test_probe_beyond_max_concurrent_is_503(binary, sims, tmp_path):
    _, slow = sims
    path = write_config(tmp_path / "probe.yml", [target("slow", slow.base)], interval="1h")
    with Sidecar(binary, tmp_path, ["--config.file", path, "--probe.max-concurrent", "1"]) as sidecar:
        header = {"X-Prometheus-Scrape-Timeout-Seconds": "2"}  # each probe holds its slot 1.5 s
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            statuses = sorted(f.result()[0] for f in [pool.submit(probe, sidecar, header, target="slow")
                                                       for _ in range(4)])
        assert 200 in statuses and 503 in statuses, statuses
        assert probe(sidecar, header, target="slow")[0] == 200, "the slot is free again"


def test_probe_of_a_paused_target_sends_nothing_and_reports_skipped(binary, tmp_path):
    """A 429 with Retry-After: 60 pauses the target; /probe then reports probe_inference_skipped{reason} 1 and
    probe_success 0 without sending a request."""
    requests = []

    async def chat_completions(request: web.Request) -> web.Response:
        requests.append(time.monotonic())
        return web.json_response({"error": {"message": "Rate limit reached", "type": "requests",
                                            "code": "rate_limit_exceeded"}}, status=429,
                                 headers={"Retry-After": "60", "x-ratelimit-remaining-requests": "0"})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat_completions)
    server = LoopbackServer(app).start()
    try:
        path = write_config(tmp_path / "probe.yml", [target("limited", f"http://127.0.0.1:{server.port}/v1", ["http"])],
                            interval="1h")
        with Sidecar(binary, tmp_path, ["--config.file", path]) as sidecar:
            sidecar.wait_metrics(lambda b: probes(b, "limited", outcome="rate_limited") >= 1
                                 and total(b, "inference_probe_backoff_remaining_seconds", target="limited") > 0,
                                 20, "the target paused by the 429")
            sent = len(requests)
            status, _, body = probe(sidecar, target="limited")
            assert status == 200, body
            assert [v for _, v in samples(body, "probe_success", transport="http")] == [0.0], body
            skipped = samples(body, "probe_inference_skipped", transport="http")
            assert [(labels["reason"], v) for labels, v in skipped] == [("rate_limited", 1.0)], body
            assert len(requests) == sent, "a paused target must not be sent a request by /probe"
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------- Prometheus

def test_prometheus_scrapes_probe_with_the_blackbox_relabelling(probe_sidecar, tmp_path):
    prometheus = shutil.which("prometheus")
    if not prometheus:
        pytest.fail("prometheus not found: install the Debian package prometheus (Tests/run does)")
    config = yaml.safe_load(PROBE_SCRAPE_CONFIG)
    job = config["scrape_configs"][0]
    job.update(scrape_interval="2s", scrape_timeout="2s")
    job["relabel_configs"][-1]["replacement"] = f"127.0.0.1:{probe_sidecar.port}"
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "prometheus.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen([prometheus, f"--config.file={tmp_path / 'prometheus.yml'}",
                                   f"--storage.tsdb.path={tmp_path / 'data'}",
                                   f"--web.listen-address=127.0.0.1:{port}"],
                                  stdout=log, stderr=subprocess.STDOUT)

    def query(expr: str) -> list:
        try:
            status, _, body = request(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr}), timeout=5)
        except OSError:
            return []
        return json.loads(body)["data"]["result"] if status == 200 else []

    expected = {("alpha", t) for t in ALPHA} | {("beta", t) for t in BETA}
    found = [set()]

    def all_up():
        found[0] = {(s["metric"].get("instance"), s["metric"].get("transport"))
                    for s in query('probe_success{job="inference-probe-probe"} == 1')}
        return found[0] == expected

    try:
        until(all_up, 30, lambda: f"probe_success == 1 for {expected}, got {found[0]}; targets: "
                                  f"{request(base + '/api/v1/targets')[2][:3000]}", interval=0.5)
        up = query('up{job="inference-probe-probe"}')
        assert sorted((s["metric"]["instance"], s["value"][1]) for s in up) == [("alpha", "1"), ("beta", "1")], up
        models = {s["metric"].get("model") for s in query('probe_success{job="inference-probe-probe"}')}
        assert models == {MODEL}
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()


# ---------------------------------------------------------------------------------------------- reload over HTTP

def test_reload_endpoint_is_403_without_lifecycle(binary, sims, tmp_path):
    fast, _ = sims
    path = write_config(tmp_path / "probe.yml", [target("one", fast.base)])
    with Sidecar(binary, tmp_path, ["--config.file", path, "--config.watch-interval", "0s"]) as sidecar:
        sidecar.wait_metrics(lambda body: successes(body, "one") > 0, 20, "target one probed")
        write_config(tmp_path / "probe.yml", [target("one", fast.base), target("two", fast.base)])
        for method in ("POST", "PUT"):
            status, _, body = sidecar.reload(method)
            assert status == 403, (method, status, body)
        assert 'target="two"' not in sidecar.metrics(), "a refused reload must not load the file"


def test_reload_over_http_applies_good_files_and_keeps_the_running_config_on_bad_ones(binary, sims, tmp_path):
    fast, _ = sims
    file = tmp_path / "probe.yml"
    started = time.time()
    path = write_config(file, [target("one", fast.base)])
    with Sidecar(binary, tmp_path, ["--config.file", path, "--web.enable-lifecycle",
                                    "--config.watch-interval", "0s"]) as sidecar:
        body = sidecar.wait_metrics(lambda b: successes(b, "one") > 0, 20, "target one probed")
        assert gauge(body, RELOAD_OK) == 1, summary(body)
        loaded_at = gauge(body, RELOAD_TS)
        assert loaded_at is not None and started - 2 <= loaded_at <= time.time() + 1, (started, loaded_at)

        # a good file: a target added
        write_config(file, [target("one", fast.base), target("two", fast.base, ["http", "websocket"])])
        status, _, text = sidecar.reload("POST")
        assert status == 200, text
        body = sidecar.wait_metrics(lambda b: successes(b, "two", transport="http") > 0
                                    and successes(b, "two", transport="websocket") > 0, 20, "target two probed")
        assert gauge(body, RELOAD_OK) == 1, summary(body)
        reloaded_at = gauge(body, RELOAD_TS)
        assert reloaded_at >= loaded_at

        # a bad file: 500 with the error, the running targets keep being probed, the gauge says 0
        file.write_text(bad_config_text([target("one", fast.base), target("two", fast.base, ["http", "websocket"])]))
        status, _, text = sidecar.reload("POST")
        assert status == 500, (status, text)
        assert "carrier_pigeon" in text, f"the 500 answer should carry the error: {text!r}"
        body = sidecar.metrics()
        assert gauge(body, RELOAD_OK) == 0, summary(body)
        assert gauge(body, RELOAD_TS) == reloaded_at, "a failed reload must not move the success timestamp"
        counts = {name: successes(body, name) for name in ("one", "two")}
        body = sidecar.wait_metrics(lambda b: all(successes(b, n) > c for n, c in counts.items()), 20,
                                    "the old targets still probed after a bad reload")
        assert 'target="three"' not in body
        assert sidecar.proc.poll() is None

        # a good file again (PUT): the gauge returns to 1 and the timestamp advances; a removed target's series go
        wait_for_clock(reloaded_at + 1.1)
        write_config(file, [target("one", fast.base), target("three", fast.base)])
        status, _, text = sidecar.reload("PUT")
        assert status == 200, text
        body = sidecar.wait_metrics(lambda b: successes(b, "three") > 0, 20, "target three probed")
        assert gauge(body, RELOAD_OK) == 1, summary(body)
        assert gauge(body, RELOAD_TS) > reloaded_at, summary(body)
        assert 'target="two"' not in body


# ---------------------------------------------------------------------------------------------- file watch

def test_watch_reloads_an_edited_file_without_a_signal(binary, sims, tmp_path):
    fast, _ = sims
    file = tmp_path / "probe.yml"
    path = write_config(file, [target("one", fast.base)])
    with Sidecar(binary, tmp_path, ["--config.file", path, "--config.watch-interval", "1s"]) as sidecar:
        body = sidecar.wait_metrics(lambda b: successes(b, "one") > 0, 20, "target one probed")
        loaded_at = gauge(body, RELOAD_TS)
        assert loaded_at is not None, summary(body)

        # the same content written again is no change (the file is compared by content)
        wait_for_clock(loaded_at + 1.1)
        file.write_text(file.read_text())
        time.sleep(2.5)  # two and a half watch intervals: nothing may happen
        assert gauge(sidecar.metrics(), RELOAD_TS) == loaded_at, "rewriting identical content reloaded"

        edited = time.monotonic()
        write_config(file, [target("one", fast.base), target("two", fast.base)])
        body = sidecar.wait_metrics(lambda b: gauge(b, RELOAD_TS) > loaded_at, 10, "the edited file reloaded")
        assert time.monotonic() - edited < 3, "a 1s watch interval (the default 5s would be later)"
        assert gauge(body, RELOAD_OK) == 1, summary(body)
        sidecar.wait_metrics(lambda b: successes(b, "two") > 0, 10, "the edited file's new target probed")


def swap_configmap(directory: Path, version: str, text: str, remove: str | None = None):
    """What the kubelet does on a ConfigMap update: write ..VERSION/, point a temporary symlink at it and rename
    that over ..data in one step, then delete the old version."""
    (directory / version).mkdir()
    (directory / version / "config.yml").write_text(text)
    os.symlink(version, directory / "..data_tmp")
    os.replace(directory / "..data_tmp", directory / "..data")
    if remove:
        shutil.rmtree(directory / remove)


def test_watch_follows_a_configmap_symlink_swap_and_keeps_bad_files_out(binary, sims, tmp_path):
    fast, _ = sims
    mount = tmp_path / "config"
    mount.mkdir()
    (mount / "..2026_a").mkdir()
    (mount / "..2026_a" / "config.yml").write_text(config_text([target("one", fast.base)]))
    os.symlink("..2026_a", mount / "..data")
    os.symlink("..data/config.yml", mount / "config.yml")
    with Sidecar(binary, tmp_path, ["--config.file", str(mount / "config.yml"),
                                    "--config.watch-interval", "1s"]) as sidecar:
        body = sidecar.wait_metrics(lambda b: successes(b, "one") > 0, 20, "target one probed")
        assert gauge(body, RELOAD_OK) == 1, summary(body)

        swapped = time.monotonic()
        swap_configmap(mount, "..2026_b", config_text([target("one", fast.base), target("two", fast.base)]),
                       remove="..2026_a")
        body = sidecar.wait_metrics(lambda b: successes(b, "two") > 0, 10, "the swapped-in target two probed")
        assert time.monotonic() - swapped < 4, "a 1s watch interval (the default 5s would be later)"
        assert gauge(body, RELOAD_OK) == 1, summary(body)

        swap_configmap(mount, "..2026_c", bad_config_text([target("one", fast.base)]), remove="..2026_b")
        body = sidecar.wait_metrics(lambda b: gauge(b, RELOAD_OK) == 0, 10, "the bad file noticed (gauge 0)")
        counts = {name: successes(body, name) for name in ("one", "two")}
        body = sidecar.wait_metrics(lambda b: all(successes(b, n) > c for n, c in counts.items()), 20,
                                    "the old targets (one, two) still probed after a bad file")
        assert 'target="three"' not in body
        assert gauge(body, RELOAD_OK) == 0, "the bad file must not be retried into success"

        swap_configmap(mount, "..2026_d", config_text([target("one", fast.base)]), remove="..2026_c")
        body = sidecar.wait_metrics(lambda b: gauge(b, RELOAD_OK) == 1 and 'target="two"' not in b, 10,
                                    "the good file after the bad one loaded")


# ---------------------------------------------------------------------------------------------- counters

def test_unchanged_targets_keep_their_counters_across_a_reload(binary, sims, tmp_path):
    fast, _ = sims
    file = tmp_path / "probe.yml"
    steady = target("steady", fast.base, ["http", "http_sse"], interval="200ms")
    path = write_config(file, [steady])
    with Sidecar(binary, tmp_path, ["--config.file", path, "--web.enable-lifecycle",
                                    "--config.watch-interval", "0s"]) as sidecar:
        body = sidecar.wait_metrics(
            lambda b: all(successes(b, "steady", transport=t) >= 5 for t in ("http", "http_sse")),
            20, "five probes of each steady series")
        watched = [line.rsplit(" ", 1) for line in body.splitlines()
                   if 'target="steady"' in line and line.split("{")[0] in
                   ("inference_probe_probes_total", "inference_probe_output_tokens_total",
                    "inference_probe_request_duration_seconds_count")]
        before = {series: float(value) for series, value in watched}
        assert len(before) > 4

        write_config(file, [steady, target("extra", fast.base)])
        status, _, text = sidecar.reload("POST")
        assert status == 200, text

        def not_dropped(body: str) -> bool:
            now = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
                   if line.rsplit(" ", 1)[0] in before}
            dropped = {s: (v, now.get(s)) for s, v in before.items() if now.get(s) is None or now[s] < v}
            assert not dropped, f"series of an unchanged target dropped across the reload: {dropped}"
            return True

        not_dropped(sidecar.metrics())  # right after the reload
        body = sidecar.wait_metrics(lambda b: successes(b, "extra") > 0, 20, "target extra probed")
        not_dropped(body)
        succeeded_before = sum(v for s, v in before.items()
                               if s.startswith("inference_probe_probes_total") and 'outcome="success"' in s)
        assert successes(body, "steady") > succeeded_before


# ---------------------------------------------------------------------------------------------- env and --version

def test_flags_come_from_the_environment(binary, sims, tmp_path):
    fast, _ = sims
    path = write_config(tmp_path / "elsewhere.yml", [target("from-env", fast.base)])
    port = free_port()
    env = {"INFERENCE_PROBE_CONFIG_FILE": path, "INFERENCE_PROBE_WEB_LISTEN_ADDRESS": f"127.0.0.1:{port}"}
    # no flag at all; the working directory holds no inference-probe.yml
    with Sidecar(binary, tmp_path, [], env=env, port=port, listen_flag=False) as sidecar:
        sidecar.wait_metrics(lambda b: successes(b, "from-env") > 0, 20, "the target of INFERENCE_PROBE_CONFIG_FILE")
        assert sidecar.reload("POST")[0] == 403, "lifecycle is off unless enabled"


def test_a_command_line_flag_wins_over_the_environment(binary, sims, tmp_path):
    fast, _ = sims
    path = write_config(tmp_path / "probe.yml", [target("from-flag", fast.base)])
    env_port, flag_port = free_port(), free_port()
    env = {"INFERENCE_PROBE_CONFIG_FILE": str(tmp_path / "absent.yml"),
           "INFERENCE_PROBE_WEB_LISTEN_ADDRESS": f"127.0.0.1:{env_port}",
           "INFERENCE_PROBE_WEB_ENABLE_LIFECYCLE": "true"}  # no such flag given: this one applies
    with Sidecar(binary, tmp_path, ["--config.file", path], env=env, port=flag_port) as sidecar:
        sidecar.wait_metrics(lambda b: successes(b, "from-flag") > 0, 20, "the target of --config.file")
        with pytest.raises(OSError):
            request(f"http://127.0.0.1:{env_port}/-/healthy", timeout=2)
        assert sidecar.reload("POST")[0] == 200, "the environment applies to the flags not on the command line"


def test_lifecycle_can_be_enabled_from_the_environment(binary, sims, tmp_path):
    fast, _ = sims
    file = tmp_path / "probe.yml"
    path = write_config(file, [target("one", fast.base)])
    env = {"INFERENCE_PROBE_WEB_ENABLE_LIFECYCLE": "true", "INFERENCE_PROBE_CONFIG_WATCH_INTERVAL": "0s"}
    with Sidecar(binary, tmp_path, ["--config.file", path], env=env) as sidecar:
        sidecar.wait_metrics(lambda b: successes(b, "one") > 0, 20, "target one probed")
        write_config(file, [target("one", fast.base), target("two", fast.base)])
        status, _, text = sidecar.reload("POST")
        assert status == 200, text
        sidecar.wait_metrics(lambda b: successes(b, "two") > 0, 20, "target two probed after the reload")


def test_version_prints_the_version_and_exits_0(binary, sims, tmp_path):
    run = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, env=clean_env())
    assert run.returncode == 0, run.stderr
    version = run.stdout.strip()
    assert re.fullmatch(r"v?\d+\.\d+\.\d+\S*", version), run.stdout
    # the same version as the running sidecar's build_info
    path = write_config(tmp_path / "probe.yml", [target("one", sims[0].base)], interval="1h")
    with Sidecar(binary, tmp_path, ["--config.file", path]) as sidecar:
        (labels, _), = samples(sidecar.metrics(), "inference_probe_build_info")
    assert labels["version"] == version.removeprefix("v")
