"""Multi-instrument performance converter (hier-multiperf_vel_1bar): Magenta's fixtures
event for event, and the rules on hand-made bars."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from latentjam.models.configs import MULTIPERF_CLASSES, get_config, load_config
from latentjam.models.encodings import performance as perf
from latentjam.models.encodings.converters import get_converter
from latentjam.models.encodings.multiperf import PAD, MultiPerfConverter, num_classes
from latentjam.models.midi_io import read_midi
from latentjam.models.notesequence import Note, NoteSequence, Tempo, TimeSignature

CONFIG = get_config("hier-multiperf_vel_1bar_med")
STEP = 60.0 / 120.0 / 24  # seconds per step at 120 qpm (24 steps per quarter)
BAR = 96
ON, OFF, SHIFT, VEL = 0, 128, 255, 351  # token of pitch p / shift k / bin b: base + value
PROGRAM, DRUMS, END = 360, 488, 489


@pytest.fixture(scope="module")
def converter() -> MultiPerfConverter:
    return get_converter(CONFIG)


def note_rows(ns: NoteSequence, digits: int = 9) -> list[list]:
    rows = [[n.pitch, n.velocity, round(n.start_time, digits), round(n.end_time, digits),
             n.instrument, n.program, n.is_drum] for n in ns.notes]
    return sorted(rows, key=lambda r: (r[2], r[4], r[0], r[3]))


def recorded_rows(notes: list[list], digits: int = 9) -> list[list]:
    return [[p, v, round(s, digits), round(e, digits), i, prog, d]
            for p, v, s, e, i, prog, d in notes]


def tokens(example: np.ndarray) -> list[list[int]]:
    return [[int(t) for t in row if t != PAD] for row in example.reshape(8, 64)]


def bar_of(notes: list[Note], bars: int = 1, qpm: float = 120.0) -> NoteSequence:
    return NoteSequence(notes=notes, tempos=[Tempo(0.0, qpm)],
                        total_time=max([n.end_time for n in notes] + [0.0]))


# -- Magenta's own outputs ------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference(multiperf_fixture: Path) -> tuple[Path, dict]:
    return multiperf_fixture, json.loads((multiperf_fixture / "reference.json").read_text())


def all_decodes(ref: dict) -> list[dict]:
    return [d for r in ref["inputs"] for d in r["decode_mu"]] + ref["fixed_z"]["decodes"]


def test_fixture_config_and_vocabulary(reference, converter):
    folder, ref = reference
    tiny = load_config(folder / "config.json")
    assert tiny.base_config == CONFIG.name
    assert (tiny.hparams.z_size, tiny.hparams.enc_rnn_size, tiny.hparams.dec_rnn_size) == \
        (32, (64,), (64, 64, 64))
    hp = ref["hparams"]
    for key, value in hp.items():
        if key not in ref["model"]["hparam_overrides"] and key != "batch_size":
            ours = getattr(CONFIG.hparams, key)
            assert (list(ours) if isinstance(ours, tuple) else ours) == value, key
    conv = ref["converter"]
    assert conv["input_depth"] == conv["output_depth"] == converter.depth == \
        CONFIG.output_depth == MULTIPERF_CLASSES == num_classes(CONFIG.converter) == 490
    assert conv["end_token"] == converter.end_token == END
    assert conv["max_lengths"] == [1, 8, 64] and conv["length_shape"] == [8]
    assert conv["steps_per_quarter"] == CONFIG.converter.steps_per_quarter
    assert CONFIG.level_lengths == (8, 64) and CONFIG.encoder_level_lengths == (64, 8)


def test_fixture_inputs_give_magentas_examples(reference, converter):
    folder, ref = reference
    total = 0
    for record in ref["inputs"]:
        ns = read_midi(folder / record["file"])
        assert note_rows(ns, 12) == recorded_rows(record["input_sequence"]["notes"], 12)
        got = converter.to_examples(ns).examples
        recorded = record["to_tensors"]["examples"]
        assert [tokens(e) for e in got] == [e["tokens"] for e in recorded], record["file"]
        for example, want in zip(got, recorded, strict=True):
            assert converter.instrument_lengths(example).tolist() == want["lengths"]
            rows = converter.encoder_inputs(example)
            assert rows.shape == (512, 490) and rows.dtype == np.float32
            lengths = want["lengths"]
            for i, toks in enumerate(want["tokens"]):
                segment = rows[64 * i:64 * (i + 1)]
                assert segment[:lengths[i]].argmax(-1).tolist() == toks
                assert not segment[lengths[i]:].any()  # Magenta pads with zero rows
            assert np.array_equal(converter.decoder_targets(example), rows)
        total += len(got)
    assert total == 17


def test_skip_reasons_of_the_awkward_file(reference, converter):
    folder, _ = reference
    skipped = converter.to_examples(read_midi(folder / "inputs/band_02.mid")).skipped
    assert skipped == {"fewer than 2 instruments": 1, "more than 8 instruments": 1,
                       "too few events": 1, "too many events in an instrument": 1}
    assert converter.to_examples(read_midi(folder / "inputs/band_03.mid")).skipped == \
        {"not 4/4": 1}


def test_examples_back_to_notes_as_magenta(reference, converter):
    folder, ref = reference
    for record in ref["inputs"]:
        got = converter.to_examples(read_midi(folder / record["file"])).examples
        for example, want in zip(got, record["to_tensors"]["from_tensors"], strict=True):
            assert note_rows(converter.to_sequence(example)) == recorded_rows(want["notes"])


def test_decoded_classes_to_notes_as_magenta(reference, converter):
    _, ref = reference
    for decode in all_decodes(ref):
        ns = converter.to_sequence(np.array(decode["output_classes"]))
        assert note_rows(ns) == recorded_rows(decode["notes"]), decode["logits_key"]
        # and Magenta's converter read the decoded bar back into these examples
        again = converter.to_examples(ns).examples
        assert [tokens(e) for e in again] == \
            [e["tokens"] for e in decode["to_tensors"]["examples"]], decode["logits_key"]


def test_random_tokens_to_notes_as_magenta(reference, converter):
    _, ref = reference
    for record in ref["random_from_tensors"]:
        ns = converter.to_sequence(np.array(record["tokens"]))
        assert note_rows(ns) == recorded_rows(record["sequence"]["notes"])


# -- the rules, on hand-made bars -----------------------------------------------------------


def test_velocity_bins():
    assert perf.velocity_bin_size(8) == 16
    assert [perf.velocity_to_bin(v, 8) for v in (1, 16, 17, 64, 112, 113, 127)] == \
        [1, 1, 2, 4, 7, 8, 8]
    assert [perf.bin_to_velocity(b, 8) for b in range(1, 9)] == \
        [1, 17, 33, 49, 65, 81, 97, 113]
    for v in range(1, 128):  # a bin plays at the lowest velocity of its range
        b = perf.velocity_to_bin(v, 8)
        assert perf.velocity_to_bin(perf.bin_to_velocity(b, 8), 8) == b
        assert perf.bin_to_velocity(b, 8) <= v


def test_set_length_pads_with_longest_shifts_and_trims():
    events = [(perf.NOTE_ON, 60), (perf.TIME_SHIFT, 10)]
    assert perf.set_length(events, 200, 96) == [
        (perf.NOTE_ON, 60), (perf.TIME_SHIFT, 96), (perf.TIME_SHIFT, 96),
        (perf.TIME_SHIFT, 8)]
    long = [(perf.TIME_SHIFT, 50), (perf.NOTE_ON, 60), (perf.TIME_SHIFT, 60),
            (perf.NOTE_OFF, 60)]
    assert perf.set_length(long, 96, 96) == [
        (perf.TIME_SHIFT, 50), (perf.NOTE_ON, 60), (perf.TIME_SHIFT, 46)]


def test_two_instrument_bar_tokens_and_round_trip(converter):
    piano = [Note(60, 100, 0.0, 24 * STEP, 0, 0), Note(64, 40, 0.0, 48 * STEP, 0, 0),
             Note(67, 40, 48 * STEP, BAR * STEP, 0, 0)]
    drums = [Note(36, 127, 0.0, 6 * STEP, 1, 0, True), Note(38, 90, 24 * STEP, 30 * STEP, 1, 0,
                                                             True)]
    ns = bar_of(piano + drums)
    (example,) = converter.to_examples(ns).examples
    rows = tokens(example)
    # notes of one start are read by pitch; a bin change comes before its note-on
    assert rows[0] == [PROGRAM + 0, VEL + 7, ON + 60, VEL + 3, ON + 64, SHIFT + 24, OFF + 60,
                       SHIFT + 24, OFF + 64, ON + 67, SHIFT + 48, OFF + 67, END]
    assert rows[1] == [DRUMS, VEL + 8, ON + 36, SHIFT + 6, OFF + 36, SHIFT + 18, VEL + 6,
                       ON + 38, SHIFT + 6, OFF + 38, SHIFT + 66, END]
    assert rows[2:] == [[END]] * 6
    assert converter.instrument_lengths(example).tolist() == [13, 12, 1, 1, 1, 1, 1, 1]
    back = converter.to_sequence(example)
    assert back.total_time == pytest.approx(2.0)  # the loop lasts its bar
    velocity = {127: 113, 100: 97, 90: 81, 40: 33}
    want = [Note(n.pitch, velocity[n.velocity], n.start_time, n.end_time, n.instrument,
                 n.program, n.is_drum) for n in piano + drums]
    assert note_rows(back) == note_rows(bar_of(want))
    assert [tokens(e) for e in converter.to_examples(back).examples] == [rows]


def test_instruments_sorted_by_program_drums_last(converter):
    ns = bar_of([Note(36, 100, 0.0, 0.1, 0, 0, True), Note(50, 100, 0.0, 0.5, 1, 81),
                 Note(52, 100, 0.0, 0.5, 2, 5), Note(42, 80, 0.5, 0.6, 3, 0, True)])
    (example,) = converter.to_examples(ns).examples
    assert [row[0] for row in tokens(example)[:4]] == [PROGRAM + 5, PROGRAM + 81, DRUMS, DRUMS]
    back = converter.to_sequence(example)
    assert sorted({(n.instrument, n.program, n.is_drum) for n in back.notes}) == [
        (0, 5, False), (1, 81, False), (2, 0, True), (3, 0, True)]


def test_notes_held_past_the_bar_end_on_its_last_step(converter):
    ns = bar_of([Note(60, 64, 0.0, 3.0, 0, 0), Note(40, 64, 0.0, 0.5, 1, 33),
                 Note(40, 64, 2.0, 2.5, 1, 33), Note(36, 64, 2.0, 2.1, 2, 0, True)])
    first, second = converter.to_examples(ns).examples
    assert tokens(first)[0] == [PROGRAM + 0, VEL + 4, ON + 60, SHIFT + 96, OFF + 60, END]
    # the held note does not reach bar 2
    assert [row[0] for row in tokens(second)] == [PROGRAM + 33, DRUMS] + [END] * 6


def test_the_eight_instrument_cap(converter):
    notes = [Note(40 + i, 80, 0.0, 0.25 * (1 + i % 3), i, i) for i in range(9)]
    notes.append(Note(70, 80, 1.0, 1.5, 4, 4))  # instrument 4 plays two notes
    ns = bar_of(notes)
    found = converter.to_examples(ns)
    assert found.examples == [] and found.skipped == {"more than 8 instruments": 1}
    clip = converter.to_examples(ns, training=False)
    (example,) = clip.examples
    assert clip.kept == {"more than 8 instruments": 1}
    programs = [row[0] - PROGRAM for row in tokens(example)]
    assert programs == [0, 1, 2, 3, 4, 5, 6, 7]  # instrument 8 has the fewest notes
    eight = bar_of([n for n in notes if n.instrument < 8])
    assert len(converter.to_examples(eight).examples) == 1


def test_one_instrument_is_for_a_users_clip_only(converter):
    ns = bar_of([Note(60 + k, 90, 0.5 * k, 0.5 * k + 0.25, 0, 0) for k in range(4)])
    assert converter.to_examples(ns).skipped == {"fewer than 2 instruments": 1}
    clip = converter.to_examples(ns, training=False)
    assert len(clip.examples) == 1 and clip.kept == {"fewer than 2 instruments": 1}


def test_a_crowded_instrument_is_cut_for_a_users_clip(converter):
    notes = [Note(60 + k % 3, 20 + 7 * k, k * 0.1, k * 0.1 + 0.05, 0, 0) for k in range(20)]
    notes.append(Note(36, 100, 0.0, 0.1, 1, 0, True))
    ns = bar_of(notes)
    assert converter.to_examples(ns).skipped == {"too many events in an instrument": 1}
    (example,) = converter.to_examples(ns, training=False).examples
    assert converter.instrument_lengths(example)[0] == 64


def test_not_4_4_and_tempo_parts(converter):
    notes = [Note(60, 80, t, t + 0.4, i, 0) for i in range(2) for t in (0.0, 1.0, 2.0)]
    waltz = NoteSequence(notes=notes, tempos=[Tempo(0.0, 120.0)],
                         time_signatures=[TimeSignature(0.0, 3, 4)], total_time=2.4)
    found = converter.to_examples(waltz)
    assert found.examples == [] and found.skipped == {"not 4/4": 1}
    # at 60 qpm a bar lasts 4 s: the six notes are one bar
    slow = NoteSequence(notes=notes, tempos=[Tempo(0.0, 60.0)], total_time=2.4)
    assert len(converter.to_examples(slow).examples) == 1
    assert len(converter.to_examples(bar_of(notes)).examples) == 2


def test_to_sequence_reads_programs_and_end_tokens_as_magenta(converter):
    row = [PROGRAM + 30, PROGRAM + 99, VEL + 2, ON + 50, SHIFT + 12, OFF + 50, ON + 51,
           END, ON + 70, SHIFT + 5]
    classes = np.full((8, 64), PAD, np.int64)
    classes[0, :len(row)] = row
    classes[1, :3] = [ON + 62, SHIFT + 4, END]  # no program token: program 0
    classes[2, :5] = [DRUMS, ON + 36, SHIFT + 96, SHIFT + 3, END]  # past the bar's end
    classes[3:, 0] = END
    ns = converter.to_sequence(classes, qpm=60.0)
    step = 60.0 / 60.0 / 24
    assert note_rows(ns) == note_rows(NoteSequence(notes=[
        Note(50, 17, 0.0, 12 * step, 0, 30),
        Note(51, 17, 12 * step, 96 * step, 0, 30),  # never ended: held to the bar's end
        Note(62, 100, 0.0, 96 * step, 1, 0),  # before any velocity event: 100
        Note(36, 100, 0.0, 96 * step, 2, 0, True),  # cut at the bar's end
    ]))
    assert ns.total_time == pytest.approx(96 * step) and ns.tempos[0].qpm == 60.0


def test_encoder_inputs_zero_rows_for_padding(converter):
    classes = np.full((2, 512), PAD, np.int64)
    classes[:, ::64] = END
    classes[1, :3] = [PROGRAM, ON + 60, END]
    rows = converter.encoder_inputs(classes)
    assert rows.shape == (2, 512, 490)
    assert rows.sum() == 8 + 8 + 2
    assert converter.instrument_lengths(classes).tolist() == [[1] * 8, [3] + [1] * 7]


def test_config_registered_as_magentas():
    assert get_config("hier-multiperf_vel_1bar_big").hparams.enc_rnn_size == (2048,)
    assert get_config("hier-multiperf_vel_1bar_big").hparams.dec_rnn_size == (1024,) * 3
    assert CONFIG.hparams.max_seq_len == 8 * 64 and CONFIG.hparams.z_size == 512
    assert CONFIG.hparams.enc_rnn_size == (1024,) and CONFIG.hparams.dec_rnn_size == (512,) * 3
    assert CONFIG.transpose_range == (-3, 3)
    assert isinstance(get_converter(CONFIG), MultiPerfConverter)
