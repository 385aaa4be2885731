"""The training loop on a tiny model: the loss falls, runs resume exactly, checkpoints load
in our engine and in TensorFlow, Ctrl-C saves, fine-tuning starts from a checkpoint."""

from __future__ import annotations

import dataclasses
import json
import os
import signal

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow", reason="TensorFlow (the 'train' extra) is not installed")

from latentjam.models.checkpoints.loader import checkpoint_config, load_checkpoint  # noqa: E402
from latentjam.models.checkpoints.tf_checkpoint import read_tf_checkpoint  # noqa: E402
from latentjam.models.configs import get_config, override_hparams  # noqa: E402
from latentjam.models.midi_io import write_midi  # noqa: E402
from latentjam.models.notesequence import Note, NoteSequence, Tempo  # noqa: E402
from latentjam.models.training import train as train_module  # noqa: E402
from latentjam.models.training.convert import convert_directory  # noqa: E402
from latentjam.models.training.run_dir import RunDir  # noqa: E402
from latentjam.models.training.train import TrainOptions, train  # noqa: E402
from latentjam.models.variables import expected_shapes  # noqa: E402

TINY = override_hparams(get_config("cat-mel_2bar_small"),
                        {"z_size": 8, "enc_rnn_size": [16], "dec_rnn_size": [16, 16]})


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    """Eight 4-bar tunes written as MIDI files and converted, as a user would."""
    folder = tmp_path_factory.mktemp("midi")
    rng = np.random.default_rng(0)
    for index in range(8):
        notes, t = [], 0.0
        while t < 8.0 - 1e-9:
            length = 0.125 * int(rng.choice([1, 2, 4]))
            notes.append(Note(int(rng.integers(60, 72)), 90, t, t + length))
            t += length
        write_midi(NoteSequence(notes=notes, tempos=[Tempo(0.0, 120.0)], total_time=t),
                   folder / f"tune_{index}.mid")
    out = folder.parent / "tunes.tfrecord"
    convert_directory(folder, out)
    return out


def options(examples, run_dir, num_steps, **kwargs):
    base = dict(run_dir=run_dir, examples=(examples,), num_steps=num_steps, config=TINY,
                hparams={"batch_size": 8, "learning_rate": 0.005}, eval_fraction=0.0,
                checkpoint_every=10, seed=7, jit_compile=False, progress=False)
    base.update(kwargs)
    return TrainOptions(**base)


def quiet(message: str) -> None:
    pass


def test_loss_falls_and_resume_continues_exactly(examples, tmp_path):
    straight = train(options(examples, tmp_path / "a", 20), quiet)
    assert straight.global_step == 20 and not straight.interrupted
    records = [json.loads(line) for line in (tmp_path / "a" / "metrics.jsonl").open()]
    assert [r["step"] for r in records] == [10, 20]
    assert records[1]["train"]["loss"] < records[0]["train"]["loss"] - 5

    first = train(options(examples, tmp_path / "b", 10), quiet)
    assert first.global_step == 10
    resumed = train(options(examples, tmp_path / "b", 20, config=None, hparams={}), quiet)
    assert resumed.global_step == 20
    a = read_tf_checkpoint(tmp_path / "a")
    b = read_tf_checkpoint(tmp_path / "b")
    assert int(b["global_step"]) == 20
    for name in expected_shapes(TINY):
        np.testing.assert_allclose(b[name], a[name], atol=1e-5, err_msg=name)


def test_checkpoints_load_in_our_engine_and_in_tensorflow(examples, tmp_path):
    run = tmp_path / "run"
    train(options(examples, run, 20, keep_checkpoints=1, eval_fraction=0.25), quiet)
    assert RunDir(run).saved_steps() == [20]
    shapes = dict(expected_shapes(TINY), global_step=())

    ours = read_tf_checkpoint(run)
    assert {n: v.shape for n, v in ours.items()} == shapes
    reader = tf.train.load_checkpoint(str(run))
    assert reader.get_variable_to_shape_map() == {n: list(s) for n, s in shapes.items()}
    assert reader.get_tensor("global_step") == 20
    assert tf.train.latest_checkpoint(str(run)).endswith("model.ckpt-20")
    np.testing.assert_array_equal(reader.get_tensor("encoder/mu/kernel"), ours["encoder/mu/kernel"])

    native = load_checkpoint(run)  # the folder's model.safetensors, with its config
    assert native.format == "native" and native.metadata["global_step"] == 20
    assert checkpoint_config(native).hparams == dataclasses.replace(
        TINY.hparams, batch_size=8, learning_rate=0.005)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert 0.0 <= records[-1]["eval"]["sampled_accuracy"] <= 1.0
    assert records[-1]["eval"]["examples"] > 0

    # best.safetensors holds the checkpoint that scored best, with that score
    best = load_checkpoint(run / "best.safetensors")
    scores = {r["step"]: r["eval"]["sampled_accuracy"] for r in records}
    assert best.metadata["evaluation"]["sampled_accuracy"] == max(scores.values())
    assert scores[best.metadata["global_step"]] == max(scores.values())
    assert RunDir(run).best_score() == max(scores.values())


def test_ctrl_c_saves_a_checkpoint_first(examples, tmp_path, monkeypatch):
    calls = []
    real_next = train_module.Batches.__next__

    def next_then_interrupt(self):
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return real_next(self)

    monkeypatch.setattr(train_module.Batches, "__next__", next_then_interrupt)
    # Python's own handler, as a terminal gives it (a job started in the background by a
    # shell without job control starts with SIGINT ignored)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        result = train(options(examples, tmp_path / "run", 50), quiet)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # given back
    finally:
        signal.signal(signal.SIGINT, before)
    assert result.interrupted and result.global_step == 3
    assert RunDir(tmp_path / "run").saved_steps() == [3]


def test_init_from_starts_a_new_run_with_a_fresh_optimizer(examples, tmp_path):
    train(options(examples, tmp_path / "source", 10), quiet)
    result = train(options(examples, tmp_path / "tuned", 5, config=None, hparams={},
                           init_from=tmp_path / "source" / "model.safetensors"), quiet)
    assert result.global_step == 15  # the step counter continues from the source
    optimizer, state = RunDir(tmp_path / "tuned").load_state(15)
    assert int(optimizer["updates"]) == 5
    info = json.loads((tmp_path / "tuned" / "run.json").read_text())
    assert info["start_step"] == 10 and info["init_from"].endswith("model.safetensors")


def test_a_fine_tune_logged_to_a_file_reports_its_own_steps(examples, tmp_path):
    """Off a terminal, progress is lines (not a silent bar) counting this run's steps."""
    train(options(examples, tmp_path / "source", 10), quiet)
    lines: list[str] = []
    train(options(examples, tmp_path / "tuned", 5, config=None, hparams={}, progress=True,
                  init_from=tmp_path / "source" / "model.safetensors"), lines.append)
    progress = [line for line in lines if line.startswith("train: step")]
    assert progress[0].startswith("train: step 11/15 (1/5 of this run, 20 %)")
    assert progress[-1].startswith("train: step 15/15 (5/5 of this run, 100 %)")
    assert "compiling" in progress[0]
    assert all("steps/s" in line and "loss" in line and "ETA" in line for line in progress[1:])


def test_a_config_files_batch_size_stands_and_a_magenta_ones_is_cut(examples, tmp_path):
    own = override_hparams(TINY, {"batch_size": 16})  # as a hyper-parameter file would give
    train(options(examples, tmp_path / "own", 0, config=own, hparams={}), quiet)
    magenta = get_config("cat-mel_2bar_small")  # 512, sized for GPUs
    train(options(examples, tmp_path / "magenta", 0, config=magenta, hparams={}), quiet)
    sizes = [RunDir(tmp_path / run).read_run()["config"]["hparams"]["batch_size"]
             for run in ("own", "magenta")]
    assert sizes == [16, 64]


def test_weights_record_their_examples_relative_to_where_training_ran(examples, tmp_path,
                                                                      monkeypatch):
    monkeypatch.chdir(examples.parent)
    train(options(examples.resolve(), tmp_path / "run", 2), quiet)
    metadata = load_checkpoint(tmp_path / "run" / "model.safetensors").metadata
    assert metadata["trained_on"]["examples"] == [examples.name]
