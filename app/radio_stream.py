"""The station on an Icecast server: rendered offline song by song (the same songs as live
for the same seed), each song rendered and encoded (Ogg Vorbis, Ogg Opus or MP3:
app/audio/stream_encode.py) while the one before plays, cut at its section changes so that
now playing says song and section, the bytes sent at the pace of the music.

A radio runs for days, so a lost server never ends the stream: the station's clock goes on
(what falls in the outage is dropped, as on any live radio), the server is tried again with
waits doubling up to a cap (30 s by default) for as long as it takes, and the log says once
that it was lost and once that it is back (how long it was away, how much music was
dropped). On a new connection an Ogg stream's part sends its headers anew, then goes on from
its next page; MP3 needs no headers, its title is told to the server again."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

from latentjam.app.audio.render import RenderOptions, render_midi
from latentjam.app.audio.stream_encode import Part, check_encoder, encode_parts, stream_rate
from latentjam.app.icecast import IcecastSource, IcecastTarget, update_title
from latentjam.app.radio_render import RenderedSong, rendered_songs
from latentjam.app.station_file import Station
from latentjam.controllers.arranger import Arranger
from latentjam.engine.errors import SettingError

log = logging.getLogger("latentjam.radio")

CHUNK_S = 0.25  # of music a send carries
LEAD_S = 2.0  # how far ahead of the listeners' clock the server is fed
FIRST_RETRY_S = 1.0  # the first wait after a loss; each next one doubles, to the cap
FORMAT_NAMES = {"vorbis": "Ogg Vorbis", "opus": "Ogg Opus", "mp3": "MP3"}


@dataclass(frozen=True)
class StreamSettings:
    """How the stream is encoded and how it rides out a lost server."""

    format: str = "vorbis"
    retry_max_s: float = 30.0  # the longest wait between two tries
    give_up_s: float = math.inf  # end the stream after this long away (never by default)

    def __post_init__(self) -> None:
        check_encoder(self.format)
        if not 0.1 <= self.retry_max_s <= 3600:
            raise SettingError(f"--stream-retry-max must be 0.1..3600 s, got "
                               f"{self.retry_max_s:g}")
        if not self.give_up_s > 0:
            raise SettingError(f"--stream-give-up must be more than 0, got {self.give_up_s:g}")


async def stream(station: Station, arranger: Arranger, target: IcecastTarget,
                 options: RenderOptions, scratch: Path, seconds: float = math.inf,
                 settings: StreamSettings = StreamSettings()) -> None:
    """Send ``seconds`` of the station (endless by default) to ``target``."""
    _, _, content_type = check_encoder(settings.format)
    options = dataclasses.replace(options,
                                  sample_rate=stream_rate(settings.format, options.sample_rate))
    source = IcecastSource(target, content_type, name="latentjam radio")
    await source.open()  # a refusal at the start (password, mount) is the user's to fix
    log.info("streaming to %s (%s)", target, FORMAT_NAMES[settings.format])
    link = Link(source, settings)
    songs = rendered_songs(station, arranger, scratch, seconds)
    upcoming = asyncio.ensure_future(_next_audio(songs, options, settings.format))
    began, position_s = time.monotonic(), 0.0  # the station's clock; music sent or dropped
    try:
        while True:
            try:
                song, parts = await upcoming
            except StopAsyncIteration:
                break
            upcoming = asyncio.ensure_future(_next_audio(songs, options, settings.format))
            log.info("on air: song %d (%d bars, %.1f BPM, %.0f s)", song.number, song.bars,
                     song.bpm, song.seconds)
            for part in parts:
                await link.begin(part)
                for offset, chunk, chunk_s in chunks(part):
                    while position_s - (time.monotonic() - began) > LEAD_S:
                        await asyncio.sleep(0.05)
                    await link.send(part, offset, chunk, chunk_s)
                    position_s += chunk_s
    finally:
        upcoming.cancel()
        await source.close()


class Link:
    """The connection to the server through losses: each chunk sent, or dropped while the
    server is away; tries again on a doubling wait; one log line at the loss, one at the
    return."""

    def __init__(self, source: IcecastSource, settings: StreamSettings) -> None:
        self.source, self.settings = source, settings
        self.lost_at: float | None = None  # when the server went away
        self.next_try, self.wait = 0.0, FIRST_RETRY_S
        self.dropped_s, self.dropped_titles = 0.0, []

    async def begin(self, part: Part) -> None:
        """``part`` starts: MP3's title is told to the server (Ogg's is in the part)."""
        if not part.ogg and self.lost_at is None:
            await update_title(self.source.target, part.title)

    async def send(self, part: Part, offset: int, chunk: bytes, chunk_s: float) -> None:
        if self.lost_at is not None and not await self._again(part, offset):
            self._drop(part, chunk_s)
            return
        try:
            await self.source.send(chunk)
        except (ConnectionError, OSError) as err:
            self.lost_at, self.wait = time.monotonic(), FIRST_RETRY_S
            self.next_try = self.lost_at + self.wait
            log.warning("radio: lost %s (%s); trying again (waits up to %g s) while the "
                        "station plays on", self.source.target, err or "connection broken",
                        self.settings.retry_max_s)
            await self.source.close()
            self._drop(part, chunk_s)

    def _drop(self, part: Part, chunk_s: float) -> None:
        self.dropped_s += chunk_s
        if not self.dropped_titles or self.dropped_titles[-1] != part.title:
            self.dropped_titles.append(part.title)

    async def _again(self, part: Part, offset: int) -> bool:
        """A new connection when the wait is over: True once the server is back."""
        now = time.monotonic()
        if now - self.lost_at > self.settings.give_up_s:
            raise SettingError(f"{self.source.target}: the server stayed away "
                               f"{now - self.lost_at:.0f} s (--stream-give-up); the stream "
                               f"ends")
        if now < self.next_try:
            return False
        try:
            await self.source.open()
            if part.ogg and offset > 0:  # a listener needs the part's headers first
                await self.source.send(part.data[:ogg_headers_end(part.data)])
            elif not part.ogg:
                await update_title(self.source.target, part.title)
        except (ConnectionError, OSError, SettingError):
            await self.source.close()
            self.wait = min(self.wait * 2, self.settings.retry_max_s)
            self.next_try = time.monotonic() + self.wait
            return False
        titles = self.dropped_titles
        span = titles[0] if len(titles) == 1 else f"{titles[0]} to {titles[-1]}"
        log.warning("radio: back on %s after %.0f s away; %.1f s of music dropped (%s)",
                    self.source.target, time.monotonic() - self.lost_at, self.dropped_s,
                    span or "nothing")
        self.lost_at, self.dropped_s, self.dropped_titles = None, 0.0, []
        return True


OGG_PAGE = b"OggS"


def chunks(part: Part) -> Iterator[tuple[int, bytes, float]]:
    """``part`` in sends of about CHUNK_S of music: (byte offset, bytes, seconds). An Ogg
    part's sends end on page boundaries, so that after a new connection the next send
    follows the headers as whole pages."""
    data, total = part.data, len(part.data)
    step = max(int(total * CHUNK_S / max(part.seconds, CHUNK_S)), 1)
    position = 0
    while position < total:
        end = min(position + step, total)
        if part.ogg and end < total:
            following = data.find(OGG_PAGE, end)
            end = total if following < 0 else following
        yield position, data[position:end], part.seconds * (end - position) / total
        position = end


def ogg_headers_end(data: bytes) -> int:
    """Where an Ogg stream's header pages end (those of granule position 0): what a
    listener needs before any audio page."""
    position = 0
    while data.startswith(OGG_PAGE, position) and position + 27 <= len(data):
        granule = int.from_bytes(data[position + 6:position + 14], "little", signed=True)
        if granule > 0:
            return position
        segments = data[position + 26]
        table = data[position + 27:position + 27 + segments]
        position += 27 + segments + sum(table)
    return position


async def _next_audio(songs: AsyncIterator[RenderedSong], options: RenderOptions,
                      name: str) -> tuple[RenderedSong, list[Part]]:
    song = await songs.__anext__()
    parts = await asyncio.get_running_loop().run_in_executor(None, _encode_song, song,
                                                             options, name)
    return song, parts


def _encode_song(song: RenderedSong, options: RenderOptions, name: str) -> list[Part]:
    """The song rendered, cut at its sections and encoded (on a worker thread)."""
    import soundfile

    audio = song.path.with_suffix(".wav")
    render_midi(song.path, audio, options)
    samples, rate = soundfile.read(audio, dtype="float32", always_2d=True)
    for done in (audio, song.path):  # a stream that runs for days keeps nothing behind
        done.unlink(missing_ok=True)
    sections = [(at, f"song {song.number} - {section}")
                for at, section in song.sections] or [(0.0, f"song {song.number}")]
    sections[0] = (0.0, sections[0][1])
    return encode_parts(samples, rate, name, sections)
