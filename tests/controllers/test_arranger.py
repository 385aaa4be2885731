"""The radio's arranger, pure and seeded: songs of sections, tempos that drift and ramp,
what each section asks of each track, each song's corners and the transition into the next,
the cue sheet's lines."""

from __future__ import annotations

import pytest
from latentjam.controllers.arranger import (
    DEFAULT_SECTIONS,
    SECTION_BARS,
    Arranger,
    EnergyMap,
    SectionKind,
    Song,
    StationPlan,
    transition_share,
)
from latentjam.engine import commands as cmd
from latentjam.engine.errors import SettingError

TRACKS = {"drums": EnergyMap(), "lead": EnergyMap(plays_from=0.5, temperature=(0.2, 1.0))}


def run(seed: int, bars: int, plan: StationPlan | None = None):
    arranger = Arranger(plan or StationPlan(), TRACKS, blend_tracks=("drums",), seed=seed,
                        pitched_tracks=("lead",))
    return [arranger.at(bar) for bar in range(bars)], arranger


def section_cues(plans):
    return [p.cue for p in plans if p.cue]


def test_the_same_seed_gives_the_same_station_and_another_seed_another():
    first, _ = run(3, 600)
    again, _ = run(3, 600)
    other, _ = run(4, 600)
    assert [(p.bpm, p.commands, p.cue) for p in first] == \
        [(p.bpm, p.commands, p.cue) for p in again]
    assert [p.cue for p in first if p.cue] != [p.cue for p in other if p.cue]


def test_songs_are_sections_of_whole_8_bars_from_intro_to_outro():
    plans, _ = run(5, 2000)
    cues = section_cues(plans)
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


def corner_commands(plans):
    return [(p.bar, c) for p in plans for c in p.commands if isinstance(c, cmd.NextCorners)]


def song_bounds(plans):
    """(first bar, end bar) of each song the plans hold whole."""
    starts = [c["bar"] for c in section_cues(plans) if c["section"] == "intro"]
    return list(zip(starts, starts[1:], strict=False))


def test_each_song_hands_over_the_next_songs_corners_at_its_first_bar():
    plans, _ = run(8, 600)
    given = [(bar, c) for bar, c in corner_commands(plans) if c.share == 0]
    starts = [bar for bar, _ in song_bounds(plans)]
    assert [bar for bar, _ in given][:len(starts)] == starts and len(starts) >= 3
    assert all(c.track == "drums" and len(c.seeds) == 4 and not c.files for _, c in given)
    assert len({c.seeds for _, c in given}) == len(given)  # each song its own


def test_over_a_songs_last_bars_the_corners_move_to_the_next_songs():
    plans, _ = run(8, 600)
    commands = corner_commands(plans)
    for start, end in song_bounds(plans):
        (handed,) = [c for bar, c in commands if bar == start]
        moving = [(bar, c) for bar, c in commands if start < bar < end]
        # known a song ahead: the transition moves to the corners handed over at the start
        assert {(c.seeds, c.files) for _, c in moving} == {(handed.seeds, handed.files)}
        assert [bar for bar, _ in moving] == list(range(end - 7, end))
        assert [c.share for _, c in moving] == [i / 8 for i in range(1, 8)]


def test_a_transition_of_0_bars_cuts_at_the_next_songs_first_bar():
    plans, _ = run(8, 600, StationPlan(transition_bars=0))
    assert [bar for bar, _ in corner_commands(plans)][:4] == \
        [start for start, _ in song_bounds(plans)][:4]
    assert not any("transition" in p.cue for p in plans if p.cue)


def test_the_transition_share_rises_a_bar_at_a_time_from_0_to_1():
    song = Song(1, 0, 120.0, 120.0, plan_sections(), transition_bars=4)
    # 28 is its first bar (still 0), 32 the next song's (1: the corners handed over)
    assert [transition_share(song, bar) for bar in range(26, 34)] == \
        [None, None, None, 0.25, 0.5, 0.75, None, None]


def plan_sections():
    from latentjam.controllers.arranger import Section

    return (Section("intro", 0.3, 0, 16), Section("outro", 0.3, 16, 16))


@pytest.mark.parametrize("bars", [4, 8, 24])
def test_the_cue_sheet_marks_the_sections_a_transition_plays_in(bars):
    plans, _ = run(12, 1500, StationPlan(transition_bars=bars))
    cues = [p.cue for p in plans if p.cue]
    for start, end in song_bounds(plans):
        song = [c for c in cues if start <= c["bar"] < end]
        ends = [c["bar"] for c in song[1:]] + [end]
        for cue, section_end in zip(song, ends, strict=True):
            # within a section (4 bars: always inside the outro) or from its first bar
            assert ("transition" in cue) == (section_end > end - bars), (cue, section_end)
            if "transition" in cue:
                assert cue["transition"] == {"to_song": cue["song"] + 1, "from_bar": end - bars,
                                             "bars": bars}


def test_tracks_start_and_stop_only_at_a_sections_first_bar():
    # a track that plays in the outro but not the intro: it leaves between songs
    sections = {**DEFAULT_SECTIONS, "intro": SectionKind(0.1, (8, 16))}
    arranger = Arranger(StationPlan(sections=sections), {**TRACKS, "pad": EnergyMap(0.25)},
                        ("drums",), 13, ("lead",))
    plans = [arranger.at(bar) for bar in range(1500)]
    section_starts = {c["bar"] for c in section_cues(plans)}
    playing: dict[str, bool] = {}
    changes = []
    for plan in plans:
        for command in plan.commands:
            if isinstance(command, cmd.Mute):
                if playing.get(command.track) == command.on:  # it enters or leaves here
                    changes.append(plan.bar)
                playing[command.track] = not command.on
    between_songs = {start for start, _ in song_bounds(plans)} & set(changes)
    assert changes and len(between_songs) >= 3
    assert set(changes) <= section_starts and all(bar % SECTION_BARS == 0 for bar in changes)


def test_corners_are_drawn_from_a_tracks_files_seeded_and_four_apart():
    files = tuple(f"/loops/{n}.mid" for n in "abcdef")
    arrangers = [Arranger(StationPlan(), TRACKS, ("drums",), seed, ("lead",),
                          corner_files={"drums": files}) for seed in (14, 14, 15)]
    heard = []
    for arranger in arrangers:
        picks = [arranger.corners["drums"].files]
        for plan in (arranger.at(bar) for bar in range(800)):
            picks += [c.files for c in plan.commands
                      if isinstance(c, cmd.NextCorners) and c.share == 0]
        assert all(len(set(p)) == 4 and set(p) <= set(files) for p in picks)
        heard.append(picks)
    assert heard[0] == heard[1] and heard[0] != heard[2]
    assert len(set(heard[0])) > 3
    few = Arranger(StationPlan(), TRACKS, ("drums",), 14, corner_files={"drums": files[:2]})
    assert set(few.corners["drums"].files) <= set(files[:2])  # fewer than four: again


def test_where_corners_come_from_changes_no_songs_shape():
    with_files = Arranger(StationPlan(), TRACKS, ("drums",), 16,
                          corner_files={"drums": ("/a.mid",)})
    plain = Arranger(StationPlan(), TRACKS, ("drums",), 16)
    for bar in range(600):
        assert with_files.at(bar).cue == plain.at(bar).cue


@pytest.mark.parametrize("make, message", [
    (lambda: StationPlan(cycle=("build", "drop")), "section 'drop' is used but not described"),
    (lambda: StationPlan(song_bars=(16, 8)), "song_bars"),
    (lambda: StationPlan(min_bpm=130.0, max_bpm=120.0), "tempo range"),
    (lambda: SectionKind(1.5, (8,)), "energy must be 0..1"),
    (lambda: SectionKind(0.5, (12,)), "multiple of 8"),
    (lambda: EnergyMap(temperature=(0.1, 3.0)), "temperature must be"),
    (lambda: EnergyMap(plays_from=2), "plays_from"),
    (lambda: StationPlan(transition_bars=40), "transition_bars must be 0..32"),
    (lambda: StationPlan(transition_bars=-1), "transition_bars"),
    (lambda: StationPlan(transition_bars=2.5), "transition_bars"),
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
