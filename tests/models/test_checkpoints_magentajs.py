"""magenta.js checkpoints against the TF checkpoint they were converted from (tensorflowjs)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from latentjam.models.checkpoints.magentajs import read_magentajs
from latentjam.models.checkpoints.tf_checkpoint import read_tf_checkpoint
from latentjam.models.configs import get_config
from latentjam.models.errors import CheckpointError
from latentjam.models.variables import check_variables


@pytest.fixture(scope="module")
def mel(magenta_fixtures: Path) -> Path:
    return magenta_fixtures / "cat-mel_2bar_small"


@pytest.fixture(scope="module")
def tf_variables(mel: Path) -> dict[str, np.ndarray]:
    return read_tf_checkpoint(mel / "ckpt")


def model_names(tf_variables: dict[str, np.ndarray]) -> list[str]:
    return sorted(name for name in tf_variables if name != "global_step")


def test_float32_equals_tf_checkpoint_exactly(mel: Path, tf_variables) -> None:
    variables, config = read_magentajs(mel / "magentajs" / "float32")
    assert sorted(variables) == model_names(tf_variables)
    for name, value in variables.items():
        assert value.dtype == np.float32
        assert value.tobytes() == tf_variables[name].tobytes(), name
    assert config["dataConverter"]["args"]["numSteps"] == 32
    check_variables(get_config("cat-mel_2bar_small"), variables, "float32")


def test_uint8_within_half_a_step(mel: Path, tf_variables) -> None:
    folder = mel / "magentajs" / "uint8"
    variables, _ = read_magentajs(folder)
    assert sorted(variables) == model_names(tf_variables)
    manifest = json.loads((folder / "weights_manifest.json").read_text())
    for spec in manifest[0]["weights"]:
        value, exact = variables[spec["name"]], tf_variables[spec["name"]]
        half_step = spec["quantization"]["scale"] / 2
        assert value.dtype == np.float32 and value.shape == exact.shape
        error = np.abs(value.astype(np.float64) - exact)
        # float32 rounding of the result adds at most half an ulp of the value.
        assert np.all(error <= half_step * (1 + 1e-6) + np.abs(exact) * 2**-24), spec["name"]
        assert error.max() > half_step / 4  # it really is quantized, not float32 data
    check_variables(get_config("cat-mel_2bar_small"), variables, "uint8")


def test_float16_within_half_precision(mel: Path, tf_variables) -> None:
    variables, _ = read_magentajs(mel / "magentajs" / "float16")
    assert sorted(variables) == model_names(tf_variables)
    for name, value in variables.items():
        exact = tf_variables[name].astype(np.float64)
        assert value.dtype == np.float32
        assert np.all(np.abs(value - exact) <= np.abs(exact) * 2**-11 + 2**-25), name
        np.testing.assert_array_equal(value, tf_variables[name].astype(np.float16))


def make_folder(folder: Path, groups: list[dict], shards: dict[str, bytes]) -> Path:
    folder.mkdir()
    (folder / "weights_manifest.json").write_text(json.dumps(groups))
    for name, data in shards.items():
        (folder / name).write_bytes(data)
    return folder


def test_uint16_groups_and_plain_dtypes(tmp_path: Path) -> None:
    q = np.array([0, 1, 65535, 40000], "<u2")
    ints = np.array([[7, -8]], "<i4")
    groups = [
        {"paths": ["a.bin"], "weights": [
            {"name": "w", "shape": [2, 2], "dtype": "float32",
             "quantization": {"dtype": "uint16", "scale": 1 / 3, "min": -0.1}},
        ]},
        {"paths": ["b1.bin", "b2.bin"], "weights": [
            {"name": "ints", "shape": [1, 2], "dtype": "int32"},
            {"name": "s", "shape": [], "dtype": "float32"},
        ]},
    ]
    raw = ints.tobytes() + np.float32(2.5).tobytes()
    folder = make_folder(tmp_path / "js", groups,
                         {"a.bin": q.tobytes(), "b1.bin": raw[:5], "b2.bin": raw[5:]})
    variables, config = read_magentajs(folder)
    assert config == {}
    expected = (q.astype(np.float64) / 3 - 0.1).astype(np.float32).reshape(2, 2)
    assert variables["w"].tobytes() == expected.tobytes()
    np.testing.assert_array_equal(variables["ints"], ints)
    assert variables["s"].shape == () and variables["s"] == 2.5


@pytest.fixture
def uint8_copy(mel: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "uint8"
    shutil.copytree(mel / "magentajs" / "uint8", folder)
    for path in folder.iterdir():
        path.chmod(0o644)
    return folder


def test_missing_shard_is_named(uint8_copy: Path) -> None:
    (uint8_copy / "group1-shard2of2.bin").unlink()
    with pytest.raises(CheckpointError, match=r"group1-shard2of2\.bin: cannot read shard"):
        read_magentajs(uint8_copy)


def test_short_or_long_shards_are_named(uint8_copy: Path) -> None:
    shard = uint8_copy / "group1-shard2of2.bin"
    data = shard.read_bytes()
    shard.write_bytes(data[:-1])
    with pytest.raises(CheckpointError, match=r"group1-shard2of2\.bin: 4423769 bytes, too short "
                                              r"for weight encoder/sigma/kernel"):
        read_magentajs(uint8_copy)
    shard.write_bytes(data + b"\0")
    with pytest.raises(CheckpointError, match=r"4423771 bytes, but .*describes 4423770"):
        read_magentajs(uint8_copy)


def test_bad_manifests_are_named(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "bad", [], {})
    (folder / "weights_manifest.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"weights_manifest\.json: not valid JSON"):
        read_magentajs(folder)
    spec = {"name": "w", "shape": [2], "dtype": "float32",
            "quantization": {"dtype": "int4", "scale": 1, "min": 0}}
    (folder / "weights_manifest.json").write_text(json.dumps([{"paths": [], "weights": [spec]}]))
    with pytest.raises(CheckpointError, match=r"group 1 weight w: unsupported quantization"):
        read_magentajs(folder)
    with pytest.raises(CheckpointError, match=r"nowhere.*weights_manifest\.json: cannot read"):
        read_magentajs(tmp_path / "nowhere")
