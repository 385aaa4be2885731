"""The base decoder's output layers refitted to a user's windows: what MidiMe alone cannot move.

MidiMe (as magenta.js ships it) learns only *where* in the base latent space a user's windows
lie: its loss is the squared error of the latent vectors and a KL term, the decoder is not in
the loop. The frozen decoder then renders those latents in the grammar of its own training
data. Measured on the band set (docs/band.md): the melody model decodes the band's own μ's
with a mean pitch span of 9.5 semitones against the band's 12.6, and 52-64 % repeated notes
against the band's 27 %; no choice of latent fixes what the decoder cannot say.

So each core decoder's last layer (the dense ``output_projection`` from the top LSTM's h to
the class logits: one for melody and drum models, one per part for a trio) is refitted by
cross-entropy on the user's windows, teacher-forced, each window decoded from the latent
MidiMe hands the decoder for it, and held near the base weights by an L2 term. The LSTMs (and
a hierarchical model's conductor) stay frozen, so each fit is a softmax regression on fixed
features: convex, deterministic, seconds on two cores. Not for GrooVAE (continuous outputs).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING

import numpy as np
from latentjam.models.errors import CheckpointError, ConfigError, InputError
from latentjam.models.inference.decoder import CategoricalDecoder, Conductor
from latentjam.models.inference.musicvae import MusicVAE
from latentjam.models.variables import core_decoder_prefixes

if TYPE_CHECKING:
    from latentjam.models.configs import ModelConfig
    from latentjam.models.trained_model import TrainedModel

Progress = Callable[[int, int, float], None]
PROJECTION = "output_projection"
ROWS_PER_BLOCK = 4096  # steps per matrix product in the fit: bounds the softmax's memory


@dataclass(frozen=True)
class HeadConfig:
    """How the output layers are refitted. Chosen on the band set (docs/band.md): Adam at
    1e-2 for 200 full-batch steps converges (the loss changes < 1 % over the last 50); l2
    1e-3 moved the in-sample distances as far as 1e-4 and kept the layer nearer the base
    (|ΔW| 15 against 37, |W| 31) than 1e-4 did; 1e-2 left the intervals 17 points behind.
    8,192 steps of music (256 two-bar windows, 32 sixteen-bar ones): the drum model's 512
    classes make its fit the slow one (461 windows: 29 s of a 39 s personalize on the loaded
    machine; 256: 15 s in all, the distances within 5 points; the melody's within 5 points
    of 512 windows' too)."""

    steps: int = 200
    learning_rate: float = 1e-2
    l2: float = 1e-3  # weight of ½‖W − W_base‖² (and of the bias's) beside the mean CE
    max_steps: int = 8192  # decoder steps per part fitted on; more windows are thinned evenly

    def __post_init__(self) -> None:
        problems = []
        for name in ("steps", "max_steps"):
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                problems.append(f"{name} must be a positive integer, got {value!r}")
        if not (isinstance(self.learning_rate, int | float) and self.learning_rate > 0):
            problems.append(f"learning_rate must be a number > 0, got {self.learning_rate!r}")
        if not (isinstance(self.l2, int | float) and self.l2 >= 0):
            problems.append(f"l2 must be a number >= 0, got {self.l2!r}")
        if problems:
            raise ConfigError("decoder head config: " + "; ".join(problems))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping, source: str = "decoder head config") -> HeadConfig:
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"{source}: unknown decoder head setting(s) {', '.join(unknown)}")
        try:
            return cls(**values)
        except (ConfigError, TypeError) as err:
            raise ConfigError(f"{source}: {err}") from None


@dataclass(frozen=True)
class HeadSummary:
    windows: int  # windows fitted on
    steps: int
    first_loss: float  # mean cross-entropy per step with the base's layers (nats; mean of parts)
    final_loss: float  # with the refitted ones
    seconds: float


@dataclass(frozen=True, eq=False)
class DecoderHead:
    """Refitted output layers, by the base checkpoint's variable names:
    ``<decoder>/output_projection/kernel [top LSTM units, classes]`` and ``.../bias``."""

    config: HeadConfig
    layers: dict[str, np.ndarray]
    summary: HeadSummary | None = None

    def variables(self) -> dict[str, np.ndarray]:
        """The base checkpoint's variables this head replaces."""
        return dict(self.layers)


def supports_head(config: ModelConfig) -> bool:
    """Whether a model's decoders end in the categorical output layers refitted here: a flat
    decoder (melody, drums) or a hierarchical one's core decoders (trio), not GrooVAE."""
    return config.decoder in ("categorical", "hierarchical")


def _prefixes(config: ModelConfig) -> list[str]:
    return core_decoder_prefixes(config) if config.is_hierarchical else ["decoder"]


def head_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """The variables a head for ``config`` replaces, and their shapes."""
    units = config.hparams.dec_rnn_size[-1]
    shapes: dict[str, tuple[int, ...]] = {}
    for prefix, depth in zip(_prefixes(config), config.output_depths, strict=True):
        shapes[f"{prefix}/{PROJECTION}/kernel"] = (units, depth)
        shapes[f"{prefix}/{PROJECTION}/bias"] = (depth,)
    return shapes


def base_variables(model: TrainedModel) -> dict[str, np.ndarray]:
    """The base model's checkpoint variables, read again from where it was loaded (the
    NumPy model keeps only its rearranged weights)."""
    from latentjam.models.checkpoints.loader import load_checkpoint

    try:  # any of the three formats, as the model was loaded from it
        return dict(load_checkpoint(model.source).variables)
    except CheckpointError as err:
        raise CheckpointError(f"a decoder head needs its base model's checkpoint, read "
                              f"again: {err}") from None


def _decoders(config: ModelConfig, variables: Mapping[str, np.ndarray]
              ) -> list[CategoricalDecoder]:
    if not supports_head(config):
        raise InputError(f"{config.name}: a decoder head is for categorical decoders "
                         f"(melody, drums, trio), not {config.decoder} ones")
    hparams = config.hparams
    condition = hparams.dec_rnn_size[-1] if config.is_hierarchical else hparams.z_size
    return [CategoricalDecoder(variables, prefix, depth, condition, len(hparams.dec_rnn_size))
            for prefix, depth in zip(_prefixes(config), config.output_depths, strict=True)]


def decoder_states(decoder: CategoricalDecoder, conditions: np.ndarray, classes: np.ndarray
                   ) -> np.ndarray:
    """The top LSTM's h ``[B, S * steps, units]`` of one core decoder run over ``S``
    segments (a flat decoder: one, conditioned on z) with ``classes [B, S * steps]`` fed
    back (teacher forcing): the features its output layer reads. ``conditions [S, B, C]``;
    a segment starts from its initial state and the previous segment's last class, as
    ``CategoricalDecoder.run`` does."""
    conditions = np.asarray(conditions, np.float32)
    forced = np.asarray(classes, np.int64)
    segments, batch, _ = conditions.shape
    steps = forced.shape[1] // segments
    states = np.empty((batch, segments * steps, decoder.stack.units[-1]), np.float32)
    previous = np.full(batch, decoder.depth)  # the zero row: no previous output
    for segment in range(segments):
        condition = conditions[segment]
        run = decoder.stack.start(batch)
        run.load(np.tanh(condition @ decoder.init_kernel + decoder.init_bias))
        constant = condition @ decoder.condition_rows  # fed to layer 0 at every step
        for step in range(segment * steps, (segment + 1) * steps):
            run.step(constant + decoder.class_rows[previous])
            states[:, step] = run.top_h
            previous = forced[:, step]
    return states


def _part_states(config: ModelConfig, variables: Mapping[str, np.ndarray], z: np.ndarray,
                 classes: np.ndarray) -> list[np.ndarray]:
    """Each core decoder's features for windows ``classes`` decoded from ``z``."""
    decoders = _decoders(config, variables)
    if not config.is_hierarchical:
        return [decoder_states(decoders[0], z[None], classes)]
    layers = len(config.hparams.dec_rnn_size)
    segment = config.level_lengths[-1]
    embeddings = Conductor(variables, layers).embeddings(z, classes.shape[1] // segment)
    parts = classes if classes.ndim == 3 else classes[..., None]  # one core: multiperf
    return [decoder_states(decoder, embeddings, parts[..., k])
            for k, decoder in enumerate(decoders)]


def _loss_and_grads(features: np.ndarray, targets: np.ndarray, kernel: np.ndarray,
                    bias: np.ndarray, want_grads: bool = True
                    ) -> tuple[float, np.ndarray | None, np.ndarray | None]:
    """Mean cross-entropy of ``softmax(features @ kernel + bias)`` against ``targets`` and
    its gradient, block by block."""
    rows = len(targets)
    total = 0.0
    d_kernel = np.zeros_like(kernel) if want_grads else None
    d_bias = np.zeros_like(bias) if want_grads else None
    for start in range(0, rows, ROWS_PER_BLOCK):
        x = features[start:start + ROWS_PER_BLOCK]
        y = targets[start:start + ROWS_PER_BLOCK]
        logits = x @ kernel + bias
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        sums = probs.sum(axis=1)
        picked = np.arange(len(y))
        total += float(np.sum(np.log(sums) - logits[picked, y]))
        if want_grads:
            probs /= sums[:, None]
            probs[picked, y] -= 1.0
            d_kernel += x.T @ probs
            d_bias += probs.sum(axis=0)
    if want_grads:
        d_kernel /= rows
        d_bias /= rows
    return total / rows, d_kernel, d_bias


def _fit_layer(features: np.ndarray, targets: np.ndarray, base_kernel: np.ndarray,
               base_bias: np.ndarray, config: HeadConfig, progress: Progress | None,
               done: int, total: int) -> tuple[np.ndarray, np.ndarray, float, float]:
    """One output layer by full-batch Adam: ``(kernel, bias, first loss, final loss)``."""
    kernel, bias = base_kernel.copy(), base_bias.copy()
    first, _, _ = _loss_and_grads(features, targets, kernel, bias, want_grads=False)
    moments = [[np.zeros_like(p), np.zeros_like(p)] for p in (kernel, bias)]
    beta1, beta2, epsilon = 0.9, 0.999, 1e-7
    for step in range(1, config.steps + 1):
        loss, d_kernel, d_bias = _loss_and_grads(features, targets, kernel, bias)
        if not np.isfinite(loss):
            raise InputError(f"decoder head fit diverged at step {step}; lower its "
                             f"learning rate")
        d_kernel += config.l2 * (kernel - base_kernel)
        d_bias += config.l2 * (bias - base_bias)
        rate = config.learning_rate * np.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
        for param, grad, (m, v) in zip((kernel, bias), (d_kernel, d_bias), moments,
                                       strict=True):
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad * grad
            param -= (rate * m / (np.sqrt(v) + epsilon)).astype(np.float32)
        if progress is not None:
            progress(done + step, total, loss)
    final, _, _ = _loss_and_grads(features, targets, kernel, bias, want_grads=False)
    return kernel, bias, first, final


def fit_head(config: ModelConfig, variables: Mapping[str, np.ndarray], z: np.ndarray,
             classes: np.ndarray, head_config: HeadConfig = HeadConfig(),
             progress: Progress | None = None) -> DecoderHead:
    """Refit the output layers of the decoder in ``variables`` (a model of ``config``) to
    windows ``classes`` (``[B, T]``, a trio's ``[B, T, parts]``), each decoded from ``z [B,
    Z]``; deterministic. ``progress(step, total, loss)`` after every step of every part."""
    classes = np.asarray(classes)
    z = np.asarray(z, np.float32)
    parts = len(config.output_depths) if config.is_hierarchical and \
        len(config.output_depths) > 1 else 0
    if classes.ndim != 2 + (parts > 0) or len(classes) == 0 or (parts and classes.shape[2]
                                                                != parts) \
            or z.shape != (len(classes), config.hparams.z_size):
        raise InputError(f"a decoder head for {config.name} fits windows [B, T"
                         f"{f', {parts}' if parts else ''}] with latents [B, "
                         f"{config.hparams.z_size}], got {classes.shape} and {z.shape}")
    started = time.perf_counter()
    most = max(1, head_config.max_steps // classes.shape[1])
    if len(classes) > most:  # evenly spread: every file keeps its share
        picked = np.linspace(0, len(classes) - 1, most).round().astype(int)
        classes, z = classes[picked], z[picked]
    features = _part_states(config, variables, z, classes)
    targets = [classes.reshape(-1)] if not parts else \
        [classes[..., k].reshape(-1) for k in range(parts)]
    layers: dict[str, np.ndarray] = {}
    firsts, finals = [], []
    total = head_config.steps * len(features)
    for k, (prefix, states, wanted) in enumerate(zip(_prefixes(config), features, targets,
                                                     strict=True)):
        name = f"{prefix}/{PROJECTION}"
        kernel, bias, first, final = _fit_layer(
            states.reshape(-1, states.shape[-1]), wanted.astype(np.int64),
            np.asarray(variables[f"{name}/kernel"], np.float32),
            np.asarray(variables[f"{name}/bias"], np.float32), head_config, progress,
            k * head_config.steps, total)
        layers[f"{name}/kernel"], layers[f"{name}/bias"] = kernel, bias
        firsts.append(first)
        finals.append(final)
    summary = HeadSummary(len(classes), head_config.steps, float(np.mean(firsts)),
                          float(np.mean(finals)), time.perf_counter() - started)
    return DecoderHead(head_config, layers, summary)


def check_head(head: DecoderHead, config: ModelConfig, source: str) -> None:
    """CheckpointError naming ``source`` unless ``head`` fits a model of ``config``."""
    if not supports_head(config):
        raise CheckpointError(f"{source}: holds a decoder head, but {config.name} has no "
                              f"categorical decoder to put it on")
    expected = head_shapes(config)
    found = {name: tuple(value.shape) for name, value in head.layers.items()}
    if found != expected:
        wrong = sorted(set(found) ^ set(expected)) or sorted(
            name for name in expected if found[name] != expected[name])
        name = wrong[0]
        raise CheckpointError(f"{source}: decoder head's {name} is "
                              f"{found.get(name, 'missing')}; {config.name} needs "
                              f"{expected.get(name, 'none')}")
    if not all(np.all(np.isfinite(value)) for value in head.layers.values()):
        raise CheckpointError(f"{source}: decoder head weights are not finite")


def headed_vae(model: TrainedModel, head: DecoderHead,
               variables: Mapping[str, np.ndarray] | None = None) -> MusicVAE:
    """``model``'s MusicVAE with its output layers replaced by ``head`` (``variables``: the
    model's checkpoint variables, read from its file when not given)."""
    check_head(head, model.config, model.source)
    weights = dict(variables if variables is not None else base_variables(model))
    weights.update(head.variables())
    return MusicVAE(model.config, weights, source=model.source)
