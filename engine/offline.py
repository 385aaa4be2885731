"""A set played without a clock or ports: bar after bar as fast as the models answer, every
loop answered in time (never a repeat for lateness). For renders (``latentjam radio
--render``): the same tracks, seeds and commands as a live run, so the same notes when the
live run's answers come in time.

The models are loaded in this process (the model service's ``LoadedModel``); the result is
plain data, notes in ticks and the tempo changes, for the app to write as MIDI files.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from latentjam.engine import commands as cmd
from latentjam.engine.errors import SettingError
from latentjam.engine.groove import GrooveTemplate
from latentjam.engine.set_config import SetConfig
from latentjam.engine.set_tracks import audible, make_track, start_tracks
from latentjam.engine.track import Track
from latentjam.engine.transport import PPQN, bars_to_ticks
from latentjam.models.service import LoadedModel, ModelRequest, ModelResult


@dataclass(frozen=True, slots=True)
class PlayedNote:
    track: str
    channel: int  # 0..15
    pitch: int
    velocity: int
    start_tick: int  # humanized timing included, in ticks of the tempo it was played at
    end_tick: int


@dataclass
class OfflineSet:
    """``await OfflineSet.open(config)``, then ``apply`` commands and ``play`` bars."""

    config: SetConfig
    tracks: list[Track]
    bpm: float
    notes: list[PlayedNote] = field(default_factory=list)
    tempos: list[tuple[int, float]] = field(default_factory=list)  # (tick, bpm), in order
    bars_played: int = 0

    @classmethod
    async def open(cls, config: SetConfig,
                   grooves: Mapping[str, GrooveTemplate] | None = None) -> OfflineSet:
        models: dict[tuple, LoadedModel] = {}
        tracks = []
        for index, track in enumerate(config.tracks):
            key = (track.model, track.config)
            if key not in models:
                models[key] = LoadedModel(track.model, track.config)
            groovae = None
            if track.groovae:
                groove_key = (track.groovae_model, track.groovae_config)
                if groove_key not in models:
                    models[groove_key] = LoadedModel(*groove_key)
                groovae = models[groove_key]
            tracks.append(make_track(track, index, models[key].info, _ask(models[key]),
                                     (grooves or {}).get(track.name),
                                     _ask(groovae) if groovae else None,
                                     groovae.info if groovae else None))
        await start_tracks(tracks, config.tracks)
        bpm = float(config.clock.bpm)
        return cls(config, tracks, bpm, tempos=[(0, bpm)])

    def apply(self, command: cmd.Command) -> None:
        """A command, at the bar about to be played: a tempo, or a track's."""
        if isinstance(command, cmd.SetTempo):
            tick = bars_to_ticks(self.bars_played)
            if self.tempos and self.tempos[-1][0] == tick:
                self.tempos.pop()
            self.tempos.append((tick, command.bpm))
            self.bpm = command.bpm
            return
        track = next((t for t in self.tracks if t.name == getattr(command, "track", None)),
                     None)
        if track is None:
            raise SettingError(f"an offline set carries out tempo and track commands, not "
                               f"{command!r}")
        track.apply(command)

    async def play(self, bars: int) -> None:
        """The next ``bars`` bars."""
        for _ in range(bars):
            bar = self.bars_played
            bar_tick = bars_to_ticks(bar)
            for track, hears in zip(self.tracks, audible(self.tracks), strict=True):
                await track.answer_by(bar)
                self.notes.extend(self._notes(track, track.bar_events(bar, bar_tick, hears)))
            self.bars_played += 1

    def _notes(self, track: Track, events: Iterable) -> list[PlayedNote]:
        ticks_per_ns = self.bpm * PPQN / 60e9
        sounding: dict[tuple, deque] = defaultdict(deque)
        out = []
        for timed, offset_ns in events:
            message = timed.message
            tick = max(timed.tick + round(offset_ns * ticks_per_ns), 0)
            key = (message.channel, message.note)
            if message.type == "note_on" and message.velocity:
                sounding[key].append((tick, message.velocity))
            elif sounding[key]:
                start, velocity = sounding[key].popleft()
                out.append(PlayedNote(track.name, message.channel, message.note, velocity,
                                      start, max(tick, start + 1)))
        return out

    def close(self) -> None:
        for track in self.tracks:
            track.cancel()


def _ask(model: LoadedModel):
    async def ask(request: ModelRequest) -> ModelResult:
        return model.answer(request)
    return ask
