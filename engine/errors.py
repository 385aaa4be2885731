"""Errors a user can cause through the engine; each names the port, value or setting at fault."""


class EngineError(Exception):
    """Base of every error a user can cause through the engine."""


class PortError(EngineError):
    """A MIDI port that cannot be found or opened, or a MIDI system that cannot be reached."""


class SettingError(EngineError, ValueError):
    """A setting (a humanize amount, a route, a request's parameter) of the wrong type or out
    of range; the message names the field and the value."""


class ModelWorkerError(EngineError):
    """The model worker process could not start, answer or stay alive."""


class ModelTimeoutError(ModelWorkerError):
    """A model answer came too late; the caller keeps playing what it has."""


class ModelCrashedError(ModelWorkerError):
    """The model worker process died; it is restarted on the next request."""


class ModelRequestError(ModelWorkerError):
    """The model refused a request (a z of the wrong shape, a bad length, ...)."""
