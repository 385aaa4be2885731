"""magenta.js checkpoints: ``config.json``, ``weights_manifest.json`` and binary shards.

The manifest is a list of groups ``{"paths": [shard files], "weights": [{name, shape,
dtype, quantization?}]}``. A group's shards, concatenated, hold its weights back to back in
manifest order, little-endian. Quantized weights (``quantization.dtype``) are stored as
uint8 or uint16 ``q`` with ``value = q * scale + min`` (worked in float64, then float32,
as tfjs does), or as float16 values widened to float32.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from latentjam.models.errors import CheckpointError

MANIFEST = "weights_manifest.json"
CONFIG = "config.json"
_PLAIN = {"float32": np.dtype("<f4"), "int32": np.dtype("<i4"), "bool": np.dtype("?")}
_QUANTIZED = {"uint8": np.dtype("u1"), "uint16": np.dtype("<u2"), "float16": np.dtype("<f2")}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as err:
        raise CheckpointError(f"{path}: cannot read: {err.strerror}") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path}: not valid JSON: {err}") from None


def _group_bytes(folder: Path, paths: list[Any], manifest: Path) -> tuple[bytes, str]:
    """The group's shards concatenated, and their names for messages."""
    chunks = []
    for name in paths:
        if not isinstance(name, str):
            raise CheckpointError(f"{manifest}: shard path {name!r} is not a string")
        try:
            chunks.append((folder / name).read_bytes())
        except OSError as err:
            raise CheckpointError(f"{folder / name}: cannot read shard listed in {manifest}: "
                                  f"{err.strerror}") from None
    return b"".join(chunks), ", ".join(str(folder / name) for name in paths)


def _storage(spec: dict[str, Any], where: str) -> tuple[np.dtype, dict[str, Any] | None]:
    """How a weight is stored: its on-disk dtype and quantization (None for plain)."""
    quantization = spec.get("quantization")
    if quantization is not None:
        kind = quantization.get("dtype") if isinstance(quantization, dict) else None
        if kind not in _QUANTIZED:
            raise CheckpointError(f"{where}: unsupported quantization {quantization!r}")
        if kind != "float16" and not all(
            isinstance(quantization.get(key), int | float) for key in ("scale", "min")
        ):
            raise CheckpointError(f"{where}: {kind} quantization needs numeric scale and min")
        return _QUANTIZED[kind], quantization
    dtype = spec.get("dtype", "float32")
    if dtype not in _PLAIN:
        raise CheckpointError(f"{where}: unsupported dtype {dtype!r}")
    return _PLAIN[dtype], None


def _decode(raw: np.ndarray, spec: dict[str, Any], quantization: dict[str, Any] | None
            ) -> np.ndarray:
    if quantization is None:
        return raw.astype(raw.dtype.newbyteorder("="))
    if quantization["dtype"] == "float16":
        return raw.astype(np.float32)
    values = raw.astype(np.float64) * float(quantization["scale"]) + float(quantization["min"])
    if spec.get("dtype") == "int32":
        return np.round(values).astype(np.int32)
    return values.astype(np.float32)


def _shape(spec: dict[str, Any], where: str) -> tuple[int, ...]:
    shape = spec.get("shape")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise CheckpointError(f"{where}: shape must be a list of sizes, got {shape!r}")
    return tuple(shape)


def _read_group(folder: Path, group: Any, number: int, manifest: Path
                ) -> dict[str, np.ndarray]:
    where = f"{manifest} group {number}"
    if not isinstance(group, dict) or not isinstance(group.get("paths"), list) \
            or not isinstance(group.get("weights"), list):
        raise CheckpointError(f"{where}: a group needs 'paths' and 'weights' lists")
    data, shards = _group_bytes(folder, group["paths"], manifest)
    variables: dict[str, np.ndarray] = {}
    offset = 0
    for spec in group["weights"]:
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise CheckpointError(f"{where}: weight entry {spec!r} has no name")
        name = spec["name"]
        stored, quantization = _storage(spec, f"{where} weight {name}")
        shape = _shape(spec, f"{where} weight {name}")
        size = int(np.prod(shape, dtype=np.int64)) * stored.itemsize
        if offset + size > len(data):
            raise CheckpointError(
                f"{shards}: {len(data)} bytes, too short for weight {name} at bytes "
                f"{offset}..{offset + size} (as {manifest} describes it)"
            )
        raw = np.frombuffer(data, dtype=stored, count=size // stored.itemsize, offset=offset)
        variables[name] = _decode(raw, spec, quantization).reshape(shape)
        offset += size
    if offset != len(data):
        raise CheckpointError(f"{shards}: {len(data)} bytes, but {manifest} describes {offset}")
    return variables


def read_magentajs(folder: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """The variables of a magenta.js checkpoint folder (float32 unless stored as int32 or
    bool) and its ``config.json`` contents ({} where there is none)."""
    folder = Path(folder)
    if folder.name == MANIFEST:
        folder = folder.parent
    manifest = folder / MANIFEST
    groups = _read_json(manifest)
    if not isinstance(groups, list):
        raise CheckpointError(f"{manifest}: a manifest is a list of weight groups")
    variables: dict[str, np.ndarray] = {}
    for number, group in enumerate(groups, start=1):
        for name, value in _read_group(folder, group, number, manifest).items():
            if name in variables:
                raise CheckpointError(f"{manifest}: weight {name} is listed twice")
            variables[name] = value
    config: dict = {}
    if (folder / CONFIG).is_file():
        config = _read_json(folder / CONFIG)
        if not isinstance(config, dict):
            raise CheckpointError(f"{folder / CONFIG}: expected a JSON object")
    return variables, config
