"""OTLP export (`--otlp.endpoint`): a real OTLP/HTTP receiver on loopback decodes what the sidecar sends.

The receiver accepts only `POST /v1/metrics` with `Content-Type: application/x-protobuf` (gzip-compressed or
not), decodes the body as an `ExportMetricsServiceRequest` with the official OpenTelemetry protobuf classes,
answers 200 with an empty `ExportMetricsServiceResponse` and keeps every request. One sidecar probes two
simulators, each its own process: a healthy one serving an OpenAI chat-completions target over all three
transports and an Anthropic Messages target, and one answering every request 500 for a third target. It
exports every second; once every expected stream has arrived, the sidecar's own /metrics is scraped around
one more export, so the OTLP counts can be checked against `inference_probe_probes_total`. Each test then
checks one part of the specification (names, units, buckets, temporality, attributes, resource, counts).
"""
import asyncio
import gzip
import socket
import statistics
import threading
import time
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import AGGREGATION_TEMPORALITY_CUMULATIVE

from conftest import LoopbackServer, Process, free_port, samples, scrape

DURATION = "gen_ai.client.operation.duration"
TTFC = "gen_ai.client.operation.time_to_first_chunk"
TPOC = "gen_ai.client.operation.time_per_output_chunk"
TOKENS = "gen_ai.client.token.usage"

SECONDS_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
CHUNK_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5]
TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
SPEC = {  # name -> (unit, explicit bucket boundaries)
    DURATION: ("s", SECONDS_BUCKETS),
    TTFC: ("s", SECONDS_BUCKETS),
    TPOC: ("s", CHUNK_BUCKETS),
    TOKENS: ("{token}", TOKEN_BUCKETS),
}

TOKENS_PER_ANSWER = 12  # the healthy simulator's --tokens (max_tokens 32 does not cap it)
# target -> (api, gen_ai.provider.name, model, transports, simulator)
TARGETS = {
    "oai": ("chat_completions", "openai", "gpt-sim", ("http", "http_sse", "websocket"), "good"),
    "claude": ("anthropic_messages", "anthropic", "claude-sim", ("http", "http_sse"), "good"),
    "broken": ("chat_completions", "openai", "gpt-broken", ("http", "http_sse"), "broken"),
}
SERIES = [(target, transport) for target, spec in TARGETS.items() for transport in spec[3]]
GOOD = [(t, tr) for t, tr in SERIES if TARGETS[t][4] == "good"]
BROKEN = [(t, tr) for t, tr in SERIES if TARGETS[t][4] == "broken"]
STREAMING_GOOD = [(t, tr) for t, tr in GOOD if tr != "http"]
COMMON_ATTRIBUTES = {"gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "server.address",
                     "inference_probe.target", "inference_probe.transport"}

MIN_PROBES = 3  # probes per series the receiver must have seen before the checks
DEADLINE = 35  # seconds for all of that to arrive


# --- the receiver --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Point:
    """One data point of one metric, flattened."""
    name: str
    unit: str
    kind: str  # the Metric.data oneof: histogram, sum, gauge, ...
    temporality: int
    attrs: dict
    start: int
    time: int
    count: int = 0
    sum: float = 0.0
    bucket_counts: tuple = ()
    bounds: tuple = ()
    min: float | None = None
    max: float | None = None

    @property
    def key(self):
        return self.name, frozenset(self.attrs.items())

    @property
    def series(self):
        return self.attrs.get("inference_probe.target"), self.attrs.get("inference_probe.transport")


@dataclass
class Export:
    arrived: float  # time.monotonic()
    arrived_wall_ns: int
    encoding: str
    resources: list  # one attribute dict per ResourceMetrics
    points: list = field(default_factory=list)
    duplicate_names: list = field(default_factory=list)  # a metric name twice in one ResourceMetrics


def any_value(value):
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def attributes(pairs) -> dict:
    return {pair.key: any_value(pair.value) for pair in pairs}


def flatten(message: ExportMetricsServiceRequest, arrived: float, arrived_wall_ns: int, encoding: str) -> Export:
    export = Export(arrived, arrived_wall_ns, encoding, [])
    for resource_metrics in message.resource_metrics:
        export.resources.append(attributes(resource_metrics.resource.attributes))
        names = [m.name for scope in resource_metrics.scope_metrics for m in scope.metrics]
        export.duplicate_names += sorted({n for n in names if names.count(n) > 1})
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                kind = metric.WhichOneof("data")
                data = getattr(metric, kind) if kind else None
                temporality = getattr(data, "aggregation_temporality", 0)
                for point in getattr(data, "data_points", []):
                    common = dict(name=metric.name, unit=metric.unit, kind=kind, temporality=temporality,
                                  attrs=attributes(point.attributes), start=point.start_time_unix_nano,
                                  time=point.time_unix_nano)
                    if kind == "histogram":
                        export.points.append(Point(
                            **common, count=point.count, sum=point.sum, bucket_counts=tuple(point.bucket_counts),
                            bounds=tuple(point.explicit_bounds),
                            min=point.min if point.HasField("min") else None,
                            max=point.max if point.HasField("max") else None))
                    else:
                        export.points.append(Point(**common))
    return export


class Receiver(LoopbackServer):
    """An OTLP/HTTP metrics receiver (protobuf encoding) on 127.0.0.1."""

    def __init__(self):
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        super().__init__(app)
        self.lock = threading.Lock()
        self.exports: list[Export] = []
        self.rejected: list[str] = []  # requests that are not a valid OTLP/HTTP protobuf metrics export

    def start(self, port: int = 0) -> "Receiver":
        """LoopbackServer.start, on a chosen port and without aiohttp's own request decompression."""
        self.thread.start()

        async def setup():
            # auto_decompress off: the handler sees the body as sent and gunzips it itself
            self.runner = web.AppRunner(self.app, shutdown_timeout=1, access_log=None, auto_decompress=False)
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", port)
            await site.start()
            return site._server.sockets[0].getsockname()[1]

        self.port = asyncio.run_coroutine_threadsafe(setup(), self.loop).result(10)
        return self

    async def handle(self, request: web.Request) -> web.Response:
        arrived, arrived_wall_ns = time.monotonic(), time.time_ns()
        body = await request.read()
        encoding = request.headers.get("Content-Encoding", "identity").lower()
        described = f"{request.method} {request.path_qs} Content-Type={request.headers.get('Content-Type')!r} " \
                    f"Content-Encoding={encoding!r} ({len(body)} bytes)"
        if request.method != "POST" or request.path != "/v1/metrics":
            return self.reject(described, 404, "not an OTLP metrics export")
        if request.content_type != "application/x-protobuf":
            return self.reject(described, 415, "Content-Type must be application/x-protobuf")
        try:
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding not in ("", "identity"):
                return self.reject(described, 415, "unsupported Content-Encoding")
            message = ExportMetricsServiceRequest.FromString(body)
        except Exception as error:  # noqa: BLE001 - anything undecodable is the sender's fault
            return self.reject(described, 400, f"undecodable body: {error!r}")
        export = flatten(message, arrived, arrived_wall_ns, encoding)
        with self.lock:
            self.exports.append(export)
        return web.Response(status=200, body=ExportMetricsServiceResponse().SerializeToString(),
                            content_type="application/x-protobuf")

    def reject(self, described: str, status: int, reason: str) -> web.Response:
        with self.lock:
            self.rejected.append(f"{described}: {reason}")
        return web.Response(status=status, text=reason)

    def received(self) -> list[Export]:
        with self.lock:
            return list(self.exports)


def current(exports: list[Export]) -> dict:
    """{(name, attributes): the latest point of that stream} over all exports (cumulative: latest = total)."""
    state = {}
    for export in exports:
        for point in export.points:
            state[point.key] = point
    return state


def points(state: dict, name: str, series=None) -> list[Point]:
    return [p for p in state.values() if p.name == name and (series is None or p.series == series)]


def count(state: dict, name: str, series, **attrs) -> int:
    return sum(p.count for p in points(state, name, series) if all(p.attrs.get(k) == v for k, v in attrs.items()))


def missing(state: dict) -> list[str]:
    """What the checks still wait for."""
    out = []
    for series in SERIES:
        if (n := count(state, DURATION, series)) < MIN_PROBES:
            out.append(f"{DURATION} {series}: {n} probes")
    for series in STREAMING_GOOD:
        out += [f"{name} {series}" for name in (TTFC, TPOC) if not points(state, name, series)]
    for series in GOOD:
        for kind in ("input", "output"):
            if not [p for p in points(state, TOKENS, series) if p.attrs.get("gen_ai.token.type") == kind]:
                out.append(f"{TOKENS} {series} {kind}")
    return out


# --- the processes -------------------------------------------------------------------------------------

def drain(process: Process) -> list[str]:
    """Reads the process's standard error into a list from a thread, so a chatty process never blocks."""
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(process.proc.stderr.readline, "")), daemon=True).start()
    return lines


def start_simulator(binary, *flags) -> tuple[Process, int]:
    proc = Process([binary, "simulate", "--listen", "127.0.0.1:0", "--log.level", "error", *flags])
    match = proc.wait_for_line(r"listening on http://127\.0\.0\.1:(\d+)/v1")
    drain(proc)
    return proc, int(match.group(1))


@pytest.fixture(scope="module")
def simulators(binary):
    """{"good": port, "broken": port}: a healthy simulator with fixed delays and one answering every request 500."""
    good, good_port = start_simulator(binary, "--ttft", "50ms", "--ttft-spread", "0ms", "--inter-token", "5ms",
                                      "--inter-token-spread", "0ms", "--tokens", str(TOKENS_PER_ANSWER))
    try:
        broken, broken_port = start_simulator(binary, "--error-rate", "1")
    except BaseException:
        good.stop()
        raise
    yield {"good": good_port, "broken": broken_port}
    assert good.stop() == 0
    assert broken.stop() == 0


def write_config(path, simulators) -> None:
    targets = "".join(f"""
  - name: {target}
    base_url: http://127.0.0.1:{simulators[sim]}/v1
    model: {model}
    api: {api}
    transports: [{", ".join(transports)}]""" for target, (api, _, model, transports, sim) in TARGETS.items())
    path.write_text(f"""
global:
  interval: 1s
  timeout: 5s
targets:{targets}
""")


def start_sidecar(binary, config, *flags) -> tuple[Process, list[str], str]:
    port = free_port()
    sidecar = Process([binary, "run", "--config.file", str(config), "--web.listen-address", f"127.0.0.1:{port}",
                       "--log.level", "warn", *flags])
    return sidecar, drain(sidecar), f"http://127.0.0.1:{port}"


def probes_done(metrics: str, target: str, transport: str, **labels) -> int:
    return int(sum(v for _, v in samples(metrics, "inference_probe_probes_total", target=target, transport=transport,
                                         **labels)))


@dataclass(repr=False)
class Run:
    exports: list
    rejected: list
    state: dict
    ports: dict
    started_wall_ns: int
    before: str  # /metrics scraped before the export `consistent` ...
    consistent: Export | None  # ... the first export that arrived after that scrape ...
    after: str  # ... and /metrics scraped after it arrived
    stderr: list
    exit_code: int
    waited: float

    def __repr__(self):  # pytest shows fixture values in failures: not every export
        return f"Run({len(self.exports)} exports, {len(self.rejected)} rejected, waited {self.waited:.1f}s)"


@pytest.fixture(scope="module")
def run(binary, simulators, tmp_path_factory) -> Run:
    config = tmp_path_factory.mktemp("otlp") / "probe.yml"
    write_config(config, simulators)
    receiver = Receiver().start()
    started_wall_ns = time.time_ns()
    sidecar, stderr, url = start_sidecar(binary, config, "--otlp.endpoint", f"http://127.0.0.1:{receiver.port}",
                                         "--otlp.interval", "1s")
    try:
        started = time.monotonic()
        waiting = ["the first export"]
        while time.monotonic() < started + DEADLINE:
            if sidecar.proc.poll() is not None:
                time.sleep(0.2)  # the rest of stderr
                raise AssertionError(f"sidecar exited ({sidecar.proc.returncode}): {''.join(stderr)}")
            exports = receiver.received()
            if exports and not (waiting := missing(current(exports))):
                break
            time.sleep(0.2)
        waited = time.monotonic() - started
        # The counts of one export between two scrapes of the sidecar's own /metrics.
        before = scrape(f"{url}/metrics")
        scraped = time.monotonic()
        consistent = None
        while time.monotonic() < scraped + 5 and consistent is None:
            consistent = next((e for e in receiver.received()
                               if e.arrived > scraped and any(p.name == DURATION for p in e.points)), None)
            time.sleep(0.05)
        after = scrape(f"{url}/metrics")
    finally:
        exit_code = sidecar.stop()
        time.sleep(0.2)  # the reader thread takes the last lines
        receiver.stop()
    exports = receiver.received()
    assert not waiting, f"after {waited:.0f}s still missing: {waiting}\nrejected: {receiver.rejected}\n" \
                        f"exports: {len(exports)}\nstderr: {''.join(stderr)[-3000:]}"
    return Run(exports, list(receiver.rejected), current(exports), simulators, started_wall_ns, before, consistent,
               after, stderr, exit_code, waited)


# --- the tests -----------------------------------------------------------------------------------------

def test_every_request_is_a_valid_otlp_http_protobuf_export(run):
    assert run.rejected == []
    assert len(run.exports) >= 2
    assert all(export.points for export in run.exports), "an export without data points"
    assert not [e.duplicate_names for e in run.exports if e.duplicate_names], "a metric twice in one export"
    assert run.exit_code == 0, "".join(run.stderr)


def test_exports_follow_the_interval(run):
    """--otlp.interval 1s: one export about every second (requests less than 0.3 s apart count as one)."""
    gaps = [gap for a, b in zip(run.exports, run.exports[1:]) if (gap := b.arrived - a.arrived) >= 0.3]
    assert gaps and 0.5 <= statistics.median(gaps) <= 2.0, gaps


def test_resource_names_the_service(run):
    for export in run.exports:
        assert export.resources, "no ResourceMetrics"
        for resource in export.resources:
            assert resource.get("service.name") == "inference-probe", resource


@pytest.mark.parametrize("name", SPEC)
def test_metric_is_a_cumulative_histogram_with_the_specified_unit_and_buckets(run, name):
    unit, buckets = SPEC[name]
    found = [p for e in run.exports for p in e.points if p.name == name]
    assert found, f"{name} never exported; names seen: {sorted({p.name for p in run.state.values()})}"
    assert {p.kind for p in found} == {"histogram"}
    assert {p.unit for p in found} == {unit}
    assert {p.temporality for p in found} == {AGGREGATION_TEMPORALITY_CUMULATIVE}
    for point in found:
        assert list(point.bounds) == buckets, point
        assert len(point.bucket_counts) == len(buckets) + 1, point
        assert sum(point.bucket_counts) == point.count, point


@pytest.mark.parametrize("name", SPEC)
def test_histogram_sums_agree_with_their_buckets(run, name):
    """A sum outside what the bucket counts allow would mean observations in the wrong buckets."""
    for point in points(run.state, name):
        if point.count == 0:
            continue
        lower = sum(n * bound for n, bound in zip(point.bucket_counts[1:], point.bounds))
        upper = sum(n * bound for n, bound in zip(point.bucket_counts, point.bounds))
        assert lower - 1e-9 <= point.sum, point
        if point.bucket_counts[-1] == 0:
            assert point.sum <= upper + 1e-9, point
        if point.min is not None and point.max is not None:
            assert point.min <= point.sum / point.count <= point.max, point


def test_points_are_cumulative_over_time(run):
    """The same stream keeps its start time and never counts down from one export to the next."""
    seen = {}
    for export in run.exports:
        for point in (p for p in export.points if p.name in SPEC):
            assert 0 < point.start <= point.time, point
            assert run.started_wall_ns - 1e9 <= point.start, point
            assert point.time <= export.arrived_wall_ns + 1e9, point
            if previous := seen.get(point.key):
                assert point.start == previous.start, (previous, point)
                assert point.count >= previous.count and point.time >= previous.time, (previous, point)
            seen[point.key] = point


@pytest.mark.parametrize("target,transport", SERIES, ids=[f"{t}-{tr}" for t, tr in SERIES])
def test_attributes_of_every_metric(run, target, transport):
    _, provider, model, _, _ = TARGETS[target]
    found = [p for p in run.state.values() if p.series == (target, transport) and p.name in SPEC]
    assert found
    for point in found:
        assert COMMON_ATTRIBUTES <= set(point.attrs), point
        assert point.attrs["gen_ai.operation.name"] == "chat", point
        assert point.attrs["gen_ai.provider.name"] == provider, point
        assert point.attrs["gen_ai.request.model"] == model, point
        assert point.attrs["server.address"] == "127.0.0.1", point
        if point.name == TOKENS:
            assert point.attrs.get("gen_ai.token.type") in ("input", "output"), point
        else:
            assert "gen_ai.token.type" not in point.attrs, point
        if point.name != DURATION:
            assert "error.type" not in point.attrs, point


def test_server_port_is_left_out_rather_than_sent_as_a_string(run):
    """swift-otel carries metric attributes as strings only; the conventions make `server.port` an int, so the
    sidecar leaves it out instead of sending it with the wrong type (documented in the README)."""
    assert not [p for p in run.state.values() if p.name in SPEC and "server.port" in p.attrs]


def test_no_stream_without_a_target(run):
    """Every data point belongs to a configured target and transport."""
    strays = [p for p in run.state.values() if p.name in SPEC and p.series not in SERIES]
    assert strays == []


@pytest.mark.parametrize("target,transport", GOOD, ids=[f"{t}-{tr}" for t, tr in GOOD])
def test_successful_probes_carry_no_error_type(run, target, transport):
    durations = points(run.state, DURATION, (target, transport))
    assert [p.attrs for p in durations if "error.type" in p.attrs] == []
    (success,) = durations
    assert 0.04 <= success.sum / success.count <= 2.0, success  # 50 ms to the first of 12 tokens 5 ms apart


@pytest.mark.parametrize("target,transport", BROKEN, ids=[f"{t}-{tr}" for t, tr in BROKEN])
def test_failed_probes_carry_their_outcome_as_error_type(run, target, transport):
    durations = points(run.state, DURATION, (target, transport))
    assert [p.attrs.get("error.type") for p in durations] == ["server_error"], [p.attrs for p in durations]
    assert durations[0].count >= MIN_PROBES
    assert not points(run.state, TTFC, (target, transport)), "a time to first chunk without a chunk"


def test_time_to_first_chunk_only_on_streaming_transports(run):
    transports = {p.series for p in points(run.state, TTFC)}
    assert transports == set(STREAMING_GOOD)
    for series in STREAMING_GOOD:
        (ttfc,) = points(run.state, TTFC, series)
        assert 0.03 <= ttfc.sum / ttfc.count <= 1.0, ttfc  # the simulator's 50 ms
        (per_chunk,) = points(run.state, TPOC, series)
        assert per_chunk.sum / per_chunk.count <= 0.1, per_chunk  # 5 ms between tokens
        (duration,) = points(run.state, DURATION, series)
        assert abs(ttfc.count - duration.count) <= 1, (ttfc, duration)


@pytest.mark.parametrize("target,transport", GOOD, ids=[f"{t}-{tr}" for t, tr in GOOD])
def test_token_usage_by_type(run, target, transport):
    usage = {p.attrs.get("gen_ai.token.type"): p for p in points(run.state, TOKENS, (target, transport))}
    assert set(usage) == {"input", "output"}, usage
    (duration,) = points(run.state, DURATION, (target, transport))
    output, prompt = usage["output"], usage["input"]
    assert abs(output.count - duration.count) <= 1, (output, duration)
    assert output.sum == TOKENS_PER_ANSWER * output.count, output
    assert output.bucket_counts[2] == output.count, output  # 12 tokens: the (4, 16] bucket
    assert prompt.count == output.count and prompt.sum >= prompt.count, prompt


@pytest.mark.parametrize("target,transport", SERIES, ids=[f"{t}-{tr}" for t, tr in SERIES])
def test_duration_count_matches_the_probes_on_metrics(run, target, transport):
    """The export that arrived between two scrapes counts what /metrics counted then (one probe of slack
    on each side: the two are not updated in the same instant)."""
    assert run.before and run.after, "the sidecar's /metrics did not answer"
    assert run.consistent is not None, "no export within 5 s of the scrape"
    state = current([run.consistent])
    for outcome in (["success"] if (target, transport) in GOOD else ["server_error"]):
        error = None if outcome == "success" else outcome
        exported = sum(p.count for p in points(state, DURATION, (target, transport))
                       if p.attrs.get("error.type") == error)
        lower = probes_done(run.before, target, transport, outcome=outcome)
        upper = probes_done(run.after, target, transport, outcome=outcome)
        assert lower >= MIN_PROBES
        assert lower - 1 <= exported <= upper + 1, (outcome, lower, exported, upper)
    assert sum(p.count for p in points(state, DURATION, (target, transport))) <= \
        probes_done(run.after, target, transport) + 1


def test_export_errors_are_not_logged(run):
    """The receiver answered every export 200: nothing about OTLP at warning or error level."""
    complaints = [line for line in run.stderr if ("otlp" in line.lower() or "export" in line.lower())
                  and any(level in line for level in ("warning", "error", "critical"))]
    assert complaints == []


def test_nothing_is_sent_without_an_endpoint(binary, simulators, tmp_path):
    """OTLP is off by default: a receiver on the standard port 4318 (when free) and one on a random port
    see nothing while the sidecar probes, even with --otlp.interval 1s."""
    config = tmp_path / "probe.yml"
    write_config(config, simulators)
    receivers = [Receiver().start()]
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", 4318))
            free = True
        except OSError:
            free = False
    if free:
        receivers.append(Receiver().start(4318))
    sidecar, stderr, url = start_sidecar(binary, config, "--otlp.interval", "1s")
    try:
        deadline = time.monotonic() + 20
        metrics = ""
        while time.monotonic() < deadline:  # the sidecar is up and probing ...
            if sidecar.proc.poll() is not None:
                time.sleep(0.2)
                raise AssertionError(f"sidecar exited ({sidecar.proc.returncode}): {''.join(stderr)}")
            metrics = scrape(f"{url}/metrics")
            if metrics and probes_done(metrics, "oai", "http_sse", outcome="success") >= 2:
                break
            time.sleep(0.2)
        assert probes_done(metrics, "oai", "http_sse", outcome="success") >= 2, "".join(stderr)
        quiet_until = time.monotonic() + 4  # ... and four export intervals pass without a request
        while time.monotonic() < quiet_until:
            assert not any(r.received() or r.rejected for r in receivers), [r.rejected for r in receivers]
            time.sleep(0.2)
    finally:
        assert sidecar.stop() == 0, "".join(stderr)
        for receiver in receivers:
            receiver.stop()
    assert not any(r.received() or r.rejected for r in receivers)


def test_endpoint_and_interval_from_the_environment(binary, simulators, tmp_path):
    """INFERENCE_PROBE_OTLP_ENDPOINT / INFERENCE_PROBE_OTLP_INTERVAL work like the flags."""
    config = tmp_path / "probe.yml"
    write_config(config, simulators)
    receiver = Receiver().start()
    port = free_port()
    sidecar = Process([binary, "run", "--config.file", str(config), "--web.listen-address", f"127.0.0.1:{port}",
                       "--log.level", "warn"],
                      env={"INFERENCE_PROBE_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.port}",
                           "INFERENCE_PROBE_OTLP_INTERVAL": "1s"})
    stderr = drain(sidecar)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(receiver.received()) < 2 and sidecar.proc.poll() is None:
            time.sleep(0.2)
        exports = receiver.received()
        assert len(exports) >= 2, f"{len(exports)} exports; rejected {receiver.rejected}; {''.join(stderr)[-2000:]}"
        assert receiver.rejected == []
        assert points(current(exports), DURATION, ("oai", "http_sse"))
    finally:
        assert sidecar.stop() == 0, "".join(stderr)
        receiver.stop()


def test_unreachable_receiver_does_not_stop_probing(binary, simulators, tmp_path):
    """An endpoint that refuses connections: the sidecar keeps probing and serving /metrics, and exits 0
    (after up to ~20 s: the exporter retries the export in flight and a last one until their deadlines)."""
    config = tmp_path / "probe.yml"
    write_config(config, simulators)
    sidecar, stderr, url = start_sidecar(binary, config, "--otlp.endpoint", f"http://127.0.0.1:{free_port()}",
                                         "--otlp.interval", "1s")
    try:
        deadline = time.monotonic() + 20
        done = 0
        while time.monotonic() < deadline and done < 4 and sidecar.proc.poll() is None:
            time.sleep(0.2)
            done = probes_done(scrape(f"{url}/metrics"), "oai", "http_sse", outcome="success")
        assert done >= 4, "".join(stderr)[-2000:]
    finally:
        assert sidecar.stop(timeout=40) == 0, "".join(stderr)[-2000:]
