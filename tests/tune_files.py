"""MIDI files of simple tunes for the evaluation tests: 8-bar piano tunes in eighths and
quarters on a C major scale, and one file of drums alone (which a melody model takes nothing
from)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from latentjam.models.midi_io import write_midi
from latentjam.models.notesequence import Note, NoteSequence, Tempo

STEP = 0.125  # seconds per sixteenth at 120 qpm
SCALE = (60, 62, 64, 65, 67, 69, 71, 72)  # C major, C to C


def write_tunes(folder: Path, pieces: int = 3, seed: int = 0) -> None:
    """``pieces`` tunes ``tune{k}.mid`` and ``drums-only.mid`` in ``folder``."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(pieces):
        notes, step = [], 0
        while step < 8 * 16:
            length = int(rng.choice([2, 4]))
            notes.append(Note(int(rng.choice(SCALE)), 90, step * STEP, (step + length) * STEP))
            step += length
        write_midi(NoteSequence(notes=notes, tempos=[Tempo(0.0, 120.0)], total_time=16.0),
                   folder / f"tune{k}.mid")
    hits = [Note(36, 90, s * STEP, (s + 1) * STEP, instrument=9, is_drum=True)
            for s in range(0, 64, 4)]
    write_midi(NoteSequence(notes=hits, tempos=[Tempo(0.0, 120.0)], total_time=8.0),
               folder / "drums-only.mid")
