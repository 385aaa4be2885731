"""Telling systemd how the station is (``Type=notify``): READY=1 once the first bar is
scheduled, WATCHDOG=1 pings while the real-time path keeps going, STOPPING=1 at the end.
A plain datagram to $NOTIFY_SOCKET (no dependency); without it, nothing is sent."""

from __future__ import annotations

import os
import socket

NOTIFY_SOCKET = "NOTIFY_SOCKET"
WATCHDOG_USEC = "WATCHDOG_USEC"


def notify(message: str) -> bool:
    """Send ``message`` (e.g. "READY=1") to systemd; False when not run by systemd."""
    address = os.environ.get(NOTIFY_SOCKET)
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)  # a reader that does not read must not stop the clock
        try:
            sock.sendto(message.encode(), address)
        except OSError:  # BlockingIOError included: that message is dropped
            return False
    return True


def watchdog_period_s() -> float | None:
    """How often to ping: half the watchdog's timeout, or None when there is none."""
    text = os.environ.get(WATCHDOG_USEC)
    try:
        usec = int(text) if text else 0
    except ValueError:
        return None
    return usec / 2e6 if usec > 0 else None
