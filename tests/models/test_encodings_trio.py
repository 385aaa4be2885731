"""Trio converter: Magenta's fixtures (windows, decodes) and the coverage rules."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from latentjam.models.configs import get_config, load_config
from latentjam.models.encodings.converters import get_converter
from latentjam.models.midi_io import read_midi
from latentjam.models.notesequence import Note, NoteSequence, Tempo

CONFIG = get_config("hierdec-trio_16bar")
STEP = 0.125  # seconds per 16th note at 120 qpm
BAR = 16


def note_rows(ns: NoteSequence) -> list[list]:
    rows = [[n.pitch, n.velocity, n.start_time, n.end_time, n.instrument, n.program, n.is_drum]
            for n in ns.notes]
    return sorted(rows, key=lambda r: (r[2], r[4], r[0], r[3]))


def trio(bars: int, silent_melody_bars: range = range(0), bass_program: int = 33) -> NoteSequence:
    """One melody note, one bass note and one kick per bar; the melody rests where told."""
    notes = []
    for bar in range(bars):
        start, end = bar * BAR * STEP, (bar * BAR + 4) * STEP
        if bar not in silent_melody_bars:
            notes.append(Note(60 + bar % 12, 90, start, end, 0, 0))
        notes.append(Note(36 + bar % 5, 90, start, end, 1, bass_program))
        notes.append(Note(36, 90, start, start + STEP, 2, 0, True))
    return NoteSequence(notes=notes, tempos=[Tempo(0.0, 120.0)],
                        total_time=max(n.end_time for n in notes))


@pytest.fixture(scope="module")
def reference(magenta_fixtures: Path) -> tuple[Path, dict]:
    folder = magenta_fixtures / "hierdec-trio_16bar_tiny"
    return folder, json.loads((folder / "reference.json").read_text())


def assert_examples_match(converter, ns: NoteSequence, recorded: dict) -> None:
    got = converter.to_examples(ns).examples
    assert sorted(e.tolist() for e in got) == sorted(e["outputs"] for e in recorded["examples"])
    for example in recorded["examples"]:
        rows = converter.encoder_inputs(np.array(example["outputs"]))
        assert rows.shape[-1] == 692
        parts = [rows[:, :90], rows[:, 90:180], rows[:, 180:]]
        assert np.stack([p.argmax(-1) for p in parts], -1).tolist() == example["inputs"]
        assert np.array_equal(converter.decoder_targets(np.array(example["outputs"])), rows)


def test_fixture_inputs_give_magentas_examples(reference):
    folder, ref = reference
    converter = get_converter(load_config(folder / "config.json"))
    for record in ref["inputs"]:
        ns = read_midi(folder / record["file"])
        assert record["to_tensors"]["num_examples"] == 1
        assert_examples_match(converter, ns, record["to_tensors"])


def test_fixture_decodes_give_magentas_notes(reference):
    folder, ref = reference
    converter = get_converter(load_config(folder / "config.json"))
    for decode in [r["decode_mu"] for r in ref["inputs"]] + ref["fixed_z"]["decodes"]:
        ns = converter.to_sequence(np.array(decode["output_classes"]))
        assert note_rows(ns) == decode["notes"]
        assert ns.total_time == decode["total_time"]
        assert [t.qpm for t in ns.tempos] == decode["tempos_qpm"]
        assert_examples_match(converter, ns, decode["to_tensors"])


def test_a_longer_piece_gives_a_window_on_every_bar():
    examples = get_converter(CONFIG).to_examples(trio(18)).examples
    assert len(examples) == 3
    assert all(e.shape == (256, 3) and e.dtype == np.int64 for e in examples)
    # Window k starts at bar k: its first melody note is that bar's.
    assert [int(e[0, 0]) for e in examples] == [60 + k - 21 + 2 for k in range(3)]


def test_short_rests_are_bridged_and_long_ones_drop_windows():
    converter = get_converter(CONFIG)
    bridged = converter.to_examples(trio(16, silent_melody_bars=range(6, 10)))
    assert len(bridged.examples) == 1  # 4 silent bars: each within 2 bars of a note
    gap = converter.to_examples(trio(16, silent_melody_bars=range(5, 10)))
    assert gap.examples == [] and gap.skipped == {"window with a silent part": 1}


def test_silence_at_the_ends_is_allowed_while_another_part_plays():
    # Bar 15 has no melody within 2 bars, but the ends only need some part playing.
    examples = get_converter(CONFIG).to_examples(trio(16, range(13, 16))).examples
    assert len(examples) == 1
    assert examples[0][13 * BAR:, 0].tolist() == [0] * (3 * BAR)


def test_all_three_parts_are_needed():
    converter = get_converter(CONFIG)
    organ_bass = converter.to_examples(trio(16, bass_program=16))  # two melody instruments
    assert organ_bass.examples == [] and organ_bass.skipped == {"missing part": 1}
    strings = converter.to_examples(trio(16, bass_program=48))  # no type at all
    assert strings.skipped == {"missing part": 1}


def test_every_choice_of_instruments_is_a_window():
    ns = trio(16)
    ns.notes += [Note(n.pitch + 12, 90, n.start_time, n.end_time, 5, 4)
                 for n in ns.notes if n.instrument == 0]
    examples = get_converter(CONFIG).to_examples(ns).examples
    assert sorted(int(e[0, 0]) for e in examples) == [60 - 19, 72 - 19]


def test_decoded_parts_get_their_instruments():
    classes = np.zeros((256, 3), dtype=np.int64)
    classes[0] = [60 - 19, 40 - 19, 1 | 2]
    ns = get_converter(CONFIG).to_sequence(classes)
    assert sorted((n.pitch, n.instrument, n.program, n.is_drum) for n in ns.notes) == [
        (36, 9, 0, True), (38, 9, 0, True), (40, 1, 33, False), (60, 0, 0, False)]
    assert ns.total_time == 256 * STEP  # held notes last to the end


def test_a_users_trio_that_rests_is_encoded_as_it_is():
    """Magenta's silent-part rule is for training data; a clip to encode is taken whole."""
    converter = get_converter(CONFIG)
    resting = trio(16, silent_melody_bars=range(5, 10))  # training skips this window
    assert converter.to_examples(resting).examples == []
    found = converter.to_examples(resting, training=False)
    (window,) = found.examples
    assert found.kept == {"window with a silent part": 1} and found.skipped == {}
    assert window[5 * BAR:10 * BAR, 0].tolist() == [0] * (5 * BAR)  # the rests, as rests
    assert window[0, 0] == 60 - 19 and window[10 * BAR, 0] == 60 + 10 - 19


def test_a_part_the_clip_lacks_is_encoded_as_silence_when_not_training():
    converter = get_converter(CONFIG)
    no_bass = trio(16)
    no_bass.notes = [n for n in no_bass.notes if n.instrument != 1]
    assert converter.to_examples(no_bass).skipped == {"missing part": 1}
    found = converter.to_examples(no_bass, training=False)
    (window,) = found.examples
    assert found.kept["missing part"] == 1
    assert window[:, 1].tolist() == [0] * (16 * BAR) and window[0, 0] == 60 - 19
    assert converter.to_examples(NoteSequence(), training=False).examples == []


def test_the_models_own_output_with_a_silent_part_encodes_back():
    converter = get_converter(CONFIG)
    classes = np.zeros((16 * BAR, 3), dtype=np.int64)
    classes[::BAR, 1] = 40 - 19  # a bass note a bar, no melody at all, no drums
    decoded = converter.to_sequence(classes)
    (window,) = converter.to_examples(decoded, training=False).examples
    assert window[:, 1].tolist() == classes[:, 1].tolist()
    assert window[:, 0].tolist() == [0] * (16 * BAR)
