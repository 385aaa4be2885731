"""The station on an Icecast server: rendered offline song by song (the same songs as live
for the same seed), each song rendered to Ogg Vorbis while the one before plays, the bytes
sent at the pace of the music, a lost server connected again (the song's headers sent anew,
then on from the next page)."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator
from pathlib import Path

from latentjam.app.audio.render import RenderOptions, render_midi
from latentjam.app.icecast import IcecastSource, IcecastTarget
from latentjam.app.radio_render import RenderedSong, rendered_songs
from latentjam.app.station_file import Station
from latentjam.controllers.arranger import Arranger
from latentjam.engine.errors import SettingError

log = logging.getLogger("latentjam.radio")

CHUNK_S = 0.25  # of music a send carries
LEAD_S = 2.0  # how far ahead of the listeners' clock the server is fed
RETRY_S = (1, 2, 4, 8, 15, 30)  # waits before connecting again after a loss


async def stream(station: Station, arranger: Arranger, target: IcecastTarget,
                 options: RenderOptions, scratch: Path, seconds: float = math.inf) -> None:
    """Send ``seconds`` of the station (endless by default) to ``target``."""
    source = IcecastSource(target, "application/ogg", name="latentjam radio")
    await source.open()
    log.info("streaming to %s (Ogg Vorbis)", target)
    songs = rendered_songs(station, arranger, scratch, seconds)
    upcoming = asyncio.ensure_future(_next_audio(songs, options))
    began, sent_s = time.monotonic(), 0.0
    try:
        while True:
            try:
                song, data = await upcoming
            except StopAsyncIteration:
                break
            upcoming = asyncio.ensure_future(_next_audio(songs, options))
            log.info("on air: song %d (%d bars, %.1f BPM, %.0f s)", song.number, song.bars,
                     song.bpm, song.seconds)
            step = max(int(len(data) * CHUNK_S / max(song.seconds, CHUNK_S)), 1)
            headers, position = ogg_headers_end(data), 0
            while position < len(data):
                while sent_s - (time.monotonic() - began) > LEAD_S:
                    await asyncio.sleep(0.05)
                chunk = data[position:position + step]
                if await _send(source, chunk):
                    position += len(chunk)
                    sent_s += song.seconds * len(chunk) / len(data)
                    continue
                # a new connection: the stream's headers first, then on from the next page
                began, sent_s = time.monotonic(), 0.0
                following = data.find(OGG_PAGE, position + 1)
                if following < 0 or not await _send(source, data[:headers]):
                    break
                position = following
    finally:
        upcoming.cancel()
        await source.close()


OGG_PAGE = b"OggS"


def ogg_headers_end(data: bytes) -> int:
    """Where an Ogg Vorbis stream's header pages end (those of granule position 0): what a
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


async def _next_audio(songs: AsyncIterator[RenderedSong], options: RenderOptions
                      ) -> tuple[RenderedSong, bytes]:
    song = await songs.__anext__()
    audio = song.path.with_suffix(".ogg")
    title = f"song {song.number} ({song.bars} bars, {song.bpm:g} BPM)"
    await asyncio.get_running_loop().run_in_executor(None, render_midi, song.path, audio,
                                                     options, title)
    data = audio.read_bytes()
    for done in (audio, song.path):  # a stream that runs for days keeps nothing behind
        done.unlink(missing_ok=True)
    return song, data


async def _send(source: IcecastSource, data: bytes) -> bool:
    """``data`` sent; False when the connection broke and was made again (``data`` lost)."""
    for wait in (0, *RETRY_S):
        if wait:
            await asyncio.sleep(wait)
        try:
            if not source.connected:
                await source.open()
                log.warning("radio: connected to %s again", source.target)
                return False
            await source.send(data)
            return True
        except (ConnectionError, OSError, SettingError) as err:
            log.warning("radio: the stream to %s broke (%s); connecting again",
                        source.target, err)
            await source.close()
    raise SettingError(f"{source.target}: the server stayed away; the stream ends")
