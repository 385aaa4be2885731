"""Training GrooVAE configs in TensorFlow against Magenta's own numbers (the
``groovae_*_tiny`` fixtures): the encoder's μ, the teacher-forced reconstruction loss of
every example (Magenta's log loss on hits and squared errors on velocities and offsets),
Magenta's input dropout, and a short ``latentjam train`` run from the fixture's MIDI files to
a checkpoint under Magenta's names that our NumPy model loads and agrees with."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow", reason="TensorFlow (the 'train' extra) is not installed")

from latentjam.app.cli import main  # noqa: E402
from latentjam.models.checkpoints.tf_checkpoint import read_tf_checkpoint  # noqa: E402
from latentjam.models.configs import load_config  # noqa: E402
from latentjam.models.trained_model import TrainedModel  # noqa: E402
from latentjam.models.training import tf_groove  # noqa: E402
from latentjam.models.training.dataset import ExampleSet, make_batch, read_pieces  # noqa: E402
from latentjam.models.training.tf_model import TrainableMusicVAE  # noqa: E402
from latentjam.models.training.train import TrainOptions, train  # noqa: E402
from latentjam.models.variables import expected_shapes  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "magenta"
CONFIGS = ["groovae_2bar_humanize", "groovae_2bar_tap_fixed_velocity", "groovae_4bar"]


def fixture(name: str):
    folder = FIXTURES / f"{name}_tiny"
    return (load_config(folder / "config.json"),
            read_tf_checkpoint(folder / "ckpt" / "model.ckpt-0"),
            json.loads((folder / "reference.json").read_text()), np.load(folder / "tensors.npz"))


@pytest.mark.parametrize("name", CONFIGS)
def test_mu_and_the_teacher_forced_loss_are_magentas(name):
    config, values, reference, tensors = fixture(name)
    model = TrainableMusicVAE(config, values=values)
    checked = 0
    for index, record in enumerate(reference["inputs"]):
        if not record.get("r_loss_at_mu"):
            continue
        inputs = tensors[f"input_{index:02d}_infer_inputs"]
        outputs = tensors[f"input_{index:02d}_infer_outputs"]
        lengths = np.full(len(outputs), outputs.shape[1], np.int32)
        mu, _ = model.encode(tf.constant(inputs), lengths)
        want_mu = np.array([e["mu"] for e in record["encode"]], np.float32)
        np.testing.assert_allclose(mu.numpy(), want_mu, atol=1e-4)
        logits = tf_groove.teacher_forced_logits(model.weights, config.hparams.dec_rnn_size,
                                                 tf.constant(want_mu), outputs)
        loss, accuracy, steps = tf_groove.reconstruction_loss(logits, outputs, lengths)
        np.testing.assert_allclose(loss.numpy(), record["r_loss_at_mu"], rtol=1e-4)
        assert 0 <= float(accuracy) <= 1 and float(steps) == outputs.size / 27
        checked += len(outputs)
    assert checked >= 3


def test_input_dropout_keeps_its_share_scaled_and_evaluation_keeps_all():
    x = tf.ones([64, 32, 27])
    dropped = tf_groove.input_dropout(x, 0.3, tf.constant([1, 2])).numpy()
    kept = dropped[dropped != 0]
    assert abs(kept.size / dropped.size - 0.3) < 0.02
    np.testing.assert_allclose(kept, 1 / 0.3, rtol=1e-6)
    again = tf_groove.input_dropout(x, 0.3, tf.constant([1, 2])).numpy()
    np.testing.assert_array_equal(dropped, again)
    assert tf_groove.input_dropout(x, 0.3, None) is x


def test_a_short_train_run_learns_and_numpy_loads_it(tmp_path):
    config, _, _, _ = fixture("groovae_2bar_humanize")
    examples = tmp_path / "drums.tfrecord"
    assert main(["convert", str(FIXTURES / "groovae_2bar_humanize_tiny" / "inputs"),
                 str(examples)]) == 0
    run = tmp_path / "run"
    result = train(TrainOptions(
        run_dir=run, examples=(examples,), num_steps=20, config=config,
        hparams={"batch_size": 4, "learning_rate": 0.01}, eval_fraction=0.25,
        checkpoint_every=10, seed=3, jit_compile=False, progress=False), lambda _: None)
    assert result.global_step == 20
    records = [json.loads(line) for line in (run / "metrics.jsonl").open()]
    assert [r["step"] for r in records] == [10, 20]
    losses = [r["train"]["loss"] for r in records]
    assert all(math.isfinite(x) for x in losses) and losses[1] < losses[0]
    assert records[-1]["eval"]["examples"] > 0
    assert 0.0 <= records[-1]["eval"]["sampled_accuracy"] <= 1.0

    saved = read_tf_checkpoint(run)
    assert {n: v.shape for n, v in saved.items()} == dict(expected_shapes(config),
                                                          global_step=())
    loaded = TrainedModel.load(run)
    assert loaded.config.is_groove and loaded.config.converter.humanize
    trained = TrainableMusicVAE(loaded.config, values=saved)
    data = ExampleSet(read_pieces([examples]), config)
    rows, lengths = data.epoch(0)
    batch = make_batch(data, rows[:2], lengths[:2])
    assert batch.targets.dtype == np.float32 and batch.inputs is not None
    assert not batch.inputs[..., 9:].any()  # humanize: the encoder reads hits only
    mu, _ = trained.encode(tf.constant(batch.inputs), batch.lengths)
    _, mu_np, _ = loaded.vae.encode(batch.inputs)
    np.testing.assert_allclose(mu.numpy(), mu_np, atol=1e-5)
    logits = tf_groove.teacher_forced_logits(trained.weights, config.hparams.dec_rnn_size,
                                             tf.constant(mu_np), batch.targets).numpy()
    np.testing.assert_allclose(logits, loaded.vae.decode_logits(mu_np, batch.targets),
                               atol=1e-4)
    greedy = tf_groove.greedy_rows(trained.weights, config.hparams.dec_rnn_size,
                                   tf.constant(mu_np), 32).numpy()
    np.testing.assert_allclose(greedy, loaded.vae.decode(mu_np), atol=1e-4)
    (ns,) = loaded.decode(mu_np[:1])
    assert ns.notes
