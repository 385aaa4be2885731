"""A loaded MusicVAE with its converter: NoteSequences in, NoteSequences out.

The facade the command line and the engine call. ``TrainedModel.load`` takes a shipped
default's name or a checkpoint in any of the three formats (Magenta TF, magenta.js, ours)
and settles the config: the one asked for, else the one our checkpoints store, else the
one named config whose variable shapes the checkpoint fits.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from latentjam.models.checkpoints.loader import (
    LoadedCheckpoint,
    checkpoint_config,
    detect_format,
    load_checkpoint,
)
from latentjam.models.checkpoints.native import read_metadata
from latentjam.models.configs import CONFIGS, ModelConfig, any_program, load_config
from latentjam.models.defaults import resolve_model
from latentjam.models.encodings.converters import Converter, get_converter
from latentjam.models.errors import ConfigError, InputError, NoExamplesError
from latentjam.models.inference.musicvae import MusicVAE, slerp
from latentjam.models.notesequence import DEFAULT_QPM, NoteSequence
from latentjam.models.personalize.midime_file import SUFFIX as MIDIME_SUFFIX
from latentjam.models.variables import expected_shapes


def infer_config(variables: dict[str, np.ndarray], path: Path | None = None
                 ) -> ModelConfig | None:
    """The one named config whose variables have exactly these shapes, if only one fits;
    of several that fit (GrooVAE's configs share their shapes), the one whose name the
    checkpoint's path holds (Magenta's ``groovae_2bar_humanize.tar`` unpacks to a folder of
    that name), the longest such name if several do."""
    shapes = {name: tuple(value.shape) for name, value in variables.items()}
    fits = [
        config for config in CONFIGS.values()
        if all(shapes.get(name) == shape for name, shape in expected_shapes(config).items())
    ]
    if len(fits) > 1 and path is not None:
        named = [c for c in fits if c.name in str(Path(path).resolve())]
        fits = sorted(named, key=lambda c: len(c.name))[-1:]
    return fits[0] if len(fits) == 1 else None


def _settle_config(loaded: LoadedCheckpoint, path: Path,
                   config: str | Path | ModelConfig | None) -> ModelConfig:
    """The config asked for, else the one our checkpoints store, else the one that fits."""
    if isinstance(config, ModelConfig):
        return config
    if config is not None:
        return load_config(config)
    chosen = checkpoint_config(loaded) or infer_config(loaded.variables, path)
    if chosen is None:
        raise ConfigError(
            f"{path}: a {loaded.format} checkpoint carries no config and its shapes fit "
            f"no single named config; pass --config NAME or a hyper-parameter file"
        )
    return chosen


def model_config(model: str | Path | None = None,
                 config: str | Path | ModelConfig | None = None) -> ModelConfig:
    """The config ``TrainedModel.load(model, config)`` settles on, read cheaply: our own
    files give theirs from the header alone (what kind a model is, before loading it)."""
    path = resolve_model(model)
    if path.suffix == MIDIME_SUFFIX:
        from latentjam.models.personalize.personalize import midime_base

        _no_config_for_midime(path, config)
        return model_config(midime_base(path))
    if isinstance(config, ModelConfig):
        return config
    if config is not None:
        return load_config(config)
    kind, source = detect_format(path)
    if kind == "native":
        stored = checkpoint_config(LoadedCheckpoint({}, read_metadata(source), kind, source))
        if stored is not None:
            return stored
    return _settle_config(load_checkpoint(path), path, None)


log = logging.getLogger(__name__)


def _no_config_for_midime(path: Path, config: object) -> None:
    if config is not None:
        raise ConfigError(f"{path}: a personalized model takes its base model's config; "
                          f"drop --config (or the set's config = ...)")

# file and folder names that say nothing of the model: the folder above names it
_GENERIC = re.compile(r"(model|best|weights|latest)(\.safetensors)?|model\.ckpt-\d+(\.index)?|"
                      r"weights_manifest\.json|checkpoints?|ckpt|train|runs?")


def model_name(path: str | Path) -> str:
    """A short name for output files: a shipped model's name, a run folder's name
    (``runs/band/best.safetensors`` -> ``band``), else the file's stem (``band.midime`` ->
    ``band``); only letters, digits,
    ``.``, ``_`` and ``-``."""
    path = Path(path).resolve()
    for _ in range(2):
        if not _GENERIC.fullmatch(path.name) or path.parent == path:
            break
        path = path.parent
    name = path.name.removesuffix(".safetensors").removesuffix(".index") \
        .removesuffix(MIDIME_SUFFIX)
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "model"


@dataclass
class TrainedModel:
    config: ModelConfig
    vae: MusicVAE  # or a PersonalizedVAE: the latent space is the vae's (``vae.z_size``)
    converter: Converter
    source: str  # what was loaded, for messages
    name: str = "model"  # what output files are named after (``model_name``)

    @classmethod
    def load(cls, model: str | Path | None = None,
             config: str | Path | ModelConfig | None = None) -> TrainedModel:
        """``model``: a shipped default's name (None: the default melody model) or a path,
        a personalized ``.midime`` file included (its base model is loaded with it)."""
        path = resolve_model(model)
        if path.suffix == MIDIME_SUFFIX:
            from latentjam.models.personalize.personalize import load_personalized

            _no_config_for_midime(path, config)
            return load_personalized(path)
        loaded = load_checkpoint(path)
        chosen = _settle_config(loaded, path, config)
        vae = MusicVAE(chosen, loaded.variables)
        return cls(config=chosen, vae=vae, converter=get_converter(chosen), source=str(path),
                   name=model_name(path))

    @property
    def window_steps(self) -> int:
        return self.config.hparams.max_seq_len

    def first_windows(self, sequences: list[NoteSequence], names: list[str]) -> np.ndarray:
        """The first window of each sequence, as classes; NoExamplesError names the piece."""
        windows = []
        for sequence, name in zip(sequences, names, strict=True):
            windows.append(self.windows(sequence, name)[0])
        return np.stack(windows)

    def windows(self, sequence: NoteSequence, name: str) -> list[np.ndarray]:
        """The windows of a user's clip, taken as it is (Magenta's filters are for training
        data: a trio whose part rests is encoded, a melody on a synth lead too, and the log
        says so in one line)."""
        extraction = get_converter(any_program(self.config)).to_examples(sequence,
                                                                          training=False)
        if extraction.kept:
            reasons = ", ".join(f"{why}: {n}" for why, n in sorted(extraction.kept.items()))
            log.info("%s: encoded as it is (%s); training data would skip such windows", name,
                     reasons)
        if not extraction.examples:
            reasons = ", ".join(f"{why}: {n}" for why, n in sorted(extraction.skipped.items()))
            raise NoExamplesError(
                f"{name}: no examples extracted for {self.config.name} "
                f"({self.config.converter.slice_bars}-bar {self.config.converter.kind} windows)"
                + (f"; skipped {reasons}" if reasons else "; the piece has no usable notes")
            )
        return extraction.examples

    def distinct_windows(self, sequence: NoteSequence) -> tuple[list[np.ndarray], str]:
        """The distinct windows of a piece to learn from or measure against, and why there
        are none when there are none.

        Magenta's training windows first (a bar of rest splits a melody, repeats go), since
        the base model learned from such; a piece that gives none that way (a trio song whose
        bass rests, say) is taken as a user's clip is, its repeats dropped."""
        found = self.converter.to_examples(sequence, training=True)
        if found.examples:
            return found.examples, ""
        as_is = self.converter.to_examples(sequence, training=False)
        distinct = list({w.tobytes(): w for w in as_is.examples}.values())
        reasons = found.skipped or as_is.skipped
        why = ", ".join(f"{reason}: {n}" for reason, n in sorted(reasons.items())) \
            or "no usable notes"
        converter = self.config.converter
        return distinct, f"no {converter.slice_bars}-bar {converter.kind} window ({why})"

    def encode_classes(self, classes: np.ndarray, sample: bool = False,
                       rng: np.random.Generator | None = None) -> np.ndarray:
        """μ of each window (deterministic), or a z drawn from N(μ, σ) when ``sample``."""
        z, mu, _ = self.vae.encode(self.converter.encoder_inputs(classes), rng=rng)
        return z if sample else mu

    def decode(self, z: np.ndarray, temperature: float = 0.0,
               rng: np.random.Generator | None = None, length: int | None = None,
               qpm: float = DEFAULT_QPM) -> list[NoteSequence]:
        classes = self.vae.decode(z, length=length, temperature=temperature, rng=rng)
        return [self.converter.to_sequence(c, qpm=qpm) for c in classes]

    def sample(self, n: int, temperature: float = 0.5, rng: np.random.Generator | None = None,
               length: int | None = None, qpm: float = DEFAULT_QPM) -> list[NoteSequence]:
        if n < 1:
            raise InputError(f"number of outputs must be at least 1, got {n}")
        rng = rng or np.random.default_rng()
        z = rng.standard_normal((n, self.vae.z_size)).astype(np.float32)
        return self.decode(z, temperature=temperature, rng=rng, length=length, qpm=qpm)

    def interpolate(self, start: np.ndarray, end: np.ndarray, num_steps: int,
                    temperature: float = 0.0, rng: np.random.Generator | None = None,
                    qpm: float = DEFAULT_QPM) -> list[NoteSequence]:
        """Decodes of ``num_steps`` points on the great circle from ``start`` to ``end`` (z)."""
        if num_steps < 2:
            raise InputError(f"an interpolation needs at least 2 steps, got {num_steps}")
        return self.decode(slerp(start, end, num_steps), temperature=temperature, rng=rng,
                           qpm=qpm)
