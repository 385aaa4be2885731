"""MidiMe's network math in NumPy: parameters, forward pass, loss, backprop, Adam.

Pure functions over a parameter dict ``{name: array}``. The layout follows magenta.js
``MidiMe``: ReLU dense layers, then affine μ and softplus σ for the small z; the decoder's
ReLU layers end in an affine layer back to the base model's latent size. The loss is the one
MidiMe uses: a unit-variance Gaussian negative log-likelihood (half the squared error, summed
over dimensions) plus β times the KL divergence to N(0, I), both averaged over the batch.
Every function works in the dtype of its inputs, so the tests check gradients in float64.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

Params = dict[str, np.ndarray]

PREFIX = "midime"
SIGMA_FLOOR = 1e-6  # keeps log σ finite when softplus underflows; far below any useful σ


def encoder_names(layers: Sequence[int]) -> list[str]:
    return [f"{PREFIX}/encoder/dense_{i}" for i in range(len(layers))]


def decoder_names(layers: Sequence[int]) -> list[str]:
    return [f"{PREFIX}/decoder/dense_{i}" for i in range(len(layers))]


MU, SIGMA, OUTPUT = (f"{PREFIX}/encoder/mu", f"{PREFIX}/encoder/sigma",
                     f"{PREFIX}/decoder/output")


def parameter_shapes(input_size: int, latent_size: int, encoder_layers: Sequence[int],
                     decoder_layers: Sequence[int]) -> dict[str, tuple[int, ...]]:
    """``{name: shape}`` of every parameter, in a stable order."""
    shapes: dict[str, tuple[int, ...]] = {}

    def add(name: str, fan_in: int, fan_out: int) -> None:
        shapes[f"{name}/kernel"] = (fan_in, fan_out)
        shapes[f"{name}/bias"] = (fan_out,)

    width = input_size
    for name, units in zip(encoder_names(encoder_layers), encoder_layers, strict=True):
        add(name, width, units)
        width = units
    add(MU, width, latent_size)
    add(SIGMA, width, latent_size)
    width = latent_size
    for name, units in zip(decoder_names(decoder_layers), decoder_layers, strict=True):
        add(name, width, units)
        width = units
    add(OUTPUT, width, input_size)
    return shapes


def init_parameters(shapes: Mapping[str, tuple[int, ...]], rng: np.random.Generator) -> Params:
    """Glorot-uniform kernels and zero biases, as Keras (and so tfjs) start dense layers."""
    params = {}
    for name, shape in shapes.items():
        if name.endswith("/kernel"):
            limit = np.sqrt(6.0 / (shape[0] + shape[1]))
            params[name] = rng.uniform(-limit, limit, shape).astype(np.float32)
        else:
            params[name] = np.zeros(shape, np.float32)
    return params


def softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x).astype(x.dtype, copy=False)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return (0.5 * (1.0 + np.tanh(0.5 * x))).astype(x.dtype, copy=False)  # no overflow


def _mlp(params: Params, names: list[str], x: np.ndarray) -> tuple[np.ndarray, list]:
    """ReLU layers; returns the output and each layer's input, for backprop."""
    inputs = []
    for name in names:
        inputs.append(x)
        x = np.maximum(x @ params[f"{name}/kernel"] + params[f"{name}/bias"], 0.0)
    return x, inputs


def _mlp_backward(params: Params, names: list[str], inputs: list, output: np.ndarray,
                  grad: np.ndarray, grads: Params) -> np.ndarray:
    """Backprop ``grad`` (w.r.t. ``output``) through the ReLU layers; returns d/d(input)."""
    for name, x in zip(reversed(names), reversed(inputs), strict=True):
        grad = grad * (output > 0)
        grads[f"{name}/kernel"] = x.T @ grad
        grads[f"{name}/bias"] = grad.sum(axis=0)
        grad = grad @ params[f"{name}/kernel"].T
        output = x
    return grad


def encode(params: Params, encoder: list[str], x: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """(μ, σ) of the small z for each base latent vector in ``x``."""
    hidden, _ = _mlp(params, encoder, x)
    mu = hidden @ params[f"{MU}/kernel"] + params[f"{MU}/bias"]
    pre = hidden @ params[f"{SIGMA}/kernel"] + params[f"{SIGMA}/bias"]
    return mu, softplus(pre) + SIGMA_FLOOR


def decode(params: Params, decoder: list[str], z: np.ndarray) -> np.ndarray:
    """Base-model latent vectors for small z's."""
    hidden, _ = _mlp(params, decoder, z)
    return hidden @ params[f"{OUTPUT}/kernel"] + params[f"{OUTPUT}/bias"]


@dataclass(frozen=True)
class Loss:
    total: float
    reconstruction: float
    kl: float


def loss_and_grads(params: Params, encoder: list[str], decoder: list[str], x: np.ndarray,
                   noise: np.ndarray, beta: float) -> tuple[Loss, Params]:
    """The loss for a batch ``x`` with reparameterisation noise ``noise`` (batch, latent),
    and its gradient w.r.t. every parameter."""
    batch = x.shape[0]
    hidden, enc_inputs = _mlp(params, encoder, x)
    mu = hidden @ params[f"{MU}/kernel"] + params[f"{MU}/bias"]
    pre = hidden @ params[f"{SIGMA}/kernel"] + params[f"{SIGMA}/bias"]
    sigma = softplus(pre) + SIGMA_FLOOR
    z = mu + sigma * noise
    dec_hidden, dec_inputs = _mlp(params, decoder, z)
    y = dec_hidden @ params[f"{OUTPUT}/kernel"] + params[f"{OUTPUT}/bias"]

    error = y - x
    reconstruction = 0.5 * float(np.sum(error * error)) / batch
    kl = -0.5 * float(np.sum(1.0 + 2.0 * np.log(sigma) - mu * mu - sigma * sigma)) / batch

    grads: Params = {}
    d_y = error / batch
    grads[f"{OUTPUT}/kernel"] = dec_hidden.T @ d_y
    grads[f"{OUTPUT}/bias"] = d_y.sum(axis=0)
    d_z = _mlp_backward(params, decoder, dec_inputs, dec_hidden,
                        d_y @ params[f"{OUTPUT}/kernel"].T, grads)
    d_mu = d_z + (beta / batch) * mu
    d_sigma = d_z * noise + (beta / batch) * (sigma - 1.0 / sigma)
    d_pre = d_sigma * sigmoid(pre)
    grads[f"{MU}/kernel"] = hidden.T @ d_mu
    grads[f"{MU}/bias"] = d_mu.sum(axis=0)
    grads[f"{SIGMA}/kernel"] = hidden.T @ d_pre
    grads[f"{SIGMA}/bias"] = d_pre.sum(axis=0)
    d_hidden = d_mu @ params[f"{MU}/kernel"].T + d_pre @ params[f"{SIGMA}/kernel"].T
    _mlp_backward(params, encoder, enc_inputs, hidden, d_hidden, grads)
    return Loss(reconstruction + beta * kl, reconstruction, kl), grads


class Adam:
    """Adam with bias correction; TensorFlow's defaults (β1 0.9, β2 0.999, ε 1e-7)."""

    def __init__(self, params: Params, learning_rate: float, beta1: float = 0.9,
                 beta2: float = 0.999, epsilon: float = 1e-7):
        self.learning_rate, self.beta1, self.beta2, self.epsilon = (
            learning_rate, beta1, beta2, epsilon)
        self.m = {name: np.zeros_like(value) for name, value in params.items()}
        self.v = {name: np.zeros_like(value) for name, value in params.items()}
        self.step = 0

    def update(self, params: Params, grads: Params) -> None:
        """Moves ``params`` in place (training owns its copy; nothing else sees them)."""
        self.step += 1
        # the bias corrections folded into one step size, as in the Adam paper's §2
        rate = self.learning_rate * np.sqrt(1 - self.beta2 ** self.step) / (
            1 - self.beta1 ** self.step)
        for name, grad in grads.items():
            m, v = self.m[name], self.v[name]
            m *= self.beta1
            m += (1 - self.beta1) * grad
            v *= self.beta2
            v += (1 - self.beta2) * grad * grad
            params[name] -= (rate * m / (np.sqrt(v) + self.epsilon)).astype(m.dtype, copy=False)
