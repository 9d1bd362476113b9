"""The official `openai` and `anthropic` Python SDKs use every dialect the simulator serves (Responses over
HTTP, SSE and WebSocket, Realtime, Anthropic Messages) as they would the real APIs, and the sidecar probes
all of them against one simulator."""
import re
import subprocess
import time

import anthropic
import openai
import pytest

from conftest import Process, free_port, http_get

MODEL = "simulated-model"
PROMPT = "Count from 1 to 20, separated by spaces."
KEY = "sk-test-simulator"


def counting(n: int) -> str:
    return " ".join(str(i) for i in range(1, n + 1))


def client(base_url: str, key: str = KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=10)


def anthropic_client(base_url: str, key: str = KEY) -> anthropic.Anthropic:
    # The Anthropic SDK appends /v1/messages itself: its base URL is the server root.
    return anthropic.Anthropic(base_url=base_url.removesuffix("/v1"), api_key=key, max_retries=0, timeout=10)


# --- OpenAI Responses over HTTP and SSE ---------------------------------------------------------------------

@pytest.mark.parametrize("max_output_tokens, expected", [(None, 12), (5, 5)])
def test_responses_non_streaming(simulator, max_output_tokens, expected):
    extra = {} if max_output_tokens is None else {"max_output_tokens": max_output_tokens}
    response = client(simulator).responses.create(model=MODEL, input=PROMPT, **extra)
    assert response.object == "response"
    assert response.output_text == counting(expected)
    assert response.usage.output_tokens == expected
    assert response.usage.total_tokens == response.usage.input_tokens + expected


def test_responses_create_stream(simulator):
    events = list(client(simulator).responses.create(model=MODEL, input=PROMPT, stream=True))
    types = [e.type for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert "".join(deltas) == counting(12)
    assert len(deltas) == 12
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = events[-1].response
    assert final.status == "completed"
    assert final.output_text == counting(12)
    assert final.usage.output_tokens == 12


def test_responses_stream_helper_accumulates(simulator):
    with client(simulator).responses.stream(model=MODEL, input=PROMPT, max_output_tokens=7) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == counting(7)
    assert len(deltas) == 7
    assert final.output_text == counting(7)
    assert final.usage.output_tokens == 7


# --- OpenAI Responses WebSocket mode ------------------------------------------------------------------------

def test_responses_websocket_mode_serves_responses_one_after_another(simulator):
    with client(simulator).responses.connect() as connection:
        for max_output_tokens, expected in [(None, 12), (4, 4)]:
            extra = {} if max_output_tokens is None else {"max_output_tokens": max_output_tokens}
            connection.response.create(model=MODEL, input=PROMPT, **extra)
            deltas, final = [], None
            for event in connection:
                if event.type == "response.output_text.delta":
                    deltas.append(event.delta)
                elif event.type == "error":
                    raise AssertionError(f"error event: {event}")
                elif event.type in ("response.completed", "response.failed", "response.incomplete"):
                    final = event.response
                    break
            assert final is not None and final.status == "completed", final
            assert "".join(deltas) == counting(expected)
            assert final.usage.output_tokens == expected


# --- OpenAI Realtime ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("max_output_tokens, expected", [(None, 12), (3, 3)])
def test_realtime_text_conversation(simulator, max_output_tokens, expected):
    with client(simulator).realtime.connect(model=MODEL) as rt:
        first = rt.recv()
        assert first.type == "session.created"
        rt.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        assert rt.recv().type == "session.updated"
        rt.conversation.item.create(item={"type": "message", "role": "user",
                                          "content": [{"type": "input_text", "text": PROMPT}]})
        rt.response.create(**({} if max_output_tokens is None
                              else {"response": {"max_output_tokens": max_output_tokens}}))
        types, deltas, done = [], [], None
        for event in rt:
            types.append(event.type)
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
            elif event.type == "error":
                raise AssertionError(f"error event: {event}")
            elif event.type == "response.done":
                done = event.response
                break
    assert "conversation.item.added" in types
    assert types.index("response.created") < types.index("response.output_text.delta")
    assert "".join(deltas) == counting(expected)
    assert len(deltas) == expected
    assert done.status == "completed"
    assert done.usage.output_tokens == expected


# --- Anthropic Messages -------------------------------------------------------------------------------------

@pytest.mark.parametrize("max_tokens, expected", [(1024, 12), (6, 6)])
def test_anthropic_messages_create(simulator, max_tokens, expected):
    message = anthropic_client(simulator).messages.create(
        model=MODEL, max_tokens=max_tokens, messages=[{"role": "user", "content": PROMPT}])
    assert message.type == "message" and message.role == "assistant"
    assert message.content[0].type == "text"
    assert message.content[0].text == counting(expected)
    assert message.usage.output_tokens == expected
    assert message.stop_reason == ("end_turn" if expected == 12 else "max_tokens")


def test_anthropic_messages_stream(simulator):
    with anthropic_client(simulator).messages.stream(
            model=MODEL, max_tokens=1024, messages=[{"role": "user", "content": PROMPT}]) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(texts) == counting(12)
    assert len(texts) == 12
    assert final.content[0].text == counting(12)
    assert final.usage.output_tokens == 12


# --- Authentication -----------------------------------------------------------------------------------------

def test_wrong_key_is_refused_by_responses(simulator):
    with pytest.raises(openai.AuthenticationError):
        client(simulator, key="sk-wrong").responses.create(model=MODEL, input=PROMPT)


def test_wrong_key_is_refused_by_anthropic_messages(simulator):
    with pytest.raises(anthropic.AuthenticationError):
        anthropic_client(simulator, key="sk-wrong").messages.create(
            model=MODEL, max_tokens=16, messages=[{"role": "user", "content": PROMPT}])


# --- The sidecar probing every dialect ----------------------------------------------------------------------

SERIES = [("chat", "chat_completions", t) for t in ("http", "http_sse", "websocket")] + \
         [("resp", "responses", t) for t in ("http", "http_sse", "websocket")] + \
         [("rt", "realtime", "websocket")] + \
         [("anth", "anthropic_messages", t) for t in ("http", "http_sse")]


def samples(body: str, metric: str) -> dict:
    """{(target, api, transport, outcome or None): value} of one metric family."""
    out = {}
    for match in re.finditer(rf"^{metric}\{{([^}}]*)\}} (\S+)$", body, re.M):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        out[(labels.get("target"), labels.get("api"), labels.get("transport"), labels.get("outcome"))] = \
            float(match.group(2))
    return out


def test_sidecar_probes_every_dialect(binary, simulator, tmp_path):
    config = tmp_path / "probe.yml"
    config.write_text(f"""
global: {{interval: 1s, timeout: 5s}}
targets:
  - {{name: chat, base_url: "{simulator}", model: {MODEL}, api: chat_completions,
      transports: [http, http_sse, websocket], api_key_env: PROBE_KEY}}
  - {{name: resp, base_url: "{simulator}", model: {MODEL}, api: responses,
      transports: [http, http_sse, websocket], api_key_env: PROBE_KEY}}
  - {{name: rt, base_url: "{simulator}", model: {MODEL}, api: realtime,
      transports: [websocket], api_key_env: PROBE_KEY}}
  - {{name: anth, base_url: "{simulator}", model: {MODEL}, api: anthropic_messages,
      transports: [http, http_sse], api_key_env: PROBE_KEY}}
""")
    check = subprocess.run([binary, "check-config", "--config.file", str(config)], capture_output=True, text=True,
                           env={"PROBE_KEY": KEY})
    assert check.returncode == 0, check.stdout + check.stderr
    assert "4 target(s), 9 series" in check.stdout

    port = free_port()
    proc = Process([binary, "run", "--config.file", str(config), "--web.listen-address", f"127.0.0.1:{port}"],
                   env={"PROBE_KEY": KEY})
    try:
        deadline = time.monotonic() + 30
        body, probes = "", {}
        while time.monotonic() < deadline:
            try:
                status, body = http_get(f"http://127.0.0.1:{port}/metrics")
            except OSError:
                status = 0
            if status == 200:
                probes = samples(body, "inference_probe_probes_total")
                if all(probes.get((*s, "success"), 0) >= 1 for s in SERIES):
                    break
            time.sleep(0.3)
        probes = samples(body, "inference_probe_probes_total")
        tokens = samples(body, "inference_probe_output_tokens_total")
        for series in SERIES:
            assert probes.get((*series, "success"), 0) >= 1, (series, body)
        failures = {k: v for k, v in probes.items() if k[3] != "success" and v > 0}
        assert failures == {}, failures
        for series in SERIES:
            assert tokens.get((*series, None)) == 12 * probes[(*series, "success")], (series, tokens, probes)
        assert {(k[0], k[1], k[2]) for k in probes} == set(SERIES)
    finally:
        code = proc.stop()
    stderr = proc.proc.stderr.read()
    assert code == 0, stderr
    assert KEY not in stderr


def test_check_config_rejects_realtime_over_http(binary, tmp_path):
    config = tmp_path / "probe.yml"
    config.write_text("""
targets:
  - name: rt
    base_url: http://127.0.0.1:8089/v1
    model: m
    api: realtime
    transports: [http]
""")
    run = subprocess.run([binary, "check-config", "--config.file", str(config)], capture_output=True, text=True)
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"{config}:7: targets[0].transports[0]:" in run.stderr, run.stderr
    assert "realtime" in run.stderr and "websocket" in run.stderr, run.stderr
