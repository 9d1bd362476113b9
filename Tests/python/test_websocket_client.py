"""An independent WebSocket client (the `websockets` package) speaks the simulator's dialect: a request
as one text message, one text message per chunk, `[DONE]`, and the connection stays open."""
import json

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

REQUEST = {"model": "simulated-model", "stream": True, "max_tokens": 5,
           "messages": [{"role": "user", "content": "Count from 1 to 5."}],
           "stream_options": {"include_usage": True}}


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + "/stream"


def read_answer(ws) -> tuple[str, list[dict]]:
    chunks = []
    while (message := ws.recv(timeout=10)) != "[DONE]":
        chunks.append(json.loads(message))
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    return text, chunks


def test_two_requests_on_one_connection_with_the_key_in_the_query(simulator):
    with connect(ws_url(simulator) + "?api_key=sk-test-simulator") as ws:
        for _ in range(2):
            ws.send(json.dumps(REQUEST))
            text, chunks = read_answer(ws)
            assert text == "1 2 3 4 5"
            assert chunks[0]["object"] == "chat.completion.chunk"
            assert chunks[-1]["usage"]["completion_tokens"] == 5


def test_bearer_header_works_and_a_missing_key_is_refused(simulator):
    with connect(ws_url(simulator), additional_headers={"Authorization": "Bearer sk-test-simulator"}) as ws:
        ws.send(json.dumps(REQUEST))
        assert read_answer(ws)[0] == "1 2 3 4 5"
    # Without the key the first request is answered with an authentication error, then the socket closes.
    with connect(ws_url(simulator)) as ws:
        ws.send(json.dumps(REQUEST))
        error = json.loads(ws.recv(timeout=10))["error"]
        assert error["code"] == "invalid_api_key", error
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)


def test_a_request_that_is_not_json_gets_an_error_message(simulator):
    with connect(ws_url(simulator) + "?api_key=sk-test-simulator") as ws:
        ws.send("hello")
        assert json.loads(ws.recv(timeout=10))["error"]["type"] == "invalid_request_error"
