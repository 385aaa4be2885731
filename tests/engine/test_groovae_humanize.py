"""A drum track humanized by GrooVAE (``humanize = "groovae"``): an offline render of the
shipped drum model played with the tiny GrooVAE fixture checkpoint plays every hit at the
velocity and timing the model decodes; while the model's answer is not in, the loop plays
with the ordinary humanize, and then with the model's feel."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from latentjam.engine.errors import SettingError
from latentjam.engine.humanize import HumanizeParams
from latentjam.engine.loops import Route, steps_of
from latentjam.engine.offline import OfflineSet
from latentjam.engine.set_config import set_config_from_dict
from latentjam.engine.track import Track, TrackSettings
from latentjam.engine.transport import bars_to_ticks, ticks_per_step
from latentjam.models.configs import DRUM_CLASSES
from latentjam.models.encodings.groove import INFER_PITCH_CLASSES, pitch_map
from latentjam.models.service import DRUMS, HumanizeRequest, ModelInfo, answer
from latentjam.models.trained_model import TrainedModel

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "magenta" / \
    "groovae_2bar_humanize_tiny"
GROOVAE = {"groovae_model": str(FIXTURE / "ckpt"), "groovae_config": str(FIXTURE / "config.json")}
BAR = bars_to_ticks(1)
STEP = ticks_per_step(4)


def drum_track(**more) -> dict:
    return {"name": "drums", "model": "drums", "mode": "hold", "bars": 2, "seed": 5,
            "humanize": "groovae", **GROOVAE, **more}


def decoded_feel(loop) -> list[tuple[int, int]]:
    """(velocity, tick shift) of each note of ``loop``, computed here from the GrooVAE
    fixture: the loop's hits as rows, μ, the greedy decode's velocity and offset there."""
    groovae = TrainedModel.load(FIXTURE / "ckpt", config=FIXTURE / "config.json")
    classes = pitch_map(INFER_PITCH_CLASSES)
    rows = np.zeros((32, 27), np.float32)
    for note in loop.notes:
        step, cls = note.start_tick // STEP, classes[note.pitch]
        rows[step, cls] = 1.0
        rows[step, DRUM_CLASSES + cls] = max(rows[step, DRUM_CLASSES + cls], note.velocity / 127)
    mu = groovae.encode_classes(rows[None])
    out = groovae.vae.decode(mu)[0]
    feel = []
    for note in loop.notes:
        step, cls = note.start_tick // STEP, classes[note.pitch]
        velocity = int(np.clip(round(out[step, DRUM_CLASSES + cls] * 127), 1, 127))
        offset = float(np.clip(out[step, 2 * DRUM_CLASSES + cls] / 2, -0.5, 0.5))
        feel.append((velocity, round(-offset * STEP)))
    return feel


def test_an_offline_render_plays_the_velocities_and_timing_grooVAE_decodes():
    config = set_config_from_dict({"tracks": [drum_track()]})

    async def run():
        offline = await OfflineSet.open(config)
        try:
            await offline.play(4)  # the held 2-bar loop, twice
            return offline.notes, offline.tracks[0].current.loop
        finally:
            offline.close()

    notes, loop = asyncio.run(run())
    feel = decoded_feel(loop)
    assert len(loop.notes) >= 8
    expected = sorted((max(n.start_tick + shift + play * 2 * BAR, 0), n.pitch, velocity)
                      for play in range(2)
                      for n, (velocity, shift) in zip(loop.notes, feel, strict=True))
    played = sorted((n.start_tick, n.pitch, n.velocity) for n in notes)
    assert played == expected
    assert len({v for _, _, v in played}) > 3  # the drum model's hits are all velocity 80
    assert sum(t % STEP != 0 for t, _, _ in played) > len(played) // 2  # off the grid


def test_a_set_asks_for_a_groove_model_and_a_drum_track():
    with pytest.raises(SettingError, match="groovae_model"):
        set_config_from_dict({"tracks": [{"name": "d", "humanize": "groovae"}]})
    with pytest.raises(SettingError, match="groovae_model is read only"):
        set_config_from_dict({"tracks": [{"name": "d", **GROOVAE}]})
    with pytest.raises(SettingError, match="humanize.model"):
        set_config_from_dict({"tracks": [{"name": "d", "humanize": {"model": "other"}}]})
    table = set_config_from_dict({"tracks": [{
        "name": "d", **GROOVAE, "humanize": {"model": "groovae", "velocity_spread": 4.0}}]})
    assert table.tracks[0].groovae and table.tracks[0].humanize.velocity_spread == 4.0
    melody = set_config_from_dict({"tracks": [drum_track(model="melody")]})
    with pytest.raises(SettingError, match="plays drum loops"):
        asyncio.run(OfflineSet.open(melody))
    as_model = set_config_from_dict({"tracks": [{
        "name": "d", "model": GROOVAE["groovae_model"], "config": GROOVAE["groovae_config"]}]})
    with pytest.raises(SettingError, match="give it as groovae_model"):
        asyncio.run(OfflineSet.open(as_model))


def test_until_the_feel_is_in_the_loop_plays_with_the_ordinary_humanize():
    drums = TrainedModel.load("drums")
    groovae = TrainedModel.load(FIXTURE / "ckpt", config=FIXTURE / "config.json")
    gate = asyncio.Event()

    async def ask(request):
        return answer(drums, request)

    async def humanizer(request):
        assert isinstance(request, HumanizeRequest)
        await gate.wait()
        return answer(groovae, request)

    async def run():
        settings = TrackSettings("hold", 0.5, 0.2, 2, 1, 3, HumanizeParams(accent_downbeat=20))
        info = ModelInfo(drums.config, "test", drums.vae.z_size, drums.window_steps)
        track = Track("drums", settings, info, ask, {DRUMS: Route(9)}, seed=2,
                      humanizer=humanizer)
        await track.first_loop()
        before = track.bar_events(0, 0, True)
        gate.set()
        await asyncio.wait([track.current.feel])
        after = track.bar_events(1, BAR, True)
        loop = track.current.loop
        track.cancel()
        return before, after, loop

    before, after, loop = asyncio.run(run())
    ons = [(m.tick, m.message.velocity) for m, _ in before if m.message.type == "note_on"
           and m.message.velocity]
    first_bar = [n for n in loop.notes if n.start_tick < BAR]
    assert [t for t, _ in ons] == [n.start_tick for n in first_bar]  # on the grid
    assert {v for t, v in ons if t == 0} <= {100}  # 80 and the downbeat accent
    feel = decoded_feel(loop)
    second = [(max(n.start_tick + s, 0), v) for n, (v, s) in zip(loop.notes, feel, strict=True)
              if n.start_tick >= BAR]
    got = [(m.tick, m.message.velocity) for m, _ in after
           if m.message.type == "note_on" and m.message.velocity]
    assert sorted(got) == sorted(second)
    assert steps_of(loop, 4).steps == 32


class InProcessClient:
    """Stands in for ``ModelClient(model, config)``: the model loaded here, answering at
    once."""

    made: list[tuple] = []

    def __init__(self, model, config):
        from latentjam.models.service import LoadedModel

        InProcessClient.made.append((model, config))
        self.loaded = LoadedModel(model, config)

    async def start(self) -> ModelInfo:
        return self.loaded.info

    async def request(self, request, timeout_s=None):
        return self.loaded.answer(request)

    async def close(self) -> None:
        pass


def test_the_performer_starts_the_grooVAE_worker_and_its_track_plays_the_feel():
    from latentjam.engine.performer import Performer
    from latentjam.engine.sinks import MemorySink

    config = set_config_from_dict({
        "autostart": False, "ports": {"main": {"name": "never-opened"}},
        "tracks": [drum_track()]})
    InProcessClient.made = []

    async def run():
        async with Performer(config, model_clients=InProcessClient,
                             sinks={"main": MemorySink()}, realtime=False) as performer:
            track = performer.tracks[0]
            await asyncio.wait([track.current.feel])
            events = track.bar_events(0, 0, True)
            return track.current.loop, events

    loop, events = asyncio.run(run())
    assert InProcessClient.made == [("drums", None), (GROOVAE["groovae_model"],
                                                      GROOVAE["groovae_config"])]
    feel = decoded_feel(loop)
    want = sorted((max(n.start_tick + s, 0), n.pitch, v)
                  for n, (v, s) in zip(loop.notes, feel, strict=True) if n.start_tick < BAR)
    got = sorted((m.tick, m.message.note, m.message.velocity) for m, _ in events
                 if m.message.type == "note_on" and m.message.velocity)
    assert got == want and got


def test_the_grooVAE_answers_through_a_worker_process_as_in_this_one():
    from latentjam.engine.model_worker import ModelClient
    from latentjam.models.service import LoadedModel, StepLoop, StepNote

    loop = StepLoop(tuple(StepNote(DRUMS, pitch, 80, step, step + 1, True)
                          for step in range(0, 32, 2) for pitch in ((36, 42) if step % 8 == 0
                                                                    else (42,))), 32)
    request = HumanizeRequest(loop)
    here = LoadedModel(GROOVAE["groovae_model"], GROOVAE["groovae_config"]).answer(request)

    async def run():
        async with ModelClient(GROOVAE["groovae_model"], GROOVAE["groovae_config"],
                               timeout_s=30) as client:
            info = await client.start()
            return info, await client.request(request)

    info, there = asyncio.run(run())
    assert info.kind == "groove"
    assert there.played == here.played and len(there.played) == len(loop.notes)
    assert all(1 <= v <= 127 and -0.5 <= t <= 0.5 for v, t in there.played)
