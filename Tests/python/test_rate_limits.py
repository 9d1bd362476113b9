"""Rate limits and WebSocket keepalive against an aiohttp server (written by neither us nor the simulator).

One server, one sidecar, about 17 seconds, four targets, each chosen by the first path segment of its
`base_url`:

- `limited` (http + http_sse, interval 1s): every `POST /v1/chat/completions` is answered 429 with
  `Retry-After: 7`. The target as a whole (both transports together) must wait the 7 s before its next
  request, count the skipped probes and show the time left as `inference_probe_backoff_remaining_seconds`.
- `healthy` (http + http_sse, interval 1s): answers normally, with `x-ratelimit-remaining-requests: 42` and
  `x-ratelimit-remaining-tokens: 9000`; it keeps its one-probe-a-second schedule beside the limited one, and
  its remaining requests/tokens show as `inference_probe_rate_limit_remaining`.
- `silent` (websocket, interval 3s, ping every 1s, pong timeout 1s): a `WebSocketResponse(autoping=False)`
  that answers probes but reads and ignores every PING: the prober must give up on the connection
  (`reconnects_total{reason="pong_timeout"}`) and keep probing successfully on a new one.
- `pong` (websocket, same settings): a normal aiohttp WebSocket (autoping on): its ping round trips are
  measured (`inference_probe_websocket_ping_rtt_seconds`) and it is never reconnected.
"""
import json
import logging
import time
from collections import defaultdict

import pytest
from aiohttp import WSMsgType, web

from conftest import LoopbackServer, Process, free_port, samples, scrape, total

MODEL = "m"
RETRY_AFTER = 7
WINDOW = 16.0  # seconds observed after the limited target's first request
TOKENS = ["1", " 2", " 3", " 4", " 5"]


# --- the server -------------------------------------------------------------------------------------

def chunk(text: str) -> str:
    return json.dumps({"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": MODEL,
                       "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]})


USAGE_CHUNK = json.dumps({"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": MODEL, "choices": [],
                          "usage": {"prompt_tokens": 9, "completion_tokens": len(TOKENS),
                                    "total_tokens": 9 + len(TOKENS)}})
COMPLETION = {"id": "c1", "object": "chat.completion", "created": 0, "model": MODEL,
              "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(TOKENS)},
                           "finish_reason": "stop"}],
              "usage": {"prompt_tokens": 9, "completion_tokens": len(TOKENS), "total_tokens": 9 + len(TOKENS)}}
RATE_LIMIT_ERROR = {"error": {"message": "Rate limit reached for requests", "type": "requests", "param": None,
                              "code": "rate_limit_exceeded"}}
HEALTHY_HEADERS = {"x-ratelimit-limit-requests": "100", "x-ratelimit-remaining-requests": "42",
                   "x-ratelimit-reset-requests": "1s", "x-ratelimit-limit-tokens": "10000",
                   "x-ratelimit-remaining-tokens": "9000", "x-ratelimit-reset-tokens": "6ms"}


class Log:
    """What the server saw: per (target, transport) the (arrival, answered) times of each request."""

    def __init__(self):
        self.requests: dict[tuple[str, str], list[list[float]]] = defaultdict(list)
        self.connections: dict[str, int] = defaultdict(int)
        self.pings: dict[str, int] = defaultdict(int)


def make_app(log: Log) -> web.Application:
    async def chat_completions(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        arrived = time.monotonic()
        body = await request.json()
        streaming = bool(body.get("stream"))
        entry = [arrived, arrived]
        log.requests[(name, "http_sse" if streaming else "http")].append(entry)
        if name == "limited":
            response = web.json_response(RATE_LIMIT_ERROR, status=429, headers={
                "Retry-After": str(RETRY_AFTER), "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": f"{RETRY_AFTER}s"})
            await response.prepare(request)
            await response.write_eof()
            entry[1] = time.monotonic()
            return response
        if not streaming:
            return web.json_response(COMPLETION, headers=HEALTHY_HEADERS)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", **HEALTHY_HEADERS})
        await response.prepare(request)
        for token in TOKENS:
            await response.write(f"data: {chunk(token)}\n\n".encode())
        await response.write(f"data: {USAGE_CHUNK}\n\ndata: [DONE]\n\n".encode())
        await response.write_eof()
        return response

    async def stream(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        # `silent` never answers a ping: autoping is off and the PING frames it reads are ignored.
        ws = web.WebSocketResponse(autoping=(name != "silent"))
        await ws.prepare(request)
        log.connections[name] += 1
        try:
            async for message in ws:
                if message.type == WSMsgType.PING:
                    log.pings[name] += 1
                    continue
                if message.type != WSMsgType.TEXT:
                    continue
                json.loads(message.data)
                for token in TOKENS:
                    await ws.send_str(chunk(token))
                await ws.send_str(USAGE_CHUNK)
                await ws.send_str("[DONE]")
        except Exception:
            pass
        return ws

    app = web.Application()
    app.router.add_post("/{name}/v1/chat/completions", chat_completions)
    app.router.add_get("/{name}/v1/stream", stream)
    return app


# --- metrics ----------------------------------------------------------------------------------------

class Run:
    def __init__(self, log, snapshots, metrics, status_page, window_start):
        self.log = log
        self.snapshots = snapshots  # (monotonic time, metrics text), every ~0.5 s
        self.metrics = metrics  # the last scrape
        self.status_page = status_page
        self.window_start = window_start

    def in_window(self, target: str, transport: str) -> list[list[float]]:
        return [entry for entry in self.log.requests[(target, transport)]
                if self.window_start <= entry[0] <= self.window_start + WINDOW]

    def rows(self, target: str) -> str:
        return "\n".join(line for line in self.status_page.splitlines() if line.startswith(f"{target}/"))


@pytest.fixture(scope="module")
def run(binary, tmp_path_factory) -> Run:
    logging.getLogger("aiohttp").setLevel(logging.CRITICAL)
    log = Log()
    server = LoopbackServer(make_app(log)).start()
    base = f"http://127.0.0.1:{server.port}"
    config = tmp_path_factory.mktemp("rate-limits") / "probe.yml"
    config.write_text(f"""
global:
  interval: 1s
  timeout: 5s
  first_token_timeout: 2s
  stall_timeout: 2s
targets:
  - name: limited
    base_url: {base}/limited/v1
    model: {MODEL}
    transports: [http, http_sse]
  - name: healthy
    base_url: {base}/healthy/v1
    model: {MODEL}
    transports: [http, http_sse]
  - name: silent
    base_url: {base}/silent/v1
    model: {MODEL}
    transports: [websocket]
    interval: 3s
    websocket_ping_interval: 1s
    websocket_pong_timeout: 1s
  - name: pong
    base_url: {base}/pong/v1
    model: {MODEL}
    transports: [websocket]
    interval: 3s
    websocket_ping_interval: 1s
    websocket_pong_timeout: 1s
""")
    port = free_port()
    sidecar = Process([binary, "run", "--config.file", str(config), "--web.listen-address", f"127.0.0.1:{port}",
                       "--log.level", "error"])
    url = f"http://127.0.0.1:{port}"
    snapshots = []
    try:
        started = time.monotonic()
        window_start = None
        while True:
            time.sleep(0.5)
            if sidecar.proc.poll() is not None:
                raise AssertionError(f"sidecar exited ({sidecar.proc.returncode}): {sidecar.proc.stderr.read()}")
            now = time.monotonic()
            metrics = scrape(f"{url}/metrics")
            if metrics:
                snapshots.append((now, metrics))
            firsts = [entries[0][0] for (target, _), entries in list(log.requests.items())
                      if target == "limited" and entries]
            if window_start is None and firsts:
                window_start = min(firsts)
            if window_start is None and now > started + 10:
                raise AssertionError(f"the limited target sent nothing within 10 s; metrics:\n{metrics}")
            if window_start is not None and now > window_start + WINDOW:
                break
        metrics = scrape(f"{url}/metrics") or snapshots[-1][1]
        status_page = scrape(f"{url}/")
    finally:
        sidecar.stop()
        server.stop()
    return Run(log, snapshots, metrics, status_page, window_start)


# --- (a) Retry-After pauses the whole target; the other target keeps its schedule ----------------------

def test_rate_limited_target_waits_retry_after(run):
    requests = sorted(run.in_window("limited", "http") + run.in_window("limited", "http_sse"))
    arrivals = [round(arrived - run.window_start, 2) for arrived, _ in requests]
    assert requests, "the limited target sent no request"
    # Requests already on their way when the first 429 was answered (the two transports start within
    # a tenth of the interval of each other) could not have known; every later one must.
    first_answer = requests[0][1]
    in_flight = [r for r in requests if r[0] <= first_answer + 0.05]
    later = [r for r in requests if r[0] > first_answer + 0.05]
    problems = []
    if len(later) > 2:  # at 7 s and 14 s (plus jitter), besides the first round
        problems.append(f"{len(requests)} requests in {WINDOW:.0f}s (at most one per {RETRY_AFTER}s expected, "
                        f"besides the {len(in_flight)} sent before the first 429 was answered)")
    previous_arrival, previous_answer = in_flight[-1][0], max(r[1] for r in in_flight)
    for arrived, answered in later:
        if arrived - previous_answer < RETRY_AFTER - 0.05 or arrived - previous_arrival < RETRY_AFTER - 0.05:
            problems.append(f"a request {arrived - previous_answer:.2f}s after the previous 429 "
                            f"(Retry-After: {RETRY_AFTER})")
        previous_arrival, previous_answer = arrived, answered
    if not later:
        problems.append(f"no request after the first 429 within {WINDOW:.0f}s: the target never resumed")
    shown = problems[:6] + ([f"... and {len(problems) - 6} more"] if len(problems) > 6 else [])
    assert not problems, f"arrivals (s after the first): {arrivals}\n" + "\n".join(shown)


def test_rate_limited_target_reports_skips_and_backoff(run):
    series = dict(target="limited", model=MODEL)
    skipped = total(run.metrics, "inference_probe_probes_skipped_total", reason="rate_limited", **series)
    backoffs = [total(m, "inference_probe_backoff_remaining_seconds", **series) for _, m in run.snapshots]
    rate_limited = total(run.metrics, "inference_probe_probes_total", outcome="rate_limited", **series)
    others = {labels["outcome"]: value for labels, value in samples(run.metrics, "inference_probe_probes_total",
                                                                     **series)
              if labels.get("outcome") != "rate_limited" and value > 0}
    problems = []
    if skipped <= 0:
        problems.append(f"probes_skipped_total{{reason=rate_limited}} = {skipped}")
    if not any(value > 0 for value in backoffs):
        problems.append(f"backoff_remaining_seconds never > 0: {backoffs}")
    if max(backoffs, default=0) > RETRY_AFTER + 2:
        problems.append(f"backoff_remaining_seconds above Retry-After: {max(backoffs)}")
    if rate_limited < 1:
        problems.append("no rate_limited outcome")
    if others:
        problems.append(f"other outcomes: {others}")
    assert not problems, "\n".join(problems) + f"\nstatus:\n{run.rows('limited')}"


def test_healthy_target_keeps_its_schedule(run):
    series = dict(target="healthy", model=MODEL)
    problems = []
    for transport in ("http", "http_sse"):
        seen = len(run.in_window("healthy", transport))
        if seen < WINDOW - 3:  # one a second, give or take the start and the jitter
            problems.append(f"{transport}: only {seen} requests in {WINDOW:.0f}s")
        successes = total(run.metrics, "inference_probe_probes_total", outcome="success", transport=transport, **series)
        if successes < WINDOW - 3:
            problems.append(f"{transport}: only {successes} successes")
        failures = {labels["outcome"]: value for labels, value in
                    samples(run.metrics, "inference_probe_probes_total", transport=transport, **series)
                    if labels.get("outcome") != "success" and value > 0}
        if failures:
            problems.append(f"{transport}: failures {failures}")
        if total(run.metrics, "inference_probe_probes_skipped_total", transport=transport, **series) > 0:
            problems.append(f"{transport}: probes skipped")
    backoffs = [total(m, "inference_probe_backoff_remaining_seconds", **series) for _, m in run.snapshots]
    if any(value > 0 for value in backoffs):
        problems.append(f"backoff_remaining_seconds > 0: {backoffs}")
    assert not problems, "\n".join(problems) + f"\nstatus:\n{run.rows('healthy')}"


# --- (b) the provider's remaining requests and tokens ---------------------------------------------------

def test_rate_limit_remaining_gauges(run):
    def gauge(target: str, resource: str) -> list[float]:
        return [value for _, value in samples(run.metrics, "inference_probe_rate_limit_remaining",
                                              target=target, model=MODEL, resource=resource)]

    found = {(target, resource): gauge(target, resource)
             for target in ("healthy", "limited") for resource in ("requests", "tokens")}
    expected = {("healthy", "requests"): [42.0], ("healthy", "tokens"): [9000.0], ("limited", "requests"): [0.0],
                ("limited", "tokens"): []}  # absent until a provider sent one
    wrong = {key: value for key, value in found.items() if value != expected[key]}
    lines = [line for line in run.metrics.splitlines() if line.startswith("inference_probe_rate_limit_remaining")]
    assert not wrong, f"got {wrong}, expected {expected}\n" + "\n".join(lines)


# --- (c) WebSocket keepalive ----------------------------------------------------------------------------

def test_websocket_without_pongs_is_reconnected_and_probes_keep_succeeding(run):
    series = dict(target="silent", model=MODEL, transport="websocket")
    reconnects = total(run.metrics, "inference_probe_websocket_reconnects_total", reason="pong_timeout", **series)
    outcomes = {labels["outcome"]: value for labels, value in
                samples(run.metrics, "inference_probe_probes_total", **series) if value > 0}
    problems = []
    if run.log.pings["silent"] < 1:
        problems.append("the server never received a PING")
    if reconnects < 1:
        problems.append(f"websocket_reconnects_total{{reason=pong_timeout}} = {reconnects}")
    if run.log.connections["silent"] < 2:
        problems.append(f"{run.log.connections['silent']} connection(s) opened: the silent one was kept")
    if outcomes.get("success", 0) < 3:
        problems.append(f"fewer than 3 successes: {outcomes}")
    failures = {outcome: value for outcome, value in outcomes.items() if outcome != "success"}
    if failures:
        problems.append(f"failed probes: {failures}")
    assert not problems, "\n".join(problems) + f"\nstatus:\n{run.rows('silent')}"


def test_websocket_ping_rtt_is_measured_and_a_healthy_connection_kept(run):
    series = dict(target="pong", model=MODEL, transport="websocket")
    rtt_count = total(run.metrics, "inference_probe_websocket_ping_rtt_seconds_count", **series)
    reconnects = {labels.get("reason"): value for labels, value in
                  samples(run.metrics, "inference_probe_websocket_reconnects_total", **series) if value > 0}
    outcomes = {labels["outcome"]: value for labels, value in
                samples(run.metrics, "inference_probe_probes_total", **series) if value > 0}
    problems = []
    if rtt_count <= 0:
        problems.append(f"websocket_ping_rtt_seconds_count = {rtt_count}")
    if reconnects:
        problems.append(f"reconnected: {reconnects}")
    if run.log.connections["pong"] != 1:
        problems.append(f"{run.log.connections['pong']} connections opened, expected 1")
    if outcomes.get("success", 0) < 3 or set(outcomes) != {"success"}:
        problems.append(f"outcomes: {outcomes}")
    assert not problems, "\n".join(problems) + f"\nstatus:\n{run.rows('pong')}"
