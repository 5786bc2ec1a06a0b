"""``toysafe serve`` picks the C HTTP parser and uvloop when installed (uvicorn[standard]) and
turns Nagle off on every connection with either protocol (issue 14)."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from toysafe.web import serving


class Transport:
    def __init__(self, sock: socket.socket | None) -> None:
        self.sock = sock

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.sock if name == "socket" else default


def nodelay(sock: socket.socket) -> int:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_nagle_is_turned_off_on_a_tcp_socket_of_proto_0() -> None:
    # The socket serve --workers hands to its workers: TCP, but created with proto 0.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0) as sock:
        assert nodelay(sock) == 0
        serving.no_delay(Transport(sock))  # type: ignore[arg-type]
        assert nodelay(sock) == 1


def test_a_transport_without_a_tcp_socket_is_left_alone() -> None:
    serving.no_delay(Transport(None))  # type: ignore[arg-type]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
        serving.no_delay(Transport(unix))  # type: ignore[arg-type]


def test_serve_uses_httptools_and_uvloop_when_installed() -> None:
    pytest.importorskip("httptools")
    pytest.importorskip("uvloop")
    assert serving.protocol() == "toysafe.web.serving:NoDelayHttpToolsProtocol"
    assert serving.loop() == "uvloop"
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    assert issubclass(serving.NoDelayHttpToolsProtocol, HttpToolsProtocol)
    # Both protocols turn Nagle off before uvicorn sees the connection.
    for cls in (serving.NoDelayHttpToolsProtocol, serving.NoDelayH11Protocol):
        assert "connection_made" in vars(cls)
