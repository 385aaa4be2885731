"""The performer: the asyncio side of a live set, from clock and commands to timed messages.

It owns the set's ports, the output thread, one model worker per distinct model, the tracks
and the clock source. Every few milliseconds it prepares the bars whose first messages could
fall due within the look-ahead (each track's notes, humanized; the outgoing MIDI clock) and
hands the output thread what is due within the look-ahead, through the clock's current
timeline. It reacts to the clock's transport events (start, stop, tempo, clock lost) and to
controller commands. Nothing here waits on the model: tracks ask ahead and repeat their loop
when an answer is late. ``close`` (and so Ctrl-C, SIGTERM, an error) ends with Stop on the
clock ports, note-offs for every sounding note and all-notes-off on every channel used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import mido
from latentjam.engine import commands as cmd
from latentjam.engine.anchor_paths import anchor_path
from latentjam.engine.clocks.base import (
    ClockLost,
    ClockRegained,
    ClockSource,
    Pulsed,
    Started,
    Stopped,
    TempoChanged,
    TransportEvent,
)
from latentjam.engine.clocks.factory import make_clock
from latentjam.engine.engine_state import EngineState
from latentjam.engine.errors import EngineError, SettingError
from latentjam.engine.events import ScheduledMessage, TimedMessage
from latentjam.engine.groove import GrooveTemplate
from latentjam.engine.late import (
    LATE_DROP_NS,
    drop_late,
    resync_messages,
    resync_sequence,
    resync_tick,
)
from latentjam.engine.midi_clock_out import TICKS_PER_MIDI_BEAT, clock_ticks, song_position
from latentjam.engine.model_worker import ModelClient
from latentjam.engine.output_thread import REALTIME_PRIORITY, OutputThread
from latentjam.engine.port_lister import PortLister
from latentjam.engine.port_watch import WatchedOutput
from latentjam.engine.ports import backend_name
from latentjam.engine.recorder import LoopRecorder
from latentjam.engine.scheduler import MAX_OFFSET_NS, LookaheadQueue
from latentjam.engine.set_config import SetConfig
from latentjam.engine.set_tracks import audible, make_track, start_tracks
from latentjam.engine.sinks import MessageSink
from latentjam.engine.synth_sink import TeeSink
from latentjam.engine.track import Track
from latentjam.engine.transport import PPQN, bar_and_beat, bars_to_ticks
from latentjam.engine.xrun_process import XrunReporter

log = logging.getLogger(__name__)

DISPATCH_PERIOD_S = 0.004  # how often bars are prepared and due messages handed over
PORT_CHECK_PERIOD_S = 1.0
XRUN_LOG_PERIOD_S = 1.0  # a pending xrun count is told at most this late (the log rate-limits)
CLOCK_MESSAGE = mido.Message("clock")


class Performer:
    """A live set running. ``async with Performer(config) as performer: await ...``.

    ``sinks``: send to these instead of opening the config's ports (keys as in
    ``config.ports``), e.g. ``MemorySink``s for a dry run. ``clock``: this clock source
    instead of the config's. ``model_clients``: what makes a track's model client from its
    (model, config), a ``ModelClient`` (a worker process) unless given. ``grooves``: the
    groove templates of the tracks that name one (track name -> template), read by the app.
    ``on_bar(bar, bar_tick, bpm, events)``: each bar's notes as ``(tick, message)`` (the
    humanized timing in ticks) as it is prepared (a recorder; it must not wait).
    ``also_to``: a sink that gets every port's messages too (the built-in synth).
    """

    def __init__(self, config: SetConfig, *, sinks: Mapping[str, MessageSink] | None = None,
                 clock: ClockSource | None = None, realtime: bool = True,
                 model_clients: Callable[[str | None, str | None], ModelClient] = ModelClient,
                 grooves: Mapping[str, GrooveTemplate] | None = None,
                 on_bar: Callable[[int, int, float, list], None] | None = None,
                 also_to: MessageSink | None = None) -> None:
        self.config = config
        self._sinks = dict(sinks) if sinks is not None else None
        self._ports: dict[str, WatchedOutput] = {}
        self.clock = clock or make_clock(config.clock, config.backend)
        self._realtime = realtime
        self.output: OutputThread | None = None
        self.tracks: list[Track] = []
        self._routing: dict[str, tuple[str, int]] = {}  # track -> (port key, first channel)
        self._clients: dict[tuple, ModelClient] = {}
        self._model_clients = model_clients
        self._grooves = dict(grooves or {})
        self._on_bar = on_bar
        self._also_to = also_to
        self._queue = LookaheadQueue()
        self._events: asyncio.Queue[TransportEvent] = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []  # the performer's own loops
        self._background: set[asyncio.Task] = set()  # encodes of anchors; failures logged
        self._playing = False
        self._position = 0  # the tick the transport stands at while stopped
        self._bpm = float(config.clock.bpm)  # the last tempo set or heard: shown while stopped
        self._next_bar = 0  # the next bar to prepare
        self._start_tick = 0  # messages before this tick are not played (a resume mid-bar)
        self._handed_ns = 0  # deadlines up to here are with the output thread
        self._bar_ticks = bars_to_ticks(1)
        self.recorder = LoopRecorder(config.record_port, config.backend, self.clock.timeline,
                                     self._run_in_background)
        self.started = asyncio.Event()  # set at the first Started event
        self.first_note_ns: int | None = None  # the deadline of the first note handed over
        self._lister: PortLister | None = None  # the port list, when existing ports are watched
        self._xruns: XrunReporter | None = None  # the JACK server's xruns, on JACK ports
        self.skipped_notes = 0  # note-ons dropped as too late (after a stall)
        self.skipped_pulses = 0  # clock pulses dropped as too late
        self.forwarded_pulses = 0  # a followed master's pulses sent on to the clock ports
        self._run_forwarded = 0  # of those, since the last Start
        self._resync_pending = False  # a follower's receivers wait to be put back on the grid
        self._dispatched_ns = 0  # when bars were last prepared and handed over

    # -- life cycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Performer:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Open ports and the clock, load the models, ask for the first loops, then run (and,
        with a leading clock and ``autostart``, play)."""
        sinks = self._sinks if self._sinks is not None else self._open_ports()
        if self._also_to is not None:
            sinks = {key: TeeSink(sink, self._also_to) for key, sink in sinks.items()}
        self.output = OutputThread(sinks, realtime_priority=REALTIME_PRIORITY
                                   if self._realtime else None)
        self.output.start()
        await self._load_tracks()
        await self.clock.open(self._events)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._dispatch_loop(), name="performer: dispatch"),
                       loop.create_task(self._event_loop(), name="performer: clock events")]
        if any(not port.virtual for port in self._ports.values()):
            self._lister = PortLister(self.config.backend)
            await self._lister.open()
            self._tasks.append(loop.create_task(self._watch_ports(), name="performer: ports"))
        if self._ports and backend_name(self.config.backend).endswith("/UNIX_JACK"):
            self._xruns = XrunReporter()  # a child process: see engine/xrun_process.py
            await self._xruns.open()
            self._tasks.append(loop.create_task(self._tell_xruns(), name="performer: xruns"))
        if self.clock.leads and self.config.autostart:
            self.clock.start()

    def _open_ports(self) -> dict[str, WatchedOutput]:
        for key, port in self.config.ports.items():
            self._ports[key] = WatchedOutput(port.name, virtual=port.virtual,
                                             backend=self.config.backend)
        return dict(self._ports)

    async def _load_tracks(self) -> None:
        for track in self.config.tracks:
            # a drum track's groove model (humanize = "groovae") is a worker of its own
            keys = [(track.model, track.config)] + \
                ([(track.groovae_model, track.groovae_config)] if track.groovae else [])
            for key in keys:
                if key not in self._clients:
                    self._clients[key] = self._model_clients(*key)
        infos = await asyncio.gather(*(client.start() for client in self._clients.values()))
        info_of = dict(zip(self._clients, infos, strict=True))
        for index, track in enumerate(self.config.tracks):
            key = (track.model, track.config)
            groovae = (track.groovae_model, track.groovae_config) if track.groovae else None
            made = make_track(track, index, info_of[key], self._clients[key].request,
                              self._grooves.get(track.name),
                              self._clients[groovae].request if groovae else None,
                              info_of[groovae] if groovae else None)
            self.tracks.append(made)
            self._routing[track.name] = (track.port, min(r.channel
                                                         for r in made.routes.values()))
        await start_tracks(self.tracks, self.config.tracks)

    def _program_changes(self, tick: int) -> None:
        """Each track's program, at ``tick`` (every Start: a synth connected late gets it)."""
        for track, config in zip(self.tracks, self.config.tracks, strict=True):
            if config.program is None:
                continue
            for channel in sorted({route.channel for route in track.routes.values()}):
                message = mido.Message("program_change", channel=channel,
                                       program=config.program - 1)
                self._queue.push(TimedMessage(tick, message, config.port))

    async def close(self) -> None:
        """Stop playing: Stop to the clock ports, silence, end the workers and the clock."""
        for task in [*self._tasks, *self._background]:
            task.cancel()
        for task in [*self._tasks, *self._background]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks, self._background = [], set()
        for track in self.tracks:
            track.cancel()
        if self.output is not None:
            self._queue.clear()
            self.output.panic()
            self._send_transport(mido.Message("stop"), OutputThread.now_ns())
            await asyncio.get_running_loop().run_in_executor(None, self.output.stop)
        with contextlib.suppress(Exception):
            await self.clock.close()
        if not self.clock.leads:
            log.info("forwarded %d of the followed clock's pulses (%d skipped in stalls)",
                     self.forwarded_pulses, self.skipped_pulses)
        if self._lister is not None:
            await self._lister.close()
        if self._xruns is not None:
            await self._xruns.close()
        with contextlib.suppress(Exception):
            await self.recorder.close()
        await asyncio.gather(*(client.close() for client in self._clients.values()),
                             return_exceptions=True)
        for port in self._ports.values():
            with contextlib.suppress(Exception):
                port.close()

    async def wait(self) -> None:
        """Run until a task of the performer fails (its error is raised) or is cancelled."""
        done, _ = await asyncio.wait(self._tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()

    # -- the clock's events -----------------------------------------------------------------

    async def _event_loop(self) -> None:
        while True:
            event = await self._events.get()
            try:
                self._on_event(event)
            except Exception:  # the clock must keep going: log, and on to the next event
                log.exception("performer: handling %s failed; carrying on", event)

    def _on_event(self, event: TransportEvent) -> None:
        if isinstance(event, Started):
            self._on_started(event)
        elif isinstance(event, Stopped):
            self._on_stopped(event)
        elif isinstance(event, TempoChanged):
            self._bpm = float(event.bpm)
            log.info("tempo %.2f BPM", event.bpm)
        elif isinstance(event, ClockLost):
            log.warning("the external clock stopped ticking: free-running at %.2f BPM",
                        event.bpm)
        elif isinstance(event, ClockRegained):
            log.warning("the external clock is back")
        elif isinstance(event, Pulsed):
            self._forward_pulse(event)
        else:  # Positioned: where the next Continue resumes
            self._position = event.tick

    def _on_started(self, event: Started) -> None:
        self._queue.clear()
        self._run_forwarded = 0
        self._playing = True
        self._start_tick = event.tick
        self._next_bar = event.tick // self._bar_ticks
        self._handed_ns = 0
        for track in self.tracks:
            track.restart(self._next_bar)
        transport = [song_position(event.tick), mido.Message("continue")] if event.resumed \
            else [mido.Message("start")]
        for message in transport:
            if self.clock.leads:
                for key in self._clock_ports():
                    self._queue.push(TimedMessage(event.tick, message, key))
            else:  # the master's Start has come: on at once, before what plays at its tick
                timeline = self.clock.timeline()
                now = OutputThread.now_ns()
                self._send_transport(message, min(timeline.ns_at(event.tick), now)
                                     if timeline else now)
        self._program_changes(event.tick)
        log.info("%s at bar %d", "continue" if event.resumed else "start", self._next_bar + 1)
        self.started.set()

    def _on_stopped(self, event: Stopped) -> None:
        self._playing = False
        self._position = event.tick
        self._queue.clear()
        self.output.panic()
        self._send_transport(mido.Message("stop"), OutputThread.now_ns())
        if self._resync_pending:  # the Stop puts the receivers right; the count is told
            self._resync_pending = False
            log.warning("the engine stalled: %d clock pulses in all were too late to forward "
                        "before the Stop", self.skipped_pulses)
        if self.clock.leads:
            log.info("stop at bar %d", event.tick // self._bar_ticks + 1)
        else:
            log.info("stop at bar %d; %d of the master's pulses forwarded since its start",
                     event.tick // self._bar_ticks + 1, self._run_forwarded)

    def _forward_pulse(self, pulse: Pulsed) -> None:
        """A followed master's pulse, out at once to the clock ports: one for each it sends,
        never one it did not, and each before the Stop that follows it (the pulses of a
        leading clock come from the bars). A pulse held up less than a 16th note goes late
        (a receiver's count stays the master's); pulses that waited out a longer stall of the
        engine are dropped, and the receivers put back on the grid at the next 16th note."""
        if not self._playing:
            return
        now = OutputThread.now_ns()
        if now - pulse.at_ns > _forward_late_ns(self._bpm):
            self._resync_pending = True
            self.skipped_pulses += 1
            return
        if self._resync_pending:
            if pulse.tick % TICKS_PER_MIDI_BEAT:
                self.skipped_pulses += 1
                return
            log.warning("the engine stalled: %d clock pulses in all were too late to forward; "
                        "the clock goes on at bar %d with Song Position Pointer",
                        self.skipped_pulses, pulse.tick // self._bar_ticks + 1)
            self._resync_pending = False
            for message in resync_sequence(pulse.tick):
                self._send_transport(message, now)
        self._send_transport(CLOCK_MESSAGE, now)
        self.forwarded_pulses += 1
        self._run_forwarded += 1

    def _clock_ports(self) -> list[str]:
        ports = self.config.ports
        keys = self._sinks.keys() if self._sinks is not None else ports.keys()
        return [key for key in keys if key not in ports or ports[key].clock]

    def _send_transport(self, message: mido.Message, deadline_ns: int) -> None:
        for key in self._clock_ports():
            self.output.submit(ScheduledMessage(deadline_ns, message, key))

    # -- preparing bars and handing them over -----------------------------------------------

    async def _dispatch_loop(self) -> None:
        while True:
            await asyncio.sleep(DISPATCH_PERIOD_S)
            self._dispatch(OutputThread.now_ns())

    def _dispatch(self, now_ns: int) -> None:
        self._dispatched_ns = now_ns
        timeline = self.clock.timeline() if self._playing else None
        if timeline is None:
            return
        horizon = now_ns + round(self.config.lookahead_ms * 1e6)
        while timeline.ns_at(self._next_bar * self._bar_ticks) - MAX_OFFSET_NS <= horizon:
            self._prepare_bar(self._next_bar)
            self._next_bar += 1
        if self.recorder.takes:
            self.recorder.finish_due(timeline.tick_at_ns(now_ns))
        due, notes, pulses = drop_late(self._queue.pop_due(timeline, horizon), now_ns)
        if notes or pulses:
            self._skipped(notes, pulses, timeline.tick_at_ns(horizon))
        if due:
            if self.first_note_ns is None:
                notes = [e.deadline_ns for e in due if e.message.type == "note_on"]
                self.first_note_ns = min(notes) if notes else None
            self.output.submit_many(due)
        self._handed_ns = horizon

    def _skipped(self, notes: int, pulses: int, handed_tick: int) -> None:
        """Messages came due too late (a stall): count them, say so once, and put a leading
        clock's receivers back on the grid after the ticks already handed over."""
        self.skipped_notes += notes
        self.skipped_pulses += pulses
        log.warning("the engine stalled: %d notes and %d clock pulses were too late and were "
                    "skipped", notes, pulses)
        if pulses and self.clock.leads:
            tick = resync_tick(handed_tick)
            for key in self._clock_ports():
                for message in resync_messages(tick, key):
                    self._queue.push(message)

    def _prepare_bar(self, bar: int) -> None:
        bar_tick = bar * self._bar_ticks
        heard: list[tuple[int, mido.Message]] = []
        ticks_per_ns = 0.0
        if self._on_bar is not None:
            timeline = self.clock.timeline()
            ticks_per_ns = (timeline.bpm_at(bar_tick) if timeline else self._bpm) * PPQN / 60e9
        for track, hears in zip(self.tracks, audible(self.tracks), strict=True):
            for message, offset in track.bar_events(bar, bar_tick, hears):
                if message.tick >= self._start_tick:
                    self._queue.push(message, offset)
                    if self._on_bar is not None:
                        heard.append((message.tick + round(offset * ticks_per_ns),
                                      message.message))
        if self._on_bar is not None:
            heard.sort(key=lambda event: event[0])
            self._on_bar(bar, bar_tick, ticks_per_ns * 60e9 / PPQN, heard)
        if not self.clock.leads:
            return  # a follower forwards its master's pulses as they come (_forward_pulse)
        clock_ports = self._clock_ports()
        for tick in clock_ticks(max(bar_tick, self._start_tick), bar_tick + self._bar_ticks):
            for key in clock_ports:
                self._queue.push(TimedMessage(tick, CLOCK_MESSAGE, key))

    async def _watch_ports(self) -> None:
        """Existing output ports against the port list a child keeps (``PortLister``)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(PORT_CHECK_PERIOD_S)
            listing = self._lister.latest
            if listing is None:
                continue
            for port in self._ports.values():
                await loop.run_in_executor(None, port.check, listing)

    async def _tell_xruns(self) -> None:
        """A pending xrun count, logged once its window is over (the first at once)."""
        while True:
            await asyncio.sleep(XRUN_LOG_PERIOD_S)
            self._xruns.flush()

    # -- controllers ------------------------------------------------------------------------

    def command(self, command: cmd.Command) -> None:
        """Carry out a controller's command (see ``engine.commands``): the set's own from
        ``_COMMANDS``, a track's by the track; ``SettingError`` when it names a track the set
        lacks or asks what the track cannot do."""
        handler = _COMMANDS.get(type(command))
        if handler is not None:
            handler(self, command)
        else:
            self._track(command.track).apply(command)

    def _set_tempo(self, command: cmd.SetTempo) -> None:
        timeline = self.clock.timeline()
        from_tick = timeline.tick_at_ns(self._handed_ns) + 1 if timeline else self._position
        self.clock.set_tempo(command.bpm, from_tick)
        self._bpm = command.bpm

    def _load_anchor(self, command: cmd.LoadAnchor) -> None:
        track = self._track(command.track)
        path = anchor_path(command.path, self.config.anchor_dirs)
        self._run_in_background(track.encode_midi(command.slot, path,
                                                  within=self.config.anchor_dirs))

    def _record_anchor(self, command: cmd.RecordAnchor) -> None:
        track = self._track(command.track)
        if self.clock.timeline() is None:
            raise SettingError("recording starts at the next bar line: start the transport "
                               "first")
        self._run_in_background(self.recorder.arm(track, command.slot, command.bars))

    def _run_in_background(self, work) -> None:
        task = asyncio.get_running_loop().create_task(work)
        task.add_done_callback(_log_failure)
        task.add_done_callback(self._background.discard)
        self._background.add(task)

    def _track(self, name: str) -> Track:
        for track in self.tracks:
            if track.name == name:
                return track
        raise SettingError(f"no track {name!r} (tracks: "
                           f"{', '.join(t.name for t in self.tracks)})")

    def keeps_time(self, within_s: float = 1.0) -> bool:
        """Whether the real-time path goes on: bars handed over within ``within_s`` and the
        output thread running (what a watchdog asks)."""
        recent = OutputThread.now_ns() - self._dispatched_ns <= within_s * 1e9
        return recent and self.output is not None and self.output.alive

    def state(self) -> EngineState:
        timeline = self.clock.timeline() if self._playing else None
        tick = max(timeline.tick_at_ns(time.perf_counter_ns()), 0) if timeline else \
            self._position
        bar, beat = bar_and_beat(tick)
        bpm = float(timeline.bpm_at(tick)) if timeline else self._bpm
        tracks = tuple(track.state(*self._routing[track.name]) for track in self.tracks)
        return EngineState(self._playing, self.clock.kind, self.clock.status(), bpm, tick,
                           bar, beat, tracks, self.skipped_notes, self.skipped_pulses,
                           self.output.refused_count if self.output is not None else 0,
                           self._xruns.count if self._xruns is not None else 0)


def _forward_late_ns(bpm: float) -> float:
    """How late a followed pulse may still be forwarded: one 16th note (six pulses) at
    ``bpm``, so a short stall never costs a receiver a pulse and a long one never sends it a
    burst of more than a 16th; at least what any message may be late."""
    return max(TICKS_PER_MIDI_BEAT / PPQN * 60e9 / bpm, LATE_DROP_NS)


# The commands the performer carries out itself; every other command is a track's.
_COMMANDS: dict[type, Callable[[Performer, Any], None]] = {
    cmd.Play: lambda performer, c: performer.clock.start(c.resume),
    cmd.Stop: lambda performer, c: performer.clock.stop(),
    cmd.SetTempo: Performer._set_tempo,
    cmd.Panic: lambda performer, c: performer.output.panic(),
    cmd.LoadAnchor: Performer._load_anchor,
    cmd.RecordAnchor: Performer._record_anchor,
}


def _log_failure(task: asyncio.Task) -> None:
    if task.cancelled():
        return
    err = task.exception()
    if isinstance(err, EngineError):
        log.warning("%s", err)
    elif err is not None:
        log.error("unexpected error: %r", err)
