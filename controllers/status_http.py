"""The station's health and metrics over HTTP, for a monitor (127.0.0.1 by default).

``GET /metrics`` is Prometheus's text format (prometheus-client), ``GET /health`` answers
200 while the real-time path keeps going and 503 when it has stalled. A small asyncio server
of its own: requests are bounded (size, time) and anything else is a 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 8192
REQUEST_TIMEOUT_S = 5.0


class StationMetrics:
    """The gauges a station reports; ``update(values)`` sets them from a dict."""

    NAMES = {
        "playing": "1 while the transport plays",
        "bar": "the bar sounding now, from 0",
        "bpm": "the tempo",
        "song": "the song playing, from 1",
        "energy": "the energy of the section playing, 0-1",
        "uptime_seconds": "seconds since the station started",
        "late_loops": "times a model answer came too late and a loop repeated",
        "skipped_notes": "note-ons dropped after a stall",
        "skipped_pulses": "clock pulses dropped after a stall",
        "jack_xruns": "periods the JACK server reported missed (xruns)",
    }

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.gauges = {name: Gauge(f"latentjam_{name}", text, registry=self.registry)
                       for name, text in self.NAMES.items()}

    def update(self, values: dict[str, float]) -> None:
        for name, value in values.items():
            self.gauges[name].set(value)

    def text(self) -> bytes:
        return generate_latest(self.registry)


class StatusServer:
    def __init__(self, metrics: StationMetrics, healthy: Callable[[], bool],
                 refresh: Callable[[], None], host: str = "127.0.0.1", port: int = 9090):
        self.metrics, self.healthy, self.refresh = metrics, healthy, refresh
        self.host, self.port = host, port
        self._server: asyncio.Server | None = None

    async def start(self) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._serve, self.host, self.port,
                                                  limit=MAX_REQUEST_BYTES)
        host, port = self._server.sockets[0].getsockname()[:2]
        return host, port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT_S)
            method, path, *_ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            status, kind, body = self._answer(method, path)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ValueError, ConnectionError):
            status, kind, body = "400 Bad Request", "text/plain", b"bad request\n"
        try:
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: "
                         f"{len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _answer(self, method: str, path: str) -> tuple[str, str, bytes]:
        if method != "GET":
            return "405 Method Not Allowed", "text/plain", b"GET only\n"
        if path == "/metrics":
            self.refresh()
            return "200 OK", CONTENT_TYPE_LATEST, self.metrics.text()
        if path == "/health":
            if self.healthy():
                return "200 OK", "text/plain", b"ok\n"
            return "503 Service Unavailable", "text/plain", b"stalled\n"
        return "404 Not Found", "text/plain", b"/metrics or /health\n"
