"""TF checkpoints without TensorFlow: read Magenta's fixtures as TF does, write what TF reads."""

from __future__ import annotations

import filecmp
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from latentjam.models.checkpoints import sstable
from latentjam.models.checkpoints.tf_checkpoint import read_tf_checkpoint, write_tf_checkpoint
from latentjam.models.configs import get_config, load_config
from latentjam.models.errors import CheckpointError
from latentjam.models.variables import check_variables

FIXTURE_CONFIGS = ["cat-mel_2bar_small", "cat-drums_2bar_small", "hierdec-trio_16bar_tiny"]
SHARD = ".data-00000-of-00001"


@pytest.fixture(scope="session")
def tf():
    """TensorFlow, imported once per session; tests that need it skip where it is missing."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return pytest.importorskip("tensorflow")


def tf_variables(tf, prefix: Path) -> dict[str, np.ndarray]:
    reader = tf.train.load_checkpoint(str(prefix))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def assert_bit_identical(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> None:
    assert sorted(ours) == sorted(theirs)
    for name, value in theirs.items():
        value = np.asarray(value)
        assert ours[name].dtype == value.dtype, name
        assert ours[name].shape == value.shape, name
        assert ours[name].tobytes() == value.tobytes(), name


@pytest.fixture(params=FIXTURE_CONFIGS)
def fixture_ckpt(request: pytest.FixtureRequest, magenta_fixtures: Path) -> Path:
    return magenta_fixtures / request.param / "ckpt"


def test_fixture_reads_as_tensorflow_reads_it(tf, fixture_ckpt: Path) -> None:
    prefix = fixture_ckpt / "model.ckpt-0"
    assert_bit_identical(read_tf_checkpoint(prefix), tf_variables(tf, prefix))


def test_fixture_written_back_is_byte_identical(fixture_ckpt: Path, tmp_path: Path) -> None:
    prefix = write_tf_checkpoint(tmp_path / "model.ckpt-0", read_tf_checkpoint(fixture_ckpt))
    for suffix in (".index", SHARD):
        assert filecmp.cmp(f"{prefix}{suffix}", fixture_ckpt / f"model.ckpt-0{suffix}",
                           shallow=False), suffix
    assert (tmp_path / "checkpoint").read_text() == (fixture_ckpt / "checkpoint").read_text()


def test_fixture_fits_its_config(fixture_ckpt: Path) -> None:
    folder = fixture_ckpt.parent
    config = (load_config(folder / "config.json") if (folder / "config.json").is_file()
              else get_config(folder.name))
    variables = read_tf_checkpoint(fixture_ckpt)
    assert variables["global_step"].dtype == np.int64 and variables["global_step"].shape == ()
    model = check_variables(config, variables, str(fixture_ckpt))
    assert len(model) == len(variables) - 1


def test_mismatched_config_lists_problems(magenta_fixtures: Path) -> None:
    variables = read_tf_checkpoint(magenta_fixtures / "cat-mel_2bar_small" / "ckpt")
    with pytest.raises(CheckpointError) as caught:
        check_variables(get_config("cat-drums_2bar_small"), variables, "mel ckpt")
    message = str(caught.value)
    assert "mel ckpt" in message
    assert "decoder/output_projection/kernel: shape [256, 90]" in message
    assert "[256, 512]" in message


def test_written_mixed_dtypes_read_back_by_tensorflow(tf, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    variables = {
        "b/kernel": rng.standard_normal((5, 7)).astype(np.float32),
        "a/half": rng.standard_normal(9).astype(np.float16),
        "a/double": rng.standard_normal((2, 3, 4)),
        "counts": np.arange(6, dtype=np.int32).reshape(2, 3),
        "big": np.array([2**40, -3], dtype=np.int64),
        "empty": np.zeros((0, 4), np.float32),
        "scalar": np.float32(np.pi),
        "global_step": 12345,
    }
    prefix = write_tf_checkpoint(tmp_path / "run" / "model.ckpt-12345", variables)
    theirs = tf_variables(tf, prefix)
    expected = {name: np.asarray(value) for name, value in variables.items()}
    expected["global_step"] = np.array(12345, np.int64)
    assert_bit_identical(expected, theirs)
    assert_bit_identical(read_tf_checkpoint(tmp_path / "run"), theirs)
    assert tf.train.latest_checkpoint(str(tmp_path / "run")) == str(prefix)


def test_many_blocks_read_back_by_tensorflow(tf, tmp_path: Path) -> None:
    # Over 256 KiB of index entries: several data blocks, an index block of several entries.
    names = [f"scope_{i // 50}/layer_{i % 50}/{'x' * 60}/kernel" for i in range(4000)]
    variables = {name: np.full(2, i, np.float32) for i, name in enumerate(names)}
    prefix = write_tf_checkpoint(tmp_path / "model.ckpt-1", variables)
    assert os.path.getsize(f"{prefix}.index") > sstable.BLOCK_SIZE  # at least two data blocks
    reader = tf.train.load_checkpoint(str(prefix))
    for name in names[::397] + names[-1:]:
        assert reader.get_tensor(name).tobytes() == variables[name].tobytes()
    assert_bit_identical(read_tf_checkpoint(prefix), variables)


def test_tensorflow_dtypes_read(tf, tmp_path: Path) -> None:
    values = [tf.constant([1.5, -2.25, 3e38], tf.bfloat16), tf.constant([0.5, 65504], tf.float16),
              tf.constant([[1, 2]], tf.int32), tf.constant(7, tf.int64)]
    prefix = str(tmp_path / "tf.ckpt")
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=["bf", "half", "i32", "step"],
                      shape_and_slices=[""] * 4, tensors=values)
    ours = read_tf_checkpoint(prefix)
    assert ours["bf"].dtype == np.float32
    np.testing.assert_array_equal(ours["bf"], values[0].numpy().astype(np.float32))
    names = ("half", "i32", "step")
    assert_bit_identical({k: ours[k] for k in names},
                         {k: v.numpy() for k, v in zip(names, values[1:], strict=True)})


def test_state_file_tracks_every_save(tmp_path: Path) -> None:
    write_tf_checkpoint(tmp_path / "model.ckpt-1", {"w": np.ones(2, np.float32)})
    write_tf_checkpoint(tmp_path / "model.ckpt-2", {"w": np.full(2, 2, np.float32)})
    state = (tmp_path / "checkpoint").read_text().splitlines()
    assert state == ['model_checkpoint_path: "model.ckpt-2"',
                     'all_model_checkpoint_paths: "model.ckpt-1"',
                     'all_model_checkpoint_paths: "model.ckpt-2"']
    assert read_tf_checkpoint(tmp_path)["w"][0] == 2
    (tmp_path / "checkpoint").unlink()
    write_tf_checkpoint(tmp_path / "other-1", {"w": np.full(2, 3, np.float32)})
    (tmp_path / "checkpoint").unlink()
    # Without a state file the highest step wins.
    assert read_tf_checkpoint(tmp_path)["w"][0] == 2
    assert read_tf_checkpoint(tmp_path / "model.ckpt-1.index")["w"][0] == 1


@pytest.fixture
def mel_copy(magenta_fixtures: Path, tmp_path: Path) -> Path:
    shutil.copytree(magenta_fixtures / "cat-mel_2bar_small" / "ckpt", tmp_path / "ckpt")
    for path in (tmp_path / "ckpt").iterdir():
        path.chmod(0o644)
    return tmp_path / "ckpt" / "model.ckpt-0"


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_corrupt_tensor_data_is_reported(mel_copy: Path) -> None:
    flip_byte(Path(f"{mel_copy}{SHARD}"), 1000)
    with pytest.raises(CheckpointError, match=r"data-00000-of-00001: checksum mismatch in"):
        read_tf_checkpoint(mel_copy)


def test_corrupt_index_is_reported(mel_copy: Path) -> None:
    flip_byte(Path(f"{mel_copy}.index"), 40)
    with pytest.raises(CheckpointError, match=r"model\.ckpt-0\.index: checksum mismatch"):
        read_tf_checkpoint(mel_copy)


def test_truncated_files_are_reported(mel_copy: Path) -> None:
    data = Path(f"{mel_copy}{SHARD}")
    data.write_bytes(data.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match=r"data-00000-of-00001: .* outside the file"):
        read_tf_checkpoint(mel_copy)
    index = Path(f"{mel_copy}.index")
    index.write_bytes(index.read_bytes()[:30])
    with pytest.raises(CheckpointError, match=r"\.index: .*too short"):
        read_tf_checkpoint(mel_copy)


def test_missing_shard_and_missing_checkpoint(mel_copy: Path, tmp_path: Path) -> None:
    Path(f"{mel_copy}{SHARD}").unlink()
    with pytest.raises(CheckpointError, match=r"data-00000-of-00001: cannot open"):
        read_tf_checkpoint(mel_copy)
    empty = tmp_path / "nothing"
    empty.mkdir()
    with pytest.raises(CheckpointError, match="no TF checkpoint here"):
        read_tf_checkpoint(empty)
    with pytest.raises(CheckpointError, match=r"model\.ckpt-9.*not a TF checkpoint"):
        read_tf_checkpoint(tmp_path / "model.ckpt-9")


def test_unsupported_dtype_is_reported(tmp_path: Path) -> None:
    prefix = write_tf_checkpoint(tmp_path / "model.ckpt-0", {"w": np.ones(3, np.float32)})
    index = Path(f"{prefix}.index")
    entries = sstable.read_table(index.read_bytes(), "test")
    # Field 1 (dtype) = 1, DT_FLOAT: make it 7, DT_STRING.
    entries = [(k, b"\x08\x07" + v[2:] if k == b"w" else v) for k, v in entries]
    index.write_bytes(sstable.build_table(entries))
    with pytest.raises(CheckpointError, match=r"data-00000-of-00001: w has unsupported .*dtype 7"):
        read_tf_checkpoint(prefix)


def test_unwritable_dtype_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="cannot write w: dtype"):
        write_tf_checkpoint(tmp_path / "model.ckpt-0", {"w": np.array(["a"])})
    with pytest.raises(CheckpointError, match="names must be non-empty strings"):
        write_tf_checkpoint(tmp_path / "model.ckpt-0", {"": np.ones(1)})


def test_table_round_trip_with_small_blocks() -> None:
    entries = [(f"key{i:04d}".encode() * (i % 3 + 1), bytes([i % 256]) * (i % 17))
               for i in range(300)]
    entries.sort()
    table = sstable.build_table(entries, block_size=128)
    assert sstable.read_table(table, "t") == entries
    with pytest.raises(ValueError, match="strictly increasing"):
        sstable.build_table(entries[::-1])
