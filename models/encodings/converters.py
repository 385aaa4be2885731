"""The converter API: NoteSequence <-> per-step class indices, and the one-hot views of them.

Every converter (melody, drums, trio) turns a piece into example windows of class indices
exactly as Magenta's data converter of the same config does, and turns decoded classes back
into a NoteSequence as Magenta's ``from_tensors`` does. Differences, on purpose:

* Magenta keeps at most 5 windows per piece (``max_tensors_per_notesequence``), sampling
  them at random in training and taking an arbitrary 5 otherwise; we return every window,
  in order of where it starts in the piece, and leave sampling to the caller.
* ``skipped`` counts why material was dropped, which Magenta only logs as statistics.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np
from latentjam.models.configs import ConverterConfig
from latentjam.models.encodings.quantize import (
    QuantizedSequence,
    QuantizeError,
    quantize,
    split_on_time_changes,
)
from latentjam.models.errors import ConfigError
from latentjam.models.notesequence import NoteSequence

if TYPE_CHECKING:
    from latentjam.models.configs import ModelConfig

OUTPUT_VELOCITY = 80  # velocity of every decoded note (Magenta's OUTPUT_VELOCITY)


@dataclass(frozen=True)
class Extraction:
    """What a converter found in a piece."""

    examples: list[np.ndarray]  # int64 class indices per window: melody/drums [T]; trio [T, 3]
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count
    kept: dict[str, int] = field(default_factory=dict)  # windows training would skip, by reason


class Converter(Protocol):
    config: ConverterConfig

    def to_examples(self, ns: NoteSequence, training: bool = True) -> Extraction:
        """``training``: Magenta's filters for training data (gaps split a piece, windows
        with a silent part or repeated are dropped); off, a user's clip is taken as it is."""
        ...

    def to_sequence(self, classes: np.ndarray, qpm: float = 120.0) -> NoteSequence: ...

    def encoder_inputs(self, classes: np.ndarray) -> np.ndarray: ...

    def decoder_targets(self, classes: np.ndarray) -> np.ndarray: ...


def one_hot(classes: np.ndarray, depth: int) -> np.ndarray:
    """float32 ``[..., depth]`` rows with a 1 at each class index."""
    classes = np.asarray(classes, dtype=np.int64)
    if classes.size and (classes.min() < 0 or classes.max() >= depth):
        raise ValueError(f"class indices must lie in 0..{depth - 1}")
    return np.eye(depth, dtype=np.float32)[classes]


def steps_to_seconds(steps: int, steps_per_quarter: int, qpm: float) -> float:
    """How long ``steps`` grid steps last at ``qpm``: a decoded loop's ``total_time``, so that
    a loop ending in a rest still lasts its bars."""
    return steps * 60.0 / (steps_per_quarter * qpm)


def whole_bars(steps: int, steps_per_bar: int) -> int:
    """``steps`` rounded up to a whole number of bars."""
    return steps + -steps % steps_per_bar


def sliding_windows(events: list, window_steps: int, hop_steps: int) -> list[list]:
    """Every window of ``window_steps`` events, one starting each ``hop_steps``.

    Magenta's slicing: windows end at ``window_steps, window_steps + hop, ...`` up to the
    length of the track; a track shorter than one window gives none.
    """
    return [events[end - window_steps:end]
            for end in range(window_steps, len(events) + 1, hop_steps)]


def unique_in_order(windows: list[tuple]) -> tuple[list[tuple], int]:
    """Windows without repeats (Magenta keeps one of each) and how many repeats were cut."""
    unique = list(dict.fromkeys(windows))
    return unique, len(windows) - len(unique)


PartExamples = Callable[[NoteSequence, bool], tuple[list[np.ndarray], Counter, Counter]]


def extract(ns: NoteSequence, training: bool, part_examples: PartExamples) -> Extraction:
    """A piece's examples: split where its tempo or meter changes (Magenta's first step),
    then ``part_examples(part, training)`` -> (examples, skipped, kept) for each part."""
    parts = split_on_time_changes(ns, keep_length=not training)
    if not parts:
        return Extraction([], {"empty": 1})
    examples: list[np.ndarray] = []
    skipped: Counter = Counter()
    kept: Counter = Counter()
    for part in parts:
        part_found, part_skipped, part_kept = part_examples(part, training)
        examples.extend(part_found)
        skipped.update(part_skipped)
        kept.update(part_kept)
    return Extraction(examples, merge_skips(skipped), merge_skips(kept))


def quantized_4_4(part: NoteSequence, config: ConverterConfig
                  ) -> tuple[QuantizedSequence | None, Counter]:
    """``part`` on ``config``'s step grid, or None and why not (Magenta's windows are 4/4)."""
    try:
        qs = quantize(part, config.steps_per_quarter)
    except QuantizeError as err:
        return None, Counter({err.reason: 1})
    if qs.steps_per_bar != config.steps_per_bar:
        return None, Counter({"not 4/4": 1})
    return qs, Counter()


def distinct_for_training(windows: list[tuple], skipped: Counter,
                          training: bool) -> list[tuple]:
    """Training keeps one of each window (counted in ``skipped``); a user's clip keeps all."""
    if not training:
        return windows
    unique, repeats = unique_in_order(windows)
    if repeats:
        skipped["repeated window"] += repeats
    return unique


def merge_skips(*counters: Counter | dict[str, int]) -> dict[str, int]:
    total: Counter = Counter()
    for counter in counters:
        total.update(counter)
    return {reason: count for reason, count in sorted(total.items()) if count}


def get_converter(config: ModelConfig) -> Converter:
    """The converter a model config names (``config.converter.kind``)."""
    kind = config.converter.kind
    if kind == "melody":
        from latentjam.models.encodings.melody import MelodyConverter

        return MelodyConverter(config.converter)
    if kind == "drums":
        from latentjam.models.encodings.drums import DrumsConverter

        return DrumsConverter(config.converter)
    if kind == "trio":
        from latentjam.models.encodings.trio import TrioConverter

        return TrioConverter(config.converter)
    if kind == "multiperf":
        from latentjam.models.encodings.multiperf import MultiPerfConverter

        return MultiPerfConverter(config.converter)
    if kind == "groove":
        from latentjam.models.encodings.groove import GrooveConverter

        return GrooveConverter(config.converter)
    raise ConfigError(f"{config.name}: unknown converter kind {kind!r} "
                      f"(known: melody, drums, trio, multiperf, groove)")


__all__ = ["OUTPUT_VELOCITY", "Converter", "Extraction", "get_converter", "one_hot"]
