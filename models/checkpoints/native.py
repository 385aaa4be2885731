"""Our own weights format: one safe, pickle-free, mmap-friendly file (safetensors layout).

Layout: an 8-byte little-endian header length N; N bytes of JSON ``{name: {"dtype",
"shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}`` padded with spaces
to a multiple of 8; then the tensors' raw little-endian bytes, back to back, offsets counted
from the end of the header. Tensors are ordered by alignment then name, so each starts
aligned to its element size. Our metadata (nested JSON: the config, the training manifest)
is one JSON string under ``__metadata__["latentjam"]``.

Written and read by this module alone; every header field is checked against the file's
size before anything is allocated, so a crafted file gives a CheckpointError.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from latentjam.models.errors import CheckpointError

METADATA_KEY = "latentjam"
MAX_HEADER_BYTES = 100 * 1024 * 1024  # the limit safetensors itself applies
_LENGTH = struct.Struct("<Q")
_DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"), "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
}
_NAMES = {dtype: name for name, dtype in _DTYPES.items()}
STORAGE = {"float32": np.dtype("<f4"), "float16": np.dtype("<f2")}


def _stored(name: str, value: np.ndarray, floats: np.dtype, path: Path) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind == "f":
        array = array.astype(floats)
    elif array.dtype.itemsize > 1:
        array = array.astype(array.dtype.newbyteorder("<"))
    if array.dtype not in _NAMES:
        raise CheckpointError(f"{path}: cannot store {name} of dtype {array.dtype}")
    return np.array(array, order="C")  # np.ascontiguousarray would make scalars 1-d


def save_weights(path: str | Path, variables: Mapping[str, np.ndarray], metadata: dict,
                 dtype: str = "float32") -> Path:
    """Write ``variables`` (float tensors as ``dtype``: "float32" or "float16"; integer
    tensors unchanged) and JSON-able ``metadata`` to one file, atomically."""
    path = Path(path)
    if dtype not in STORAGE:
        raise CheckpointError(f"{path}: storage dtype must be one of {sorted(STORAGE)}, "
                              f"got {dtype!r}")
    arrays = {name: _stored(name, value, STORAGE[dtype], path)
              for name, value in variables.items()}
    if "__metadata__" in arrays:
        raise CheckpointError(f"{path}: '__metadata__' cannot name a tensor")
    try:
        header: dict[str, Any] = {"__metadata__": {METADATA_KEY: json.dumps(metadata)}}
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: metadata is not JSON-able: {err}") from None
    offset = 0
    order = sorted(arrays, key=lambda n: (-arrays[n].dtype.itemsize, n))
    for name in order:
        array = arrays[name]
        header[name] = {"dtype": _NAMES[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    partial = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as out:
            out.write(_LENGTH.pack(len(text)) + text)
            for name in order:
                out.write(arrays[name].tobytes())
        os.replace(partial, path)
    except OSError as err:
        raise CheckpointError(f"{path}: cannot write weights: {err}") from None
    return path


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key in header")
    return dict(pairs)


def _read_header(handle, path: Path, file_size: int) -> dict[str, Any]:
    if file_size < _LENGTH.size:
        raise CheckpointError(f"{path}: {file_size} bytes is too short for a weights file")
    (length,) = _LENGTH.unpack(handle.read(_LENGTH.size))
    if length > min(MAX_HEADER_BYTES, file_size - _LENGTH.size):
        raise CheckpointError(f"{path}: header length {length} does not fit the file "
                              f"({file_size} bytes)")
    try:
        header = json.loads(handle.read(length), object_pairs_hook=_unique_keys)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise CheckpointError(f"{path}: header is not valid JSON: {err}") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: header must be a JSON object")
    return header


def _layout(header: dict[str, Any], path: Path, buffer_size: int
            ) -> dict[str, tuple[np.dtype, tuple[int, ...], int, int]]:
    """``{name: (dtype, shape, begin, end)}``, each checked against the buffer's size."""
    layout = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        where = f"{path}: tensor {name!r}"
        if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data_offsets"}:
            raise CheckpointError(f"{where}: needs exactly dtype, shape and data_offsets")
        dtype = _DTYPES.get(spec["dtype"]) if isinstance(spec["dtype"], str) else None
        if dtype is None:
            raise CheckpointError(f"{where}: unsupported dtype {spec['dtype']!r}")
        shape, offsets = spec["shape"], spec["data_offsets"]
        if not isinstance(shape, list) or not all(
            type(d) is int and d >= 0 for d in shape
        ):
            raise CheckpointError(f"{where}: bad shape {shape!r}")
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(
            type(o) is int for o in offsets
        ) or not 0 <= offsets[0] <= offsets[1] <= buffer_size:
            raise CheckpointError(f"{where}: data_offsets {offsets!r} outside the "
                                  f"{buffer_size}-byte data")
        count = 1
        for d in shape:
            count *= d  # Python ints: a crafted shape cannot overflow
        if count * dtype.itemsize != offsets[1] - offsets[0]:
            raise CheckpointError(f"{where}: shape {shape} of {spec['dtype']} needs "
                                  f"{count * dtype.itemsize} bytes, offsets give "
                                  f"{offsets[1] - offsets[0]}")
        layout[name] = (dtype, tuple(shape), offsets[0], offsets[1])
    end = 0
    for name, (_, _, begin, stop) in sorted(layout.items(), key=lambda item: item[1][2:]):
        if begin != end:
            raise CheckpointError(f"{path}: tensor {name!r} starts at {begin}, expected {end} "
                                  f"(tensors must not overlap or leave gaps)")
        end = stop
    if end != buffer_size:
        raise CheckpointError(f"{path}: tensors cover {end} of {buffer_size} data bytes")
    return layout


def _metadata(header: dict[str, Any], path: Path) -> dict:
    stored = header.get("__metadata__", {})
    if not isinstance(stored, dict) or not all(isinstance(v, str) for v in stored.values()):
        raise CheckpointError(f"{path}: __metadata__ must map strings to strings")
    if METADATA_KEY not in stored:
        return {}
    try:
        metadata = json.loads(stored[METADATA_KEY])
    except (ValueError, RecursionError) as err:
        raise CheckpointError(f"{path}: metadata is not valid JSON: {err}") from None
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{path}: metadata must be a JSON object")
    return metadata


def read_metadata(path: str | Path) -> dict:
    """The metadata of a weights file, reading its header only."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            header = _read_header(handle, path, os.fstat(handle.fileno()).st_size)
    except OSError as err:
        raise CheckpointError(f"{path}: cannot read weights: {err.strerror}") from None
    return _metadata(header, path)


def load_weights(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """``(variables, metadata)``: float tensors as float32, integer ones as stored."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            file_size = os.fstat(handle.fileno()).st_size
            header = _read_header(handle, path, file_size)
            start = handle.tell()
            layout = _layout(header, path, file_size - start)
            metadata = _metadata(header, path)
            data = bytearray(file_size - start)
            if handle.readinto(data) != len(data):
                raise CheckpointError(f"{path}: file shrank while being read")
    except OSError as err:
        raise CheckpointError(f"{path}: cannot read weights: {err.strerror}") from None
    variables = {}
    for name, (dtype, shape, begin, end) in layout.items():
        array = np.frombuffer(data, dtype=dtype, count=(end - begin) // dtype.itemsize,
                              offset=begin).reshape(shape)
        native = np.dtype(np.float32) if dtype.kind == "f" else dtype.newbyteorder("=")
        variables[name] = array.astype(native, copy=False)
    return variables, metadata
