"""The performer's bar loop with no MIDI system and no model process: a fake clock that the
test drives, ``MemorySink``s for ports, and an in-memory stand-in for ``ModelClient``
(tests/engine/test_performer_jack.py plays the real model to real ports).

Covered: bars at a set tempo give MIDI Start, 24 pulses a beat with none missing or doubled,
and each loop's notes at their ticks on the track's channel, a new loop at each boundary
while the model answers in time; a late answer repeats the current loop (no bar is silent)
and is heard at the next boundary once it comes; Stop releases the sounding note, then
all-notes-off, then Stop, and nothing plays after; a tempo change moves every message not
yet handed to the output thread and none already handed; a follower forwards exactly its
master's pulses, and after a stall drops the late ones and puts the receivers back on the
grid with Stop, Song Position Pointer and Continue; commands refused by name while stopped.

Positions are read from the stream itself, as the JACK test does: a message due at a pulse's
instant goes out after that pulse, so the pulses before a message count its tick exactly,
whatever the machine's load does to the times it was sent. The only times compared are a
message's send stamp with its deadline (the output thread never sends early). The tempo is
fast (a bar in a quarter of a second) so that bars pass quickly; nothing is asserted about
how fast anything ran. A note or a pulse over 50 ms late is left out by design, which would
spoil the count: a run that this machine stalled is run again (three runs at most).
"""

import asyncio
import time

import mido
import numpy as np
import pytest
from latentjam.engine import commands as cmd
from latentjam.engine.clocks.base import Pulsed, Started, Stopped, TempoChanged
from latentjam.engine.errors import SettingError
from latentjam.engine.midi_clock_out import TICKS_PER_MIDI_BEAT
from latentjam.engine.note_tracker import ALL_NOTES_OFF
from latentjam.engine.performer import Performer
from latentjam.engine.set_config import set_config_from_dict
from latentjam.engine.sinks import MemorySink
from latentjam.engine.timeline import Timeline
from latentjam.engine.transport import PPQN, TICKS_PER_CLOCK, TempoMap, bars_to_ticks
from latentjam.models.configs import get_config
from latentjam.models.encodings.converters import get_converter
from latentjam.models.service import ModelInfo, ModelResult, SampleRequest, WalkRequest
from latentjam.models.service.answer import step_loop

BAR = bars_to_ticks(1)
FAST_BPM = 960  # a bar in 0.25 s
CHANNEL = 2  # "channel 3" in the set, as musicians count
PRE_ROLL_NS = 100_000_000
MELODY_CONFIG = get_config("cat-mel_2bar_small")  # a 2-bar melody window of 32 steps
CONVERTER = get_converter(MELODY_CONFIG)
Z_SIZE = 4
WAIT_S = 10.0  # the longest any condition is waited for before the test fails


# -- the stand-ins ---------------------------------------------------------------------------


def melody_classes(pitch: int, pattern: str) -> np.ndarray:
    """One 2-bar window of melody classes (0 hold, 1 note off, pitch - 19 a note-on):
    "beats" is a quarter note on every beat, an 8th long; "held" is ``pitch`` for bar 0 and
    ``pitch + 12`` for bar 1, each held the whole bar."""
    classes = np.zeros(32, dtype=np.int64)
    if pattern == "beats":
        for step in range(0, 32, 4):
            classes[step], classes[step + 2] = pitch - 19, 1
    else:
        classes[0], classes[16] = pitch - 19, pitch + 12 - 19
    return classes


class FakeModels:
    """Stands in for ``ModelClient`` (made as ``ModelClient(model, config)``): decode number
    k (from 0) answers a loop at pitch 60 + k, at once or, from decode ``at_once`` on, when
    ``gate`` opens."""

    def __init__(self, pattern: str = "beats") -> None:
        self.pattern = pattern
        self.at_once: int | None = None  # decodes from this one on wait for ``gate``
        self.reset()

    def reset(self) -> None:
        """A fresh start: nothing asked yet; the gate open unless ``at_once`` is set."""
        self.gate = asyncio.Event()
        if self.at_once is None:
            self.gate.set()
        self.requests: list[object] = []
        self.made: list[tuple[object, object]] = []
        self.closed = 0

    def __call__(self, model, config):
        self.made.append((model, config))
        return _FakeClient(self)


class _FakeClient:
    def __init__(self, models: FakeModels) -> None:
        self._models = models

    async def start(self) -> ModelInfo:
        return ModelInfo(MELODY_CONFIG, "fake", Z_SIZE, MELODY_CONFIG.converter.window_steps)

    async def request(self, request):
        models = self._models
        assert isinstance(request, SampleRequest | WalkRequest)
        pitch = 60 + len(models.requests)
        models.requests.append(request)
        if models.at_once is not None and pitch - 60 >= models.at_once:
            await models.gate.wait()
        classes = np.stack([melody_classes(pitch, models.pattern)] * request.count)
        loops = tuple(step_loop(window, CONVERTER) for window in classes)
        return ModelResult(np.zeros((request.count, Z_SIZE), np.float32), classes, loops)

    async def close(self) -> None:
        self._models.closed += 1


class FakeClock:
    """A leading clock the test watches: the internal clock's behaviour at any tempo, its
    start put ``PRE_ROLL_NS`` ahead, and every ``set_tempo`` recorded."""

    kind = "internal"
    leads = True

    def __init__(self, bpm: float) -> None:
        self.bpm = bpm
        self._timeline: Timeline | None = None
        self._events: asyncio.Queue | None = None
        self._stopped_at = 0
        self.tempo_calls: list[tuple[float, int]] = []
        self.opened = self.closed = False

    async def open(self, events) -> None:
        self._events, self.opened = events, True

    async def close(self) -> None:
        self._timeline, self.closed = None, True

    def timeline(self) -> Timeline | None:
        return self._timeline

    def start(self, resume: bool = False) -> None:
        if self._timeline is not None:
            return
        tick = self._stopped_at // TICKS_PER_MIDI_BEAT * TICKS_PER_MIDI_BEAT if resume else 0
        self._timeline = Timeline(TempoMap(self.bpm, start_tick=tick,
                                           start_ns=time.perf_counter_ns() + PRE_ROLL_NS))
        self._events.put_nowait(Started(tick, resumed=resume))

    def stop(self) -> None:
        if self._timeline is None:
            return
        self._stopped_at = max(self._timeline.tick_at_ns(time.perf_counter_ns()), 0)
        self._timeline = None
        self._events.put_nowait(Stopped(self._stopped_at))

    def set_tempo(self, bpm: float, from_tick: int) -> None:
        self.tempo_calls.append((bpm, from_tick))
        self.bpm = bpm
        if self._timeline is not None:
            now_tick = self._timeline.tick_at_ns(time.perf_counter_ns())
            tempo_map = self._timeline.tempo_map.with_tempo(max(from_tick, now_tick), bpm)
            self._timeline = Timeline(tempo_map, self._timeline.origin_ns)
        self._events.put_nowait(TempoChanged(bpm))

    def status(self) -> str:
        return "playing" if self._timeline is not None else "stopped"


class FakeFollower(FakeClock):
    """A following clock: the test sets its timeline and sends its master's events."""

    leads = False

    def start(self, resume: bool = False) -> None:
        raise AssertionError("a follower's performer does not start the clock")

    def follow(self, timeline: Timeline, event) -> None:
        self._timeline = timeline
        self._events.put_nowait(event)


@pytest.fixture
def models():
    """The stand-in for the model worker: give it to the performer as ``model_clients``."""
    return FakeModels()


def set_config(**track):
    return set_config_from_dict({
        "autostart": False,
        "clock": {"bpm": 120},
        "ports": {"main": {"name": "never-opened"}},
        "tracks": [{"name": "melody", "mode": "sample", "every": 1, "bars": 2, "seed": 5,
                    "channel": CHANNEL + 1, **track}],
    })


# -- reading the stream ----------------------------------------------------------------------


def transport_messages(sink: MemorySink) -> list[mido.Message]:
    return [m for m in sink.messages if not hasattr(m, "channel")]


def pulse_count(sink: MemorySink) -> int:
    return sum(1 for m in sink.messages if m.type == "clock")


def positions(timed: list[tuple[int, mido.Message]]):
    """``(tick, stamp_ns, message)`` for every message but the clock after the first Start,
    the tick counted in pulses; and ``(tick, stamp_ns)`` of every pulse."""
    out, pulses, started = [], [], False
    for stamp, message in timed:
        if message.type == "start":
            started = True
        elif not started:
            continue
        elif message.type == "clock":
            pulses.append((len(pulses) * TICKS_PER_CLOCK, stamp))
        else:
            out.append((max(len(pulses) - 1, 0) * TICKS_PER_CLOCK, stamp, message))
    return out, pulses


def until_stop(sink: MemorySink) -> list[tuple[int, mido.Message]]:
    timed = sink.timed_messages
    kinds = [m.type for _, m in timed]
    return timed[:kinds.index("stop")]


def grid_notes(loops: list[tuple[int, int]], pattern: str, last_tick: int):
    """The note messages ``(tick, type, note)`` of ``(first bar, pitch)`` loops, in sending
    order, up to ``last_tick``."""
    expected = []
    for index, (first_bar, pitch) in enumerate(loops):
        end_bar = loops[index + 1][0] if index + 1 < len(loops) else last_tick // BAR + 1
        for bar in range(first_bar, end_bar):
            in_loop = (bar - first_bar) % 2
            start = bar * BAR
            if pattern == "beats":
                for beat in range(4):
                    on = start + beat * PPQN
                    expected += [(on, "note_on", pitch), (on + PPQN // 2, "note_off", pitch)]
            else:
                note = pitch + 12 * in_loop
                expected += [(start, "note_on", note), (start + BAR, "note_off", note)]
    # note-offs before note-ons at one tick
    expected.sort(key=lambda e: (e[0], e[1] != "note_off"))
    return [e for e in expected if e[0] <= last_tick]


def notes_of(stream):
    return [(tick, m.type, m.note) for tick, _, m in stream if m.type in ("note_on", "note_off")]


async def until(condition, what: str) -> None:
    give_up = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > give_up:
            raise AssertionError(f"waited {WAIT_S} s for {what}")
        await asyncio.sleep(0.005)


async def play_until_pulses(run: "Run", pulses: int) -> None:
    run.performer.command(cmd.Play())
    await until(lambda: pulse_count(run.sink) >= pulses, f"{pulses} clock pulses")


async def stop(run: "Run") -> None:
    run.performer.command(cmd.Stop())
    await until(lambda: "stop" in [m.type for m in run.sink.messages], "Stop on the clock port")


class Run:
    """One performance: the fakes it ran with, the performer, what the scenario kept."""

    def __init__(self, models: FakeModels, clock: FakeClock) -> None:
        self.models, self.clock, self.sink = models, clock, MemorySink()
        self.performer: Performer | None = None


ATTEMPTS = 3


def perform(models: FakeModels, scenario) -> Run:
    """Run ``scenario(run)`` inside a performer at ``FAST_BPM`` and return the run, again
    (``ATTEMPTS`` at most) while a stall of this machine spoiled it: a note or a pulse over
    50 ms late is left out by design, and the positions counted here need every one."""
    for _ in range(ATTEMPTS):
        models.reset()
        run = Run(models, FakeClock(FAST_BPM))

        async def main(run=run):
            async with Performer(set_config(), model_clients=models, sinks={"main": run.sink},
                                 clock=run.clock, realtime=False) as performer:
                run.performer = performer
                await scenario(run)

        asyncio.run(main())
        performer = run.performer
        if (performer.skipped_notes, performer.skipped_pulses,
                performer.output.late_dropped) == (0, 0, 0):
            return run
    pytest.fail(f"this machine stalled (a message over 50 ms late) in each of {ATTEMPTS} runs")


# -- a leading clock -------------------------------------------------------------------------


def test_bars_give_start_every_pulse_and_each_new_loop_at_its_ticks(models):
    async def scenario(run):
        assert run.clock.opened and run.sink.messages == []  # autostart is off
        await play_until_pulses(run, 5 * 96 + 1)
        run.state = run.performer.state()
        await stop(run)

    run = perform(models, scenario)
    sink, state = run.sink, run.state
    assert models.made == [(None, None)]  # one client for the track's (model, config)
    assert models.closed == 1 and run.clock.closed
    stream, pulses = positions(until_stop(sink))
    assert sink.messages[0].type == "start"
    assert sink.messages[1].type == "clock"  # the pulse of tick 0 right after Start
    last = pulses[-1][0]
    assert last >= 5 * BAR
    # a new loop every 2 bars (every = 1, answered at once): decodes 0, 1, 2 at pitch 60..62
    expected = grid_notes([(0, 60), (2, 61), (4, 62), (6, 63), (8, 64)], "beats", last)
    grid, panic = notes_of(stream)[:len(expected)], stream[len(expected):]
    assert grid == expected
    assert all(m.channel == CHANNEL for _, _, m in stream)
    assert all(m.velocity > 0 for _, _, m in stream if m.type == "note_on")
    # then the panic of Stop: the note sounding at the last pulse, if one was, and CC 123
    sounding = [note for tick, kind, note in expected if kind == "note_on"
                and (tick + PPQN // 2, "note_off", note) not in expected]
    assert [(m.type, m.note) for _, _, m in panic[:-1]] == [("note_off", n) for n in sounding]
    assert panic[-1][2] == mido.Message("control_change", channel=CHANNEL,
                                        control=ALL_NOTES_OFF, value=0)
    assert state.playing and state.clock == "internal" and state.bpm == FAST_BPM
    assert state.bar >= 5
    # bars are prepared ahead, so a loop or two more may have been adopted by then; the
    # model was asked one loop at a time: the first, then one per loop adopted
    assert state.tracks[0].loops_played >= 3 and state.tracks[0].late_answers == 0
    assert len(models.requests) == state.tracks[0].loops_played + 1
    assert all(r.count == 1 and r.temperature == 0.5 for r in models.requests)


def test_a_late_answer_repeats_the_loop_and_is_heard_at_the_next_boundary(models):
    models.at_once = 1  # the first loop is answered; the next one waits for the gate

    async def scenario(run):
        run.performer.command(cmd.Play())
        track = run.performer.tracks[0]
        await until(lambda: track.late_answers == 1, "the boundary at bar 2")
        run.held = (len(models.requests), track.loops_played)
        models.gate.set()  # the answer comes before bar 4 is prepared (half a second)
        await until(lambda: pulse_count(run.sink) >= 6 * 96 + 1, "six bars")
        run.state = run.performer.state()
        await stop(run)

    run = perform(models, scenario)
    assert run.held == (2, 1)  # one request in flight, never a second one
    stream, pulses = positions(until_stop(run.sink))
    expected = grid_notes([(0, 60), (4, 61), (6, 62), (8, 63), (10, 64)], "beats",
                          pulses[-1][0])
    assert notes_of(stream)[:len(expected)] == expected
    # never silence: every bar played has its notes
    note_ons = [tick for tick, _, m in stream if m.type == "note_on"]
    assert {tick // BAR for tick in note_ons} == set(range(pulses[-1][0] // BAR + 1))
    assert run.state.tracks[0].late_answers == 1
    assert len(models.requests) == run.state.tracks[0].loops_played + 1 >= 4


def test_stop_releases_the_sounding_note_then_all_notes_off_then_stop(models):
    models.pattern = "held"  # a note sounds at every instant

    async def scenario(run):
        await play_until_pulses(run, (BAR + PPQN) // TICKS_PER_CLOCK + 1)
        await stop(run)
        stopped = len(run.sink.messages)
        await asyncio.sleep(0.1)  # bars were prepared ahead: none of them may come
        run.after_stop = run.sink.messages[stopped:]
        run.state = run.performer.state()

    run = perform(models, scenario)
    state = run.state
    assert run.after_stop == []
    assert not state.playing and state.clock_status == "stopped"
    assert BAR + PPQN <= state.tick < 2 * BAR  # where it stopped, in bar 1
    messages = run.sink.messages
    stop_at = [m.type for m in messages].index("stop")
    stream, _ = positions(run.sink.timed_messages[:stop_at])
    # bar 0 held 60, bar 1 holds 72, sounding when Stop came
    assert notes_of(stream) == [(0, "note_on", 60), (BAR, "note_off", 60), (BAR, "note_on", 72),
                                (stream[-2][0], "note_off", 72)]
    assert stream[-2][0] >= BAR + PPQN  # released by the Stop, not by the loop
    assert stream[-1][2] == mido.Message("control_change", channel=CHANNEL,
                                         control=ALL_NOTES_OFF, value=0)
    # close (the end of `async with`): a panic, Stop, and the output thread's own silencing
    # as it ends; no note plays
    assert [m.type for m in messages[stop_at + 1:]] == ["control_change", "stop",
                                                         "control_change"]
    sounding = 0
    for message in messages:
        if message.type == "note_on" and message.velocity > 0:
            sounding += 1
        elif message.type in ("note_on", "note_off"):
            sounding -= 1
    assert sounding == 0


def test_a_tempo_change_moves_what_was_not_handed_over_and_nothing_that_was(models):
    async def scenario(run):
        clock = run.clock
        await play_until_pulses(run, BAR // TICKS_PER_CLOCK)
        run.old = clock.timeline()
        run.sounding = run.old.tick_at_ns(time.perf_counter_ns())
        run.performer.command(cmd.SetTempo(300))
        lookahead_ns = round(run.performer.config.lookahead_ms * 1e6)
        run.handed_at_most = run.old.tick_at_ns(time.perf_counter_ns() + lookahead_ns)
        run.new = clock.timeline()
        _, from_tick = clock.tempo_calls[0]
        await until(lambda: pulse_count(run.sink) > (from_tick + PPQN) // TICKS_PER_CLOCK + 1,
                    "a beat at the new tempo")
        run.state = run.performer.state()
        await stop(run)

    run = perform(models, scenario)
    old, new = run.old, run.new
    bpm, from_tick = run.clock.tempo_calls[0]
    assert bpm == 300.0 and len(run.clock.tempo_calls) == 1
    # from the first tick not yet handed over: ahead of the one sounding, within the lookahead
    assert run.sounding < from_tick <= run.handed_at_most + 1
    assert new.ns_at(from_tick) == old.ns_at(from_tick)
    assert run.state.bpm == 300.0
    stream, pulses = positions(until_stop(run.sink))
    assert pulses[-1][0] > from_tick + PPQN
    # Everything after the change waited for its new, later deadline: the output thread never
    # sends early, so a message handed over with its old deadline would show here.
    moved = [(tick, stamp) for tick, stamp in pulses if tick > from_tick]
    moved += [(tick, stamp) for tick, stamp, _ in stream if tick > from_tick]
    assert moved
    for tick, stamp in moved:
        assert new.ns_at(tick) > old.ns_at(tick)
        assert stamp >= new.ns_at(tick), f"tick {tick} went out on the old tempo"
    # and the grid is whole across the change: every pulse counted, every note at its tick
    expected = grid_notes([(0, 60), (2, 61), (4, 62), (6, 63)], "beats", pulses[-1][0])
    assert notes_of(stream)[:len(expected)] == expected


# -- a following clock -----------------------------------------------------------------------


def test_a_follower_forwards_its_masters_pulses_and_resyncs_after_a_stall(models):
    sink = MemorySink()
    clock = FakeFollower(FAST_BPM)

    async def run():
        async with Performer(set_config(), model_clients=models, sinks={"main": sink}, clock=clock,
                             realtime=False) as performer:
            now = time.perf_counter_ns
            timeline = Timeline.steady(FAST_BPM, 0, now() + PRE_ROLL_NS)
            clock.follow(timeline, Pulsed(0, now()))  # not playing yet: not forwarded
            clock.follow(timeline, Started(0))
            for tick in (0, 20, 40):
                clock.follow(timeline, Pulsed(tick, now()))
            for tick in (60, 80):  # they waited out a stall of the engine
                clock.follow(timeline, Pulsed(tick, now() - 10 ** 9))
            for tick in (100, 120, 140):  # 100 is no 16th note: the resync waits for 120
                clock.follow(timeline, Pulsed(tick, now()))
            # held up 100 ms, less than a 16th note at the master's 120 BPM: late, not lost
            clock.follow(timeline, Pulsed(160, now() - 100_000_000))
            await until(lambda: len(transport_messages(sink)) >= 10, "the forwarded pulses")
            await asyncio.sleep(0.02)  # nothing more may come
            return list(transport_messages(sink)), performer.state()
    transport, state = asyncio.run(run())

    assert [m.type for m in transport] == ["start", "clock", "clock", "clock", "stop",
                                           "songpos", "continue", "clock", "clock", "clock"]
    assert transport[5].pos == 120 // TICKS_PER_MIDI_BEAT
    assert state.skipped_pulses == 3 and state.skipped_notes == 0
    assert state.clock_status == "playing"
    assert transport_messages(sink)[-1].type == "stop"  # close's
    assert pulse_count(sink) == 6  # none made from the bars


# -- commands --------------------------------------------------------------------------------


def test_commands_are_refused_by_name_and_nothing_plays_while_stopped(models):
    sink = MemorySink()
    clock = FakeClock(FAST_BPM)

    async def run():
        refused = []
        async with Performer(set_config(), model_clients=models, sinks={"main": sink}, clock=clock,
                             realtime=False) as performer:
            for command in (cmd.Mute("drums"), cmd.SetMode("Melody", "hold"),
                            cmd.RecordAnchor("melody", 0)):
                with pytest.raises(SettingError) as err:
                    performer.command(command)
                refused.append(str(err.value))
            performer.command(cmd.Mute("melody"))
            performer.command(cmd.SetTempo(90))
            await asyncio.sleep(0.02)
            heard = list(sink.messages)
            state = performer.state()
        return refused, heard, state
    refused, heard, state = asyncio.run(run())

    assert refused == ["no track 'drums' (tracks: melody)",
                       "no track 'Melody' (tracks: melody)",
                       "recording starts at the next bar line: start the transport first"]
    assert heard == []
    assert clock.tempo_calls == [(90.0, 0)]  # while stopped: from where the transport stands
    assert not state.playing and state.tick == 0 and state.tracks[0].muted


def test_the_state_shows_a_tempo_set_while_stopped(models):
    async def run():
        # the set's own clock (the internal master at the config's 120 BPM)
        async with Performer(set_config(), model_clients=models, sinks={"main": MemorySink()},
                             realtime=False) as performer:
            performer.command(cmd.SetTempo(90))
            return performer.state().bpm
    assert asyncio.run(run()) == 90.0
