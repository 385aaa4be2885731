"""Our weights file: round trips, half precision, and crafted files rejected cleanly."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from latentjam.models.checkpoints.native import load_weights, read_metadata, save_weights
from latentjam.models.errors import CheckpointError


def sample_variables() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    return {
        "encoder/mu/kernel": rng.standard_normal((6, 3)).astype(np.float32),
        "encoder/mu/bias": rng.standard_normal(3).astype(np.float32),
        "double": rng.standard_normal(5),
        "global_step": np.array(42, np.int64),
        "small": np.array([1, 2, 3], np.int8),
        "empty": np.zeros((0, 3), np.float32),
    }


METADATA = {"config": {"name": "x", "hparams": {"z_size": 3, "dec_rnn_size": [4, 4]}},
            "manifest": [{"file": "a.mid", "licence": "public domain"}], "steps": 3}


def test_float32_round_trip(tmp_path: Path) -> None:
    variables = sample_variables()
    path = save_weights(tmp_path / "model.safetensors", variables, METADATA)
    loaded, metadata = load_weights(path)
    assert metadata == METADATA
    assert sorted(loaded) == sorted(variables)
    for name, value in variables.items():
        expected = value.astype(np.float32) if value.dtype.kind == "f" else value
        assert loaded[name].dtype == expected.dtype, name
        assert loaded[name].shape == expected.shape, name
        assert loaded[name].tobytes() == expected.tobytes(), name


def test_float16_storage_halves_the_file(tmp_path: Path) -> None:
    variables = {"w": np.random.default_rng(2).standard_normal((64, 64)).astype(np.float32),
                 "global_step": np.array(7, np.int64)}
    full = save_weights(tmp_path / "full.safetensors", variables, {})
    half = save_weights(tmp_path / "half.safetensors", variables, {}, dtype="float16")
    loaded, metadata = load_weights(half)
    assert metadata == {}
    assert loaded["w"].dtype == np.float32
    np.testing.assert_array_equal(loaded["w"], variables["w"].astype(np.float16))
    assert loaded["global_step"] == 7 and loaded["global_step"].dtype == np.int64
    assert half.stat().st_size < full.stat().st_size * 0.52


def test_layout_is_safetensors_and_aligned(tmp_path: Path) -> None:
    path = save_weights(tmp_path / "m.safetensors", sample_variables(), METADATA)
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    assert length % 8 == 0
    header = json.loads(data[8:8 + length])
    assert json.loads(header["__metadata__"]["latentjam"]) == METADATA
    assert header["encoder/mu/bias"]["dtype"] == "F32"
    for name, spec in header.items():
        if name != "__metadata__":
            itemsize = {"F64": 8, "I64": 8, "F32": 4, "I8": 1}[spec["dtype"]]
            assert spec["data_offsets"][0] % itemsize == 0, name
    assert max(s["data_offsets"][1] for n, s in header.items() if n != "__metadata__") \
        == len(data) - 8 - length


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="storage dtype must be one of"):
        save_weights(tmp_path / "a.safetensors", {}, {}, dtype="int8")
    with pytest.raises(CheckpointError, match="metadata is not JSON-able"):
        save_weights(tmp_path / "a.safetensors", {}, {"x": object()})
    with pytest.raises(CheckpointError, match="cannot store w of dtype"):
        save_weights(tmp_path / "a.safetensors", {"w": np.array(["text"])}, {})
    with pytest.raises(CheckpointError, match="cannot read weights"):
        load_weights(tmp_path / "missing.safetensors")


def crafted(tmp_path: Path, header: dict | bytes, data: bytes = b"", length: int | None = None
            ) -> Path:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    path = tmp_path / "crafted.safetensors"
    path.write_bytes(struct.pack("<Q", len(text) if length is None else length) + text + data)
    return path


def tensor(dtype: str, shape: list, begin: int, end: int) -> dict:
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


@pytest.mark.parametrize(("header", "data", "length", "message"), [
    (b"", b"", 2**63, "header length 9223372036854775808 does not fit"),
    (b"{}", b"", 1000, "header length 1000 does not fit"),
    (b"{not json", b"", None, "header is not valid JSON"),
    (b"[1, 2]", b"", None, "header must be a JSON object"),
    (b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "a": {}}', bytes(4),
     None, "duplicate key"),
    ({"a": tensor("F32", [2**40, 2**40], 0, 4)}, bytes(4), None, f"needs {4 * 2**80} bytes"),
    ({"a": tensor("F32", [-1], 0, 4)}, bytes(4), None, "bad shape"),
    ({"a": tensor("F32", [True], 0, 4)}, bytes(4), None, "bad shape"),
    ({"a": tensor("F32", [1], 0, 2**40)}, bytes(4), None, "outside the 4-byte data"),
    ({"a": tensor("F32", [1], -4, 0)}, bytes(4), None, "outside the 4-byte data"),
    ({"a": tensor("F32", [1], 0, "4")}, bytes(4), None, "outside the 4-byte data"),
    ({"a": tensor("F32", [2], 0, 4)}, bytes(4), None, "needs 8 bytes, offsets give 4"),
    ({"a": tensor("Q8", [1], 0, 1)}, bytes(1), None, "unsupported dtype 'Q8'"),
    ({"a": tensor("F32", [1], 0, 4), "b": tensor("F32", [1], 0, 4)}, bytes(8), None,
     "must not overlap"),
    ({"a": tensor("F32", [1], 0, 4)}, bytes(8), None, "tensors cover 4 of 8 data bytes"),
    ({"a": {"dtype": "F32", "shape": [1]}}, bytes(4), None, "needs exactly dtype"),
    ({"__metadata__": {"latentjam": 3}}, b"", None, "must map strings to strings"),
    ({"__metadata__": {"latentjam": "{oops"}}, b"", None, "metadata is not valid JSON"),
    (b"", b"", None, "header is not valid JSON"),
    (b"[" * 100000, b"", None, "header is not valid JSON"),
])
def test_crafted_headers_are_rejected(tmp_path: Path, header, data, length, message) -> None:
    path = crafted(tmp_path, header, data, length)
    with pytest.raises(CheckpointError, match=message) as caught:
        load_weights(path)
    assert str(path) in str(caught.value)


def test_only_empty_tensors(tmp_path: Path) -> None:
    path = save_weights(tmp_path / "e.safetensors", {"e": np.zeros((0, 5), np.float32)}, {})
    assert load_weights(path)[0]["e"].shape == (0, 5)


def test_too_short_file(tmp_path: Path) -> None:
    (tmp_path / "short.safetensors").write_bytes(b"\1\0")
    with pytest.raises(CheckpointError, match="too short"):
        load_weights(tmp_path / "short.safetensors")


def test_metadata_is_read_from_the_header_alone(tmp_path: Path) -> None:
    path = save_weights(tmp_path / "model.safetensors", sample_variables(), METADATA)
    header_bytes = 8 + struct.unpack("<Q", path.read_bytes()[:8])[0]
    path.write_bytes(path.read_bytes()[:header_bytes])  # the tensors cut off
    assert read_metadata(path) == METADATA
    with pytest.raises(CheckpointError):
        load_weights(path)
    (tmp_path / "short.safetensors").write_bytes(b"\1\0")
    with pytest.raises(CheckpointError, match="too short"):
        read_metadata(tmp_path / "short.safetensors")
