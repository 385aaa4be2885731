"""Errors a user can cause through the engine; each names the port, value or setting at fault."""


class EngineError(Exception):
    """Base of every error a user can cause through the engine."""


class PortError(EngineError):
    """A MIDI port that cannot be found or opened, or a MIDI system that cannot be reached."""
