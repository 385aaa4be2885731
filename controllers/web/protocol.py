"""What a page and the server say to each other over the WebSocket, as pure functions.

A page sends one JSON array per frame, ``[address, [args...]]``: an address and arguments of
docs/osc.md's table, read by ``osc_addresses.parse`` like any OSC message (one command set,
two transports). The server sends JSON objects: ``{"type": "feedback", "messages":
{address: [args...]}}`` (the OSC feedback messages that changed; all of them on connecting
and on ``/latentjam/state``), ``{"type": "anchors", "files": [...]}`` for
``/latentjam/anchors``, and ``{"type": "error", "text": ...}`` for a message refused.
"""

from __future__ import annotations

import json
import math

MAX_ARGS = 8  # the longest OSC message takes 3; room, and a bound
MAX_TEXT = 1024  # characters of a string argument (an anchor file's name)


class FrameError(ValueError):
    """Why a frame from a page was refused."""


def read_frame(text: str) -> tuple[str, tuple]:
    """``(address, args)`` from one frame; ``FrameError`` saying why not."""
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise FrameError(f"not JSON: {err}") from None
    if not isinstance(frame, list) or len(frame) != 2 or not isinstance(frame[0], str) \
            or not isinstance(frame[1], list):
        raise FrameError("expected [address, [arguments]]")
    address, args = frame
    if len(args) > MAX_ARGS:
        raise FrameError(f"{address}: at most {MAX_ARGS} arguments")
    for arg in args:
        if isinstance(arg, str):
            if len(arg) > MAX_TEXT:
                raise FrameError(f"{address}: a string argument of more than {MAX_TEXT} "
                                 "characters")
        elif isinstance(arg, float) and not math.isfinite(arg):
            raise FrameError(f"{address}: {arg} is not a number")
        elif not isinstance(arg, bool | int | float):
            raise FrameError(f"{address}: arguments are numbers, true/false or strings")
    return address, tuple(args)


def feedback_frame(messages: dict[str, tuple]) -> str:
    return json.dumps({"type": "feedback", "messages": messages}, separators=(",", ":"))


def anchors_frame(files: tuple[str, ...]) -> str:
    return json.dumps({"type": "anchors", "files": list(files)}, separators=(",", ":"))


def error_frame(text: str) -> str:
    return json.dumps({"type": "error", "text": text}, separators=(",", ":"))


class RateLimit:
    """A token bucket: ``rate`` messages a second on average, bursts of ``burst``."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self._tokens = burst
        self._at: float | None = None

    def take(self, now: float) -> bool:
        """Whether one more message may pass at ``now`` (monotonic seconds)."""
        if self._at is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class OncePerWindow:
    """Says whether to log a refusal of ``key`` (an address and a reason): once per
    ``window_s`` seconds per key, for at most ``keys`` keys (then it starts afresh), so a
    flood of refused requests logs a line, not a line a request."""

    def __init__(self, window_s: float = 60.0, keys: int = 1024) -> None:
        self.window_s, self.keys = window_s, keys
        self._last: dict[str, float] = {}
        self.suppressed = 0

    def should_log(self, key: str, now: float) -> bool:
        last = self._last.get(key)
        if last is not None and now - last < self.window_s:
            self.suppressed += 1
            return False
        if len(self._last) >= self.keys:
            self._last.clear()
        self._last[key] = now
        return True
