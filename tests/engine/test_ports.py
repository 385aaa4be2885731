"""Choosing the MIDI system and the errors a user sees (no MIDI system needed)."""

import pytest
from latentjam.engine import ports
from latentjam.engine.errors import PortError


def test_backend_comes_from_the_caller_then_the_environment_then_the_default(monkeypatch):
    monkeypatch.delenv("MIDO_BACKEND", raising=False)
    assert ports.backend_name() == ports.DEFAULT_BACKEND
    monkeypatch.setenv("MIDO_BACKEND", "jack")
    assert ports.backend_name() == "mido.backends.rtmidi/UNIX_JACK"
    assert ports.backend_name("ALSA") == "mido.backends.rtmidi/LINUX_ALSA"
    assert ports.backend_name("mido.backends.portmidi") == "mido.backends.portmidi"


def test_virtual_ports_on_windows_ask_for_a_named_port():
    with pytest.raises(PortError, match=r"not supported by this MIDI system \(Windows\).*'lead'"):
        ports.open_output("lead", backend="winmm")
    with pytest.raises(PortError, match="name an existing input port"):
        ports.open_input("clock-in", backend="mido.backends.rtmidi/WINDOWS_MM")


def test_a_backend_that_cannot_load_is_named():
    with pytest.raises(PortError, match="cannot load MIDI backend 'no.such.module'"):
        ports.list_ports("no.such.module")


def test_a_system_not_compiled_in_is_named():
    with pytest.raises(PortError, match="'NO_SUCH_API' is not available.*available: "):
        ports.list_ports("mido.backends.rtmidi/NO_SUCH_API")
