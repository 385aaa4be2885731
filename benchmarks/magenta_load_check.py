"""Does Magenta's own ``TrainedModel`` load a checkpoint, and does it make music with it?

Run with the reference Magenta environment's python (see benchmarks/README.md)::

    TF_USE_LEGACY_KERAS=1 /tmp/magenta-ref/.venv/bin/python benchmarks/magenta_load_check.py \
        CKPT_DIR_OR_PREFIX --config cat-mel_2bar_small [--reference-json F] [--expect-npz F]

``--config`` is a Magenta config name or a JSON file: ours (``name``, ``base_config``,
``hparams``; also a run folder's ``run.json``, which holds them under ``config``) or a
fixture's ``config.json`` (``model.base_config``, ``model.hparam_overrides``). Checks, each
printed as PASS or FAIL with details:

1. the checkpoint holds every variable the inference graph needs, with the same shapes
   (extra variables, e.g. optimizer slots, are listed but allowed);
2. ``TrainedModel`` restores it;
3. ``sample(n=4)`` and ``decode`` give NoteSequences and finite outputs, and ``encode`` of
   the decoded sequences gives finite mu and positive sigma;
4. optional agreement: ``--reference-json`` (a fixture's reference.json: its fixed-z greedy
   decodes) or ``--expect-npz`` (arrays ``z [B, Z]`` and ``classes [B, T]`` or
   ``[B, T, parts]`` decoded greedily by another implementation, e.g. ours): Magenta's greedy
   classes must match, up to a recorded ``first_fragile_step``.

The last line is ``PASS`` or ``FAIL``; the exit status is 0 or 1.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # Magenta's RNN cells need Keras 2
NEAR_ZERO_TEMPERATURE = 1e-6
TRIO_PART_DEPTHS = (90, 90, 512)  # melody, bass, drums: hierdec-trio's split output


class Report:
    def __init__(self) -> None:
        self.failed = False

    def check(self, ok: bool, what: str, details: str = "") -> bool:
        self.failed |= not ok
        print(f"{'PASS' if ok else 'FAIL'}  {what}" + (f": {details}" if details else ""),
              flush=True)
        return ok


def magenta_config(spec: str):
    """A Magenta Config from a name or a JSON file; returns (config, notes on ignored keys)."""
    from magenta.models.music_vae import configs

    if spec in configs.CONFIG_MAP:
        return copy.deepcopy(configs.CONFIG_MAP[spec]), ""
    data = json.loads(Path(spec).read_text())
    if isinstance(data.get("config"), dict):  # our run folder's run.json
        data = data["config"]
    model = data.get("model", {})
    base = data.get("base_config") or model.get("base_config") or data.get("name")
    overrides = model.get("hparam_overrides") or data.get("hparams") or {}
    config = copy.deepcopy(configs.CONFIG_MAP[base])
    known = config.hparams.values()
    ignored = sorted(k for k in overrides if k not in known)
    for key, value in overrides.items():
        if key in known and key != "batch_size" and known[key] != value:
            config.hparams.set_hparam(key, value)
    note = f"base {base}; hparams not in Magenta's: {ignored}" if ignored else f"base {base}"
    return config, note


def graph_variables(config, batch_size: int) -> dict:
    """Names and shapes of the variables TrainedModel's graph restores, from a graph built
    the same way (build, sample, encode)."""
    import tensorflow.compat.v1 as tf

    config = copy.deepcopy(config)
    config.data_converter.set_mode("infer")
    config.hparams.batch_size = batch_size
    converter = config.data_converter
    with tf.Graph().as_default():
        config.model.build(config.hparams, converter.output_depth, is_training=False)
        config.model.sample(batch_size, max_length=tf.placeholder(tf.int32, ()),
                            z=tf.placeholder(tf.float32, [batch_size, config.hparams.z_size]),
                            temperature=tf.placeholder(tf.float32, ()))
        config.model.encode(
            tf.placeholder(tf.float32, [batch_size, None, converter.input_depth]),
            tf.placeholder(tf.int32, [batch_size] + list(converter.length_shape)),
            tf.placeholder(tf.float32, [batch_size, None, converter.control_depth]))
        return {v.op.name: tuple(v.shape.as_list()) for v in tf.global_variables()}


def classes_from_onehots(onehots, split: bool):
    import numpy as np

    outputs = np.asarray(onehots)
    if not split:
        return outputs.argmax(-1)
    parts, offset = [], 0
    for depth in TRIO_PART_DEPTHS:
        parts.append(outputs[..., offset:offset + depth].argmax(-1))
        offset += depth
    return np.stack(parts, axis=-1)


def expected_decodes(args: argparse.Namespace) -> list[tuple]:
    """``(label, z, classes, first_fragile_step)`` for every decode to compare."""
    import numpy as np

    wanted = []
    if args.reference_json:
        ref = json.loads(Path(args.reference_json).read_text())
        for index, record in enumerate(ref["fixed_z"]["decodes"]):
            wanted.append((f"reference fixed_z[{index}]", np.array(record["z"], np.float32),
                           np.array(record["output_classes"]), record["first_fragile_step"]))
    if args.expect_npz:
        with np.load(args.expect_npz, allow_pickle=False) as data:
            for index, (z, classes) in enumerate(zip(data["z"], data["classes"], strict=True)):
                wanted.append((f"expect-npz[{index}]", z.astype(np.float32), classes, None))
    return wanted


def run_checks(args: argparse.Namespace, report: Report) -> None:
    import numpy as np
    import tensorflow.compat.v1 as tf
    from magenta.models.music_vae import TrainedModel

    config, note = magenta_config(args.config)
    print(f"config: {args.config}" + (f" ({note})" if note else ""), flush=True)
    path = str(args.checkpoint)
    prefix = tf.train.latest_checkpoint(path) if os.path.isdir(path) else path
    if not report.check(prefix is not None, "checkpoint state file names a checkpoint",
                        f"no 'checkpoint' file with a model_checkpoint_path in {path}"
                        if prefix is None else prefix):
        return
    stored = dict(tf.train.list_variables(prefix))
    needed = graph_variables(config, args.batch_size)
    missing = sorted(set(needed) - set(stored))
    wrong = sorted(n for n in set(needed) & set(stored) if tuple(stored[n]) != needed[n])
    extra = sorted(set(stored) - set(needed))
    report.check(not missing and not wrong, "variables needed by TrainedModel are present",
                 f"{len(needed)} needed, {len(stored)} stored; missing {missing[:5]}"
                 f"{'...' if len(missing) > 5 else ''}; wrong shapes "
                 f"{[(n, stored[n], needed[n]) for n in wrong[:5]]}; "
                 f"{len(extra)} extra (allowed){': ' + ', '.join(extra[:4]) if extra else ''}")
    try:
        model = TrainedModel(config, batch_size=args.batch_size, checkpoint_dir_or_path=prefix)
    except Exception as err:  # the point of the script: report any restore failure
        report.check(False, "TrainedModel restores the checkpoint", f"{type(err).__name__}: "
                     f"{str(err).splitlines()[0][:300]}")
        return
    report.check(True, "TrainedModel restores the checkpoint without an error",
                 "its Saver does not compare shapes: the variables check above does")

    length = config.hparams.max_seq_len
    samples = model.sample(n=4, length=length, temperature=0.5)
    notes = [len(s.notes) for s in samples]
    report.check(len(samples) == 4, "sample(n=4) gives 4 NoteSequences", f"notes {notes}")
    z = np.random.RandomState(args.seed).randn(4, config.hparams.z_size).astype(np.float32)
    onehots = model.decode_to_tensors(z, length=length, temperature=NEAR_ZERO_TEMPERATURE)
    finite = all(np.all(np.isfinite(np.asarray(o))) for o in onehots)
    report.check(finite and len(onehots) == 4, "decode_to_tensors of 4 random z is finite",
                 f"shape {np.asarray(onehots).shape}")
    decoded = model.decode(z, length=length, temperature=NEAR_ZERO_TEMPERATURE)
    report.check(len(decoded) == 4, "decode gives NoteSequences",
                 f"notes {[len(s.notes) for s in decoded]}")
    encodable = [s for s in list(samples) + list(decoded) if s.notes]
    try:
        _, mu, sigma = model.encode(encodable[:args.batch_size])
        report.check(bool(np.all(np.isfinite(mu)) and np.all(sigma > 0)),
                     "encode of decoded sequences: finite mu, positive sigma",
                     f"mu {np.asarray(mu).shape}, |mu| mean {np.abs(mu).mean():.4g}")
    except Exception as err:  # e.g. a near-silent random decode with nothing to extract
        report.check(False, "encode of decoded sequences", f"{type(err).__name__}: {err}")

    split = "trio" in config.data_converter.__class__.__name__.lower()
    for label, z_one, want, fragile in expected_decodes(args):
        steps = want.shape[0]
        got = classes_from_onehots(model.decode_to_tensors(
            z_one[None], length=steps, temperature=NEAR_ZERO_TEMPERATURE)[0], split)
        upto = steps if fragile is None else fragile
        same = got[:upto] == want[:upto]
        bad = np.nonzero(same.reshape(upto, -1).all(-1) == 0)[0] if upto else []
        report.check(bool(np.all(same)), f"greedy decode matches {label}",
                     f"steps compared {upto}/{steps}" +
                     (f"; first mismatch at step {bad[0]}" if len(bad) else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path, help="directory with a 'checkpoint' file, "
                        "or a prefix such as DIR/model.ckpt-100")
    parser.add_argument("--config", required=True, help="Magenta config name or JSON file")
    parser.add_argument("--reference-json", type=Path)
    parser.add_argument("--expect-npz", type=Path)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    report = Report()
    try:
        run_checks(args, report)
    except Exception as err:  # any crash is a FAIL with its reason, not a traceback
        report.check(False, "load check ran to the end", f"{type(err).__name__}: {err}")
    print("FAIL" if report.failed else "PASS")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
