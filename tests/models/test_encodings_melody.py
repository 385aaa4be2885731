"""Melody converter: Magenta's fixtures (read, windows, decodes) and the extraction rules."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from latentjam.models.configs import get_config
from latentjam.models.encodings.converters import get_converter
from latentjam.models.midi_io import read_midi
from latentjam.models.notesequence import Note, NoteSequence, Tempo

CONFIG = get_config("cat-mel_2bar_small")
STEP = 0.125  # seconds per 16th note at 120 qpm


def note_rows(ns: NoteSequence) -> list[list]:
    rows = [[n.pitch, n.velocity, n.start_time, n.end_time, n.instrument, n.program, n.is_drum]
            for n in ns.notes]
    return sorted(rows, key=lambda r: (r[2], r[4], r[0], r[3]))


def piece(*notes: tuple[int, int, int], **note_fields) -> NoteSequence:
    """Notes given as (pitch, start step, end step) at 120 qpm."""
    ns = NoteSequence(tempos=[Tempo(0.0, 120.0)])
    ns.notes = [Note(p, 90, s * STEP, e * STEP, **note_fields) for p, s, e in notes]
    ns.total_time = max((n.end_time for n in ns.notes), default=0.0)
    return ns


@pytest.fixture(scope="module")
def reference(magenta_fixtures: Path) -> tuple[Path, dict]:
    folder = magenta_fixtures / "cat-mel_2bar_small"
    return folder, json.loads((folder / "reference.json").read_text())


def assert_examples_match(converter, ns: NoteSequence, recorded: dict) -> None:
    got = converter.to_examples(ns).examples
    assert sorted(e.tolist() for e in got) == sorted(e["outputs"] for e in recorded["examples"])
    for example in recorded["examples"]:
        classes = np.array(example["outputs"])
        assert converter.encoder_inputs(classes).argmax(-1).tolist() == example["inputs"]
        assert converter.decoder_targets(classes).shape == (len(classes), 90)


def test_fixture_inputs_give_magentas_examples(reference):
    folder, ref = reference
    converter = get_converter(CONFIG)
    for record in ref["inputs"]:
        ns = read_midi(folder / record["file"])
        assert note_rows(ns) == record["input_sequence"]["notes"], record["file"]
        assert ns.total_time == record["input_sequence"]["total_time"]
        assert record["to_tensors"]["num_examples"] == 1
        assert_examples_match(converter, ns, record["to_tensors"])


def test_fixture_decodes_give_magentas_notes(reference):
    _, ref = reference
    converter = get_converter(CONFIG)
    decodes = [r["decode_mu"] for r in ref["inputs"]] + ref["fixed_z"]["decodes"]
    for decode in decodes:
        ns = converter.to_sequence(np.array(decode["output_classes"]))
        assert note_rows(ns) == decode["notes"]
        assert ns.total_time == decode["total_time"]
        assert [t.qpm for t in ns.tempos] == decode["tempos_qpm"]
        assert ns.time_signatures == []
        assert_examples_match(converter, ns, decode["to_tensors"])


def test_a_long_melody_gives_a_window_on_every_bar():
    # One note per bar, each a different pitch, for 4 bars: windows start at bars 0, 1, 2.
    ns = piece(*[(60 + bar, bar * 16, bar * 16 + 4) for bar in range(4)])
    examples = get_converter(CONFIG).to_examples(ns).examples
    assert [e[0] for e in examples] == [60 - 21 + 2 + bar for bar in range(3)]
    assert all(len(e) == 32 for e in examples)


def test_a_bar_of_silence_splits_the_melody():
    bars_0_1 = [(60, 0, 8), (62, 16, 32)]
    split = get_converter(CONFIG).to_examples(piece(*bars_0_1, (64, 48, 56), (65, 64, 72)))
    joined = get_converter(CONFIG).to_examples(piece(*bars_0_1, (64, 47, 56), (65, 64, 72)))
    assert len(split.examples) == 2  # no window across the gap
    assert len(joined.examples) == 4  # one 5-bar melody: windows at bars 0, 1, 2, 3


def test_a_window_starting_with_a_rest_reads_no_event_first():
    # The window at bar 1 opens on the held end of the 60, then its note-off at step 20.
    ns = piece((60, 0, 20), (62, 34, 44))
    first, second = get_converter(CONFIG).to_examples(ns).examples
    assert first[20] == 1
    assert second[:18].tolist() == [0] * 18
    assert second[18] == 62 - 21 + 2


def test_polyphony_keeps_the_highest_note_or_skips_the_track():
    chord = piece((60, 0, 16), (67, 0, 16), (64, 0, 16), (62, 16, 32))
    first = get_converter(CONFIG).to_examples(chord).examples[0]
    assert first[0] == 67 - 21 + 2
    strict = dataclasses.replace(CONFIG, converter=dataclasses.replace(
        CONFIG.converter, skip_polyphony=True))
    result = get_converter(strict).to_examples(chord)
    assert result.examples == [] and result.skipped == {"polyphonic": 1}


def test_programs_and_pitches_outside_the_melody_range_are_ignored():
    converter = get_converter(CONFIG)
    strings = piece((60, 0, 16), (62, 16, 32), program=48)
    assert converter.to_examples(strings).examples == []
    too_high = piece((60, 0, 16), (110, 16, 24), (62, 24, 32))
    (only,) = converter.to_examples(too_high).examples
    assert only[16:25].tolist() == [1] + [0] * 7 + [62 - 21 + 2]  # the 110 is dropped


def test_a_tempo_change_splits_the_piece_first():
    ns = piece(*[(60 + i, i * 16, i * 16 + 8) for i in range(4)])
    ns.tempos.append(Tempo(2 * 16 * STEP, 90.0))  # from bar 2 on, slower
    first, second = get_converter(CONFIG).to_examples(ns).examples
    assert first[16] == 61 - 21 + 2
    # The second part starts at 0 and is quantized at 90 qpm: 6 steps per second.
    assert second[0] == 62 - 21 + 2 and second[6] == 1 and second[12] == 63 - 21 + 2


def test_empty_and_repeated_material():
    converter = get_converter(CONFIG)
    assert converter.to_examples(NoteSequence()).skipped == {"empty": 1}
    same = piece(*[(60, bar * 16, bar * 16 + 8) for bar in range(4)])
    result = converter.to_examples(same)
    assert len(result.examples) == 1 and result.skipped == {"repeated window": 2}


def test_decoding_holds_and_rests():
    classes = np.zeros(32, dtype=np.int64)
    classes[0], classes[4], classes[8] = 60 - 21 + 2, 1, 62 - 21 + 2
    ns = get_converter(CONFIG).to_sequence(classes)
    assert [(n.pitch, n.start_time, n.end_time) for n in ns.notes] == [
        (60, 0.0, 0.5), (62, 1.0, 4.0)]
    assert ns.total_time == 4.0


def test_a_users_clip_with_a_bar_of_rest_is_encoded_from_its_first_step():
    """Training splits a melody at a bar of rest; a clip to encode is taken as it is."""
    converter = get_converter(CONFIG)
    clip = piece((60, 18, 20), (62, 20, 22))  # rests for the first bar and more
    clip.total_time = 32 * STEP
    assert converter.to_examples(clip).examples == []  # one bar of notes: no 2-bar window
    (window,) = converter.to_examples(clip, training=False).examples
    assert window[:18].tolist() == [0] * 18
    assert window[18] == 60 - 21 + 2 and window[20] == 62 - 21 + 2


def test_a_decoded_loop_lasts_its_window_and_encodes_back_as_it_is():
    converter = get_converter(CONFIG)
    classes = np.zeros(32, dtype=np.int64)
    classes[0], classes[4] = 60 - 21 + 2, 1  # one quarter note, then 7 beats of rest
    decoded = converter.to_sequence(classes)
    assert decoded.total_time == 32 * STEP
    (window,) = converter.to_examples(decoded, training=False).examples
    assert window.tolist() == classes.tolist()
