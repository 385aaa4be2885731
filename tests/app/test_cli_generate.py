"""End to end: ``latentjam sample | interpolate | encode | decode`` on real checkpoints and
real MIDI files, through the console entry point's ``main``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from latentjam.app.cli import main
from latentjam.models.midi_io import read_midi


@pytest.fixture()
def mel(magenta_fixtures: Path) -> Path:
    return magenta_fixtures / "cat-mel_2bar_small"


def _mids(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.mid"))


def test_sample_writes_readable_midi_files(mel: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "loops"
    args = ["sample", "--model", str(mel / "ckpt"), "--num", "3", "--temperature", "0.5",
            "--seed", "7", "--out", str(out)]
    assert main(args) == 0
    files = _mids(out)
    assert len(files) == 3
    assert all(f.name.startswith("cat-mel_2bar_small_sample_") for f in files)
    for f in files:
        sequence = read_midi(f)
        assert sequence.total_time <= 4.0 + 1e-6  # 2 bars at 120 qpm
    assert "wrote 3 MIDI files" in capsys.readouterr().out
    # Same seed, same music; nothing overwritten.
    assert main(args) == 0
    files2 = _mids(out)
    assert len(files2) == 6
    first = [read_midi(f).notes for f in files]
    second = [read_midi(f).notes for f in files2 if f not in files]
    assert first == second


def test_encode_decode_round_trip_matches_magenta(mel: Path, tmp_path: Path) -> None:
    """``encode`` writes μ as Magenta computes it; ``decode`` at T=0 gives Magenta's notes."""
    reference = json.loads((mel / "reference.json").read_text())
    inputs = [mel / "inputs" / r["file"].split("/")[-1] for r in reference["inputs"]]
    z_path = tmp_path / "z.npy"
    assert main(["encode", *map(str, inputs), "--model", str(mel / "ckpt"),
                 "--out", str(z_path)]) == 0
    mu = np.load(z_path, allow_pickle=False)
    expected_mu = np.array([r["encode"]["mu"] for r in reference["inputs"]], dtype=np.float32)
    np.testing.assert_allclose(mu, expected_mu, atol=1e-4)

    out = tmp_path / "decoded"
    assert main(["decode", str(z_path), "--model", str(mel / "ckpt"), "--temperature", "0",
                 "--out", str(out)]) == 0
    files = _mids(out)
    assert len(files) == len(inputs)
    for f, record in zip(files, reference["inputs"], strict=True):
        notes = [[n.pitch, n.start_time, n.end_time] for n in read_midi(f).notes]
        expected = [[n[0], n[2], n[3]] for n in record["decode_mu"]["notes"]]
        assert len(notes) == len(expected)
        np.testing.assert_allclose(np.array(notes, dtype=float),
                                   np.array(expected, dtype=float), atol=1e-3)


def test_interpolate_endpoints_and_steps(mel: Path, tmp_path: Path) -> None:
    a, b = mel / "inputs" / "mel_00.mid", mel / "inputs" / "mel_03.mid"
    out = tmp_path / "morph"
    assert main(["interpolate", str(a), str(b), "--model", str(mel / "ckpt"), "--num", "4",
                 "--temperature", "0", "--out", str(out)]) == 0
    files = _mids(out)
    assert len(files) == 4
    pitches = [[n.pitch for n in read_midi(f).notes] for f in files]
    assert pitches[0] != pitches[-1]


def test_trio_needs_config_and_then_works(magenta_fixtures: Path, tmp_path: Path,
                                          capsys) -> None:
    trio = magenta_fixtures / "hierdec-trio_16bar_tiny"
    assert main(["sample", "--model", str(trio / "ckpt"), "--out", str(tmp_path)]) == 2
    assert "--config" in capsys.readouterr().err
    assert main(["sample", "--model", str(trio / "ckpt"), "--config",
                 str(trio / "config.json"), "--num", "1", "--bars", "4", "--seed", "1",
                 "--out", str(tmp_path)]) == 0
    (f,) = _mids(tmp_path)
    sequence = read_midi(f)
    assert sequence.total_time <= 8.0 + 1e-6  # 4 bars at 120 qpm
    assert {n.is_drum for n in sequence.notes} <= {True, False}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sample", "--temperature", "-1"], "temperature"),
        (["sample", "--num", "0"], "at least 1"),
        (["sample", "--config", "cat-drums_2bar_small"], "does not match config"),
        (["sample", "--config", "no-such-config"], "neither a config name"),
        (["sample", "--model", "/nonexistent/model"], "neither a kind (melody, drums, trio)"),
    ],
)
def test_bad_input_is_one_clear_line(mel: Path, tmp_path: Path, capsys, argv, message) -> None:
    if "--model" not in argv:
        argv = [*argv, "--model", str(mel / "ckpt")]
    assert main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_not_midi_and_wrong_z_are_named(mel: Path, tmp_path: Path, capsys) -> None:
    junk = tmp_path / "junk.mid"
    junk.write_bytes(b"this is not a MIDI file")
    assert main(["encode", str(junk), "--model", str(mel / "ckpt"),
                 "--out", str(tmp_path / "z.npy")]) == 2
    assert "junk.mid" in capsys.readouterr().err

    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((2, 7), dtype=np.float32))
    assert main(["decode", str(wrong), "--model", str(mel / "ckpt"),
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "wrong.npy" in err and "256" in err

    empty = tmp_path / "silence.mid"
    from latentjam.models.midi_io import write_midi
    from latentjam.models.notesequence import NoteSequence
    write_midi(NoteSequence(), empty)
    assert main(["encode", str(empty), "--model", str(mel / "ckpt"),
                 "--out", str(tmp_path / "z2.npy")]) == 2
    err = capsys.readouterr().err
    assert "no examples extracted" in err and "silence.mid" in err


def test_a_kind_names_its_default_model(tmp_path: Path, capsys) -> None:
    from latentjam.models.defaults import DEFAULT_MODELS, WEIGHTS_DIR, resolve_model, shipped_models

    assert resolve_model("melody") == resolve_model(None) == \
        WEIGHTS_DIR / DEFAULT_MODELS["melody"] / "model.safetensors"
    for kind, name in DEFAULT_MODELS.items():
        if name in shipped_models():
            assert main(["sample", "--model", kind, "--num", "1", "--seed", "1",
                         "--out", str(tmp_path / kind)]) == 0
            assert len(list((tmp_path / kind).glob("*.mid"))) == 1
        else:  # a default not trained yet says so, naming what is there
            assert main(["sample", "--model", kind, "--out", str(tmp_path)]) != 0
            assert f"default {kind} model" in capsys.readouterr().err


def test_every_loop_file_lasts_its_bars_even_when_it_ends_in_a_rest(mel: Path, tmp_path: Path):
    """A DAW loops a file on its length: 2 bars at 120 qpm is 4.0 s, rests included."""
    import mido

    assert main(["sample", "--model", "drums", "--num", "4", "--seed", "3", "--temperature",
                 "1", "--out", str(tmp_path / "drums")]) == 0
    a, b = mel / "inputs" / "mel_00.mid", mel / "inputs" / "mel_03.mid"
    assert main(["interpolate", str(a), str(b), "--model", str(mel / "ckpt"), "--num", "3",
                 "--out", str(tmp_path / "morph")]) == 0
    np.save(tmp_path / "z.npy", np.zeros((2, 256), np.float32))
    assert main(["decode", str(tmp_path / "z.npy"), "--model", str(mel / "ckpt"),
                 "--out", str(tmp_path / "decoded")]) == 0
    files = [*_mids(tmp_path / "drums"), *_mids(tmp_path / "morph"),
             *_mids(tmp_path / "decoded")]
    assert len(files) == 9
    for f in files:
        assert mido.MidiFile(f).length == pytest.approx(4.0), f.name


def test_an_empty_loop_still_lasts_its_bars(tmp_path: Path):
    import mido
    from latentjam.models.configs import get_config
    from latentjam.models.encodings.converters import get_converter
    from latentjam.models.midi_io import write_midi

    silent = get_converter(get_config("cat-drums_2bar_small")).to_sequence(np.zeros(32, int))
    write_midi(silent, tmp_path / "silent.mid")
    assert mido.MidiFile(tmp_path / "silent.mid").length == pytest.approx(4.0)


def test_files_are_named_after_the_model_used(tmp_path: Path, capsys):
    import shutil

    from latentjam.models.defaults import resolve_model

    run = tmp_path / "runs" / "band"
    run.mkdir(parents=True)
    shutil.copy(resolve_model("melody"), run / "best.safetensors")
    assert main(["sample", "--model", str(run / "best.safetensors"), "--num", "1",
                 "--out", str(tmp_path / "a")]) == 0
    assert [f.name.split("_sample_")[0] for f in _mids(tmp_path / "a")] == ["band"]
    assert main(["sample", "--num", "1", "--out", str(tmp_path / "b")]) == 0
    assert _mids(tmp_path / "b")[0].name.startswith("mel_2bar_chorales_sample_")
    assert main(["sample", "--num", "1", "--name", "jam", "--out", str(tmp_path / "c")]) == 0
    assert _mids(tmp_path / "c")[0].name.startswith("jam_sample_")


def test_a_misspelt_model_lists_the_kinds_and_suggests_the_nearest(tmp_path: Path, capsys):
    assert main(["sample", "--model", "melodyy", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "a kind (melody, drums, trio)" in err and "mel_2bar_chorales" in err
    assert "did you mean 'melody'?" in err


def test_a_synth_lead_clip_is_encoded_and_interpolated(tmp_path: Path) -> None:
    """A melody on a synth lead (program 81) is a user's clip like any other: encoded and
    used as an interpolation end by the shipped melody model."""
    from latentjam.models.midi_io import write_midi
    from latentjam.models.notesequence import Note, NoteSequence, Tempo

    lead, piano = tmp_path / "lead.mid", tmp_path / "piano.mid"
    for path, program in ((lead, 81), (piano, 0)):
        notes = [Note(62 + k % 4, 90, k * 0.5, k * 0.5 + 0.25, program=program)
                 for k in range(8)]
        write_midi(NoteSequence(notes=notes, tempos=[Tempo(0.0, 120.0)], total_time=4.0), path)
    assert main(["encode", str(lead), "--out", str(tmp_path / "z.npy")]) == 0
    z_lead = np.load(tmp_path / "z.npy")
    assert main(["encode", str(piano), "--out", str(tmp_path / "zp.npy")]) == 0
    np.testing.assert_allclose(z_lead, np.load(tmp_path / "zp.npy"))  # the same notes
    assert main(["interpolate", str(lead), str(piano), "--num", "3", "--out",
                 str(tmp_path / "i")]) == 0
    assert len(_mids(tmp_path / "i")) == 3


def test_a_trio_that_rests_is_encoded_and_interpolated(magenta_fixtures: Path, tmp_path: Path,
                                                       caplog):
    """A part resting two bars or more is Magenta's reason to skip *training* windows; a
    user's trio (or the model's own output) is encoded as it is, with one line saying so."""
    import logging

    from latentjam.models.midi_io import write_midi
    from latentjam.models.notesequence import Note, NoteSequence, Tempo

    trio = magenta_fixtures / "hierdec-trio_16bar_tiny"
    bar = 2.0
    notes = []
    for k in range(16):
        if not 4 <= k < 10:  # the melody rests for six bars
            notes.append(Note(60 + k % 7, 90, k * bar, k * bar + 1.0, 0, 0))
        notes.append(Note(40, 90, k * bar, k * bar + 1.0, 1, 33))
        notes.append(Note(36, 90, k * bar, k * bar + 0.125, 2, 0, True))
    clip = tmp_path / "resting_trio.mid"
    write_midi(NoteSequence(notes=notes, tempos=[Tempo(0.0, 120.0)], total_time=32.0), clip)
    model = ["--model", str(trio / "ckpt"), "--config", str(trio / "config.json")]
    with caplog.at_level(logging.INFO):
        assert main(["encode", str(clip), *model, "--out", str(tmp_path / "z.npy")]) == 0
    assert np.load(tmp_path / "z.npy").shape[0] == 1
    assert "resting_trio.mid: encoded as it is (window with a silent part: 1)" in caplog.text
    # the model's own output, whatever its parts do, goes back in
    assert main(["sample", *model, "--num", "2", "--seed", "5", "--out",
                 str(tmp_path / "own")]) == 0
    own = _mids(tmp_path / "own")
    assert main(["interpolate", str(own[0]), str(own[1]), *model, "--num", "3",
                 "--out", str(tmp_path / "morph")]) == 0
    assert len(_mids(tmp_path / "morph")) == 3


def test_grid_writes_every_cell_with_the_corners_clips_at_the_corners(mel: Path,
                                                                       tmp_path: Path) -> None:
    corners = [mel / "inputs" / f"mel_0{i}.mid" for i in range(4)]
    out = tmp_path / "grid"
    assert main(["grid", *map(str, corners), "--model", str(mel / "ckpt"), "--size", "3",
                 "--out", str(out), "--name", "g"]) == 0
    files = _mids(out)
    assert len(files) == 9
    by_cell = {f.stem.rsplit("-", 2)[-2] + "-" + f.stem.rsplit("-", 2)[-1]: f for f in files}
    assert sorted(by_cell) == [f"r{r}-c{c}" for r in (1, 2, 3) for c in (1, 2, 3)]
    # a corner cell decodes the corner clip's own latent vector, as `encode` + `decode` do
    encoded = tmp_path / "b.npy"
    assert main(["encode", str(corners[1]), "--model", str(mel / "ckpt"), "--out",
                 str(encoded)]) == 0
    decoded = tmp_path / "decoded"
    assert main(["decode", str(encoded), "--model", str(mel / "ckpt"), "--temperature", "0",
                 "--out", str(decoded)]) == 0
    (plain,) = _mids(decoded)
    notes = [(n.pitch, n.start_time) for n in read_midi(by_cell["r1-c3"]).notes]
    assert notes == [(n.pitch, n.start_time) for n in read_midi(plain).notes]


def test_grid_refuses_a_size_out_of_range(mel: Path, tmp_path: Path, capsys) -> None:
    corners = [str(mel / "inputs" / f"mel_0{i}.mid") for i in range(4)]
    assert main(["grid", *corners, "--model", str(mel / "ckpt"), "--size", "1",
                 "--out", str(tmp_path)]) == 2
    assert "--size must be 2..16, got 1" in capsys.readouterr().err


def test_multiperf_samples_encodes_decodes_and_interpolates(multiperf_fixture: Path,
                                                           tmp_path: Path, capsys) -> None:
    """hier-multiperf: multi-track MIDI, a program per instrument, drums on channel 10;
    ``encode`` + ``decode`` at T=0 give Magenta's μ and notes."""
    import mido

    folder = multiperf_fixture
    model = ["--model", str(folder / "ckpt"), "--config", str(folder / "config.json")]
    assert main(["sample", *model, "--num", "2", "--seed", "3", "--out",
                 str(tmp_path / "s")]) == 0
    assert "wrote 2 MIDI files" in capsys.readouterr().out
    for path in _mids(tmp_path / "s"):
        tracks = [{(m.channel, m.program) for m in t if m.type == "program_change"}
                  for t in mido.MidiFile(path).tracks]
        assert sum(1 for t in tracks if t) >= 2  # one track per instrument, each its program
        notes = read_midi(path).notes
        assert len({n.instrument for n in notes}) >= 2
        assert max(n.end_time for n in notes) <= 2.0 + 1e-6  # one bar at 120 qpm

    reference = json.loads((folder / "reference.json").read_text())
    record = next(r for r in reference["inputs"]  # its first bar's μ decodes with drums
                  if r["decode_mu"] and any(n[6] for n in r["decode_mu"][0]["notes"])
                  and len({n[4] for n in r["decode_mu"][0]["notes"]}) > 2)
    z_path = tmp_path / "z.npy"
    assert main(["encode", str(folder / record["file"]), *model, "--out", str(z_path)]) == 0
    np.testing.assert_allclose(np.load(z_path)[0], record["encode"][0]["mu"], atol=1e-4)
    assert main(["decode", str(z_path), *model, "--temperature", "0", "--out",
                 str(tmp_path / "d")]) == 0
    (decoded,) = _mids(tmp_path / "d")
    channels = {m.channel for t in mido.MidiFile(decoded).tracks for m in t
                if m.type == "note_on"}
    assert 9 in channels and len(channels) > 2
    expected = record["decode_mu"][0]["notes"]
    ours = sorted((n.pitch, n.velocity, n.is_drum) for n in read_midi(decoded).notes)
    assert ours == sorted((p, v, d) for p, v, _, _, _, _, d in expected)

    assert main(["interpolate", str(folder / record["file"]),
                 str(folder / reference["inputs"][5]["file"]), *model, "--num", "3",
                 "--temperature", "0", "--out", str(tmp_path / "i")]) == 0
    assert len(_mids(tmp_path / "i")) == 3
