"""A chord per bar from the notes sounding in it: the triad whose tones cover most of the
bar's sounding time. Pure and simple on purpose: it only has to give an accompaniment that
fits a folk tune or a chorale well enough for a bass line to follow.

Each of the 24 major and minor triads scores the duration of the bar's notes on its root
(weighted ``ROOT_WEIGHT``), third and fifth, less the duration of notes outside it. The
best wins; a tie keeps the previous bar's chord, and a bar without notes keeps it too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from latentjam.models.notesequence import Note

NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
ROOT_WEIGHT = 1.2
OUTSIDE_WEIGHT = 0.5
TRIADS = [(root, quality) for quality in ("", "m") for root in range(12)]


def chord_name(root: int, quality: str) -> str:
    return NAMES[root % 12] + quality


def bar_weights(notes: Sequence[Note], start: float, end: float) -> np.ndarray:
    """Seconds each pitch class sounds in [start, end)."""
    weights = np.zeros(12)
    for note in notes:
        overlap = min(note.end_time, end) - max(note.start_time, start)
        if overlap > 0 and not note.is_drum:
            weights[note.pitch % 12] += overlap
    return weights


def _score(weights: np.ndarray, root: int, quality: str) -> float:
    third = (root + (3 if quality == "m" else 4)) % 12
    fifth = (root + 7) % 12
    inside = weights[root] + weights[third] + weights[fifth]
    return float(inside + (ROOT_WEIGHT - 1) * weights[root]
                 - OUTSIDE_WEIGHT * (weights.sum() - inside))


def best_triad(weights: np.ndarray, previous: tuple[int, str] | None = None
               ) -> tuple[int, str] | None:
    """The triad that fits ``weights`` best (``previous`` when it ties); None when the bar
    is silent."""
    if weights.sum() <= 0:
        return None
    scores = {triad: _score(weights, *triad) for triad in TRIADS}
    best = max(scores.values())
    if previous is not None and scores[previous] >= best - 1e-9:
        return previous
    return next(triad for triad in TRIADS if scores[triad] >= best - 1e-9)


def chords_per_bar(notes: Sequence[Note], bar_seconds: float, bars: int) -> list[str]:
    """One chord name per bar (MMA's spelling), from ``notes``."""
    chords: list[str] = []
    previous = (0, "")
    for bar in range(bars):
        triad = best_triad(bar_weights(notes, bar * bar_seconds, (bar + 1) * bar_seconds),
                           previous)
        previous = triad or previous
        chords.append(chord_name(*previous))
    return chords
