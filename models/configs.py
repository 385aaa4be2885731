"""Named MusicVAE configs as data, and configs read from hyper-parameter files.

The names, hyper-parameters and converter settings follow Magenta's
``music_vae/configs.py`` so that a Magenta checkpoint trained with a named config loads
here under the same name. A config can also come from a JSON or TOML file that names a
base config and overrides hyper-parameters (the tiny trio fixture's ``config.json`` is
such a file), and is stored in the metadata of our own checkpoints.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from latentjam.models.errors import ConfigError

STEPS_PER_BAR = 16  # 4/4 at 4 steps per quarter: every config here uses that grid
MELODY_CLASSES = 90  # 0 = no event (hold), 1 = note off, 2..89 = MIDI 21..108
DRUM_CLASSES = 9  # kick, snare, closed hh, open hh, low/mid/high tom, crash, ride
DRUM_OUTPUT_CLASSES = 2**DRUM_CLASSES  # one class per combination of drum classes
MEL_PROGRAMS = tuple(range(32))  # piano, chromatic perc., organ, guitar (Magenta's set)
# hier-multiperf: 128 note-ons + 128 note-offs + 96 time shifts (1/24 quarter each, up to a
# bar) + 8 velocity bins, then 128 program tokens, a drum token and an end token
MULTIPERF_CLASSES = 128 + 128 + 96 + 8 + 128 + 1 + 1
GROOVE_DEPTH = 3 * DRUM_CLASSES  # GrooVAE: per drum class a hit, a velocity, an offset


@dataclass(frozen=True)
class HParams:
    """Magenta's hyper-parameters (``lstm_models.get_default_hparams`` plus a config's)."""

    max_seq_len: int = 32  # steps in one example (2 bars of 16 steps)
    z_size: int = 256  # size of the latent vector
    enc_rnn_size: tuple[int, ...] = (512,)  # units per bidirectional encoder layer
    dec_rnn_size: tuple[int, ...] = (256, 256)  # units per decoder LSTM layer
    free_bits: float = 0.0  # nats of KL not penalised
    max_beta: float = 1.0  # final weight of the KL term
    beta_rate: float = 0.0  # beta = (1 - beta_rate**step) * max_beta; 0 means constant
    batch_size: int = 512
    grad_clip: float = 1.0  # global-norm clip
    clip_mode: str = "global_norm"
    grad_norm_clip_to_zero: float = 10000.0  # gradients above this norm are zeroed
    learning_rate: float = 0.001  # initial; decays exponentially per step
    decay_rate: float = 0.9999
    min_learning_rate: float = 0.00001
    conditional: bool = True
    dropout_keep_prob: float = 1.0
    sampling_schedule: str = "constant"  # constant | exponential | inverse_sigmoid
    sampling_rate: float = 0.0
    use_cudnn: bool = False
    residual_encoder: bool = False
    residual_decoder: bool = False
    control_preprocessing_rnn_size: tuple[int, ...] = (256,)


@dataclass(frozen=True)
class ConverterConfig:
    """How pieces become examples (Magenta's data converters)."""

    kind: str  # "melody" | "drums" | "trio" | "multiperf" | "groove"
    slice_bars: int  # bars per example window
    steps_per_quarter: int = 4
    max_bars: int | None = 100  # melody, drums: truncate long pieces before slicing
    gap_bars: int | None = None  # trio: bars of silence that split a piece
    valid_programs: tuple[int, ...] | None = None  # melody: programs a melody may use
    skip_polyphony: bool = False  # melody: drop polyphonic tracks instead of taking top notes
    min_pitch: int = 21  # melody and bass pitch range (MIDI); multiperf: notes allowed
    max_pitch: int = 108
    num_velocity_bins: int = 0  # multiperf: velocity bins of the performance events
    max_instruments: int = 8  # multiperf: instruments in one example, at most
    min_instruments: int = 2  # multiperf: fewer, and training skips the bar
    max_events_per_instrument: int = 64  # multiperf: tokens, program and end token included
    min_total_events: int = 8  # multiperf: fewer events in all, and training skips the bar
    humanize: bool = False  # groove: the encoder reads hits only (no velocity, no offset)
    tapify: bool = False  # groove: the encoder reads each step's loudest hit, one class
    fixed_velocities: bool = False  # groove: the encoder reads no velocities

    @property
    def steps_per_bar(self) -> int:
        return self.steps_per_quarter * 4

    @property
    def window_steps(self) -> int:
        return self.slice_bars * self.steps_per_bar


@dataclass(frozen=True)
class ModelConfig:
    """A whole MusicVAE: hyper-parameters, decoder structure and data converter."""

    name: str
    hparams: HParams
    converter: ConverterConfig
    # "categorical" (flat) | "hierarchical" | "groove" (flat; hits, velocities and offsets)
    decoder: str = "categorical"
    output_depths: tuple[int, ...] = (MELODY_CLASSES,)  # one per part (trio: 90, 90, 512)
    level_lengths: tuple[int, ...] = ()  # hierarchical: (conductor steps, steps per bar)
    # a hierarchical encoder's level lengths, lowest first (multiperf: 64 events per
    # instrument, then 8 instruments); () for the one flat bidirectional encoder
    encoder_level_lengths: tuple[int, ...] = ()
    transpose_range: tuple[int, int] | None = None  # training-time augmentation (semitones)
    base_config: str | None = None  # the named config this one overrides

    @property
    def output_depth(self) -> int:
        return sum(self.output_depths)

    @property
    def input_depth(self) -> int:
        """Width of the encoder's input rows (drums read a 10-wide multi-hot roll)."""
        if self.converter.kind == "drums":
            return DRUM_CLASSES + 1
        return self.output_depth

    @property
    def is_hierarchical(self) -> bool:
        return self.decoder == "hierarchical"

    @property
    def is_groove(self) -> bool:
        """Continuous outputs (GrooVAE): decodes are rows of floats, not classes."""
        return self.decoder == "groove"


def _named(name: str, hparams: dict[str, Any], converter: ConverterConfig,
           **model: Any) -> ModelConfig:
    return ModelConfig(name=name, hparams=HParams(**hparams), converter=converter, **model)


_MEL_2BAR = ConverterConfig(kind="melody", slice_bars=2, max_bars=100, valid_programs=MEL_PROGRAMS)
_DRUMS_2BAR = ConverterConfig(kind="drums", slice_bars=2, max_bars=100)
_TRIO_16BAR = ConverterConfig(kind="trio", slice_bars=16, max_bars=None, gap_bars=2)
_TRIO_PARTS = (MELODY_CLASSES, MELODY_CLASSES, DRUM_OUTPUT_CLASSES)
_SCHEDULED = {"sampling_schedule": "inverse_sigmoid", "sampling_rate": 1000}
# MultiInstrumentPerformanceConverter(num_velocity_bins=8, hop_size_bars=1,
# max_num_instruments=8, max_events_per_instrument=64) with Magenta's other defaults
_MULTIPERF_1BAR = ConverterConfig(kind="multiperf", slice_bars=1, steps_per_quarter=24,
                                  max_bars=None, min_pitch=0, max_pitch=127,
                                  num_velocity_bins=8, max_instruments=8,
                                  max_events_per_instrument=64)
_MULTIPERF_MODEL = dict(
    decoder="hierarchical",
    output_depths=(MULTIPERF_CLASSES,),
    level_lengths=(8, 64),  # 8 instruments, 64 tokens each
    encoder_level_lengths=(64, 8),
    transpose_range=(-3, 3),
)
# GrooveConverter(split_bars=..., steps_per_quarter=4, quarters_per_bar=4, Roland pitch
# classes for training, note-seq's drum map for inference); max_tensors_per_notesequence
# (20) does not apply: Magenta's groove converter returns every window.
_GROOVE_2BAR = ConverterConfig(kind="groove", slice_bars=2, max_bars=None)
_GROOVE = dict(batch_size=512, z_size=256, enc_rnn_size=(512,), dec_rnn_size=(256, 256),
               max_beta=0.2, free_bits=48, dropout_keep_prob=0.3)
_GROOVE_MODEL = dict(decoder="groove", output_depths=(GROOVE_DEPTH,))

CONFIGS: dict[str, ModelConfig] = {
    c.name: c
    for c in (
        _named(
            "cat-mel_2bar_small",
            dict(batch_size=512, max_seq_len=32, z_size=256, enc_rnn_size=(512,),
                 dec_rnn_size=(256, 256), free_bits=0, max_beta=0.2, beta_rate=0.99999,
                 **_SCHEDULED),
            _MEL_2BAR,
            transpose_range=(-5, 5),
        ),
        _named(
            "cat-mel_2bar_big",
            dict(batch_size=512, max_seq_len=32, z_size=512, enc_rnn_size=(2048,),
                 dec_rnn_size=(2048, 2048, 2048), free_bits=0, max_beta=0.5,
                 beta_rate=0.99999, **_SCHEDULED),
            _MEL_2BAR,
            transpose_range=(-5, 5),
        ),
        _named(
            "cat-drums_2bar_small",
            dict(batch_size=512, max_seq_len=32, z_size=256, enc_rnn_size=(512,),
                 dec_rnn_size=(256, 256), free_bits=48, max_beta=0.2, **_SCHEDULED),
            _DRUMS_2BAR,
            output_depths=(DRUM_OUTPUT_CLASSES,),
        ),
        _named(
            "cat-drums_2bar_big",
            dict(batch_size=512, max_seq_len=32, z_size=512, enc_rnn_size=(2048,),
                 dec_rnn_size=(2048, 2048, 2048), free_bits=48, max_beta=0.2, **_SCHEDULED),
            _DRUMS_2BAR,
            output_depths=(DRUM_OUTPUT_CLASSES,),
        ),
        _named(
            "hierdec-trio_16bar",
            dict(batch_size=256, max_seq_len=256, z_size=512, enc_rnn_size=(2048, 2048),
                 dec_rnn_size=(1024, 1024), free_bits=256, max_beta=0.2),
            _TRIO_16BAR,
            decoder="hierarchical",
            output_depths=_TRIO_PARTS,
            level_lengths=(16, 16),  # 16 bars, 16 steps each
        ),
        _named(
            "hier-multiperf_vel_1bar_med",
            dict(batch_size=256, max_seq_len=512, z_size=512, enc_rnn_size=(1024,),
                 dec_rnn_size=(512, 512, 512)),
            _MULTIPERF_1BAR,
            **_MULTIPERF_MODEL,
        ),
        _named(
            "hier-multiperf_vel_1bar_big",
            dict(batch_size=256, max_seq_len=512, z_size=512, enc_rnn_size=(2048,),
                 dec_rnn_size=(1024, 1024, 1024)),
            _MULTIPERF_1BAR,
            **_MULTIPERF_MODEL,
        ),
        _named(
            "groovae_2bar_humanize",
            dict(max_seq_len=16 * 2, **_GROOVE),  # 2 bars of 16 steps
            dataclasses.replace(_GROOVE_2BAR, humanize=True),
            **_GROOVE_MODEL,
        ),
        _named(
            "groovae_2bar_tap_fixed_velocity",
            dict(max_seq_len=16 * 2, **_GROOVE),
            dataclasses.replace(_GROOVE_2BAR, tapify=True, fixed_velocities=True),
            **_GROOVE_MODEL,
        ),
        _named(
            "groovae_4bar",
            dict(max_seq_len=16 * 4, **_GROOVE),  # 4 bars of 16 steps
            dataclasses.replace(_GROOVE_2BAR, slice_bars=4),
            **_GROOVE_MODEL,
        ),
    )
}


def config_names() -> list[str]:
    return sorted(CONFIGS)


def get_config(name: str) -> ModelConfig:
    """The named config; a ConfigError lists the known names otherwise."""
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(
            f"unknown config {name!r}; known configs: {', '.join(config_names())}"
        ) from None


_TUPLE_FIELDS = {f.name for f in dataclasses.fields(HParams) if "tuple" in str(f.type)}
_HPARAM_FIELDS = {f.name: f for f in dataclasses.fields(HParams)}


def any_program(config: ModelConfig) -> ModelConfig:
    """``config`` reading melodies from every program. A user's clip (an anchor, a loop
    played in, a file to encode) is the melody they chose, whatever instrument plays it;
    only training data keep Magenta's melody programs (0-31)."""
    if config.converter.valid_programs is None:
        return config
    converter = dataclasses.replace(config.converter, valid_programs=None)
    return dataclasses.replace(config, converter=converter)


def override_hparams(config: ModelConfig, overrides: dict[str, Any], name: str | None = None,
                     source: str = "overrides") -> ModelConfig:
    """``config`` with hyper-parameters replaced; unknown keys and wrong types are errors."""
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in _HPARAM_FIELDS:
            raise ConfigError(f"{source}: unknown hyper-parameter {key!r}")
        default = getattr(config.hparams, key)
        if key in _TUPLE_FIELDS:
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, int) for v in value):
                raise ConfigError(f"{source}: {key} must be a list of integers, got {value!r}")
            value = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{source}: {key} must be true or false, got {value!r}")
        elif isinstance(default, (int, float)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{source}: {key} must be a number, got {value!r}")
            value = type(default)(value) if isinstance(default, float) else value
        elif not isinstance(value, type(default)):
            raise ConfigError(f"{source}: {key} must be a {type(default).__name__}, got {value!r}")
        changes[key] = value
    hparams = dataclasses.replace(config.hparams, **changes)
    if config.is_hierarchical and hparams.max_seq_len != _product(config.level_lengths):
        raise ConfigError(
            f"{source}: max_seq_len {hparams.max_seq_len} must equal the product of the "
            f"level lengths {list(config.level_lengths)}"
        )
    return dataclasses.replace(
        config,
        name=name or config.name,
        hparams=hparams,
        base_config=config.base_config or (config.name if name and name != config.name else None),
    )


def _product(values: tuple[int, ...]) -> int:
    out = 1
    for v in values:
        out *= v
    return out


def config_from_dict(data: dict[str, Any], source: str = "config") -> ModelConfig:
    """A config from a dict naming a base config and hyper-parameters.

    Accepted shapes: ``{"config_name", "model": {"base_config", "hparam_overrides"},
    "hparams"}`` (the Magenta fixture's ``config.json``) and ``{"name", "base_config",
    "hparams"}`` (ours). Full ``hparams`` listings are applied on top of the base.
    """
    model = data.get("model") if isinstance(data.get("model"), dict) else {}
    base_name = data.get("base_config") or model.get("base_config")
    name = data.get("name") or data.get("config_name") or base_name
    if not base_name:
        if name in CONFIGS:
            base_name = name
        else:
            known = ", ".join(config_names())
            raise ConfigError(f"{source}: no 'base_config' naming one of {known}")
    if not isinstance(base_name, str):
        raise ConfigError(f"{source}: base_config must be a config name, got {base_name!r}")
    try:
        base = get_config(base_name)
    except ConfigError as err:
        raise ConfigError(f"{source}: {err}") from None
    overrides: dict[str, Any] = {}
    for key in ("hparam_overrides",):
        if isinstance(model.get(key), dict):
            overrides.update(model[key])
    hparams = data.get("hparams", {})
    if not isinstance(hparams, dict):
        raise ConfigError(f"{source}: 'hparams' must be a table of hyper-parameters")
    overrides.update(hparams)
    return override_hparams(base, overrides, name=name, source=source)


def load_config(name_or_path: str | Path) -> ModelConfig:
    """A named config, or one read from a ``.json`` or ``.toml`` hyper-parameter file."""
    text = str(name_or_path)
    if text in CONFIGS:
        return CONFIGS[text]
    path = Path(text)
    if not path.is_file():
        raise ConfigError(
            f"{text!r} is neither a config name ({', '.join(config_names())}) nor a file"
        )
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(path.read_text())
        else:
            data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path}: cannot read config: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file holds a table, not {type(data).__name__}")
    return config_from_dict(data, source=str(path))


def config_to_dict(config: ModelConfig) -> dict[str, Any]:
    """What our checkpoints store: enough to rebuild the config with ``config_from_dict``."""
    base = config.base_config or config.name
    return {
        "name": config.name,
        "base_config": base,
        "hparams": {k: list(v) if isinstance(v, tuple) else v
                    for k, v in dataclasses.asdict(config.hparams).items()},
    }


__all__ = [
    "CONFIGS", "ConverterConfig", "HParams", "ModelConfig", "any_program", "config_from_dict",
    "config_names",
    "config_to_dict", "get_config", "load_config", "override_hparams",
]
