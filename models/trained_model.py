"""A loaded MusicVAE with its converter: NoteSequences in, NoteSequences out.

The facade the command line and the engine call. ``TrainedModel.load`` takes a shipped
default's name or a checkpoint in any of the three formats (Magenta TF, magenta.js, ours)
and settles the config: the one asked for, else the one our checkpoints store, else the
one named config whose variable shapes the checkpoint fits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from latentjam.models.checkpoints.loader import checkpoint_config, load_checkpoint
from latentjam.models.configs import CONFIGS, ModelConfig, load_config
from latentjam.models.defaults import resolve_model
from latentjam.models.encodings.converters import Converter, get_converter
from latentjam.models.errors import ConfigError, InputError, NoExamplesError
from latentjam.models.inference.musicvae import MusicVAE, slerp
from latentjam.models.notesequence import DEFAULT_QPM, NoteSequence
from latentjam.models.variables import expected_shapes


def infer_config(variables: dict[str, np.ndarray]) -> ModelConfig | None:
    """The one named config whose variables have exactly these shapes, if only one fits."""
    shapes = {name: tuple(value.shape) for name, value in variables.items()}
    fits = [
        config for config in CONFIGS.values()
        if all(shapes.get(name) == shape for name, shape in expected_shapes(config).items())
    ]
    return fits[0] if len(fits) == 1 else None


@dataclass
class TrainedModel:
    config: ModelConfig
    vae: MusicVAE
    converter: Converter
    source: str  # what was loaded, for messages

    @classmethod
    def load(cls, model: str | Path | None = None,
             config: str | Path | ModelConfig | None = None) -> TrainedModel:
        """``model``: a shipped default's name (None: the default melody model) or a path."""
        path = resolve_model(model)
        loaded = load_checkpoint(path)
        if isinstance(config, ModelConfig):
            chosen = config
        elif config is not None:
            chosen = load_config(config)
        else:
            chosen = checkpoint_config(loaded) or infer_config(loaded.variables)
            if chosen is None:
                raise ConfigError(
                    f"{path}: a {loaded.format} checkpoint carries no config and its shapes fit "
                    f"no single named config; pass --config NAME or a hyper-parameter file"
                )
        vae = MusicVAE(chosen, loaded.variables)
        return cls(config=chosen, vae=vae, converter=get_converter(chosen), source=str(path))

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
        extraction = self.converter.to_examples(sequence)
        if not extraction.examples:
            reasons = ", ".join(f"{why}: {n}" for why, n in sorted(extraction.skipped.items()))
            raise NoExamplesError(
                f"{name}: no examples extracted for {self.config.name} "
                f"({self.config.converter.slice_bars}-bar {self.config.converter.kind} windows)"
                + (f"; skipped {reasons}" if reasons else "; the piece has no usable notes")
            )
        return extraction.examples

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
        z = rng.standard_normal((n, self.config.hparams.z_size)).astype(np.float32)
        return self.decode(z, temperature=temperature, rng=rng, length=length, qpm=qpm)

    def interpolate(self, start: np.ndarray, end: np.ndarray, num_steps: int,
                    temperature: float = 0.0, rng: np.random.Generator | None = None,
                    qpm: float = DEFAULT_QPM) -> list[NoteSequence]:
        """Decodes of ``num_steps`` points on the great circle from ``start`` to ``end`` (z)."""
        if num_steps < 2:
            raise InputError(f"an interpolation needs at least 2 steps, got {num_steps}")
        return self.decode(slerp(start, end, num_steps), temperature=temperature, rng=rng,
                           qpm=qpm)
