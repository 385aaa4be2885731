"""The OSC section of a live set: where the server listens and who may talk to it."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

from latentjam.engine.errors import SettingError


def canonical_ip(text: str) -> str:
    """One spelling per address, so that a sender matches its ``allow`` entry: IPv6 in its
    short form without a zone (``%eth0``), and an IPv4 client reaching an IPv6 socket
    (``::ffff:192.168.1.23``) as plain IPv4. ``ValueError`` if ``text`` is no IP address."""
    address = ipaddress.ip_address(text.split("%", 1)[0])
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class OscConfig:
    enabled: bool = True
    host: str = "127.0.0.1"  # loopback: only this machine; anything else needs `allow`
    port: int = 9000  # 0: any free port (tests)
    allow: tuple[str, ...] = ()  # client IP addresses accepted when bound beyond loopback
    feedback_hz: float = 25.0  # most state updates a second sent to subscribed clients

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise SettingError(f"enabled must be true or false, got {self.enabled!r}")
        if not isinstance(self.host, str) or not self.host:
            raise SettingError(f"host must be an IP address, got {self.host!r}")
        if isinstance(self.port, bool) or not isinstance(self.port, int) \
                or not 0 <= self.port <= 65535:
            raise SettingError(f"port must be a UDP port 0..65535, got {self.port!r}")
        if not isinstance(self.allow, list | tuple):
            raise SettingError(f"allow must be a list of IP addresses, got {self.allow!r}")
        allow = []
        for address in self.allow:
            try:
                allow.append(canonical_ip(address))
            except (ValueError, TypeError, AttributeError):
                raise SettingError(f"allow: {address!r} is not an IP address (one client "
                                   f"each, such as \"192.168.1.23\")") from None
        object.__setattr__(self, "allow", tuple(allow))
        if not is_loopback(self.host) and not allow:
            raise SettingError(
                f"host {self.host!r} lets other machines reach the engine: list the tablets "
                f"that may control it in `allow` (their IP addresses)")
        if isinstance(self.feedback_hz, bool) or not isinstance(self.feedback_hz, int | float) \
                or not math.isfinite(self.feedback_hz) or not 1 <= self.feedback_hz <= 200:
            raise SettingError(f"feedback_hz must be 1..200, got {self.feedback_hz!r}")
