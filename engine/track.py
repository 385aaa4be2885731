"""One track of a live set: the loop it plays, the notes of each bar, and the next loop it
asks its model for.

The performer calls ``bar_events`` once per bar, in order, a little ahead of time. A loop
repeats until a loop boundary where the mode wants a new one (every ``every`` plays in
sample, walk, blend and grid modes, each loop along an interpolation, never in hold). The
next loop is asked for as soon as the current one starts, so the model has a whole loop's
time to answer; if the answer is not back at the boundary, the current loop plays again and
a warning is logged: never silence, never a wait. Each request carries a seed drawn from
the track's own, so a performance can be reproduced; the model service plans the latent
move (fresh draw, walk, slerp, the mix of four corners) and decodes it. A blend or grid
track's point moves one step of its path (``engine.blend``) for each new loop; given next
corners (``NextCorners``), its corners move toward them by the share asked.

A drum track humanized by a groove model (GrooVAE) asks it, in the background, for each new
loop's feel (``engine.groovae``: every hit's velocity and timing); once it is in, the loop
plays with it in place of the groove template and humanize, which it plays with until then.

Settings a controller changes are read when they matter: mute, solo and humanize when the
next bar is prepared; mode, temperature, walk step, loop length, interpolation and the
blend point by the next request (the answer in flight is dropped and the new request
follows it), so they are heard at the next loop boundary when the model answers in time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import mido
import numpy as np
from latentjam.engine import commands as cmd
from latentjam.engine.blend import (
    CORNER_SLOTS,
    BlendMotion,
    advance,
    cell_point,
    moved_to,
    on_grid,
    toward,
)
from latentjam.engine.engine_state import TrackState
from latentjam.engine.errors import EngineError, ModelRequestError, ModelWorkerError, SettingError
from latentjam.engine.events import TimedMessage
from latentjam.engine.groovae import Feel, feel_of, felt
from latentjam.engine.groove import GrooveAmounts, GrooveTemplate, grooved
from latentjam.engine.harmony import Key, best_shift, transposed
from latentjam.engine.humanize import HumanizeParams, humanize
from latentjam.engine.loops import (
    Loop,
    LoopNote,
    Route,
    bar_notes,
    chain,
    first_bars,
    loop_from_steps,
    note_messages,
    roll,
    steps_of,
)
from latentjam.models.service import (
    DRUMS,
    BlendRequest,
    EncodeNotesRequest,
    EncodeRequest,
    HumanizeRequest,
    InputError,
    InterpolateRequest,
    ModelInfo,
    ModelRequest,
    ModelResult,
    SampleRequest,
    WalkRequest,
    read_clip_classes,
)

log = logging.getLogger(__name__)

BLEND_MODES = ("blend", "grid")  # the loop is a mix of the four corners
MIN_KEY_SHARE = 0.8  # a loop whose best move leaves less of it in the key is asked again,
TRIES = 3  # as one off its density or just heard, this many times at most
HEARD = 32  # loops remembered as just heard
NEW_LOOP_MODES = ("sample", "walk", *BLEND_MODES)  # a new loop every ``every`` plays
FILE_CORNERS = 128  # latent vectors of next-corner files kept, so a file is read once

Ask = Callable[[ModelRequest], Awaitable[ModelResult]]


@dataclass(frozen=True)
class PlayingLoop:
    loop: Loop
    z: np.ndarray  # [windows, z_size]: the latent vector of each window it was decoded from
    blend: BlendMotion | None = None  # a blend or grid track's motion as this loop has it
    # a track humanized by a groove model: the loop's feel, being asked (engine.groovae);
    # until it is in (or if it fails) the loop plays with the ordinary humanize
    feel: asyncio.Task[Feel | None] | None = None


@dataclass
class TrackSettings:
    """What a controller may change while the track plays."""

    mode: str
    temperature: float
    walk_step: float
    bars: int
    every: int
    interpolate_steps: int
    humanize: HumanizeParams
    muted: bool = False
    soloed: bool = False
    blend: BlendMotion = BlendMotion()  # blend and grid modes: the point and its path
    grid_size: int = 5  # grid mode: cells a side
    groove: GrooveTemplate | None = None  # laid on every bar before humanize's randomness
    groove_amounts: GrooveAmounts = GrooveAmounts()
    key: Key | None = None  # new loops' pitched notes are moved into it
    density: tuple[float, float] | None = None  # notes a bar new loops keep within


class Track:
    """A track bound to one model (through ``ask``) and routed by part to ports/channels."""

    def __init__(self, name: str, settings: TrackSettings, info: ModelInfo, ask: Ask,
                 routes: Mapping[str, Route], seed: int | None = None,
                 humanizer: Ask | None = None) -> None:
        self.name = name
        self._humanizer = humanizer  # a groove model (GrooVAE) that plays each new loop
        self.settings = settings
        self.info = info
        self.routes = dict(routes)
        self._ask = ask
        self.window_bars = info.window_bars
        seeds = np.random.SeedSequence(seed)
        self._rng, self._human_rng = (np.random.default_rng(s) for s in seeds.spawn(2))
        self.current: PlayingLoop | None = None
        self.anchors: dict[int, np.ndarray] = {}
        self.loops_played = 0
        self.late_answers = 0
        self._plays = 0  # plays of the current loop completed
        self._loop_start_bar = 0
        self._next: asyncio.Task[PlayingLoop] | None = None
        self._ask_again: str | None = None  # a newer request waits for the one in flight
        self._path: tuple[np.ndarray, np.ndarray] | None = None  # interpolation ends
        self._path_done = 0  # loops of the path adopted so far
        self._previous_bar: tuple[LoopNote, ...] = ()
        self._programs: dict[Route, int] = {}  # the program each channel was last given
        self._heard: deque[int] = deque(maxlen=HEARD)  # fingerprints of the latest loops
        # blend and grid: the next corners (what they are made from, their making) and the
        # share of them in each loop; the last next corners, once others come, land as the
        # corners at the next loop
        self._upcoming: tuple[tuple, asyncio.Task] | None = None
        self._corner_share = 0.0
        self._landing: asyncio.Task | None = None
        self._file_corners: dict[str, np.ndarray] = {}
        self._rolls: dict[int, tuple[Loop, tuple[int, ...]]] = {}  # id -> (loop, its roll)

    # -- asking the model -------------------------------------------------------------------

    def _windows(self) -> int:
        return max(self.settings.bars // self.window_bars, 1)

    def _request(self, mode: str) -> ModelRequest | None:
        """What to ask the model for the next loop in ``mode``, or None when it wants none."""
        s, n = self.settings, self._windows()
        if mode == "sample" or (mode == "walk" and self.current is None):
            return SampleRequest(s.temperature, self._seed(), n, walk_step=s.walk_step)
        if mode == "walk":
            return WalkRequest(self.current.z[-1], s.walk_step, s.temperature, self._seed(), n)
        if mode == "interpolate" and self._path is not None \
                and self._path_done < s.interpolate_steps:
            start, end = self._path
            fraction = self._path_done / (s.interpolate_steps - 1)
            return InterpolateRequest(start, end, (fraction,), s.temperature, self._seed(),
                                      windows=n)
        return None

    def _seed(self) -> int:
        return int(self._rng.integers(2 ** 31))

    async def _decode(self, request: ModelRequest) -> PlayingLoop:
        """The loop ``request`` gives, asked again (new seeds, at most TRIES times) while it
        fits no move into the track's key, misses its density or was heard just now; the
        last answer plays if none does."""
        for attempt in range(TRIES):
            result = await self._ask(request)
            spq = self.info.steps_per_quarter
            windows = [loop_from_steps(window, spq) for window in result.loops]
            loop = chain(windows) if len(windows) > 1 else windows[0]
            if self.settings.bars < loop.bars:
                loop = first_bars(loop, self.settings.bars)
            loop, fits = self._fitted(loop, request)
            if fits or attempt == TRIES - 1:
                break
            request = dataclasses.replace(request, seed=self._seed())
        self._heard.append(_fingerprint(loop))
        return PlayingLoop(loop, result.z, feel=self._ask_feel(loop))

    def _ask_feel(self, loop: Loop) -> asyncio.Task[Feel | None] | None:
        """The groove model's feel of a new loop, asked in the background: the loop does
        not wait for it."""
        if self._humanizer is None:
            return None
        return asyncio.get_running_loop().create_task(self._feel(loop),
                                                      name=f"track {self.name}: feel")

    async def _feel(self, loop: Loop) -> Feel | None:
        try:
            request = HumanizeRequest(steps_of(loop, self.info.steps_per_quarter))
            result = await self._humanizer(request)
            return feel_of(loop, result.played, self.info.steps_per_quarter)
        except Exception as err:  # noqa: BLE001 - whatever it was, the loop plays on
            log.warning("track %s: the groove model could not play the loop (%s: %s); it "
                        "plays with the ordinary humanize", self.name, type(err).__name__, err)
            return None

    def _fitted(self, loop: Loop, request: ModelRequest) -> tuple[Loop, bool]:
        """``loop`` moved into the key, and whether it is one to play."""
        s, fits = self.settings, True
        if s.key is not None:
            shift, share = best_shift(loop.notes, s.key)
            loop = dataclasses.replace(loop, notes=transposed(loop.notes, shift))
            fits = share >= MIN_KEY_SHARE
        if s.density is not None:
            low, high = s.density
            fits = fits and low <= len(loop.notes) / loop.bars <= high
        # a loop just heard again, where the mode means to move on
        fresh = not isinstance(request, BlendRequest) or s.blend.path != "still"
        return loop, fits and not (fresh and _fingerprint(loop) in self._heard)

    def request_next(self, mode: str | None = None) -> None:
        """Ask for the loop the settings (or ``mode``) want next. With a request in flight,
        its answer is dropped and this one asked when it comes back: however fast a
        controller turns a knob, the model has one request of a track at a time."""
        if self._next is not None and not self._next.done():
            self._ask_again = mode or ""
            return
        self._send_request(mode)

    async def _blend_loop(self, mode: str) -> PlayingLoop:
        """The next loop of a blend or grid track, from the point one move on; corners that
        hold nothing yet are filled with fresh samples first, and mixed toward the next
        corners by their share."""
        s = self.settings
        share, upcoming = self._corner_share, self._upcoming
        if self._landing is not None:  # the last next corners are the corners now
            landing, self._landing = self._landing, None
            for slot, z in zip(CORNER_SLOTS, await landing, strict=True):
                if z is not None:
                    self.anchors[slot] = z
        missing = [slot for slot in CORNER_SLOTS if slot not in self.anchors]
        for slot in missing:
            result = await self._ask(SampleRequest(s.temperature, self._seed(), self._windows(),
                                                   walk_step=s.walk_step))
            self.anchors.setdefault(slot, result.z)
        if missing:
            log.info("track %s: blend corner(s) %s are fresh samples (save or load anchors "
                     "0-3 to choose them)", self.name, ", ".join(map(str, missing)))
        motion = advance(s.blend, self._rng)
        point = motion.point if mode == "blend" else on_grid(motion.point, s.grid_size)
        corners = tuple(self.anchors[slot] for slot in CORNER_SLOTS)
        if upcoming is not None and share > 0:
            corners = toward(corners, await upcoming[1], share)
        loop = await self._decode(BlendRequest(corners, point, s.temperature, self._seed(),
                                               self._windows()))
        return dataclasses.replace(loop, blend=motion)

    def _send_request(self, mode: str | None) -> None:
        self._next = None
        mode = mode or self.settings.mode
        if mode in BLEND_MODES:
            next_loop = self._blend_loop(mode)
        else:
            request = self._request(mode)
            if request is None:
                return
            next_loop = self._decode(request)
        task = asyncio.get_running_loop().create_task(next_loop,
                                                      name=f"track {self.name}: next")
        task.add_done_callback(self._answered)
        self._next = task

    def _answered(self, task: asyncio.Task) -> None:
        if task is not self._next or self._ask_again is None or task.cancelled():
            return
        task.exception()  # whatever it was, a newer request replaces it
        mode, self._ask_again = self._ask_again, None
        self._send_request(mode or None)

    async def first_loop(self) -> None:
        """Ask for, and wait for, the loop the track starts with."""
        if self.current is None:
            # Hold and interpolate have nothing to hold yet: they start from a sample.
            self.request_next(self.settings.mode if self.settings.mode in NEW_LOOP_MODES
                              else "sample")
            self.current = await self._next
            self.loops_played += 1
            self.request_next()

    async def encode_midi(self, slot: int, path: str,
                          within: tuple[str, ...] | None = None) -> None:
        """Encode the first window of a MIDI file into anchor ``slot``; the file is read in a
        process of its own (``read_clip_classes``), only inside ``within`` when given."""
        try:
            classes, seconds = await read_clip_classes(path, self.info, within)
        except InputError as err:
            raise SettingError(str(err)) from None
        result = await self._ask(EncodeRequest(classes))
        self.anchors[slot] = result.z
        log.info("track %s: anchor %d is %s (read in %.2f s)", self.name, slot, path, seconds)

    async def encode_loop(self, slot: int, loop: Loop, what: str) -> None:
        """Encode the first window of a loop played in into anchor ``slot``; ``what`` names
        it in errors."""
        try:
            request = EncodeNotesRequest(steps_of(loop, self.info.steps_per_quarter))
            result = await self._ask(request)
        except (InputError, ModelRequestError) as err:
            raise SettingError(f"{what}: {err}") from None
        self.anchors[slot] = result.z

    # -- bars -------------------------------------------------------------------------------

    def restart(self, bar: int) -> None:
        """The transport starts (or resumes) at ``bar``: the current loop starts over there."""
        self._loop_start_bar = bar
        self._plays = 0
        self._previous_bar = ()
        self._programs.clear()  # a synth that joins at Start hears them again

    def bar_events(self, bar: int, bar_tick: int, audible: bool) -> list[tuple[TimedMessage, int]]:
        """The messages (with humanized offsets) of performance ``bar``, which starts at
        ``bar_tick``. Called once per bar, in increasing order."""
        if self.current is None:
            return []
        if bar >= self._loop_start_bar + self.current.loop.bars:
            self._loop_boundary(bar)
        notes = bar_notes(self.current.loop, bar - self._loop_start_bar, bar_tick)
        feel = _result(self.current.feel)
        if self.settings.groove is not None and feel is None:
            notes = grooved(notes, self.settings.groove, self.settings.groove_amounts)
        if not audible:
            self._previous_bar = ()
            return []
        if feel is not None:  # the groove model's velocities and timing, in place of humanize
            loop_tick = bar_tick - (bar - self._loop_start_bar) * self.current.loop.bar_ticks
            human = felt(notes, feel, loop_tick)
        else:
            human = humanize(notes, self._human_rng, self.settings.humanize,
                             self.current.loop.beats_per_bar, after=self._previous_bar)
        self._previous_bar = human
        return self._program_changes(bar, bar_tick) + note_messages(human, self.routes)

    def _program_changes(self, bar: int, bar_tick: int) -> list[tuple[TimedMessage, int]]:
        """A multi-instrument model chooses each instrument's program: at a loop's first bar,
        a program change where a part's program is not the one its channel has."""
        if self.info.kind != "multiperf" or bar != self._loop_start_bar:
            return []
        out = []
        for part, program in self.current.loop.programs:
            route = self.routes.get(part)
            if route is None or part == DRUMS or self._programs.get(route) == program:
                continue
            self._programs[route] = program
            message = mido.Message("program_change", channel=route.channel, program=program)
            out.append((TimedMessage(bar_tick, message, route.port), 0))
        return out

    def _wants_new(self, plays: int) -> bool:
        """Whether a loop boundary after ``plays`` plays of the current loop takes a new one."""
        s = self.settings
        return (s.mode in NEW_LOOP_MODES and plays >= s.every) or \
            (s.mode == "interpolate" and self._path is not None)

    async def answer_by(self, bar: int) -> None:
        """Wait until the next loop is in, when ``bar`` is a loop boundary that takes one:
        a run without a clock (``engine.offline``) is never late, for a loop's feel either."""
        if self.current is not None and self.current.feel is not None:
            await asyncio.wait([self.current.feel])
        if self.current is None or bar < self._loop_start_bar + self.current.loop.bars \
                or not self._wants_new(self._plays + 1):
            return
        while self._next is not None and not self._next.done():
            await asyncio.wait([self._next])
            await asyncio.sleep(0)  # a request asked again when this one came back
        queued = self._queued()
        if queued is not None and queued.feel is not None:
            await asyncio.wait([queued.feel])

    def _loop_boundary(self, bar: int) -> None:
        self._plays += 1
        s = self.settings
        if self._wants_new(self._plays):
            adopted = self._adopt_next()
            if not adopted:
                self.late_answers += 1
                log.warning("track %s: the model's next loop was not ready at bar %d; the "
                            "current loop repeats", self.name, bar)
        if self.current.loop.bars != s.bars:
            self._reshape(s.bars)
        self._loop_start_bar = bar

    def _adopt_next(self) -> bool:
        task = self._next
        if task is None:
            self.request_next()
            return False
        if not task.done():
            return False
        self._next = None
        try:
            self.current = task.result()
        except asyncio.CancelledError:
            self.request_next()
            return False
        except (EngineError, ModelWorkerError) as err:
            log.warning("track %s: the model could not answer (%s); asking again", self.name,
                        err)
            self.request_next()
            return False
        self.loops_played += 1
        self._plays = 0
        if self.current.blend is not None:
            self.settings.blend = self.current.blend
        if self.settings.mode == "interpolate":
            self._path_done += 1
            if self._path_done >= self.settings.interpolate_steps:
                self.settings.mode = "hold"  # arrived: stay on the end loop
                self._path = None
        self.request_next()
        return True

    def _reshape(self, bars: int) -> None:
        """Play the current loop at a new length until a new loop of that length comes."""
        loop = self.current.loop
        if bars < loop.bars:
            loop = first_bars(loop, bars)
        else:
            loop = chain([loop] * (bars // loop.bars))
        self.current = dataclasses.replace(self.current, loop=loop, feel=self._ask_feel(loop))

    # -- controller commands ----------------------------------------------------------------

    def apply(self, command: cmd.Command) -> None:
        """Carry out a command addressed to this track (see ``_APPLY``); ``SettingError``
        when it asks what the track cannot do."""
        handler = _APPLY.get(type(command))
        if handler is None:
            raise SettingError(f"track {self.name}: cannot apply {command!r}")
        if handler(self, command):
            self.request_next()

    def _set(self, field: str, value: object, ask: bool = True) -> bool:
        setattr(self.settings, field, value)
        return ask

    def _set_mode(self, command: cmd.SetMode) -> bool:
        if command.mode == "interpolate" and self._path is None:
            raise SettingError(f"track {self.name}: interpolate needs two anchors first "
                               f"(use Interpolate with anchor slots)")
        return self._set("mode", command.mode)

    def _set_humanize(self, command: cmd.SetHumanize) -> bool:
        params = self.settings.humanize
        return self._set("humanize", dataclasses.replace(params, **{command.field:
                                                                    command.value}), ask=False)

    def _clear_anchors(self, slots: tuple[int, ...]) -> bool:
        for slot in slots:
            self.anchors.pop(slot, None)
        return self.settings.mode in BLEND_MODES  # new corners from the next loop

    def _next_corners(self, command: cmd.NextCorners) -> bool:
        """Next corners are made in the background from when they are first given; other
        ones make them the corners. Heard from the next loop when the corners or the share
        changed."""
        source = (command.seeds, command.files)
        held = self._upcoming
        landed = held is not None and held[0] != source
        if held is None or landed:
            if landed:
                self._landing = held[1]
            s, windows = self.settings, self._windows()
            # what to ask is fixed now, whatever the settings are when it is asked
            made = [SampleRequest(s.temperature, seed, windows, walk_step=s.walk_step)
                    for seed in command.seeds] + list(command.files)
            task = asyncio.get_running_loop().create_task(
                self._made_corners(made), name=f"track {self.name}: next corners")
            self._upcoming = (source, task)
        changed = landed or command.share != self._corner_share
        self._corner_share = command.share
        return changed and self.settings.mode in BLEND_MODES

    async def _made_corners(self, sources: list) -> tuple[np.ndarray | None, ...]:
        """The latent vectors of next corners (sample requests or MIDI files); one that
        cannot be made is None (that corner stays) and is logged."""
        out: list[np.ndarray | None] = []
        for source in sources:
            try:
                if isinstance(source, str):
                    if source not in self._file_corners:
                        classes, _ = await read_clip_classes(source, self.info, None)
                        if len(self._file_corners) >= FILE_CORNERS:
                            self._file_corners.pop(next(iter(self._file_corners)))
                        self._file_corners[source] = (await self._ask(EncodeRequest(classes))).z
                    out.append(self._file_corners[source])
                else:
                    out.append((await self._ask(source)).z)
            except (EngineError, InputError) as err:
                log.warning("track %s: a next corner cannot be made (%s); that corner stays",
                            self.name, err)
                out.append(None)
        return tuple(out)

    def _set_blend(self, motion: BlendMotion) -> bool:
        self.settings.blend = motion
        return self.settings.mode in BLEND_MODES

    def _grid_cell(self, command: cmd.SetGridCell) -> bool:
        size = self.settings.grid_size
        if command.row >= size or command.column >= size:
            raise SettingError(f"track {self.name}: the grid is {size}×{size}; row and column "
                               f"are 0..{size - 1}, got {command.row}, {command.column}")
        point = cell_point(command.row, command.column, size)
        return self._set_blend(moved_to(self.settings.blend, point))

    def _interpolate(self, command: cmd.Interpolate) -> bool:
        missing = [slot for slot in (command.start, command.end) if slot not in self.anchors]
        if missing:
            raise SettingError(f"track {self.name}: anchor slot(s) "
                               f"{', '.join(map(str, missing))} hold nothing yet")
        self._path = (self.anchors[command.start], self.anchors[command.end])
        self._path_done = 0
        self.settings.interpolate_steps = command.steps
        return self._set("mode", "interpolate")

    def save_anchor(self, slot: int) -> None:
        if self.current is None:
            raise SettingError(f"track {self.name}: no loop is playing yet")
        self.anchors[slot] = self.current.z.copy()

    def state(self, port: str, channel: int) -> TrackState:
        s = self.settings
        # the point of the loop heard (a point just set is heard from the next loop)
        playing = self.current.blend if self.current and self.current.blend else s.blend
        point = on_grid(playing.point, s.grid_size) if s.mode == "grid" else playing.point
        return TrackState(self.name, s.mode, s.temperature, s.walk_step, s.bars, s.every,
                          s.muted, s.soloed, s.humanize, port, channel, self.loops_played,
                          self.late_answers, tuple(sorted(self.anchors)), point,
                          s.blend.path, s.grid_size, self._roll(self.current),
                          self._roll(self._queued()))

    def _queued(self) -> PlayingLoop | None:
        task = self._next
        if task is None or not task.done() or task.cancelled() or task.exception():
            return None
        return task.result()

    def _roll(self, playing: PlayingLoop | None) -> tuple[int, ...]:
        """The loop's summary, made once per loop (state() is read many times a second)."""
        if playing is None:
            return ()
        cached = self._rolls.get(id(playing.loop))
        if cached is None or cached[0] is not playing.loop:
            if len(self._rolls) >= 4:  # the playing and the queued loop, and a spare
                self._rolls.clear()
            cached = self._rolls[id(playing.loop)] = (playing.loop, roll(playing.loop))
        return cached[1]

    def cancel(self) -> None:
        self._ask_again = None
        for task in (self._upcoming[1] if self._upcoming else None, self._landing):
            if task is not None:
                task.cancel()
        if self._next is not None:
            self._next.cancel()
            self._next = None
        if self.current is not None and self.current.feel is not None:
            self.current.feel.cancel()


def _result(task: asyncio.Task | None):
    """A finished task's result; None while it runs, or when it was cancelled or failed."""
    if task is None or not task.done() or task.cancelled() or task.exception() is not None:
        return None
    return task.result()


def _fingerprint(loop: Loop) -> int:
    return hash((loop.bars, tuple((n.pitch, n.start_tick, n.end_tick) for n in loop.notes)))


# Command type -> handler; True: the next loop is asked anew, so the change is heard at the
# next loop boundary.
_APPLY: dict[type, Callable[[Track, Any], bool]] = {
    cmd.SetMode: Track._set_mode,
    cmd.SetTemperature: lambda track, c: track._set("temperature", c.temperature),
    cmd.SetWalkStep: lambda track, c: track._set("walk_step", c.step),
    cmd.SetLoopBars: lambda track, c: track._set("bars", c.bars),
    cmd.SetEvery: lambda track, c: track._set("every", c.loops, ask=False),
    cmd.SetHumanize: Track._set_humanize,
    cmd.Interpolate: Track._interpolate,
    cmd.Mute: lambda track, c: track._set("muted", c.on, ask=False),
    cmd.Solo: lambda track, c: track._set("soloed", c.on, ask=False),
    cmd.SaveAnchor: lambda track, c: track.save_anchor(c.slot) or False,
    cmd.SetBlend: lambda track, c: track._set_blend(moved_to(track.settings.blend, (c.x, c.y),
                                                            c.loops)),
    cmd.SetBlendPath: lambda track, c: track._set(
        "blend", dataclasses.replace(track.settings.blend, path=c.path, target=None,
                                     loops_left=0), ask=False),
    cmd.SetBlendSpeed: lambda track, c: track._set(
        "blend", dataclasses.replace(track.settings.blend, speed=c.speed), ask=False),
    cmd.SetGridCell: Track._grid_cell,
    cmd.ClearAnchors: lambda track, c: track._clear_anchors(c.slots),
    cmd.SetKey: lambda track, c: track._set("key", None if c.tonic is None
                                            else Key(c.tonic, c.minor)),
    cmd.SetDensity: lambda track, c: track._set("density", None if c.low is None
                                                else (c.low, c.high)),
    cmd.NextCorners: Track._next_corners,
    cmd.SetGroove: lambda track, c: track._set(
        "groove_amounts", dataclasses.replace(track.settings.groove_amounts,
                                              **{c.field: c.value}), ask=False),
}
