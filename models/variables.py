"""The checkpoint variables a config implies: Magenta's names and shapes.

One table shared by the NumPy model, the TensorFlow trainer and every checkpoint reader,
so that a checkpoint that does not fit its config is caught once, with every mismatch
listed, before any arithmetic runs.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from latentjam.models.configs import ModelConfig
from latentjam.models.errors import CheckpointError

Shapes = dict[str, tuple[int, ...]]

# Present in Magenta checkpoints but not model weights: the step counter and optimizer slots.
_NON_MODEL_SUFFIXES = ("/Adam", "/Adam_1", "/ExponentialMovingAverage")
_NON_MODEL_NAMES = ("global_step", "beta1_power", "beta2_power")


def lstm_shapes(prefix: str, input_size: int, units: int) -> Shapes:
    """An LSTMBlockCell: kernel [input + units, 4 * units] over ``[x, h]``, gates i, j, f, o."""
    return {f"{prefix}/kernel": (input_size + units, 4 * units), f"{prefix}/bias": (4 * units,)}


def dense_shapes(prefix: str, inputs: int, outputs: int) -> Shapes:
    return {f"{prefix}/kernel": (inputs, outputs), f"{prefix}/bias": (outputs,)}


def encoder_cell_prefix(config: ModelConfig, level: int, layer: int, direction: str) -> str:
    """One direction's LSTMBlockCell of encoder layer ``layer`` at hierarchy ``level``:
    Magenta's BidirectionalLstmEncoder under ``encoder`` (flat), or under
    ``encoder/hierarchical_level_{level}`` (a HierarchicalLstmEncoder, one per level)."""
    scope = f"encoder/hierarchical_level_{level}" if config.encoder_level_lengths else "encoder"
    return (f"{scope}/cell_{layer}/bidirectional_rnn/{direction}"
            f"/multi_rnn_cell/cell_0/lstm_cell")


def encoder_shapes(config: ModelConfig) -> Shapes:
    """Stacked bidirectional LSTM layers (at each level of a hierarchical encoder: level 0
    reads the inputs, each level above the ``[last forward h, last backward h]`` summaries
    of the level below), then ``mu`` and ``sigma`` from the top."""
    shapes: Shapes = {}
    width = config.input_depth
    for level in range(max(1, len(config.encoder_level_lengths))):
        for layer, units in enumerate(config.hparams.enc_rnn_size):
            for direction in ("fw", "bw"):
                shapes.update(lstm_shapes(encoder_cell_prefix(config, level, layer, direction),
                                          width, units))
            width = 2 * units
    z = config.hparams.z_size
    shapes.update(dense_shapes("encoder/mu", width, z))
    shapes.update(dense_shapes("encoder/sigma", width, z))
    return shapes


def flat_decoder_shapes(prefix: str, output_depth: int, condition_size: int,
                        units: tuple[int, ...]) -> Shapes:
    """A CategoricalLstmDecoder conditioned on a vector (z, or a conductor embedding)."""
    shapes = dense_shapes(f"{prefix}/z_to_initial_state", condition_size, 2 * sum(units))
    width = output_depth + condition_size
    for layer, size in enumerate(units):
        shapes.update(lstm_shapes(f"{prefix}/multi_rnn_cell/cell_{layer}/lstm_cell", width, size))
        width = size
    shapes.update(dense_shapes(f"{prefix}/output_projection", units[-1], output_depth))
    return shapes


def core_decoder_prefixes(config: ModelConfig) -> list[str]:
    """A hierarchical decoder's core decoders, one per part: a split core (the trio's
    MultiOut/SplitMultiOut decoders) names each ``core_decoder/core_decoder_{part}/decoder``;
    a single CategoricalLstmDecoder core (multiperf) is ``core_decoder/decoder``."""
    if len(config.output_depths) == 1:
        return ["core_decoder/decoder"]
    return [f"core_decoder/core_decoder_{part}/decoder"
            for part in range(len(config.output_depths))]


def hierarchical_decoder_shapes(config: ModelConfig) -> Shapes:
    """A conductor LSTM over segments (bars, instruments), then the core decoder(s) of each
    segment (``core_decoder_prefixes``)."""
    units = config.hparams.dec_rnn_size
    shapes = dense_shapes("decoder/hierarchical_level_0/initial_state",
                          config.hparams.z_size, 2 * sum(units))
    width = 1  # the conductor reads a constant 1-wide input (no autoregression)
    for layer, size in enumerate(units):
        shapes.update(lstm_shapes(f"decoder/hierarchical_level_0/cell_{layer}/lstm_cell",
                                  width, size))
        width = size
    embedding = units[-1]
    for prefix, depth in zip(core_decoder_prefixes(config), config.output_depths, strict=True):
        shapes.update(flat_decoder_shapes(prefix, depth, embedding, units))
    return shapes


def expected_shapes(config: ModelConfig) -> Shapes:
    """Every model variable of ``config`` (no global_step, no optimizer slots)."""
    shapes = encoder_shapes(config)
    if config.is_hierarchical:
        shapes.update(hierarchical_decoder_shapes(config))
    else:
        shapes.update(flat_decoder_shapes("decoder", config.output_depth,
                                          config.hparams.z_size, config.hparams.dec_rnn_size))
    return shapes


def is_model_variable(name: str) -> bool:
    return name not in _NON_MODEL_NAMES and not name.endswith(_NON_MODEL_SUFFIXES)


def check_variables(config: ModelConfig, variables: Mapping[str, np.ndarray],
                    source: str = "checkpoint") -> dict[str, np.ndarray]:
    """The model variables of ``variables`` as float32, or a CheckpointError listing
    every missing, unexpected and wrongly shaped variable."""
    expected = expected_shapes(config)
    problems = []
    for name, shape in expected.items():
        if name not in variables:
            problems.append(f"missing {name} {list(shape)}")
        elif tuple(variables[name].shape) != shape:
            problems.append(f"{name}: shape {list(variables[name].shape)}, "
                            f"config {config.name} expects {list(shape)}")
    for name in sorted(variables):
        if is_model_variable(name) and name not in expected:
            problems.append(f"unexpected {name} {list(variables[name].shape)}")
    if problems:
        shown = "\n  ".join(problems[:40])
        more = f"\n  ... and {len(problems) - 40} more" if len(problems) > 40 else ""
        raise CheckpointError(
            f"{source} does not match config {config.name} "
            f"({len(problems)} problems):\n  {shown}{more}"
        )
    return {name: np.asarray(variables[name], dtype=np.float32) for name in expected}
