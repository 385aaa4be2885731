"""Drums converter: Magenta's fixtures (windows, decodes) and the drum-track rules."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from latentjam.models.configs import get_config
from latentjam.models.encodings.converters import get_converter
from latentjam.models.midi_io import read_midi
from latentjam.models.notesequence import Note, NoteSequence, Tempo

CONFIG = get_config("cat-drums_2bar_small")
STEP = 0.125  # seconds per 16th note at 120 qpm
KICK, SNARE, CLOSED_HH, CRASH = 0, 1, 2, 7


def note_rows(ns: NoteSequence) -> list[list]:
    rows = [[n.pitch, n.velocity, n.start_time, n.end_time, n.instrument, n.program, n.is_drum]
            for n in ns.notes]
    return sorted(rows, key=lambda r: (r[2], r[4], r[0], r[3]))


def hits(*hits: tuple[int, int], is_drum: bool = True, instrument: int = 0) -> NoteSequence:
    """Drum hits given as (pitch, step) at 120 qpm."""
    notes = [Note(p, 100, s * STEP, (s + 1) * STEP, instrument, 0, is_drum) for p, s in hits]
    return NoteSequence(notes=notes, tempos=[Tempo(0.0, 120.0)],
                        total_time=max((n.end_time for n in notes), default=0.0))


@pytest.fixture(scope="module")
def reference(magenta_fixtures: Path) -> tuple[Path, dict]:
    folder = magenta_fixtures / "cat-drums_2bar_small"
    return folder, json.loads((folder / "reference.json").read_text())


def assert_examples_match(converter, ns: NoteSequence, recorded: dict) -> None:
    got = converter.to_examples(ns).examples
    assert sorted(e.tolist() for e in got) == sorted(e["outputs"] for e in recorded["examples"])
    for example in recorded["examples"]:
        classes = np.array(example["outputs"])
        roll = converter.encoder_inputs(classes)
        assert [np.flatnonzero(row).tolist() for row in roll] == example["inputs"]
        assert converter.decoder_targets(classes).argmax(-1).tolist() == example["outputs"]


def test_fixture_inputs_give_magentas_examples(reference):
    folder, ref = reference
    converter = get_converter(CONFIG)
    for record in ref["inputs"]:
        ns = read_midi(folder / record["file"])
        assert record["to_tensors"]["num_examples"] == 1
        assert_examples_match(converter, ns, record["to_tensors"])


def test_fixture_decodes_give_magentas_notes(reference):
    _, ref = reference
    converter = get_converter(CONFIG)
    for decode in [r["decode_mu"] for r in ref["inputs"]] + ref["fixed_z"]["decodes"]:
        ns = converter.to_sequence(np.array(decode["output_classes"]))
        assert note_rows(ns) == decode["notes"]
        assert ns.total_time == decode["total_time"]
        assert [t.qpm for t in ns.tempos] == decode["tempos_qpm"]
        assert_examples_match(converter, ns, decode["to_tensors"])


def test_pitches_map_to_classes_and_unknown_ones_are_dropped():
    ns = hits((35, 0), (36, 0), (37, 4), (22, 8), (100, 12), (42, 16), (49, 31))
    (example,) = get_converter(CONFIG).to_examples(ns).examples
    assert example[0] == 1 << KICK  # 35 and 36 are both the kick
    assert example[4] == 1 << SNARE
    assert example[8] == 1 << CLOSED_HH
    assert example[12] == 0  # 100 is no GM drum class
    assert example[31] == 1 << CRASH


def test_sixteen_steps_without_a_hit_end_a_track():
    converter = get_converter(CONFIG)
    assert len(converter.to_examples(hits((36, 0), (38, 16), (38, 31))).examples) == 1
    split = converter.to_examples(hits((36, 0), (38, 17), (38, 31)))  # [0, 16) and [16, 32)
    assert split.examples == [] and split.skipped == {"shorter than a window": 2}


def test_only_drum_notes_count():
    converter = get_converter(CONFIG)
    assert converter.to_examples(hits((36, 0), (38, 16), is_drum=False)).examples == []
    assert converter.to_examples(hits((36, 0), (38, 16))).examples != []


def test_a_bar_without_hits_splits_the_track_and_instruments_merge():
    ns = hits((36, 0), (38, 16))
    ns.notes.append(Note(42, 90, 16 * STEP, 17 * STEP, instrument=3, is_drum=True))
    ns.notes.append(Note(36, 90, 48 * STEP, 49 * STEP, instrument=3, is_drum=True))
    ns.notes.append(Note(38, 90, 64 * STEP, 65 * STEP, instrument=3, is_drum=True))
    ns.total_time = 65 * STEP
    examples = get_converter(CONFIG).to_examples(ns).examples
    # Steps 17..47 have no hit (31 >= 16 steps): tracks [0, 32) and [48, 80), a window each.
    assert len(examples) == 2
    assert examples[0][16] == (1 << SNARE) | (1 << CLOSED_HH)
    assert examples[1][0] == 1 << KICK and examples[1][16] == 1 << SNARE


def test_a_long_track_gives_a_window_on_every_bar():
    ns = hits(*[(36, bar * 16 + bar) for bar in range(5)],
              *[(42, bar * 16 + 8) for bar in range(5)])
    examples = get_converter(CONFIG).to_examples(ns).examples
    assert len(examples) == 4
    assert [int(np.flatnonzero(e)[0]) for e in examples] == [0, 1, 2, 3]


def test_roll_has_a_no_hit_bit():
    roll = get_converter(CONFIG).encoder_inputs(np.array([[0, 3, 511]]))
    assert roll.shape == (1, 3, 10)
    assert roll[0].tolist() == [[0] * 9 + [1], [1, 1] + [0] * 8, [1] * 9 + [0]]


def test_decoded_hits_use_the_first_pitch_of_each_class():
    classes = np.zeros(32, dtype=np.int64)
    classes[2] = (1 << KICK) | (1 << CRASH)
    ns = get_converter(CONFIG).to_sequence(classes)
    assert sorted((n.pitch, n.start_time, n.end_time, n.is_drum, n.instrument)
                  for n in ns.notes) == [(36, 0.25, 0.375, True, 9), (49, 0.25, 0.375, True, 9)]
    assert ns.total_time == 4.0  # the whole 2-bar window (Magenta ends at the last hit)


def test_a_users_drum_clip_with_an_empty_bar_is_encoded_as_it_is():
    converter = get_converter(CONFIG)
    clip = hits((36, 0), (38, 4))  # a bar, then a bar without hits
    clip.total_time = 32 * STEP
    assert converter.to_examples(clip).examples == []
    (window,) = converter.to_examples(clip, training=False).examples
    assert window[0] == 1 and window[4] == 2 and window[16:].tolist() == [0] * 16
