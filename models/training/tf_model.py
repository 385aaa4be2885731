"""MusicVAE in TensorFlow 2 for training: Magenta's variables, initialisation and math.

The variables are created from ``expected_shapes(config)`` under exactly Magenta's names, so
exporting a model is a dict copy; the forward passes find them through the same
``encoder_cell_prefix`` and ``core_decoder_prefixes`` as the NumPy model. The math follows
Magenta's ``BidirectionalLstmEncoder``, ``HierarchicalLstmEncoder`` (multiperf),
``CategoricalLstmDecoder`` and ``HierarchicalLstmDecoder`` (LSTMBlockCell gates i, j, f, o,
forget bias 1.0). Things arranged for speed without changing the math:

- the input side of every LSTM (a one-hot input is a row lookup, the latent vector's share
  is one product per sequence) is computed outside the time loop, which only multiplies
  the recurrent state, and stacks run layer by layer (``tf_lstm.lstm_layer``);
- the hierarchical decoder's bars (multiperf: instruments) are independent while training
  (no autoregression in the conductor; each bar's first input is the true previous step),
  so all bars of all examples run as one batch through the core decoders (the trio's three
  run side by side as a stack; multiperf has one).

Class indices (int32) stand for one-hot vectors throughout: the cross-entropy of a one-hot
target is the sparse cross-entropy of its index.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from latentjam.models.configs import ModelConfig
from latentjam.models.errors import ConfigError
from latentjam.models.training.dataset import ONE_HOT_INPUTS
from latentjam.models.training.tf_decoder import DecoderStack, argmax_classes, conductor
from latentjam.models.training.tf_lstm import lstm_layer
from latentjam.models.variables import (
    core_decoder_prefixes,
    encoder_cell_prefix,
    expected_shapes,
)

_SMALL_STDDEV = 0.001  # Magenta's init for encoder/mu, encoder/sigma and the *initial_state denses


def initial_value(name: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Magenta's initialisation of one variable.

    Biases start at zero; ``encoder/mu``, ``encoder/sigma``, ``z_to_initial_state`` and the
    conductor's ``initial_state`` kernels are N(0, 0.001^2); every other kernel (the LSTM
    kernels, which LSTMBlockCell creates without an initializer, and ``output_projection``)
    is TF's default Glorot-uniform over the kernel's own [rows, columns].
    """
    if name.endswith("/bias"):
        return np.zeros(shape, np.float32)
    if name.startswith(("encoder/mu/", "encoder/sigma/")) or "initial_state/" in name:
        return (rng.standard_normal(shape) * _SMALL_STDDEV).astype(np.float32)
    limit = math.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(-limit, limit, shape).astype(np.float32)


def check_supported(config: ModelConfig) -> None:
    """Raise a ConfigError for hyper-parameters this trainer does not implement."""
    hp = config.hparams
    unsupported = {
        "residual_encoder": hp.residual_encoder,
        "residual_decoder": hp.residual_decoder,
        "conditional": not hp.conditional,
        # dropout on the LSTM inputs: GrooVAE's (models.training.tf_groove) only
        "dropout_keep_prob < 1": hp.dropout_keep_prob < 1.0 and not config.is_groove,
    }
    bad = [key for key, on in unsupported.items() if on]
    if bad:
        raise ConfigError(f"config {config.name}: training does not support {', '.join(bad)}")
    if config.is_hierarchical and len(config.level_lengths) != 2:
        raise ConfigError(f"config {config.name}: only two-level hierarchical decoders "
                          f"are supported, got level lengths {list(config.level_lengths)}")
    if hp.sampling_schedule not in ("constant", "exponential", "inverse_sigmoid"):
        raise ConfigError(f"config {config.name}: unknown sampling_schedule "
                          f"{hp.sampling_schedule!r}")


@dataclass(frozen=True)
class _Part:
    """One categorical decoder's variables (under ``prefix``) and its output depth."""

    prefix: str
    depth: int


class TrainableMusicVAE(tf.Module):
    """The model's variables (``variables[name]``, Magenta's names) and its forward passes."""

    def __init__(self, config: ModelConfig, seed: int = 0,
                 values: Mapping[str, np.ndarray] | None = None):
        super().__init__(name="music_vae")
        check_supported(config)
        self.config = config
        self.hparams = config.hparams
        rng = np.random.default_rng(seed)
        self.weights: dict[str, tf.Variable] = {}
        for name, shape in expected_shapes(config).items():
            value = values[name] if values is not None else initial_value(name, shape, rng)
            self.weights[name] = tf.Variable(np.asarray(value, np.float32), name=name)
        if config.is_hierarchical:
            self.parts = tuple(_Part(prefix, depth) for prefix, depth in zip(
                core_decoder_prefixes(config), config.output_depths, strict=True))
        else:
            self.parts = (_Part("decoder", config.output_depth),)

    # -- variables -------------------------------------------------------------------------

    def export(self) -> dict[str, np.ndarray]:
        """Every model variable as a float32 array, under Magenta's names."""
        return {name: v.numpy() for name, v in self.weights.items()}

    def assign(self, values: Mapping[str, np.ndarray]) -> None:
        for name, v in self.weights.items():
            v.assign(np.asarray(values[name], np.float32))

    # -- encoder ---------------------------------------------------------------------------

    @property
    def one_hot_inputs(self) -> bool:
        """Whether the encoder's inputs are the one-hot of the target classes (melody, trio;
        drums read a multi-hot roll)."""
        return self.config.converter.kind in ONE_HOT_INPUTS

    def encode(self, inputs: tf.Tensor | None, lengths: tf.Tensor,
               classes: tf.Tensor | None = None, full_length: bool = False,
               dropout: Callable[[tf.Tensor, int], tf.Tensor] | None = None
               ) -> tuple[tf.Tensor, tf.Tensor]:
        """(mu, sigma) ``[B, z]`` of the posterior for ``inputs [B, T, input_depth]``.

        For one-hot inputs, ``classes [B, T, P]`` may stand in for them: layer 0's input
        products become row lookups (``PAD`` classes, below 0, lie past a length and are
        looked up as class 0, never read). ``full_length`` promises every length is T.
        ``dropout(x, layer)``, if given, drops each layer's inputs (both directions drawn
        apart, as Magenta's DropoutWrapper on each cell; a flat encoder read from ``inputs``).

        A hierarchical encoder (Magenta's HierarchicalLstmEncoder; multiperf: level lengths
        (64, 8)) takes ``lengths [B, segments]``, each lowest-level segment's valid steps:
        level 0 reads every segment on its own within its length, each level above reads
        the ``[last forward h, last backward h]`` summaries of the level below at full
        length, and mu and sigma come from the top level's summary.
        """
        w = self.weights
        lengths = tf.cast(lengths, tf.int32)
        if classes is not None:
            classes = tf.maximum(tf.cast(classes, tf.int32), 0)
        levels = self.config.encoder_level_lengths
        if not levels:
            last = self._bidirectional(0, inputs, classes, lengths, full_length, dropout)
        else:
            segment = levels[0]

            def split(x):
                return None if x is None else tf.reshape(x, [-1, segment, x.shape[-1]])

            last = self._bidirectional(0, split(inputs), split(classes),
                                       tf.reshape(lengths, [-1]), False)
            for level, segment in enumerate(levels[1:], 1):
                below = tf.reshape(last, [-1, segment, last.shape[-1]])
                last = self._bidirectional(level, below, None,
                                           tf.fill([tf.shape(below)[0]], segment), True)
        mu = tf.matmul(last, w["encoder/mu/kernel"]) + w["encoder/mu/bias"]
        sigma = tf.nn.softplus(tf.matmul(last, w["encoder/sigma/kernel"]) + w["encoder/sigma/bias"])
        return mu, sigma

    def _bidirectional(self, level: int, inputs: tf.Tensor | None, classes: tf.Tensor | None,
                       lengths: tf.Tensor, full_length: bool,
                       dropout: Callable[[tf.Tensor, int], tf.Tensor] | None = None
                       ) -> tf.Tensor:
        """One BidirectionalLstmEncoder (level ``level`` of a hierarchical one) over
        ``inputs [N, T, D]`` (or the one-hot ``classes [N, T, P]``): ``[N, 2u]``, the top
        layer's last forward h and last backward h."""
        w = self.weights
        steps = int((classes if inputs is None else inputs).shape[1])
        mask = None if full_length else tf.transpose(
            tf.sequence_mask(lengths, steps, tf.float32))[:, None, :, None]
        below = None
        for layer, units in enumerate(self.hparams.enc_rnn_size):
            cells = [encoder_cell_prefix(self.config, level, layer, d) + "/"
                     for d in ("fw", "bw")]
            kernels = [w[c + "kernel"] for c in cells]
            bias = tf.stack([w[c + "bias"] for c in cells])[:, None, :]  # [2, 1, 4u]
            if below is None and inputs is None:
                projected = self._lookup_inputs(kernels, classes, lengths)
                width = self.config.input_depth
            else:
                x = tf.convert_to_tensor(inputs if below is None else below, tf.float32)
                width = x.shape[-1]
                both = tf.stack([x, tf.reverse_sequence(x, lengths, seq_axis=1, batch_axis=0)])
                if dropout is not None:
                    both = dropout(both, layer)
                projected = tf.einsum("dbti,dig->tdbg", both,
                                      tf.stack([k[:width] for k in kernels]))
            zeros = tf.zeros([2, tf.shape(lengths)[0], units])
            out, final_h, _ = lstm_layer(projected + bias, tf.stack([k[width:] for k in kernels]),
                                         zeros, zeros, mask)
            backward = tf.reverse_sequence(tf.transpose(out[:, 1], [1, 0, 2]), lengths,
                                           seq_axis=1, batch_axis=0)
            below = tf.concat([tf.transpose(out[:, 0], [1, 0, 2]), backward], axis=-1)
        return tf.concat([final_h[0], final_h[1]], axis=-1)

    def _lookup_inputs(self, kernels: list[tf.Variable], classes: tf.Tensor,
                       lengths: tf.Tensor) -> tf.Tensor:
        """Layer 0's input products ``[T, 2, B, 4u]`` for one-hot inputs: one kernel row per
        part (forward over the sequence, backward over it reversed within its length)."""
        classes = tf.cast(classes, tf.int32)
        reverse = tf.reverse_sequence(classes, lengths, seq_axis=1, batch_axis=0)
        order = tf.transpose(tf.stack([classes, reverse]), [2, 0, 1, 3])  # [T, 2, B, P]
        depths = self.config.output_depths if self.config.is_hierarchical \
            else (self.config.output_depth,)
        projected, offset = 0.0, 0
        for part, depth in enumerate(depths):
            rows = tf.stack([k[offset:offset + depth] for k in kernels])  # [2, depth, 4u]
            projected += tf.transpose(tf.gather(rows, tf.transpose(order[..., part], [1, 0, 2]),
                                                axis=1, batch_dims=1), [1, 0, 2, 3])
            offset += depth
        return projected

    # -- decoders --------------------------------------------------------------------------

    def _stack(self, cond: tf.Tensor, segments: int = 1) -> DecoderStack:
        return DecoderStack(self.weights, [p.prefix for p in self.parts],
                            [p.depth for p in self.parts], self.hparams.dec_rnn_size,
                            cond, segments)

    def _depths(self) -> tf.Tensor:
        return tf.constant([p.depth for p in self.parts], tf.int32)

    def decode_logits(self, z: tf.Tensor, targets: tf.Tensor, sampling: dict | None = None,
                      seed: tf.Tensor | None = None) -> list[tf.Tensor]:
        """Logits per part ``[B, T, depth]`` with the true previous class as each input
        (teacher forcing), or with Magenta's scheduled sampling when ``sampling`` =
        {"probability"} is given.

        ``targets [B, T, P]`` are class indices; the input at step 0 is "none", and so is
        the input after a ``PAD`` (below 0: multiperf's steps past an instrument's end
        token, which Magenta pads with zero rows).
        """
        targets = tf.cast(targets, tf.int32)
        steps = int(targets.shape[1])
        batch = tf.shape(targets)[0]
        start = tf.broadcast_to(self._depths(), [batch, 1, len(self.parts)])
        previous = tf.concat([start, targets[:, :-1]], axis=1)
        previous = tf.where(previous < 0, self._depths(), previous)
        if self.config.is_hierarchical:
            # All bars run as one batch: row b * bars + i is bar i of example b, whose
            # first input is the true last row of bar i - 1 (as in Magenta's training,
            # which shifts the whole padded target by one step: for multiperf instrument
            # i's first input is row 64 i - 1, a zero row unless instrument i - 1 fills
            # all 64 steps).
            bars, steps = self.config.level_lengths
            cond = tf.reshape(self._conductor(z), [batch * bars, -1])
            previous = tf.reshape(previous, [batch * bars, steps, len(self.parts)])
        else:
            cond = z
        stack = self._stack(cond)
        if sampling is not None:
            _, previous = stack.free_running(previous, steps, sampling, seed)
            previous = tf.stop_gradient(previous)
        logits = stack.teacher_forced(previous)
        if self.config.is_hierarchical:
            logits = [tf.reshape(lg, [batch, -1, lg.shape[-1]]) for lg in logits]
        return logits

    def decode_argmax(self, z: tf.Tensor, steps: int) -> tf.Tensor:
        """Free-running greedy decode from ``z``: classes ``[B, steps, P]``."""
        batch = tf.shape(z)[0]
        greedy = {"probability": 1.0, "argmax": True}
        previous = tf.broadcast_to(self._depths(), [batch, steps, len(self.parts)])
        if not self.config.is_hierarchical:
            logits, _ = self._stack(z).free_running(previous, steps, greedy)
            return argmax_classes(logits)
        bars = steps // self.config.level_lengths[1]
        embeddings = tf.transpose(self._conductor(z)[:, :bars], [1, 0, 2])  # [bars, B, u]
        stack = self._stack(tf.reshape(embeddings, [bars * batch, -1]), segments=bars)
        logits, _ = stack.free_running(previous, steps, greedy)
        return argmax_classes(logits)

    def _conductor(self, z: tf.Tensor) -> tf.Tensor:
        return conductor(self.weights, self.hparams.dec_rnn_size, z, self.config.level_lengths[0])
