"""GrooVAE's NumPy inference against Magenta's own numbers (the ``groovae_*_tiny`` fixtures):
μ and σ of every example, greedy decodes row for row with their logits, teacher-forced
logits, and a loaded ``TrainedModel`` from a MIDI file to Magenta's decoded notes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from latentjam.models.configs import get_config, load_config
from latentjam.models.errors import InputError
from latentjam.models.inference.musicvae import MusicVAE
from latentjam.models.midi_io import read_midi
from latentjam.models.trained_model import TrainedModel
from latentjam.models.variables import expected_shapes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "magenta"
CONFIGS = ["groovae_2bar_humanize", "groovae_2bar_tap_fixed_velocity", "groovae_4bar"]


def fixture(name: str):
    tf_checkpoint = pytest.importorskip("latentjam.models.checkpoints.tf_checkpoint")
    folder = FIXTURES / f"{name}_tiny"
    config = load_config(folder / "config.json")
    variables = tf_checkpoint.read_tf_checkpoint(folder / "ckpt" / "model.ckpt-0")
    reference = json.loads((folder / "reference.json").read_text())
    return config, variables, MusicVAE(config, variables), reference, np.load(
        folder / "tensors.npz")


def decodes(reference: dict):
    out = [(np.array(r["encode"][d["example"]]["mu"], np.float32), d)
           for r in reference["inputs"] for d in r["decode_mu"]]
    return out + [(np.array(d["z"], np.float32), d) for d in reference["fixed_z"]["decodes"]]


@pytest.mark.parametrize("name", CONFIGS)
def test_the_named_config_has_magentas_variables(name):
    config, variables, _, _, _ = fixture(name)
    names = (FIXTURES / f"{name}_tiny" / "variables.txt").read_text().split("\n")
    listed = {line.split("\t")[0] for line in names if line}
    assert set(expected_shapes(config)) == listed - {"global_step"}
    full = get_config(name)
    assert full.hparams.z_size == 256 and full.hparams.dec_rnn_size == (256, 256)
    assert full.hparams.max_seq_len == (64 if name == "groovae_4bar" else 32)


@pytest.mark.parametrize("name", CONFIGS)
def test_mu_and_sigma_match_magenta(name):
    _, _, vae, reference, tensors = fixture(name)
    checked = 0
    for index, record in enumerate(reference["inputs"]):
        if not record["encode"]:
            continue
        inputs = tensors[f"input_{index:02d}_infer_inputs"]
        _, mu, sigma = vae.encode(inputs)
        np.testing.assert_allclose(mu, [e["mu"] for e in record["encode"]], atol=1e-4)
        np.testing.assert_allclose(sigma, [e["sigma"] for e in record["encode"]], atol=1e-4)
        checked += len(inputs)
    assert checked >= 3


@pytest.mark.parametrize("name", CONFIGS)
def test_greedy_decodes_match_magenta_row_for_row(name):
    _, _, vae, reference, tensors = fixture(name)
    whole = 0
    for z, record in decodes(reference):
        want, want_logits = tensors[f"{record['key']}_samples"], tensors[f"{record['key']}_logits"]
        rows = vae.decode(z)
        logits = vae.decode_logits(z, rows)  # fed its own rows: the logits that made them
        # a hit logit within the near-tie margin of 0 may flip under float rounding; the
        # rows agree up to its step
        upto = record["first_fragile_step"]
        upto = len(want) if upto is None else upto + 1
        np.testing.assert_allclose(logits[:upto], want_logits[:upto], atol=1e-4)
        np.testing.assert_allclose(rows[:upto], want[:upto], atol=1e-4)
        whole += upto == len(want)
    assert whole >= 3


@pytest.mark.parametrize("name", CONFIGS)
def test_teacher_forced_logits_are_magentas_on_its_rows(name):
    _, _, vae, reference, tensors = fixture(name)
    for z, record in decodes(reference):
        logits = vae.decode_logits(z, tensors[f"{record['key']}_samples"])
        np.testing.assert_allclose(logits, tensors[f"{record['key']}_logits"], atol=1e-4)


def test_a_loaded_model_decodes_a_clip_to_magentas_notes():
    folder = FIXTURES / "groovae_2bar_humanize_tiny"
    model = TrainedModel.load(folder / "ckpt", config=folder / "config.json")
    reference = json.loads((folder / "reference.json").read_text())
    record = reference["inputs"][0]
    (window,) = model.windows(read_midi(FIXTURES / record["file"]), "groove_00")
    mu = model.encode_classes(window[None])
    np.testing.assert_allclose(mu[0], record["encode"][0]["mu"], atol=1e-4)
    (ns,) = model.decode(mu)
    decode = record["decode_mu"][0]
    assert decode["first_fragile_step"] is None
    got = np.array(sorted((n.pitch, n.velocity, n.start_time) for n in ns.notes))
    # Magenta's velocity 0 plays at 1, a hit early on the first step at 0 s
    want = np.array(sorted((n[0], max(n[1], 1), max(n[2], 0.0)) for n in decode["notes"]))
    assert got.shape == want.shape and len(got) > 20
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_sampling_draws_hits_and_refuses_bad_rows():
    _, _, vae, _, _ = fixture("groovae_2bar_humanize")
    z = np.zeros((2, vae.z_size), np.float32)
    hot = vae.decode(z, temperature=1.0, rng=np.random.default_rng(1))
    again = vae.decode(z, temperature=1.0, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(hot, again)
    assert set(np.unique(hot[..., :9])) <= {0.0, 1.0}
    assert not np.array_equal(hot, vae.decode(z))
    with pytest.raises(InputError):
        vae.decode_logits(z, np.zeros((2, 32, 26), np.float32))


def test_a_magenta_checkpoint_folder_names_its_groove_config():
    from latentjam.models.trained_model import infer_config

    variables = {name: np.zeros(shape, np.float32)
                 for name, shape in expected_shapes(get_config("groovae_4bar")).items()}
    assert infer_config(variables) is None  # the three share their shapes
    for name in CONFIGS + ["groovae_2bar_tap_fixed_velocity_note_dropout"]:
        found = infer_config(variables, Path("/models") / name / "model.ckpt-3061")
        assert found is not None and name.startswith(found.name)
    assert infer_config(variables, Path("/models/groove/model.ckpt-1")) is None

