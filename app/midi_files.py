"""MIDI files a user hands the app to render or take a groove from: opened with mido, at
most MAX_MIDI_BYTES of a regular file, checked for what render and groove rely on (ticks per
beat, one timeline), every failure one line naming the file and what is wrong with it."""

from __future__ import annotations

import io
import os
from pathlib import Path

import mido
from latentjam.engine.errors import SettingError
from latentjam.models.midi_io import SMPTE_REFUSED, describe_midi_error, open_regular

MAX_MIDI_BYTES = 16 << 20


def open_midi(path: Path) -> mido.MidiFile:
    """The MIDI file at ``path``, every message of it readable in time order; a
    ``SettingError`` naming the file otherwise."""
    try:
        handle = open_regular(path)
        if handle is None:  # a FIFO or a device is never read to its end
            raise SettingError(f"{path}: not a regular file")
        with handle:
            info = os.fstat(handle.fileno())
            if info.st_size > MAX_MIDI_BYTES:
                raise SettingError(f"{path}: {info.st_size} bytes, over the "
                                   f"{MAX_MIDI_BYTES >> 20} MiB a MIDI file may have here")
            data = handle.read(MAX_MIDI_BYTES + 1)
    except OSError as err:
        raise SettingError(f"{path}: cannot read ({err.strerror or err})") from None
    if len(data) > MAX_MIDI_BYTES:
        raise SettingError(f"{path}: grew past {MAX_MIDI_BYTES >> 20} MiB while being read")
    try:
        midi = mido.MidiFile(file=io.BytesIO(data))
    except Exception as err:  # mido raises many kinds on corrupt data (its own KeySignatureError)
        raise SettingError(f"{path}: not a readable MIDI file "
                           f"({describe_midi_error(err)})") from None
    # Checked here because the callers' own reading would fail on them in Python's words:
    # a tick lasts tempo / ticks_per_beat ("float division by zero"), and a type 2 file's
    # tracks are separate pieces with no common timeline to merge ("can't merge tracks").
    if midi.ticks_per_beat < 0:  # mido's reading of an SMPTE division
        raise SettingError(f"{path}: {SMPTE_REFUSED}")
    if midi.ticks_per_beat == 0:
        raise SettingError(f"{path}: not a readable MIDI file (its header gives 0 ticks "
                           f"per beat)")
    if midi.type == 2:
        raise SettingError(f"{path}: a type 2 MIDI file (separate patterns with no common "
                           f"timeline); save it as type 0 or 1")
    return midi
