"""The ``[web]`` section of a live set or a station: where the control page is served.

Who may open it is the OSC section's ``allow`` list (one list of tablets for both), and every
request carries the token drawn at each start (``WebServer.url``): off the loopback the page
is served only with that list set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from latentjam.controllers.osc_config import OscConfig, is_loopback
from latentjam.engine.errors import SettingError

DEFAULT_PORT = 9080


@dataclass(frozen=True)
class WebConfig:
    enabled: bool = True
    host: str = "127.0.0.1"  # loopback: this machine only; anything else needs [osc] allow
    port: int = DEFAULT_PORT  # TCP port; 0: any free port
    fallback: bool = True  # the port is taken (a second set running): take any free one
    feedback_hz: float = 25.0  # most state updates a second pushed to each open page

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise SettingError(f"enabled must be true or false, got {self.enabled!r}")
        if not isinstance(self.fallback, bool):
            raise SettingError(f"fallback must be true or false, got {self.fallback!r}")
        if not isinstance(self.host, str) or not self.host:
            raise SettingError(f"host must be an IP address, got {self.host!r}")
        if isinstance(self.port, bool) or not isinstance(self.port, int) \
                or not 0 <= self.port <= 65535:
            raise SettingError(f"port must be a TCP port 0..65535, got {self.port!r}")
        if isinstance(self.feedback_hz, bool) or not isinstance(self.feedback_hz, int | float) \
                or not math.isfinite(self.feedback_hz) or not 1 <= self.feedback_hz <= 100:
            raise SettingError(f"feedback_hz must be 1..100, got {self.feedback_hz!r}")


def check_reach(web: WebConfig, osc: OscConfig) -> None:
    """A SettingError when the page would be served beyond this machine to anyone: off the
    loopback, the OSC ``allow`` list names who may open it."""
    if web.enabled and not is_loopback(web.host) and not osc.allow:
        raise SettingError(
            f"web host {web.host!r} lets other machines open the control page: list the "
            f"tablets that may in [osc] allow (their IP addresses)")


def parse_web_flag(text: str, web: WebConfig) -> WebConfig:
    """``--web HOST:PORT`` (or ``PORT``, or ``HOST:``) over ``web``, turned on: a fixed port
    given on the command line is that port, no fallback."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "", text
    host = host.strip("[]") or web.host  # [::1]:9080
    changes: dict = {"enabled": True, "host": host}
    if port:
        try:
            changes.update(port=int(port), fallback=False)
        except ValueError:
            raise SettingError(f"--web {text!r}: expected HOST:PORT, e.g. 0.0.0.0:9080") \
                from None
    return WebConfig(**{**web.__dict__, **changes})
