"""MIDI files <-> NoteSequence, read the way note-seq reads them.

``read_midi`` gives what ``note_seq.midi_io.midi_file_to_note_sequence`` gives: it parses
with pretty_midi, numbers instruments by their position in pretty_midi's instrument list,
takes tempos from pretty_midi's tempo map and ``total_time`` as the end of the last note.
``write_midi`` writes a standard MIDI file (format 1) with mido: a first track of tempos
and time signatures, then one track per (instrument, program, drum) group, drums on
channel 10. Every track ends at ``total_time`` when that is later than its last event, so a
loop that ends in a rest still lasts its bars in a DAW. Read back, it gives the same notes;
instrument numbers become track positions.
"""

from __future__ import annotations

import bisect
import io
import os
import re
import stat
import struct
import warnings
from collections import defaultdict
from pathlib import Path
from typing import BinaryIO

import mido
import pretty_midi
from latentjam.models.errors import MidiReadError, ModelError
from latentjam.models.notesequence import (
    DEFAULT_QPM,
    DEFAULT_TICKS_PER_QUARTER,
    Note,
    NoteSequence,
    Tempo,
    TimeSignature,
)

DRUM_CHANNEL = 9  # channel 10 counted from 1
MIDI_SUFFIXES = (".mid", ".midi")  # compared lower-cased: .MID counts
SMPTE_REFUSED = ("its time is in SMPTE frames, not ticks per beat (not read here; save it "
                 "with ticks per beat)")


def find_midi_files(folder: Path) -> list[Path]:
    """The MIDI files under ``folder``, subfolders included, in name order."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES
                  and p.is_file())


def read_midi(path: str | Path, max_bytes: int | None = None) -> NoteSequence:
    """The NoteSequence in a MIDI file; MidiReadError if it is missing, not a regular file,
    larger than ``max_bytes``, not MIDI or corrupt."""
    path = Path(path)
    try:
        handle = open_regular(path)
        if handle is None:  # /dev/zero, a FIFO: never read to the end
            raise MidiReadError(f"{path}: not a regular file")
        with handle:
            info = os.fstat(handle.fileno())
            if max_bytes is not None and info.st_size > max_bytes:
                raise MidiReadError(f"{path}: {info.st_size:,} bytes; at most {max_bytes:,} "
                                    f"are read")
            data = handle.read(max_bytes + 1 if max_bytes is not None else -1)
    except OSError as err:
        raise MidiReadError(f"{path}: cannot read: {err.strerror or err}") from None
    if max_bytes is not None and len(data) > max_bytes:
        raise MidiReadError(f"{path}: grew past {max_bytes:,} bytes while being read")
    _check_header(data, path)
    try:
        with warnings.catch_warnings():
            # pretty_midi warns about tempo events outside track 0; note-seq reads them anyway.
            warnings.simplefilter("ignore")
            midi = pretty_midi.PrettyMIDI(io.BytesIO(data))
    except Exception as err:  # pretty_midi and mido raise many kinds on corrupt data
        raise MidiReadError(f"{path}: corrupt MIDI file: {describe_midi_error(err)}") from None
    return _from_pretty_midi(midi, path.name)


def open_regular(path: Path) -> BinaryIO | None:
    """``path`` opened for reading, or None if it is not a regular file (a folder, a device,
    a FIFO); OSError as ``open`` raises it. Opened without waiting: a plain ``open`` of a
    FIFO waits for a writer, for ever if none comes."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return None
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _check_header(data: bytes, path: Path) -> None:
    """The MThd chunk's own promises, checked before a parser trips on them."""
    if not data.startswith(b"MThd"):
        raise MidiReadError(f"{path}: not a MIDI file (no MThd header)")
    if len(data) < 14:
        raise MidiReadError(f"{path}: corrupt MIDI file: the header is cut short")
    tracks, division = struct.unpack(">HH", data[10:14])
    if tracks == 0 or b"MTrk" not in data[14:]:
        raise MidiReadError(f"{path}: corrupt MIDI file: it has no tracks")
    if division == 0:
        raise MidiReadError(f"{path}: corrupt MIDI file: its header gives 0 ticks per beat")
    if division & 0x8000:  # the parsers take it for a negative tick count
        raise MidiReadError(f"{path}: {SMPTE_REFUSED}")


# A parser's own words, where they speak of Python rather than of the file (checked in order).
_PARSER_WORDS = (
    (re.compile(r"(\S+) is not a valid `(\w+)` type or value"), r"a time signature \2 of \1"),
    (re.compile(r"running status without last_status"),
     "a data byte where a status byte must come"),
    (re.compile(r"data byte must be in range 0\.\.127"), "a data byte of 128 or more"),
    (re.compile(r"end time must be greater than start time"), "a note that ends before it starts"),
)


def describe_midi_error(err: BaseException) -> str:
    """A parser's (mido's, pretty_midi's) exception in one line of words about the file,
    not about Python ("max() arg is an empty sequence", "float division by zero")."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    if isinstance(err, ZeroDivisionError):
        return "a tempo or time signature of zero"
    if isinstance(err, (EOFError, IndexError, struct.error)) or "empty sequence" in text:
        return "a track is cut short or holds no events"
    if isinstance(err, (OverflowError, MemoryError)):
        return "a time or length too large for a MIDI file"
    if isinstance(err, (KeyError, TypeError, AttributeError, LookupError)) or not text:
        return "data that are not MIDI events"
    for pattern, words in _PARSER_WORDS:
        found = pattern.search(text)
        if found:
            return found.expand(words)
    return text


def _from_pretty_midi(midi: pretty_midi.PrettyMIDI, filename: str) -> NoteSequence:
    ns = NoteSequence(ticks_per_quarter=midi.resolution, filename=filename)
    ns.time_signatures = [
        TimeSignature(float(ts.time), int(ts.numerator), int(ts.denominator))
        for ts in midi.time_signature_changes
    ]
    times, qpms = midi.get_tempo_changes()
    ns.tempos = [Tempo(float(t), float(q)) for t, q in zip(times, qpms, strict=True)]
    total_time = 0.0
    for index, instrument in enumerate(midi.instruments):
        for note in instrument.notes:
            total_time = max(total_time, float(note.end))
            ns.notes.append(Note(int(note.pitch), int(note.velocity), float(note.start),
                                 float(note.end), index, int(instrument.program),
                                 bool(instrument.is_drum)))
    ns.total_time = total_time
    return ns


class _TempoMap:
    """Seconds -> ticks under a piecewise-constant tempo."""

    def __init__(self, tempos: list[Tempo], ticks_per_quarter: int):
        ordered = sorted(tempos, key=lambda t: t.time)
        if not ordered or ordered[0].time > 0:
            ordered.insert(0, Tempo(0.0, ordered[0].qpm if ordered and ordered[0].time == 0
                                    else DEFAULT_QPM))
        self.ticks_per_quarter = ticks_per_quarter
        self.times: list[float] = []
        self.start_ticks: list[float] = []
        self.qpms: list[float] = []
        ticks = 0.0
        for tempo in ordered:
            if self.times:
                ticks += (tempo.time - self.times[-1]) * self.qpms[-1] / 60.0 * ticks_per_quarter
                if tempo.time == self.times[-1]:  # a later tempo at the same time wins
                    self.times.pop()
                    self.start_ticks.pop()
                    self.qpms.pop()
            self.times.append(tempo.time)
            self.start_ticks.append(ticks)
            self.qpms.append(tempo.qpm)

    def tick(self, seconds: float) -> int:
        i = max(bisect.bisect_right(self.times, seconds) - 1, 0)
        beats = (seconds - self.times[i]) * self.qpms[i] / 60.0
        return round(self.start_ticks[i] + beats * self.ticks_per_quarter)


def write_midi(ns: NoteSequence, path: str | Path) -> None:
    """Write ``ns`` as a standard MIDI file at ``path``; ModelError names what cannot be."""
    try:
        _build_midi(ns).save(str(path))
    except (ValueError, TypeError) as err:
        raise ModelError(f"{path}: cannot write as MIDI: {err}") from None
    except OSError as err:
        raise ModelError(f"{path}: cannot write: {err.strerror or err}") from None


def _check_note(note: Note) -> None:
    for name, value, low in (("pitch", note.pitch, 0), ("velocity", note.velocity, 1),
                             ("program", note.program, 0)):
        if not low <= value <= 127:
            raise ValueError(f"note at {note.start_time} s has {name} {value} "
                             f"(must be {low}..127)")


def _build_midi(ns: NoteSequence) -> mido.MidiFile:
    tpq = ns.ticks_per_quarter or DEFAULT_TICKS_PER_QUARTER
    tempo_map = _TempoMap(ns.tempos, tpq)
    meta: list[tuple[int, int, mido.MetaMessage]] = []
    for time, qpm in zip(tempo_map.times, tempo_map.qpms, strict=True):
        meta.append((tempo_map.tick(time), 0,
                     mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(qpm))))
    for ts in sorted(ns.time_signatures, key=lambda t: t.time):
        meta.append((tempo_map.tick(ts.time), 1, mido.MetaMessage(
            "time_signature", numerator=ts.numerator, denominator=ts.denominator)))
    end = tempo_map.tick(ns.total_time)
    midi = mido.MidiFile(type=1, ticks_per_beat=tpq)
    midi.tracks.append(_track(meta, end))

    groups: dict[tuple[int, int, bool], list[Note]] = defaultdict(list)
    for note in ns.notes:
        groups[(note.instrument, note.program, note.is_drum)].append(note)
    melodic_channels = [c for c in range(16) if c != DRUM_CHANNEL]
    next_channel = 0
    for (_, program, is_drum), notes in sorted(groups.items()):
        if is_drum:
            channel = DRUM_CHANNEL
        else:
            channel = melodic_channels[next_channel % len(melodic_channels)]
            next_channel += 1
        events: list[tuple[int, int, mido.Message]] = [
            (0, 0, mido.Message("program_change", program=program, channel=channel))]
        for note in notes:
            _check_note(note)
            start, end = tempo_map.tick(note.start_time), tempo_map.tick(note.end_time)
            end = max(end, start + 1)
            # At one tick, note-offs go first so a repeated pitch is not cut by its own end.
            events.append((end, 1, mido.Message("note_off", note=note.pitch, velocity=0,
                                                channel=channel)))
            events.append((start, 2, mido.Message("note_on", note=note.pitch,
                                                  velocity=note.velocity, channel=channel)))
        midi.tracks.append(_track(events, end))
    return midi


def _track(events: list[tuple[int, int, mido.Message | mido.MetaMessage]],
           end: int) -> mido.MidiTrack:
    """The events in order, then the end of the track at tick ``end`` or its last event."""
    track = mido.MidiTrack()
    now = 0
    for tick, _, message in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(message.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=max(end - now, 0)))
    return track
