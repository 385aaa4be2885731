"""What a rendered station leaves in its folder: a standard MIDI file per song (a track per
station track, its program, the tempo map) and ``arrangement.jsonl``, the cue sheet."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import mido
from latentjam.engine.offline import PlayedNote
from latentjam.engine.set_config import TrackConfig
from latentjam.engine.transport import PPQN

CUE_SHEET = "arrangement.jsonl"


def song_path(out: Path, number: int) -> Path:
    return out / f"song-{number:03d}.mid"


def write_song(path: Path, notes: Sequence[PlayedNote], tempos: Sequence[tuple[int, float]],
               start_tick: int, end_tick: int, tracks: Sequence[TrackConfig]) -> int:
    """The notes starting in ``start_tick``..``end_tick`` as a MIDI file from 0 (a note held
    over the end stops there); returns how many. Written whole, then put in place."""
    midi = mido.MidiFile(ticks_per_beat=PPQN)
    tempo_track = mido.MidiTrack()
    midi.tracks.append(tempo_track)
    before = [bpm for tick, bpm in tempos if tick <= start_tick]
    changes = [(0, before[-1] if before else tempos[0][1])]
    changes += [(tick - start_tick, bpm) for tick, bpm in tempos if start_tick < tick < end_tick]
    _events(tempo_track, [(t, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(b)))
                          for t, b in changes], end_tick - start_tick)
    count = 0
    for config in tracks:
        track = mido.MidiTrack()
        midi.tracks.append(track)
        track.append(mido.MetaMessage("track_name", name=config.name, time=0))
        mine = [n for n in notes if n.track == config.name and start_tick <= n.start_tick
                < end_tick]
        events = []
        if config.program is not None:
            for channel in sorted({n.channel for n in mine}):
                events.append((0, mido.Message("program_change", channel=channel,
                                               program=config.program - 1)))
        for note in mine:
            end = min(note.end_tick, end_tick) - start_tick
            events.append((note.start_tick - start_tick, mido.Message(
                "note_on", channel=note.channel, note=note.pitch, velocity=note.velocity)))
            events.append((end, mido.Message("note_off", channel=note.channel,
                                             note=note.pitch, velocity=0)))
        count += len(mine)
        _events(track, events, end_tick - start_tick)
    partial = path.with_name(f".{path.name}.partial")
    midi.save(partial)
    os.replace(partial, path)
    return count


def _events(track: mido.MidiTrack, events: list[tuple[int, mido.Message]], end: int) -> None:
    # note-offs before note-ons at one tick, so a repeated note is released first
    events.sort(key=lambda e: (e[0], 0 if e[1].type == "note_off" else 1))
    now = 0
    for tick, message in events:
        track.append(message.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=max(end - now, 0)))


def append_cue(out: Path, cue: Mapping[str, object]) -> None:
    """One line of the cue sheet, flushed: readable while the station runs."""
    with open(out / CUE_SHEET, "a", encoding="utf-8") as sheet:
        sheet.write(json.dumps(cue) + "\n")
