"""Fine-tuning on a handful of files: the defaults, stated once, and the too-few check.

A fine-tune (``latentjam train --init-from``) on fifteen songs is a different job from
training on a corpus: a few hundred windows, learnt by heart within a few hundred steps.
``FINE_TUNE`` holds what ``train`` uses then unless a flag says otherwise; every value was
chosen by measurement on the band set (docs in ``FineTuneDefaults``), and ``describe``
is the line printed at the start of such a run. No TensorFlow here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from latentjam.models.configs import MEL_PROGRAMS, ModelConfig
from latentjam.models.errors import InputError

BASS_PROGRAMS = tuple(range(32, 40))
# every General MIDI program but the basses: a band's lead is often a voice, sax, brass or
# synth lead, which Magenta's melody converter (programs 0-31) never reads
LEAD_PROGRAMS = tuple(p for p in range(128) if p not in BASS_PROGRAMS)


@dataclass(frozen=True)
class FineTuneDefaults:
    """What a fine-tune uses unless told otherwise.

    Measured on the band set (14 openly licensed songs, 4 held out by piece), fine-tuning
    ``mel_2bar_chorales``; the score is the held-out greedy reconstruction accuracy, base
    0.609: these defaults 0.645 (best after 400 steps, 2 min on 2 cores); learning rate
    0.001 0.642 (peaks after 150 steps, overfits sooner); the base's scheduled sampling
    0.638 and thinner samples (8 notes per 2-bar loop at temperature 0.3, against 10-11);
    no transposition 0.625; KL weight 0.5 instead of the base's 0.2: 0.634.
    """

    # constant (decay_rate 1): the config's schedule continues from the base's global step,
    # where 0.001 has decayed to ~1.4e-4 after 20,000 steps, so the same flag meant a
    # different rate for every base model
    learning_rate: float = 3e-4
    decay_rate: float = 1.0
    # teacher forcing: at the base's step the inverse-sigmoid schedule feeds back the model's
    # own samples ~100 % of the time, and on unfamiliar songs those draws are mostly wrong
    # (training accuracy 0.36 at the first step)
    sampling_schedule: str = "constant"
    sampling_rate: float = 0.0
    max_steps: int = 2000  # an upper bound: the best came after 50-400 steps every time
    checkpoint_every: int = 50  # steps between held-out evaluations (about 10 s of training)
    patience: int = 6  # evaluations (300 steps) without a better held-out score: stop
    transpose: tuple[int, int] = (-5, 6)  # semitones, per window, pitched parts only
    # Magenta's programs 0-31 gave 591 windows from 7 of the 14 songs, these 1,365 from 13
    melody_programs: tuple[int, ...] = LEAD_PROGRAMS
    # 35 training windows never beat the base (its score fell from the first evaluation),
    # 97 beat it by 0.009 once, 931 by 0.036
    min_windows: int = 100

    def hparams(self) -> dict[str, Any]:
        """The hyper-parameter overrides these defaults stand for."""
        return {"learning_rate": self.learning_rate, "decay_rate": self.decay_rate,
                "sampling_schedule": self.sampling_schedule,
                "sampling_rate": self.sampling_rate}

    def describe(self) -> str:
        low, high = self.transpose
        return (f"fine-tune defaults for small data: learning rate {self.learning_rate:g} "
                f"(constant), teacher forcing, KL weight and free bits of the base model, at "
                f"most {self.max_steps} steps, a held-out evaluation every "
                f"{self.checkpoint_every} steps and a stop after {self.patience} without a "
                f"better one (kept as best only if its samples are not thinner than the "
                f"base's), transposition {low:+d}..{high:+d} semitones (pitched parts), "
                f"melodies from every program but the basses; a flag overrides each")


FINE_TUNE = FineTuneDefaults()


def parse_transpose(text: str) -> tuple[int, int] | None:
    """``-5:6`` -> (-5, 6); ``off``, ``none`` or ``0`` -> None (no transposition)."""
    text = text.strip().lower()
    if text in ("off", "none", "0", "0:0"):
        return None
    low, sep, high = text.partition(":")
    try:
        if not sep:
            amount = abs(int(text))
            return -amount, amount
        bounds = int(low), int(high)
    except ValueError:
        raise InputError(f"--transpose: expected LOW:HIGH semitones (e.g. -5:6) or off, "
                         f"got {text!r}") from None
    if bounds[0] > bounds[1]:
        raise InputError(f"--transpose {text}: the lowest shift comes first")
    if max(abs(bounds[0]), abs(bounds[1])) > 24:
        raise InputError(f"--transpose {text}: at most two octaves either way")
    return bounds


def parse_programs(text: str) -> tuple[int, ...] | None:
    """``magenta`` (0-31, Magenta's), ``leads`` (all but the basses 32-39), ``all``, or a
    list of programs and ranges (``0-31,40-95``)."""
    text = text.strip().lower()
    if text == "magenta":
        return MEL_PROGRAMS
    if text == "leads":
        return LEAD_PROGRAMS
    if text == "all":  # `personalize --any-program`'s choice: bass lines too
        return tuple(range(128))
    programs: set[int] = set()
    try:
        for item in filter(None, (part.strip() for part in text.split(","))):
            low, sep, high = item.partition("-")
            programs.update(range(int(low), int(high) + 1) if sep else (int(low),))
    except ValueError:
        raise InputError(f"--melody-programs: expected magenta, leads or a list like "
                         f"0-31,40-95, got {text!r}") from None
    if not programs or min(programs) < 0 or max(programs) > 127:
        raise InputError(f"--melody-programs {text}: programs lie in 0-127")
    return tuple(sorted(programs))


def too_few_windows(windows: int, minimum: int) -> str | None:
    """The one line that says a fine-tune has too little to learn from, or None."""
    if windows >= minimum:
        return None
    return (f"only {windows} training windows (a full fine-tune wants {minimum} or more: "
            f"it learns so few by heart); `latentjam personalize MIDI_FOLDER --out "
            f"band.midime` (MidiMe, seconds, made for a handful of files) suits this better")


def with_melody_programs(config: ModelConfig, programs: tuple[int, ...] | None) -> ModelConfig:
    """``config`` reading melodies from ``programs`` (None: its own). Only a melody
    converter has such a list: a trio's parts are told apart by program family."""
    if programs is None or config.converter.kind != "melody":
        return config
    return dataclasses.replace(config, converter=dataclasses.replace(
        config.converter, valid_programs=tuple(programs)))
