"""MidiMe: a small VAE trained in the latent space of a frozen MusicVAE.

Dinculescu, Engel & Roberts (2019), "MidiMe: Personalizing a MusicVAE model with user
data". The base model's μ for each of a user's windows is a training vector; the small VAE
learns where in the base latent space those windows lie. Sampling draws a small z from
N(0, I), decodes it to a base latent vector, and the base decoder turns that into notes.
The network math lives in ``network``; this module holds the config, training and the model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields

import numpy as np
from latentjam.models.errors import ConfigError, InputError
from latentjam.models.personalize import network
from latentjam.models.personalize.head import DecoderHead

Progress = Callable[[int, int, float], None]


@dataclass(frozen=True)
class MidiMeConfig:
    """Hyper-parameters. The small z size (4), the loss, Adam and its learning rate are
    magenta.js MidiMe's. Where we differ, measured: its layers [1024, 256, 64] fit no better
    than [256, 64] on the shipped melody model's μ's of 15 chorales and cost 8x the time; its
    10 full-batch epochs are 10 Adam steps, too few. β, by `latentjam evaluate --like` on the
    14-song band set (docs/models.md): the mean distance of 100 samples to the band fell by
    25 / 31 / 40 / 44 / 47 / 44 % (melody) and 34 / 40 / 42 / 47 / 40 / 35 % (drums) for β
    0.05 / 0.1 / 0.2 / 0.5 / 1 / 2 against the base model's; 0.5 is best or near it on both."""

    latent_size: int = 4
    encoder_layers: tuple[int, ...] = (256, 64)
    decoder_layers: tuple[int, ...] = (64, 256)
    beta: float = 0.5  # weight of the KL term
    learning_rate: float = 1e-3
    steps: int = 2000
    batch_size: int = 64  # fewer vectors than this: the whole set is each batch
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("encoder_layers", "decoder_layers"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        problems = []
        for name in ("latent_size", "steps", "batch_size"):
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                problems.append(f"{name} must be a positive integer, got {value!r}")
        for name in ("encoder_layers", "decoder_layers"):
            if not all(type(u) is int and u >= 1 for u in getattr(self, name)):
                problems.append(f"{name} must be positive integers, got {getattr(self, name)}")
        if not (isinstance(self.beta, int | float) and self.beta >= 0):
            problems.append(f"beta must be a number >= 0, got {self.beta!r}")
        if not (isinstance(self.learning_rate, int | float) and self.learning_rate > 0):
            problems.append(f"learning_rate must be a number > 0, got {self.learning_rate!r}")
        if type(self.seed) is not int:
            problems.append(f"seed must be an integer, got {self.seed!r}")
        if problems:
            raise ConfigError("MidiMe config: " + "; ".join(problems))

    def to_dict(self) -> dict:
        values = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}

    @classmethod
    def from_dict(cls, values: Mapping, source: str = "MidiMe config") -> MidiMeConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown MidiMe setting(s) {', '.join(unknown)}")
        try:
            return cls(**values)
        except (ConfigError, TypeError) as err:
            raise ConfigError(f"{source}: {err}") from None


@dataclass(frozen=True)
class TrainingSummary:
    steps: int
    vectors: int
    first_loss: float  # the first batch's loss
    final_loss: float  # over every vector, after training
    final_reconstruction: float
    final_kl: float
    seconds: float


@dataclass
class MidiMe:
    config: MidiMeConfig
    parameters: dict[str, np.ndarray]
    training: TrainingSummary | None = field(default=None, compare=False)
    # the base decoder's output layer refitted to the user's windows (``head``), if any
    head: DecoderHead | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        self._encoder = network.encoder_names(self.config.encoder_layers)
        self._decoder = network.decoder_names(self.config.decoder_layers)

    @property
    def base_z_size(self) -> int:
        """The size of the base model's latent vectors this MidiMe reads and writes."""
        return int(self.parameters[f"{network.OUTPUT}/bias"].shape[0])

    def posterior(self, latents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(μ, σ)`` of the small z for each base latent vector."""
        x = _check_latents(latents, self.base_z_size)
        return network.encode(self.parameters, self._encoder, x)

    def encode(self, latents: np.ndarray, sample: bool = False,
               rng: np.random.Generator | None = None) -> np.ndarray:
        """Small z's of base latent vectors: μ, or a draw from N(μ, σ) when ``sample``."""
        mu, sigma = self.posterior(latents)
        if not sample:
            return mu
        rng = rng or np.random.default_rng()
        return (mu + sigma * rng.standard_normal(mu.shape)).astype(np.float32)

    def decode(self, small_z: np.ndarray) -> np.ndarray:
        """Base-model latent vectors (n, base_z) for small z's (n, latent_size)."""
        z = np.asarray(small_z, np.float32)
        if z.ndim != 2 or z.shape[1] != self.config.latent_size:
            raise InputError(f"MidiMe decodes z's of shape (n, {self.config.latent_size}), "
                             f"got {z.shape}")
        return network.decode(self.parameters, self._decoder, z)

    def sample_latents(self, n: int, rng: np.random.Generator | None = None,
                       temperature: float = 1.0) -> np.ndarray:
        """``n`` base latent vectors from small z ~ N(0, temperature² I)."""
        if n < 1:
            raise InputError(f"number of samples must be at least 1, got {n}")
        if not temperature >= 0:
            raise InputError(f"temperature must be >= 0, got {temperature}")
        rng = rng or np.random.default_rng()
        z = temperature * rng.standard_normal((n, self.config.latent_size))
        return self.decode(z.astype(np.float32))

    def loss(self, latents: np.ndarray, rng: np.random.Generator | None = None
             ) -> network.Loss:
        """The training loss over ``latents`` (one reparameterisation draw)."""
        x = _check_latents(latents, self.base_z_size)
        rng = rng or np.random.default_rng(0)
        noise = rng.standard_normal((len(x), self.config.latent_size)).astype(np.float32)
        loss, _ = network.loss_and_grads(self.parameters, self._encoder, self._decoder, x,
                                         noise, self.config.beta)
        return loss


def _check_latents(latents: np.ndarray, size: int | None = None) -> np.ndarray:
    x = np.asarray(latents, np.float32)
    if x.ndim != 2 or len(x) == 0 or (size is not None and x.shape[1] != size):
        want = f"(n, {size})" if size else "(n, z_size) with n >= 1"
        raise InputError(f"MidiMe needs latent vectors of shape {want}, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise InputError("MidiMe latent vectors must be finite")
    return x


def new_parameters(config: MidiMeConfig, base_z_size: int) -> dict[str, np.ndarray]:
    shapes = network.parameter_shapes(base_z_size, config.latent_size, config.encoder_layers,
                                      config.decoder_layers)
    return network.init_parameters(shapes, np.random.default_rng(config.seed))


def train_midime(latents: np.ndarray, config: MidiMeConfig = MidiMeConfig(),
                 progress: Progress | None = None) -> MidiMe:
    """Train a MidiMe on base latent vectors ``latents`` (n, base_z); deterministic for a
    given config seed. ``progress(step, total, loss)`` is called after every step."""
    x = _check_latents(latents)
    started = time.perf_counter()
    params = new_parameters(config, x.shape[1])
    # Start the decoder at the data's mean: else the first steps carry a user's offset from
    # the origin through one small-z dimension with a tiny σ, which the KL term unwinds only
    # slowly, and prior samples along it overshoot far past the user's windows.
    params[f"{network.OUTPUT}/bias"] = x.mean(axis=0)
    encoder = network.encoder_names(config.encoder_layers)
    decoder = network.decoder_names(config.decoder_layers)
    adam = network.Adam(params, config.learning_rate)
    # a second stream, so that changing the batching never changes the initial weights
    rng = np.random.default_rng([config.seed, 1])
    batch = min(config.batch_size, len(x))
    order, cursor, first = rng.permutation(len(x)), 0, None
    for step in range(1, config.steps + 1):
        if cursor + batch > len(x):  # a fresh shuffle each epoch; no short last batch
            order, cursor = rng.permutation(len(x)), 0
        rows = x[order[cursor:cursor + batch]]
        cursor += batch
        noise = rng.standard_normal((batch, config.latent_size)).astype(np.float32)
        loss, grads = network.loss_and_grads(params, encoder, decoder, rows, noise,
                                             config.beta)
        if not np.isfinite(loss.total):
            raise InputError(f"MidiMe training diverged at step {step} (loss {loss.total}); "
                             f"lower the learning rate")
        first = loss.total if first is None else first
        adam.update(params, grads)
        if progress is not None:
            progress(step, config.steps, loss.total)
    model = MidiMe(config, params)
    final = model.loss(x, np.random.default_rng([config.seed, 2]))
    model.training = TrainingSummary(config.steps, len(x), float(first), final.total,
                                     final.reconstruction, final.kl,
                                     time.perf_counter() - started)
    return model
