"""``latentjam radio``: an endless station, live to MIDI ports or rendered offline.

Live, the station's set plays through the engine as ``play`` does (clock, ports, OSC) with
the arranger steering it bar by bar (``radio_live``: systemd, SIGHUP, health and metrics).
``--render DURATION --out DIR`` plays the same station without a clock, as fast as the
models answer, into a MIDI file per song and the cue sheet. The same seed and station file
give the same songs; each track without a seed of its own takes one drawn from the
station's. A track with ``song_anchors`` starts on its first song's four files as anchors
0-3, the later songs' corners handed over by the arranger.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import re
import sys
import time
from pathlib import Path

import numpy as np
from latentjam.app.cli_play import _with_flags, add_set_flags, built_in_synth, run_set
from latentjam.app.cli_render import add_audio_arg, render_beside, sound_options
from latentjam.app.radio_files import CUE_SHEET
from latentjam.app.radio_render import rendered_songs
from latentjam.app.station_file import EXAMPLE_STATION, Station, load_station
from latentjam.controllers.arranger import Arranger
from latentjam.engine.errors import SettingError

MAX_RENDER_S = 7 * 24 * 3600.0  # a week of music


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "radio", help="an endless station: songs of sections, live or rendered to files",
        description="Play a radio station: the arranger makes songs of sections (intro, "
                    "builds, peaks, breaks, outro), each section's energy setting which "
                    "tracks play and how wild they are, the tempo drifting between songs. "
                    f"Without --config: {EXAMPLE_STATION} (every key documented). Live it "
                    "plays to MIDI ports like `play` (Ctrl-C stops, nothing hangs); with "
                    "--render it writes DIR/song-NNN.mid per song and DIR/" + CUE_SHEET +
                    " (a JSON line per section: bar, song, section, energy, bpm, tracks; and "
                    "transition in the sections a song's transition plays in).")
    p.add_argument("--config", type=Path, help="a station's TOML file")
    p.add_argument("--render", metavar="DURATION",
                   help="render this much music offline instead (e.g. 20m, 90s, 1h30m)")
    p.add_argument("--out", type=Path, help="--render: the folder for the files (new or empty)")
    p.add_argument("--stream", metavar="URL", nargs="?", const="",
                   help="send the station as audio to an Icecast server instead of MIDI "
                        "ports: icecast://source:PASSWORD@HOST:PORT/MOUNT, or without a URL "
                        "the station file's [stream] (rendered through FluidSynth as it goes, "
                        "see `latentjam render --help`)")
    p.add_argument("--for", dest="for_", metavar="DURATION",
                   help="--stream: stop after this much music (default: never)")
    p.add_argument("--stream-format", choices=("vorbis", "opus", "mp3"),
                   help="--stream: Ogg Vorbis (the default, or [stream] format), Ogg Opus or "
                        "MP3")
    p.add_argument("--stream-retry-max", type=float, metavar="SECONDS",
                   help="--stream: the longest wait between tries to reach a lost server "
                        "(default 30)")
    p.add_argument("--stream-give-up", metavar="DURATION",
                   help="--stream: end when the server stays away this long (default: "
                        "never, the station tries for as long as it takes)")
    p.add_argument("--status-port", type=int, default=9090,
                   help="HTTP port of /health and /metrics (Prometheus) while live (default "
                        "9090; 0: any free port)")
    p.add_argument("--status-host", default="127.0.0.1",
                   help="address of the status server (default 127.0.0.1: this machine only)")
    p.add_argument("--no-status", action="store_true", help="no status server")
    p.add_argument("--record", type=Path, metavar="DIR",
                   help="live: record the stream to MIDI files in DIR (radio-DATE-TIME.mid, "
                        "each whole after every bar, a crash costs at most the bar being "
                        "written)")
    p.add_argument("--rotate", default="60m", metavar="DURATION",
                   help="--record: a new file after this long (default 60m)")
    add_audio_arg(p)
    add_set_flags(p)
    p.set_defaults(func=run_radio)


def parse_duration(text: str, flag: str = "--render") -> float:
    """Seconds in ``1h30m``, ``20m``, ``90s`` or a plain number of seconds."""
    match = re.fullmatch(r"\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*"
                         r"(?:(\d+(?:\.\d+)?)s?)?\s*", text)
    if not text.strip() or match is None or not any(match.groups()):
        raise SettingError(f"{flag}: {text!r} is not a duration (e.g. 20m, 90s, 1h30m)")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if not 0 < total <= MAX_RENDER_S:
        raise SettingError(f"{flag} must be more than 0 and at most a week, got {text!r}")
    return total


def seeded(station: Station, seed: int | None) -> tuple[Station, int]:
    """The station with its seed (given, the file's, or drawn) and a seed on every track."""
    if seed is None:
        seed = station.seed if station.seed is not None else int(np.random.SeedSequence()
                                                                  .generate_state(1)[0])
    children = np.random.SeedSequence(seed).generate_state(len(station.live.engine.tracks))
    tracks = tuple(t if t.seed is not None else dataclasses.replace(t, seed=int(s))
                   for t, s in zip(station.live.engine.tracks, children, strict=True))
    engine = dataclasses.replace(station.live.engine, tracks=tracks, autostart=False)
    return dataclasses.replace(station, live=dataclasses.replace(station.live, engine=engine),
                               seed=seed), seed


def arranged(station: Station, seed: int) -> tuple[Station, Arranger]:
    """The station's arranger, and the station with the first song's corner files as the
    anchors 0-3 of each track that draws them from a folder."""
    arranger = Arranger(station.plan, station.energy, station.blend_tracks, seed,
                        station.pitched_tracks, station.song_anchors)
    tracks = tuple(t if t.name not in arranger.corner_files else dataclasses.replace(
        t, anchors={**t.anchors, **dict(enumerate(arranger.corners[t.name].files))})
        for t in station.live.engine.tracks)
    engine = dataclasses.replace(station.live.engine, tracks=tracks)
    return dataclasses.replace(station, live=dataclasses.replace(station.live,
                                                                 engine=engine)), arranger


def run_radio(args: argparse.Namespace) -> int:
    if args.bars is not None and args.bars < 1:
        raise SettingError(f"--bars must be at least 1, got {args.bars}")
    station = load_station(args.config or EXAMPLE_STATION)
    if args.config is None:  # learned mappings never go into the installed example
        station = dataclasses.replace(station, live=dataclasses.replace(station.live, path=None))
    seed = args.seed
    live = _with_flags(station.live, argparse.Namespace(**{**vars(args), "seed": None,
                                                           "model": None}))
    station, seed = seeded(dataclasses.replace(station, live=live), seed)
    print(f"station seed {seed} (`--seed {seed}` plays these songs again)", file=sys.stderr)
    station, arranger = arranged(station, seed)
    if args.render is not None:
        if args.out is None:
            raise SettingError("--render needs --out DIR, the folder for the files")
        if args.record is not None:
            raise SettingError("--record is for the live radio; a render writes its files")
        audio = sound_options(args) if args.audio else None
        asyncio.run(render(station, arranger, parse_duration(args.render), args.out))
        if audio is not None:
            render_beside(sorted(args.out.glob("song-*.mid")), args.audio, audio)
        return 0
    if args.stream is not None:
        return _stream(args, station, arranger)
    if args.out is not None or args.audio:
        raise SettingError("--out and --audio are for --render")

    from latentjam.app.radio_live import LiveStation

    status = None if args.no_status else (args.status_host, args.status_port)
    live_station = LiveStation(station, arranger, args.config or EXAMPLE_STATION, status)
    recorder = None
    if args.record is not None:
        from latentjam.app.stream_recorder import StreamRecorder

        recorder = StreamRecorder(args.record, parse_duration(args.rotate, "--rotate"))
    try:
        with built_in_synth(args) as synth:
            asyncio.run(run_set(station.live, args.bars, beside=live_station,
                                on_bar=recorder.bar if recorder else None, synth=synth,
                                synth_only=args.synth_only,
                                osc_extra=live_station.osc_feedback))
    finally:
        if recorder is not None:
            recorder.close()
    return 0


def _stream(args: argparse.Namespace, station: Station, arranger: Arranger) -> int:
    import tempfile

    from latentjam.app.icecast import parse_target, stream_target
    from latentjam.app.radio_stream import StreamSettings, stream
    from latentjam.app.station_file import StreamConfig

    target = parse_target(args.stream) if args.stream else stream_target(station)
    seconds = parse_duration(args.for_, "--for") if args.for_ else float("inf")
    config = station.stream or StreamConfig()  # the flags over the station file's [stream]
    give_up = (parse_duration(args.stream_give_up, "--stream-give-up")
               if args.stream_give_up else config.give_up_s)
    settings = StreamSettings(
        args.stream_format or config.format,
        args.stream_retry_max if args.stream_retry_max is not None else config.retry_max_s,
        float("inf") if give_up is None else give_up)
    options = sound_options(args)
    with tempfile.TemporaryDirectory(prefix="latentjam-stream-") as scratch:
        try:
            asyncio.run(stream(station, arranger, target, options, Path(scratch), seconds,
                               settings))
        except KeyboardInterrupt:
            pass
    return 0


async def render(station: Station, arranger: Arranger, seconds: float, out: Path) -> None:
    """``seconds`` of the station into ``out``: a MIDI file per song, the cue sheet."""
    if out.exists() and any(out.iterdir()):
        raise SettingError(f"--out {out}: not empty; give a new or empty folder (nothing was "
                           f"written)")
    began = time.perf_counter()
    async for done in rendered_songs(station, arranger, out, seconds):
        elapsed = time.perf_counter() - began
        print(f"song {done.number}: {done.bars} bars, {done.bpm:g} BPM, {done.notes} notes -> "
              f"{done.path} ({_clock(done.until_s)} of {_clock(seconds)}, "
              f"{done.until_s / max(elapsed, 1e-9):.0f}x real time)", file=sys.stderr,
              flush=True)


def _clock(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{rest:02d}" if hours else f"{minutes}:{rest:02d}"
