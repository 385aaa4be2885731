"""The base decoder's output layer refitted to a user's windows: what MidiMe alone cannot move.

MidiMe (as magenta.js ships it) learns only *where* in the base latent space a user's windows
lie: its loss is the squared error of the latent vectors and a KL term, the decoder is not in
the loop. The frozen decoder then renders those latents in the grammar of its own training
data. Measured on the band set (docs/band.md): the melody model decodes the band's own μ's
with a mean pitch span of 9.5 semitones against the band's 12.6, and 52-64 % repeated notes
against the band's 27 %; no choice of latent fixes what the decoder cannot say.

So the decoder's last layer (the dense ``output_projection`` from the top LSTM's h to the
class logits) is refitted by cross-entropy on the user's windows, teacher-forced, each window
decoded from the latent MidiMe hands the decoder for it, and held near the base weights by an
L2 term. The LSTMs stay frozen, so the fit is a softmax regression on fixed features: convex,
deterministic, seconds on two cores. Flat (one-level) decoders only: melody and drums.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING

import numpy as np
from latentjam.models.errors import CheckpointError, ConfigError, InputError
from latentjam.models.inference.decoder import CategoricalDecoder
from latentjam.models.inference.musicvae import MusicVAE

if TYPE_CHECKING:
    from latentjam.models.configs import ModelConfig
    from latentjam.models.trained_model import TrainedModel

Progress = Callable[[int, int, float], None]
KERNEL = "decoder/output_projection/kernel"
BIAS = "decoder/output_projection/bias"
ROWS_PER_BLOCK = 4096  # steps per matrix product in the fit: bounds the softmax's memory


@dataclass(frozen=True)
class HeadConfig:
    """How the output layer is refitted. Chosen on the band set (docs/band.md): Adam at
    1e-2 for 200 full-batch steps converges (the loss changes < 1 % over the last 50); l2
    1e-3 moved the in-sample distances as far as 1e-4 and kept the layer nearer the base
    (|ΔW| 15 against 37, |W| 31) than 1e-4 did; 1e-2 left the intervals 17 points behind.
    256 windows: the drum model's 512 classes make its fit the slow one (461 windows: 29 s
    of a 39 s personalize on the loaded machine; 256: 15 s in all, the distances within 5
    points; the melody's within 5 points of 512 windows' too)."""

    steps: int = 200
    learning_rate: float = 1e-2
    l2: float = 1e-3  # weight of ½‖W − W_base‖² (and of the bias's) beside the mean CE
    max_windows: int = 256  # more are thinned evenly (windows x classes: the fit's cost)

    def __post_init__(self) -> None:
        problems = []
        for name in ("steps", "max_windows"):
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
    first_loss: float  # mean cross-entropy per step with the base's layer (nats)
    final_loss: float  # with the refitted one
    seconds: float


@dataclass(frozen=True, eq=False)
class DecoderHead:
    """A refitted output layer: ``kernel [top LSTM units, classes]``, ``bias [classes]``."""

    config: HeadConfig
    kernel: np.ndarray
    bias: np.ndarray
    summary: HeadSummary | None = None

    def variables(self) -> dict[str, np.ndarray]:
        """The base checkpoint's variables this head replaces."""
        return {KERNEL: self.kernel, BIAS: self.bias}


def supports_head(config: ModelConfig) -> bool:
    """Whether a model's decoder has the one output layer refitted here: a flat categorical
    decoder (melody, drums), not a hierarchical one or a groove model's."""
    return config.decoder == "categorical"


def head_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """The shapes a head for ``config`` must have."""
    units, depth = config.hparams.dec_rnn_size[-1], config.output_depth
    return {KERNEL: (units, depth), BIAS: (depth,)}


def base_variables(model: TrainedModel) -> dict[str, np.ndarray]:
    """The base model's checkpoint variables, read again from the file it came from (the
    NumPy model keeps only its rearranged weights)."""
    from latentjam.models.checkpoints.loader import load_checkpoint

    try:  # any of the three formats, as the model was loaded from it
        return dict(load_checkpoint(model.source).variables)
    except CheckpointError as err:
        raise CheckpointError(f"a decoder head needs its base model's checkpoint, read "
                              f"again: {err}") from None


def _decoder(config: ModelConfig, variables: Mapping[str, np.ndarray]) -> CategoricalDecoder:
    if not supports_head(config):
        raise InputError(f"{config.name}: a decoder head is for one-level categorical "
                         f"decoders (melody, drums), not {config.decoder} ones")
    return CategoricalDecoder(variables, "decoder", config.output_depth, config.hparams.z_size,
                              len(config.hparams.dec_rnn_size))


def decoder_states(decoder: CategoricalDecoder, z: np.ndarray, classes: np.ndarray
                   ) -> np.ndarray:
    """The top LSTM's h ``[B, T, units]`` at each step of ``classes [B, T]`` fed back
    (teacher forcing) from latents ``z [B, Z]``: the features the output layer reads."""
    z = np.asarray(z, np.float32)
    forced = np.asarray(classes, np.int64)
    batch, steps = forced.shape
    initial = np.tanh(z @ decoder.init_kernel + decoder.init_bias)
    run = decoder.stack.start(batch)
    run.load(initial)
    condition = z @ decoder.condition_rows  # z is fed to layer 0 at every step
    previous = np.full(batch, decoder.depth)  # the zero row: no previous output
    states = np.empty((batch, steps, decoder.stack.units[-1]), np.float32)
    for step in range(steps):
        run.step(condition + decoder.class_rows[previous])
        states[:, step] = run.top_h
        previous = forced[:, step]
    return states


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


def fit_head(config: ModelConfig, variables: Mapping[str, np.ndarray], z: np.ndarray,
             classes: np.ndarray, head_config: HeadConfig = HeadConfig(),
             progress: Progress | None = None) -> DecoderHead:
    """Refit the output layer of the decoder in ``variables`` (a flat model of ``config``)
    to ``classes [B, T]``, each window decoded from ``z [B, Z]``; deterministic.
    ``progress(step, total, loss)`` after every step."""
    classes = np.asarray(classes)
    z = np.asarray(z, np.float32)
    if classes.ndim != 2 or len(classes) == 0 or z.shape != (len(classes),
                                                             config.hparams.z_size):
        raise InputError(f"a decoder head fits windows [B, T] with latents [B, "
                         f"{config.hparams.z_size}], got {classes.shape} and {z.shape}")
    started = time.perf_counter()
    if len(classes) > head_config.max_windows:  # evenly spread: every file keeps its share
        picked = np.linspace(0, len(classes) - 1, head_config.max_windows).round().astype(int)
        classes, z = classes[picked], z[picked]
    decoder = _decoder(config, variables)
    features = decoder_states(decoder, z, classes).reshape(-1, decoder.stack.units[-1])
    targets = classes.reshape(-1).astype(np.int64)
    base_kernel = np.asarray(variables[KERNEL], np.float32)
    base_bias = np.asarray(variables[BIAS], np.float32)
    kernel, bias = base_kernel.copy(), base_bias.copy()
    first, _, _ = _loss_and_grads(features, targets, kernel, bias, want_grads=False)
    moments = [[np.zeros_like(p), np.zeros_like(p)] for p in (kernel, bias)]
    beta1, beta2, epsilon = 0.9, 0.999, 1e-7
    for step in range(1, head_config.steps + 1):
        loss, d_kernel, d_bias = _loss_and_grads(features, targets, kernel, bias)
        d_kernel += head_config.l2 * (kernel - base_kernel)
        d_bias += head_config.l2 * (bias - base_bias)
        rate = head_config.learning_rate * np.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
        for param, grad, (m, v) in zip((kernel, bias), (d_kernel, d_bias), moments,
                                       strict=True):
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad * grad
            param -= (rate * m / (np.sqrt(v) + epsilon)).astype(np.float32)
        if not np.isfinite(loss):
            raise InputError(f"decoder head fit diverged at step {step}; lower its "
                             f"learning rate")
        if progress is not None:
            progress(step, head_config.steps, loss)
    final, _, _ = _loss_and_grads(features, targets, kernel, bias, want_grads=False)
    summary = HeadSummary(len(classes), head_config.steps, first, final,
                          time.perf_counter() - started)
    return DecoderHead(head_config, kernel, bias, summary)


def check_head(head: DecoderHead, config: ModelConfig, source: str) -> None:
    """CheckpointError naming ``source`` unless ``head`` fits a model of ``config``."""
    if not supports_head(config):
        raise CheckpointError(f"{source}: holds a decoder head, but {config.name} has no "
                              f"one-level categorical decoder to put it on")
    expected = head_shapes(config)
    found = {KERNEL: tuple(head.kernel.shape), BIAS: tuple(head.bias.shape)}
    if found != expected:
        raise CheckpointError(f"{source}: decoder head of shapes {found[KERNEL]}, "
                              f"{found[BIAS]}; {config.name} needs {expected[KERNEL]}, "
                              f"{expected[BIAS]}")
    if not (np.all(np.isfinite(head.kernel)) and np.all(np.isfinite(head.bias))):
        raise CheckpointError(f"{source}: decoder head weights are not finite")


def headed_vae(model: TrainedModel, head: DecoderHead,
               variables: Mapping[str, np.ndarray] | None = None) -> MusicVAE:
    """``model``'s MusicVAE with its output layer replaced by ``head`` (``variables``: the
    model's checkpoint variables, read from its file when not given)."""
    check_head(head, model.config, model.source)
    weights = dict(variables if variables is not None else base_variables(model))
    weights.update(head.variables())
    return MusicVAE(model.config, weights, source=model.source)
