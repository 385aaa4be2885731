"""The part names of the model kinds (a trio's three voices, a one-part model's one), stated
once: the engine routes by them, set files name them, the evaluation reports per part."""

from __future__ import annotations

from latentjam.models.encodings.trio import BASS_INSTRUMENT

MELODY, BASS, DRUMS = "melody", "bass", "drums"
PARTS = (MELODY, BASS, DRUMS)


def note_part(instrument: int, is_drum: bool) -> str:
    """The part a decoded note belongs to: drums, the trio's bass instrument, else melody."""
    if is_drum:
        return DRUMS
    return BASS if instrument == BASS_INSTRUMENT else MELODY
