"""One door to every checkpoint format: tell the format from the path, load it, and give
the config our own files carry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from latentjam.models.checkpoints.magentajs import MANIFEST, read_magentajs
from latentjam.models.checkpoints.native import load_weights
from latentjam.models.checkpoints.tf_checkpoint import STATE_FILE, read_tf_checkpoint
from latentjam.models.configs import ModelConfig, config_from_dict
from latentjam.models.errors import CheckpointError

NATIVE_SUFFIX = ".safetensors"
NATIVE_FILE = "model.safetensors"
FORMATS = ("tf", "magentajs", "native")


@dataclass(frozen=True)
class LoadedCheckpoint:
    variables: dict[str, np.ndarray]
    metadata: dict  # our metadata, a magenta.js config.json's contents, or {} for TF
    format: str  # one of FORMATS
    source: Path  # the file or folder actually read


def detect_format(path: str | Path) -> tuple[str, Path]:
    """``(format, what to read)`` for ``path``, or a CheckpointError saying what was sought."""
    path = Path(path)
    if path.is_file() and path.suffix == NATIVE_SUFFIX:
        return "native", path
    if path.is_dir() and (path / NATIVE_FILE).is_file():
        return "native", path / NATIVE_FILE
    if path.is_dir() and (path / MANIFEST).is_file():
        return "magentajs", path
    if path.is_file() and path.name == MANIFEST:
        return "magentajs", path.parent
    if path.is_dir() and ((path / STATE_FILE).is_file() or any(path.glob("*.index"))):
        return "tf", path
    if (path.is_file() and path.suffix == ".index") or Path(f"{path}.index").is_file():
        return "tf", path
    raise CheckpointError(
        f"{path}: not a checkpoint; looked for a {NATIVE_SUFFIX} file or a folder holding "
        f"{NATIVE_FILE} (latentjam), a folder holding {MANIFEST} (magenta.js), and a TF "
        f"checkpoint prefix, its .index file, or a folder holding a '{STATE_FILE}' file or "
        f"*.index files (Magenta)"
    )


def load_checkpoint(path: str | Path) -> LoadedCheckpoint:
    """The variables and metadata of a checkpoint in any of the three formats."""
    kind, source = detect_format(path)
    if kind == "native":
        variables, metadata = load_weights(source)
    elif kind == "magentajs":
        variables, metadata = read_magentajs(source)
    else:
        variables, metadata = read_tf_checkpoint(source), {}
    return LoadedCheckpoint(variables=variables, metadata=metadata, format=kind, source=source)


def checkpoint_config(loaded: LoadedCheckpoint) -> ModelConfig | None:
    """The config our own checkpoints store (``metadata["config"]``); None for the others."""
    stored = loaded.metadata.get("config") if loaded.format == "native" else None
    if stored is None:
        return None
    if not isinstance(stored, dict):
        raise CheckpointError(f"{loaded.source}: metadata 'config' must be a table")
    return config_from_dict(stored, source=f"{loaded.source} metadata 'config'")
