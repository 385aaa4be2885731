"""The NumPy MusicVAE against Google Magenta's own numbers (the reference fixtures): encoder
mu/sigma, greedy decodes, teacher-forced logits, for a melody, a drum and a trio model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from latentjam.models.configs import MELODY_CLASSES, ModelConfig, get_config, load_config
from latentjam.models.inference.musicvae import MusicVAE

FIXTURE_CONFIGS = ["cat-mel_2bar_small", "cat-drums_2bar_small", "hierdec-trio_16bar_tiny"]
NEAR_TIE = 1e-3  # a top-2 logit gap this small may flip under float rounding


@dataclass
class Case:
    config: ModelConfig
    model: MusicVAE
    reference: dict
    logits: dict[str, np.ndarray]

    def decodes(self) -> list[tuple[np.ndarray, dict]]:
        """Every recorded greedy decode with its z: each input's mu, then the fixed z's."""
        out = [(np.array(r["encode"]["mu"], np.float32), r["decode_mu"])
               for r in self.reference["inputs"]]
        out += [(np.array(d["z"], np.float32), d) for d in self.reference["fixed_z"]["decodes"]]
        return out


def load_case(fixtures: Path, name: str) -> Case:
    tf_checkpoint = pytest.importorskip("latentjam.models.checkpoints.tf_checkpoint")
    folder = fixtures / name
    config = load_config(folder / "config.json") if (folder / "config.json").is_file() \
        else get_config(name)
    variables = tf_checkpoint.read_tf_checkpoint(folder / "ckpt" / "model.ckpt-0")
    reference = json.loads((folder / "reference.json").read_text())
    with np.load(folder / "logits.npz", allow_pickle=False) as logits:
        arrays = {key: logits[key] for key in logits.files}
    return Case(config, MusicVAE(config, variables, source=str(folder)), reference, arrays)


@pytest.fixture(scope="module", params=FIXTURE_CONFIGS)
def case(request: pytest.FixtureRequest, magenta_fixtures: Path) -> Case:
    return load_case(magenta_fixtures, request.param)


def encoder_inputs(config: ModelConfig, classes: list) -> np.ndarray:
    """The converter's encoder inputs from the fixture's per-step class indices."""
    steps = len(classes)
    if config.converter.kind == "drums":  # active drum classes per step -> multi-hot roll
        roll = np.zeros((steps, config.input_depth), np.float32)
        for t, active in enumerate(classes):
            roll[t, active] = 1.0
        return roll
    parts = np.asarray(classes).reshape(steps, -1)
    return np.concatenate([np.eye(depth, dtype=np.float32)[parts[:, p]]
                           for p, depth in enumerate(config.output_depths)], axis=-1)


def recorded_classes(record: dict) -> np.ndarray:
    return np.asarray(record["output_classes"], np.int64)


def test_encode_matches_magenta(case: Case) -> None:
    inputs = np.stack([encoder_inputs(case.config, r["to_tensors"]["examples"][0]["inputs"])
                       for r in case.reference["inputs"]])
    z, mu, sigma = case.model.encode(inputs, rng=np.random.default_rng(3))
    assert mu.dtype == sigma.dtype == z.dtype == np.float32
    for b, record in enumerate(case.reference["inputs"]):
        expected = record["encode"]
        np.testing.assert_allclose(mu[b], expected["mu"], atol=1e-4)
        np.testing.assert_allclose(sigma[b], expected["sigma"], atol=1e-4)
        rebuilt = mu[b] + sigma[b] * np.asarray(expected["eps"], np.float32)
        np.testing.assert_allclose(rebuilt, expected["z"], atol=1e-4)
    # z is mu + sigma * eps with eps drawn from the given generator.
    eps = np.random.default_rng(3).standard_normal(mu.shape).astype(np.float32)
    np.testing.assert_allclose(z, mu + sigma * eps, rtol=1e-6)


def test_encode_one_example_without_batch_axis(case: Case) -> None:
    record = case.reference["inputs"][0]
    inputs = encoder_inputs(case.config, record["to_tensors"]["examples"][0]["inputs"])
    z, mu, sigma = case.model.encode(inputs)
    assert z.shape == mu.shape == sigma.shape == (case.config.hparams.z_size,)
    np.testing.assert_allclose(mu, record["encode"]["mu"], atol=1e-4)


def _first_difference(ours: np.ndarray, theirs: np.ndarray) -> int | None:
    differs = (ours != theirs).reshape(len(theirs), -1).any(axis=1)
    return int(np.argmax(differs)) if differs.any() else None


def test_greedy_decode_matches_magenta(case: Case) -> None:
    """All recorded decodes, as one batch: exactly Magenta's classes, except after a
    recorded near-tie, where a divergence must start on a near-tie of our own logits."""
    decodes = case.decodes()
    z = np.stack([latent for latent, _ in decodes])
    classes = case.model.decode(z)
    length = case.reference["trained_model"]["decode_length"]
    assert classes.dtype == np.int64 and classes.shape[:2] == (len(decodes), length)
    for (latent, record), ours in zip(decodes, classes, strict=True):
        theirs = recorded_classes(record)
        first = _first_difference(ours, theirs)
        if first is None:
            continue
        fragile = record["first_fragile_step"]
        assert fragile is not None and first >= fragile, \
            f"{record['logits_key']}: step {first} differs from Magenta's (not a recorded tie)"
        logits = case.model.decode_logits(latent, ours)[first]
        _assert_near_tie(case.config, logits, ours[first], theirs[first])


def test_recorded_fragile_steps_are_near_ties_of_our_logits(case: Case) -> None:
    """Where Magenta's own top-2 margin was tiny, ours is too (so a flip there is rounding)."""
    for latent, record in case.decodes():
        step = record["first_fragile_step"]
        if step is None:
            continue
        logits = case.model.decode_logits(latent, recorded_classes(record))[step]
        margins, offset = [], 0
        for depth in case.config.output_depths:
            top2 = np.sort(logits[offset:offset + depth])[-2:]
            margins.append(top2[1] - top2[0])
            offset += depth
        assert min(margins) < NEAR_TIE, f"{record['logits_key']} step {step}: {margins}"


def _assert_near_tie(config: ModelConfig, logits: np.ndarray, ours: np.ndarray,
                     theirs: np.ndarray) -> None:
    offset = 0
    for part, depth in enumerate(config.output_depths):
        a, b = np.atleast_1d(ours)[part], np.atleast_1d(theirs)[part]
        gap = abs(logits[offset + a] - logits[offset + b])
        assert gap < NEAR_TIE, f"part {part}: classes {a} vs {b} are {gap} apart"
        offset += depth


def test_teacher_forced_logits_match_magenta(case: Case) -> None:
    decodes = case.decodes()
    z = np.stack([latent for latent, _ in decodes])
    classes = np.stack([recorded_classes(record) for _, record in decodes])
    logits = case.model.decode_logits(z, classes)
    assert logits.dtype == np.float32
    for row, (_, record) in zip(logits, decodes, strict=True):
        expected = case.logits[record["logits_key"]]
        assert row.shape == expected.shape
        np.testing.assert_allclose(row, expected, atol=1e-4, err_msg=record["logits_key"])


def test_recorded_decodes_are_the_argmax_of_the_logits(case: Case) -> None:
    """Magenta's recorded classes are the argmax of our teacher-forced logits at every step
    that is not a recorded near-tie (checks the split of the trio's logit columns too)."""
    latent, record = case.decodes()[-1]
    theirs = recorded_classes(record)
    logits = case.model.decode_logits(latent, theirs)
    offset, chosen = 0, []
    for depth in case.config.output_depths:
        chosen.append(logits[:, offset:offset + depth].argmax(axis=1))
        offset += depth
    stop = record["first_fragile_step"] or len(theirs)
    np.testing.assert_array_equal(np.stack(chosen, axis=-1).reshape(theirs.shape[0], -1)[:stop],
                                  theirs.reshape(len(theirs), -1)[:stop])


def test_batched_decode_equals_single_decodes(case: Case) -> None:
    z = np.stack([latent for latent, _ in case.decodes()[:3]])
    batched = case.model.decode(z)
    for b in range(len(z)):
        np.testing.assert_array_equal(batched[b], case.model.decode(z[b]))


def test_encode_honours_lengths(magenta_fixtures: Path) -> None:
    """A padded input with its length encodes as the unpadded input does."""
    case = load_case(magenta_fixtures, "cat-mel_2bar_small")
    inputs = encoder_inputs(case.config,
                            case.reference["inputs"][2]["to_tensors"]["examples"][0]["inputs"])
    short = inputs[:20]
    padded = np.zeros((2, 32, MELODY_CLASSES), np.float32)
    padded[0, :20] = short
    padded[1] = inputs
    _, mu, sigma = case.model.encode(padded, lengths=np.array([20, 32]))
    _, mu_short, sigma_short = case.model.encode(short[None])
    np.testing.assert_allclose(mu[0], mu_short[0], atol=1e-5)
    np.testing.assert_allclose(sigma[0], sigma_short[0], atol=1e-5)
    np.testing.assert_allclose(mu[1], case.reference["inputs"][2]["encode"]["mu"], atol=1e-4)
    _, mu_unmasked, _ = case.model.encode(padded[:1])
    assert np.abs(mu_unmasked[0] - mu[0]).max() > 1e-3  # the padding would change it
