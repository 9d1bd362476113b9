"""The metrics endpoint protects itself from slow and idle clients: a request head must arrive within
--web.read-header-timeout, a keep-alive connection is closed after --web.idle-timeout, and a crowd of
half-open connections neither stays open nor starves the health check."""
import selectors
import socket
import time

import pytest

from conftest import Process, free_port, http_get

READ_HEADER_TIMEOUT = 0.5
IDLE_TIMEOUT = 1.0


@pytest.fixture
def endpoint(binary):
    port = free_port()
    proc = Process([binary, "demo", "--web.listen-address", f"127.0.0.1:{port}", "--interval", "1s",
                    "--web.read-header-timeout", "500ms", "--web.idle-timeout", "1s", "--log.level", "error"])
    proc.wait_for_line(r"metrics:\s+http://\S+/metrics")
    yield port
    assert proc.stop() == 0


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def wait_closed(sock: socket.socket, within: float) -> tuple[float, bytes]:
    """Reads until the server closes the connection; returns (seconds it took, bytes received)."""
    started = time.monotonic()
    received = b""
    while True:
        remaining = started + within - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"connection still open after {within}s (received {received!r})")
        sock.settimeout(remaining)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            data = b""
        if not data:
            return time.monotonic() - started, received
        received += data


def test_incomplete_request_head_is_closed(endpoint):
    with connect(endpoint) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # no blank line: the head never ends
        took, received = wait_closed(sock, within=3)
    assert b" 200 " not in received, received
    assert took >= READ_HEADER_TIMEOUT * 0.8


def test_silent_connection_is_closed(endpoint):
    with connect(endpoint) as sock:
        took, received = wait_closed(sock, within=3)
    assert b" 200 " not in received, received
    assert took >= READ_HEADER_TIMEOUT * 0.8


def test_idle_keep_alive_connection_is_closed(endpoint):
    with connect(endpoint) as sock:
        sock.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(65536)
            assert chunk, f"closed before a full response: {head!r}"
            head += chunk
        assert head.startswith(b"HTTP/1.1 200"), head
        assert b"connection: close" not in head.lower(), head  # kept alive, so the idle timeout is what closes it
        took, rest = wait_closed(sock, within=4)
    assert took >= IDLE_TIMEOUT * 0.8 - 0.1
    assert b"HTTP/1.1" not in rest, rest  # no second response was sent
    assert http_get(f"http://127.0.0.1:{endpoint}/-/healthy", timeout=3)[0] == 200


def test_crowd_of_half_open_connections_is_closed_and_health_still_answers(endpoint):
    sockets = []
    try:
        for index in range(100):
            sock = connect(endpoint)
            if index % 2:
                sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            sockets.append(sock)
        started = time.monotonic()

        status, body = http_get(f"http://127.0.0.1:{endpoint}/-/healthy", timeout=4)
        assert status == 200
        assert time.monotonic() - started < 4

        selector = selectors.DefaultSelector()
        for sock in sockets:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        open_sockets = set(sockets)
        while open_sockets and time.monotonic() < started + 5:
            for key, _ in selector.select(timeout=0.2):
                try:
                    data = key.fileobj.recv(65536)
                except ConnectionResetError:
                    data = b""
                except BlockingIOError:
                    continue
                if not data:
                    selector.unregister(key.fileobj)
                    open_sockets.discard(key.fileobj)
                else:
                    assert b" 200 " not in data, data
        selector.close()
        assert not open_sockets, f"{len(open_sockets)} of 100 connections still open after 5s"
        assert http_get(f"http://127.0.0.1:{endpoint}/-/healthy", timeout=3)[0] == 200
    finally:
        for sock in sockets:
            sock.close()
