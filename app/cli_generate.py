"""``latentjam sample | interpolate | grid | encode | decode``: offline generation to MIDI
files.

The successor of Magenta's ``music_vae_generate``, with its flags (``--model``,
``--config``, ``--temperature``, ``--num``, ``--out``). Output files never overwrite
existing ones: names carry the config, the mode and a time stamp, as Magenta's do.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from latentjam.app.audio.render import RenderOptions
from latentjam.app.cli_render import add_audio_arg, render_beside, sound_options
from latentjam.engine.blend import cell_point
from latentjam.engine.commands import GRID_SIZES
from latentjam.models.defaults import DEFAULT_MODELS, shipped_models
from latentjam.models.errors import InputError
from latentjam.models.midi_io import read_midi, write_midi
from latentjam.models.notesequence import DEFAULT_QPM, NoteSequence
from latentjam.models.service.answer import blend_at
from latentjam.models.trained_model import TrainedModel


def _model_args(parser: argparse.ArgumentParser, temperature: float | None = 0.5) -> None:
    parser.add_argument(
        "--model", default=None,
        help=f"a kind's default ({', '.join(f'{k}: {v}' for k, v in DEFAULT_MODELS.items())}"
             f"; default melody), a shipped model ({', '.join(shipped_models()) or 'none'}) "
             f"or a checkpoint: a Magenta TF checkpoint (prefix, .index or "
             "folder), a magenta.js folder, a latentjam .safetensors file or run folder, or a "
             "personalized .midime file (`latentjam personalize`)",
    )
    parser.add_argument(
        "--config", default=None,
        help="config name (e.g. cat-mel_2bar_small) or a JSON/TOML hyper-parameter file; read "
             "from latentjam checkpoints, inferred from the variable shapes otherwise",
    )
    if temperature is not None:
        parser.add_argument("--temperature", type=float, default=temperature,
                            help=f"softmax temperature; 0 decodes the most likely classes "
                                 f"(default {temperature})")
    parser.add_argument("--seed", type=int, default=None,
                        help="random seed, for reproducible outputs")


def _out_arg(parser: argparse.ArgumentParser) -> None:
    add_audio_arg(parser)
    parser.add_argument("--out", type=Path, default=Path("loops"),
                        help="output folder for MIDI files (default ./loops)")
    parser.add_argument("--name", default=None,
                        help="what the files are named after (default: the model's name, "
                             "e.g. 'band' for runs/band/best.safetensors)")
    parser.add_argument("--qpm", type=float, default=DEFAULT_QPM,
                        help=f"tempo written to the MIDI files (default {DEFAULT_QPM:g})")


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sample", help="generate loops from random latent points",
                              description="Decode random latent vectors to MIDI files.")
    _model_args(p)
    p.add_argument("--num", type=int, default=4, help="number of loops (default 4)")
    p.add_argument("--bars", type=int, default=None,
                   help="bars per loop (default: the model's window, e.g. 2 or 16)")
    _out_arg(p)
    p.set_defaults(func=run_sample)

    p = subparsers.add_parser("interpolate", help="morph from one MIDI clip to another",
                              description="Encode two MIDI clips and decode points on the "
                                          "spherical path between them, endpoints included.")
    p.add_argument("start", type=Path, help="MIDI file of the first clip")
    p.add_argument("end", type=Path, help="MIDI file of the last clip")
    _model_args(p)
    p.add_argument("--num", type=int, default=5,
                   help="number of steps, endpoints included (default 5)")
    _out_arg(p)
    p.set_defaults(func=run_interpolate)

    p = subparsers.add_parser(
        "grid", help="a grid of loops between four MIDI clips (Latent Loops)",
        description="Encode four MIDI clips as the corners of a square and decode every cell "
                    "of an N×N grid between them (the bilinear mix of the corners' latent "
                    "vectors, as Magenta's Beat Blender and Latent Loops do): A is row 1 "
                    "column 1, B row 1 column N, C row N column 1, D row N column N. Files "
                    "are named by row and column (r1-c1 ... rN-cN), for a DAW's clip grid.")
    for corner in "abcd":
        p.add_argument(corner, type=Path, help=f"MIDI file of corner {corner.upper()}")
    _model_args(p, temperature=0.0)
    p.add_argument("--size", type=int, default=5,
                   help=f"cells a side, {GRID_SIZES.start}..{GRID_SIZES.stop - 1} (default 5)")
    _out_arg(p)
    p.set_defaults(func=run_grid)

    p = subparsers.add_parser("encode", help="MIDI clips to latent vectors (.npy)",
                              description="Encode MIDI files to μ (deterministic) or a sampled z; "
                                          "writes a float32 array [clips, z_size].")
    p.add_argument("inputs", type=Path, nargs="+", help="MIDI files")
    _model_args(p, temperature=None)
    p.add_argument("--sample-z", action="store_true",
                   help="write z drawn from N(μ, σ) instead of μ")
    p.add_argument("--all-windows", action="store_true",
                   help="encode every window of each file, not only the first")
    p.add_argument("--out", type=Path, required=True, help="output .npy file")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.set_defaults(func=run_encode)

    p = subparsers.add_parser("decode", help="latent vectors (.npy) to MIDI files",
                              description="Decode each row of a float32 .npy array [N, z_size].")
    p.add_argument("vectors", type=Path, help=".npy file of latent vectors")
    _model_args(p)
    _out_arg(p)
    p.set_defaults(func=run_decode)


def _rng(args: argparse.Namespace) -> np.random.Generator:
    return np.random.default_rng(args.seed)


def _bars_to_steps(model: TrainedModel, bars: int | None) -> int | None:
    if bars is None:
        return None
    if model.config.converter.kind == "multiperf":
        raise InputError(f"--bars: {model.config.name} decodes one bar of up to "
                         f"{model.config.converter.max_instruments} instruments per sample; "
                         f"leave --bars out")
    if bars < 1:
        raise InputError(f"--bars must be at least 1, got {bars}")
    return bars * model.config.converter.steps_per_bar


def write_outputs(sequences: list[NoteSequence], out: Path, name: str, mode: str) -> list[Path]:
    """Writes ``name_mode_DATE-III-of-NNN.mid`` files; existing files are never replaced."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d_%H%M%S")
    total = len(sequences)
    paths = []
    for index, sequence in enumerate(sequences, start=1):
        path = _new_path(out, f"{name}_{mode}_{stamp}-{index:03d}-of-{total:03d}")
        write_midi(sequence, path)
        paths.append(path)
    return paths


def _new_path(out: Path, base: str) -> Path:
    """``out/base.mid``, or ``base_2.mid``, ... when that exists."""
    path, extra = out / f"{base}.mid", 1
    while path.exists():
        extra += 1
        path = out / f"{base}_{extra}.mid"
    return path


def _checked_name(args: argparse.Namespace, model: TrainedModel) -> str:
    name = args.name or model.name
    if not name or "/" in name or name.startswith("."):
        raise InputError(f"--name must be a plain file name, got {name!r}")
    return name


def _audio_options(args: argparse.Namespace) -> RenderOptions | None:
    """What ``--audio`` asks for, checked before any work (FluidSynth, the soundfont)."""
    return sound_options(args) if args.audio else None


def _write(sequences: list[NoteSequence], args: argparse.Namespace, model: TrainedModel,
           mode: str, audio: RenderOptions | None) -> None:
    paths = write_outputs(sequences, args.out, _checked_name(args, model), mode)
    _report(paths, sequences)
    if audio is not None:
        render_beside(paths, args.audio, audio)


def _report(paths: list[Path], sequences: list[NoteSequence]) -> None:
    notes = [len(s.notes) for s in sequences]
    print(f"wrote {len(paths)} MIDI files to {paths[0].parent}/ "
          f"({min(notes)}-{max(notes)} notes each)")


def run_sample(args: argparse.Namespace) -> int:
    audio = _audio_options(args)
    model = TrainedModel.load(args.model, args.config)
    sequences = model.sample(args.num, temperature=args.temperature, rng=_rng(args),
                             length=_bars_to_steps(model, args.bars), qpm=args.qpm)
    _write(sequences, args, model, "sample", audio)
    return 0


def run_interpolate(args: argparse.Namespace) -> int:
    audio = _audio_options(args)
    model = TrainedModel.load(args.model, args.config)
    clips = [read_midi(args.start), read_midi(args.end)]
    classes = model.first_windows(clips, [str(args.start), str(args.end)])
    z = model.encode_classes(classes)
    sequences = model.interpolate(z[0], z[1], args.num, temperature=args.temperature,
                                  rng=_rng(args), qpm=args.qpm)
    _write(sequences, args, model, "interpolate", audio)
    return 0


def run_grid(args: argparse.Namespace) -> int:
    if args.size not in GRID_SIZES:
        raise InputError(f"--size must be {GRID_SIZES.start}..{GRID_SIZES.stop - 1}, got "
                         f"{args.size}")
    audio = _audio_options(args)
    model = TrainedModel.load(args.model, args.config)
    paths = [args.a, args.b, args.c, args.d]
    corners = model.encode_classes(model.first_windows([read_midi(p) for p in paths],
                                                       [str(p) for p in paths]))
    cells = [(row, column) for row in range(args.size) for column in range(args.size)]
    z = np.stack([blend_at(list(corners), *cell_point(row, column, args.size))
                  for row, column in cells])
    sequences = model.decode(z, temperature=args.temperature, rng=_rng(args), qpm=args.qpm)
    name = _checked_name(args, model)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d_%H%M%S")
    written = []
    for (row, column), sequence in zip(cells, sequences, strict=True):
        path = _new_path(args.out, f"{name}_grid_{stamp}-r{row + 1}-c{column + 1}")
        write_midi(sequence, path)
        written.append(path)
    _report(written, sequences)
    if audio is not None:
        render_beside(written, args.audio, audio)
    return 0


def run_encode(args: argparse.Namespace) -> int:
    if args.out.exists() and not args.force:
        raise InputError(f"{args.out} exists; pass --force to overwrite it")
    model = TrainedModel.load(args.model, args.config)
    windows = []
    for path in args.inputs:
        found = model.windows(read_midi(path), str(path))
        kept = found if args.all_windows else found[:1]
        windows.extend(kept)
        print(f"{path}: {len(found)} window(s), encoded {len(kept)}")
    z = model.encode_classes(np.stack(windows), sample=args.sample_z, rng=_rng(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.save(args.out, z.astype(np.float32), allow_pickle=False)
    kind = "sampled z" if args.sample_z else "μ"
    print(f"wrote {kind} of {len(z)} clip(s) to {args.out} (shape {list(z.shape)})")
    return 0


def load_vectors(path: Path, z_size: int) -> np.ndarray:
    """A float array [N, z_size] (or [z_size]) from a .npy file, checked."""
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: not a readable .npy array ({err})") from None
    if not np.issubdtype(array.dtype, np.floating):
        raise InputError(f"{path}: latent vectors must be floats, found dtype {array.dtype}")
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != z_size:
        raise InputError(f"{path}: shape {list(array.shape)}, the model needs [N, {z_size}]")
    if not np.all(np.isfinite(array)):
        raise InputError(f"{path}: latent vectors contain NaN or infinite values")
    return array.astype(np.float32)


def run_decode(args: argparse.Namespace) -> int:
    audio = _audio_options(args)
    model = TrainedModel.load(args.model, args.config)
    z = load_vectors(args.vectors, model.vae.z_size)
    sequences = model.decode(z, temperature=args.temperature, rng=_rng(args), qpm=args.qpm)
    _write(sequences, args, model, "decode", audio)
    return 0
