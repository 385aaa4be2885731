"""Format detection and the config our own checkpoints carry."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from latentjam.models.checkpoints.loader import checkpoint_config, load_checkpoint
from latentjam.models.checkpoints.native import save_weights
from latentjam.models.configs import config_to_dict, load_config
from latentjam.models.errors import CheckpointError, ConfigError
from latentjam.models.variables import check_variables


@pytest.fixture(scope="module")
def mel(magenta_fixtures: Path) -> Path:
    return magenta_fixtures / "cat-mel_2bar_small"


@pytest.mark.parametrize("where", ["ckpt", "ckpt/model.ckpt-0", "ckpt/model.ckpt-0.index"])
def test_tf_paths(mel: Path, where: str) -> None:
    loaded = load_checkpoint(mel / where)
    assert loaded.format == "tf"
    assert loaded.metadata == {}
    assert loaded.variables["global_step"] == 0
    assert checkpoint_config(loaded) is None


@pytest.mark.parametrize("where", ["magentajs/uint8", "magentajs/uint8/weights_manifest.json"])
def test_magentajs_paths(mel: Path, where: str) -> None:
    loaded = load_checkpoint(mel / where)
    assert loaded.format == "magentajs"
    assert loaded.source == mel / "magentajs" / "uint8"
    assert loaded.metadata["type"] == "MusicVAE"
    assert checkpoint_config(loaded) is None


def test_native_file_and_folder_carry_their_config(magenta_fixtures: Path,
                                                   tmp_path: Path) -> None:
    trio = magenta_fixtures / "hierdec-trio_16bar_tiny"
    config = load_config(trio / "config.json")
    tf = load_checkpoint(trio / "ckpt")
    model = check_variables(config, tf.variables, "trio")
    path = save_weights(tmp_path / "trio" / "model.safetensors", model,
                        {"config": config_to_dict(config), "note": "test"})
    for where in (path, path.parent):
        loaded = load_checkpoint(where)
        assert loaded.format == "native" and loaded.source == path
        assert loaded.metadata["note"] == "test"
        assert checkpoint_config(loaded) == config
        for name, value in model.items():
            assert loaded.variables[name].tobytes() == value.tobytes()
    assert dataclasses.is_dataclass(loaded)
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.format = "tf"  # type: ignore[misc]


def test_native_with_a_bad_config(tmp_path: Path) -> None:
    path = save_weights(tmp_path / "x.safetensors", {"w": np.ones(1, np.float32)},
                        {"config": {"base_config": "no-such-model"}})
    with pytest.raises(ConfigError, match="x.safetensors metadata 'config'"):
        checkpoint_config(load_checkpoint(path))
    path = save_weights(tmp_path / "y.safetensors", {}, {"config": "cat-mel_2bar_small"})
    with pytest.raises(CheckpointError, match="'config' must be a table"):
        checkpoint_config(load_checkpoint(path))


def test_unknown_paths_say_what_was_looked_for(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    for where in (tmp_path, tmp_path / "notes.txt", tmp_path / "missing"):
        with pytest.raises(CheckpointError) as caught:
            load_checkpoint(where)
        message = str(caught.value)
        assert str(where) in message
        for sought in (".safetensors", "weights_manifest.json", ".index", "'checkpoint'"):
            assert sought in message
