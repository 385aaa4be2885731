"""``latentjam play`` (a live set from a TOML file and flags) and ``latentjam ports``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from latentjam.app.set_file import EXAMPLE_SET, LiveSet, load_live_set
from latentjam.controllers.web.config import check_reach, parse_web_flag
from latentjam.engine.errors import SettingError
from latentjam.engine.humanize import HumanizeParams
from latentjam.engine.set_config import PortConfig, TrackConfig

if TYPE_CHECKING:
    from latentjam.engine.performer import Performer

log = logging.getLogger("latentjam.play")


def _default_set_summary() -> str:
    try:
        tracks = load_live_set(EXAMPLE_SET).engine.tracks
    except SettingError as err:
        return f"(the default set cannot be read: {err})"
    return ", ".join(f"{t.name} ({t.model or 'melody'}, channel {t.channel or 1}, {t.mode}"
                     f"{', humanized' if t.humanize != HumanizeParams() else ''})"
                     for t in tracks)


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    play = subparsers.add_parser(
        "play", help="play a live set to MIDI ports (the default models when no config)",
        description="Play a live set: each track asks its MusicVAE for loops and streams them, "
                    "humanized, to MIDI ports, following or leading the clock, steered over "
                    "OSC. Without --config: the set of "
                    f"{EXAMPLE_SET} (every key documented there): "
                    f"{_default_set_summary()}, to a virtual port called 'latentjam', "
                    "internal clock, OSC on 127.0.0.1:9000, the control page on "
                    "127.0.0.1:9080 (its URL printed at start, docs/web.md). Ctrl-C stops (no "
                    "note is left hanging). --write-example PATH copies that file to edit.")
    play.add_argument("--config", type=Path, help="a live set's TOML file")
    play.add_argument("--write-example", type=Path, metavar="PATH",
                      help="write the example set (the default set, every key documented) to "
                           "PATH to edit, then play it with --config PATH; an existing file is "
                           "left alone")
    play.add_argument("--model",
                      help="a model (a kind, a shipped name or a checkpoint, e.g. "
                           "runs/band/best.safetensors) for the tracks of its kind: a melody "
                           "model replaces the set's melody tracks, the drums play on")
    add_set_flags(play)
    play.add_argument("--audio", dest="synth", nargs="?", const="", metavar="DRIVER",
                      help="the same as --synth")
    play.add_argument("--audio-only", dest="synth_only", action="store_true",
                      help="the same as --synth-only")
    play.add_argument("--soundfont", metavar="FILE.sf2",
                      help="--synth: a General MIDI soundfont (default: $LATENTJAM_SOUNDFONT "
                           "or the system's)")
    play.set_defaults(func=run_play)

    ports = subparsers.add_parser("ports", help="list the MIDI ports",
                                  description="List the MIDI input and output ports.")
    ports.add_argument("--backend", help="MIDI system (see `play --help`)")
    ports.set_defaults(func=run_ports)


def add_set_flags(parser: argparse.ArgumentParser) -> None:
    """The flags that change a set's clock, ports, OSC, seed, sound and length (play and
    radio)."""
    parser.add_argument("--synth", nargs="?", const="", metavar="DRIVER",
                        help="also play through a built-in FluidSynth to the system's audio "
                             "(DRIVER: jack, pulseaudio, pipewire, alsa, coreaudio, ...; "
                             "default the platform's), with --soundfont or the system's GM "
                             "soundfont")
    parser.add_argument("--synth-only", action="store_true",
                        help="--synth instead of the MIDI ports (no synth or DAW needed)")
    parser.add_argument("--bpm", type=float, help="tempo of the internal clock (default 120)")
    parser.add_argument("--clock", choices=("internal", "midi", "link"),
                      help="internal (lead, send MIDI clock), midi (follow a MIDI clock), "
                           "link (Ableton Link)")
    parser.add_argument("--clock-in", metavar="PORT",
                      help="the existing MIDI input port to follow (--clock midi; default: a "
                           "virtual input 'latentjam clock in')")
    parser.add_argument("--port", metavar="NAME",
                      help="the main output port's name (default: a virtual port 'latentjam')")
    parser.add_argument("--existing-port", action="store_true",
                      help="--port names an existing port (a synth, a DAW's input) instead "
                           "of a virtual port to create")
    parser.add_argument("--backend", help="MIDI system: alsa, jack, coremidi, windows (default: "
                                        "$MIDO_BACKEND or the platform's)")
    parser.add_argument("--seed", type=int, help="seed of every track (reproducible loops)")
    parser.add_argument("--osc-port", type=int, help="UDP port of the OSC server (default 9000)")
    parser.add_argument("--no-osc", action="store_true", help="no OSC server")
    parser.add_argument("--web", metavar="HOST:PORT",
                        help="where the control page is served (default 127.0.0.1:9080, or "
                             "any free port if taken; beyond this machine only with [osc] "
                             "allow); its URL with the token is printed at start")
    parser.add_argument("--no-web", action="store_true", help="no control page")
    parser.add_argument("--controller", metavar="PORT",
                        help="a MIDI controller's input port (part of its name; `latentjam "
                             "ports` lists them): its knobs and buttons steer the set as "
                             "mapped in [controller], and /latentjam/learn ADDRESS maps the "
                             "next one moved (saved into --config's file; docs/osc.md)")
    parser.add_argument("--bars", type=int, metavar="N",
                      help="stop after N bars (default: play until stopped)")


def _with_flags(live: LiveSet, args: argparse.Namespace) -> LiveSet:
    config = live.engine
    clock_changes = {key: value for key, value in (
        ("bpm", args.bpm), ("source", args.clock), ("input_port", args.clock_in)
    ) if value is not None}
    changes: dict = {}
    try:
        osc = live.osc
        if args.no_osc or args.osc_port is not None:
            osc = dataclasses.replace(osc, **({"enabled": False} if args.no_osc
                                              else {"port": args.osc_port}))
        web = live.web
        if getattr(args, "web", None) is not None:
            web = parse_web_flag(args.web, web)
        if getattr(args, "no_web", False):
            web = dataclasses.replace(web, enabled=False)
        check_reach(web, osc)
        if clock_changes:
            changes["clock"] = dataclasses.replace(config.clock, **clock_changes)
        if args.port is not None or args.existing_port:
            first = next(iter(config.ports))
            port = config.ports[first]
            changes["ports"] = {**config.ports, first: PortConfig(
                args.port or port.name, virtual=not args.existing_port, clock=port.clock)}
        tracks = config.tracks
        if args.model is not None:
            tracks = _with_model(tracks, args.model)
        if args.seed is not None:
            tracks = tuple(dataclasses.replace(track, seed=args.seed) for track in tracks)
        changes["tracks"] = tracks
        if args.backend is not None:
            changes["backend"] = args.backend
        controller = live.controller
        if getattr(args, "controller", None) is not None:
            controller = dataclasses.replace(controller, input=args.controller)
        return dataclasses.replace(live, engine=dataclasses.replace(config, **changes), osc=osc,
                                   web=web, controller=controller)
    except (SettingError, TypeError, ValueError) as err:
        raise SettingError(f"command line: {err}") from None


def _with_model(tracks: tuple[TrackConfig, ...], model: str) -> tuple[TrackConfig, ...]:
    """The set's tracks with ``model`` on those whose model is of its kind (melody, drums,
    trio); a SettingError when none is."""
    from latentjam.models.trained_model import model_config

    kind = model_config(model).converter.kind
    kinds = {t.name: model_config(t.model, t.config).converter.kind for t in tracks}
    chosen = [t.name for t in tracks if kinds[t.name] == kind]
    if not chosen:
        raise SettingError(f"--model {model}: a {kind} model, and no track of the set plays "
                           f"{kind} (tracks: {', '.join(f'{n} ({k})' for n, k in kinds.items())}"
                           f"); give a set with a {kind} track (--config)")
    log.info("--model %s plays track%s %s (%s)", model, "s" if len(chosen) > 1 else "",
             ", ".join(chosen), kind)
    return tuple(dataclasses.replace(t, model=model, config=None) if t.name in chosen else t
                 for t in tracks)


def write_example(path: Path) -> None:
    """Copy the example set to ``path``; a SettingError when ``path`` exists or cannot be
    written."""
    try:
        text = EXAMPLE_SET.read_bytes()
    except OSError as err:
        raise SettingError(f"the example set {EXAMPLE_SET} cannot be read ({err.strerror}): "
                           "is latentjam installed with its package data?") from None
    try:
        with open(path, "xb") as out:  # "x": never over an existing file
            out.write(text)
    except FileExistsError:
        raise SettingError(f"--write-example: {path} exists; give a new file's path (nothing "
                           "was written)") from None
    except OSError as err:
        raise SettingError(f"--write-example: {path} cannot be written ({err.strerror})") \
            from None


def run_play(args: argparse.Namespace) -> int:
    if args.write_example is not None:
        write_example(args.write_example)
        print(f"wrote the example set to {args.write_example}; edit it, then play it with "
              f"`latentjam play --config {args.write_example}`")
        return 0
    if args.bars is not None and args.bars < 1:
        raise SettingError(f"--bars must be at least 1, got {args.bars}")
    live = _with_flags(load_live_set(args.config or EXAMPLE_SET), args)
    if args.config is None:  # learned mappings never go into the installed example
        live = dataclasses.replace(live, path=None)
    with built_in_synth(args) as synth:
        asyncio.run(run_set(live, args.bars, synth=synth, synth_only=args.synth_only))
    return 0


@contextlib.contextmanager
def built_in_synth(args: argparse.Namespace):
    """The FluidSynth ``--synth`` asks for (None without it), closed at the end."""
    if args.synth is None and not args.synth_only:
        yield None
        return
    from latentjam.app.audio.soundfont import find_soundfont
    from latentjam.engine.synth_sink import SynthSink

    synth = SynthSink(find_soundfont(args.soundfont), driver=args.synth or None)
    log.info("playing through FluidSynth (%s audio) too", args.synth or "the default")
    try:
        yield synth
    finally:
        synth.close()


async def run_set(live: LiveSet, bars: int | None,
                  beside: Callable[[Performer], Awaitable[None]] | None = None,
                  on_bar: Callable | None = None, synth=None, synth_only: bool = False,
                  osc_extra: Callable[[], dict[str, tuple]] | None = None) -> None:
    """Play ``live`` until Ctrl-C or SIGTERM (or ``bars`` bars), with its OSC server and
    ``beside(performer)`` (a controller such as the radio's arranger) running alongside;
    ``on_bar`` hears each bar's notes (``Performer``); ``synth`` (a ``SynthSink``) plays
    them too, or alone with ``synth_only``; ``osc_extra`` adds OSC feedback messages (and
    the control page's)."""
    from latentjam.controllers.anchor_files import anchor_files
    from latentjam.controllers.osc_server import OscServer
    from latentjam.engine.performer import Performer

    if live.web.enabled:  # imported before the music starts: 0.3 s of imports would stall it
        import latentjam.controllers.web.server
        import latentjam.controllers.web.terminal  # noqa: F401
    config = live.engine
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C raises instead
            loop.add_signal_handler(signum, stop.set)
    sinks = {key: synth for key in config.ports} if synth_only else None
    async with Performer(config, grooves=live.grooves, on_bar=on_bar, sinks=sinks,
                         also_to=None if synth_only else synth) as performer:
        server = web = None
        anchors = functools.partial(anchor_files, config.anchor_dirs)
        controller = await _start_controller(live, performer)
        if controller is not None:
            osc_extra = _merged(osc_extra, controller.feedback)
        if live.osc.enabled:
            server = OscServer(live.osc, submit=performer.command, state=performer.state,
                               extra=osc_extra, anchors=anchors,
                               learn=controller.learn if controller is not None else None)
            host, port = await server.start()
            log.info("OSC on %s:%d (docs/osc.md)", host, port)
        if live.web.enabled:
            web = await _start_web(live, performer, osc_extra, anchors,
                                   controller.learn if controller is not None else None)
        outputs = ", ".join(f"{p.name!r}{'' if p.virtual else ' (existing)'}"
                            for p in config.ports.values())
        log.info("playing %s to %s, %s clock; Ctrl-C stops",
                 ", ".join(f"{t.name} ({t.model or 'melody'})" for t in config.tracks), outputs,
                 config.clock.source)
        waits = [loop.create_task(stop.wait()), loop.create_task(performer.wait())]
        if beside is not None:
            waits.append(loop.create_task(beside(performer)))
        if bars is not None:
            waits.append(loop.create_task(_bars_played(performer, bars)))
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            for task in waits:
                task.cancel()
            if server is not None:
                await server.close()
            if web is not None:
                await web.close()
            if controller is not None:
                await controller.close()


async def _start_controller(live: LiveSet, performer: Performer):
    """The MIDI controller of ``[controller]`` or ``--controller``, started (None without
    one); its learned mappings are saved into the set's file (``live.path``)."""
    if live.controller.input is None:
        return None
    from latentjam.app.controller_file import save_mappings
    from latentjam.controllers.midi_controller import MidiController

    save = functools.partial(save_mappings, live.path) if live.path is not None else None
    controller = MidiController(live.controller, [t.name for t in live.engine.tracks],
                                submit=performer.command, state=performer.state,
                                backend=live.engine.backend, save=save)
    await controller.start()
    return controller


def _merged(*sources: Callable[[], dict[str, tuple]] | None) -> Callable[[], dict[str, tuple]]:
    """Feedback messages of several sources as one."""
    def merged() -> dict[str, tuple]:
        out: dict[str, tuple] = {}
        for source in sources:
            if source is not None:
                out.update(source())
        return out
    return merged


async def _start_web(live: LiveSet, performer: Performer,
                     extra: Callable[[], dict[str, tuple]] | None,
                     anchors: Callable[[], tuple[str, ...]], learn: Callable | None = None):
    """The control page's server, started; its URL (with the token) and, on a terminal, a
    QR code of it printed."""
    from latentjam.controllers.web.server import WebServer
    from latentjam.controllers.web.terminal import banner

    web = WebServer(live.web, submit=performer.command, state=performer.state, extra=extra,
                    anchors=anchors, allow=live.osc.allow, learn=learn)
    await web.start()
    text = await asyncio.to_thread(banner, web.url, sys.stderr.isatty())  # a QR code: ms
    print(text, end="", file=sys.stderr, flush=True)
    return web


async def _bars_played(performer, bars: int) -> None:
    while True:
        state = performer.state()
        if state.playing and state.bar >= bars:
            return
        await asyncio.sleep(0.01)


def run_ports(args: argparse.Namespace) -> int:
    from latentjam.engine.ports import list_ports

    listing = list_ports(args.backend)
    print(f"MIDI system: {listing.backend}")
    for title, names in (("outputs (play to these with --port NAME --existing-port)",
                          listing.outputs),
                         ("inputs (follow a clock with --clock midi --clock-in NAME)",
                          listing.inputs)):
        print(f"{title}:")
        for name in names:
            print(f"  {name}")
        if not names:
            print("  (none)")
    return 0
