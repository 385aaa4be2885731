"""Groove templates on disk: ``.groove`` files (JSON, as ``engine.groove.to_dict`` shapes
them) and the MIDI clips they are taken from and laid on."""

from __future__ import annotations

import json
import os
from pathlib import Path

import mido
from latentjam.app.midi_files import open_midi
from latentjam.engine.errors import SettingError
from latentjam.engine.groove import (
    MAX_BARS,
    STEPS_PER_BAR,
    GrooveAmounts,
    GrooveTemplate,
    extract,
    from_dict,
    grooved,
    to_dict,
)
from latentjam.engine.loops import LoopNote
from latentjam.engine.transport import STEPS_PER_BEAT, ticks_per_step

GROOVE_SUFFIX = ".groove"
MAX_GROOVE_BYTES = 1 << 20
DRUM_CHANNEL = 9


def read_groove(path: str | Path) -> GrooveTemplate:
    path = Path(path).expanduser()
    try:
        if path.stat().st_size > MAX_GROOVE_BYTES:
            raise SettingError(f"{path}: over {MAX_GROOVE_BYTES >> 10} KiB; not a groove file")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingError(f"{path}: no such groove file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SettingError(f"{path}: not a readable groove file ({err})") from None
    return from_dict(data, str(path))


def write_groove(template: GrooveTemplate, path: Path) -> None:
    if path.suffix != GROOVE_SUFFIX:
        raise SettingError(f"{path}: a groove file ends in {GROOVE_SUFFIX}")
    try:
        with open(path, "x", encoding="utf-8") as out:  # never over an existing file
            json.dump(to_dict(template), out, indent=1)
    except FileExistsError:
        raise SettingError(f"{path} exists; nothing was written over it") from None


def clip_onsets(midi: mido.MidiFile) -> list[tuple[float, int, int, bool]]:
    """(step, pitch, velocity, is_drum) of every note in the file, steps from its start
    counted in its own ticks (16th notes; the tempo does not matter)."""
    step_ticks = midi.ticks_per_beat / STEPS_PER_BEAT
    onsets = []
    for track in midi.tracks:
        tick = 0
        for message in track:
            tick += message.time
            if message.type == "note_on" and message.velocity:
                onsets.append((tick / step_ticks, message.note, message.velocity,
                               message.channel == DRUM_CHANNEL))
    return onsets


def extract_groove(clip: Path, bars: int | None = None) -> GrooveTemplate:
    """The template of a played clip: ``bars`` bars (default: the clip's length, at most
    MAX_BARS; a longer clip folds onto them)."""
    onsets = clip_onsets(open_midi(clip))
    if not onsets:
        raise SettingError(f"{clip}: no notes to take a groove from")
    if bars is None:
        bars = min(MAX_BARS, max(1, -(-round(max(s for s, *_ in onsets) + 1) // STEPS_PER_BAR)))
    if not 1 <= bars <= MAX_BARS:
        raise SettingError(f"--bars must be 1..{MAX_BARS}, got {bars}")
    return extract(onsets, bars, clip.name)


def apply_groove(clip: Path, template: GrooveTemplate, amounts: GrooveAmounts,
                 out: Path) -> int:
    """``clip`` with the groove laid on each note (its note-off moved with it), written to
    ``out``; returns the notes changed."""
    midi = open_midi(clip)
    if out.exists():
        raise SettingError(f"{out} exists; nothing was written over it")
    ours = ticks_per_step(STEPS_PER_BEAT)  # the engine's ticks of a step
    theirs = midi.ticks_per_beat / STEPS_PER_BEAT
    changed = 0
    for track in midi.tracks:
        absolute, tick, sounding = [], 0, {}
        for message in track:
            tick += message.time
            absolute.append([tick, message])
        for index, (tick, message) in enumerate(absolute):
            if message.type == "note_on" and message.velocity:
                sounding.setdefault((message.channel, message.note), []).append(index)
            elif message.type in ("note_on", "note_off") and \
                    sounding.get((message.channel, message.note)):
                start = sounding[(message.channel, message.note)].pop(0)
                on_tick, on = absolute[start]
                note = LoopNote("x", on.note, on.velocity, round(on_tick / theirs * ours),
                                max(round(tick / theirs * ours), round(on_tick / theirs * ours)
                                    + 1), on.channel == DRUM_CHANNEL)
                (moved,) = grooved([note], template, amounts)
                shift = round((moved.start_tick - note.start_tick) / ours * theirs)
                absolute[start] = [max(on_tick + shift, 0), on.copy(velocity=moved.velocity)]
                absolute[index] = [max(tick + shift, on_tick + shift + 1), message]
                changed += 1
        ends = [tick for tick, message in absolute if message.type == "end_of_track"]
        absolute = sorted((pair for pair in absolute if pair[1].type != "end_of_track"),
                          key=lambda pair: pair[0])
        last = max([tick for tick, _ in absolute] + ends + [0])
        track.clear()
        now = 0
        for tick, message in absolute:
            track.append(message.copy(time=tick - now))
            now = tick
        track.append(mido.MetaMessage("end_of_track", time=last - now))
    partial = out.with_name(f".{out.name}.partial")
    midi.save(partial)
    os.replace(partial, out)
    return changed


__all__ = ["GROOVE_SUFFIX", "STEPS_PER_BAR", "apply_groove", "extract_groove", "read_groove",
           "write_groove"]
