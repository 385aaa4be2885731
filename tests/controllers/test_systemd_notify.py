"""Telling systemd: datagrams to $NOTIFY_SOCKET, never a wait when nobody reads them."""

from __future__ import annotations

import socket
import time

from latentjam.controllers.systemd_notify import notify, watchdog_period_s


def test_messages_reach_the_socket_and_a_full_one_drops_them_at_once(tmp_path, monkeypatch):
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(str(path))
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        assert notify("READY=1")
        assert systemd.recv(64) == b"READY=1"
        began = time.monotonic()
        sent = [notify("WATCHDOG=1") for _ in range(5000)]  # nobody reads: the queue fills
        assert time.monotonic() - began < 2.0
        assert sent[0] and not sent[-1]


def test_without_systemd_nothing_is_sent_and_the_period_is_half_the_timeout(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert not notify("READY=1")
    monkeypatch.setenv("WATCHDOG_USEC", "10000000")
    assert watchdog_period_s() == 5.0
    monkeypatch.delenv("WATCHDOG_USEC")
    assert watchdog_period_s() is None
