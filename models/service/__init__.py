"""The one door into the models for whoever plays them (the engine): requests in, loops out.

A caller loads a model (``LoadedModel``, in a process of its own where timing matters),
learns what it is (``ModelInfo``), and asks with a request: a sample, a walk, a point
between two loops, a blend of four, a decode, a drum loop's groove (GrooVAE), an encode of
classes, of a played-in loop or (through
``read_clip_classes``, in a process of its own) of a MIDI file. Answers are latent vectors
and loops as notes on the step grid. The latent moves are planned behind this door, so a new
move or a new model kind lands here without touching the caller. The part names a model's
notes carry are ``MELODY``, ``BASS`` and ``DRUMS``.
"""

from latentjam.models.errors import InputError, ModelError
from latentjam.models.parts import BASS, DRUMS, INSTRUMENTS, MELODY, PARTS
from latentjam.models.service.answer import LoadedModel, answer
from latentjam.models.service.clips import read_clip_classes
from latentjam.models.service.requests import (
    MAX_COUNT,
    MAX_TEMPERATURE,
    BlendRequest,
    DecodeRequest,
    EncodeNotesRequest,
    EncodeRequest,
    HumanizeRequest,
    InterpolateRequest,
    ModelInfo,
    ModelRequest,
    ModelResult,
    SampleRequest,
    StepLoop,
    StepNote,
    WalkRequest,
    check_temperature,
)

__all__ = [
    "BASS", "DRUMS", "INSTRUMENTS", "MAX_COUNT", "MAX_TEMPERATURE", "MELODY", "PARTS",
    "BlendRequest", "DecodeRequest", "HumanizeRequest",
    "EncodeNotesRequest", "EncodeRequest", "InputError", "InterpolateRequest", "LoadedModel",
    "ModelError", "ModelInfo", "ModelRequest", "ModelResult", "SampleRequest", "StepLoop",
    "StepNote", "WalkRequest", "answer", "check_temperature", "read_clip_classes",
]
