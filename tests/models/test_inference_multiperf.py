"""The NumPy MusicVAE of ``hier-multiperf_vel_1bar_*`` against Magenta's own numbers (the
``hier-multiperf_vel_1bar_tiny`` fixtures): the hierarchical encoder's μ and σ, greedy decodes
event for event, the logits of every decode; the checkpoint's variable names; a loaded
``TrainedModel`` from MIDI files to Magenta's decoded notes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from latentjam.models.configs import ModelConfig, get_config, load_config
from latentjam.models.errors import ConfigError, InputError
from latentjam.models.inference.musicvae import MusicVAE
from latentjam.models.midi_io import read_midi
from latentjam.models.variables import expected_shapes

MED = get_config("hier-multiperf_vel_1bar_med")
NEAR_TIE = 1e-3  # a top-2 logit gap this small may flip under float rounding
SEGMENT, INSTRUMENTS, DEPTH = 64, 8, 490


@dataclasses.dataclass
class Fixture:
    folder: Path
    config: ModelConfig
    variables: dict[str, np.ndarray]
    model: MusicVAE
    reference: dict
    logits: dict[str, np.ndarray]

    def examples(self) -> list[tuple[dict, dict]]:
        """Every example's ``(to_tensors example, encode record)``, inputs in order."""
        return [pair for r in self.reference["inputs"]
                for pair in zip(r["to_tensors"]["examples"], r["encode"], strict=True)]

    def decodes(self) -> list[tuple[np.ndarray, dict]]:
        """Every recorded greedy decode with its z: the inputs' μ, then the fixed z's."""
        out = [(np.array(r["encode"][d["example"]]["mu"], np.float32), d)
               for r in self.reference["inputs"] for d in r["decode_mu"]]
        out += [(np.array(d["z"], np.float32), d) for d in self.reference["fixed_z"]["decodes"]]
        return out


@pytest.fixture(scope="module")
def fx(multiperf_fixture: Path) -> Fixture:
    tf_checkpoint = pytest.importorskip("latentjam.models.checkpoints.tf_checkpoint")
    folder = multiperf_fixture
    config = load_config(folder / "config.json")
    variables = tf_checkpoint.read_tf_checkpoint(folder / "ckpt" / "model.ckpt-0")
    with np.load(folder / "logits.npz", allow_pickle=False) as logits:
        arrays = {key: logits[key] for key in logits.files}
    return Fixture(folder, config, variables, MusicVAE(config, variables, source=str(folder)),
                   json.loads((folder / "reference.json").read_text()), arrays)


def one_hot(example: dict) -> np.ndarray:
    """The ``[512, 490]`` encoder input of a fixture example: instrument ``i``'s tokens in
    rows ``64 i ..``, zero rows after them."""
    rows = np.zeros((INSTRUMENTS * SEGMENT, DEPTH), np.float32)
    for i, tokens in enumerate(example["tokens"]):
        rows[SEGMENT * i + np.arange(len(tokens)), tokens] = 1.0
    return rows


def recorded(record: dict) -> np.ndarray:
    return np.asarray(record["output_classes"], np.int64)


def note_rows(notes) -> list[tuple]:
    return sorted((int(p), int(v), round(float(s), 6), round(float(e), 6), int(i), int(prog),
                   bool(d)) for p, v, s, e, i, prog, d in notes)


# -- variables ------------------------------------------------------------------------------


def test_expected_variables_are_the_checkpoints(fx: Fixture) -> None:
    """Magenta's names: a hierarchical encoder, one core decoder without a part index."""
    shapes = {name: tuple(v.shape) for name, v in fx.variables.items() if name != "global_step"}
    assert expected_shapes(fx.config) == shapes


def test_med_names_and_shapes() -> None:
    shapes = expected_shapes(MED)
    level0 = "encoder/hierarchical_level_0/cell_0/bidirectional_rnn/fw/multi_rnn_cell/cell_0" \
        "/lstm_cell/kernel"
    level1 = level0.replace("level_0", "level_1")
    assert shapes[level0] == (490 + 1024, 4096) and shapes[level1] == (2048 + 1024, 4096)
    assert shapes["encoder/mu/kernel"] == (2048, 512)
    assert shapes["core_decoder/decoder/multi_rnn_cell/cell_0/lstm_cell/kernel"] == \
        (490 + 512 + 512, 2048)
    assert shapes["decoder/hierarchical_level_0/cell_0/lstm_cell/kernel"] == (1 + 512, 2048)
    assert not any("core_decoder_" in name or name.startswith("encoder/cell_")
                   for name in shapes)
    # the trio keeps its split core decoders and flat encoder
    trio = expected_shapes(get_config("hierdec-trio_16bar"))
    assert "core_decoder/core_decoder_2/decoder/output_projection/kernel" in trio
    assert "encoder/cell_0/bidirectional_rnn/fw/multi_rnn_cell/cell_0/lstm_cell/kernel" in trio


def test_a_med_checkpoint_is_recognised_by_its_shapes() -> None:
    from latentjam.models.trained_model import infer_config

    fake = {name: np.broadcast_to(np.float32(0), shape)
            for name, shape in expected_shapes(MED).items()}
    assert infer_config(fake) is MED


def test_level_lengths_must_multiply_to_the_window(fx: Fixture) -> None:
    wrong = dataclasses.replace(fx.config, encoder_level_lengths=(32, 8))
    with pytest.raises(ConfigError, match="multiply to max_seq_len 512"):
        MusicVAE(wrong, fx.variables)


# -- encoding -------------------------------------------------------------------------------


def test_encode_matches_magenta(fx: Fixture) -> None:
    examples = fx.examples()
    inputs = np.stack([one_hot(example) for example, _ in examples])
    z, mu, sigma = fx.model.encode(inputs, rng=np.random.default_rng(5))
    assert mu.dtype == sigma.dtype == z.dtype == np.float32 and mu.shape == (len(examples), 32)
    np.testing.assert_allclose(mu, [e["mu"] for _, e in examples], atol=1e-4)
    np.testing.assert_allclose(sigma, [e["sigma"] for _, e in examples], atol=1e-4)
    # the lengths read off the padding are the converter's (Magenta's) lengths
    lengths = np.array([example["lengths"] for example, _ in examples])
    _, mu_given, _ = fx.model.encode(inputs, lengths=lengths)
    np.testing.assert_array_equal(mu_given, mu)
    # one example without its batch axis
    _, single, _ = fx.model.encode(inputs[3])
    assert single.shape == (32,)
    np.testing.assert_allclose(single, examples[3][1]["mu"], atol=1e-4)


def test_encode_honours_segment_lengths(fx: Fixture) -> None:
    """Lengths cut each instrument's segment: rows past a length do not count."""
    example = fx.examples()[0][0]
    inputs = one_hot(example)
    lengths = np.array(example["lengths"])
    noisy = inputs.copy()
    for i, n in enumerate(lengths):  # a stray token past every instrument's end
        if n < SEGMENT:
            noisy[SEGMENT * i + n, 7] = 1.0
    _, clean, _ = fx.model.encode(inputs)
    _, cut, _ = fx.model.encode(noisy, lengths=lengths)
    _, uncut, _ = fx.model.encode(noisy)
    np.testing.assert_allclose(cut, clean, atol=1e-6)
    assert np.abs(uncut - clean).max() > 1e-3


def test_encode_refuses_wrong_shapes(fx: Fixture) -> None:
    with pytest.raises(InputError, match=r"\[batch, 512, 490\]"):
        fx.model.encode(np.zeros((1, 256, DEPTH), np.float32))
    inputs = np.zeros((2, 512, DEPTH), np.float32)
    with pytest.raises(InputError, match=r"\[2, 8\] in 0..64"):
        fx.model.encode(inputs, lengths=np.array([64, 64]))
    with pytest.raises(InputError, match="in 0..64"):
        fx.model.encode(inputs, lengths=np.full((2, 8), 65))


# -- decoding -------------------------------------------------------------------------------


def test_greedy_decodes_match_magenta(fx: Fixture) -> None:
    """Every recorded decode, as one batch: Magenta's classes exactly (a divergence is only
    allowed from a recorded near-tie on, on a near-tie of our own logits)."""
    decodes = fx.decodes()
    classes = fx.model.decode(np.stack([z for z, _ in decodes]))
    assert classes.dtype == np.int64 and classes.shape == (len(decodes), 512)
    for (z, record), ours in zip(decodes, classes, strict=True):
        theirs = recorded(record)
        if np.array_equal(ours, theirs):
            continue
        first = int(np.flatnonzero(ours != theirs)[0])
        fragile = record["first_fragile_step"]
        assert fragile is not None and first >= fragile, \
            f"{record['logits_key']}: step {first} differs from Magenta's"
        logits = fx.model.decode_logits(z, ours)[first]
        assert abs(logits[ours[first]] - logits[theirs[first]]) < NEAR_TIE


def test_single_decodes_equal_the_batched_ones(fx: Fixture) -> None:
    """Batch 1 and 2 take the speculating path; the classes stay exactly Magenta's."""
    decodes = fx.decodes()
    for z, record in decodes[:3]:
        np.testing.assert_array_equal(fx.model.decode(z), recorded(record))
    pair = np.stack([decodes[-1][0], decodes[-2][0]])
    np.testing.assert_array_equal(fx.model.decode(pair),
                                  np.stack([recorded(decodes[-1][1]), recorded(decodes[-2][1])]))


def test_teacher_forced_logits_match_magenta(fx: Fixture) -> None:
    decodes = fx.decodes()
    z = np.stack([latent for latent, _ in decodes])
    logits = fx.model.decode_logits(z, np.stack([recorded(r) for _, r in decodes]))
    assert logits.dtype == np.float32 and logits.shape == (len(decodes), 512, DEPTH)
    for row, (_, record) in zip(logits, decodes, strict=True):
        theirs = fx.logits[record["logits_key"]]  # each instrument's first steps, as stored
        steps = theirs.shape[1]
        live = recorded(record).reshape(INSTRUMENTS, SEGMENT)[:, :steps] >= 0
        ours = row.reshape(INSTRUMENTS, SEGMENT, DEPTH)[:, :steps]
        np.testing.assert_allclose(ours[live], theirs[live], atol=2e-4,
                                   err_msg=record["logits_key"])


def test_recorded_fragile_step_is_a_near_tie_of_our_logits(fx: Fixture) -> None:
    fragile = [(z, r) for z, r in fx.decodes() if r["first_fragile_step"] is not None]
    assert fragile
    for z, record in fragile:
        step = record["first_fragile_step"]
        top2 = np.sort(fx.model.decode_logits(z, recorded(record))[step])[-2:]
        assert top2[1] - top2[0] < NEAR_TIE


def test_decode_logits_refuses_classes_out_of_range(fx: Fixture) -> None:
    with pytest.raises(InputError, match="0..depth-1"):
        fx.model.decode_logits(np.zeros(32, np.float32), np.full(512, DEPTH))


# -- the loaded model: MIDI in, notes out ---------------------------------------------------


@pytest.fixture(scope="module")
def trained(fx: Fixture):
    from latentjam.models.trained_model import TrainedModel

    return TrainedModel.load(fx.folder / "ckpt", fx.folder / "config.json")


def test_trained_model_encodes_midi_files_as_magenta(fx: Fixture, trained) -> None:
    """Converter and encoder together: every bar Magenta encodes, from the MIDI file."""
    for record in fx.reference["inputs"]:
        if not record["encode"]:
            continue
        sequence = read_midi(fx.folder / "inputs" / Path(record["file"]).name)
        examples = trained.converter.to_examples(sequence, training=True).examples  # Magenta's
        mu = trained.encode_classes(np.stack(examples))
        np.testing.assert_allclose(mu, [e["mu"] for e in record["encode"]], atol=1e-4,
                                   err_msg=record["file"])


def test_trained_model_decodes_magentas_notes(fx: Fixture, trained) -> None:
    decodes = fx.decodes()
    sequences = trained.decode(np.stack([z for z, _ in decodes]))
    drums = 0
    for sequence, (_, record) in zip(sequences, decodes, strict=True):
        ours = [(n.pitch, n.velocity, n.start_time, n.end_time, n.instrument, n.program,
                 n.is_drum) for n in sequence.notes]
        assert note_rows(ours) == note_rows(record["notes"]), record["logits_key"]
        drums += sum(n.is_drum for n in sequence.notes)
    assert drums > 0  # a decode with a drum instrument is among them
