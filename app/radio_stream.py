"""The station on an Icecast server: rendered offline song by song (the same songs as live
for the same seed), each song rendered to Ogg Vorbis while the one before plays, the bytes
sent at the pace of the music, a lost server connected again."""

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
            for position in range(0, len(data), step):
                while sent_s - (time.monotonic() - began) > LEAD_S:
                    await asyncio.sleep(0.05)
                await _send(source, data[position:position + step])
                sent_s += song.seconds * min(step, len(data) - position) / len(data)
    finally:
        upcoming.cancel()
        await source.close()


async def _next_audio(songs: AsyncIterator[RenderedSong], options: RenderOptions
                      ) -> tuple[RenderedSong, bytes]:
    song = await songs.__anext__()
    audio = song.path.with_suffix(".ogg")
    await asyncio.get_running_loop().run_in_executor(None, render_midi, song.path, audio,
                                                     options)
    data = audio.read_bytes()
    for done in (audio, song.path):  # a stream that runs for days keeps nothing behind
        done.unlink(missing_ok=True)
    return song, data


async def _send(source: IcecastSource, data: bytes) -> None:
    for wait in (0, *RETRY_S):
        if wait:
            await asyncio.sleep(wait)
        try:
            if not source.connected:
                await source.open()
                log.warning("radio: connected to %s again", source.target)
            await source.send(data)
            return
        except (ConnectionError, OSError, SettingError) as err:
            log.warning("radio: the stream to %s broke (%s); connecting again",
                        source.target, err)
            await source.close()
    raise SettingError(f"{source.target}: the server stayed away; the stream ends")
