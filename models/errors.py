"""Errors raised by the models package; each names the file, field or value at fault."""


class ModelError(Exception):
    """Base of every error a user can cause through the models package."""


class ConfigError(ModelError):
    """An unknown config name or a bad hyper-parameter file."""


class CheckpointError(ModelError):
    """A checkpoint that cannot be read, or whose variables do not match the config."""


class MidiReadError(ModelError):
    """A file that is not MIDI, or is corrupt."""


class NoExamplesError(ModelError):
    """A piece from which the converter extracted no usable window."""


class InputError(ModelError):
    """A bad argument to inference: a z of the wrong size, a negative temperature."""
