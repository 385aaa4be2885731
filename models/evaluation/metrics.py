"""The measures of the evaluation report, as pure functions of arrays and note lists.

Reconstruction accuracy is the MusicVAE paper's: the share of steps (of every part, for a
trio) whose class is decoded right, either teacher-forced (each step sees the true previous
step) or fully sampled (argmax from the encoder's mean, free-running). Sample statistics are
read from notes (``to_sequence`` of the classes, the same way for samples and data), per part:
melody, bass, drums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from latentjam.models.encodings.drums import DRUM_CLASS_PITCHES, PITCH_TO_CLASS
from latentjam.models.notesequence import Note
from latentjam.models.parts import DRUMS, note_part

DRUM_NAMES = ("kick", "snare", "closed hat", "open hat", "low tom", "mid tom", "high tom",
              "crash", "ride")


def part_of(note: Note) -> str:
    return note_part("trio", note.instrument, note.is_drum)


def step_accuracy(predicted: np.ndarray, target: np.ndarray) -> float:
    """Share of equal entries (steps, and parts of a step)."""
    predicted, target = np.asarray(predicted), np.asarray(target)
    if predicted.shape != target.shape or target.size == 0:
        raise ValueError(f"shapes differ or are empty: {predicted.shape} vs {target.shape}")
    return float((predicted == target).mean())


def kl_bits(mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """KL(N(mu, sigma) || N(0, 1)) in bits, per row (summed over the latent dimensions)."""
    mu, sigma = np.asarray(mu, np.float64), np.asarray(sigma, np.float64)
    nats = 0.5 * np.sum(mu ** 2 + sigma ** 2 - 1.0 - 2.0 * np.log(sigma), axis=-1)
    return nats / np.log(2.0)


def pitch_class_histogram(notes: Sequence[Note]) -> np.ndarray:
    """Share of each pitch class (C..B) among pitched notes; zeros when there are none."""
    counts = np.bincount([n.pitch % 12 for n in notes if not n.is_drum], minlength=12)
    total = counts.sum()
    return counts / total if total else counts.astype(float)


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    """Half the L1 distance of two distributions: 0 equal, 1 disjoint."""
    return float(0.5 * np.abs(np.asarray(p, float) - np.asarray(q, float)).sum())


def drum_hits_per_bar(notes: Sequence[Note], bars: float) -> np.ndarray:
    """Hits of each of the 9 drum classes per bar."""
    counts = np.zeros(len(DRUM_CLASS_PITCHES))
    for note in notes:
        if note.is_drum and note.pitch in PITCH_TO_CLASS:
            counts[PITCH_TO_CLASS[note.pitch]] += 1
    return counts / bars


@dataclass(frozen=True)
class PartStats:
    """Statistics of one part over many windows."""

    windows: int
    empty_share: float  # windows without a note of this part
    notes_per_bar: float
    pitch_range: float  # mean (highest - lowest) over windows with notes; 0 for drums
    pitch_classes: np.ndarray  # pitch-class histogram over all windows (pitched parts)
    drum_hits: np.ndarray  # per class per bar (drums)


def part_stats(windows: Sequence[Sequence[Note]], part: str, bars: float) -> PartStats:
    """``windows``: the notes of each window (all parts); statistics of ``part``."""
    mine = [[n for n in notes if part_of(n) == part] for notes in windows]
    counts = [len(notes) for notes in mine]
    ranges = [max(n.pitch for n in notes) - min(n.pitch for n in notes)
              for notes in mine if notes and part != DRUMS]
    flat = [n for notes in mine for n in notes]
    return PartStats(
        windows=len(mine),
        empty_share=float(np.mean([c == 0 for c in counts])) if mine else 0.0,
        notes_per_bar=float(np.mean(counts)) / bars if mine else 0.0,
        pitch_range=float(np.mean(ranges)) if ranges else 0.0,
        pitch_classes=pitch_class_histogram(flat),
        drum_hits=drum_hits_per_bar(flat, bars * max(len(mine), 1)),
    )


def few_notes_share(windows: Sequence[Sequence[Note]]) -> float:
    """Share of windows with no note or one note (all parts together)."""
    return float(np.mean([len(notes) <= 1 for notes in windows])) if windows else 0.0


def neighbour_change(path: np.ndarray) -> tuple[float, float]:
    """For the decoded classes of an interpolation ``[points, steps, ...]``: the mean share
    of steps that change between neighbouring points, and between the two ends."""
    path = np.asarray(path)
    flat = path.reshape(path.shape[0], -1)
    neighbours = float(np.mean(flat[1:] != flat[:-1]))
    ends = float(np.mean(flat[0] != flat[-1]))
    return neighbours, ends
