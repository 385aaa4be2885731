"""Build the benchmark data that every side-by-side measurement shares.

Three products, each rebuilt from public sources on any machine:

* ``midi``: Bach chorales from the music21 corpus, exported as MIDI files (needs music21;
  runs with the project's python or any python that has it);
* ``tfrecord``: a NoteSequence TFRecord of those files, written by Magenta's own
  ``convert_dir_to_note_sequences`` (needs the reference Magenta environment);
* ``trio-ckpt``: a full-size ``hierdec-trio_16bar`` checkpoint with Magenta's own random
  initialisers, in Magenta's TF1 format (needs the reference Magenta environment). Nobody
  ships trained weights for it that we may use; its size, not its music, is what is timed.

Run it with the reference environment's python; when that python lacks music21 the ``midi``
step is run in a subprocess with ``--music21-python`` (default: ``python3`` on PATH)::

    TF_USE_LEGACY_KERAS=1 /tmp/magenta-ref/.venv/bin/python benchmarks/magenta_make_data.py
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_ROOT = Path("/tmp/lj-bench")
DEFAULT_NUM_CHORALES = 60
STEPS = ("midi", "tfrecord", "trio-ckpt")


def export_chorales(midi_dir: Path, count: int) -> list[dict]:
    """Write the first ``count`` chorales of music21's Riemenschneider order as MIDI files."""
    import music21
    from music21 import corpus

    midi_dir.mkdir(parents=True, exist_ok=True)
    for old in midi_dir.glob("*.mid"):
        old.unlink()
    written = []
    for name in corpus.chorales.Iterator(returnType="filename"):
        if len(written) == count:
            break
        path = midi_dir / f"chorale_{len(written):03d}_{name.replace('/', '_')}.mid"
        try:
            score = corpus.parse(name)
            score.write("midi", fp=str(path))
        except Exception as err:  # e.g. badly formed repeats: skipped, not fatal
            print(f"skipped {name}: {type(err).__name__}: {err}", file=sys.stderr)
            path.unlink(missing_ok=True)
            continue
        written.append({"file": path.name, "corpus": name, "parts": len(score.parts)})
    manifest = {"music21": music21.__version__, "order": "corpus.chorales.Iterator()",
                "files": written}
    (midi_dir / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return written


def convert_to_tfrecord(midi_dir: Path, tfrecord: Path) -> int:
    """Magenta's ``convert_directory`` over ``midi_dir``; returns the number of records."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tensorflow.compat.v1 as tf
    from magenta.scripts import convert_dir_to_note_sequences as convert

    tf.logging.set_verbosity(tf.logging.WARN)
    tfrecord.parent.mkdir(parents=True, exist_ok=True)
    convert.convert_directory(str(midi_dir), str(tfrecord), recursive=False)
    return sum(1 for _ in tf.python_io.tf_record_iterator(str(tfrecord)))


def write_random_checkpoint(config_name: str, ckpt_dir: Path, seed: int) -> dict:
    """Build ``TrainedModel``'s inference graph for ``config_name`` and save it with Magenta's
    default initialisers (seeded) plus a ``global_step``, as ``model.ckpt-0``."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import copy

    import tensorflow.compat.v1 as tf
    from magenta.models.music_vae import configs

    config = copy.deepcopy(configs.CONFIG_MAP[config_name])
    config.data_converter.set_mode("infer")
    batch = 1  # variable shapes do not depend on the batch size
    config.hparams.batch_size = batch
    converter = config.data_converter
    with tf.Graph().as_default():
        tf.set_random_seed(seed)
        model = config.model
        model.build(config.hparams, converter.output_depth, is_training=False)
        z = tf.placeholder(tf.float32, [batch, config.hparams.z_size])
        model.sample(batch, max_length=tf.placeholder(tf.int32, ()), z=z,
                     temperature=tf.placeholder(tf.float32, ()))
        model.encode(tf.placeholder(tf.float32, [batch, None, converter.input_depth]),
                     tf.placeholder(tf.int32, [batch] + list(converter.length_shape)),
                     tf.placeholder(tf.float32, [batch, None, converter.control_depth]))
        tf.train.get_or_create_global_step()
        params = int(sum(v.shape.num_elements() for v in tf.trainable_variables()))
        if ckpt_dir.exists():
            shutil.rmtree(ckpt_dir)
        ckpt_dir.mkdir(parents=True)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            saver = tf.train.Saver(save_relative_paths=True)
            prefix = saver.save(sess, str(ckpt_dir / "model.ckpt"), global_step=0,
                                write_meta_graph=False)
    return {"config": config_name, "prefix": prefix, "trainable_params": params, "seed": seed}


def run_midi_step(args: argparse.Namespace) -> dict:
    if importlib.util.find_spec("music21") is not None:
        written = export_chorales(args.midi_dir, args.num_chorales)
        return {"midi_files": len(written), "midi_dir": str(args.midi_dir)}
    python = args.music21_python or shutil.which("python3")
    if not python:
        sys.exit("music21 is not importable here; pass --music21-python PATH")
    cmd = [python, __file__, "--steps", "midi", "--midi-dir", str(args.midi_dir),
           "--num-chorales", str(args.num_chorales)]
    print("music21 missing here; running: " + " ".join(cmd), file=sys.stderr)
    result = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(result.stdout)["midi"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default=",".join(STEPS),
                        help=f"comma-separated subset of {', '.join(STEPS)}")
    parser.add_argument("--midi-dir", type=Path, default=DEFAULT_ROOT / "chorales_midi")
    parser.add_argument("--tfrecord", type=Path, default=DEFAULT_ROOT / "chorales.tfrecord")
    parser.add_argument("--num-chorales", type=int, default=DEFAULT_NUM_CHORALES)
    parser.add_argument("--trio-ckpt", type=Path,
                        default=DEFAULT_ROOT / "hierdec-trio_16bar_random")
    parser.add_argument("--trio-config", default="hierdec-trio_16bar")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--music21-python", help="a python with music21 (for the midi step)")
    args = parser.parse_args(argv)
    steps = [s for s in args.steps.split(",") if s]
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        parser.error(f"unknown steps {unknown}; choose from {STEPS}")

    report: dict = {}
    for step in steps:
        start = time.perf_counter()
        if step == "midi":
            report["midi"] = run_midi_step(args)
        elif step == "tfrecord":
            records = convert_to_tfrecord(args.midi_dir, args.tfrecord)
            report["tfrecord"] = {"path": str(args.tfrecord), "records": records}
        else:
            report["trio-ckpt"] = write_random_checkpoint(args.trio_config, args.trio_ckpt,
                                                          args.seed)
        report[step]["seconds"] = round(time.perf_counter() - start, 2)
        print(f"{step}: {report[step]}", file=sys.stderr)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
