"""What may go on the wire: a complete MIDI message, checked byte by byte just before a port
gets it, and a guard that counts and logs (rate-limited) what it refuses.

A mido message is checked when it is made, but not one made with ``skip_checks=True`` or
changed behind mido's back, and a sink below (rtmidi, JACK) sends whatever bytes it gets: a
status byte with too few data bytes, or a data byte of 0x80 or more, is read by a receiver as
a cut message or as a status byte of the next one (issue 10 saw one-byte ``0x99`` messages on
the wire). So the output thread lets through only a status byte followed by exactly the number
of data bytes that status takes, each below 0x80 (system exclusive: ``F0``, data bytes, ``F7``).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

REPEAT_LOG_S = 60.0  # after the first of a kind, a count of that kind at most once a minute

# data bytes after each status (its high nibble for channel messages)
_CHANNEL_DATA = {0x80: 2, 0x90: 2, 0xA0: 2, 0xB0: 2, 0xC0: 1, 0xD0: 1, 0xE0: 2}
_SYSTEM_DATA = {0xF1: 1, 0xF2: 2, 0xF3: 1, 0xF6: 0, 0xF8: 0, 0xFA: 0, 0xFB: 0, 0xFC: 0,
                0xFE: 0, 0xFF: 0}  # 0xF4, 0xF5, 0xF9, 0xFD are undefined; 0xF7 ends a sysex


@dataclass(frozen=True, slots=True)
class WireProblem:
    """Why a message may not be sent: ``kind`` (what the log is limited by) and its bytes."""

    kind: str
    data: tuple[int, ...] = ()

    def __str__(self) -> str:
        shown = " ".join(f"{byte:02X}" if isinstance(byte, int) and 0 <= byte < 256
                         else repr(byte) for byte in self.data[:16])
        more = " …" if len(self.data) > 16 else ""
        return f"{self.kind} [{shown}{more}]"


def data_bytes_for(status: int) -> int | None:
    """How many data bytes follow ``status``; None for a status with a length of its own
    (sysex) or none at all (undefined, or ``F7`` alone)."""
    if 0x80 <= status < 0xF0:
        return _CHANNEL_DATA[status & 0xF0]
    return _SYSTEM_DATA.get(status)


def bytes_problem(data: Sequence[int]) -> WireProblem | None:
    """None if ``data`` is one complete MIDI message, else what is wrong with it."""
    found = tuple(data)
    if not found:
        return WireProblem("an empty message")
    if any(not isinstance(byte, int) or isinstance(byte, bool) or not 0 <= byte < 256
           for byte in found):
        return WireProblem("a value that is not a byte", found)
    status, rest = found[0], found[1:]
    if status < 0x80:
        return WireProblem("no status byte", found)
    if status == 0xF0:
        if len(found) < 2 or found[-1] != 0xF7:
            return WireProblem("a system exclusive without its end (F7)", found)
        rest = found[1:-1]
    else:
        expected = data_bytes_for(status)
        if expected is None:
            return WireProblem(f"an undefined status byte {status:02X}", found)
        if len(rest) < expected:
            return WireProblem(f"a cut message (status {status:02X}: {len(rest)} of "
                               f"{expected} data bytes)", found)
        if len(rest) > expected:
            return WireProblem(f"too many data bytes (status {status:02X}: {len(rest)} for "
                               f"{expected})", found)
    if any(byte >= 0x80 for byte in rest):
        return WireProblem(f"a data byte of 0x80 or more (status {status:02X})", found)
    return None


def message_problem(message: object) -> WireProblem | None:
    """None if ``message`` (a mido message, or its bytes) encodes to one complete MIDI
    message, else what is wrong with it."""
    encode = getattr(message, "bytes", None)
    try:
        data = encode() if callable(encode) else list(message)  # type: ignore[call-overload]
    except Exception as err:  # a message mido cannot encode (a field missing, a wrong type)
        return WireProblem(f"a message that cannot be encoded ({type(err).__name__})")
    return bytes_problem(data)


class WireGuard:
    """Refuses what is not a complete MIDI message; counts refusals, by kind, and logs the
    first of each kind with its bytes, then that kind's count at most every ``repeat_log_s``
    (a stream of broken messages must not flood the log). One owner thread: not thread-safe,
    but the counts may be read from anywhere."""

    def __init__(self, repeat_log_s: float = REPEAT_LOG_S,
                 clock: Callable[[], float] = time.monotonic,
                 logger: logging.Logger = log) -> None:
        self._repeat_log_s = repeat_log_s
        self._clock = clock
        self._log = logger
        self.refused = 0
        self.by_kind: Counter[str] = Counter()
        self._logged_at: dict[str, float] = {}
        self._unlogged: Counter[str] = Counter()

    def allows(self, message: object, port: str = "") -> bool:
        """Whether ``message`` may go to ``port``; a refusal is counted and maybe logged."""
        problem = message_problem(message)
        if problem is None:
            return True
        self.refused += 1
        self.by_kind[problem.kind] += 1
        now = self._clock()
        last = self._logged_at.get(problem.kind)
        if last is None:
            self._logged_at[problem.kind] = now
            self._log.error("refused to send %s to port %r: not a complete MIDI message "
                            "(more of this kind are counted, logged at most every %g s)",
                            problem, port, self._repeat_log_s)
        elif now - last >= self._repeat_log_s:
            self._logged_at[problem.kind] = now
            self._log.error("refused %d more messages (%s) since %.0f s ago; last: %s",
                            self._unlogged[problem.kind] + 1, problem.kind, now - last, problem)
            self._unlogged[problem.kind] = 0
        else:
            self._unlogged[problem.kind] += 1
        return False
