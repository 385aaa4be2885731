"""Fine-tuning on a few files: transposition of pitched parts only, the per-file report with
hints, the too-few-windows stop, early stopping against the base model, and the small-data
defaults that ``--init-from`` brings."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
from latentjam.models.configs import get_config, override_hparams
from latentjam.models.errors import InputError
from latentjam.models.notesequence import Note, NoteSequence, Tempo
from latentjam.models.notesequence_proto import serialize_note_sequence
from latentjam.models.tfrecord import write_records
from latentjam.models.training.dataset import ExampleSet, Piece, transpose_windows
from latentjam.models.training.small_data import (
    FINE_TUNE,
    LEAD_PROGRAMS,
    parse_programs,
    parse_transpose,
    too_few_windows,
    with_melody_programs,
)

MEL = get_config("cat-mel_2bar_small")
DRUMS = get_config("cat-drums_2bar_small")
TRIO = get_config("hierdec-trio_16bar")
TINY = override_hparams(MEL, {"z_size": 8, "enc_rnn_size": [16], "dec_rnn_size": [16, 16],
                              "batch_size": 8})


def tune(seed: int, bars: int = 4, low: int = 60, program: int = 0,
         is_drum: bool = False) -> NoteSequence:
    """A monophonic line of 8ths and quarters at 120 qpm (a bar is 2 s)."""
    rng = np.random.default_rng(seed)
    notes, t = [], 0.0
    while t < bars * 2.0 - 1e-9:
        length = 0.25 * int(rng.choice([1, 2]))
        pitch = int(rng.choice([36, 38, 42])) if is_drum else int(rng.integers(low, low + 12))
        notes.append(Note(pitch, 90, t, t + length, program=program, is_drum=is_drum,
                          instrument=9 if is_drum else 0))
        t += length
    return NoteSequence(notes=notes, tempos=[Tempo(0.0, 120.0)], total_time=t)


def piece(name: str, ns: NoteSequence) -> Piece:
    return Piece(name, name, ns)


# -- transposition -------------------------------------------------------------------------

def test_transposition_moves_pitched_parts_and_never_drums():
    rng = np.random.default_rng(0)
    lines = [0, 1, *range(10, 60)]  # holds, note-offs and pitches well inside the range
    windows = np.stack([np.stack([rng.choice(lines, 32), rng.choice(lines, 32),
                                  rng.integers(0, 512, 32)], axis=-1) for _ in range(6)])
    windows[:, 0] = [1, 0, 2]  # a note-off, a hold and drum class 2 at step 0
    amounts = np.array([-3, -1, 0, 1, 2, 5])
    moved, keep = transpose_windows(windows, amounts, (0, 1), 88)
    assert keep.all()
    np.testing.assert_array_equal(moved[..., 2], windows[..., 2])  # drums untouched
    for part in (0, 1):
        pitched = windows[..., part] >= 2
        shift = moved[..., part].astype(int) - windows[..., part]
        np.testing.assert_array_equal(shift[~pitched], 0)  # holds and note-offs stay
        np.testing.assert_array_equal(shift, np.where(pitched, amounts[:, None], 0))
    # a window whose lowest pitch would fall below the range goes, and only that one
    windows[3, 5, 1] = 2  # MIDI 21, the lowest pitch
    moved, keep = transpose_windows(windows, amounts, (0, 1), 88)
    assert keep.tolist() == [True, True, True, True, True, True]  # +1 from MIDI 21 stays inside
    moved, keep = transpose_windows(windows, -amounts, (0, 1), 88)
    assert keep.tolist() == [True, True, True, False, True, True] and len(moved) == 5


def test_windows_leaving_the_pitch_range_are_skipped_and_counted():
    high = piece("high.mid", tune(1, low=97))  # up to MIDI 108, the top of the range
    low = piece("low.mid", tune(2, low=60))
    examples = ExampleSet([high, low], MEL, augment=True, transpose=(12, 12), seed=1)
    classes, lengths = examples.epoch(0)
    plain = ExampleSet([high, low], MEL)
    per_piece = [r.examples for r in plain.report.per_piece]
    assert per_piece[0] >= 1 and per_piece[1] >= 1
    assert examples.out_of_range[0] == per_piece[0]  # every window of the high tune
    assert len(classes) == len(lengths) == per_piece[1]
    base = plain.epoch(0)[0][per_piece[0]:]
    pitched = base > 1
    np.testing.assert_array_equal(classes[pitched], base[pitched] + 12)
    # held-out windows (no augmentation) never move, whatever the range asked for
    held = ExampleSet([high, low], MEL, transpose=(12, 12)).epoch(0)[0]
    np.testing.assert_array_equal(held, plain.epoch(0)[0])


def test_drum_windows_are_never_transposed():
    beats = [piece(f"beat{i}.mid", tune(i, is_drum=True)) for i in range(2)]
    moved = ExampleSet(beats, DRUMS, augment=True, transpose=(-5, 6), seed=3)
    assert moved.transpose_range is None
    np.testing.assert_array_equal(moved.epoch(4)[0], ExampleSet(beats, DRUMS).epoch(0)[0])


def test_parse_transpose_and_programs():
    assert parse_transpose("-5:6") == (-5, 6)
    assert parse_transpose("3") == (-3, 3)
    assert parse_transpose("off") is None
    with pytest.raises(InputError, match="lowest shift comes first"):
        parse_transpose("6:-5")
    assert parse_programs("magenta") == tuple(range(32))
    assert parse_programs("leads") == LEAD_PROGRAMS and 33 not in LEAD_PROGRAMS
    assert parse_programs("all") == tuple(range(128))
    assert parse_programs("0-2,66") == (0, 1, 2, 66)
    with pytest.raises(InputError):
        parse_programs("0-200")


# -- the per-file report -------------------------------------------------------------------

def test_the_report_names_every_file_with_its_reasons_and_a_hint():
    sax = tune(3, program=66)
    drums_only = tune(4, is_drum=True)
    short = tune(5, bars=1)
    pieces = [piece("good.mid", tune(6)), piece("sax.mid", sax),
              piece("drums.mid", drums_only), piece("short.mid", short)]
    lines = ExampleSet(pieces, MEL).report.file_lines()
    text = "\n".join(lines)
    assert lines[0].startswith(f"{ExampleSet(pieces[:1], MEL).report.examples} examples from "
                               f"4 pieces")
    good = next(line for line in lines if "good.mid" in line)
    assert "good.mid: 0 windows" not in good and "--" not in good
    sax_line = next(line for line in lines if "sax.mid" in line)
    assert "0 windows" in sax_line and "no melody" in sax_line
    assert "66 (reed)" in sax_line and "programs 0-31" in sax_line
    assert "--melody-programs leads" in sax_line
    assert "drums.mid: 0 windows" in text and "drums only" in text
    assert "short.mid: 0 windows (dropped: shorter than a window 1) -- shorter than one " \
           "2-bar window" in text
    # reading melodies from every program but the basses takes the sax line
    leads = with_melody_programs(MEL, LEAD_PROGRAMS)
    assert ExampleSet([pieces[1]], leads).report.examples > 0


def test_a_trio_without_bass_says_which_part_is_missing():
    lead, beat = tune(7, bars=16), tune(8, bars=16, is_drum=True)
    ns = NoteSequence(notes=lead.notes + beat.notes, tempos=lead.tempos,
                      total_time=lead.total_time)
    line = ExampleSet([piece("nobass.mid", ns)], TRIO).report.file_lines()[1]
    assert "nobass.mid: 0 windows (dropped: missing part 1)" in line
    assert "no bass part: none on programs 32-39 (bass)" in line and "no melody" not in line


def test_too_few_windows_says_personalize():
    assert too_few_windows(FINE_TUNE.min_windows, FINE_TUNE.min_windows) is None
    line = too_few_windows(12, 100)
    assert "only 12 training windows" in line and "latentjam personalize" in line


# -- fine-tuning runs (TensorFlow) ---------------------------------------------------------

@pytest.fixture(scope="module")
def tf_train():
    pytest.importorskip("tensorflow", reason="TensorFlow (the 'train' extra) is not installed")
    from latentjam.models.training import train as train_module

    return train_module


def write_tunes(path, count):
    records = []
    for i in range(count):
        ns = tune(10 + i)
        ns.id, ns.filename = f"/id/midi/t/{i}", f"t{i}.mid"
        records.append(serialize_note_sequence(ns))
    write_records(path, records)
    return path


def base_model(tf_train, tmp_path):
    run = tmp_path / "base"
    tf_train.train(tf_train.TrainOptions(run_dir=run, examples=(write_tunes(
        tmp_path / "base.tfrecord", 2),), num_steps=0, config=TINY, eval_fraction=0.0,
        seed=1, jit_compile=False, progress=False), lambda _: None)
    return run / "model.safetensors"


def test_too_few_windows_stops_a_fine_tune_unless_forced(tf_train, tmp_path):
    init = base_model(tf_train, tmp_path)
    examples = write_tunes(tmp_path / "few.tfrecord", 3)
    options = dict(examples=(examples,), num_steps=0, init_from=init, eval_fraction=0.0,
                   seed=2, jit_compile=False, progress=False, min_windows=100)
    with pytest.raises(InputError, match="latentjam personalize.*--force-fine-tune"):
        tf_train.train(tf_train.TrainOptions(run_dir=tmp_path / "a", **options), print)
    lines: list[str] = []
    result = tf_train.train(tf_train.TrainOptions(run_dir=tmp_path / "b", force=True,
                                                  **options), lines.append)
    warnings = [line for line in lines if line.startswith("warning: only")]
    assert len(warnings) == 1 and "latentjam personalize" in warnings[0]
    assert not result.interrupted


def test_early_stopping_keeps_the_base_when_nothing_beats_it(tf_train, tmp_path,
                                                             monkeypatch):
    init = base_model(tf_train, tmp_path)
    scores = iter([0.9, 0.5, 0.6, 0.7, 0.8, 0.85, 0.95])  # the base first, then the fine-tune

    def fake_evaluate(*args, **kwargs):
        return {"examples": 4.0, "sampled_accuracy": next(scores)}

    monkeypatch.setattr(tf_train, "evaluate", fake_evaluate)
    examples = write_tunes(tmp_path / "tunes.tfrecord", 6)
    lines: list[str] = []
    options = tf_train.TrainOptions(
        run_dir=tmp_path / "tuned", examples=(examples,), num_steps=100, init_from=init,
        eval_fraction=0.4, checkpoint_every=2, patience=3, seed=3, jit_compile=False,
        progress=False)
    result = tf_train.train(options, lines.append)
    assert result.stopped_early and result.global_step == 6  # 3 evaluations after the base
    from latentjam.models.training.run_dir import RunDir

    run = RunDir(tmp_path / "tuned")
    assert run.best_step() == 0 and run.best_score() == 0.9  # the base model's weights
    assert any("stopped early at step 6" in line and "base model" in line for line in lines)
    records = [json.loads(line) for line in (tmp_path / "tuned" / "metrics.jsonl").open()]
    assert records[0]["base"] and records[0]["step"] == 0
    # the same command again does not train on: the run is over
    again = tf_train.train(options, lambda _: None)
    assert again.stopped_early and again.global_step == 6


# -- the command line ----------------------------------------------------------------------

def parse(argv):
    from latentjam.app import cli_train

    parser = argparse.ArgumentParser()
    cli_train.add_parsers(parser.add_subparsers())
    return parser.parse_args(["train", *argv])


def test_init_from_brings_the_small_data_defaults(tmp_path):
    from latentjam.app.cli_train import train_options

    common = ["--examples", "x.tfrecord", "--run-dir", str(tmp_path / "run")]
    tuned = train_options(parse(common + ["--init-from", "mel_2bar_chorales"]))
    assert tuned.num_steps == FINE_TUNE.max_steps and tuned.patience == FINE_TUNE.patience
    assert tuned.checkpoint_every == FINE_TUNE.checkpoint_every
    assert tuned.transpose == FINE_TUNE.transpose
    assert tuned.melody_programs == FINE_TUNE.melody_programs
    assert tuned.min_windows == FINE_TUNE.min_windows and not tuned.force
    assert tuned.hparams == FINE_TUNE.hparams()
    assert tuned.hparams["learning_rate"] == FINE_TUNE.learning_rate

    fresh = train_options(parse(common + ["--config", "cat-mel_2bar_small"]))
    assert fresh.num_steps == 10000 and fresh.checkpoint_every == 500
    assert fresh.patience is None and fresh.transpose == "config" and fresh.hparams == {}
    assert fresh.melody_programs is None and fresh.min_windows is None

    told = train_options(parse(common + [
        "--init-from", "mel_2bar_chorales", "--learning-rate", "1e-4", "--num-steps", "300",
        "--transpose", "off", "--patience", "0", "--melody-programs", "magenta",
        "--hparams", "max_beta=0.5", "--force-fine-tune", "--no-sample-check"]))
    assert told.hparams["learning_rate"] == 1e-4 and told.hparams["max_beta"] == 0.5
    assert told.num_steps == 300 and told.transpose is None and told.patience is None
    assert told.melody_programs == tuple(range(32)) and told.force and not told.sample_check
    assert tuned.sample_check
    assert train_options(parse(common + ["--any-program"])).melody_programs == tuple(range(128))

    # resuming a fine-tune, with or without --init-from, keeps its defaults; its
    # hyper-parameters are the run's own (run.json), not overridden again
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run.json").write_text(json.dumps({"init_from": "base", "config": {}}))
    resumed = train_options(parse(common))
    assert resumed.patience == FINE_TUNE.patience and resumed.transpose == FINE_TUNE.transpose
    assert resumed.num_steps == FINE_TUNE.max_steps and resumed.hparams == {}


def test_a_fine_tune_prints_its_defaults_first(tf_train, tmp_path, capsys, monkeypatch):
    from latentjam.app.cli import main

    def fake_train(options):
        return tf_train.TrainResult(options.run_dir, 0, False)

    monkeypatch.setattr(tf_train, "train", fake_train)
    assert main(["train", "--init-from", "mel_2bar_chorales", "--examples", "x.tfrecord",
                 "--run-dir", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err
    assert err.startswith(FINE_TUNE.describe())
    assert "learning rate 0.0003 (constant)" in err and "-5..+6" in err


# -- the guard on the samples of a fine-tune -----------------------------------------------

def test_thinner_samples_than_the_base_are_named():
    from latentjam.models.training.sample_health import PartHealth, worse_than

    base = {"melody": PartHealth(10.6, 5.0, 0.007)}
    assert worse_than({"melody": PartHealth(10.0, 4.7, 0.014)}, base) is None
    why = worse_than({"melody": PartHealth(9.2, 4.0, 0.034)}, base)
    assert "melody: 9.2 notes per loop (base 10.6)" in why
    assert "distinct pitches" in why and "3.4% of loops empty or one note" in why
    trio = {"melody": PartHealth(8.0, 4.0, 0.01), "bass": PartHealth(12.0, 4.0, 0.0),
            "drums": PartHealth(40.0, 4.0, 0.0)}
    vanished = dict(trio, melody=PartHealth(0.5, 0.4, 0.8))
    why = worse_than(vanished, trio)
    assert why.startswith("melody:") and "bass" not in why and "drums" not in why


def test_a_better_score_with_thinner_samples_is_not_kept(tf_train, tmp_path, monkeypatch):
    from latentjam.models.training import sample_health
    from latentjam.models.training.run_dir import RunDir

    init = base_model(tf_train, tmp_path)
    scores = iter([0.5, 0.6, 0.7])  # the base, then two better checkpoints
    healths = iter([sample_health.PartHealth(10.0, 5.0, 0.0),  # the base's samples
                    sample_health.PartHealth(6.0, 3.0, 0.2),  # thinner: not kept
                    sample_health.PartHealth(10.5, 5.0, 0.0)])

    monkeypatch.setattr(tf_train, "evaluate",
                        lambda *a, **k: {"examples": 4.0, "sampled_accuracy": next(scores)})
    monkeypatch.setattr(sample_health, "sample_health",
                        lambda *a, **k: {"melody": next(healths)})
    lines: list[str] = []
    tf_train.train(tf_train.TrainOptions(
        run_dir=tmp_path / "tuned", examples=(write_tunes(tmp_path / "t.tfrecord", 6),),
        num_steps=4, init_from=init, eval_fraction=0.4, checkpoint_every=2, seed=3,
        jit_compile=False, progress=False), lines.append)
    assert RunDir(tmp_path / "tuned").best_step() == 4
    rejected = [line for line in lines if line.startswith("step 2: eval")]
    assert "not kept: its samples are thinner (melody: 6.0 notes per loop" in rejected[0]
    assert any(line.startswith("step 4: eval") and "best so far" in line for line in lines)
