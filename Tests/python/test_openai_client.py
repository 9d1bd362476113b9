"""The official `openai` Python client must be able to use the simulator as it would a real API."""
import openai
import pytest

PROMPT = [{"role": "user", "content": "Count from 1 to 20, separated by spaces."}]
EXPECTED = " ".join(str(n) for n in range(1, 13))


def client(base_url: str, key: str = "sk-test-simulator") -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=10)


def test_streams_a_completion(simulator):
    stream = client(simulator).chat.completions.create(
        model="simulated-model", messages=PROMPT, stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    content = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(content) == EXPECTED
    assert len(content) == 12
    assert chunks[0].choices[0].delta.role == "assistant"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].usage.completion_tokens == 12
    assert all(c.object == "chat.completion.chunk" and c.model == "simulated-model" for c in chunks)


def test_non_streaming_completion_and_max_tokens(simulator):
    completion = client(simulator).chat.completions.create(model="simulated-model", messages=PROMPT, max_tokens=5)
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == "1 2 3 4 5"
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage.completion_tokens == 5


def test_lists_models(simulator):
    assert [m.id for m in client(simulator).models.list()] == ["simulated-model"]


def test_wrong_key_is_rejected(simulator):
    with pytest.raises(openai.AuthenticationError):
        client(simulator, key="sk-wrong").chat.completions.create(model="simulated-model", messages=PROMPT)
