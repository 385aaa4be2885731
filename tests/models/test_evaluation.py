"""The evaluation report: its measures on hand-made inputs, and the whole command on a tiny
random model and a few windows of real music (made here, so the test is quick)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from latentjam.models.checkpoints.native import save_weights
from latentjam.models.configs import config_to_dict, get_config, override_hparams
from latentjam.models.evaluation import metrics
from latentjam.models.midi_io import write_midi
from latentjam.models.notesequence import Note, NoteSequence, Tempo
from latentjam.models.notesequence_proto import serialize_note_sequence
from latentjam.models.tfrecord import write_records
from latentjam.models.variables import expected_shapes

pytest.importorskip("matplotlib")


def note(pitch, start, end, drum=False, instrument=0):
    return Note(pitch, 80, start, end, instrument=instrument, is_drum=drum)


def test_accuracy_and_kl_by_hand():
    assert metrics.step_accuracy(np.array([[1, 2, 3, 4]]), np.array([[1, 0, 3, 0]])) == 0.5
    # KL of N(0, 1) is 0; of N(1, 1) in one dimension it is 0.5 nat.
    assert metrics.kl_bits(np.zeros((1, 3)), np.ones((1, 3)))[0] == pytest.approx(0.0)
    assert metrics.kl_bits(np.array([[1.0]]), np.array([[1.0]]))[0] == pytest.approx(
        0.5 / np.log(2))


def test_pitch_classes_distance_and_drum_hits_by_hand():
    c_and_g = [note(60, 0, 1), note(72, 1, 2), note(67, 2, 3), note(36, 0, 1, drum=True)]
    histogram = metrics.pitch_class_histogram(c_and_g)
    assert histogram[0] == pytest.approx(2 / 3) and histogram[7] == pytest.approx(1 / 3)
    only_c = metrics.pitch_class_histogram([note(48, 0, 1)])
    assert metrics.total_variation(histogram, only_c) == pytest.approx(1 / 3)
    hits = metrics.drum_hits_per_bar([note(36, 0, 1, True), note(35, 1, 2, True),
                                      note(42, 0, 1, True)], bars=2)
    assert hits[0] == 1.0 and hits[2] == 0.5 and hits.sum() == 1.5


def test_part_statistics_and_interpolation_change_by_hand():
    windows = [[note(60, 0, 1), note(64, 1, 2), note(36, 0, 1, drum=True)], []]
    stats = metrics.part_stats(windows, "melody", bars=2)
    assert stats.empty_share == 0.5 and stats.notes_per_bar == 0.5
    assert stats.pitch_range == 4.0
    assert metrics.few_notes_share(windows) == 0.5
    path = np.array([[0, 0, 0, 0], [0, 0, 1, 1], [1, 1, 1, 1]])
    neighbours, ends = metrics.neighbour_change(path)
    assert neighbours == pytest.approx(0.5) and ends == 1.0


def tiny_model(path: Path, base: str = "cat-mel_2bar_small") -> Path:
    """A random model of ``base``'s structure, tiny, saved with its config."""
    config = override_hparams(get_config(base),
                              {"z_size": 4, "enc_rnn_size": [8], "dec_rnn_size": [8, 8]},
                              name=f"tiny-{base}")
    rng = np.random.default_rng(0)
    variables = {name: (rng.standard_normal(shape) * 0.3).astype(np.float32)
                 for name, shape in expected_shapes(config).items()}
    return save_weights(path, variables, {"config": config_to_dict(config)})


def tiny_split(path: Path, pieces: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    sequences = []
    for piece in range(pieces):
        pitches = rng.integers(60, 72, 32)
        notes = [Note(int(p), 80, i * 0.125, (i + 1) * 0.125) for i, p in enumerate(pitches)]
        sequences.append(serialize_note_sequence(NoteSequence(
            notes=notes, tempos=[Tempo(0.0, 120.0)], total_time=4.0, id=f"p{piece}")))
    write_records(path, sequences)
    return path


def test_the_command_writes_the_report_and_its_pictures(tmp_path):
    model = tiny_model(tmp_path / "tiny.safetensors")
    data = tmp_path / "corpus"
    data.mkdir()
    tiny_split(data / "eval.tfrecord", 3, seed=1)
    tiny_split(data / "train.tfrecord", 5, seed=2)
    report, images = tmp_path / "docs" / "models.md", tmp_path / "docs" / "img"
    unseen = tmp_path / "other-music"
    unseen.mkdir()
    notes = [Note(60 + i % 5, 80, i * 0.25, (i + 1) * 0.25) for i in range(32)]
    write_midi(NoteSequence(notes=notes, tempos=[Tempo(0.0, 120.0)], total_time=8.0),
               unseen / "tune.mid")
    done = subprocess.run(
        [sys.executable, "-m", "latentjam", "evaluate", "--models", str(model),
         "--data", f"{model}={data}", "--out", str(report), "--images", str(images),
         "--samples", "16", "--unseen", str(unseen)], capture_output=True, text=True,
        timeout=300)
    assert done.returncode == 0, done.stderr
    text = report.read_text()
    for heading in ("sampled reconstruction accuracy per step", "teacher-forced accuracy",
                    'always "no event", the same steps', "T=0.5 (melody)",
                    "Where it is weak", "interpolation",
                    "Out of collection: 3 distinct windows from 1 of the 1 MIDI files in "
                    "`other-music`", "| melody | "):
        assert heading in text, heading
    # a random model is far from the unseen tune and from its silence baseline
    assert "out of collection (other-music) the melody reconstructs" in text
    pictures = sorted(images.glob("*.png"))
    assert len(pictures) == 4
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pictures)
    assert "](img/" in text  # linked relative to the report


def test_a_missing_model_or_bad_flag_is_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "latentjam", "evaluate", "--data", "nodir"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == "latentjam evaluate: error: --data takes MODEL=DIR, got 'nodir'"


def test_a_trio_is_scored_part_by_part(tmp_path):
    from latentjam.models.evaluation.report import evaluate_model

    model = tiny_model(tmp_path / "trio.safetensors", "hierdec-trio_16bar")
    rng = np.random.default_rng(0)
    sequences = []
    for piece in range(2):  # 16 bars at 120 BPM: melody in 8ths, bass in quarters, kick+hat
        notes = [Note(int(rng.integers(60, 72)), 80, i * 0.25, (i + 1) * 0.25)
                 for i in range(128)]
        notes += [Note(int(rng.integers(36, 48)), 80, i * 0.5, (i + 1) * 0.5, instrument=1,
                       program=33) for i in range(64)]
        notes += [Note(36 if i % 2 else 42, 80, i * 0.25, i * 0.25 + 0.1, instrument=9,
                       is_drum=True) for i in range(128)]
        sequences.append(serialize_note_sequence(NoteSequence(
            notes=notes, tempos=[Tempo(0.0, 120.0)], total_time=32.0, id=f"t{piece}")))
    write_records(tmp_path / "eval.tfrecord", sequences)
    result = evaluate_model(str(model), tmp_path / "eval.tfrecord", None, tmp_path / "img",
                            tmp_path, samples=4)
    assert [p.part for p in result.part_accuracy] == ["melody", "bass", "drums"]
    forced = [p.teacher_forced for p in result.part_accuracy]
    drawn = [p.sampled for p in result.part_accuracy]
    silent = [p.no_event for p in result.part_accuracy]
    assert result.teacher_forced == pytest.approx(np.mean(forced))
    assert result.sampled == pytest.approx(np.mean(drawn))
    assert result.no_event == pytest.approx(np.mean(silent))
    assert all(0.0 <= a <= 1.0 for a in forced + drawn)
    # eighths held one step, quarters in the bass, kick or hat on every eighth: half, three
    # quarters and half of the steps start nothing
    assert silent == pytest.approx([0.5, 0.75, 0.5])
