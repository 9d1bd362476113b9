"""`inference-probe compare`: the seed-style comparison table of a target's transports, one-shot."""
import json
import subprocess


def compare(binary, *args, timeout=120):
    run = subprocess.run([binary, "compare", "--simulate", "--ttft", "40ms", "--ttft-spread", "0ms", "--inter-token",
                          "4ms", "--inter-token-spread", "0ms", "--tokens", "10", *args],
                         capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, run.stderr
    return run


def test_json_has_every_transport_and_the_concurrency_sweep(binary):
    run = compare(binary, "--probes", "6", "--concurrency", "1,4", "--format", "json",
                  "--profile", "websocket:ttft=20ms", "--fault", "http:server_error=0.5")
    table = json.loads(run.stdout)
    rows = {row["transport"]: row for row in table["rows"]}
    assert set(rows) == {"http", "http_sse", "websocket"}
    assert all(row["probes"] == 6 for row in rows.values())
    # The injected figures come back: 40 ms vs 20 ms TTFT, 4 ms gaps, 250 tokens/s.
    assert 0.039 < rows["http_sse"]["ttftP50"] < 0.060, rows["http_sse"]
    assert 0.019 < rows["websocket"]["ttftP50"] < 0.040, rows["websocket"]
    assert 0.0035 < rows["http_sse"]["interTokenP50"] < 0.0060
    assert 150 < rows["websocket"]["tokensPerSecond"] < 300
    assert rows["websocket"]["connectWarm"] == 0 and rows["http"].get("connectWarm") is None
    assert rows["http"]["errors"].get("server_error", 0) >= 1 and rows["http"]["successRate"] < 1
    assert not rows["http_sse"]["thousandTokensMeasured"] and rows["http_sse"]["thousandTokens"] > 3.9
    levels = {(row["transport"], row["concurrency"]) for row in table["concurrency"]}
    assert levels == {(t, c) for t in ("http", "http_sse", "websocket") for c in (1, 4)}
    assert "[" in run.stderr and "/" in run.stderr, "a progress bar on stderr"


def test_markdown_table(binary):
    run = compare(binary, "--probes", "3", "--format", "markdown", "--transports", "http_sse,websocket")
    lines = run.stdout.splitlines()
    header = next(line for line in lines if line.startswith("| transport"))
    assert "TTFT p50" in header and "1K tokens" in header and "connect cold" in header
    rows = [line for line in lines if line.startswith("| http_sse") or line.startswith("| websocket")]
    assert len(rows) == 2 and "(extrapolated)" in rows[0]


def test_bad_arguments_are_refused(binary):
    run = subprocess.run([binary, "compare", "--simulate", "--base-url", "http://x/v1"], capture_output=True, text=True)
    assert run.returncode != 0 and "one of" in run.stderr
