"""``MusicVAE``: encode, decode, sample and interpolate with a Magenta checkpoint's weights.

Shapes: encoder inputs ``[B, T, input_depth]`` (the converter's encoder inputs; for a
hierarchical encoder, the multi-instrument performance models, T is the product of its level
lengths, each segment padded with zero rows); latent vectors ``[B, z_size]``; decoded
classes ``[B, T]`` for a one-part model and ``[B, T, parts]`` for a split one (the trio:
melody, bass, drums); logits ``[B, T, output_depth]`` with a split model's parts side by
side. A single example may be given without its batch axis, and comes back without it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from latentjam.models.configs import ModelConfig
from latentjam.models.errors import ConfigError, InputError
from latentjam.models.inference.decoder import CategoricalDecoder, Conductor
from latentjam.models.inference.encoder import BidirectionalEncoder
from latentjam.models.inference.groove_decoder import GrooveDecoder
from latentjam.models.inference.latent import slerp
from latentjam.models.inference.lstm import dense, softplus
from latentjam.models.variables import (
    check_variables,
    core_decoder_prefixes,
    encoder_cell_prefix,
)


class MusicVAE:
    """A MusicVAE in NumPy; all weights are prepared once, here."""

    def __init__(self, config: ModelConfig, variables: Mapping[str, np.ndarray],
                 source: str = "checkpoint", dtype: type = np.float32):
        _check_structure(config)
        weights = check_variables(config, variables, source)
        self.config = config
        self.dtype = dtype
        hparams = config.hparams
        self.z_size = hparams.z_size

        def param(name: str) -> np.ndarray:
            return np.ascontiguousarray(weights[name], dtype)

        # One BidirectionalEncoder per level of the encoder (a flat one: one level).
        self._encoders = []
        for level in range(max(1, len(config.encoder_level_lengths))):
            encoder_layers = []
            for layer in range(len(hparams.enc_rnn_size)):
                cells = []
                for direction in ("fw", "bw"):
                    prefix = encoder_cell_prefix(config, level, layer, direction)
                    cells.append((weights[f"{prefix}/kernel"], weights[f"{prefix}/bias"]))
                encoder_layers.append(tuple(cells))
            self._encoders.append(BidirectionalEncoder(encoder_layers, dtype))
        self._mu = (param("encoder/mu/kernel"), param("encoder/mu/bias"))
        self._sigma = (param("encoder/sigma/kernel"), param("encoder/sigma/bias"))

        layers = len(hparams.dec_rnn_size)
        if config.is_hierarchical:
            self._conductor = Conductor(weights, layers, dtype)
            self._decoders = [
                CategoricalDecoder(weights, prefix, depth, hparams.dec_rnn_size[-1], layers,
                                   dtype)
                for prefix, depth in zip(core_decoder_prefixes(config), config.output_depths,
                                         strict=True)]
            self.steps_per_segment = config.level_lengths[-1]
        else:
            self._conductor = None
            flat = GrooveDecoder if config.is_groove else CategoricalDecoder
            self._decoders = [flat(weights, "decoder", config.output_depth, self.z_size,
                                   layers, dtype)]
            self.steps_per_segment = 1
        self.default_length = hparams.max_seq_len
        self.max_length = hparams.max_seq_len if config.is_hierarchical else None

    @property
    def mu_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """The (kernel, bias) that make μ: what identifies a model's latent space."""
        return self._mu

    @property
    def is_split(self) -> bool:
        """Whether decoded classes carry one column per part (the trio)."""
        return len(self.config.output_depths) > 1

    # -- encoding ---------------------------------------------------------------------------

    def encode(self, inputs: np.ndarray, lengths: np.ndarray | None = None,
               rng: np.random.Generator | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(z, mu, sigma)`` for ``inputs [B, T, input_depth]``; ``z = mu + sigma * eps``
        with ``eps`` drawn from ``rng``. ``lengths [B]`` (default ``T``) marks each
        example's valid steps.

        A hierarchical encoder (Magenta's HierarchicalLstmEncoder, level lengths
        ``(64, 8)`` for multiperf) takes ``lengths [B, segments]``: the valid steps of each
        lowest-level segment (an instrument's tokens up to its end token). By default they
        are read off the inputs: a segment's trailing all-zero rows are its padding (the
        converters one-hot every valid step). Level 0 reads every segment on its own; each
        level above reads the summaries of the level below at full length; μ and σ come
        from the top level's summary."""
        x = np.asarray(inputs, dtype=self.dtype)
        single = x.ndim == 2
        if single:
            x = x[None]
        depth = self.config.input_depth
        levels = self.config.encoder_level_lengths
        steps = math.prod(levels) if levels else None
        if x.ndim != 3 or x.shape[-1] != depth or x.shape[1] < 1 \
                or (steps is not None and x.shape[1] != steps):
            raise InputError(f"encoder inputs must be [batch, {steps or 'steps'}, {depth}] for "
                             f"{self.config.name}, got shape {np.shape(inputs)}")
        if levels:
            lengths = self._segment_lengths(x, lengths, single)
        else:
            lengths = self._check_lengths(lengths, x.shape[0], x.shape[1], single)
            levels = (x.shape[1],)
        for level, (encoder, segment) in enumerate(zip(self._encoders, levels, strict=True)):
            batch, total, width = x.shape
            segments = total // segment
            x = encoder.summary(x.reshape(batch * segments, segment, width),
                                None if level or lengths is None else lengths.reshape(-1))
            x = x.reshape(batch, segments, -1)
        summary = x[:, 0]
        mu = dense(summary, *self._mu)
        sigma = softplus(dense(summary, *self._sigma))
        rng = rng if rng is not None else np.random.default_rng()
        z = mu + sigma * rng.standard_normal(mu.shape).astype(self.dtype)
        if single:
            return z[0], mu[0], sigma[0]
        return z, mu, sigma

    def _check_lengths(self, lengths: np.ndarray | None, batch: int, steps: int,
                       single: bool) -> np.ndarray | None:
        if lengths is None:
            return None
        values = np.atleast_1d(np.asarray(lengths))
        if values.shape != (batch,) or not np.issubdtype(values.dtype, np.integer) \
                or np.any(values < 0) or np.any(values > steps):
            raise InputError(f"lengths must be {'one' if single else batch} integer(s) in "
                             f"0..{steps}, got {lengths!r}")
        return values.astype(np.int64)

    def _segment_lengths(self, x: np.ndarray, lengths: np.ndarray | None,
                         single: bool) -> np.ndarray:
        """``[B, segments]`` valid steps of each lowest-level segment of ``x [B, T, D]``."""
        segment = self.config.encoder_level_lengths[0]
        batch, steps, _ = x.shape
        segments = steps // segment
        if lengths is None:
            filled = np.any(x != 0, axis=-1).reshape(batch, segments, segment)
            last = segment - np.argmax(filled[..., ::-1], axis=-1)
            return np.where(filled.any(axis=-1), last, 0).astype(np.int64)
        values = np.asarray(lengths)
        if single and values.ndim == 1:
            values = values[None]
        if values.shape != (batch, segments) or not np.issubdtype(values.dtype, np.integer) \
                or np.any(values < 0) or np.any(values > segment):
            shape = f"[{segments}]" if single else f"[{batch}, {segments}]"
            raise InputError(f"lengths must be integers shaped {shape} in 0..{segment} (each "
                             f"{segment}-step segment's valid steps), got {lengths!r}")
        return values.astype(np.int64)

    # -- decoding ---------------------------------------------------------------------------

    def decode(self, z: np.ndarray, length: int | None = None, temperature: float = 0.0,
               rng: np.random.Generator | None = None) -> np.ndarray:
        """Class indices (int64) decoded from ``z``: ``[B, length]``, or ``[B, length,
        parts]`` for a split model. Temperature 0 takes the most likely class at each step;
        above 0 samples from ``softmax(logits / temperature)``. A groove model (GrooVAE)
        gives rows of floats ``[B, length, 27]`` instead (``groove_decoder``)."""
        latent, single = self._check_z(z)
        steps = self._check_length(length)
        temperature = _check_temperature(temperature)
        if temperature > 0 and rng is None:
            rng = np.random.default_rng()
        classes, _ = self._run(latent, steps, temperature, rng, None, False)
        return classes[0] if single else classes

    def decode_logits(self, z: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """Logits ``[B, T, output_depth]`` with ``classes`` fed back as the previous outputs
        (teacher forcing): the logits at step t are those that chose ``classes[:, t]``."""
        latent, single = self._check_z(z)
        forced = np.asarray(classes)
        if single:
            forced = forced[None]
        if self.config.is_groove:
            return self._groove_logits(latent, forced, single)
        parts = len(self.config.output_depths) if self.is_split else 0
        shape_ok = forced.ndim == 2 + (parts > 0) and forced.shape[0] == latent.shape[0] \
            and (not parts or forced.shape[2] == parts)
        if not shape_ok or not np.issubdtype(forced.dtype, np.integer):
            expected = "[batch, steps" + (f", {parts}]" if parts else "]")
            raise InputError(f"classes must be integers shaped {expected} with the batch of "
                             f"z ({latent.shape[0]}), got {forced.dtype} {np.shape(classes)}")
        steps = self._check_length(forced.shape[1])
        depths = np.asarray(self.config.output_depths if parts else [self.config.output_depth])
        if np.any(forced < 0) or np.any(forced >= (depths if parts else depths[0])):
            raise InputError(f"classes must lie in 0..depth-1 for depths {depths.tolist()}, "
                             f"got values {int(forced.min())}..{int(forced.max())}")
        _, logits = self._run(latent, steps, 0.0, None, forced.astype(np.int64), True)
        return logits[0] if single else logits

    def _groove_logits(self, latent: np.ndarray, rows: np.ndarray, single: bool) -> np.ndarray:
        depth = self.config.output_depth
        if rows.ndim != 3 or rows.shape[0] != latent.shape[0] or rows.shape[2] != depth \
                or not np.all(np.isfinite(rows)):
            raise InputError(f"rows must be finite numbers shaped [batch, steps, {depth}] with "
                             f"the batch of z ({latent.shape[0]}), got {np.shape(rows)}")
        steps = self._check_length(rows.shape[1])
        _, logits = self._run(latent, steps, 0.0, None, rows.astype(self.dtype), True)
        return logits[0] if single else logits

    def sample(self, n: int, temperature: float = 0.5, rng: np.random.Generator | None = None,
               length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``n`` draws of ``z ~ N(0, I)`` and their decodes: ``(z [n, Z], classes)``."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise InputError(f"the number of samples must be a positive integer, got {n!r}")
        rng = rng if rng is not None else np.random.default_rng()
        z = rng.standard_normal((int(n), self.z_size)).astype(self.dtype)
        return z, self.decode(z, length=length, temperature=temperature, rng=rng)

    def interpolate(self, z_a: np.ndarray, z_b: np.ndarray, num_steps: int) -> np.ndarray:
        """``num_steps`` latent vectors from ``z_a`` to ``z_b`` inclusive (see ``slerp``)."""
        for z in (z_a, z_b):
            self._check_z(z)
        return slerp(np.asarray(z_a, self.dtype), np.asarray(z_b, self.dtype), num_steps)

    def _run(self, z: np.ndarray, steps: int, temperature: float,
             rng: np.random.Generator | None, forced: np.ndarray | None,
             keep_logits: bool) -> tuple[np.ndarray, np.ndarray | None]:
        if self.config.is_groove:
            return self._decoders[0].run(z, steps, temperature, rng, forced, keep_logits)
        if self._conductor is None:
            return self._decoders[0].run(z[None], steps, temperature, rng, forced, keep_logits)
        segment = self.steps_per_segment
        embeddings = self._conductor.embeddings(z, steps // segment)
        if forced is not None and not self.is_split:
            forced = forced[..., None]  # one part (multiperf): [B, T] -> [B, T, 1]
        batch = z.shape[0]
        classes = np.empty((batch, steps, len(self._decoders)), np.int64)
        logits = np.empty((batch, steps, self.config.output_depth), self.dtype) \
            if keep_logits else None
        offset = 0
        for part, decoder in enumerate(self._decoders):
            part_classes, part_logits = decoder.run(
                embeddings, segment, temperature, rng,
                None if forced is None else forced[..., part], keep_logits)
            classes[..., part] = part_classes
            if logits is not None:
                logits[..., offset:offset + decoder.depth] = part_logits
            offset += decoder.depth
        return (classes if self.is_split else classes[..., 0]), logits

    # -- argument checks --------------------------------------------------------------------

    def _check_z(self, z: np.ndarray) -> tuple[np.ndarray, bool]:
        latent = np.asarray(z, dtype=self.dtype)
        single = latent.ndim == 1
        if single:
            latent = latent[None]
        if latent.ndim != 2 or latent.shape[1] != self.z_size or latent.shape[0] < 1:
            raise InputError(f"z must be [batch, {self.z_size}] for {self.config.name}, "
                             f"got shape {np.shape(z)}")
        if not np.all(np.isfinite(latent)):
            raise InputError("z holds NaN or infinite values")
        return latent, single

    def _check_length(self, length: int | None) -> int:
        if length is None:
            return self.default_length
        segment, limit = self.steps_per_segment, self.max_length
        valid = (not isinstance(length, bool) and isinstance(length, (int, np.integer))
                 and length > 0 and length % segment == 0
                 and (limit is None or length <= limit))
        if not valid:
            what = f"a positive multiple of {segment} up to {limit}" if limit else \
                "a positive integer"
            raise InputError(f"length {length!r}: {self.config.name} decodes {what} steps")
        return int(length)


def _check_structure(config: ModelConfig) -> None:
    """Refuse structures this module does not implement, rather than decode wrong."""
    levels = config.encoder_level_lengths
    if levels and (math.prod(levels) != config.hparams.max_seq_len or min(levels) < 1):
        raise ConfigError(f"{config.name}: the hierarchical encoder's level lengths "
                          f"{list(levels)} must multiply to max_seq_len "
                          f"{config.hparams.max_seq_len}")
    if config.is_hierarchical and len(config.level_lengths) != 2:
        raise ConfigError(f"{config.name}: only a conductor over one core level is supported, "
                          f"got level lengths {list(config.level_lengths)}")
    if not config.is_hierarchical and len(config.output_depths) != 1:
        raise ConfigError(f"{config.name}: a flat decoder with several outputs "
                          f"{list(config.output_depths)} is not supported")


def _check_temperature(temperature: float) -> float:
    try:
        value = float(temperature)
    except (TypeError, ValueError):
        raise InputError(f"temperature must be a number, got {temperature!r}") from None
    if not math.isfinite(value) or value < 0:
        raise InputError(f"temperature must be 0 or more, got {temperature!r}")
    return value


__all__ = ["MusicVAE", "slerp"]
