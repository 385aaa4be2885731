"""``latentjam render IN.mid OUT.wav``: any MIDI file to audio through FluidSynth, and the
``--audio`` options the generating commands share (a rendered file beside each MIDI file)."""

from __future__ import annotations

import argparse
from pathlib import Path

from latentjam.app.audio.render import (
    DEFAULT_LUFS,
    Rendered,
    RenderOptions,
    check_output,
    render_midi,
)
from latentjam.app.audio.soundfont import find_fluidsynth, find_soundfont


def add_sound_args(parser: argparse.ArgumentParser) -> None:
    """The soundfont and level flags of a render."""
    parser.add_argument("--soundfont", metavar="FILE.sf2",
                        help="a General MIDI soundfont (default: $LATENTJAM_SOUNDFONT, or "
                             "where the system keeps one: Debian's timgm6mb-soundfont or "
                             "fluid-soundfont-gm)")
    parser.add_argument("--sample-rate", type=int, default=44100,
                        help="samples a second (default 44100)")
    parser.add_argument("--loudness", type=float, default=DEFAULT_LUFS, metavar="LUFS",
                        help=f"loudness the audio is brought to, peaks kept below -1 dBFS "
                             f"(default {DEFAULT_LUFS:g} LUFS, streamed music's level)")
    parser.add_argument("--gain", type=float, metavar="DB",
                        help="a fixed gain in dB instead of the loudness target")
    parser.add_argument("--no-reverb", action="store_true", help="FluidSynth's reverb off")
    parser.add_argument("--no-chorus", action="store_true", help="FluidSynth's chorus off")


def add_audio_arg(parser: argparse.ArgumentParser) -> None:
    """``--audio [wav|flac|ogg]`` on a command that writes MIDI files."""
    parser.add_argument("--audio", nargs="?", const="wav", choices=("wav", "flac", "ogg"),
                        help="also render each MIDI file to audio beside it (default wav; "
                             "needs FluidSynth and a soundfont, see `latentjam render --help`)")
    add_sound_args(parser)


def sound_options(args: argparse.Namespace) -> RenderOptions:
    """The render options the flags ask for, with FluidSynth and the soundfont found (so a
    missing one is said before any work)."""
    find_fluidsynth()
    return RenderOptions(find_soundfont(args.soundfont), args.sample_rate, args.gain,
                         args.loudness, reverb=not args.no_reverb, chorus=not args.no_chorus)


def render_beside(midi_files: list[Path], suffix: str, options: RenderOptions) -> None:
    """A rendered file beside each MIDI file (same name, ``suffix``)."""
    rendered = [render_midi(path, path.with_suffix(f".{suffix}"), options)
                for path in midi_files]
    _report(rendered)


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "render", help="render a MIDI file to audio (WAV, FLAC, Ogg) with FluidSynth",
        description="Render any MIDI file through FluidSynth with a General MIDI soundfont "
                    "(program changes and the drum channel honoured), faster than real "
                    "time: the tail rings out at most 2 s past the last note-off, and the "
                    "loudness is brought to about -16 LUFS without clipping.")
    p.add_argument("input", type=Path, help="a MIDI file")
    p.add_argument("output", type=Path, help="the audio file to write: .wav, .flac or .ogg "
                                             "(never over an existing file)")
    add_sound_args(p)
    p.set_defaults(func=run_render)


def run_render(args: argparse.Namespace) -> int:
    check_output(args.output)
    _report([render_midi(args.input, args.output, sound_options(args))])
    return 0


def _report(rendered: list[Rendered]) -> None:
    for item in rendered:
        print(f"wrote {item.path} ({item.seconds:.1f} s of audio, {item.loudness_lufs:.1f} "
              f"LUFS, peak {item.peak_dbfs:.1f} dBFS, rendered in {item.render_s:.2f} s)")
