"""A track's bar loop against the shipped melody model, answered in this process (the worker
process is tested in tests/engine/test_model_worker.py; here the musical logic is under test)."""

import asyncio

import numpy as np
import pytest
from latentjam.engine import commands as cmd
from latentjam.engine.errors import SettingError
from latentjam.engine.humanize import HumanizeParams
from latentjam.engine.loops import Route, bar_notes, first_bars
from latentjam.engine.track import Track, TrackSettings
from latentjam.engine.transport import bars_to_ticks
from latentjam.models.inference.latent import slerp_at
from latentjam.models.parts import MELODY
from latentjam.models.service import InterpolateRequest, ModelInfo, answer
from latentjam.models.service.answer import blend_at
from latentjam.models.trained_model import TrainedModel

BAR = bars_to_ticks(1)


@pytest.fixture(scope="module")
def model():
    return TrainedModel.load()


class Asker:
    """Answers requests with the real model; ``hold`` keeps decodes pending until released."""

    def __init__(self, model):
        self.model = model
        self.requests = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, request):
        self.requests.append(request)
        await self.gate.wait()
        return answer(self.model, request)


def make_track(model, asker, **settings):
    base = dict(mode="sample", temperature=0.5, walk_step=0.2, bars=2, every=1,
                interpolate_steps=3, humanize=HumanizeParams())
    base.update(settings)
    info = ModelInfo(model.config, "test", model.vae.z_size, model.window_steps)
    return Track("melody", TrackSettings(**base), info, asker, {MELODY: Route(0)}, seed=3)


def play_bars(track, first_bar, count, audible=True):
    return [track.bar_events(bar, bar * BAR, audible) for bar in range(first_bar,
                                                                         first_bar + count)]


def note_ons(events):
    return [(m.tick, m.message.note) for m, _ in events if m.message.type == "note_on"]


async def settle():
    for _ in range(5):
        await asyncio.sleep(0)


def test_bars_play_the_loop_notes_on_the_grid(model):
    async def run():
        track = make_track(model, Asker(model))
        await track.first_loop()
        loop = track.current.loop
        bars = play_bars(track, 0, 2)
        track.cancel()
        return loop, bars

    loop, bars = asyncio.run(run())
    assert loop.bars == 2
    for bar, events in enumerate(bars):
        expected = [(n.start_tick, n.pitch) for n in bar_notes(loop, bar, bar * BAR)]
        assert note_ons(events) == expected
        assert all(offset == 0 for _, offset in events)


def test_a_new_loop_at_each_boundary_when_the_answer_is_ready(model):
    async def run():
        track = make_track(model, Asker(model))
        await track.first_loop()
        first = track.current
        play_bars(track, 0, 2)
        await asyncio.sleep(0.05)  # the next loop's decode
        await settle()
        play_bars(track, 2, 1)
        second = track.current
        track.cancel()
        return first, second, track

    first, second, track = asyncio.run(run())
    assert second is not first
    assert not np.array_equal(first.z, second.z)
    assert track.loops_played == 2 and track.late_answers == 0


def test_a_late_answer_repeats_the_loop_and_is_counted(model):
    async def run():
        asker = Asker(model)
        track = make_track(model, asker)
        await track.first_loop()
        asker.gate.clear()  # the next decode does not come back
        first = track.current
        bars = play_bars(track, 0, 4)
        repeated = track.current
        asker.gate.set()
        await asyncio.sleep(0.05)
        await settle()
        play_bars(track, 4, 1)
        later = track.current
        track.cancel()
        return first, repeated, later, bars, track

    first, repeated, later, bars, track = asyncio.run(run())
    assert repeated is first
    assert [n for _, n in note_ons(bars[2])] == [n for _, n in note_ons(bars[0])]
    assert track.late_answers == 1
    assert later is not first


def test_walk_moves_a_small_step_from_the_playing_loop(model):
    async def run():
        asker = Asker(model)
        track = make_track(model, asker, mode="walk", walk_step=0.1)
        await track.first_loop()
        z0 = track.current.z.copy()
        play_bars(track, 0, 2)
        await asyncio.sleep(0.05)
        await settle()
        play_bars(track, 2, 1)
        track.cancel()
        return z0, track.current.z

    z0, z1 = asyncio.run(run())
    step = np.linalg.norm(z1[0] - z0[-1])
    typical = np.linalg.norm(z0[-1])
    assert 0 < step < 0.3 * typical


def test_interpolation_goes_from_anchor_to_anchor_then_holds(model):
    async def run():
        asker = Asker(model)
        track = make_track(model, asker, temperature=0.0)
        await track.first_loop()
        track.save_anchor(0)
        play_bars(track, 0, 2)
        await asyncio.sleep(0.05)
        await settle()
        play_bars(track, 2, 2)
        track.save_anchor(1)
        track.apply(cmd.Interpolate("melody", 0, 1, steps=3))
        zs = []
        bar = 4
        for _ in range(3):
            await asyncio.sleep(0.05)
            await settle()
            play_bars(track, bar, 2)
            zs.append(track.current.z.copy())
            bar += 2
        mode = track.settings.mode
        track.cancel()
        return track.anchors, zs, mode, asker.requests

    anchors, zs, mode, requests = asyncio.run(run())
    np.testing.assert_allclose(zs[0], anchors[0], atol=1e-6)
    np.testing.assert_allclose(zs[1][0], slerp_at(anchors[0][0], anchors[1][0], [0.5])[0],
                               atol=1e-6)
    np.testing.assert_allclose(zs[2], anchors[1], atol=1e-6)
    assert mode == "hold"
    assert isinstance(requests[-1], InterpolateRequest) and requests[-1].temperature == 0.0


def test_mute_silences_and_a_shorter_loop_takes_the_first_bars(model):
    async def run():
        track = make_track(model, Asker(model), mode="hold")
        await track.first_loop()
        loop = track.current.loop
        muted = play_bars(track, 0, 2, audible=False)
        track.apply(cmd.SetLoopBars("melody", 1))
        short = play_bars(track, 2, 2)
        track.cancel()
        return loop, muted, short, track

    loop, muted, short, track = asyncio.run(run())
    assert muted == [[], []]
    assert track.current.loop == first_bars(loop, 1)
    expected = [(n.start_tick + 2 * BAR, n.pitch) for n in bar_notes(loop, 0)]
    assert note_ons(short[0]) == expected
    assert note_ons(short[1]) == [(t + BAR, p) for t, p in expected]


def test_commands_a_track_cannot_carry_out_are_refused(model):
    async def run():
        track = make_track(model, Asker(model))
        await track.first_loop()
        errors = []
        for command in (cmd.Interpolate("melody", 0, 1), cmd.SetMode("melody", "interpolate")):
            with pytest.raises(SettingError) as err:
                track.apply(command)
            errors.append(str(err.value))
        track.cancel()
        return errors

    errors = asyncio.run(run())
    assert "anchor slot(s) 0, 1 hold nothing" in errors[0]
    assert "needs two anchors" in errors[1]


def test_humanize_changes_apply_to_the_next_bar(model):
    async def run():
        track = make_track(model, Asker(model), mode="hold")
        await track.first_loop()
        plain = play_bars(track, 0, 2)
        track.apply(cmd.SetHumanize("melody", "velocity_spread", 20.0))
        human = play_bars(track, 2, 2)
        track.cancel()
        return plain, human

    plain, human = asyncio.run(run())
    velocities = [[m.message.velocity for m, _ in bar if m.message.type == "note_on"]
                  for bar in plain + human]
    assert velocities[0] + velocities[1]
    assert velocities[0] + velocities[1] != velocities[2] + velocities[3]


def test_a_flood_of_changes_keeps_one_request_in_flight_and_asks_the_latest(model):
    async def run():
        asker = Asker(model)
        track = make_track(model, asker)
        await track.first_loop()
        asker.gate.clear()
        await settle()
        before = len(asker.requests)  # the next loop's request, held at the gate
        for step in range(50):
            track.apply(cmd.SetTemperature("melody", 0.01 * step))
        during = len(asker.requests)
        asker.gate.set()
        await asyncio.sleep(0.05)
        await settle()
        track.cancel()
        return before, during, asker.requests

    before, during, requests = asyncio.run(run())
    assert during == before
    assert len(requests) == before + 1
    assert requests[-1].temperature == pytest.approx(0.49)


def test_a_blend_track_fills_its_corners_then_mixes_them_where_its_point_is(model):
    async def run():
        asker = Asker(model)
        track = make_track(model, asker, mode="blend", temperature=0.0)
        await track.first_loop()
        filled = sorted(track.anchors)
        track.apply(cmd.SetBlend("melody", 1.0, 0.0))  # corner 1, at the next loop
        await asyncio.sleep(0.05)
        await settle()
        play_bars(track, 0, 3)  # the boundary at bar 2 adopts the next loop
        return track, filled, asker.requests

    track, filled, requests = asyncio.run(run())
    track.cancel()
    assert filled == [0, 1, 2, 3]
    assert [type(r).__name__ for r in requests[:4]] == ["SampleRequest"] * 4
    np.testing.assert_array_equal(track.current.z, track.anchors[1])
    assert track.state("main", 0).blend_point == (1.0, 0.0)


def test_a_grid_track_plays_the_cell_it_is_given(model):
    async def run():
        track = make_track(model, Asker(model), mode="grid", temperature=0.0, grid_size=3)
        await track.first_loop()
        with pytest.raises(SettingError, match="the grid is 3×3"):
            track.apply(cmd.SetGridCell("melody", 3, 0))
        track.apply(cmd.SetGridCell("melody", 2, 1))  # y 1, x 0.5: between corners 2 and 3
        await asyncio.sleep(0.05)
        await settle()
        play_bars(track, 0, 3)  # the boundary at bar 2 adopts the next loop
        return track

    track = asyncio.run(run())
    track.cancel()
    expected = blend_at([track.anchors[slot][0] for slot in range(4)], 0.5, 1.0)
    np.testing.assert_allclose(track.current.z[0], expected, atol=1e-6)


def test_a_groove_is_laid_on_every_bar_before_humanize(model):
    from latentjam.engine.groove import extract

    late = extract([(s + 0.25, 60, 90, False) for s in range(16)], bars=1)  # all a bit late

    async def run():
        track = make_track(model, Asker(model), mode="hold", temperature=0.0)
        await track.first_loop()
        plain = play_bars(track, 0, 2)
        track.settings.groove = late
        grooved = play_bars(track, 2, 2)
        track.apply(cmd.SetGroove("melody", "timing", 0.0))
        straight = play_bars(track, 4, 2)
        track.cancel()
        return plain, grooved, straight

    plain, grooved, straight = asyncio.run(run())
    step = BAR // 16
    on_grid = [t for t, _ in note_ons(sum(plain, []))]
    assert on_grid and all(t % step == 0 for t in on_grid)
    moved = [t - 2 * BAR - g for (t, _), g in zip(note_ons(sum(grooved, [])), on_grid,
                                                  strict=True)]
    assert moved == [step // 4] * len(on_grid)
    assert {m.message.velocity for m, _ in sum(grooved, []) if m.message.type == "note_on"} == {90}
    assert [t - 4 * BAR for t, _ in note_ons(sum(straight, []))] == on_grid


def test_a_multi_instrument_track_routes_each_instrument_and_gives_its_program(
        multiperf_fixture):
    from latentjam.engine.set_config import TrackConfig
    from latentjam.engine.set_tracks import track_routes

    fixture = multiperf_fixture
    multi = TrainedModel.load(fixture / "ckpt", fixture / "config.json")
    routes = track_routes(TrackConfig("band", channels={"instrument2": 12}), "multiperf", 0)
    assert routes["instrument1"] == Route(0, "main") and routes["instrument2"] == Route(11, "main")
    assert routes["drums"] == Route(9, "main")

    async def run():
        info = ModelInfo(multi.config, "test", multi.vae.z_size, multi.window_steps)
        track = Track("band", TrackSettings("hold", 0.0, 0.2, 2, 1, 3, HumanizeParams()), info,
                      Asker(multi), routes, seed=1)
        await track.first_loop()
        events = [track.bar_events(bar, bar * BAR, True) for bar in range(4)]
        track.cancel()
        return track, events

    track, events = asyncio.run(run())
    loop = track.current.loop
    assert loop.bars == 2 and loop.notes
    programs = [(m.message.channel, m.message.program) for m, _ in events[0]
                if m.message.type == "program_change"]
    parts = {part: program for part, program in loop.programs if part != "drums"}
    assert programs == [(routes[part].channel, program) for part, program in sorted(
        parts.items())]
    assert events[0][:len(programs)] == [e for e in events[0]
                                         if e[0].message.type == "program_change"]
    assert not any(m.message.type == "program_change" for m, _ in events[1] + events[2])
    channels = {m.message.channel for bar in events for m, _ in bar}
    assert channels <= {route.channel for route in routes.values()}


def test_a_track_with_a_key_moves_its_new_loops_into_it(model):
    from latentjam.engine.harmony import Key, in_key_share

    async def run():
        track = make_track(model, Asker(model), temperature=0.5, every=1)
        track.apply(cmd.SetKey("melody", 6, True))  # F# minor, before the first loop
        await track.first_loop()
        shares = [in_key_share(track.current.loop.notes, Key(6, True))]
        for bar in range(0, 12, 2):
            await asyncio.sleep(0.02)
            await settle()
            play_bars(track, bar, 2)
            shares.append(in_key_share(track.current.loop.notes, Key(6, True)))
        track.cancel()
        return shares

    shares = asyncio.run(run())
    assert len(shares) == 7 and min(shares) >= 0.8


def test_a_loop_off_its_density_is_asked_again_but_never_held_up(model):
    async def run():
        asker = Asker(model)
        track = make_track(model, asker, temperature=0.5)
        track.apply(cmd.SetDensity("melody", 200.0 / 4, 64.0))  # more notes than any loop has
        await track.first_loop()
        asked_for_first = len(asker.requests)
        track.apply(cmd.SetDensity("melody", None))
        await asyncio.sleep(0.05)
        await settle()
        play_bars(track, 0, 3)
        track.cancel()
        return asked_for_first, track

    asked_for_first, track = asyncio.run(run())
    from latentjam.engine.track import TRIES

    assert asked_for_first >= TRIES  # the first loop was asked for TRIES times, then played
    assert track.current is not None and track.loops_played == 2


def test_a_blend_track_moves_its_corners_toward_the_next_ones_then_takes_them(model):
    from latentjam.engine.blend import toward
    from latentjam.models.service import BlendRequest, SampleRequest

    def last_blend(requests):
        return [r for r in requests if isinstance(r, BlendRequest)][-1]

    async def run():
        asker = Asker(model)
        track = make_track(model, asker, mode="blend", temperature=0.0)
        await track.first_loop()
        old = tuple(track.anchors[slot] for slot in range(4))
        asked = len(asker.requests)
        track.apply(cmd.NextCorners("melody", seeds=(1, 2, 3, 4)))  # made now, not yet heard
        await settle()
        made = [r for r in asker.requests[asked:] if isinstance(r, SampleRequest)]
        track.apply(cmd.NextCorners("melody", seeds=(1, 2, 3, 4), share=0.5))
        await settle()
        halfway = last_blend(asker.requests)
        track.apply(cmd.NextCorners("melody", seeds=(5, 6, 7, 8)))  # the last ones land
        await settle()
        landed = last_blend(asker.requests)
        anchors = tuple(track.anchors[slot] for slot in range(4))
        track.cancel()
        return old, made, halfway, landed, anchors

    old, made, halfway, landed, anchors = asyncio.run(run())
    assert [(type(r), r.seed) for r in made] == [(SampleRequest, seed) for seed in (1, 2, 3, 4)]
    new = tuple(answer(model, r).z for r in made)
    for got, want in zip(halfway.corners, toward(old, new, 0.5), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6)
    for got, corner, want in zip(landed.corners, anchors, new, strict=True):
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(corner, want)


@pytest.mark.parametrize("make", [
    lambda: cmd.NextCorners("drums", seeds=(1, 2, 3)),
    lambda: cmd.NextCorners("drums", seeds=(1, 2), files=("a.mid", "b.mid")),
    lambda: cmd.NextCorners("drums", seeds=(1, 2, 3, -4)),
    lambda: cmd.NextCorners("drums", files=("a.mid", "b.mid", "c.mid", "")),
    lambda: cmd.NextCorners("drums", seeds=(1, 2, 3, 4), share=1.5),
])
def test_next_corners_are_four_seeds_or_four_files_and_a_share_0_to_1(make):
    with pytest.raises(SettingError, match="next corners are four seeds|share must be"):
        make()
