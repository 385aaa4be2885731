"""The radio's arranger, pure and seeded: songs of sections, tempos that drift and ramp,
what each section asks of each track, the cue sheet's lines."""

from __future__ import annotations

import pytest
from latentjam.controllers.arranger import (
    SECTION_BARS,
    Arranger,
    EnergyMap,
    SectionKind,
    StationPlan,
)
from latentjam.engine import commands as cmd
from latentjam.engine.errors import SettingError

TRACKS = {"drums": EnergyMap(), "lead": EnergyMap(plays_from=0.5, temperature=(0.2, 1.0))}


def run(seed: int, bars: int, plan: StationPlan | None = None):
    arranger = Arranger(plan or StationPlan(), TRACKS, blend_tracks=("drums",), seed=seed,
                        pitched_tracks=("lead",))
    return [arranger.at(bar) for bar in range(bars)], arranger


def test_the_same_seed_gives_the_same_station_and_another_seed_another():
    first, _ = run(3, 600)
    again, _ = run(3, 600)
    other, _ = run(4, 600)
    assert [(p.bpm, p.commands, p.cue) for p in first] == \
        [(p.bpm, p.commands, p.cue) for p in again]
    assert [p.cue for p in first if p.cue] != [p.cue for p in other if p.cue]


def test_songs_are_sections_of_whole_8_bars_from_intro_to_outro():
    plans, _ = run(5, 2000)
    cues = [p.cue for p in plans if p.cue]
    songs: dict[int, list[dict]] = {}
    for cue in cues:
        songs.setdefault(cue["song"], []).append(cue)
    assert len(songs) >= 5
    for number, sections in list(songs.items())[:-1]:  # the last may be cut off
        names = [s["section"] for s in sections]
        assert names[0] == "intro" and names[-1] == "outro", number
        assert {"build", "peak", "break"} <= set(names)
        starts = [s["bar"] for s in sections]
        end = songs[number + 1][0]["bar"]
        lengths = [b - a for a, b in zip(starts, starts[1:] + [end], strict=True)]
        assert all(length % SECTION_BARS == 0 for length in lengths)
        assert 64 <= end - starts[0] <= 128 + 16 + 32 + 8  # up to a whole round past it
    assert len({cue["section"] for cue in cues}) == 5


def test_the_tempo_stays_in_range_and_never_jumps():
    plans, _ = run(6, 3000)
    bpms = [p.bpm for p in plans]
    assert all(118.0 <= bpm <= 128.0 for bpm in bpms)
    steps = [abs(b - a) for a, b in zip(bpms, bpms[1:], strict=False)]
    assert max(steps) <= 4.0 / 8 + 0.01  # at most bpm_step spread over ramp_bars
    assert len(set(bpms)) > 10
    tempo_commands = [c for p in plans for c in p.commands if isinstance(c, cmd.SetTempo)]
    assert len(tempo_commands) == 1 + sum(1 for a, b in zip(bpms, bpms[1:], strict=False)
                                          if a != b)


def test_a_sections_energy_mutes_unmutes_and_tunes_each_track():
    plans, _ = run(7, 400)
    for plan in plans:
        if plan.cue is None:
            continue
        by_type = {(type(c), c.track): c for c in plan.commands if hasattr(c, "track")}
        energy = plan.cue["energy"]
        assert by_type[(cmd.Mute, "lead")].on == (energy < 0.5)
        assert not by_type[(cmd.Mute, "drums")].on
        assert by_type[(cmd.SetTemperature, "lead")].temperature == \
            pytest.approx(0.2 + 0.8 * energy)
        assert plan.cue["tracks"] == (["drums", "lead"] if energy >= 0.5 else ["drums"])


def test_each_new_song_draws_new_corners_for_the_blend_tracks():
    plans, arranger = run(8, 500)
    clears = [p.bar for p in plans for c in p.commands if isinstance(c, cmd.ClearAnchors)]
    song_starts = [p.bar for p in plans if p.cue and p.cue["section"] == "intro"]
    assert clears == song_starts[1:] and len(clears) >= 2


@pytest.mark.parametrize("make, message", [
    (lambda: StationPlan(cycle=("build", "drop")), "section 'drop' is used but not described"),
    (lambda: StationPlan(song_bars=(16, 8)), "song_bars"),
    (lambda: StationPlan(min_bpm=130.0, max_bpm=120.0), "tempo range"),
    (lambda: SectionKind(1.5, (8,)), "energy must be 0..1"),
    (lambda: SectionKind(0.5, (12,)), "multiple of 8"),
    (lambda: EnergyMap(temperature=(0.1, 3.0)), "temperature must be"),
    (lambda: EnergyMap(plays_from=2), "plays_from"),
])
def test_a_bad_plan_is_refused_naming_what(make, message):
    with pytest.raises(SettingError, match=message):
        make()


def test_each_song_gives_its_key_to_the_pitched_tracks():
    plans, _ = run(9, 600)
    keys = [(p.bar, c) for p in plans for c in p.commands if isinstance(c, cmd.SetKey)]
    intros = [p for p in plans if p.cue and p.cue["section"] == "intro"]
    assert [bar for bar, _ in keys] == [p.bar for p in intros]
    assert all(c.track == "lead" and c.tonic is not None for _, c in keys)
    assert len({(c.tonic, c.minor) for _, c in keys}) > 1
    names = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
    for (_, command), intro in zip(keys, intros, strict=True):
        assert intro.cue["key"] == (f"{names[command.tonic]} "
                                    f"{'minor' if command.minor else 'major'}")


def test_a_density_target_follows_the_sections_energy():
    dense = {"drums": EnergyMap(density=(4.0, 12.0))}
    arranger = Arranger(StationPlan(), dense, seed=10)
    for bar in range(200):
        plan = arranger.at(bar)
        if plan.cue is None:
            continue
        (density,) = [c for c in plan.commands if isinstance(c, cmd.SetDensity)]
        target = 4.0 + 8.0 * plan.cue["energy"]
        assert density.low == pytest.approx(target * 0.6) and density.high >= target + 1
