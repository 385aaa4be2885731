"""Training ``hier-multiperf_vel_1bar_*`` in TensorFlow against Magenta's own numbers (the
``hier-multiperf_vel_1bar_tiny`` fixtures) and our NumPy model: Magenta's variable names, the
training examples (per-instrument lengths, ``PAD`` never scored, transposition), the
hierarchical encoder and teacher-forced decoder, and a short run from ``latentjam convert``
of the fixture's MIDI files to a checkpoint that our NumPy model loads and agrees with."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow", reason="TensorFlow (the 'train' extra) is not installed")

from latentjam.app.cli import main  # noqa: E402
from latentjam.app.cli_generate import _bars_to_steps  # noqa: E402
from latentjam.models.checkpoints.tf_checkpoint import read_tf_checkpoint  # noqa: E402
from latentjam.models.configs import get_config, load_config  # noqa: E402
from latentjam.models.encodings.converters import get_converter  # noqa: E402
from latentjam.models.errors import InputError  # noqa: E402
from latentjam.models.inference.musicvae import MusicVAE  # noqa: E402
from latentjam.models.notesequence import Note, NoteSequence, Tempo  # noqa: E402
from latentjam.models.trained_model import TrainedModel  # noqa: E402
from latentjam.models.training import objective  # noqa: E402
from latentjam.models.training.data_report import why_nothing  # noqa: E402
from latentjam.models.training.dataset import (  # noqa: E402
    ExampleSet,
    make_batch,
    read_pieces,
    transpose,
    transpose_performance,
)
from latentjam.models.training.run_dir import RunDir  # noqa: E402
from latentjam.models.training.tf_model import TrainableMusicVAE  # noqa: E402
from latentjam.models.training.train import TrainOptions, train  # noqa: E402
from latentjam.models.variables import expected_shapes, is_model_variable  # noqa: E402

INSTRUMENTS, SEGMENT, DEPTH = 8, 64, 490
NO_CLASS = DEPTH  # the decoders' "no previous class" input: a zero row


@pytest.fixture(scope="module")
def folder(multiperf_fixture: Path) -> Path:
    return multiperf_fixture


@pytest.fixture(scope="module")
def config(folder):
    return load_config(folder / "config.json")


@pytest.fixture(scope="module")
def reference(folder) -> dict:
    return json.loads((folder / "reference.json").read_text())


@pytest.fixture(scope="module")
def magenta_values(folder) -> dict[str, np.ndarray]:
    return read_tf_checkpoint(folder / "ckpt" / "model.ckpt-0")


@pytest.fixture(scope="module")
def examples(folder, tmp_path_factory) -> Path:
    """The fixture's MIDI files converted as a user would: ``latentjam convert``."""
    out = tmp_path_factory.mktemp("multiperf") / "band.tfrecord"
    assert main(["convert", str(folder / "inputs"), str(out)]) == 0
    return out


def reference_examples(reference: dict) -> tuple[np.ndarray, np.ndarray]:
    """Magenta's ``to_tensors`` of every fixture input as (classes ``[n, 512, 1]`` with
    ``PAD`` after each instrument, lengths ``[n, 8]``)."""
    records = [e for r in reference["inputs"] for e in r["to_tensors"]["examples"]]
    classes = np.full((len(records), INSTRUMENTS * SEGMENT, 1), -1, np.int32)
    for row, record in enumerate(records):
        for i, tokens in enumerate(record["tokens"]):
            classes[row, SEGMENT * i:SEGMENT * i + len(tokens), 0] = tokens
    return classes, np.array([r["lengths"] for r in records], np.int32)


def numpy_logits(vae: MusicVAE, z: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The NumPy model's teacher-forced logits fed as Magenta's training feeds them: the
    target shifted by one step, a ``PAD`` step as a zero row. ``decode_logits`` takes
    classes only (what a decode gives); this goes one level down to feed the zero row."""
    forced = np.where(classes[..., 0] < 0, NO_CLASS, classes[..., 0]).astype(np.int64)
    _, logits = vae._run(np.asarray(z, np.float32), forced.shape[1], 0.0, None, forced, True)
    return logits


# -- variables --------------------------------------------------------------------------------

def test_variables_are_named_as_in_magenta_checkpoints(config, magenta_values, folder):
    model = TrainableMusicVAE(config, seed=1)
    ours = {name: tuple(v.shape) for name, v in model.weights.items()}
    assert ours == expected_shapes(config)
    magenta = {n: tuple(v.shape) for n, v in magenta_values.items() if is_model_variable(n)}
    assert ours == magenta
    listed = {line.split()[0] for line in (folder / "variables.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    assert set(ours) == {n for n in listed if is_model_variable(n)}
    assert "core_decoder/decoder/output_projection/kernel" in ours
    assert "encoder/hierarchical_level_1/cell_0/bidirectional_rnn/bw/multi_rnn_cell/cell_0/" \
           "lstm_cell/kernel" in ours
    med = get_config("hier-multiperf_vel_1bar_med")  # the full size builds under the same names
    assert set(expected_shapes(med)) == set(ours)


# -- examples ---------------------------------------------------------------------------------

def test_examples_are_magentas_tensors_with_per_instrument_lengths(config, examples, reference):
    data = ExampleSet(read_pieces([examples]), config)
    classes, lengths = data.epoch(0)
    expected_classes, expected_lengths = reference_examples(reference)
    np.testing.assert_array_equal(lengths, expected_lengths)
    np.testing.assert_array_equal(classes, expected_classes)
    rows = classes[..., 0].reshape(len(classes), INSTRUMENTS, SEGMENT)
    inside = np.arange(SEGMENT) < lengths[..., None]
    assert np.all(rows[inside] >= 0) and np.all(rows[~inside] == -1)
    batch = make_batch(data, classes[:4], lengths[:4])
    assert batch.inputs is None  # the model looks the one-hot rows up
    assert batch.targets.dtype == np.int32 and batch.lengths.shape == (4, INSTRUMENTS)


def test_transposition_moves_pitched_instruments_as_magenta_would(config, examples):
    pieces = read_pieces([examples])
    converter = get_converter(config)
    piece = next(p for p in pieces if p.label == "band_00.mid")  # drums, bass, keys, lead
    data = ExampleSet([piece], config)
    classes, _ = data.epoch(0)
    moved, keep = transpose_performance(classes, np.full(len(classes), 2), INSTRUMENTS,
                                        converter.drum_token)
    assert keep.all()
    # Magenta transposes the notes before extraction: the same windows
    again = converter.to_examples(transpose(piece.sequence, 2)).examples
    np.testing.assert_array_equal(moved[..., 0], np.stack(again))
    rows = classes[..., 0].reshape(len(classes), INSTRUMENTS, SEGMENT)
    drums = rows[:, :, 0] == converter.drum_token
    assert drums.any()
    np.testing.assert_array_equal(moved[..., 0].reshape(rows.shape)[drums], rows[drums])
    # a window whose notes would leave MIDI 0..127 is skipped
    high = classes.copy()
    pitched = np.flatnonzero(~drums[0] & (rows[0, :, 0] != converter.end_token))[0]
    high[0, SEGMENT * pitched + 1, 0] = 127  # a note-on of pitch 127 in a pitched track
    _, keep = transpose_performance(high, np.full(len(high), 1), INSTRUMENTS,
                                    converter.drum_token)
    assert not keep[0] and keep[1:].all()


def test_a_piece_without_windows_says_why(config):
    solo = NoteSequence(notes=[Note(60 + i % 5, 90, 0.25 * i, 0.25 * i + 0.25, 0, 0, False)
                               for i in range(16)], tempos=[Tempo(0.0, 120.0)], total_time=4.0)
    found = get_converter(config).to_examples(solo)
    assert not found.examples
    assert why_nothing(solo, config, found.skipped) == (
        "bars with fewer than 2 instruments (MIDI tracks) playing are skipped: the whole file "
        "is one track")


def test_pad_targets_never_reach_the_loss():
    logits = [tf.random.stateless_normal([1, 8, 5], [1, 2])]
    targets = tf.constant([[[1], [2], [-1], [-1], [4], [-1], [-1], [-1]]])
    lengths = tf.constant([[2, 1]])  # two segments of 4 steps
    loss, _, steps = objective.reconstruction_loss(logits, targets, lengths)
    log_p = tf.nn.log_softmax(logits[0][0]).numpy()
    assert float(steps) == 3.0
    assert float(loss[0]) == pytest.approx(-(log_p[0, 1] + log_p[1, 2] + log_p[4, 4]), rel=1e-6)
    # a PAD inside a claimed length is still not scored, and nothing is NaN
    loss, _, steps = objective.reconstruction_loss(logits, targets, tf.constant([[4, 4]]))
    assert float(steps) == 3.0 and math.isfinite(float(loss[0]))


# -- the model against Magenta's numbers -------------------------------------------------------

def test_tf_model_matches_magenta_fixture(config, magenta_values, reference, folder):
    model = TrainableMusicVAE(config, values=magenta_values)
    classes, lengths = reference_examples(reference)
    expected_mu = np.array([e["mu"] for r in reference["inputs"] for e in r["encode"]])
    expected_sigma = np.array([e["sigma"] for r in reference["inputs"] for e in r["encode"]])
    encode = tf.function(model.encode, autograph=False)
    mu, sigma = encode(None, lengths, classes)  # one-hot rows looked up by class
    np.testing.assert_allclose(mu.numpy(), expected_mu, atol=1e-5)
    np.testing.assert_allclose(sigma.numpy(), expected_sigma, atol=1e-5)
    inputs = get_converter(config).encoder_inputs(classes[..., 0])
    np.testing.assert_allclose(encode(inputs, lengths)[0].numpy(), expected_mu, atol=1e-5)

    # Magenta's decode logits: teacher-forced on the classes it decoded, the same logits
    with np.load(folder / "logits.npz") as saved:
        recorded = [(np.array(r["encode"][d["example"]]["mu"], np.float32),
                     np.array(d["output_classes"]),
                     saved[d["logits_key"]])
                    for r in reference["inputs"][:2] for d in r["decode_mu"]]
    z = np.stack([r[0] for r in recorded])
    decoded = np.stack([r[1] for r in recorded])
    logits = tf.function(model.decode_logits, autograph=False)(z, decoded[..., None])[0]
    expected = np.stack([r[2] for r in recorded])  # each instrument's first steps, as stored
    steps = expected.shape[2]
    ours = logits.numpy().reshape(len(z), INSTRUMENTS, SEGMENT, DEPTH)[:, :, :steps]
    live = decoded.reshape(len(z), INSTRUMENTS, SEGMENT)[:, :, :steps] >= 0
    scale = np.abs(expected).max()
    np.testing.assert_allclose(ours[live], expected[live], atol=2e-6 * scale)
    greedy = tf.function(model.decode_argmax, autograph=False)(z, INSTRUMENTS * SEGMENT)
    np.testing.assert_array_equal(greedy.numpy()[..., 0], decoded)


# -- a short run --------------------------------------------------------------------------------

def test_a_short_run_learns_and_numpy_loads_it(config, examples, tmp_path):
    run = tmp_path / "run"
    result = train(TrainOptions(
        run_dir=run, examples=(examples,), num_steps=20, config=config,
        hparams={"batch_size": 4, "learning_rate": 0.005}, eval_fraction=0.25,
        checkpoint_every=10, seed=3, jit_compile=False, progress=False), lambda _: None)
    assert result.global_step == 20
    records = [json.loads(line) for line in (run / "metrics.jsonl").open()]
    assert [r["step"] for r in records] == [10, 20]
    losses = [r["train"]["loss"] for r in records]
    assert all(math.isfinite(x) for x in losses) and losses[1] < losses[0] - 20
    assert records[-1]["eval"]["examples"] > 0
    assert 0.0 <= records[-1]["eval"]["sampled_accuracy"] <= 1.0

    saved = read_tf_checkpoint(run)
    assert {n: v.shape for n, v in saved.items()} == dict(expected_shapes(config),
                                                          global_step=())
    loaded = TrainedModel.load(run)
    assert loaded.config.converter.kind == "multiperf"
    trained = TrainableMusicVAE(loaded.config, values=saved)

    data = ExampleSet(read_pieces([examples]), config)
    classes, lengths = data.epoch(0)
    classes, lengths = classes[:2].astype(np.int32), lengths[:2]
    mu, _ = tf.function(trained.encode, autograph=False)(None, lengths, classes)
    _, mu_np, _ = loaded.vae.encode(loaded.converter.encoder_inputs(classes[..., 0]), lengths)
    np.testing.assert_allclose(mu.numpy(), mu_np, atol=1e-5)
    logits = tf.function(trained.decode_logits, autograph=False)(mu_np, classes)[0].numpy()
    expected = numpy_logits(loaded.vae, mu_np, classes)
    scored = classes[..., 0] >= 0
    np.testing.assert_allclose(logits[scored], expected[scored], atol=1e-4)
    # the loss is the NumPy logits' cross-entropy over the scored steps only
    r_loss, _, _ = objective.reconstruction_loss([logits], classes, lengths)
    top = expected.max(-1, keepdims=True)
    log_p = expected - top - np.log(np.exp(expected - top).sum(-1, keepdims=True))
    picked = np.take_along_axis(log_p, np.maximum(classes, 0), -1)[..., 0]
    np.testing.assert_allclose(r_loss.numpy(), -(picked * scored).sum(1), rtol=1e-5)

    # the run samples bars of instruments in NumPy
    bars = loaded.sample(2, temperature=0.5, rng=np.random.default_rng(0))
    assert len(bars) == 2
    assert RunDir(run).saved_steps() == [10, 20]


def test_bars_are_refused_for_multiperf_models(config):
    model = SimpleNamespace(config=config)
    assert _bars_to_steps(model, None) is None
    with pytest.raises(InputError, match="--bars: .* one bar of up to 8 instruments"):
        _bars_to_steps(model, 2)
