"""A real Prometheus server scrapes the demo sidecar, evaluates the bundled alert rules and answers
every query of the bundled Grafana dashboard; promtool checks and unit-tests the rules, and the
PrometheusRule manifest holds the same groups as alerts.yml."""
import contextlib
import json
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request

import pytest
import yaml

from conftest import ROOT, Process, free_port, http_get, samples, total

PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")


def require(tool):
    if not tool:
        pytest.fail("prometheus/promtool not found: install the Debian package prometheus (Tests/run does)")
    return tool


def dashboard_queries() -> list[str]:
    dashboard = json.loads((ROOT / "dashboards" / "inference-probe.json").read_text())
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(queries) >= 10
    return [q.replace("$__rate_interval", "1m").replace('=~"$target"', '=~".*"')
             .replace('=~"$model"', '=~".*"').replace('=~"$api"', '=~".*"')
             .replace('=~"$transport"', '=~".*"').replace('=~"$window"', '=~".*"') for q in queries]


def test_alert_rules_are_valid_and_pass_their_unit_tests():
    promtool = require(PROMTOOL)
    rules = ROOT / "deploy" / "prometheus"
    check = subprocess.run([promtool, "check", "rules", str(rules / "alerts.yml")], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    test = subprocess.run([promtool, "test", "rules", str(rules / "alerts_test.yml"),
                           str(rules / "alerts_ttft_regression_test.yml")], capture_output=True, text=True)
    assert test.returncode == 0, test.stdout + test.stderr


def test_prometheusrule_manifest_holds_the_groups_of_alerts_yml():
    """deploy/kubernetes/prometheusrule.yaml is generated from alerts.yml (deploy/generate-prometheusrule.py)."""
    groups = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())["groups"]
    (manifest,) = [d for d in yaml.safe_load_all((ROOT / "deploy" / "kubernetes" / "prometheusrule.yaml").read_text()) if d]
    assert manifest["apiVersion"] == "monitoring.coreos.com/v1" and manifest["kind"] == "PrometheusRule"
    assert manifest["spec"]["groups"] == groups, "run python3 deploy/generate-prometheusrule.py"


def test_ttft_slo_rules_share_one_threshold():
    """The TTFT threshold of the TTFT SLO is a bucket matcher repeated in one recording rule per window."""
    rules = [r for g in yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())["groups"]
             for r in g["rules"] if r.get("record", "").startswith("inference_probe:ttft_slo_errors:ratio_rate")]
    assert len(rules) == 7
    assert len({m for r in rules for m in re.findall(r'le=~?"[^"]*"', r["expr"])}) == 1, rules


def test_dashboard_queries_are_valid_promql(tmp_path):
    promtool = require(PROMTOOL)
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{i}", "expr": q} for i, q in enumerate(dashboard_queries())]}]}
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump(rules))
    check = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def query(base: str, expr: str) -> list:
    status, body = http_get(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    answer = json.loads(body)
    assert status == 200 and answer["status"] == "success", (expr, body)
    return answer["data"]["result"]


def test_prometheus_scrapes_the_sidecar_and_evaluates_rules_and_dashboard(demo, tmp_path):
    prometheus = require(PROMETHEUS)
    _, metrics_base = demo
    shutil.copy(ROOT / "deploy" / "prometheus" / "alerts.yml", tmp_path / "alerts.yml")
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["alerts.yml"],
        "scrape_configs": [{"job_name": "inference-probe",
                            "static_configs": [{"targets": [metrics_base.removeprefix("http://")]}]}],
    }))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Process([prometheus, f"--config.file={tmp_path / 'prometheus.yml'}",
                      f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"])
    try:
        deadline = time.monotonic() + 60
        ttft = []
        while time.monotonic() < deadline:
            time.sleep(1)
            try:
                ttft = query(base, 'histogram_quantile(0.5, sum by (transport, le) '
                                   '(rate(inference_probe_time_to_first_token_seconds_bucket[1m])))')
            except OSError:
                continue
            if len([s for s in ttft if s["value"][1] != "NaN"]) == 2:
                break
        assert {s["metric"]["transport"] for s in ttft} == {"http_sse", "websocket"}
        for sample in ttft:
            assert 0.1 < float(sample["value"][1]) < 0.5, sample  # the demo injects 200 ms +- 20 ms

        up = query(base, 'up{job="inference-probe"}')
        assert [s["value"][1] for s in up] == ["1"]
        durations = query(base, "inference_probe_request_duration_seconds_count")
        assert {s["metric"]["transport"] for s in durations} == {"http", "http_sse", "websocket"}

        # Queries on recording rules return data once the rules have been evaluated over two scrapes.
        pending = dashboard_queries()
        deadline = time.monotonic() + 30
        while pending and time.monotonic() < deadline:
            pending = [expr for expr in pending if not query(base, expr)]
            if pending:
                time.sleep(1)
        assert not pending, "dashboard queries returned no data:\n" + "\n".join(pending)

        status, body = http_get(f"{base}/api/v1/rules")
        groups = json.loads(body)["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        # 15 alerts, 4 objective constants, 8 TTFT regression rules (6 recording, 2 alerting), 18 SLO rules
        # (14 error ratios, 4 burn-rate alerts).
        assert len(rules) == 45
        assert all(rule["health"] == "ok" for rule in rules), rules
        # The healthy demo must not raise the availability or down alerts.
        firing = [a["labels"]["alertname"] for a in json.loads(http_get(f"{base}/api/v1/alerts")[1])["data"]["alerts"]]
        assert "InferenceProbeTargetDown" not in firing and "InferenceProbeAvailabilityLow" not in firing
    finally:
        server.stop()


def test_metrics_are_gzipped_when_the_scraper_asks(demo):
    """Prometheus sends `Accept-Encoding: gzip` on every scrape; other clients get plain text."""
    import gzip
    import urllib.request
    _, base = demo
    time.sleep(3)  # a few probes, so every kind of series is there
    request = urllib.request.Request(f"{base}/metrics", headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in response.headers["Vary"]
        compressed = response.read()
    unzipped = gzip.decompress(compressed).decode()
    status, plain = http_get(f"{base}/metrics")
    assert status == 200
    names = lambda text: {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and line[0] != "#"}
    assert names(unzipped) <= names(plain) and len(names(unzipped)) > 20  # the later scrape may have more
    assert len(compressed) * 5 < len(unzipped), (len(compressed), len(unzipped))
    check = subprocess.run([require(PROMTOOL), "check", "metrics"], input=unzipped, capture_output=True, text=True)
    assert check.returncode == 0 and not check.stdout.strip(), check.stdout + check.stderr


@contextlib.contextmanager
def probed_fleet(binary, simulator, tmp_path, count, settings=""):
    """The sidecar probing `count` targets of the simulator over its three transports once an hour (after
    `settings`, sections of a configuration): yields its /metrics URL and the exposition once every series
    has been probed; the sidecar stops after."""
    lines = ([settings.rstrip("\n")] if settings else []) + ["global:", "  interval: 1h", "targets:"]
    for i in range(count):
        lines += [f"  - name: t{i:03d}", f"    base_url: {simulator}", f"    model: m{i}", "    api_key_env: SIM_KEY",
                  "    transports: [http, http_sse, websocket]"]
    config = tmp_path / "fleet.yml"
    config.write_text("\n".join(lines) + "\n")
    port = free_port()
    proc = Process([binary, "run", "--config.file", str(config), "--web.listen-address", f"127.0.0.1:{port}"],
                   env={"SIM_KEY": "sk-test-simulator"})
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        deadline = time.monotonic() + 60
        plain = ""
        while time.monotonic() < deadline:
            try:
                plain = http_get(url, timeout=10)[1]
            except OSError:
                plain = ""
            if total(plain, "inference_probe_probes_total") == 3 * count:
                break
            time.sleep(0.5)
        yield url, plain
    finally:
        proc.stop()


def test_a_large_exposition_is_the_same_in_every_encoding(binary, simulator, tmp_path):
    """A scrape is sent while it is written, in chunks of about 1 MiB, each converted and gzipped on its
    own: an exposition of several chunks must hold the same lines plain, gzipped and as OpenMetrics, and
    pass promtool and the strict OpenMetrics parser."""
    import gzip
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
    # 150 series, all probed within a few seconds of the start, then not for an hour
    with probed_fleet(binary, simulator, tmp_path, 50) as (url, plain):
        assert total(plain, "inference_probe_probes_total", outcome="success") == 150, plain[-2000:]

        def scrape(headers):
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
                return response.headers, response.read()
        headers, body = scrape({})
        plain = body.decode()
        assert headers.get("Content-Encoding") is None
        headers, body = scrape({"Accept-Encoding": "gzip"})
        assert headers["Content-Encoding"] == "gzip"
        gzipped = gzip.decompress(body).decode()
        headers, body = scrape({"Accept-Encoding": "gzip", "Accept": "application/openmetrics-text;version=1.0.0"})
        assert headers["Content-Encoding"] == "gzip" and headers["Content-Type"].startswith("application/openmetrics-text")
        openmetrics = gzip.decompress(body).decode()
    assert len(plain) > 3 * 1024 * 1024, len(plain)  # several chunks
    assert gzipped == plain
    assert openmetrics.endswith("\n# EOF\n") and openmetrics.count("# EOF") == 1
    sample_lines = lambda text: [line for line in text.splitlines() if line and line[0] != "#"]
    assert sample_lines(openmetrics) == sample_lines(plain)
    families = {family.name: family for family in text_string_to_metric_families(openmetrics)}
    assert families["inference_probe_probes"].type == "counter"
    check = subprocess.run([require(PROMTOOL), "check", "metrics"], input=plain, capture_output=True, text=True)
    assert check.returncode == 0 and not check.stdout.strip(), check.stdout + check.stderr


def test_the_readmes_trimmed_fleet_set_exports_what_it_says(binary, simulator, tmp_path):
    """The trimmed metric set the README gives a fleet ("Fleet scale"), as written there: the histograms it
    keeps with its buckets and no other, only the outcome counters that counted, one window with its median
    and p99; the exposition passes promtool and the strict OpenMetrics parser."""
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"A fleet trims its exposition.*?```yaml\n(.*?)```", readme, re.S).group(1)
    settings = yaml.safe_load(block)
    with probed_fleet(binary, simulator, tmp_path, 3, settings=block) as (url, plain):
        request = urllib.request.Request(url, headers={"Accept": "application/openmetrics-text;version=1.0.0"})
        with urllib.request.urlopen(request, timeout=10) as response:
            openmetrics = response.read().decode()

    assert settings["metrics"]["outcome_counters"] == "observed"
    probes = samples(plain, "inference_probe_probes_total")
    assert [labels["outcome"] for labels, _ in probes] == ["success"] * 9, plain[-3000:]
    assert "inference_probe_probes_skipped_total" not in plain
    assert "inference_probe_websocket_reconnects_total" not in plain
    kept = {name: bounds for name, bounds in settings["metrics"]["histograms"].items() if bounds is not False}
    assert set(kept) == {"time_to_first_token", "request_duration"}
    for name, bounds in kept.items():
        buckets = samples(plain, f"inference_probe_{name}_seconds_bucket", target="t000", transport="http_sse")
        assert [float(labels["le"]) for labels, _ in buckets] == [float(b) for b in bounds] + [float("inf")], name
    for name in ("connection_setup", "time_to_first_byte", "inter_token_latency", "inter_token_jitter",
                 "websocket_ping_rtt"):
        assert f"inference_probe_{name}_seconds_bucket" not in plain
    assert "inference_probe_output_tokens_per_second_bucket" not in plain
    window = samples(plain, "inference_probe_window_time_to_first_token_seconds")
    assert {(labels["window"], labels["stat"]) for labels, _ in window} == {("5m", "p50"), ("5m", "p99")}

    check = subprocess.run([require(PROMTOOL), "check", "metrics"], input=plain, capture_output=True, text=True)
    assert check.returncode == 0 and not check.stdout.strip(), check.stdout + check.stderr
    families = {family.name: family for family in text_string_to_metric_families(openmetrics)}
    assert families["inference_probe_probes"].type == "counter"


def test_metrics_are_openmetrics_when_the_scraper_asks(demo):
    """Prometheus asks for OpenMetrics first on every scrape; the answer must pass the strict OpenMetrics
    parser of prometheus_client and hold the same samples as the text format."""
    import urllib.request
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
    _, base = demo
    time.sleep(3)
    accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75," \
             "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"  # what Prometheus 2 sends
    request = urllib.request.Request(f"{base}/metrics", headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
        text = response.read().decode()
    assert text.endswith("# EOF\n")
    families = {family.name: family for family in text_string_to_metric_families(text)}
    probes = families["inference_probe_probes"]
    assert probes.type == "counter"
    assert all(sample.name == "inference_probe_probes_total" for sample in probes.samples)
    assert families["inference_probe_time_to_first_token_seconds"].type == "histogram"
    status, plain = http_get(f"{base}/metrics")
    names = lambda text: {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and line[0] != "#"}
    samples = {sample.name for family in families.values() for sample in family.samples}
    assert samples <= names(plain) and len(samples) > 20
