"""The radio's arranger steering an offline set of the shipped drum and melody models (as
``radio --render`` does): the same notes for a seed through a transition into the next song,
tracks entering and leaving on bar lines, a blend track's next corners read from MIDI files."""

from __future__ import annotations

import asyncio
from pathlib import Path

import mido
import numpy as np
from latentjam.controllers.arranger import (
    DEFAULT_SECTIONS,
    Arranger,
    EnergyMap,
    SectionKind,
    StationPlan,
)
from latentjam.engine import commands as cmd
from latentjam.engine.offline import OfflineSet
from latentjam.engine.set_config import set_config_from_dict
from latentjam.engine.transport import PPQN, bars_to_ticks

CONFIG = set_config_from_dict({"tracks": [
    {"name": "drums", "model": "drums", "mode": "blend", "blend_path": "walk", "seed": 1},
    {"name": "lead", "model": "melody", "mode": "walk", "seed": 2}]})
# short songs; the lead plays in the outro (0.3) and not in the intro (0.1): it leaves
# between songs
PLAN = dict(sections={**DEFAULT_SECTIONS, "intro": SectionKind(0.1, (8,)),
                      "outro": SectionKind(0.3, (16,))}, cycle=("build",), song_bars=(24, 24))
ENERGY = {"drums": EnergyMap(), "lead": EnergyMap(plays_from=0.25)}
BAR = bars_to_ticks(1)


def render(bars: int, transition_bars: int) -> tuple[list, list[tuple[int, cmd.Command]]]:
    """The notes of ``bars`` bars and the commands carried out, bar by bar."""
    arranger = Arranger(StationPlan(**PLAN, transition_bars=transition_bars), ENERGY,
                        ("drums",), 6, ("lead",))  # songs: bars 0-31, 32-71

    async def run():
        offline = await OfflineSet.open(CONFIG)
        done = []
        try:
            for bar in range(bars):
                for command in arranger.at(bar).commands:
                    offline.apply(command)
                    done.append((bar, command))
                await offline.play(1)
        finally:
            offline.close()
        return offline.notes, done

    return asyncio.run(run())


def test_the_same_seed_gives_the_same_notes_through_a_transition_and_it_changes_them():
    notes, commands = render(40, 8)  # song 1: bars 0-31, its transition 24-31
    assert render(40, 8)[0] == notes
    shares = [(bar, c.share) for bar, c in commands if isinstance(c, cmd.NextCorners)]
    assert shares[0] == (0, 0.0) and shares[1:8] == [(b, (b - 24) / 8) for b in range(25, 32)]
    cut, _ = render(40, 0)
    early = [n for n in notes if n.start_tick < bars_to_ticks(25)]
    assert early == [n for n in cut if n.start_tick < bars_to_ticks(25)]
    during = bars_to_ticks(25), bars_to_ticks(32)
    assert [n for n in notes if during[0] <= n.start_tick < during[1] and n.track == "drums"] \
        != [n for n in cut if during[0] <= n.start_tick < during[1] and n.track == "drums"]


def test_tracks_enter_and_leave_on_bar_lines():
    notes, commands = render(72, 8)
    said = {bar: c.on for bar, c in commands if isinstance(c, cmd.Mute) and c.track == "lead"}
    muted, on = set(), False
    for bar in range(72):
        on = said.get(bar, on)
        if on:
            muted.add(bar)
    changes = [bar for bar in range(1, 72) if (bar in muted) != (bar - 1 in muted)]
    assert changes == [8, 32, 40]  # in at the build, out at song 2's intro, in at its build
    lead = [n for n in notes if n.track == "lead"]
    assert lead and not [n for n in lead if n.start_tick // BAR in muted]
    slack = PPQN // 8  # humanize's timing moves a note off by a few ms at most
    for bar in changes:
        if bar in muted:  # whatever sounded before it is over at its bar line
            assert all(n.end_tick <= bars_to_ticks(bar) + slack for n in lead
                       if n.start_tick < bars_to_ticks(bar))


def drum_loop(path: Path, seed: int) -> None:
    """Two bars of 16th-note drums (kick, snare, hats) at 120 BPM, as a user's loop is."""
    rng = np.random.default_rng(seed)
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120), time=0))
    events = []
    for step in range(32):
        for pitch, chance in ((36, 0.3), (38, 0.2), (42, 0.7)):
            if rng.random() < chance or (pitch == 36 and step % 8 == 0):
                events += [(step * 120, 1, pitch), (step * 120 + 60, 0, pitch)]
    now = 0
    for tick, on, pitch in sorted(events):
        track.append(mido.Message("note_on" if on else "note_off", channel=9, note=pitch,
                                  velocity=100 if on else 0, time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=3840 - now))
    midi.save(path)


def test_next_corners_from_midi_files_are_their_encodings(tmp_path: Path):
    from latentjam.models.clip_reader import read_clip
    from latentjam.models.service import EncodeRequest, answer
    from latentjam.models.trained_model import TrainedModel

    files = []
    for index in range(4):
        files.append(tmp_path / f"loop-{index}.mid")
        drum_loop(files[-1], index)

    async def run():
        offline = await OfflineSet.open(CONFIG)
        try:
            offline.apply(cmd.NextCorners("drums", files=tuple(map(str, files))))
            offline.apply(cmd.NextCorners("drums", files=tuple(map(str, files)), share=0.5))
            await offline.play(4)
            offline.apply(cmd.NextCorners("drums", seeds=(1, 2, 3, 4)))  # the files land
            await offline.play(4)
            (drums,) = [t for t in offline.tracks if t.name == "drums"]
            return [drums.anchors[slot] for slot in range(4)]
        finally:
            offline.close()

    corners = asyncio.run(run())
    model = TrainedModel.load("drums")
    for corner, path in zip(corners, files, strict=True):
        classes, _ = read_clip(path, model.config)
        np.testing.assert_allclose(corner, answer(model, EncodeRequest(classes)).z, atol=1e-5)
