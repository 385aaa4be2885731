"""``latentjam convert`` and ``latentjam train`` from the command line."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest
from latentjam.app.cli import main
from latentjam.app.cli_train import parse_hparams
from latentjam.models.errors import ConfigError
from latentjam.models.midi_io import read_midi, write_midi
from latentjam.models.notesequence import Note, NoteSequence, Tempo
from latentjam.models.notesequence_proto import parse_note_sequence
from latentjam.models.tfrecord import read_records


def tune(pitch: int) -> NoteSequence:
    notes = [Note(pitch + (i % 5), 90, i * 0.25, i * 0.25 + 0.25) for i in range(16)]
    return NoteSequence(notes=notes, tempos=[Tempo(0.0, 120.0)], total_time=4.0)


def test_convert_names_bad_files_keeps_going_and_sets_magenta_ids(tmp_path, capsys):
    folder = tmp_path / "band"
    (folder / "live").mkdir(parents=True)
    write_midi(tune(60), folder / "a.mid")
    write_midi(tune(64), folder / "live" / "b.MIDI")
    (folder / "corrupt.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01")
    (folder / "fake.mid").write_bytes(b"this is text")
    (folder / "notes.txt").write_text("not music")
    out = tmp_path / "band.tfrecord"

    assert main(["convert", str(folder), str(out), "--recursive"]) == 0
    err = capsys.readouterr().err
    assert "converted 2 MIDI files" in err
    assert "corrupt.mid: corrupt MIDI file" in err and "fake.mid: not a MIDI file" in err
    assert "notes.txt" in err

    sequences = [parse_note_sequence(r) for r in read_records(out)]
    assert [s.filename for s in sequences] == ["a.mid", "live/b.MIDI"]
    for ns in sequences:
        assert ns.collection_name == "band"
        assert ns.id == "/id/midi/band/" + hashlib.sha1(ns.filename.encode()).hexdigest()
    assert len(sequences[0].notes) == len(read_midi(folder / "a.mid").notes) == 16

    assert main(["convert", str(folder), str(tmp_path / "flat.tfrecord")]) == 0
    assert len(list(read_records(tmp_path / "flat.tfrecord"))) == 1  # no subfolders


def test_convert_with_nothing_convertible_is_an_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.mid").write_bytes(b"junk")
    assert main(["convert", str(tmp_path / "empty"), str(tmp_path / "out.tfrecord")]) == 2
    assert "no MIDI file could be converted" in capsys.readouterr().err
    assert not (tmp_path / "out.tfrecord").exists()


def test_parse_hparams():
    assert parse_hparams("max_beta=0.5, dec_rnn_size=[64,64],sampling_schedule=constant,"
                         "conditional=true") == {
        "max_beta": 0.5, "dec_rnn_size": [64, 64], "sampling_schedule": "constant",
        "conditional": True}
    assert parse_hparams("") == {}
    with pytest.raises(ConfigError, match="key=value"):
        parse_hparams("z_size")


def test_cli_does_not_import_tensorflow():
    code = ("import sys; from latentjam.app.cli import build_parser; build_parser(); "
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_train_without_tensorflow_says_how_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # makes `import tensorflow` fail
    code = main(["train", "--config", "cat-mel_2bar_small", "--examples", "x.tfrecord",
                 "--run-dir", str(tmp_path / "run")])
    assert code == 2
    assert "pip install 'latentjam[train]'" in capsys.readouterr().err


def test_convert_then_train_from_the_command_line(tmp_path, capsys):
    pytest.importorskip("tensorflow", reason="TensorFlow (the 'train' extra) is not installed")
    folder = tmp_path / "midi"
    folder.mkdir()
    for index in range(3):
        write_midi(tune(55 + 3 * index), folder / f"t{index}.mid")
    examples = tmp_path / "t.tfrecord"
    assert main(["convert", str(folder), str(examples)]) == 0
    config = tmp_path / "tiny.json"
    config.write_text('{"name": "tiny", "base_config": "cat-mel_2bar_small", "hparams": '
                      '{"z_size": 4, "enc_rnn_size": [8], "dec_rnn_size": [8]}}')
    run = tmp_path / "run"
    args = ["train", "--config", str(config), "--examples", str(examples), "--run-dir",
            str(run), "--no-xla", "--eval-fraction", "0", "--hparams", "max_beta=0.5",
            "--num-steps"]
    assert main(args + ["2"]) == 0
    assert "step 2" in capsys.readouterr().err
    assert (run / "model.safetensors").is_file() and (run / "model.ckpt-2.index").is_file()
    first = json.loads((run / "run.json").read_text())
    assert first["config"]["hparams"]["batch_size"] == 64  # a new run's default
    assert main(args + ["3"]) == 0  # the same command again resumes: same run, one more step
    assert json.loads((run / "run.json").read_text()) == first
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").open()] == [2, 3]
    changed = [a if a != "max_beta=0.5" else "max_beta=0.1" for a in args]
    assert main(changed + ["4"]) == 2  # not the run's config
    assert "max_beta 0.5 vs 0.1" in capsys.readouterr().err
    assert main(args + ["5", "--eval-windows", "0"]) != 0
    assert "evaluation windows >= 1" in capsys.readouterr().err
