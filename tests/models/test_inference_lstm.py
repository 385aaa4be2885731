"""The LSTM math: the plain functions against hand-worked values, sequence lengths, and the
fast stack (rearranged weights, in-place buffers) against the plain cell step."""

from __future__ import annotations

import numpy as np
import pytest
from latentjam.models.inference import encoder
from latentjam.models.inference import stack as stack_module
from latentjam.models.inference.encoder import BidirectionalEncoder, BidirectionalLayer
from latentjam.models.inference.lstm import (
    FORGET_BIAS,
    bidirectional_layer,
    lstm_sequence,
    lstm_step,
    sigmoid,
    softplus,
)
from latentjam.models.inference.stack import LstmStack


def _cell(rng: np.random.Generator, inputs: int, units: int) -> tuple[np.ndarray, np.ndarray]:
    kernel = rng.uniform(-0.5, 0.5, (inputs + units, 4 * units)).astype(np.float32)
    bias = rng.uniform(-0.2, 0.2, 4 * units).astype(np.float32)
    return kernel, bias


def test_cell_step_uses_gate_order_i_j_f_o_and_forget_bias() -> None:
    units = 3
    kernel = np.zeros((1 + units, 4 * units), np.float32)
    bias = np.zeros(4 * units, np.float32)
    bias[:units] = 0.3  # i
    bias[units:2 * units] = -0.7  # j
    bias[2 * units:3 * units] = 0.1  # f
    bias[3 * units:] = 2.0  # o
    c0 = np.full((1, units), 0.5, np.float32)
    h, c = lstm_step(np.zeros((1, 1), np.float32), np.zeros((1, units), np.float32), c0,
                     kernel, bias)
    s = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    expected_c = 0.5 * s(0.1 + FORGET_BIAS) + s(0.3) * np.tanh(-0.7)
    np.testing.assert_allclose(c, expected_c, rtol=1e-6)
    np.testing.assert_allclose(h, np.tanh(expected_c) * s(2.0), rtol=1e-6)


def test_sigmoid_and_softplus_are_stable() -> None:
    x = np.array([-1000.0, -5.0, 0.0, 5.0, 1000.0], np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(sigmoid(x), [0.0, 1 / (1 + np.exp(5.0)), 0.5,
                                                1 / (1 + np.exp(-5.0)), 1.0], atol=1e-7)
        np.testing.assert_allclose(softplus(x), [0.0, np.log1p(np.exp(-5.0)), np.log(2.0),
                                                 5 + np.log1p(np.exp(-5.0)), 1000.0], rtol=1e-6)


def test_sequence_lengths_match_unpadded_runs() -> None:
    """A padded example gives what its unpadded steps give: the forward pass stops at its
    last valid step, the backward pass starts there, padded outputs are zero."""
    rng = np.random.default_rng(1)
    forward, backward = _cell(rng, 4, 5), _cell(rng, 4, 5)
    inputs = rng.standard_normal((3, 8, 4)).astype(np.float32)
    lengths = np.array([8, 5, 0])
    outputs, last_fw, last_bw = bidirectional_layer(inputs, forward, backward, lengths)
    for b, length in enumerate(lengths):
        if length == 0:
            assert not last_fw[b].any() and not last_bw[b].any() and not outputs[b].any()
            continue
        alone, fw, bw = bidirectional_layer(inputs[b:b + 1, :length], forward, backward)
        np.testing.assert_allclose(outputs[b, :length], alone[0], atol=1e-6)
        assert not outputs[b, length:].any()
        np.testing.assert_allclose(last_fw[b], fw[0], atol=1e-6)
        np.testing.assert_allclose(last_bw[b], bw[0], atol=1e-6)
    # The backward pass's last state is its output at the first step.
    np.testing.assert_allclose(last_bw, outputs[:, 0, 5:], atol=1e-7)
    # Both directions stepped together equal each run alone.
    for direction, reverse in ((forward, False), (backward, True)):
        alone, last = lstm_sequence(inputs, *direction, lengths=lengths, reverse=reverse)
        half = slice(5, 10) if reverse else slice(0, 5)
        np.testing.assert_allclose(outputs[..., half], alone, atol=1e-6)
        np.testing.assert_allclose(last_bw if reverse else last_fw, last, atol=1e-6)


@pytest.mark.parametrize("one_hot_groups", [0, 1, 3])
def test_fast_bidirectional_layer_equals_the_plain_one(one_hot_groups: int) -> None:
    """Prepared weights, inputs projected up front (row lookups for one-hot rows), both
    directions per step in one product: the same as ``bidirectional_layer``, padded or not."""
    rng = np.random.default_rng(10 + one_hot_groups)
    depth, units, steps = 9, 6, 7
    forward, backward = _cell(rng, depth, units), _cell(rng, depth, units)
    if one_hot_groups:
        inputs = np.zeros((3, steps, depth), np.float32)
        for group in range(one_hot_groups):
            column = group * 3 + rng.integers(0, 3, (3, steps))
            np.put_along_axis(inputs, column[..., None], 1.0, axis=2)
    else:
        inputs = rng.standard_normal((3, steps, depth)).astype(np.float32)
    rows = encoder._one_hot_rows(inputs.reshape(-1, depth))
    assert (rows is None) == (one_hot_groups == 0)  # the row-lookup path is the one tested
    layer = BidirectionalLayer(forward, backward)
    for lengths in (None, np.array([7, 4, 0])):
        expected = bidirectional_layer(inputs, forward, backward, lengths)
        got = layer(inputs, lengths)
        for want, have in zip(expected, got, strict=True):
            np.testing.assert_allclose(have, want, atol=2e-6)
        _, last_fw, last_bw = layer(inputs, lengths, keep_outputs=False)
        np.testing.assert_allclose(last_fw, expected[1], atol=2e-6)
        np.testing.assert_allclose(last_bw, expected[2], atol=2e-6)


def test_fast_encoder_stacks_layers() -> None:
    rng = np.random.default_rng(20)
    depth, units, steps = 5, (6, 4), 8
    cells = [(_cell(rng, depth, units[0]), _cell(rng, depth, units[0])),
             (_cell(rng, 2 * units[0], units[1]), _cell(rng, 2 * units[0], units[1]))]
    inputs = rng.standard_normal((2, steps, depth)).astype(np.float32)
    lengths = np.array([8, 3])
    x = inputs
    for forward, backward in cells:
        x, last_fw, last_bw = bidirectional_layer(x, forward, backward, lengths)
    summary = BidirectionalEncoder(cells).summary(inputs, lengths)
    np.testing.assert_allclose(summary, np.concatenate([last_fw, last_bw], axis=-1),
                               atol=2e-6)


def test_sequence_steps_the_cell() -> None:
    rng = np.random.default_rng(2)
    kernel, bias = _cell(rng, 3, 4)
    inputs = rng.standard_normal((2, 5, 3)).astype(np.float32)
    outputs, last = lstm_sequence(inputs, kernel, bias, reverse=True)
    h = c = np.zeros((2, 4), np.float32)
    for t in range(4, -1, -1):
        h, c = lstm_step(inputs[:, t], h, c, kernel, bias)
        np.testing.assert_allclose(outputs[:, t], h, atol=1e-6)
    np.testing.assert_allclose(last, h, atol=1e-6)


@pytest.mark.parametrize("row_by_row", [False, True])
@pytest.mark.parametrize("units", [(6,), (6, 5), (4, 6, 5)])
def test_fast_stack_equals_plain_cell_steps(units: tuple[int, ...], row_by_row: bool,
                                            monkeypatch) -> None:
    """Both ways of taking a few rows' products (one product, or row by row as large
    kernels are) give the plain cell's numbers."""
    monkeypatch.setattr(stack_module, "ROWS_MIN_WEIGHTS", 0 if row_by_row else 10 ** 9)
    rng = np.random.default_rng(len(units))
    batch, input_size, steps, classes = 3, 7, 6, 4
    cells, width = [], input_size
    for u in units:
        cells.append(_cell(rng, width, u))
        width = u
    output = (rng.standard_normal((units[-1], classes)).astype(np.float32),
              rng.standard_normal(classes).astype(np.float32))
    stack = LstmStack([k for k, _ in cells], [b for _, b in cells], input_size, output)
    initial = rng.uniform(-0.9, 0.9, (batch, stack.state_size)).astype(np.float32)
    run = stack.start(batch)
    assert run.row_by_row == (row_by_row,) * len(units)
    assert stack.start(1).row_by_row == (False,) * len(units)  # a batch of one: one product
    run.load(initial)
    offsets = np.cumsum([0, *[2 * u for u in units]])[:-1]
    state = [(initial[:, o:o + u], initial[:, o + u:o + 2 * u])
             for o, u in zip(offsets, units, strict=True)]
    for _ in range(steps):
        x = rng.standard_normal((batch, input_size)).astype(np.float32)
        run.step(x @ stack.input_rows)
        layer_input, new_state = x, []
        for (kernel, bias), (c, h) in zip(cells, state, strict=True):
            h, c = lstm_step(layer_input, h, c, kernel, bias)
            new_state.append((c, h))
            layer_input = h
        state = new_state
        np.testing.assert_allclose(run.top_h, layer_input, atol=2e-6)
        np.testing.assert_allclose(run.output, layer_input @ output[0] + output[1], atol=1e-5)
