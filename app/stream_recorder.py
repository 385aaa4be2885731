"""A live stream recorded to standard MIDI files, a bar at a time, rotated (hourly by default).

Each file is format 0 (one track, every channel) and stays a whole, playable file after every
bar: the bar's events go where the end-of-track was, a new end-of-track follows, then the
track's length in the header is set, so a player may open the file while the station runs,
and a ``kill -9`` loses at most the bar being written. At the next start ``repair`` closes
any file cut in the middle of a bar at its last whole event, with note-offs for what it left
on. The writing happens in a thread of its own; the engine only hands each bar over.
"""

from __future__ import annotations

import logging
import queue
import struct
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import mido
from latentjam.engine.transport import PPQN

log = logging.getLogger(__name__)

END_OF_TRACK = b"\x00\xff\x2f\x00"
HEADER = b"MThd" + struct.pack(">IHHH", 6, 0, 1, PPQN)
TRACK_START = len(HEADER) + 8  # the first event, after "MTrk" and its length
_STOP = object()


def _varlen(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


class BarFile:
    """One MIDI file that grows by whole bars."""

    def __init__(self, path: Path, bpm: float) -> None:
        self.path = path
        self._file = open(path, "xb")  # noqa: SIM115 - kept open while it grows
        self._file.write(HEADER + b"MTrk" + struct.pack(">I", len(END_OF_TRACK)) + END_OF_TRACK)
        self._last_tick = 0
        self._bpm = None
        self.add([], 0, bpm)

    def add(self, events: Sequence[tuple[int, mido.Message]], bar_tick: int,
            bpm: float) -> None:
        """A bar's ``(tick, message)`` events (ticks from the file's start, in order) and
        its tempo, then the file made whole again."""
        chunk = bytearray()
        if bpm != self._bpm:
            tempo = mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))
            chunk += self._event(max(bar_tick, self._last_tick), tempo.bin())
            self._bpm = bpm
        for tick, message in events:
            chunk += self._event(max(tick, self._last_tick), bytes(message.bytes()))
        self._file.seek(-len(END_OF_TRACK), 2)
        self._file.write(bytes(chunk) + END_OF_TRACK)
        length = self._file.tell() - TRACK_START
        self._file.seek(len(HEADER) + 4)
        self._file.write(struct.pack(">I", length))
        self._file.flush()

    def _event(self, tick: int, data: bytes) -> bytes:
        delta, self._last_tick = tick - self._last_tick, tick
        return _varlen(delta) + data

    def close(self) -> None:
        self._file.close()


def repair(path: Path) -> bool:
    """Close a file a crash left cut in the middle of a bar: its events up to the last whole
    one, a note-off for each note left sounding, an end-of-track. True when it needed it."""
    data = path.read_bytes()
    if len(data) < TRACK_START or not data.startswith(HEADER[:8]):
        return False
    length = struct.unpack(">I", data[len(HEADER) + 4:TRACK_START])[0]
    body = data[TRACK_START:]
    if len(body) == length and body.endswith(END_OF_TRACK):
        return False
    kept, sounding, position = bytearray(), {}, 0
    while position < len(body):
        event = _read_event(body, position)
        if event is None:
            break
        status, size = event
        payload = body[position:position + size]
        if status == 0xFF and payload.endswith(b"\xff\x2f\x00"):
            break  # an end-of-track: what follows is not ours
        if status & 0xF0 in (0x80, 0x90):
            key, on = (status & 0x0F, payload[-2]), status & 0xF0 == 0x90 and payload[-1]
            sounding[key] = sounding.get(key, 0) + (1 if on else -1)
        kept += payload
        position += size
    for (channel, pitch), count in sorted(sounding.items()):
        for _ in range(max(count, 0)):
            kept += b"\x00" + bytes([0x80 | channel, pitch, 0])
    fixed = HEADER + b"MTrk" + struct.pack(">I", len(kept) + 4) + bytes(kept) + END_OF_TRACK
    path.write_bytes(fixed)
    return True


def _read_event(body: bytes, position: int) -> tuple[int, int] | None:
    """(status byte, size in bytes with its delta time) of the event at ``position``, or
    None when it is cut short (the events written here always carry their status byte)."""
    cursor = position
    while cursor < len(body):
        byte = body[cursor]
        cursor += 1
        if not byte & 0x80:  # the delta time's last byte
            break
    else:
        return None
    if cursor >= len(body):
        return None
    status = body[cursor]
    if status == 0xFF:  # a meta event: type, length, data
        if cursor + 2 >= len(body):
            return None
        size = cursor + 3 + body[cursor + 2] - position
    elif status & 0xF0 in (0xC0, 0xD0):
        size = cursor + 2 - position
    elif status & 0x80:
        size = cursor + 3 - position
    else:
        return None
    return (status, size) if position + size <= len(body) else None


class StreamRecorder:
    """Bars handed over from the loop (``bar``) written by a thread into files of ``rotate_s``
    seconds each in ``folder``: ``radio-YYYYMMDD-HHMMSS.mid``."""

    def __init__(self, folder: Path, rotate_s: float = 3600.0) -> None:
        self.folder, self.rotate_s = folder, rotate_s
        folder.mkdir(parents=True, exist_ok=True)
        for old in sorted(folder.glob("radio-*.mid")):
            if repair(old):
                log.warning("recording: %s was cut by a crash; closed at its last whole bar",
                            old)
        self._bars: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._write, name="stream-recorder",
                                        daemon=True)
        self._thread.start()

    def bar(self, bar: int, bar_tick: int, bpm: float,
            events: Sequence[tuple[int, mido.Message]]) -> None:
        """One bar's note events (performance ticks), from the loop: queued, never waited."""
        self._bars.put((bar, bar_tick, bpm, list(events)))

    def close(self, timeout_s: float = 5.0) -> None:
        self._bars.put(_STOP)
        self._thread.join(timeout_s)

    def _new_path(self) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path, extra = self.folder / f"radio-{stamp}.mid", 1
        while path.exists():
            extra += 1
            path = self.folder / f"radio-{stamp}-{extra}.mid"
        return path

    def _write(self) -> None:
        current: BarFile | None = None
        opened_at = offset = 0.0
        while (item := self._bars.get()) is not _STOP:
            bar, bar_tick, bpm, events = item
            try:
                if current is None or time.monotonic() - opened_at >= self.rotate_s:
                    if current is not None:
                        current.close()
                    current = BarFile(self._new_path(), bpm)
                    opened_at, offset = time.monotonic(), bar_tick
                    log.info("recording to %s", current.path)
                current.add([(tick - offset, m) for tick, m in events], bar_tick - offset, bpm)
            except OSError as err:  # the music goes on; the recording says why it stopped
                log.error("recording stopped: %s", err)
                return
        if current is not None:
            current.close()
