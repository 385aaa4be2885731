"""One track of a live set: the loop it plays, the notes of each bar, and the next loop it
asks its model for.

The performer calls ``bar_events`` once per bar, in order, a little ahead of time. A loop
repeats until a loop boundary where the mode wants a new one (every ``every`` plays in
sample and walk modes, each loop along an interpolation, never in hold). The next loop is
asked for as soon as the current one starts, so the model has a whole loop's time to answer;
if the answer is not back at the boundary, the current loop plays again and a warning is
logged: never silence, never a wait. The latent moves (fresh draw, walk, slerp) are made
here, seeded, so a performance can be reproduced; the worker only decodes.

Settings a controller changes are read when they matter: mute, solo and humanize when the
next bar is prepared; mode, temperature, walk step, loop length and interpolation by the next
request (the answer in flight is dropped and the new request follows it), so they are heard
at the next loop boundary when the model answers in time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import numpy as np
from latentjam.engine.clip_files import read_clip_classes
from latentjam.engine.commands import (
    Interpolate,
    SetEvery,
    SetHumanize,
    SetLoopBars,
    SetMode,
    SetTemperature,
    SetWalkStep,
)
from latentjam.engine.engine_state import TrackState
from latentjam.engine.errors import EngineError, ModelWorkerError, SettingError
from latentjam.engine.events import TimedMessage
from latentjam.engine.humanize import HumanizeParams, humanize
from latentjam.engine.loops import (
    Loop,
    LoopNote,
    Route,
    bar_notes,
    chain,
    first_bars,
    loop_from_classes,
    note_messages,
)
from latentjam.engine.model_requests import (
    DecodeRequest,
    EncodeRequest,
    ModelInfo,
    ModelRequest,
    ModelResult,
)
from latentjam.engine.transport import BEATS_PER_BAR
from latentjam.models.encodings.converters import get_converter
from latentjam.models.inference.latent import slerp_at, walk
from latentjam.models.notesequence import NoteSequence

log = logging.getLogger(__name__)

Ask = Callable[[ModelRequest], Awaitable[ModelResult]]


@dataclass(frozen=True)
class PlayingLoop:
    loop: Loop
    z: np.ndarray  # [windows, z_size]: the latent vector of each window it was decoded from


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


class Track:
    """A track bound to one model (through ``ask``) and routed by part to ports/channels."""

    def __init__(self, name: str, settings: TrackSettings, info: ModelInfo, ask: Ask,
                 routes: Mapping[str, Route], seed: int | None = None) -> None:
        self.name = name
        self.settings = settings
        self.info = info
        self.routes = dict(routes)
        self._ask = ask
        self._converter = get_converter(info.config)
        steps_per_bar = info.config.converter.steps_per_quarter * BEATS_PER_BAR
        self.window_bars = max(info.window_steps // steps_per_bar, 1)
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

    # -- asking the model -------------------------------------------------------------------

    def _windows(self) -> int:
        return max(self.settings.bars // self.window_bars, 1)

    def _plan(self, mode: str) -> np.ndarray | None:
        """The latent vectors of the next loop in ``mode``, or None when it wants none."""
        s, rng, n, size = self.settings, self._rng, self._windows(), self.info.z_size
        if mode == "sample" or (mode == "walk" and self.current is None):
            first = rng.standard_normal((1, size)).astype(np.float32)
            rest = walk(first[0], s.walk_step, n - 1, rng) if n > 1 else first[:0]
            return np.concatenate([first, rest])
        if mode == "walk":
            return walk(self.current.z[-1], s.walk_step, n, rng)
        if mode == "interpolate" and self._path is not None \
                and self._path_done < s.interpolate_steps:
            start, end = self._path
            fraction = self._path_done / (s.interpolate_steps - 1)
            return np.stack([slerp_at(start[i % len(start)], end[i % len(end)], [fraction])[0]
                             for i in range(n)]).astype(np.float32)
        return None

    async def _decode(self, z: np.ndarray, temperature: float, seed: int) -> PlayingLoop:
        result = await self._ask(DecodeRequest(z, temperature=temperature, seed=seed))
        windows = [loop_from_classes(classes, self._converter) for classes in result.classes]
        loop = chain(windows) if len(windows) > 1 else windows[0]
        if self.settings.bars < loop.bars:
            loop = first_bars(loop, self.settings.bars)
        return PlayingLoop(loop, result.z)

    def request_next(self, mode: str | None = None) -> None:
        """Ask for the loop the settings (or ``mode``) want next. With a request in flight,
        its answer is dropped and this one asked when it comes back: however fast a
        controller turns a knob, the model has one request of a track at a time."""
        if self._next is not None and not self._next.done():
            self._ask_again = mode or ""
            return
        self._send_request(mode)

    def _send_request(self, mode: str | None) -> None:
        self._next = None
        z = self._plan(mode or self.settings.mode)
        if z is None:
            return
        seed = int(self._rng.integers(2 ** 31))
        task = asyncio.get_running_loop().create_task(
            self._decode(z, self.settings.temperature, seed), name=f"track {self.name}: next")
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
            self.request_next(self.settings.mode if self.settings.mode in ("sample", "walk")
                              else "sample")
            self.current = await self._next
            self.loops_played += 1
            self.request_next()

    async def encode_midi(self, slot: int, path: str,
                          within: tuple[str, ...] | None = None) -> None:
        """Encode the first window of a MIDI file into anchor ``slot``; the file is read in a
        process of its own (``clip_files``), only inside ``within`` when given."""
        classes, seconds = await read_clip_classes(path, self.info.config, within)
        result = await self._ask(EncodeRequest(classes))
        self.anchors[slot] = result.z
        log.info("track %s: anchor %d is %s (read in %.2f s)", self.name, slot, path, seconds)

    async def encode_sequence(self, slot: int, sequence: NoteSequence, what: str) -> None:
        """Encode the first window of ``sequence`` into anchor ``slot``; ``what`` names it
        in errors."""
        from latentjam.models.errors import ModelError

        try:
            examples = self._converter.to_examples(sequence, training=False).examples
        except ModelError as err:
            raise SettingError(f"{what}: {err}") from None
        if not examples:
            raise SettingError(f"{what}: no {self.info.config.name} window in it (too short, "
                               f"or nothing the model can play)")
        result = await self._ask(EncodeRequest(np.asarray(examples[0])))
        self.anchors[slot] = result.z

    # -- bars -------------------------------------------------------------------------------

    def restart(self, bar: int) -> None:
        """The transport starts (or resumes) at ``bar``: the current loop starts over there."""
        self._loop_start_bar = bar
        self._plays = 0
        self._previous_bar = ()

    def bar_events(self, bar: int, bar_tick: int, audible: bool) -> list[tuple[TimedMessage, int]]:
        """The messages (with humanized offsets) of performance ``bar``, which starts at
        ``bar_tick``. Called once per bar, in increasing order."""
        if self.current is None:
            return []
        if bar >= self._loop_start_bar + self.current.loop.bars:
            self._loop_boundary(bar)
        notes = bar_notes(self.current.loop, bar - self._loop_start_bar, bar_tick)
        if not audible:
            self._previous_bar = ()
            return []
        human = humanize(notes, self._human_rng, self.settings.humanize,
                         self.current.loop.beats_per_bar, after=self._previous_bar)
        self._previous_bar = human
        return note_messages(human, self.routes)

    def _loop_boundary(self, bar: int) -> None:
        self._plays += 1
        s = self.settings
        wants_new = (s.mode in ("sample", "walk") and self._plays >= s.every) or \
            (s.mode == "interpolate" and self._path is not None)
        if wants_new:
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
        self.current = PlayingLoop(loop, self.current.z)

    # -- controller commands ----------------------------------------------------------------

    def apply(self, command: object) -> None:
        s = self.settings
        if isinstance(command, SetMode):
            if command.mode == "interpolate" and self._path is None:
                raise SettingError(f"track {self.name}: interpolate needs two anchors first "
                                   f"(use Interpolate with anchor slots)")
            s.mode = command.mode
        elif isinstance(command, SetTemperature):
            s.temperature = command.temperature
        elif isinstance(command, SetWalkStep):
            s.walk_step = command.step
        elif isinstance(command, SetLoopBars):
            s.bars = command.bars
        elif isinstance(command, SetEvery):
            s.every = command.loops
            return
        elif isinstance(command, SetHumanize):
            s.humanize = HumanizeParams(**{**_fields(s.humanize), command.field: command.value})
            return
        elif isinstance(command, Interpolate):
            missing = [slot for slot in (command.start, command.end) if slot not in self.anchors]
            if missing:
                raise SettingError(f"track {self.name}: anchor slot(s) "
                                   f"{', '.join(map(str, missing))} hold nothing yet")
            self._path = (self.anchors[command.start], self.anchors[command.end])
            self._path_done = 0
            s.mode, s.interpolate_steps = "interpolate", command.steps
        else:
            raise SettingError(f"track {self.name}: cannot apply {command!r}")
        self.request_next()

    def save_anchor(self, slot: int) -> None:
        if self.current is None:
            raise SettingError(f"track {self.name}: no loop is playing yet")
        self.anchors[slot] = self.current.z.copy()

    def state(self, port: str, channel: int) -> TrackState:
        s = self.settings
        return TrackState(self.name, s.mode, s.temperature, s.walk_step, s.bars, s.every,
                          s.muted, s.soloed, s.humanize, port, channel, self.loops_played,
                          self.late_answers, tuple(sorted(self.anchors)))

    def cancel(self) -> None:
        self._ask_again = None
        if self._next is not None:
            self._next.cancel()
            self._next = None


def _fields(params: HumanizeParams) -> dict:
    return {name: getattr(params, name) for name in params.__dataclass_fields__}
