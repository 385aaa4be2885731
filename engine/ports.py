"""Opening MIDI ports through mido, on the MIDI system the user chose.

The system (ALSA, JACK, CoreMIDI, Windows MM) is a mido backend named by the caller (a
config key or a flag), else by ``$MIDO_BACKEND``, else mido's rtmidi default. Short names
are accepted: ``alsa``, ``jack``, ``coremidi``, ``winmm``. By default the engine creates
virtual ports, which a DAW sees under the client name "latentjam"; naming an existing port
connects to it instead (an exact name, or a piece of one that matches a single port).
Everything a user can get wrong ends in a ``PortError`` that says what is there.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import mido
from latentjam.engine.errors import PortError

CLIENT_NAME = "latentjam"
DEFAULT_BACKEND = "mido.backends.rtmidi"
BACKEND_ALIASES = {
    "alsa": "mido.backends.rtmidi/LINUX_ALSA",
    "jack": "mido.backends.rtmidi/UNIX_JACK",
    "coremidi": "mido.backends.rtmidi/MACOSX_CORE",
    "winmm": "mido.backends.rtmidi/WINDOWS_MM",
}
_NO_VIRTUAL_APIS = {"WINDOWS_MM"}


def backend_name(name: str | None = None) -> str:
    """The mido backend to use: ``name`` (an alias or ``module[/API]``), else
    ``$MIDO_BACKEND``, else rtmidi's default system."""
    chosen = name or os.environ.get("MIDO_BACKEND") or DEFAULT_BACKEND
    return BACKEND_ALIASES.get(chosen.lower(), chosen)


def _backend(name: str | None) -> mido.Backend:
    full_name = backend_name(name)
    try:
        backend = mido.Backend(full_name, load=True, use_environ=False)
    except (ImportError, ValueError) as err:
        raise PortError(f"cannot load MIDI backend {full_name!r}: {err}") from err
    if backend.api is not None and backend.api not in _compiled_apis(backend):
        raise PortError(
            f"MIDI system {backend.api!r} is not available in {full_name!r}; "
            f"available: {', '.join(_compiled_apis(backend)) or 'none'}"
        )
    return backend


def _compiled_apis(backend: mido.Backend) -> list[str]:
    get_api_names = getattr(backend.module, "get_api_names", None)
    return list(get_api_names()) if get_api_names else []


def _system_error(backend: mido.Backend, err: Exception) -> PortError:
    hint = ""
    if backend.api == "LINUX_ALSA" or (backend.api is None and sys.platform.startswith("linux")):
        hint = " (without an ALSA sequencer, try JACK: MIDO_BACKEND=jack)"
    return PortError(f"cannot reach the MIDI system of {backend.name}{hint}: {err}")


@dataclass(frozen=True)
class PortListing:
    backend: str
    inputs: list[str]  # ports we can read from (other programs' outputs, hardware ins)
    outputs: list[str]  # ports we can send to (other programs' inputs, hardware outs)


def list_ports(backend: str | None = None) -> PortListing:
    """The MIDI ports the chosen system has now."""
    chosen = _backend(backend)
    try:
        inputs, outputs = chosen.get_input_names(), chosen.get_output_names()
    except Exception as err:  # rtmidi raises its own SystemError when the system is absent
        raise _system_error(chosen, err) from err
    return PortListing(backend_name(backend), list(inputs), list(outputs))


def _match(name: str, available: list[str], direction: str, backend: str) -> str:
    if name in available:
        return name
    matches = [port for port in available if name.lower() in port.lower()]
    if len(matches) == 1:
        return matches[0]
    listing = ", ".join(repr(port) for port in available) or "none"
    what = "matches several" if matches else "matches no"
    raise PortError(f"{name!r} {what} MIDI {direction} port on {backend}; available: {listing}")


def _open(name: str, virtual: bool, backend: str | None, direction: str) -> mido.ports.BasePort:
    api = backend_name(backend).partition("/")[2] or None
    if virtual and (api in _NO_VIRTUAL_APIS or (api is None and sys.platform == "win32")):
        raise PortError(_no_virtual_message(name, direction))
    chosen = _backend(backend)
    opener = chosen.open_output if direction == "output" else chosen.open_input
    if virtual:
        try:
            return opener(name, virtual=True, client_name=CLIENT_NAME)
        except NotImplementedError as err:
            raise PortError(_no_virtual_message(name, direction)) from err
        except Exception as err:
            raise _system_error(chosen, err) from err
    listing = list_ports(backend)
    available = listing.outputs if direction == "output" else listing.inputs
    port_name = _match(name, available, direction, listing.backend)
    try:
        return opener(port_name)
    except Exception as err:
        raise PortError(f"cannot open MIDI {direction} port {port_name!r}: {err}") from err


def _no_virtual_message(name: str, direction: str) -> str:
    return (
        f"virtual ports are not supported by this MIDI system (Windows): name an existing "
        f"{direction} port instead of creating {name!r} (a loopback driver such as loopMIDI "
        f"provides one; `latentjam ports` lists them)"
    )


def open_output(
    name: str = CLIENT_NAME, *, virtual: bool = True, backend: str | None = None
) -> mido.ports.BaseOutput:
    """A virtual output port called ``name`` (what a DAW sees), or with ``virtual=False``
    the existing output port that ``name`` names."""
    return _open(name, virtual, backend, "output")


def open_input(
    name: str = CLIENT_NAME, *, virtual: bool = True, backend: str | None = None
) -> mido.ports.BaseInput:
    """A virtual input port called ``name``, or with ``virtual=False`` the existing input
    port that ``name`` names (for an external clock, or a loop played in)."""
    return _open(name, virtual, backend, "input")
