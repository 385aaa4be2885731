"""What a caller asks a model for and what it gets back: the service's vocabulary.

Requests are small frozen dataclasses, checked where they are made (in the engine's process),
so a bad value fails at once with a message naming it rather than in the worker. Every latent
move is named here and planned on the models' side (``answer``): a fresh sample, a walk, a
point on the way between two loops, a mix of four (a blend), a decode of given vectors, an
encode of classes or of notes. A result holds the latent vectors ``z`` ``[n, z_size]``, the
decoded classes ``[n, steps]`` (a trio: ``[n, steps, 3]``) and each window as notes on the
step grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from latentjam.models.configs import ModelConfig
from latentjam.models.errors import InputError

MAX_COUNT = 64  # most windows one request may ask for
MAX_TEMPERATURE = 2.0  # hotter than this the decoder's softmax is noise
MAX_NOTES = 4096  # most notes one loop to encode may hold


def check_temperature(value: object) -> float:
    """The decoder's softmax temperature: 0 takes the likeliest class, up to MAX_TEMPERATURE."""
    return _fraction("temperature", value, MAX_TEMPERATURE)


def _fraction(name: str, value: object, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or not 0 <= value <= high:
        raise InputError(f"{name} must be a number in 0..{high:g}, got {value!r}")
    return float(value)


def _check_seed(value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or value < 0):
        raise InputError(f"seed must be None or an int >= 0, got {value!r}")


def _check_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COUNT:
        raise InputError(f"{name} must be an int in 1..{MAX_COUNT}, got {value!r}")


def _latent(name: str, value: object, batch: bool = False) -> np.ndarray:
    array = np.array(value, dtype=np.float32)  # a private copy: the caller may reuse theirs
    shapes_ok = array.ndim == 1 or (batch and array.ndim == 2)
    if not shapes_ok or array.shape[-1] < 1 or array.size == 0:
        raise InputError(f"{name} must be one latent vector{' (or a batch)' if batch else ''}"
                         f", got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise InputError(f"{name} holds NaN or infinite values")
    array.flags.writeable = False
    return array


def _common(request: object) -> None:
    object.__setattr__(request, "temperature", check_temperature(request.temperature))
    _check_seed(request.seed)


@dataclass(frozen=True, eq=False)
class SampleRequest:
    """``count`` windows drawn from the prior, decoded. With ``walk_step`` the windows after
    the first walk on from it by that step (one longer loop that hangs together); without,
    each is a draw of its own."""

    temperature: float = 0.5  # 0 takes the likeliest class at each step; higher is wilder
    seed: int | None = None  # same seed, same answer; None draws from the OS
    count: int = 1
    walk_step: float | None = None

    def __post_init__(self) -> None:
        _common(self)
        _check_count("count", self.count)
        if self.walk_step is not None:
            object.__setattr__(self, "walk_step", _fraction("walk_step", self.walk_step))


@dataclass(frozen=True, eq=False)
class WalkRequest:
    """``count`` successive steps of a random walk from ``z``, each decoded."""

    z: np.ndarray  # [z_size] where the walk stands
    step_size: float  # 0..1: 0 stays, 1 is a fresh sample (models.inference.latent.walk)
    temperature: float = 0.0
    seed: int | None = None
    count: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "z", _latent("z", self.z))
        object.__setattr__(self, "step_size", _fraction("step_size", self.step_size))
        _common(self)
        _check_count("count", self.count)


@dataclass(frozen=True, eq=False)
class InterpolateRequest:
    """Points at ``fractions`` of the great circle from ``z_start`` to ``z_end``, decoded.

    The ends may be loops of several windows (``[k, z_size]``): for each fraction come
    ``windows`` vectors, window i between the ends' windows i (each end's windows repeat
    when it has fewer)."""

    z_start: np.ndarray  # [z_size] or [k, z_size]
    z_end: np.ndarray
    fractions: tuple[float, ...]  # each 0..1: 0 is z_start, 1 is z_end
    temperature: float = 0.0
    seed: int | None = None
    windows: int = 1

    def __post_init__(self) -> None:
        start = _latent("z_start", self.z_start, batch=True)
        end = _latent("z_end", self.z_end, batch=True)
        if start.shape[-1] != end.shape[-1]:
            raise InputError(f"z_start and z_end differ in shape: {start.shape} and "
                             f"{end.shape}")
        fractions = tuple(self.fractions) if isinstance(self.fractions, list | tuple) else ()
        _check_count("windows", self.windows)
        if not 1 <= len(fractions) * self.windows <= MAX_COUNT:
            raise InputError(f"fractions must be 1..{MAX_COUNT // self.windows} numbers in "
                             f"0..1, got {self.fractions!r}")
        object.__setattr__(self, "z_start", start)
        object.__setattr__(self, "z_end", end)
        object.__setattr__(self, "fractions", tuple(_fraction("fraction", f) for f in fractions))
        _common(self)


@dataclass(frozen=True, eq=False)
class BlendRequest:
    """The decode of the bilinear mix of four corner loops' latent vectors at ``point``
    (Magenta's Beat Blender): corner 0 at (0, 0), 1 at (1, 0), 2 at (0, 1), 3 at (1, 1).

    A corner may be a loop of several windows (``[k, z_size]``): window i of the answer mixes
    the corners' windows i (each corner's windows repeat when it has fewer)."""

    corners: tuple[np.ndarray, ...]  # four of [z_size] or [k, z_size]
    point: tuple[float, float]  # (x, y), each 0..1
    temperature: float = 0.0
    seed: int | None = None
    windows: int = 1

    def __post_init__(self) -> None:
        corners = tuple(self.corners) if isinstance(self.corners, list | tuple) else ()
        if len(corners) != 4:
            raise InputError(f"a blend takes four corners, got {len(corners)}")
        corners = tuple(_latent(f"corner {i}", c, batch=True) for i, c in enumerate(corners))
        if len({c.shape[-1] for c in corners}) > 1:
            raise InputError(f"the corners differ in latent size: "
                             f"{', '.join(str(c.shape[-1]) for c in corners)}")
        point = tuple(self.point) if isinstance(self.point, list | tuple) else ()
        if len(point) != 2:
            raise InputError(f"a blend point is (x, y), got {self.point!r}")
        _check_count("windows", self.windows)
        object.__setattr__(self, "corners", corners)
        object.__setattr__(self, "point", tuple(_fraction(name, v)
                                                for name, v in zip("xy", point, strict=True)))
        _common(self)


@dataclass(frozen=True, eq=False)
class DecodeRequest:
    """The decode of given latent vectors."""

    z: np.ndarray  # [z_size] or [n, z_size]
    temperature: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "z", _latent("z", self.z, batch=True))
        if self.z.ndim == 2 and not 1 <= self.z.shape[0] <= MAX_COUNT:
            raise InputError(f"decode takes 1..{MAX_COUNT} latent vectors, got "
                             f"{self.z.shape[0]}")
        _common(self)


@dataclass(frozen=True, eq=False)
class EncodeRequest:
    """The latent vector (the encoder's mean, deterministic) of one window of classes."""

    classes: np.ndarray  # [steps] or, for a trio, [steps, 3]

    def __post_init__(self) -> None:
        classes = np.array(self.classes)
        if classes.ndim not in (1, 2) or classes.shape[0] < 1 \
                or not np.issubdtype(classes.dtype, np.integer):
            raise InputError(f"classes must be integers shaped [steps] or [steps, parts], "
                             f"got {classes.dtype} {classes.shape}")
        classes = classes.astype(np.int64)
        classes.flags.writeable = False
        object.__setattr__(self, "classes", classes)


@dataclass(frozen=True, slots=True)
class StepNote:
    """One note on the model's step grid (16th notes for the melody, drum and trio configs,
    24 steps a beat for the multi-instrument ones)."""

    part: str  # models.parts: melody, bass, drums, instrument1..8
    pitch: int
    velocity: int
    start_step: int
    end_step: int  # > start_step
    is_drum: bool = False
    program: int = 0  # the General MIDI program (0-127) the model gave the note's part


@dataclass(frozen=True)
class StepLoop:
    """One window (or a played loop) as notes on the step grid."""

    notes: tuple[StepNote, ...]
    steps: int


@dataclass(frozen=True, eq=False)
class EncodeNotesRequest:
    """The latent vector of the first window of a loop played in (a recording)."""

    loop: StepLoop

    def __post_init__(self) -> None:
        loop = self.loop
        if not isinstance(loop, StepLoop) or not len(loop.notes) <= MAX_NOTES \
                or not all(0 <= n.start_step < n.end_step <= loop.steps for n in loop.notes):
            raise InputError(f"a loop to encode holds at most {MAX_NOTES} notes, each inside its "
                             f"steps")


@dataclass(frozen=True, eq=False)
class HumanizeRequest:
    """How a groove model (GrooVAE) plays a drum loop on the grid: each of its notes' velocity
    and timing (``ModelResult.played``; its ``classes`` are the decoded rows ``[n, window,
    27]``). The loop's windows are encoded and decoded (a loop that does not fill its last
    window is repeated to fill it)."""

    loop: StepLoop
    temperature: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        EncodeNotesRequest(self.loop)  # the same checks
        _common(self)


ModelRequest = (SampleRequest | WalkRequest | InterpolateRequest | BlendRequest | DecodeRequest
                | EncodeRequest | EncodeNotesRequest | HumanizeRequest)


@dataclass(frozen=True, eq=False)
class ModelResult:
    z: np.ndarray  # [n, z_size] float32
    classes: np.ndarray  # [n, steps] int64, or [n, steps, 3] for a trio
    loops: tuple[StepLoop, ...] = ()  # each decoded window as notes (none for an encode)
    compute_s: float = 0.0  # the worker's time on it (perf_counter), for logs and benchmarks
    # a HumanizeRequest's answer: per note of its loop, in order, (velocity 1..127, timing in
    # steps: negative ahead of the grid, -0.5..0.5)
    played: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True)
class ModelInfo:
    """What a caller needs to know of a loaded model."""

    config: ModelConfig  # passed back to the service's clip reader; callers need not read it
    source: str  # what was loaded, for messages
    z_size: int
    window_steps: int  # steps of one decoded window
    load_s: float = 0.0  # the worker's time to load it (s)

    @property
    def kind(self) -> str:
        """melody, drums or trio."""
        return self.config.converter.kind

    @property
    def steps_per_quarter(self) -> int:
        return self.config.converter.steps_per_quarter

    @property
    def window_bars(self) -> int:
        """Bars of one decoded window."""
        return self.config.converter.slice_bars
