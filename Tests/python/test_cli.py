"""The command line as an operator uses it: config checks, the demo, signals, promtool."""
import re
import shutil
import signal
import socket
import subprocess
import time

from conftest import Process, free_port, http_get


def write(tmp_path, text: str) -> str:
    path = tmp_path / "probe.yml"
    path.write_text(text)
    return str(path)


def test_check_config_accepts_a_valid_file(binary, tmp_path):
    config = write(tmp_path, """
targets:
  - name: local
    base_url: http://127.0.0.1:8089/v1
    model: simulated-model
    transports: [http, http_sse, websocket]
    api_key_env: PROBE_TEST_KEY
""")
    run = subprocess.run([binary, "check-config", "--config.file", config], capture_output=True, text=True,
                         env={"PROBE_TEST_KEY": "sk-cli-secret"})
    assert run.returncode == 0, run.stderr
    assert "1 target(s), 3 series" in run.stdout
    assert "sk-cli-secret" not in run.stdout + run.stderr


def test_bad_config_names_file_key_and_reason(binary, tmp_path):
    config = write(tmp_path, """
targets:
  - name: local
    base_url: http://127.0.0.1:8089/v1
    model: m
    transports: [http, carrier_pigeon]
""")
    run = subprocess.run([binary, "check-config", "--config.file", config], capture_output=True, text=True)
    assert run.returncode != 0
    assert f"{config}:6: targets[0].transports[1]: unknown transport 'carrier_pigeon'" in run.stderr


def test_missing_config_file_fails_before_serving(binary, tmp_path):
    port = free_port()
    run = subprocess.run([binary, "--config.file", str(tmp_path / "absent.yml"),
                          "--web.listen-address", f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=30)
    assert run.returncode != 0
    assert "absent.yml: no such file" in run.stderr


def test_sidecar_serves_and_drains_on_sigterm(binary, simulator, tmp_path):
    port = free_port()
    config = write(tmp_path, f"""
global: {{interval: 500ms, timeout: 5s}}
targets:
  - name: sim
    base_url: {simulator}
    model: simulated-model
    transports: [http, http_sse, websocket]
    api_key_env: SIM_KEY
""")
    proc = Process([binary, "--config.file", config, "--web.listen-address", f"127.0.0.1:{port}"],
                   env={"SIM_KEY": "sk-test-simulator"})
    try:
        deadline = time.monotonic() + 20
        body = ""
        while time.monotonic() < deadline:
            try:
                status, body = http_get(f"http://127.0.0.1:{port}/metrics")
            except OSError:
                status = 0
            if status == 200 and 'transport="websocket",outcome="success"} 2' in body:
                break
            time.sleep(0.2)
        assert re.search(r'inference_probe_probes_total\{[^}]*transport="http_sse",outcome="success"\} [1-9]', body)
        assert http_get(f"http://127.0.0.1:{port}/-/ready")[0] == 200
    finally:
        code = proc.stop()
    stderr = proc.proc.stderr.read()
    assert code == 0, stderr
    assert "sk-test-simulator" not in stderr


def test_demo_within_20_seconds_matches_the_configured_delays(demo):
    proc, base = demo
    deadline = time.monotonic() + 20
    series = {}
    while time.monotonic() < deadline:
        status, body = http_get(f"{base}/metrics")
        series = parse(body)
        ready = all(series.get(("inference_probe_request_duration_seconds_count", t), 0) >= 2
                    for t in ("http", "http_sse", "websocket"))
        if ready and all(series.get(("inference_probe_time_to_first_token_seconds_count", t), 0) >= 2
                         for t in ("http_sse", "websocket")):
            break
        time.sleep(0.5)
    for transport in ("http_sse", "websocket"):
        count = series[("inference_probe_time_to_first_token_seconds_count", transport)]
        mean_ttft = series[("inference_probe_time_to_first_token_seconds_sum", transport)] / count
        assert 0.15 < mean_ttft < 0.5, (transport, mean_ttft)  # demo: 200 ms ± 20 ms
    for transport in ("http", "http_sse", "websocket"):
        count = series[("inference_probe_request_duration_seconds_count", transport)]
        mean = series[("inference_probe_request_duration_seconds_sum", transport)] / count
        assert 0.5 < mean < 1.5, (transport, mean)  # 200 ms + 19 x 20 ms = 580 ms
    if shutil.which("promtool"):
        check = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, text=True)
        assert check.returncode == 0 and check.stdout + check.stderr == "", check.stdout + check.stderr
    assert proc.stop() == 0


def parse(exposition: str) -> dict:
    """{(metric name, transport): value} for the unlabelled-by-bucket series of the exposition."""
    out = {}
    for line in exposition.splitlines():
        match = re.match(r'^(\w+)\{[^}]*transport="(\w+)"[^}]*\} (\S+)$', line)
        if match and "_bucket" not in match.group(1):
            out[(match.group(1), match.group(2))] = float(match.group(3))
    return out


def wait_for_metrics(port: int, predicate, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    body = ""
    while time.monotonic() < deadline:
        try:
            status, body = http_get(f"http://127.0.0.1:{port}/metrics")
            if status == 200 and predicate(body):
                return body
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"metrics never matched; last:\n{body}")


def test_sighup_reloads_the_configuration_and_keeps_it_when_broken(binary, simulator, tmp_path):
    def config(name: str) -> str:
        return f"""
global: {{interval: 300ms, timeout: 5s}}
targets:
  - name: {name}
    base_url: {simulator}
    model: simulated-model
    transports: [http_sse]
    api_key_env: SIM_KEY
"""
    path = write(tmp_path, config("first"))
    port = free_port()
    proc = Process([binary, "--config.file", path, "--web.listen-address", f"127.0.0.1:{port}"],
                   env={"SIM_KEY": "sk-test-simulator"})
    def successes(name: str, body: str) -> int:
        series = f'target="{name}",model="simulated-model",api="chat_completions",transport="http_sse",outcome="success"}}'
        match = re.search(re.escape(series) + r" (\d+)", body)
        return int(match.group(1)) if match else 0

    try:
        wait_for_metrics(port, lambda body: successes("first", body) > 0)
        (tmp_path / "probe.yml").write_text(config("second"))
        proc.proc.send_signal(signal.SIGHUP)
        body = wait_for_metrics(port, lambda body: successes("second", body) > 0)
        assert 'target="first"' not in body, "series of a removed target are dropped"

        (tmp_path / "probe.yml").write_text("targets: [ {name: broken")
        proc.proc.send_signal(signal.SIGHUP)
        time.sleep(1)
        assert proc.proc.poll() is None, "a broken configuration on reload must not stop the sidecar"
        before = successes("second", wait_for_metrics(port, lambda body: True))
        wait_for_metrics(port, lambda body: successes("second", body) > before)
    finally:
        code = proc.stop()
    stderr = proc.proc.stderr.read()
    assert code == 0
    assert "reload failed" in stderr and "probe.yml:2: YAML syntax error" in stderr, stderr


def test_port_in_use_is_one_clear_error(binary, tmp_path):
    config = write(tmp_path, """
targets:
  - {name: local, base_url: "http://127.0.0.1:9/v1", model: m, transports: [http]}
""")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run([binary, "--config.file", config, "--web.listen-address", f"127.0.0.1:{port}"],
                             capture_output=True, text=True, timeout=30)
    assert run.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}: the address is already in use" in run.stderr


def test_every_flag_of_run_has_its_environment_variable(binary):
    """`run --help` lists an INFERENCE_PROBE_* variable for each of its options: a flag added to `run`
    without its entry in EnvironmentFlags would be missed by container deployments."""
    help_text = subprocess.run([binary, "run", "--help"], capture_output=True, text=True, timeout=10).stdout
    options = set(re.findall(r"^  (--[a-z][a-z.-]+)", help_text, re.M)) - {"--version", "--help"}
    assert len(options) > 10, help_text
    listed = dict(re.findall(r"^  (--[a-z.-]+) <- (INFERENCE_PROBE_[A-Z_]+)", help_text, re.M))
    assert options == set(listed), (options ^ set(listed))
    for flag, variable in listed.items():
        assert variable == "INFERENCE_PROBE_" + flag[2:].upper().replace(".", "_").replace("-", "_")
