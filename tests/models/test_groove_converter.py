"""The groove converter against Magenta's ``GrooveConverter`` on the GrooVAE fixtures
(``tests/fixtures/magenta/build_groovae_fixtures.py`` made them in the reference
environment): the rows of every input in both modes, the notes back from rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from latentjam.models.configs import config_from_dict
from latentjam.models.encodings.converters import get_converter
from latentjam.models.encodings.groove import (
    INFER_PITCH_CLASSES,
    TRAIN_PITCH_CLASSES,
    encoder_rows,
    groove_notes,
)
from latentjam.models.midi_io import read_midi

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "magenta"
CONFIGS = ["groovae_2bar_humanize", "groovae_2bar_tap_fixed_velocity", "groovae_4bar"]


def load(name: str):
    folder = FIXTURES / f"{name}_tiny"
    reference = json.loads((folder / "reference.json").read_text())
    config = config_from_dict(json.loads((folder / "config.json").read_text()))
    return folder, reference, np.load(folder / "tensors.npz"), config


def notes_rows(notes) -> np.ndarray:
    """Sortable ``[pitch, velocity, start, end]`` rows."""
    rows = np.array([[n[0], n[1], n[2], n[3]] for n in notes], float).reshape(-1, 4)
    return rows[np.lexsort((rows[:, 0], rows[:, 2]))]


def ours_rows(notes) -> np.ndarray:
    return notes_rows([[n.pitch, n.velocity, n.start_time, n.end_time] for n in notes])


@pytest.mark.parametrize("name", CONFIGS)
def test_pitch_classes_are_magentas(name):
    _, reference, _, _ = load(name)
    assert [list(c) for c in TRAIN_PITCH_CLASSES] == reference["converter"]["train_pitch_classes"]
    assert [list(c) for c in INFER_PITCH_CLASSES] == reference["converter"]["infer_pitch_classes"]


@pytest.mark.parametrize("name", CONFIGS)
def test_rows_of_every_input_match_magenta(name):
    _, reference, tensors, config = load(name)
    converter = get_converter(config)
    assert config.input_depth == config.output_depth == reference["converter"]["output_depth"]
    compared = 0
    for index, record in enumerate(reference["inputs"]):
        ns = read_midi(FIXTURES / record["file"])
        for mode in ("infer", "train"):
            found = converter.to_examples(ns, training=mode == "train")
            expected = record[mode]
            if "error" in expected:  # Magenta raises on the pitch its map lacks; we skip it
                assert found.skipped.get("pitch outside the drum map") == 1, found.skipped
                continue
            assert len(found.examples) == expected["examples"], (record["file"], mode)
            if not expected["examples"]:
                assert found.skipped, record["file"]
                continue
            key = f"input_{index:02d}_{mode}"
            outputs = np.stack([converter.decoder_targets(e) for e in found.examples])
            inputs = np.stack([converter.encoder_inputs(e) for e in found.examples])
            np.testing.assert_allclose(outputs, tensors[f"{key}_outputs"], atol=1e-5)
            np.testing.assert_allclose(inputs, tensors[f"{key}_inputs"], atol=1e-5)
            compared += len(found.examples)
    assert compared >= 4


@pytest.mark.parametrize("name", CONFIGS)
def test_notes_from_rows_match_magenta(name):
    _, reference, tensors, _ = load(name)
    cases = [(tensors[r["key"]], r["notes"]) for r in reference["random_from_tensors"]]
    for index, record in enumerate(reference["inputs"]):
        if record["infer"].get("from_tensors"):
            rows = tensors[f"input_{index:02d}_infer_outputs"]
            cases += list(zip(rows, record["infer"]["from_tensors"], strict=True))
    assert len(cases) >= 4
    for rows, expected in cases:
        want = notes_rows(expected)
        want[:, 1] = np.maximum(want[:, 1], 1)  # Magenta's velocity 0 plays at 1 here
        got = ours_rows(groove_notes(rows, 4, 120.0))
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_the_encoder_rows_of_each_config_differ_as_magentas_do():
    rows = np.zeros((2, 27), np.float32)
    rows[0, [0, 2]] = 1  # kick and closed hi-hat on step 0
    rows[0, [9, 11]] = [0.9, 0.4]
    rows[0, [18, 20]] = [-0.2, 0.3]
    configs = {name: load(name)[3].converter for name in CONFIGS}
    humanized = encoder_rows(rows, configs["groovae_2bar_humanize"])
    assert humanized[0, :9].tolist() == rows[0, :9].tolist() and not humanized[:, 9:].any()
    tapped = encoder_rows(rows, configs["groovae_2bar_tap_fixed_velocity"])
    assert np.flatnonzero(tapped[0]).tolist() == [3, 21]  # the kick's hit and offset, tapped
    assert tapped[0, 21] == pytest.approx(-0.2) and not tapped[1].any()
    np.testing.assert_array_equal(encoder_rows(rows, configs["groovae_4bar"]), rows)
