"""The ``.midime`` file: a trained MidiMe and the base model it belongs to.

Our weights format (``checkpoints.native``: safetensors layout, no pickles) with the MidiMe
parameters as tensors and, in the metadata, the format's name and version, the MidiMe
config, what the base model was (the name as given, its config, its z size) and a
fingerprint of its weights, so a file is never decoded through a model it was not trained on.

Version 2 adds an optional decoder head (``head``: the base decoder's output layer refitted
to the user's windows), its tensors under ``head/`` and its config and summary in the
metadata. Version 1 files (MidiMe alone) still load, as MidiMe alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from latentjam.models.checkpoints.native import load_weights, read_metadata, save_weights
from latentjam.models.errors import CheckpointError, ConfigError
from latentjam.models.personalize import network
from latentjam.models.personalize.head import (
    PROJECTION,
    DecoderHead,
    HeadConfig,
    HeadSummary,
    check_head,
)
from latentjam.models.personalize.midime import MidiMe, MidiMeConfig, TrainingSummary

if TYPE_CHECKING:
    from latentjam.models.trained_model import TrainedModel

FORMAT = "latentjam-midime"
FORMAT_VERSION = 2  # 2: an optional decoder head
READABLE_VERSIONS = (1, 2)
HEAD_PREFIX = "head/"  # the head's tensors: head/<the base variable it replaces>
SUFFIX = ".midime"
# μ's weights: every MusicVAE config has them, and they made the vectors MidiMe learned from
FINGERPRINT_VARIABLES = ("encoder/mu/kernel", "encoder/mu/bias")


def base_fingerprint(variables: Mapping[str, np.ndarray]) -> str:
    """sha256 over the names, shapes and float32 little-endian bytes of the base model's μ
    weights: the same for a model whichever format (or float16 storage) it was read from."""
    digest = hashlib.sha256()
    for name in FINGERPRINT_VARIABLES:
        if name not in variables:
            raise CheckpointError(f"base model has no {name}: not a MusicVAE checkpoint")
        array = np.ascontiguousarray(variables[name], dtype="<f4")
        digest.update(f"{name}{list(array.shape)}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def model_fingerprint(model: TrainedModel) -> str:
    """``base_fingerprint`` of a loaded model's weights."""
    return base_fingerprint(dict(zip(FINGERPRINT_VARIABLES, model.vae.mu_weights, strict=True)))


@dataclass(frozen=True)
class BaseModelInfo:
    name: str  # as the user gave it: a shipped default's name or a path
    config_name: str
    z_size: int
    fingerprint: str

    @classmethod
    def of(cls, model: TrainedModel, name: str | None = None) -> BaseModelInfo:
        """``name``: how the user named the model (default: the model's own name)."""
        return cls(name=str(name if name is not None else model.name),
                   config_name=model.config.name, z_size=model.config.hparams.z_size,
                   fingerprint=model_fingerprint(model))


def save_midime(path: str | Path, midime: MidiMe, base: BaseModelInfo,
                extra: dict | None = None) -> Path:
    """Write ``midime`` for ``base``; ``extra``: JSON-able notes (what it learned from)."""
    if midime.base_z_size != base.z_size:
        raise ConfigError(f"{path}: MidiMe reads {midime.base_z_size}-d latents, base "
                          f"model {base.name} has z size {base.z_size}")
    head = midime.head
    metadata = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "midime_config": midime.config.to_dict(), "base": asdict(base),
        "training": asdict(midime.training) if midime.training else None,
        "head": None if head is None else {
            "config": head.config.to_dict(),
            "summary": asdict(head.summary) if head.summary else None},
        "extra": extra or {},
    }
    tensors = dict(midime.parameters)
    if head is not None:
        tensors.update({HEAD_PREFIX + name: value for name, value in head.variables().items()})
    return save_weights(path, tensors, metadata)


def _check_format(metadata: dict, path: Path) -> None:
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a MidiMe file (no '{FORMAT}' format in its "
                              f"metadata)")
    version = metadata.get("format_version")
    if version not in READABLE_VERSIONS:
        raise CheckpointError(f"{path}: MidiMe file format version {version!r}; this "
                              f"latentjam reads versions "
                              f"{', '.join(map(str, READABLE_VERSIONS))}")


def _base_info(metadata: dict, path: Path) -> BaseModelInfo:
    base = metadata.get("base")
    try:
        info = BaseModelInfo(**base)
    except TypeError:
        raise CheckpointError(f"{path}: metadata 'base' must hold name, config_name, "
                              f"z_size and fingerprint") from None
    if type(info.z_size) is not int or not isinstance(info.fingerprint, str):
        raise CheckpointError(f"{path}: metadata 'base' has a bad z_size or fingerprint")
    return info


def read_midime_info(path: str | Path) -> BaseModelInfo:
    """The base model a ``.midime`` file belongs to, from its header alone."""
    path = Path(path)
    metadata = read_metadata(path)
    _check_format(metadata, path)
    return _base_info(metadata, path)


def check_base(info: BaseModelInfo, model: TrainedModel, path: str | Path) -> None:
    """CheckpointError, naming ``path``, unless ``model`` is the one ``info`` describes."""
    found = model_fingerprint(model)
    if found != info.fingerprint or model.config.hparams.z_size != info.z_size:
        raise CheckpointError(
            f"{path}: trained on base model {info.name!r} ({info.config_name}, z "
            f"{info.z_size}, weights {info.fingerprint[:12]}), not on {model.source} "
            f"({model.config.name}, z {model.config.hparams.z_size}, weights {found[:12]})")


def load_midime(path: str | Path, base: TrainedModel | None = None
                ) -> tuple[MidiMe, BaseModelInfo]:
    """The MidiMe in ``path`` and its base model's description; with ``base``, checks that
    it is that model (CheckpointError otherwise)."""
    path = Path(path)
    variables, metadata = load_weights(path)
    _check_format(metadata, path)
    info = _base_info(metadata, path)
    stored = metadata.get("midime_config")
    if not isinstance(stored, dict):
        raise CheckpointError(f"{path}: metadata 'midime_config' must be a table")
    config = MidiMeConfig.from_dict(stored, source=f"{path} metadata 'midime_config'")
    expected = network.parameter_shapes(info.z_size, config.latent_size,
                                        config.encoder_layers, config.decoder_layers)
    head = _head(metadata, variables, path)
    found = {name: tuple(value.shape) for name, value in variables.items()
             if not name.startswith(HEAD_PREFIX)}
    if found != expected:
        wrong = sorted(set(found) ^ set(expected)) or sorted(
            name for name in expected if found[name] != expected[name])
        raise CheckpointError(f"{path}: MidiMe parameters do not match its config "
                              f"(e.g. {wrong[0]})")
    training = metadata.get("training")
    try:
        summary = TrainingSummary(**training) if isinstance(training, dict) else None
    except TypeError:
        summary = None  # notes on training only; the weights are what matters
    midime = MidiMe(config, {name: variables[name] for name in expected}, summary, head)
    if base is not None:
        check_base(info, base, path)
        if head is not None:
            check_head(head, base.config, str(path))
    return midime, info


def _head(metadata: dict, variables: dict, path: Path) -> DecoderHead | None:
    """The decoder head a version-2 file holds, or None (a version-1 file never does)."""
    stored = metadata.get("head")
    names = sorted(name for name in variables if name.startswith(HEAD_PREFIX))
    if stored is None:
        if names:
            raise CheckpointError(f"{path}: {names[0]} but no 'head' in its metadata")
        return None
    if metadata.get("format_version") == 1:
        raise CheckpointError(f"{path}: format version 1 has no decoder head, yet its "
                              f"metadata names one")
    if not isinstance(stored, dict):
        raise CheckpointError(f"{path}: metadata 'head' must be a table")
    head_config = HeadConfig.from_dict(stored.get("config") or {},
                                       source=f"{path} metadata 'head'")
    layers = {name.removeprefix(HEAD_PREFIX): variables[name] for name in names}
    kernels = {n.removesuffix("/kernel") for n in layers if n.endswith(f"{PROJECTION}/kernel")}
    biases = {n.removesuffix("/bias") for n in layers if n.endswith(f"{PROJECTION}/bias")}
    if not layers or kernels != biases or len(kernels) + len(biases) != len(layers):
        raise CheckpointError(f"{path}: decoder head tensors {names}: expected a "
                              f"{HEAD_PREFIX}<decoder>/{PROJECTION}/kernel and /bias pair "
                              f"per decoder")
    try:
        summary = HeadSummary(**stored["summary"]) if isinstance(stored.get("summary"), dict) \
            else None
    except TypeError:
        summary = None  # notes only, as the training summary
    return DecoderHead(head_config, layers, summary)
