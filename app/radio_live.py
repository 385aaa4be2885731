"""The radio live, unattended: the arranger steering the set, systemd told it is ready and
kept reassured while the real-time path goes on, SIGHUP reloading the station file, and the
station's health and metrics over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from pathlib import Path

from latentjam.app.station_file import Station, load_station
from latentjam.controllers.arranger import Arranger
from latentjam.controllers.station_driver import drive
from latentjam.controllers.status_http import StationMetrics, StatusServer
from latentjam.controllers.systemd_notify import notify, watchdog_period_s
from latentjam.engine.errors import EngineError

log = logging.getLogger("latentjam.radio")


class LiveStation:
    """What runs beside the performer of a live station (``run_set``'s ``beside``)."""

    def __init__(self, station: Station, arranger: Arranger, path: Path,
                 status: tuple[str, int] | None) -> None:
        self.station, self.arranger, self.path, self.status = station, arranger, path, status
        self.now: dict[str, object] = {}  # the cue of the section playing
        self.began = time.monotonic()
        self.metrics = StationMetrics()

    async def __call__(self, performer) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, AttributeError):
            loop.add_signal_handler(signal.SIGHUP,
                                    lambda: loop.create_task(self.reload(), name="reload"))
        tasks = [loop.create_task(drive(performer, self.arranger, self._on_cue),
                                  name="radio: arranger"),
                 loop.create_task(self._tell_systemd(performer), name="radio: systemd")]
        server = None
        if self.status is not None:
            server = StatusServer(self.metrics, performer.keeps_time,
                                  lambda: self._refresh(performer), *self.status)
            try:
                host, port = await server.start()
            except OSError as err:
                raise EngineError(f"the status server cannot listen on {self.status[0]}:"
                                  f"{self.status[1]} ({err.strerror}); give --status-port "
                                  f"or --no-status") from None
            log.info("health and metrics on http://%s:%d/health and /metrics", host, port)
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            notify("STOPPING=1")
            if server is not None:
                await server.close()

    def _on_cue(self, cue) -> None:
        self.now = dict(cue)
        log.info("song %d, %s (energy %.1f), %.1f BPM: %s", cue["song"], cue["section"],
                 cue["energy"], cue["bpm"], ", ".join(cue["tracks"]) or "silence")
        notify(f"STATUS=song {cue['song']}, {cue['section']}, {cue['bpm']:.1f} BPM")

    async def _tell_systemd(self, performer) -> None:
        await performer.started.wait()
        while not performer.keeps_time(within_s=0.1):
            await asyncio.sleep(0.01)
        notify("READY=1")
        period = watchdog_period_s()
        while period is not None:
            await asyncio.sleep(period)
            if performer.keeps_time():
                notify("WATCHDOG=1")
            else:  # no ping: systemd restarts a station that stays stalled
                log.warning("radio: the real-time path stalled; no watchdog ping")

    async def reload(self) -> None:
        """The station file again: the energy maps from the next section, the song plan from
        the next song; a bad file changes nothing and is named in one line."""
        try:
            fresh = await asyncio.get_running_loop().run_in_executor(None, load_station,
                                                                     self.path)
        except EngineError as err:
            log.warning("radio: SIGHUP: %s; the station plays on unchanged", err)
            return
        old = [(t.name, t.model) for t in self.station.live.engine.tracks]
        if [(t.name, t.model) for t in fresh.live.engine.tracks] != old \
                or fresh.song_anchors != self.station.song_anchors:
            log.warning("radio: SIGHUP: the tracks or their song_anchors changed; only "
                        "[station] and the energy maps are taken without a restart")
        self.arranger.retune(fresh.plan, fresh.energy)
        log.info("radio: SIGHUP: %s reloaded", self.path)

    def osc_feedback(self) -> dict[str, tuple]:
        """Now playing, for OSC subscribers: /latentjam/radio/..."""
        now = self.now
        return {"/latentjam/radio/song": (int(now.get("song", 0)),),
                "/latentjam/radio/section": (str(now.get("section", "")),),
                "/latentjam/radio/energy": (float(now.get("energy", 0.0)),),
                "/latentjam/radio/key": (str(now.get("key", "")),),
                "/latentjam/radio/uptime": (int(time.monotonic() - self.began),)}

    def _refresh(self, performer) -> None:
        state = performer.state()
        self.metrics.update({
            "playing": float(state.playing), "bar": state.bar, "bpm": state.bpm,
            "song": float(self.now.get("song", 0)), "energy": float(self.now.get("energy", 0)),
            "uptime_seconds": time.monotonic() - self.began,
            "late_loops": sum(t.late_answers for t in state.tracks),
            "skipped_notes": state.skipped_notes, "skipped_pulses": state.skipped_pulses,
            "jack_xruns": state.jack_xruns})
