"""Every failure outcome, played by a server written by neither us nor the simulator.

One aiohttp server on loopback misbehaves according to the first segment of the path (each target's
`base_url` is `http://127.0.0.1:PORT/<fault>/v1`) and plays each fault over every transport that can carry
it: `POST {base}/chat/completions` (JSON, or SSE when the request says `"stream": true`) and the WebSocket
`GET {base}/stream` (one request message in, one message per chunk, then `[DONE]`, connection kept).
One sidecar probes all of them at once with short per-stage timeouts; its /metrics are polled until every
series has counted its expected outcome (and nothing else) or a deadline passes, and every series is then
checked by its own test case, so all unmet expectations show at once.
"""
import asyncio
import json
import logging
import time

import pytest
from aiohttp import WSMsgType, web

from conftest import LoopbackServer, Process, free_port, samples, scrape

MODEL = "m"
MIB = 1024 * 1024
ALL = ("http", "http_sse", "websocket")
STREAMING = ("http_sse", "websocket")

# The answers, one text chunk each. `expect` below wants "^1 2 3" and at least 4 tokens.
COUNTING = ["1", " 2", " 3", " 4", " 5"]
WRONG_TEXT = ["apple", " pie", " is", " tasty"]  # enough tokens, fails the regex
TOO_SHORT = ["1", " 2", " 3"]  # matches the regex, fewer than min_tokens

STATUS_FAULTS = {  # fault -> (status, error type in the body)
    "status-400": (400, "invalid_request_error"),
    "status-401": (401, "authentication_error"),
    "status-403": (403, "permission_error"),
    "status-404": (404, "not_found_error"),
    "status-500": (500, "server_error"),
    "status-529": (529, "overloaded_error"),
}
INBAND_FAULTS = {  # fault -> error type of an in-band error (SSE `data:` / WebSocket message)
    "inband-auth": "authentication_error",
    "inband-invalid": "invalid_request_error",
    "inband-server": "server_error",
}

# target (= fault) -> (transports, expected outcome)
EXPECTATIONS = {
    "ok": (ALL, "success"),
    "status-400": (ALL, "client_error"),
    "status-401": (ALL, "auth_error"),
    "status-403": (ALL, "auth_error"),
    "status-404": (ALL, "client_error"),
    "status-500": (ALL, "server_error"),
    "status-529": (ALL, "server_error"),
    "slow-headers": (("http_sse",), "first_token_timeout"),  # response head after 3 s
    "no-first-chunk": (STREAMING, "first_token_timeout"),  # head (and a role-only chunk), then 3 s of nothing
    "slow-body": (("http",), "timeout"),  # a plain JSON answer after 7 s: only the overall timeout applies
    "slow-upgrade": (("websocket",), "connect_timeout"),  # 101 after 3 s
    "stall": (STREAMING, "stream_stall"),  # one chunk, 3 s of silence, then the rest
    "truncate": (STREAMING, "truncated"),  # chunks, then the end (SSE: end of body; WS: close) without [DONE]
    "closed": (ALL, "connection_closed"),  # request read, then closed before any content
    "oversize": (ALL, "oversize"),  # a valid chunk/body that is too big (WS message/SSE line 1.5 MiB, body 9 MiB)
    "malformed": (ALL, "protocol_error"),  # an unparsable chunk after a good one (http: an unparsable body)
    "mismatch": (ALL, "content_mismatch"),  # fails expect.regex
    "too-short": (ALL, "content_mismatch"),  # fails expect.min_tokens
    "inband-auth": (STREAMING, "auth_error"),
    "inband-invalid": (STREAMING, "client_error"),
    "inband-server": (STREAMING, "server_error"),
}

FAILURE_OUTCOMES = [
    "dns_error", "connect_error", "connect_timeout", "tls_error", "auth_error", "rate_limited", "client_error",
    "server_error", "first_token_timeout", "stream_stall", "timeout", "truncated", "connection_closed",
    "oversize", "protocol_error", "content_mismatch",
]

DEADLINE = 40  # seconds the sidecar gets to count every expected outcome


# --- the misbehaving server ---------------------------------------------------------------------------

def chunk(text: str) -> str:
    return json.dumps({"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": MODEL,
                       "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]})


def usage_chunk(tokens: int) -> str:
    return json.dumps({"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": MODEL, "choices": [],
                       "usage": {"prompt_tokens": 9, "completion_tokens": tokens, "total_tokens": 9 + tokens}})


ROLE_CHUNK = json.dumps({"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": MODEL,
                         "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                      "finish_reason": None}]})
MALFORMED_CHUNK = '{"id": "c1", "object": "chat.completion.chunk", "choices": [{"delta": {"content": "2'


def completion(parts: list[str]) -> dict:
    return {"id": "c1", "object": "chat.completion", "created": 0, "model": MODEL,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(parts)},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 9, "completion_tokens": len(parts), "total_tokens": 9 + len(parts)}}


def answer_for(fault: str) -> list[str]:
    return {"mismatch": WRONG_TEXT, "too-short": TOO_SHORT}.get(fault, COUNTING)


def error_body(message: str, kind: str) -> dict:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def drop(request: web.Request) -> web.Response:
    """Closes the connection without a byte of response (the returned response is never written)."""
    request.transport.close()
    return web.Response(status=200)


async def chat_completions(request: web.Request) -> web.StreamResponse:
    fault = request.match_info["fault"]
    body = await request.json()
    if fault in STATUS_FAULTS:
        status, kind = STATUS_FAULTS[fault]
        return web.json_response(error_body(f"fault {fault}", kind), status=status)
    if fault == "closed":
        return drop(request)
    parts = answer_for(fault)
    if not body.get("stream"):
        if fault == "slow-body":
            await asyncio.sleep(7)
        if fault == "oversize":
            return web.json_response(completion(["1 " + "x" * (9 * MIB)]))
        if fault == "malformed":
            return web.Response(body=b'{"id": "c1", "object": "chat.completion", "choices": [{"message": ',
                                content_type="application/json")
        return web.json_response(completion(parts))

    if fault == "slow-headers":
        await asyncio.sleep(3)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)

    async def send(data: str):
        await response.write(f"data: {data}\n\n".encode())

    if fault in INBAND_FAULTS:
        await send(json.dumps(error_body(f"fault {fault}", INBAND_FAULTS[fault])))
        await send("[DONE]")
        await response.write_eof()
        return response
    if fault == "no-first-chunk":
        await send(ROLE_CHUNK)
        await asyncio.sleep(3)
    if fault == "oversize":
        parts = ["1 " + "x" * (MIB + MIB // 2)] + parts
    for index, part in enumerate(parts):
        await send(chunk(part))
        if index == 0 and fault == "stall":
            await asyncio.sleep(3)
        if index == 0 and fault == "malformed":
            await send(MALFORMED_CHUNK)
        if index == 2 and fault == "truncate":
            await response.write_eof()  # the body ends: no usage chunk, no [DONE]
            return response
    await send(usage_chunk(len(parts)))
    await send("[DONE]")
    await response.write_eof()
    return response


async def websocket_stream(request: web.Request) -> web.StreamResponse:
    fault = request.match_info["fault"]
    if fault in STATUS_FAULTS:  # the upgrade is refused
        status, kind = STATUS_FAULTS[fault]
        return web.json_response(error_body(f"fault {fault}", kind), status=status)
    if fault == "slow-upgrade":
        await asyncio.sleep(3)
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    try:
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            json.loads(message.data)
            if fault == "closed":
                await ws.close()
                break
            if fault in INBAND_FAULTS:
                await ws.send_str(json.dumps(error_body(f"fault {fault}", INBAND_FAULTS[fault])))
                await ws.send_str("[DONE]")
                continue
            if fault == "no-first-chunk":
                await asyncio.sleep(3)
            parts = answer_for(fault)
            if fault == "oversize":
                parts = ["1 " + "x" * (MIB + MIB // 2)] + parts
            closed = False
            for index, part in enumerate(parts):
                await ws.send_str(chunk(part))
                if index == 0 and fault == "stall":
                    await asyncio.sleep(3)
                if index == 0 and fault == "malformed":
                    await ws.send_str(MALFORMED_CHUNK)
                if index == 2 and fault == "truncate":
                    await ws.close()
                    closed = True
                    break
            if closed:
                break
            await ws.send_str(usage_chunk(len(parts)))
            await ws.send_str("[DONE]")
    except Exception:  # the prober gave up and closed while we were sleeping or sending
        pass
    return ws


# --- metrics ----------------------------------------------------------------------------------------

def outcome_counts(metrics: str, target: str, transport: str) -> dict[str, float]:
    return {labels["outcome"]: value for labels, value in samples(metrics, "inference_probe_probes_total")
            if labels.get("target") == target and labels.get("transport") == transport
            and labels.get("model") == MODEL and "outcome" in labels}


def unmet(metrics: str, target: str, transport: str, expected: str) -> str | None:
    """Why the series does not (yet) show exactly its expected outcome; None when it does."""
    counts = outcome_counts(metrics, target, transport)
    if not counts:
        return f"{target}/{transport}: no inference_probe_probes_total series"
    problems = []
    if counts.get(expected, 0) < 1:
        problems.append(f"no {expected}")
    others = {o: v for o, v in counts.items() if o != expected and v > 0}
    if others:
        problems.append(f"other outcomes counted: {others}")
    return f"{target}/{transport}: {'; '.join(problems)}" if problems else None


SERIES = [(target, transport, outcome) for target, (transports, outcome) in EXPECTATIONS.items()
          for transport in transports]


@pytest.fixture(scope="module")
def probed(binary, tmp_path_factory):
    """Runs the server and one sidecar probing every fault; returns (final metrics, status page, seconds)."""
    logging.getLogger("aiohttp").setLevel(logging.CRITICAL)  # the server's own complaints about dropped peers
    app = web.Application(client_max_size=4 * MIB)
    app.router.add_post("/{fault}/v1/chat/completions", chat_completions)
    app.router.add_get("/{fault}/v1/stream", websocket_stream)
    server = LoopbackServer(app).start()
    targets = "".join(f"""
  - name: {target}
    base_url: http://127.0.0.1:{server.port}/{target}/v1
    model: {MODEL}
    transports: [{", ".join(transports)}]""" for target, (transports, _) in EXPECTATIONS.items())
    config = tmp_path_factory.mktemp("failure-outcomes") / "probe.yml"
    config.write_text(f"""
global:
  interval: 1s
  timeout: 5s
  connect_timeout: 1s
  first_token_timeout: 1s
  stall_timeout: 1s
  expect: {{regex: "^1 2 3", min_tokens: 4}}
targets:{targets}
""")
    port = free_port()
    sidecar = Process([binary, "run", "--config.file", str(config), "--web.listen-address", f"127.0.0.1:{port}",
                       "--log.level", "error"])
    url = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        metrics = ""
        while time.monotonic() < started + DEADLINE:
            time.sleep(0.5)
            if sidecar.proc.poll() is not None:
                raise AssertionError(f"sidecar exited ({sidecar.proc.returncode}): {sidecar.proc.stderr.read()}")
            metrics = scrape(f"{url}/metrics") or metrics
            if metrics and not any(unmet(metrics, *series) for series in SERIES):
                break
        elapsed = time.monotonic() - started
        metrics = scrape(f"{url}/metrics") or metrics
        status_page = scrape(f"{url}/")
    finally:
        sidecar.stop()
        server.stop()
    return metrics, status_page, elapsed


@pytest.mark.parametrize("target,transport,outcome", SERIES, ids=[f"{t}-{tr}" for t, tr, _ in SERIES])
def test_fault_is_classified(probed, target, transport, outcome):
    metrics, status_page, elapsed = probed
    problem = unmet(metrics, target, transport, outcome)
    rows = [line for line in status_page.splitlines()
            if line.startswith(f"{target}/") and line.split()[0].endswith(f"/{transport}")]
    assert problem is None, f"after {elapsed:.0f}s: {problem}\nstatus page: " + "\n".join(rows)


def test_every_outcome_name_is_exported(probed):
    """All outcomes start at 0, so the complete set of new names is on every series."""
    metrics, _, _ = probed
    outcomes = set(outcome_counts(metrics, "ok", "http"))
    missing = set(FAILURE_OUTCOMES + ["success"]) - outcomes
    assert not missing, f"outcomes missing on ok/http: {sorted(missing)}; present: {sorted(outcomes)}"
    assert "http_error" not in outcomes, "http_error is gone (issue 7)"
