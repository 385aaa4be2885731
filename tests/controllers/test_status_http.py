"""The station's status over real HTTP: metrics in Prometheus's format, health that follows
the real-time path, and bad requests answered without a stack trace."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

import pytest
from latentjam.controllers.status_http import StationMetrics, StatusServer


async def serving(healthy: list[bool], during):
    metrics = StationMetrics()
    server = StatusServer(metrics, lambda: healthy[0],
                          lambda: metrics.update({"song": 3, "bpm": 124.5}), port=0)
    host, port = await server.start()
    try:
        return await during(f"http://{host}:{port}")
    finally:
        await server.close()


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_metrics_and_health_over_http():
    healthy = [True]

    async def during(base):
        loop = asyncio.get_running_loop()
        metrics = await loop.run_in_executor(None, get, base + "/metrics")
        ok = await loop.run_in_executor(None, get, base + "/health")
        healthy[0] = False
        stalled = await loop.run_in_executor(None, get, base + "/health")
        missing = await loop.run_in_executor(None, get, base + "/")
        return metrics, ok, stalled, missing

    metrics, ok, stalled, missing = asyncio.run(serving(healthy, during))
    assert metrics[0] == 200
    assert b"latentjam_song 3.0" in metrics[1] and b"latentjam_bpm 124.5" in metrics[1]
    assert b"# HELP latentjam_energy" in metrics[1]
    assert ok == (200, b"ok\n") and stalled == (503, b"stalled\n") and missing[0] == 404


@pytest.mark.parametrize("request_bytes, status", [
    (b"POST /metrics HTTP/1.1\r\n\r\n", b"405"),
    (b"garbage\r\n\r\n", b"400"),
    (b"GET /health HTTP/1.1\r\n" + b"X: " + b"y" * 9000 + b"\r\n\r\n", b"400"),
])
def test_bad_requests_get_a_status_line(request_bytes, status):
    async def during(base):
        host, port = base.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(request_bytes)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        return answer

    answer = asyncio.run(serving([True], during))
    assert answer.split(b" ")[1] == status
