"""Magenta's TensorFlow (TF1 ``Saver``) checkpoints, read and written without TensorFlow.

A checkpoint is a prefix such as ``ckpt/model.ckpt-0``: ``<prefix>.index`` is a table
(see ``sstable``) whose key ``""`` holds a ``BundleHeaderProto`` and whose other keys are
variable names with ``BundleEntryProto`` values; the tensors are raw little-endian bytes in
``<prefix>.data-0000S-of-0000N``. A folder's ``checkpoint`` state file names its newest prefix.

Protobuf fields (tensorflow/core/protobuf/tensor_bundle.proto, tensor_shape.proto,
versions.proto): BundleHeaderProto {1 num_shards, 2 endianness (0 little), 3 version
{1 producer}}; BundleEntryProto {1 dtype, 2 shape {2 dim {1 size}}, 3 shard_id, 4 offset,
5 size, 6 crc32c (fixed32, masked), 7 slices}.
"""

from __future__ import annotations

import codecs
import math
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from latentjam.models.checkpoints.sstable import (
    build_table,
    decode_varint,
    encode_varint,
    read_table,
)
from latentjam.models.crc import masked_crc32c
from latentjam.models.errors import CheckpointError

STATE_FILE = "checkpoint"
_BUNDLE_VERSION = 1  # what TensorFlow writes as the header's version.producer
_BFLOAT16 = 14
# tensorflow/core/framework/types.proto enum values -> NumPy dtypes (little-endian).
_DTYPES: dict[int, np.dtype] = {
    1: np.dtype("<f4"),   # DT_FLOAT
    2: np.dtype("<f8"),   # DT_DOUBLE
    3: np.dtype("<i4"),   # DT_INT32
    4: np.dtype("u1"),    # DT_UINT8
    5: np.dtype("<i2"),   # DT_INT16
    6: np.dtype("i1"),    # DT_INT8
    9: np.dtype("<i8"),   # DT_INT64
    10: np.dtype("?"),    # DT_BOOL
    17: np.dtype("<u2"),  # DT_UINT16
    19: np.dtype("<f2"),  # DT_HALF
    22: np.dtype("<u4"),  # DT_UINT32
    23: np.dtype("<u8"),  # DT_UINT64
}
_DTYPE_NUMBERS = {dtype: number for number, dtype in _DTYPES.items()}


@dataclass(frozen=True)
class BundleEntry:
    dtype: int
    shape: tuple[int, ...]
    shard_id: int
    offset: int
    size: int
    crc32c: int  # masked, as stored
    sliced: bool


# ----------------------------------------------------------------------------- protobuf


def _fields(data: bytes, source: str) -> Iterator[tuple[int, int | bytes]]:
    """``(field number, value)`` of a message: ints for varint and fixed fields, bytes else."""
    pos = 0
    while pos < len(data):
        key, pos = decode_varint(data, pos, source)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = decode_varint(data, pos, source)
            yield number, value
        elif wire == 2:
            size, pos = decode_varint(data, pos, source)
            if pos + size > len(data):
                raise CheckpointError(f"{source}: truncated protobuf field {number}")
            yield number, data[pos:pos + size]
            pos += size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            if pos + width > len(data):
                raise CheckpointError(f"{source}: truncated protobuf field {number}")
            yield number, int.from_bytes(data[pos:pos + width], "little")
            pos += width
        else:
            raise CheckpointError(f"{source}: unsupported protobuf wire type {wire}")


def _int64(value: int | bytes) -> int:
    assert isinstance(value, int)
    return value - (1 << 64) if value >= 1 << 63 else value


def _parse_shape(data: bytes, source: str) -> tuple[int, ...]:
    dims = []
    for number, value in _fields(data, source):
        if number == 2 and isinstance(value, bytes):
            size = 0
            for dim_number, dim_value in _fields(value, source):
                if dim_number == 1:
                    size = _int64(dim_value)
            if size < 0:
                raise CheckpointError(f"{source}: tensor dimension {size} is not a fixed size")
            dims.append(size)
        elif number == 3 and value:
            raise CheckpointError(f"{source}: tensor shape of unknown rank")
    return tuple(dims)


def _parse_entry(data: bytes, source: str) -> BundleEntry:
    values: dict[str, int] = {"dtype": 0, "shard_id": 0, "offset": 0, "size": 0, "crc32c": 0}
    shape: tuple[int, ...] = ()
    sliced = False
    names = {1: "dtype", 3: "shard_id", 4: "offset", 5: "size", 6: "crc32c"}
    for number, value in _fields(data, source):
        if number == 2 and isinstance(value, bytes):
            shape = _parse_shape(value, source)
        elif number == 7:
            sliced = True
        elif number in names and isinstance(value, int):
            values[names[number]] = _int64(value) if number in (4, 5) else value
    return BundleEntry(shape=shape, sliced=sliced, **values)


def _parse_header(data: bytes, source: str) -> tuple[int, int]:
    """``(num_shards, endianness)`` of a BundleHeaderProto."""
    num_shards, endianness = 0, 0
    for number, value in _fields(data, source):
        if number == 1 and isinstance(value, int):
            num_shards = value
        elif number == 2 and isinstance(value, int):
            endianness = value
    return num_shards, endianness


def _field_varint(number: int, value: int) -> bytes:
    return encode_varint(number << 3) + encode_varint(value) if value else b""


def _field_bytes(number: int, value: bytes) -> bytes:
    return encode_varint(number << 3 | 2) + encode_varint(len(value)) + value


def _entry_bytes(entry: BundleEntry) -> bytes:
    shape = b"".join(_field_bytes(2, _field_varint(1, size)) for size in entry.shape)
    return (_field_varint(1, entry.dtype) + _field_bytes(2, shape)
            + _field_varint(3, entry.shard_id) + _field_varint(4, entry.offset)
            + _field_varint(5, entry.size)
            + encode_varint(6 << 3 | 5) + entry.crc32c.to_bytes(4, "little"))


def _header_bytes(num_shards: int) -> bytes:
    return _field_varint(1, num_shards) + _field_bytes(3, _field_varint(1, _BUNDLE_VERSION))


# ----------------------------------------------------------------------------- paths


def data_file(prefix: Path, shard: int, num_shards: int) -> Path:
    return Path(f"{prefix}.data-{shard:05d}-of-{num_shards:05d}")


def _state_paths(folder: Path) -> tuple[str | None, list[str]]:
    """``model_checkpoint_path`` and ``all_model_checkpoint_paths`` of a state file."""
    state = folder / STATE_FILE
    try:
        text = state.read_text()
    except (OSError, UnicodeDecodeError):
        return None, []
    latest: str | None = None
    every: list[str] = []
    for field, quoted in re.findall(r'^\s*(\w+)\s*:\s*"((?:[^"\\]|\\.)*)"', text, re.M):
        value = codecs.escape_decode(quoted.encode())[0].decode("utf-8", "replace")
        if field == "model_checkpoint_path":
            latest = value
        elif field == "all_model_checkpoint_paths":
            every.append(value)
    return latest, every


def _step_of(index: Path) -> int:
    match = re.search(r"-(\d+)$", index.name[: -len(".index")])
    return int(match.group(1)) if match else -1


def resolve_prefix(path: str | Path) -> Path:
    """The checkpoint prefix that ``path`` (a prefix, an ``.index`` file or a folder) means."""
    path = Path(path)
    if path.is_dir():
        latest, _ = _state_paths(path)
        if latest:
            prefix = Path(latest) if Path(latest).is_absolute() else path / latest
            if not Path(f"{prefix}.index").is_file():
                prefix = path / Path(latest).name  # a folder moved since it was saved
            if Path(f"{prefix}.index").is_file():
                return prefix
        indexes = sorted(path.glob("*.index"), key=lambda p: (_step_of(p), p.stat().st_mtime))
        if not indexes:
            raise CheckpointError(
                f"{path}: no TF checkpoint here (no '{STATE_FILE}' state file naming one, "
                f"no *.index file)"
            )
        return indexes[-1].with_suffix("")
    if path.suffix == ".index":
        if not path.is_file():
            raise CheckpointError(f"{path}: no such checkpoint index file")
        return path.with_suffix("")
    if Path(f"{path}.index").is_file():
        return path
    raise CheckpointError(f"{path}: not a TF checkpoint (no {path}.index)")


# ----------------------------------------------------------------------------- reading


def read_entries(prefix: Path) -> tuple[int, dict[str, BundleEntry]]:
    """``(num_shards, {name: entry})`` from ``<prefix>.index``."""
    index = Path(f"{prefix}.index")
    source = str(index)
    try:
        data = index.read_bytes()
    except OSError as err:
        raise CheckpointError(f"{index}: cannot read checkpoint index: {err.strerror}") from None
    num_shards, entries = 0, {}
    for key, value in read_table(data, source):
        if key == b"":
            num_shards, endianness = _parse_header(value, source)
            if endianness != 0:
                raise CheckpointError(f"{index}: big-endian checkpoints are not supported")
            continue
        name = key.decode("utf-8", "replace")
        entries[name] = _parse_entry(value, f"{source} entry {name!r}")
    if num_shards < 1:
        raise CheckpointError(f"{index}: no bundle header (key '') with a shard count")
    return num_shards, entries


def _tensor(raw: bytearray, entry: BundleEntry, name: str, source: str) -> np.ndarray:
    if entry.sliced:
        raise CheckpointError(f"{source}: {name} is a partitioned variable (not supported)")
    if entry.dtype == _BFLOAT16:
        dtype = np.dtype("<u2")
    elif entry.dtype in _DTYPES:
        dtype = _DTYPES[entry.dtype]
    else:
        raise CheckpointError(f"{source}: {name} has unsupported TensorFlow dtype {entry.dtype}")
    count = math.prod(entry.shape)  # Python ints: a crafted shape cannot overflow
    if count * dtype.itemsize != len(raw):
        raise CheckpointError(
            f"{source}: {name} holds {len(raw)} bytes, shape {list(entry.shape)} of "
            f"{dtype.name} needs {count * dtype.itemsize}"
        )
    array = np.frombuffer(raw, dtype=dtype).reshape(entry.shape)
    if entry.dtype == _BFLOAT16:  # the top half of a float32
        return (array.astype(np.uint32) << 16).view(np.float32)
    return array.astype(dtype.newbyteorder("="), copy=False)


def read_tf_checkpoint(path: str | Path) -> dict[str, np.ndarray]:
    """Every variable of a TF checkpoint, by name. ``path``: a prefix (``.../model.ckpt-0``),
    its ``.index`` file, or a folder (its ``checkpoint`` state file, else the newest
    ``*.index``). Tensors keep their dtype, except bfloat16, which becomes float32. Checksums
    are verified; any corruption raises a CheckpointError naming the file."""
    prefix = resolve_prefix(path)
    num_shards, entries = read_entries(prefix)
    by_shard: dict[int, list[str]] = {}
    for name, entry in entries.items():
        if not 0 <= entry.shard_id < num_shards:
            raise CheckpointError(f"{prefix}.index: {name} is in shard {entry.shard_id} "
                                  f"of {num_shards}")
        by_shard.setdefault(entry.shard_id, []).append(name)
    variables: dict[str, np.ndarray] = {}
    for shard, names in sorted(by_shard.items()):
        shard_path = data_file(prefix, shard, num_shards)
        try:
            handle = shard_path.open("rb")
        except OSError as err:
            raise CheckpointError(f"{shard_path}: cannot open checkpoint data: "
                                  f"{err.strerror}") from None
        with handle:
            file_size = os.fstat(handle.fileno()).st_size
            for name in sorted(names, key=lambda n: entries[n].offset):
                entry = entries[name]
                if entry.offset < 0 or entry.size < 0 or entry.offset + entry.size > file_size:
                    raise CheckpointError(
                        f"{shard_path}: {name} at bytes {entry.offset}..+{entry.size} lies "
                        f"outside the file ({file_size} bytes)"
                    )
                handle.seek(entry.offset)
                raw = bytearray(entry.size)
                handle.readinto(raw)
                if masked_crc32c(raw) != entry.crc32c:
                    raise CheckpointError(f"{shard_path}: checksum mismatch in {name}")
                variables[name] = _tensor(raw, entry, name, str(shard_path))
    return variables


# ----------------------------------------------------------------------------- writing


def _as_stored(name: str, value: np.ndarray) -> np.ndarray:
    array = np.asarray(value)
    if name == "global_step":
        array = array.astype(np.int64).reshape(())
    stored = array.dtype.newbyteorder("<") if array.dtype.itemsize > 1 else array.dtype
    if stored not in _DTYPE_NUMBERS:
        raise CheckpointError(f"cannot write {name}: dtype {array.dtype} has no checkpoint "
                              f"encoding here")
    return np.array(array, dtype=stored, order="C")  # keeps 0-d scalars 0-d


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".tmp")
    partial.write_bytes(data)
    os.replace(partial, path)


def _update_state(prefix: Path) -> None:
    """Point the folder's state file at ``prefix``, by a path relative to the folder."""
    folder = prefix.parent
    _, every = _state_paths(folder)
    kept = [p for p in every if p != prefix.name
            and Path(f"{folder / p if not Path(p).is_absolute() else p}.index").is_file()]
    kept.append(prefix.name)

    def quoted(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [f"model_checkpoint_path: {quoted(prefix.name)}"]
    lines += [f"all_model_checkpoint_paths: {quoted(p)}" for p in kept]
    _write_atomically(folder / STATE_FILE, ("\n".join(lines) + "\n").encode())


def write_tf_checkpoint(prefix: str | Path, variables: Mapping[str, np.ndarray]) -> Path:
    """Write a single-shard checkpoint that TensorFlow (and Magenta) can restore, and point
    the folder's ``checkpoint`` state file at it (relative paths, as
    ``Saver(save_relative_paths=True)``). ``global_step``, if given, is stored as an int64
    scalar. Returns the prefix."""
    prefix = Path(prefix)
    if prefix.suffix == ".index":
        prefix = prefix.with_suffix("")
    for name in variables:
        if not isinstance(name, str) or not name:
            raise CheckpointError(f"{prefix}: variable names must be non-empty strings, "
                                  f"got {name!r}")
    arrays = {name: _as_stored(name, variables[name])
              for name in sorted(variables, key=lambda n: n.encode("utf-8"))}
    data = bytearray()
    table = [(b"", _header_bytes(1))]
    for name, array in arrays.items():
        raw = array.tobytes()
        entry = BundleEntry(dtype=_DTYPE_NUMBERS[array.dtype], shape=array.shape, shard_id=0,
                            offset=len(data), size=len(raw), crc32c=masked_crc32c(raw),
                            sliced=False)
        table.append((name.encode("utf-8"), _entry_bytes(entry)))
        data += raw
    prefix.parent.mkdir(parents=True, exist_ok=True)
    try:
        _write_atomically(data_file(prefix, 0, 1), bytes(data))
        _write_atomically(Path(f"{prefix}.index"), build_table(table))
        _update_state(prefix)
    except OSError as err:
        raise CheckpointError(f"{prefix}: cannot write checkpoint: {err}") from None
    return prefix
