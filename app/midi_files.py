"""MIDI files a user hands the app to render or take a groove from: opened with mido, at
most MAX_MIDI_BYTES, every failure one line naming the file."""

from __future__ import annotations

from pathlib import Path

import mido
from latentjam.engine.errors import SettingError

MAX_MIDI_BYTES = 16 << 20


def open_midi(path: Path) -> mido.MidiFile:
    try:
        size = path.stat().st_size
    except OSError as err:
        raise SettingError(f"{path}: cannot read ({err.strerror})") from None
    if size > MAX_MIDI_BYTES:
        raise SettingError(f"{path}: {size} bytes, over the {MAX_MIDI_BYTES >> 20} MiB a MIDI "
                           f"file may have here")
    try:
        return mido.MidiFile(path)
    except (OSError, EOFError, ValueError, KeyError, IndexError) as err:
        raise SettingError(f"{path}: not a readable MIDI file ({err})") from None
