"""The simulated customers' HTTP client survives the survey server closing an idle connection.

uvicorn closes a keep-alive connection after 5 s idle; ``nps demo`` on a loaded machine once died
with "Connection reset by peer" when a customer's request went out on such a connection.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from sandbox.responder import _http_session

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"


def _serve(listener: socket.socket, answered: list[int]) -> None:
    """Answers the first request of each connection, then resets the connection (RST) when a
    second request arrives on it: a server that closed it meanwhile."""
    while True:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            if b"\r\n\r\n" not in connection.recv(65536):
                continue
            # counted before the answer goes out: the client may check the count as soon as
            # it has read the answer (counted after, the check raced this thread)
            answered.append(1)
            connection.sendall(OK)
            if connection.recv(65536):
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@pytest.fixture
def resetting_server() -> Iterator[tuple[str, list[int]]]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    answered: list[int] = []
    thread = threading.Thread(target=_serve, args=(listener, answered), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/s/token/9", answered
    listener.close()


def test_a_request_reset_on_a_reused_connection_is_sent_again(
    resetting_server: tuple[str, list[int]],
) -> None:
    url, answered = resetting_server
    http = _http_session()
    assert http.get(url, timeout=5).status_code == 200
    # Goes out on the kept-alive connection, which the server resets: sent again on a new one.
    assert http.post(url, data={"score": "9"}, timeout=5).status_code == 200
    assert len(answered) == 2
