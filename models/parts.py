"""The part names of the model kinds (a trio's three voices, a multi-instrument model's
instruments, a one-part model's one), stated once: the engine routes by them, set files name
them, the evaluation reports per part."""

from __future__ import annotations

from latentjam.models.encodings.trio import BASS_INSTRUMENT

MELODY, BASS, DRUMS = "melody", "bass", "drums"
MAX_INSTRUMENTS = 8  # a multi-instrument model's instruments
# a multi-instrument model's pitched instruments, in the order its converter sorts them
INSTRUMENTS = tuple(f"instrument{n}" for n in range(1, MAX_INSTRUMENTS + 1))
TRIO_PARTS = (MELODY, BASS, DRUMS)  # a trio's voices, in the order of its classes
PARTS = (*TRIO_PARTS, *INSTRUMENTS)  # every part a set file may route


def note_part(kind: str, instrument: int, is_drum: bool) -> str:
    """The part a decoded note of a ``kind`` model belongs to: drums whatever the kind; a
    trio's bass instrument or melody; a multi-instrument model's instrument by its slot; a
    one-part model's melody."""
    if is_drum:
        return DRUMS
    if kind == "trio":
        return BASS if instrument == BASS_INSTRUMENT else MELODY
    if kind == "multiperf":
        return INSTRUMENTS[instrument]
    return MELODY
