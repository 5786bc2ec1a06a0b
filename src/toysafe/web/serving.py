"""uvicorn's HTTP protocols with Nagle's algorithm off on every connection.

asyncio turns TCP_NODELAY on only for sockets whose ``proto`` is IPPROTO_TCP; the listening
socket that ``serve --workers N`` hands to its worker processes arrives with ``proto`` 0, so
with several workers every keep-alive response waited for the client's delayed ACK: 44 ms a
request instead of 3 ms (measured on loopback). uvloop's transports behave the same way.

``toysafe serve`` uses the httptools parser when it is installed (``uvicorn[standard]``, a
dependency: parsing in C instead of pure-Python h11) and h11 otherwise.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


def no_delay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # not a TCP socket after all: nothing to turn off
            pass


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        no_delay(transport)
        super().connection_made(transport)


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools is not installed: h11 only
    HTTPTOOLS = False
else:
    import httptools  # noqa: F401  (uvicorn imports it lazily in some versions)

    HTTPTOOLS = True

    class NoDelayHttpToolsProtocol(HttpToolsProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            no_delay(transport)
            super().connection_made(transport)


def protocol() -> str:
    """The dotted name of the HTTP protocol class ``toysafe serve`` hands to uvicorn."""
    name = "NoDelayHttpToolsProtocol" if HTTPTOOLS else "NoDelayH11Protocol"
    return f"{__name__}:{name}"


def loop() -> str:
    """uvloop when installed (uvicorn's ``auto``), else asyncio."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def warm_up() -> None:
    """Load what each worker process loads once (the shipped knowledge base, the unit
    registry, matplotlib and its first draw, the dummy password hash that evens out sign-in
    timing) before the worker serves, so no request pays for it."""
    from toysafe.core.evidence.units import convert
    from toysafe.io.kb import default_kb
    from toysafe.render import charts
    from toysafe.store.accounts import dummy_hash

    default_kb()
    convert(1.0, "ppm", "mg/kg")
    dummy_hash()
    charts.warm_up()
