"""The station played offline, song after song, into MIDI files and the cue sheet: what
``radio --render`` writes and what ``radio --stream`` turns into audio."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from latentjam.app.radio_files import append_cue, song_path, write_song
from latentjam.app.station_file import Station
from latentjam.controllers.arranger import Arranger
from latentjam.engine.transport import BEATS_PER_BAR, bars_to_ticks


@dataclass(frozen=True)
class RenderedSong:
    number: int
    path: Path
    bars: int
    bpm: float
    notes: int
    seconds: float  # of music
    until_s: float  # of music rendered so far, this song included
    sections: tuple[tuple[float, str], ...] = ()  # (seconds into the song, section) each


async def rendered_songs(station: Station, arranger: Arranger, out: Path,
                         seconds: float = math.inf) -> AsyncIterator[RenderedSong]:
    """Each song's MIDI file in ``out`` as it is finished, until ``seconds`` of music (the
    last song cut there); the cue sheet grows in ``out`` beside them."""
    from latentjam.engine.offline import OfflineSet

    out.mkdir(parents=True, exist_ok=True)
    offline = await OfflineSet.open(station.live.engine, station.live.grooves)
    tracks = station.live.engine.tracks
    played_s, song_s, bar, song = 0.0, 0.0, 0, arranger.song
    sections: list[tuple[float, str]] = []
    try:
        while played_s < seconds:
            plan = arranger.at(bar)
            if arranger.song is not song:  # the last one is over: its file
                yield _finish(out, offline, song, bar, tracks, song_s, played_s, sections)
                song, song_s, sections = arranger.song, 0.0, []
            for command in plan.commands:
                offline.apply(command)
            if plan.cue is not None:
                append_cue(out, plan.cue)
                sections.append((song_s, str(plan.cue["section"])))
            await offline.play(1)
            bar_s = BEATS_PER_BAR * 60.0 / plan.bpm
            played_s, song_s, bar = played_s + bar_s, song_s + bar_s, bar + 1
        yield _finish(out, offline, song, bar, tracks, song_s, played_s, sections)
    finally:
        offline.close()


def _finish(out: Path, offline, song, end_bar: int, tracks, song_s: float,
            played_s: float, sections: list[tuple[float, str]]) -> RenderedSong:
    start, end = bars_to_ticks(song.start_bar), bars_to_ticks(end_bar)
    path = song_path(out, song.number)
    notes = write_song(path, offline.notes, offline.tempos, start, end, tracks)
    offline.notes = [n for n in offline.notes if n.start_tick >= end]
    return RenderedSong(song.number, path, end_bar - song.start_bar, song.bpm, notes, song_s,
                        played_s, tuple(sections))
